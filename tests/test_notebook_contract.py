"""Every notebook keeps the contract in docs/DEVELOPING.md and the design card.

Checked on the committed (executed) .ipynb files, without running them:
badges, objectives and time, takeaways, next-notebook link, nbval-checked
cells, committed executed without errors, size limits, a widget, and the
clinical-use disclaimer in notebook 00. Also checks tests/nbval_sanitize.cfg.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NB_PARAMS = [pytest.param(p, id=p.name) for p in NOTEBOOKS] or [
    pytest.param(None, id="no-notebooks", marks=pytest.mark.skip(reason="no notebooks yet"))]

MAX_FILE_BYTES = 3 * 1024 * 1024
MAX_PNG_BYTES = 400 * 1024  # one projector-sized (100 dpi, ~1000 px) figure of noisy slices
LAST_NUMBER = 12  # notebook 12 (how far to trust a volume) closes the collection: no next-notebook link


def load(path: Path):
    return nbformat.read(path, as_version=4)


def markdown(nb, first: int | None = None) -> str:
    cells = nb.cells if first is None else nb.cells[:first]
    return "\n\n".join(c.source for c in cells if c.cell_type == "markdown")


@pytest.mark.parametrize("path", NB_PARAMS)
def test_first_cell_has_title_and_launch_badges(path):
    first = load(path).cells[0]
    assert first.cell_type == "markdown", f"{path.name}: the first cell must be markdown"
    assert re.search(r"^# \S", first.source, re.M), f"{path.name}: the first cell needs a '# Title'"
    assert re.search(r"https://mybinder\.org/v2/", first.source), f"{path.name}: no Binder badge link"
    colab = re.findall(r"https://colab\.research\.google\.com/\S+", first.source)
    assert colab, f"{path.name}: no Colab badge link"
    assert any(path.name in link for link in colab), (
        f"{path.name}: the Colab link must open this notebook, got {colab}")


@pytest.mark.parametrize("path", NB_PARAMS)
def test_objectives_and_estimated_time_near_the_top(path):
    top = markdown(load(path), first=6).lower()
    assert "objective" in top, f"{path.name}: state the learning objectives in the first cells"
    assert re.search(r"estimated time|\b\d+\s*(?:-\s*\d+\s*)?min", top), (
        f"{path.name}: give an estimated time (e.g. 'Estimated time: 30 min') in the first cells")


@pytest.mark.parametrize("path", NB_PARAMS)
def test_key_takeaways_and_next_link(path):
    nb = load(path)
    text = markdown(nb)
    assert "Key takeaways" in text, f"{path.name}: needs a 'Key takeaways' section"
    number = int(path.name[:2])
    if number < LAST_NUMBER:
        nxt = f"{number + 1:02d}_"
        assert re.search(rf"\]\((?:\./)?{nxt}[\w\-]+\.ipynb\)", text), (
            f"{path.name}: link to the next notebook ({nxt}....ipynb) at the end")
        existing = [p.name for p in NOTEBOOKS if p.name.startswith(nxt)]
        if existing:
            assert f"({existing[0]})" in text or f"(./{existing[0]})" in text, (
                f"{path.name}: the next-notebook link should point to {existing[0]}")


@pytest.mark.parametrize("path", NB_PARAMS)
def test_has_nbval_checked_cell(path):
    tagged = [c for c in load(path).cells
              if c.cell_type == "code" and "nbval-check-output" in c.metadata.get("tags", [])]
    assert tagged, f"{path.name}: tag at least one cell that prints key results 'nbval-check-output'"
    for cell in tagged:
        assert cell.outputs, f"{path.name}: a nbval-check-output cell has no stored output to compare"


@pytest.mark.parametrize("path", NB_PARAMS)
def test_committed_executed_without_errors(path):
    counts = []
    for index, cell in enumerate(load(path).cells):
        if cell.cell_type != "code":
            continue
        assert cell.execution_count is not None, (
            f"{path.name} cell {index} was not executed; run `make execute`")
        counts.append(cell.execution_count)
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{path.name} cell {index} stored an error: {errors[0].get('ename')}"
    assert counts == sorted(counts) and len(set(counts)) == len(counts), (
        f"{path.name}: execution counts {counts} show cells run out of order; run `make execute`")


@pytest.mark.parametrize("path", NB_PARAMS)
def test_sizes(path):
    size = path.stat().st_size
    assert size < MAX_FILE_BYTES, f"{path.name} is {size / 1e6:.1f} MB (limit 3 MB)"
    for index, cell in enumerate(load(path).cells):
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                nbytes = len(base64.b64decode("".join(png)))
                assert nbytes < MAX_PNG_BYTES, (
                    f"{path.name} cell {index}: a {nbytes // 1024} KB PNG; crop to the region taught or show fewer panels")


@pytest.mark.parametrize("path", NB_PARAMS)
def test_uses_a_widget(path):
    code = "\n".join(c.source for c in load(path).cells if c.cell_type == "code")
    assert re.search(r"explorer\(|\binteract|widgets\.", code), (
        f"{path.name}: needs at least one interactive widget (medseg_edu.widgets.explorer)")


def test_notebook_00_says_not_for_clinical_use():
    zero = [p for p in NOTEBOOKS if p.name.startswith("00_")]
    if not zero:
        pytest.skip("no notebook 00 yet")
    nb = load(zero[0])
    assert "not for clinical use" in markdown(nb).lower()


def test_notebooks_are_numbered_00_to_last_without_gaps():
    if not NOTEBOOKS:
        pytest.skip("no notebooks yet")
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == list(range(len(numbers))), f"notebook numbers {numbers} have gaps or repeats"
    assert numbers[-1] == LAST_NUMBER, (
        f"the last notebook is {numbers[-1]:02d} but LAST_NUMBER is {LAST_NUMBER}: update LAST_NUMBER "
        "(notebooks before it must link to their successor)")


# ---------------------------------------------------------------------------
# tests/nbval_sanitize.cfg
# ---------------------------------------------------------------------------
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"


def sanitize_patterns():
    from nbval.plugin import get_sanitize_patterns  # the parser nbval itself uses

    return get_sanitize_patterns(SANITIZE.read_text())


def sanitize(text: str) -> str:
    for regex, replace in sanitize_patterns():
        text = re.sub(regex, replace, text)
    return text


def test_sanitize_file_is_read_completely():
    text = SANITIZE.read_text()
    sections = re.findall(r"^\[regex\d+\]$", text, re.M)
    patterns = sanitize_patterns()
    assert len(patterns) == len(sections) > 0, "every [regexN] needs 'regex: ' then 'replace: ' lines"
    assert len({r for r, _ in patterns}) == len(patterns), "nbval keys patterns by regex: no duplicates"
    for regex, _ in patterns:
        assert regex == regex.rstrip(), f"trailing space in {regex!r}"
        re.compile(regex)


@pytest.mark.parametrize("a, b", [
    ("Trained in 12.3 s", "Trained in 9.87 s"),
    ("Inference: 0.42 s/slice", "Inference: 1.05 s/slice"),
    ("done in 3.2 seconds", "done in 41 seconds"),
    ("took 85 ms", "took 110 ms"),
    ("<function f at 0x7f3a2c1b9d30>", "<function f at 0x55d0c1e2a4f0>"),
    ("<Figure size 576x432 with 2 Axes>", "<Figure size 640x480 with 1 Axes>"),
    ("epoch 3\n 45%|████▌     | 9/20 [00:01<00:02,  4.50it/s]\nDice 0.91",
     "epoch 3\n100%|██████████| 20/20 [00:03<00:00,  5.81it/s]\nDice 0.91"),
    ("run on 2026-05-09 07:35:25", "run on 2027-01-02 23:01:59"),
    ("peak memory 412.5 MB", "peak memory 398.0 MB"),
    ("Using CPU with 2 threads (no GPU found).", "Using CUDA GPU: Tesla T4."),
])
def test_sanitize_equalises_volatile_text(a, b):
    assert sanitize(a) == sanitize(b), (sanitize(a), sanitize(b))


@pytest.mark.parametrize("a, b", [
    ("Dice 0.91", "Dice 0.89"),
    ("volume 42.0 mL", "volume 41.0 mL"),
    ("spacing (0.625, 0.625, 3.6) mm", "spacing (0.625, 0.625, 4.0) mm"),
    ("20 slices", "24 slices"),
    ("HD95 3.5 mm", "HD95 4.5 mm"),
])
def test_sanitize_keeps_results(a, b):
    assert sanitize(a) != sanitize(b), (sanitize(a), sanitize(b))
