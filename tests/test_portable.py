"""The portable run still catches a checked cell that is not portable.

`make test-other-cpus` re-runs notebooks under ONE configuration: torch's portable kernels
(ATEN_CPU_CAPABILITY=default) on one thread, numpy's AVX-512 kernels off. It replaced two runs
(that one, and AVX2 kernels on three threads). This test is the proof that nothing was lost: a
small notebook with deliberately fragile checked cells - each prints a floating-point result to
more digits than another CPU reproduces - is executed as `make execute` would store it, then
checked by nbval three ways:

- as stored (`make test`'s configuration): every cell passes;
- under the Makefile's other-CPU environment: every fragile cell that can differ on this machine
  is flagged, and the verdict cell (a tolerance, as DEVELOPING.md asks) still passes;
- under the dropped AVX2-on-three-threads configuration: it flags nothing that the kept one
  does not flag as well.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import nbformat
import pytest

from test_ci import ROOT, nbval_line

# (what it shows, source). Each prints a float32 result to more digits than the arithmetic holds.
FRAGILE = {
    "float32 reduction": (
        "import torch\n"
        "values = torch.randn(1_000_000, generator=torch.Generator().manual_seed(0))\n"
        "print(f'{values.sum().item():.6f}')"),
    "a gradient summed over a batch": (
        "import torch\n"
        "g = torch.Generator().manual_seed(1)\n"
        "x, w = torch.randn(8, 8, 64, 64, generator=g), torch.randn(8, 8, 3, 3, generator=g, requires_grad=True)\n"
        "torch.nn.functional.conv2d(x, w, padding=1).square().sum().backward()\n"
        "print(f'{w.grad.sum().item():.4f}')"),
    "numpy transcendental": (
        "import numpy as np\n"
        "angles = np.arctan(np.linspace(0.01, 5, 100_001, dtype=np.float32))\n"
        "print(f'{angles.astype(np.float64).sum():.7f}')"),
}
VERDICT = (
    "import torch\n"
    "from medseg_edu import expect\n"
    "values = torch.randn(1_000_000, generator=torch.Generator().manual_seed(0))\n"
    "expect('mean of a million standard normal draws (absolute)', abs(values.mean().item()), at_most=0.01)")
OLD_SECOND_RUN = {"ATEN_CPU_CAPABILITY": "avx2", "OMP_NUM_THREADS": "3"}
CONFIG_VARIABLES = ("ATEN_CPU_CAPABILITY", "OMP_NUM_THREADS", "NPY_DISABLE_CPU_FEATURES")


def make_notebook(path: Path) -> dict[int, str]:
    """Write the test notebook; return {cell index: name} of its checked cells."""
    cells, names = [], {}
    for name, source in [*FRAGILE.items(), ("verdict", VERDICT)]:
        names[len(cells)] = name
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = ["nbval-check-output"]
        cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return names


def environment(**config) -> dict[str, str]:
    """This process's environment, as `make test` sets it, changed by ``config``."""
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARIABLES}
    env.update({"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE", "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
    env.update(config)
    return env


def flagged(notebook: Path, names: dict[int, str], env: dict[str, str], tmp_path: Path) -> set[str]:
    """The names of the checked cells whose output nbval finds changed under ``env``."""
    report = tmp_path / f"nbval-{len(list(tmp_path.glob('nbval-*.xml')))}.xml"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "--nbval-lax",
         "--nbval-current-env", "--nbval-sanitize-with", str(ROOT / "tests" / "nbval_sanitize.cfg"),
         f"--junitxml={report}", str(notebook)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert report.exists(), done.stdout + done.stderr
    failed = set()
    for case in ElementTree.parse(report).iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            index = int(case.get("name").split()[-1])  # nbval names its items "Cell N"
            failed.add(names[index])
    assert (done.returncode != 0) == bool(failed), done.stdout[-2000:]
    return failed


@pytest.mark.slow
def test_one_portable_configuration_flags_every_fragile_checked_cell(tmp_path):
    other_cpu, _ = nbval_line("test-other-cpus")
    notebook = tmp_path / "fragile.ipynb"
    names = make_notebook(notebook)
    executed = subprocess.run([sys.executable, str(ROOT / "tools" / "run_notebooks.py"), "--inplace", str(notebook)],
                              cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=300)
    assert executed.returncode == 0, executed.stderr[-2000:]

    assert flagged(notebook, names, environment(), tmp_path) == set(), "the stored outputs must pass as stored"

    import numpy
    import torch
    expected = {"a gradient summed over a batch"}            # the thread count changes its sum everywhere
    if torch.backends.cpu.get_cpu_capability() != "DEFAULT":
        expected.add("float32 reduction")                      # the portable kernels sum in another order
    if other_cpu.get("NPY_DISABLE_CPU_FEATURES", "").strip():
        expected.add("numpy transcendental")                   # numpy's AVX-512 float32 arctan differs in the last bits
    kept = flagged(notebook, names, environment(**other_cpu), tmp_path)
    assert "verdict" not in kept, "a verdict with a tolerance must pass on another CPU"
    assert kept >= expected, f"the other-CPU run missed {sorted(expected - kept)} (numpy {numpy.__version__})"

    dropped = flagged(notebook, names, environment(**OLD_SECOND_RUN), tmp_path)
    assert dropped <= kept, f"AVX2 on three threads catches {sorted(dropped - kept)}, which the kept run misses"
