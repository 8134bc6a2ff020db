"""environment.yml (Binder / conda), pyproject.toml and the Makefile agree.

Three ways to install must give the same package set: `make` (pip + pinned
CPU torch), Binder / conda (environment.yml + postBuild) and Colab (pip from
git). These checks keep the first two in step with pyproject.toml.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]

# conda-forge name -> PyPI name, where they differ
CONDA_TO_PYPI = {"pytorch": "torch"}
DESIGN_PACKAGES = ["jupyterlab", "ipywidgets", "matplotlib", "numpy", "scikit-image",
                   "torch", "nibabel", "nbval"]


def normalise(name: str) -> str:
    name = re.sub(r"[-_.]+", "-", name).lower()
    return CONDA_TO_PYPI.get(name, name)


def parse_conda_spec(spec: str) -> tuple[str, list[tuple[str, Version]], str | None]:
    """Split a conda match spec ("name", "name>=1,<2", "name >=1,<2 build*", "name=1.2")."""
    spec = spec.strip()
    m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
    assert m, f"cannot parse conda spec {spec!r}"
    name, rest = m.group(1), m.group(2).strip()
    build = None
    parts = rest.split()
    if len(parts) == 2:  # "version build"
        rest, build = parts
    elif len(parts) > 2:
        raise AssertionError(f"cannot parse conda spec {spec!r}")
    # "=1.2=build" form
    if rest.startswith("=") and not rest.startswith("=="):
        pieces = rest[1:].split("=")
        rest = "==" + pieces[0].rstrip(".*") if pieces[0] else ""
        if len(pieces) > 1:
            build = pieces[1]
    bounds = []
    for clause in filter(None, (c.strip() for c in rest.split(","))):
        cm = re.match(r"^(>=|<=|==|!=|>|<)?\s*([0-9][0-9A-Za-z.*]*)$", clause)
        assert cm, f"cannot parse version clause {clause!r} in {spec!r}"
        op = cm.group(1) or "=="
        bounds.append((op, Version(cm.group(2).rstrip(".*") or "0")))
    return name, bounds, build


def lower_bound(bounds) -> Version | None:
    found = [v for op, v in bounds if op in (">=", ">", "==")]
    return max(found) if found else None


def upper_bound(bounds) -> Version | None:
    found = [v for op, v in bounds if op in ("<", "<=", "==")]
    return min(found) if found else None


@pytest.fixture(scope="module")
def env():
    data = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = {}, []
    for dep in data["dependencies"]:
        if isinstance(dep, dict):
            pip.extend(dep.get("pip", []))
        else:
            name, bounds, build = parse_conda_spec(dep)
            conda[normalise(name)] = (bounds, build, dep)
    return data, conda, pip


@pytest.fixture(scope="module")
def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_basics(env):
    data, conda, _ = env
    assert data["name"] == "medseg-edu"
    assert data["channels"] == ["conda-forge"], "use conda-forge only (its pytorch has CPU builds)"
    assert "python" in conda and "pip" in conda


def test_python_version_satisfies_requires_python(env, pyproject):
    _, conda, _ = env
    bounds, _, spec = conda["python"]
    pinned = lower_bound(bounds)
    assert pinned is not None, f"pin a Python version for Binder, got {spec!r}"
    required = pyproject["project"]["requires-python"]
    assert Requirement("python" + required).specifier.contains(str(pinned)), (
        f"environment.yml's {spec!r} does not satisfy requires-python {required!r}")


def test_every_runtime_dependency_is_in_environment_with_compatible_bounds(env, pyproject):
    _, conda, _ = env
    problems = []
    for raw in pyproject["project"]["dependencies"]:
        req = Requirement(raw)
        name = normalise(req.name)
        if name not in conda:
            problems.append(f"{req.name}: missing from environment.yml")
            continue
        bounds, _, spec = conda[name]
        py_low = lower_bound([(s.operator, Version(s.version)) for s in req.specifier])
        py_high = upper_bound([(s.operator, Version(s.version)) for s in req.specifier])
        env_low, env_high = lower_bound(bounds), upper_bound(bounds)
        if py_low is not None and (env_low is None or env_low < py_low):
            problems.append(f"{spec!r}: lower bound below pyproject's {raw!r}")
        if py_high is not None and (env_high is None or env_high > py_high):
            problems.append(f"{spec!r}: needs an upper bound within pyproject's {raw!r}")
        if env_low is not None and py_high is not None and env_low >= py_high:
            problems.append(f"{spec!r}: range does not overlap pyproject's {raw!r}")
    assert not problems, "\n".join(problems)


def test_design_packages_are_listed(env):
    _, conda, pip = env
    pip_names = {normalise(re.split(r"[<>=!~ \[]", p, maxsplit=1)[0]) for p in pip}
    missing = [p for p in DESIGN_PACKAGES if p not in conda and p not in pip_names]
    assert not missing, f"environment.yml lacks {missing}"


def test_pytorch_is_a_cpu_build(env):
    _, conda, _ = env
    _, build, spec = conda["torch"]
    assert build is not None and build.startswith("cpu"), (
        f"select conda-forge's CPU variant with a build string (e.g. 'pytorch >=2.1,<3 cpu*'), got {spec!r}")


def test_package_itself_is_installed_from_the_repository(env):
    _, _, pip = env
    from_pip_section = any(re.fullmatch(r"(-e\s+)?\.(\[[\w,]+\])?", p.strip()) for p in pip)
    post_build = ROOT / "postBuild"
    from_post_build = post_build.exists() and re.search(
        r"^\s*(python\s+-m\s+)?pip\s+install\b.*\s(-e\s+)?\.(\s|$)", post_build.read_text(), re.M)
    assert from_pip_section or from_post_build, (
        "install medseg_edu from the repo: a postBuild `pip install -e .` (repo2docker builds "
        "environment.yml before copying the repository)")
    if from_post_build:
        assert post_build.stat().st_mode & 0o111, "postBuild must be executable"
        assert "--no-deps" in post_build.read_text(), (
            "postBuild should not let pip replace conda's CPU torch with a PyPI (CUDA) build")


def test_makefile_pins_cpu_torch_via_constraints(pyproject):
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"(?:\$\(PIP\)|pip)\s+install\b.*-c constraints\.txt\s+"
                     r"(?:\$\(if \$\(TORCH_INDEX\),--extra-index-url \$\(TORCH_INDEX\)\)\s+)?\"?torch==2\.13\.0\"?", makefile), (
        "the Makefile must install torch==2.13.0 with -c constraints.txt")
    assert re.search(r"-c constraints\.txt\s+-e\s+\"?\.\[dev\]\"?", makefile), (
        "the Makefile must install the package under the same constraints")
    constraints = (ROOT / "constraints.txt").read_text()
    assert re.search(r"^torch==2\.13\.0\s*$", constraints, re.M)
    torch = next(Requirement(d) for d in pyproject["project"]["dependencies"]
                 if normalise(Requirement(d).name) == "torch")
    operators = {s.operator for s in torch.specifier}
    assert operators and not operators & {"==", "==="}, (
        f"pyproject must keep a range for torch (pins belong in constraints.txt), got {torch}")
    assert ">=" in operators


@pytest.mark.parametrize("spec, expected", [
    ("numpy>=1.24", ("numpy", [(">=", Version("1.24"))], None)),
    ("pytorch >=2.1,<3 cpu*", ("pytorch", [(">=", Version("2.1")), ("<", Version("3"))], "cpu*")),
    ("python=3.11", ("python", [("==", Version("3.11"))], None)),
    ("pip", ("pip", [], None)),
])
def test_conda_spec_parser(spec, expected):
    assert parse_conda_spec(spec) == expected


def test_torch_index_adds_pytorchs_cpu_index_only_when_asked():
    """On Linux, PyPI's torch wheel carries CUDA; README tells learners to pass TORCH_INDEX for the CPU build.
    Without it (CI, this machine's local wheels) the install line is the plain pinned one."""
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    stamp = ".venv/.medseg-edu-installed"

    def torch_line(*extra):
        out = subprocess.run(["make", "-n", "-B", stamp, *extra], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
        return next(line for line in out.splitlines() if '"torch==2.13.0"' in line)

    assert "index-url" not in torch_line()
    cpu = "https://download.pytorch.org/whl/cpu"
    assert f"-c constraints.txt --extra-index-url {cpu} \"torch==2.13.0\"" in torch_line(f"TORCH_INDEX={cpu}")
    assert "TORCH_INDEX=https://download.pytorch.org/whl/cpu" in (ROOT / "README.md").read_text(encoding="utf-8")
