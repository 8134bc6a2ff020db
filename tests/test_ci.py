"""CI that fits: the budgeted steps of .ci/run, the notebook sets of the portable runs, the README's table.

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
CI_RUN = ROOT / ".ci" / "run"
STEPS = ROOT / ".ci" / "steps.sh"
README = ROOT / "README.md"
CI_LIMIT_SECONDS = 90 * 60  # the job's own limit

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


def test_unit_tests_list_their_slowest_and_run_on_two_workers():
    unit = [line for line in makefile_dry_run("unit") if " pytest " in line]
    assert len(unit) == 1 and "--durations=15" in unit[0], unit
    assert re.search(r"(?:^| )-n \d", unit[0]), "make unit runs the tests on pytest-xdist workers"


# --------------------------------------------------------------------------
# .ci/run: budgeted steps that name themselves
# --------------------------------------------------------------------------
def ci_steps() -> list[tuple[str, int, str]]:
    """(name, limit in s, command) of every step of .ci/run, in order."""
    steps = []
    for line in CI_RUN.read_text().splitlines():
        m = re.match(r"step (\S+) (\d+) (.+)$", line.strip())
        if m:
            steps.append((m.group(1), int(m.group(2)), m.group(3)))
    return steps


def test_ci_runs_what_a_maintainer_types_within_the_job_limit():
    steps = ci_steps()
    commands = [command for _, _, command in steps]
    assert "make test" in commands, "CI must run the README's test command"
    assert commands[0] == "make venv", "the first step installs what the others need"
    for target in ("make test-other-cpus", "make test-accelerator-budget", "make classroom-smoke",
                   "make book-smoke"):
        assert target in commands
    assert len({name for name, _, _ in steps}) == len(steps), "step names must be unique"
    assert sum(limit for _, limit, _ in steps) < CI_LIMIT_SECONDS, "the limits add up to more than the job's"
    assert "source .ci/steps.sh" in CI_RUN.read_text() and "set -euo pipefail" in CI_RUN.read_text()


def run_steps(script: str, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", f"source {shlex.quote(str(STEPS))}\n{script}"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)


def test_a_step_prints_its_seconds(tmp_path):
    done = run_steps("step first 10 true\nstep second 10 sleep 1\nprint_summary", tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^step first: \d+ s \(CPU 0 s, load [\d.]+\)$", done.stdout, re.M)
    seconds = int(re.search(r"^step second: (\d+) s \(CPU \d+ s, load [\d.]+\)$", done.stdout, re.M).group(1))
    assert seconds >= 1, "sleep 1 takes a second"
    assert re.search(r"^step total: \d+ s \(CPU \d+ s\)$", done.stdout, re.M)


def test_a_step_counts_the_cpu_seconds_of_its_processes(tmp_path):
    busy = f"{shlex.quote(sys.executable)} -c 'import time; t = time.process_time()\nwhile time.process_time() - t < 1.6: pass'"
    done = run_steps(f"step busy 60 {busy}", tmp_path)
    assert re.search(r"^step busy: \d+ s \(CPU 2 s, load", done.stdout, re.M), done.stdout


def test_a_step_over_its_limit_names_itself_and_stops_the_run(tmp_path):
    done = run_steps("step fine 10 true\nstep slow 1 sleep 20\necho not reached", tmp_path)
    assert done.returncode == 124
    assert re.search(r"^step slow: TIMED OUT after \d+ s \(limit 1 s\)$", done.stderr, re.M), done.stderr
    assert "not reached" not in done.stdout and re.search(r"^\s+fine\s+\d+ s", done.stdout, re.M)


def test_a_failing_step_names_itself_and_keeps_the_exit_code(tmp_path):
    done = run_steps("step broken 10 sh -c 'exit 3'\necho not reached", tmp_path)
    assert done.returncode == 3 and "step broken: FAILED with exit code 3" in done.stderr
    assert "not reached" not in done.stdout


def test_a_timed_out_step_leaves_nothing_running(tmp_path):
    marker = tmp_path / "child.pid"
    done = run_steps(f"step tree 1 sh -c 'sleep 30 & echo $! > {marker}; wait'", tmp_path)
    assert done.returncode == 124
    child = int(marker.read_text())
    assert not Path(f"/proc/{child}").exists() or "zombie" in Path(f"/proc/{child}/status").read_text().lower(), \
        "the command's child outlived the time-out"


def test_limits_scale_for_a_slower_runner(tmp_path):
    done = run_steps("CI_LIMIT_SCALE=3; source " + shlex.quote(str(STEPS)) + "\nstep scaled 2 true", tmp_path)
    assert "::: step scaled (limit 6 s)" in done.stdout


# --------------------------------------------------------------------------
# the README says what CI runs and what it cost
# --------------------------------------------------------------------------
def readme_ci_table() -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    start, end = "<!-- ci-steps:start -->", "<!-- ci-steps:end -->"
    assert start in text and end in text, "README.md needs the table of .ci/run's steps between ci-steps markers"
    block = text.split(start, 1)[1].split(end, 1)[0]
    return [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in block.splitlines() if line.startswith("|")][2:]


def test_readme_table_lists_every_ci_step_in_order():
    rows = readme_ci_table()
    names = [row[0].strip("`") for row in rows if row[0] not in ("total", "**total**")]
    assert names == [name for name, _, _ in ci_steps()]
    for row in rows:
        assert all(re.search(r"\d", cell) for cell in row[2:4]), f"a measured row needs its seconds: {row}"


def test_readme_limits_match_ci_run():
    limits = {name: limit for name, limit, _ in ci_steps()}
    for row in readme_ci_table():
        name = row[0].strip("`")
        if name in limits:
            assert f"{limits[name]}" in row[1], f"README gives step {name} the limit {row[1]}, .ci/run {limits[name]}"


def test_every_ci_step_is_a_make_target():
    makefile = (ROOT / "Makefile").read_text()
    for name, _, command in ci_steps():
        words = command.split()
        assert words[0] == "make" and len(words) == 2, f"step {name}: run one make target, as a maintainer would"
        assert re.search(rf"^{re.escape(words[1])}:", makefile, re.M), f"step {name}: no target {words[1]}"


# --------------------------------------------------------------------------
# slow tests are marked, and still run
# --------------------------------------------------------------------------
def test_every_listed_slow_test_exists_and_is_marked(request):
    """tests/conftest.py marks SLOW_TESTS by name: a renamed test must not drop out silently."""
    from conftest import SLOW_TESTS

    files = sorted({nodeid.split("::")[0] for nodeid in SLOW_TESTS})
    collected = {item.nodeid: item for item in request.session.items}
    if not all(any(nodeid.startswith(f + "::") for nodeid in collected) for f in files):
        # this session did not collect those files (e.g. `pytest tests/test_ci.py`): collect them now
        done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:xdist", "-m", "slow",
                               *files], cwd=ROOT, capture_output=True, text=True, timeout=300)
        marked = {line.strip() for line in done.stdout.splitlines() if "::" in line}
    else:
        marked = {nodeid for nodeid, item in collected.items() if item.get_closest_marker("slow")}
    missing = SLOW_TESTS - marked
    assert not missing, f"tests/conftest.py SLOW_TESTS names tests that do not exist (renamed?): {sorted(missing)}"


def test_ci_runs_the_slow_tests_too():
    unit = [line for line in makefile_dry_run("unit") if " pytest " in line]
    assert unit and " -m " not in unit[0].split(" pytest ", 1)[1], "make unit (CI) must not deselect any marker"
