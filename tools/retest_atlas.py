#!/usr/bin/env python
"""The atlas method on the test-retest cohort of notebook 12 -> benchmarks/retest_atlas.csv.

Usage::

    python tools/retest_atlas.py [--out benchmarks/retest_atlas.csv] [--sessions 2]

The multi-atlas method (notebook 03) registers five atlases per scan, several
seconds each: too slow to run on 16 scans inside notebook 12's one-minute
budget. This tool runs it once, with its defaults, on every session of every
patient of ``medseg_edu.data.RETEST_PATIENTS`` (``medseg_edu.data.rescan``), and
stores one row per scan: patient, session, slice thickness, the patient's true
volume, the truth on that session's grid, the atlas volume (mL) and the seconds
it took. Notebook 12 reads the file; ``tests/data/test_rescan.py`` checks that it
matches the cohort (true volumes) and that one row is what the atlas gives today.
The atlas does not use the bundled networks, so retraining them leaves the file valid.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ("patient", "session", "slice_mm", "true_volume_ml", "grid_volume_ml", "atlas_ml", "seconds")


def run(out: Path, sessions: int) -> list[dict]:
    from medseg_edu import volumetry
    from medseg_edu.data import RETEST_PATIENTS, rescan
    from medseg_edu.methods import atlas

    rows = []
    for patient in RETEST_PATIENTS:
        for session in range(sessions):
            case = rescan(patient, session)
            start = time.perf_counter()
            mask = atlas.segment(case.image, case.spacing)
            seconds = time.perf_counter() - start
            rows.append({"patient": patient, "session": session, "slice_mm": case.spacing[2],
                         "true_volume_ml": round(case.meta["true_volume_ml"], 4),
                         "grid_volume_ml": round(case.gland_volume_ml, 4),
                         "atlas_ml": round(volumetry.volume_ml(mask, case.spacing), 4),
                         "seconds": round(seconds, 2)})
            print(f"patient {patient} session {session}: atlas {rows[-1]['atlas_ml']:.2f} mL "
                  f"(truth {rows[-1]['grid_volume_ml']:.2f} mL), {seconds:.1f} s", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "retest_atlas.csv")
    parser.add_argument("--sessions", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        load = f"{os.getloadavg()[0]:.1f}"
    except OSError:
        load = "n/a"
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, load {load}, "
          f"{datetime.date.today().isoformat()}", flush=True)
    run(args.out, args.sessions)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
