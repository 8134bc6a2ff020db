"""A real wheel: ``pip install .`` (not editable) gives a package that works outside the repository.

The wheel is built from this checkout and installed into a fresh virtual environment in a
temporary folder; its dependencies (numpy, torch, ...) are borrowed from the running
environment through a path file, but ``medseg_edu`` itself must come from the wheel. A script
run from outside the repository then loads the bundled U-Net, renders a phantom, segments it
and reads every kind of bundled file - all through ``medseg_edu._bundled``.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    import medseg_edu
    from medseg_edu import metrics, showdown, weights
    from medseg_edu.methods import held_out, unet
    from medseg_edu.data import msd_label_dir, prostate_phantom, real_scan, REAL_SCANS
    from medseg_edu.data.brain import mni_brain

    where = Path(medseg_edu.__file__).resolve()
    repo = Path(sys.argv[1]).resolve()
    assert repo not in where.parents, f"medseg_edu imported from the repository: {where}"
    assert weights.weights_dir().is_relative_to(where.parent), weights.weights_dir()
    case = prostate_phantom(3001)
    mask = unet.segment(case.image, case.spacing, model=weights.load("unet"), quality="ignore")
    print("dice", round(metrics.dice(mask, case.gland), 2))
    print("labels", len(sorted(msd_label_dir().glob("prostate_*.nii.gz"))))
    print("real", all(real_scan(name).array.ndim == 3 for name in REAL_SCANS))
    print("bench", len(showdown.bench_results()[0]) > 0)
    print("versions", sorted(held_out.stored_scores("unet")),
          [type(weights.load("unet", version=v)).__name__ for v in (3, 4, 5)])
    print("members", len(weights.load_members("unet", version=4)), len(held_out.stored_member_volumes()["rows"]),
          len(weights.load_members("unet", version=5)))
    print("brain", mni_brain().t1.array.ndim)
""")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(out)], check=True, cwd=out)
    (found,) = out.glob("medseg_edu-*.whl")
    return found


def test_the_wheel_ships_the_bundled_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("medseg_edu/_files/data/weights/unet.pt", "medseg_edu/_files/data/weights/unet.json",
                   "medseg_edu/_files/data/weights/v1/unet.pt", "medseg_edu/_files/data/weights/v3/unet.pt",
                   "medseg_edu/_files/data/weights/v4/unet.pt", "medseg_edu/_files/data/weights/v4/unet_seed2.pt",
                   "medseg_edu/_files/data/weights/v5/unet.pt", "medseg_edu/_files/data/weights/v5/unet_seed2.pt",
                   "medseg_edu/_files/benchmarks/held_out_members.json",
                   "medseg_edu/_files/benchmarks/held_out_unet.json", "medseg_edu/_files/data/msd_labels/README.md",
                   "medseg_edu/_files/data/mni/mni_icbm152_2009a_t1_2mm.nii.gz",
                   "medseg_edu/_files/data/real/dicom/", "medseg_edu/_files/benchmarks/results.csv"):
        assert any(name.startswith(needed) for name in names), needed
    assert not any(n.startswith(("data/", "benchmarks/", "tests/", "notebooks/")) for n in names)


@pytest.mark.slow
def test_the_installed_wheel_works_outside_the_repository(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "-q", str(wheel)], check=True)
    # the dependencies come from this environment; its editable medseg_edu is not activated this way
    target = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                 check=True, capture_output=True, text=True).stdout.strip())
    (target / "borrowed_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSEG_EDU_") and k != "PYTHONPATH"}
    env["MEDSEG_EDU_CACHE"] = str(tmp_path / "cache")
    run = subprocess.run([str(python), "-c", SCRIPT, str(ROOT)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    printed = dict(line.split(" ", 1) for line in run.stdout.splitlines())
    assert float(printed["dice"]) >= 0.85
    assert printed["labels"] == "32" and printed["real"] == "True" and printed["bench"] == "True"
    assert printed["brain"] == "3"
    assert printed["versions"] == "[1, 2, 3, 4, 5] ['UNet', 'UNet', 'UNet']"
    assert printed["members"] == "3 32 3"
