"""Build the bundled 2 mm MNI ICBM152 2009a files in ``data/mni/``.

Source: the MNI ICBM152 2009a nonlinear *symmetric* template that ships as
package data inside nilearn (``nilearn/datasets/data/mni_icbm152_{t1,gm,wm}_
tal_nlin_sym_09a_converted.nii.gz``: 197 x 233 x 189 voxels at 1 mm, uint8
0-255, RAS). nilearn is only needed to run this script, not to use the
package::

    .venv/bin/pip install nilearn
    .venv/bin/python tools/make_mni_data.py

Resampling: each map is zero-padded at the high end of every axis to an even
size and averaged over 2 x 2 x 2 blocks (block mean). A block mean keeps the
sum of every map (so the tissue volume of the GM/WM probability maps is
preserved up to uint8 rounding) and never invents values. Output voxel ``i``
covers input voxels ``2i`` and ``2i + 1``, so its centre lies half a
millimetre past input voxel ``2i``: the new affine has 2 mm on the diagonal
and its origin shifted by +0.5 mm per axis, which keeps every structure at
the same world (MNI) position.

Writes ``data/mni/mni_icbm152_2009a_{t1,gm,wm}_2mm.nii.gz`` (uint8, 99 x 117
x 95).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import nibabel as nib
import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "data" / "mni"
MAPS = ("t1", "gm", "wm")
SOURCE_NAME = "mni_icbm152_{}_tal_nlin_sym_09a_converted.nii.gz"
TARGET_NAME = "mni_icbm152_2009a_{}_2mm.nii.gz"
FACTOR = 2


def nilearn_data_dir() -> Path:
    """Folder holding nilearn's bundled data files (without importing nilearn)."""
    spec = importlib.util.find_spec("nilearn")
    if spec is None or spec.origin is None:
        sys.exit("nilearn is not installed: run `.venv/bin/pip install nilearn` first "
                 "(only this script needs it).")
    return Path(spec.origin).parent / "datasets" / "data"


def block_mean(array: np.ndarray, factor: int) -> np.ndarray:
    """Mean over ``factor``-sized blocks per axis after zero-padding to a multiple of it."""
    pad = [(0, (-n) % factor) for n in array.shape]
    a = np.pad(array.astype(np.float64), pad)
    new_shape = []
    for n in a.shape:
        new_shape += [n // factor, factor]
    return a.reshape(new_shape).mean(axis=tuple(range(1, 2 * a.ndim, 2)))


def downsample_affine(affine: np.ndarray, factor: int) -> np.ndarray:
    """Affine of the block-mean grid: voxel i sits at old index factor*i + (factor-1)/2."""
    new = affine.copy()
    new[:3, :3] = affine[:3, :3] * factor
    new[:3, 3] = affine[:3, :3] @ np.full(3, (factor - 1) / 2.0) + affine[:3, 3]
    return new


def convert(src: Path, dst: Path) -> tuple:
    img = nib.load(str(src))
    if nib.aff2axcodes(img.affine) != ("R", "A", "S"):
        img = nib.as_closest_canonical(img)
    data = np.asarray(img.dataobj)
    small = np.clip(np.rint(block_mean(data, FACTOR)), 0, 255).astype(np.uint8)
    affine = downsample_affine(img.affine, FACTOR)
    out = nib.Nifti1Image(small, affine, dtype=np.uint8)
    out.header.set_xyzt_units("mm")
    out.header.set_zooms((float(FACTOR),) * 3)
    out.set_sform(affine, code=4)  # 4 = MNI_152
    out.set_qform(affine, code=4)
    out.header["descrip"] = b"MNI ICBM152 2009a sym, 2mm block mean"
    dst.parent.mkdir(parents=True, exist_ok=True)
    nib.save(out, str(dst))
    return data.shape, small.shape, float(data.sum()) / 255.0, float(small.sum()) * 8 / 255.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default data/mni)")
    args = parser.parse_args(argv)
    src_dir = nilearn_data_dir()
    total = 0
    for key in MAPS:
        src = src_dir / SOURCE_NAME.format(key)
        if not src.exists():
            sys.exit(f"Missing {src}: this nilearn version does not ship the 2009a template.")
        dst = args.out / TARGET_NAME.format(key)
        shape_in, shape_out, sum_in, sum_out = convert(src, dst)
        size = dst.stat().st_size
        total += size
        print(f"{key}: {shape_in} -> {shape_out}, sum/255 {sum_in:.0f} -> {sum_out:.0f} (x voxel mm3), "
              f"{dst.relative_to(REPO) if dst.is_relative_to(REPO) else dst} {size / 1024:.0f} KB")
    print(f"total {total / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
