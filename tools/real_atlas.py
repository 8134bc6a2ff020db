#!/usr/bin/env python
"""The atlas method on the first bundled real scan -> benchmarks/real_atlas_masks.npz.

Usage::

    python tools/real_atlas.py [--out benchmarks/real_atlas_masks.npz] [--scans NAME ...]

Notebook 10 runs every method on the first bundled real T2 scan. The multi-atlas
method (notebook 03) registers its 12 phantom atlases to the scan and refines
the best five, about 10 s on two cores, and on a fresh machine it first builds
its atlas library (about 25 s): too slow for notebook 10's one-minute budget
beside everything else it runs. This tool runs it once, with its defaults, and
stores each mask bit-packed, with the scan's shape and the seconds it took.
Notebook 10 reads the file through ``medseg_edu.methods.atlas.stored_real_mask``
(and can run the atlas live instead); ``tests/methods/test_method_atlas.py`` checks
that the stored mask is what the atlas gives today. The atlas uses no network,
so retraining the networks leaves the file valid.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def run(out: Path, scans) -> dict:
    from medseg_edu.data import real_scan
    from medseg_edu.methods import atlas

    stored = {}
    for scan in scans:
        vol = real_scan(scan)
        start = time.perf_counter()
        mask = atlas.segment(vol.array.astype(np.float32), vol.spacing)
        seconds = time.perf_counter() - start
        stored[f"{scan}/mask"] = np.packbits(mask.ravel())
        stored[f"{scan}/shape"] = np.array(mask.shape)
        stored[f"{scan}/seconds"] = np.array(round(seconds, 2))
        print(f"{scan}: atlas {np.count_nonzero(mask)} voxels, {seconds:.1f} s", flush=True)
    stored["date"] = np.array(datetime.date.today().isoformat())
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **stored)
    return stored


def main(argv=None) -> int:
    from medseg_edu.data import REAL_SCANS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "real_atlas_masks.npz")
    parser.add_argument("--scans", nargs="+", default=[REAL_SCANS[0]], choices=REAL_SCANS)
    args = parser.parse_args(argv)
    run(args.out, args.scans)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
