"""CI that fits: the notebook sets of the portable runs.

The portable guarantee itself (one configuration that catches what two caught) is tested in
tests/test_portable.py; this file checks the plumbing around it.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import notebook_sets  # noqa: E402

NOTEBOOKS = notebook_sets.notebook_paths()

# Calls whose result depends on the CPU's arithmetic: a notebook that makes one cannot claim
# that its checked outputs are plain arithmetic.
CPU_DEPENDENT = {
    "trains a network": r"\bfit\(",
    "loads network weights": r"\bweights\.load\(",
    "runs a network": r"\bpredict_proba\(|\b(?:unet|fcn|dilated|patch_cnn)\.segment\(",
    "asks for a training budget": r"\bstep_budget\(",
    "registers images": r"\bregistration\.|\batlas\.segment\(",
    "runs a snake": r"\bsnake\.segment\(|\bactive_contour\(|morphological_(?:chan_vese|geodesic)",
    "fits a classifier": r"\bdomain_classifier_accuracy\(",
    "runs a method that is not the threshold": r"\bmethods\.get\(\s*[\"'](?!threshold[\"'])",
}


def makefile_dry_run(target: str) -> list[str]:
    """The shell lines `make -n TARGET` would run (the Makefile's own variables expanded)."""
    out = subprocess.run(["make", "--no-print-directory", "-n", target], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True)
    return out.stdout.splitlines()


def nbval_line(target: str) -> tuple[dict[str, str], list[str]]:
    """The environment and the notebooks of the nbval command that ``make TARGET`` runs."""
    lines = [line for line in makefile_dry_run(target) if "--nbval-lax" in line]
    assert len(lines) == 1, f"make {target} should run nbval once, runs: {lines}"
    words = shlex.split(lines[0])
    env = {}
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    return env, [w for w in words if w.endswith(".ipynb")]


def relative(paths) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


# --------------------------------------------------------------------------
# every notebook says where its checked outputs come from
# --------------------------------------------------------------------------
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_declares_where_its_checked_outputs_come_from(path):
    assert notebook_sets.checked_outputs_from(path) in notebook_sets.ORIGINS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_declared_origin_matches_the_code(path):
    """'arithmetic' may not run anything CPU-dependent; 'training' must train."""
    origin, code = notebook_sets.checked_outputs_from(path), notebook_sets.code_source(path)
    if origin == "arithmetic":
        found = [what for what, pattern in CPU_DEPENDENT.items() if re.search(pattern, code)]
        assert not found, (f"{path.name} declares checked outputs from arithmetic but {', '.join(found)}: "
                           "declare inference, optimisation or training (docs/DEVELOPING.md)")
    if origin == "training":
        assert re.search(CPU_DEPENDENT["trains a network"], code), f"{path.name} declares training but never fits"


def test_missing_or_unknown_origin_is_named(tmp_path):
    nb = tmp_path / "99_x.ipynb"
    nb.write_text('{"cells": [], "metadata": {"medseg_edu": {"checked_outputs_from": "magic"}}}')
    with pytest.raises(ValueError, match="99_x.ipynb.*checked_outputs_from.*'magic'"):
        notebook_sets.checked_outputs_from(nb)
    nb.write_text('{"cells": [], "metadata": {}}')
    with pytest.raises(ValueError, match="None"):
        notebook_sets.checked_outputs_from(nb)


def test_sets_follow_the_metadata(tmp_path):
    def notebook(name, origin, code=""):
        path = tmp_path / name
        path.write_text('{"cells": [{"cell_type": "code", "source": ["' + code + '"]}], '
                        '"metadata": {"medseg_edu": {"checked_outputs_from": "' + origin + '"}}}')
        return path

    paths = [notebook("00_a.ipynb", "arithmetic"), notebook("01_b.ipynb", "inference"),
             notebook("02_c.ipynb", "optimisation", "step_budget(cpu=1, accelerator=2)"),
             notebook("03_d.ipynb", "training", "fit(net, data, max_steps=step_budget(cpu=1, accelerator=2))"),
             notebook("04_e.ipynb", "training", "fit(net, data, max_steps=100)")]
    assert [p.name for p in notebook_sets.portable(paths)] == ["01_b.ipynb", "02_c.ipynb", "03_d.ipynb",
                                                               "04_e.ipynb"]
    assert [p.name for p in notebook_sets.budget(paths)] == ["03_d.ipynb"]


# --------------------------------------------------------------------------
# the Makefile derives its notebook lists from the metadata
# --------------------------------------------------------------------------
def test_makefile_reruns_exactly_the_portable_notebooks_on_another_cpu():
    env, notebooks = nbval_line("test-other-cpus")
    assert notebooks == relative(notebook_sets.portable(NOTEBOOKS))
    assert env.get("ATEN_CPU_CAPABILITY") == "default" and env.get("OMP_NUM_THREADS") == "1"
    assert "NPY_DISABLE_CPU_FEATURES" in env
    arithmetic = [p for p in NOTEBOOKS if notebook_sets.checked_outputs_from(p) == "arithmetic"]
    assert not set(relative(arithmetic)) & set(notebooks)


def test_makefile_gives_the_gpu_budget_only_to_notebooks_that_train_with_step_budget():
    env, notebooks = nbval_line("test-accelerator-budget")
    assert notebooks == relative(notebook_sets.budget(NOTEBOOKS))
    assert env == {"MEDSEG_EDU_DEVICE": "cpu", "MEDSEG_EDU_BUDGET": "accelerator"}
    for path in NOTEBOOKS:
        if str(path.relative_to(ROOT)) in notebooks:
            assert notebook_sets.checked_outputs_from(path) == "training"


def test_makefile_has_no_hand_written_notebook_list():
    text = (ROOT / "Makefile").read_text()
    for name, which in (("PORTABLE_NB", "portable"), ("BUDGET_NB", "budget")):
        definitions = re.findall(rf"^{name}\s*\??=\s*(.*)$", text, re.M)
        assert definitions == [f"$(shell $(PYTHON) tools/notebook_sets.py {which})"], (
            f"{name} must come from the notebooks' metadata, not a list in the Makefile: {definitions}")
