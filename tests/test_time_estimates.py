"""Learner-time estimates have one source: each notebook's metadata.

``metadata.medseg_edu.learner_minutes`` is checked against the notebook's
header, the generated tables in README.md and the instructor guide
(``tools/time_table.py``), and the workshop plans, whose blocks must be long
enough for their notebooks. The execute-time budget stated in the README is
checked against the constants in ``tools/run_notebooks.py``. Nothing here
executes a notebook.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import run_notebooks  # noqa: E402
import time_table  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NB_PARAMS = [pytest.param(p, id=p.name) for p in NOTEBOOKS]
README = ROOT / "README.md"
GUIDE = ROOT / "docs" / "instructor_guide.md"
HEADER_CELL = 2  # title + badges, setup cell, then objectives / time / prerequisites


def metadata_minutes(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))["metadata"].get(
        "medseg_edu", {}).get("learner_minutes")


def minutes_by_number() -> dict[str, int]:
    """``{"00": 20, ...}``: the plans name notebooks by their two digits."""
    return {name[:2]: m for name, m in time_table.learner_minutes().items()}


# --------------------------------------------------------------------------
# the source and the notebook headers
# --------------------------------------------------------------------------
@pytest.mark.parametrize("path", NB_PARAMS)
def test_learner_minutes_in_metadata(path):
    minutes = metadata_minutes(path)
    assert isinstance(minutes, int) and not isinstance(minutes, bool), (
        f"{path.name}: metadata.medseg_edu.learner_minutes must be an integer, got {minutes!r}")
    assert 5 <= minutes <= 90, f"{path.name}: learner_minutes={minutes} is not in 5..90"


@pytest.mark.parametrize("path", NB_PARAMS)
def test_header_estimated_time_matches_metadata(path):
    cell = json.loads(path.read_text(encoding="utf-8"))["cells"][HEADER_CELL]
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    found = re.search(r"\*\*Estimated time:\*\*\s*(\d+)\s*min", source)
    assert found, f"{path.name}: cell {HEADER_CELL} has no '**Estimated time:** N minutes'"
    assert int(found.group(1)) == metadata_minutes(path), (
        f"{path.name}: header says {found.group(1)} min, metadata says {metadata_minutes(path)}")


# --------------------------------------------------------------------------
# the generated tables
# --------------------------------------------------------------------------
@pytest.mark.parametrize("path", [README, GUIDE], ids=lambda p: p.name)
def test_table_is_what_the_tool_generates(path):
    assert time_table.between_markers(path.read_text(encoding="utf-8")) == time_table.render(), (
        f"{path.name}: the notebook-times table is out of date; run `python tools/time_table.py`")


def test_check_mode_fails_on_a_wrong_table(tmp_path, monkeypatch, capsys):
    good = README.read_text(encoding="utf-8")
    wrong = re.sub(r"\| (\d+) min \|", lambda m: f"| {int(m.group(1)) + 5} min |", good, count=1)
    assert wrong != good
    (tmp_path / "good.md").write_text(good, encoding="utf-8")
    (tmp_path / "wrong.md").write_text(wrong, encoding="utf-8")
    monkeypatch.setattr(time_table, "TARGETS", [tmp_path / "good.md"])
    assert time_table.main(["--check"]) == 0
    monkeypatch.setattr(time_table, "TARGETS", [tmp_path / "good.md", tmp_path / "wrong.md"])
    assert time_table.main(["--check"]) == 1
    assert "min |" in capsys.readouterr().out  # the diff shows the row
    assert (tmp_path / "wrong.md").read_text(encoding="utf-8") == wrong  # --check writes nothing


def test_render_from_a_measurement(tmp_path):
    """What the table looks like once `make run` has written real numbers."""
    first, second = (p.name for p in NOTEBOOKS[:2])
    times = {"machine": {"cpu": "Test CPU 9000", "cpu_count": 2, "omp_num_threads": "2",
                         "torch": "2.13.0+cpu", "date": "2026-12-01"},
             "notebooks": [
                 {"notebook": first, "seconds": 12.34, "peak_mb": 600.4, "status": "ok",
                  "date": "2026-12-01"},
                 {"notebook": second, "seconds": 61.0, "peak_mb": None, "status": "ok",
                  "date": "2026-11-30"}]}
    (tmp_path / "t.json").write_text(json.dumps(times))
    text = time_table.render(times_json=tmp_path / "t.json")
    assert f"| {time_table.display_name(first)} | 12.3 | 600 |" in text
    assert "| 61.0 (over budget) | – |" in text
    last = text.splitlines()[-1]
    assert "Test CPU 9000" in last and "OMP_NUM_THREADS=2" in last
    assert "2026-11-30 to 2026-12-01" in last and "make run" in last


def test_display_names():
    assert time_table.display_name("00_start_here.ipynb") == "00 start here"
    assert time_table.display_name("04_patch_cnn.ipynb") == "04 patch CNN"
    assert time_table.display_name("06_unet.ipynb") == "06 U-Net"


def test_json_rows_name_existing_notebooks():
    names = {p.name for p in NOTEBOOKS}
    for row in time_table.load_times().get("notebooks", []):
        assert row["notebook"] in names, f"notebook_times.json: {row['notebook']} does not exist"
        assert {"seconds", "peak_mb", "status"} <= set(row), f"incomplete row {row}"


def test_run_notebooks_json_merges_by_name(tmp_path):
    out = tmp_path / "times.json"
    out.write_text(json.dumps({"placeholder": True, "machine": {}, "notebooks": [
        {"notebook": "00_a.ipynb", "seconds": None, "peak_mb": None, "status": None},
        {"notebook": "01_b.ipynb", "seconds": 5.0, "peak_mb": 500.0, "status": "ok"}]}))
    run_notebooks.write_json([{"notebook": "/x/00_a.ipynb", "seconds": 7.5, "peak_mb": 700.0,
                               "status": "ok"},
                              {"notebook": "/x/02_c.ipynb", "seconds": float("nan"),
                               "peak_mb": float("nan"), "status": "error"}], out)
    data = json.loads(out.read_text())  # strict JSON: NaN would not load in other tools
    rows = {row["notebook"]: row for row in data["notebooks"]}
    assert list(rows) == ["00_a.ipynb", "01_b.ipynb", "02_c.ipynb"]
    assert rows["00_a.ipynb"]["seconds"] == 7.5 and rows["01_b.ipynb"]["seconds"] == 5.0
    assert rows["02_c.ipynb"]["seconds"] is None and rows["02_c.ipynb"]["status"] == "error"
    assert "placeholder" not in data
    assert set(data["machine"]) >= {"cpu", "cpu_count", "omp_num_threads", "torch", "date"}


# --------------------------------------------------------------------------
# the workshop plans
# --------------------------------------------------------------------------
def plan_tables(text: str) -> dict[str, list[tuple[int, str, str]]]:
    """Per '## ' section, its 'time | notebooks | block' table as (minute, notebooks, block)."""
    plans = {}
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
                for line in section.splitlines() if line.startswith("|")]
        if rows and rows[0][:3] == ["time", "notebooks", "block"]:
            hours_minutes = [tuple(map(int, row[0].split(":"))) for row in rows[2:]]
            plans[section.splitlines()[0]] = [
                (h * 60 + m, row[1], row[2]) for (h, m), row in zip(hours_minutes, rows[2:])]
    return plans


def minutes_needed(cell: str, minutes: dict[str, int]) -> int:
    """'–' needs 0; '04, 05' the sum; '02 or 03' the longer of the two."""
    if cell == "–":
        return 0
    if " or " in cell:
        return max(minutes_needed(part.strip(), minutes) for part in cell.split(" or "))
    return sum(minutes[number.strip()] for number in cell.split(","))


def plan_problems(plan: list[tuple[int, str, str]], minutes: dict[str, int]) -> list[str]:
    """Why a plan does not fit the learner-time estimates (empty if it does)."""
    problems = []
    if not plan or plan[-1][1:] != ("–", "end"):
        problems.append("the last row must be '| H:MM | – | end |'")
    for (start, cell, block), (stop, _, _) in zip(plan, plan[1:]):
        try:
            need = minutes_needed(cell, minutes)
        except KeyError as error:
            problems.append(f"{block!r}: no notebook {error}")
            continue
        if stop - start < need:
            problems.append(f"{block!r} has {stop - start} min for notebooks {cell} ({need} min)")
    return problems


def test_guide_has_both_plans():
    titles = list(plan_tables(GUIDE.read_text(encoding="utf-8")))
    assert any(t.startswith("Half-day") for t in titles), titles
    assert any(t.startswith("Full day") for t in titles), titles


@pytest.mark.parametrize("title", list(plan_tables(GUIDE.read_text(encoding="utf-8"))))
def test_plan_blocks_fit_learner_time(title):
    problems = plan_problems(plan_tables(GUIDE.read_text(encoding="utf-8"))[title],
                             minutes_by_number())
    assert not problems, problems


def test_full_day_works_through_every_notebook():
    plans = plan_tables(GUIDE.read_text(encoding="utf-8"))
    full = next(plan for title, plan in plans.items() if title.startswith("Full day"))
    named = {n.strip() for _, cell, _ in full for n in re.split(r",| or ", cell)} - {"–"}
    missing = set(minutes_by_number()) - named
    assert not missing, f"the full day does not work through notebooks {sorted(missing)}"


def test_plan_checker_rejects_short_blocks():
    minutes = {"02": 25, "03": 35, "04": 30, "05": 30}
    text = ("## Full day\n\n| time | notebooks | block |\n|---|---|---|\n"
            "| 0:00 | 04, 05 | too short for both |\n"
            "| 0:59 | 02 or 03 | long enough for 02 only |\n"
            "| 1:29 | – | end |\n")
    problems = plan_problems(plan_tables(text)["Full day"], minutes)
    assert len(problems) == 2, problems
    assert plan_problems(plan_tables(text.replace("| end |", "| closing |"))["Full day"], minutes)
    assert plan_problems([(0, "42", "unknown"), (60, "–", "end")], minutes)


# --------------------------------------------------------------------------
# the execute-time budget
# --------------------------------------------------------------------------
def test_budget_constants_match_the_readme():
    assert run_notebooks.BUDGET_SECONDS == 60.0 and run_notebooks.BUDGET_MB == 1536.0
    for path in (README, GUIDE):
        text = path.read_text(encoding="utf-8")
        stated = re.findall(r"(\d+) s(?:econds)?(?: and|,) (\d+(?:\.\d+)?) GB", text)
        assert stated, f"{path.name} does not state the budget as 'N s and M GB'"
        for seconds, gigabytes in stated:
            assert (float(seconds), float(gigabytes) * 1024) == (
                run_notebooks.BUDGET_SECONDS, run_notebooks.BUDGET_MB), (
                f"{path.name} states a budget of {seconds} s and {gigabytes} GB")
        for stale in ("120 s", "two-minute", "minute and a half", "208*", "209*"):
            assert stale not in text, f"{path.name} still says {stale!r}"
