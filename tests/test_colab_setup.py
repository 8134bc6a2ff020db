"""The Colab setup cell: identical in every notebook, installs only on Colab.

The canonical cell is the fenced block in docs/DEVELOPING.md ("Notebook
contract", item 2). Every notebook's first code cell must be exactly that
source, tagged ``setup``. Executed with a fake ``google.colab`` module it must
ask pip to install the package; executed anywhere else it must start no
process at all.
"""

from __future__ import annotations

import importlib.machinery
import re
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NB_PARAMS = [pytest.param(p, id=p.name) for p in NOTEBOOKS] or [
    pytest.param(None, id="no-notebooks", marks=pytest.mark.skip(reason="no notebooks yet"))]


def canonical_setup_cell() -> str:
    text = (ROOT / "docs" / "DEVELOPING.md").read_text()
    blocks = re.findall(r"^([ \t]*)```python\n(.*?)^[ \t]*```", text, re.M | re.S)
    setup = [(indent, body) for indent, body in blocks if "google.colab" in body]
    assert len(setup) == 1, "docs/DEVELOPING.md must hold exactly one Colab setup block"
    indent, body = setup[0]
    lines = [line[len(indent):] if line.startswith(indent) else line for line in body.splitlines()]
    return "\n".join(lines).strip()


_REAL_RUN, _REAL_POPEN = subprocess.run, subprocess.Popen


def run_cell(source: str, monkeypatch, on_colab: bool, google_installed: bool = True,
             clone_to: Path | None = None) -> list:
    """Execute ``source`` with subprocess.run recorded; return the recorded calls.

    Off Colab, ``google_installed`` says whether some other ``google`` package
    (protobuf, google-auth, ...) is importable; the cell must cope with both.
    On (fake) Colab the repository is cloned for real - from this local
    checkout into ``clone_to`` - while the pip call is only recorded.
    """
    calls = []

    def fake_run(cmd, *args, **kwargs):
        calls.append((list(cmd), kwargs))
        if cmd[0] == "git":  # really clone (from the local checkout); Popen is guarded below
            guarded, subprocess.Popen = subprocess.Popen, _REAL_POPEN
            try:
                return _REAL_RUN(cmd, *args, **kwargs)
            finally:
                subprocess.Popen = guarded
        return subprocess.CompletedProcess(cmd, 0)

    def no_popen(*args, **kwargs):
        raise AssertionError(f"the setup cell started a process: {args}")

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(subprocess, "Popen", no_popen)
    monkeypatch.setattr(subprocess, "call", no_popen)
    monkeypatch.setattr(subprocess, "check_call", no_popen)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("MEDSEG_EDU_REPO", str(ROOT))
    monkeypatch.setenv("MEDSEG_EDU_HOME", str(clone_to or ROOT / "build" / "never-used"))
    for name in ("google.colab", "google"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    if on_colab or google_installed:
        google = types.ModuleType("google")
        google.__path__ = []  # a namespace package with no colab in it
        google.__spec__ = importlib.machinery.ModuleSpec("google", None, is_package=True)
        monkeypatch.setitem(sys.modules, "google", google)
    else:  # make `import google` fail even if the test environment has one
        monkeypatch.setitem(sys.modules, "google", None)
    if on_colab:
        colab = types.ModuleType("google.colab")
        colab.__spec__ = importlib.machinery.ModuleSpec("google.colab", None)
        google.colab = colab
        monkeypatch.setitem(sys.modules, "google.colab", colab)
    exec(compile(source, "<setup cell>", "exec"), {"__name__": "__main__"})
    return calls


def assert_installs_the_checkout(calls, clone_to: Path) -> None:
    """A git clone that brings package AND bundled data, then an editable pip install of it."""
    git = [cmd for cmd, _ in calls if cmd[0] == "git"]
    pip = [(cmd, kw) for cmd, kw in calls if cmd[:4] == [sys.executable, "-m", "pip", "install"]]
    assert len(git) == 1 and git[0][1] == "clone", f"expected one git clone, got {calls}"
    assert len(pip) == 1, f"expected one pip install, got {calls}"
    assert (clone_to / "medseg_edu" / "__init__.py").is_file(), "the clone holds no package"
    assert list((clone_to / "data" / "mni").glob("*.nii.gz")), "the clone holds no bundled MNI data"
    cmd, kwargs = pip[0]
    assert cmd[-2:] == ["-e", str(clone_to)], f"pip should install the clone editable, ran {cmd}"
    assert kwargs.get("check") is True, "a failed install must stop the notebook"


def test_canonical_cell_installs_on_colab(monkeypatch, tmp_path):
    clone_to = tmp_path / "medseg-edu"
    calls = run_cell(canonical_setup_cell(), monkeypatch, on_colab=True, clone_to=clone_to)
    assert_installs_the_checkout(calls, clone_to)


@pytest.mark.parametrize("google_installed", [True, False], ids=["google-pkg", "no-google-pkg"])
def test_canonical_cell_does_nothing_elsewhere(monkeypatch, google_installed):
    calls = run_cell(canonical_setup_cell(), monkeypatch, on_colab=False,
                     google_installed=google_installed)
    assert calls == []


@pytest.mark.parametrize("path", NB_PARAMS)
def test_first_code_cell_is_the_setup_cell(path, monkeypatch):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{path.name} has no code cells"
    first = code[0]
    assert first.source.strip() == canonical_setup_cell(), (
        f"{path.name}: the first code cell must be exactly the setup cell in docs/DEVELOPING.md")
    assert "setup" in first.metadata.get("tags", []), f"{path.name}: tag the setup cell 'setup'"
    assert first.source.strip() == canonical_setup_cell()  # so the clone test above covers it too
    assert run_cell(first.source, monkeypatch, on_colab=False, google_installed=True) == []
    assert run_cell(first.source, monkeypatch, on_colab=False, google_installed=False) == []
