"""Measure the bundled U-Net versions on expert-labelled real scans: the numbers issue 22's "done when" asks for.

    python tools/measure_labelled.py --msd ROOT                 # MSD Task05: every labelled case of imagesTr
    python tools/measure_labelled.py --pair T2.nii.gz LABEL.nii.gz [--pair ...]
    python tools/measure_labelled.py ... --json results.json

For each scan and each candidate - U-Net weight versions 2 (the default), 3 and 4, version 4's two
other seeds and the mean probability of its three seeds - it prints the gland Dice, the signed
volume error, the recall at the apex and at the base (first and last 20 % of the labelled slices),
the share of labelled slices but the outermost 10 % at each end that get a prediction, and the
three seeds' volume spread; beside them the ellipsoid formula on the expert outline's diameters,
the radiologist's estimate the segmentation has to beat. Then, per candidate, the three verdicts
on labelled scans: mean Dice >= 0.85, worst volume error <= 10 %, every inner labelled slice found.

The labels are read from disk and only compared with; nothing here trains, and nothing labels a scan.
MSD Task05 and NCI-ISBI label maps are among the 92 expert outlines the training phantoms borrow
(``data.gland_shapes``): on such a case the image is new to the networks but the gland's outline
is not, which flatters them (versions 3 and 4 trained on 74 of the 92 outlines, version 2 on 26 of the
32 MSD ones; the six held-out MSD outlines are the same for all). The table marks the cases whose
outline versions 3 and 4 trained on, and the verdicts are given for the unseen outlines too.
Each network segments as ``medseg_edu.methods.unet.segment`` does (mirrored prediction averaged,
threshold 0.5, largest piece).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from medseg_edu import volumetry, weights  # noqa: E402
from medseg_edu.data import load_labelled_scan, load_msd_prostate  # noqa: E402
from medseg_edu.data.gland_shapes import TRAIN_SHAPES  # noqa: E402
from medseg_edu.masks import largest_component  # noqa: E402
from medseg_edu.methods import held_out, unet  # noqa: E402
from medseg_edu.methods.interval import member_volumes  # noqa: E402

#: The three criteria of issue 22 that need labelled real scans.
MIN_MEAN_DICE = 0.85
MAX_ABS_VOLUME_ERROR_PERCENT = 10.0
ALL_INNER_SLICES_FOUND = 1.0

VERSIONS = (2, 3)  # segmented one by one; version 4 and its seeds come from member_volumes


def outline_trained_on(case_name: str) -> bool:
    """Whether a case's expert outline is one of the shapes the training phantoms were built on
    (MSD ``prostate_NN`` is shape ``NN``; an ISBI case's name is its shape id)."""
    shape_id = case_name.split("_", 1)[1] if case_name.startswith("prostate_") else case_name
    return shape_id in TRAIN_SHAPES


def masks_of_candidates(image, spacing, models) -> dict:
    """Each candidate's gland mask of one scan, and the spread (%) of version 4's seeds' volumes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the quality warnings are not what is measured here
        masks = {f"version {v}" + (" (default)" if v == 2 else ""):
                 unet.segment(image, spacing, model=models[v], quality="ignore") for v in VERSIONS}
        members = member_volumes(image, spacing, models["members"])
    masks["version 4"], *others = members.masks
    seeds = [meta["seed"] for meta in weights.member_metadata("unet", version=4)][1:]
    masks.update({f"version 4, seed {s}": m for s, m in zip(seeds, others)})
    masks["version 4, three seeds' mean"] = largest_component(members.probability >= 0.5)
    return masks, members.spread_percent


def measure(cases, models=None) -> list[dict]:
    """One row per (case, candidate): :func:`medseg_edu.methods.held_out.score` plus the case's volumes."""
    if models is None:
        models = {v: weights.load("unet", version=v) for v in VERSIONS}
        models["members"] = weights.load_members("unet", version=4)
    rows = []
    for case in cases:
        truth_ml = volumetry.volume_ml(case.gland, case.spacing)
        ellipsoid_error = volumetry.volume_error_percent(truth_ml, volumetry.ellipsoid_volume_ml(case.gland,
                                                                                                  case.spacing))
        masks, spread = masks_of_candidates(case.image, case.spacing, models)
        for candidate, mask in masks.items():
            rows.append(dict(case=case.name, candidate=candidate, true_ml=truth_ml,
                             outline_trained_on=outline_trained_on(case.name),
                             ellipsoid_error_percent=ellipsoid_error, members_spread_percent=spread,
                             **held_out.score(mask, case)))
        print(f"{case.name}: {truth_ml:.1f} mL, ellipsoid {ellipsoid_error:+.1f} %, "
              f"version 4's seeds spread {spread:.0f} %", flush=True)
    return rows


def verdicts(rows) -> dict:
    """Per candidate: its summary over the cases and whether it meets each labelled criterion."""
    out = {}
    for candidate in dict.fromkeys(r["candidate"] for r in rows):
        own = [r for r in rows if r["candidate"] == candidate]
        summary = held_out.summarise(own)
        worst_slices = min(r["slices_found"] for r in own)
        out[candidate] = dict(summary, worst_slices_found=worst_slices,
                              mean_dice_ok=summary["dice"] >= MIN_MEAN_DICE,
                              volume_error_ok=summary["max_abs_volume_error_percent"] <= MAX_ABS_VOLUME_ERROR_PERCENT,
                              slices_ok=worst_slices >= ALL_INNER_SLICES_FOUND)
    return out


def _verdict_table(rows, what) -> list[str]:
    yes = {True: "yes", False: "**no**"}
    cases = len({r["case"] for r in rows})
    lines = [f"Verdicts on {cases} {what} (issue 22: mean Dice >= {MIN_MEAN_DICE}, worst volume error <= "
             f"{MAX_ABS_VOLUME_ERROR_PERCENT:.0f} %, every labelled slice but the outermost 10 % found):", "",
             "| candidate | mean Dice | worst volume error | worst share of inner slices found | all three met |",
             "|---|---|---|---|---|"]
    for candidate, v in verdicts(rows).items():
        met = v["mean_dice_ok"] and v["volume_error_ok"] and v["slices_ok"]
        lines.append(f"| {candidate} | {v['dice']:.3f} ({yes[v['mean_dice_ok']]}) | "
                     f"{v['max_abs_volume_error_percent']:.1f} % ({yes[v['volume_error_ok']]}) | "
                     f"{v['worst_slices_found']:.2f} ({yes[v['slices_ok']]}) | {yes[met]} |")
    return lines


def report(rows) -> str:
    """The per-case table and the verdicts, as Markdown."""
    lines = ["| case | candidate | Dice | volume error | apex recall | base recall | inner slices found |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['candidate']} | {r['dice']:.3f} | {r['volume_error_percent']:+.1f} % | "
                     f"{r['apex_recall']:.2f} | {r['base_recall']:.2f} | {r['slices_found']:.2f} |")
    cases = list(dict.fromkeys(r["case"] for r in rows))
    lines += ["", "| case | true volume | ellipsoid on the expert outline | version 4's seeds' spread | "
              "outline a training shape |", "|---|---|---|---|---|"]
    for name in cases:
        r = next(r for r in rows if r["case"] == name)
        lines.append(f"| {name} | {r['true_ml']:.1f} mL | {r['ellipsoid_error_percent']:+.1f} % | "
                     f"{r['members_spread_percent']:.0f} % | {'yes' if r['outline_trained_on'] else 'no'} |")
    unseen = [r for r in rows if not r["outline_trained_on"]]
    for chosen, what in ((rows, "labelled scans"), (unseen, "labelled scans whose outline no network trained on")):
        if chosen and (chosen is rows or len(unseen) < len(rows)):
            lines += ["", *_verdict_table(chosen, what)]
    ellipsoid = max(abs(next(r for r in rows if r["case"] == name)["ellipsoid_error_percent"]) for name in cases)
    lines += ["", f"The ellipsoid formula on the expert outline's diameters, for comparison: worst volume error "
              f"{ellipsoid:.1f} %."]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--msd", type=Path, help="a Task05_Prostate folder (or the folder holding it): its imagesTr")
    parser.add_argument("--pair", nargs=2, action="append", default=[], metavar=("IMAGE", "LABEL"),
                        help="a scan and its expert label map on the same grid (repeatable)")
    parser.add_argument("--json", type=Path, help="also write every row and verdict here")
    args = parser.parse_args(argv)
    if not args.msd and not args.pair:
        parser.error("give labelled scans: --msd ROOT and/or --pair IMAGE LABEL")
    cases = [load_labelled_scan(image, label) for image, label in args.pair]
    if args.msd:
        cases += load_msd_prostate(args.msd, "train", adc=False)
    rows = measure(cases)
    print(report(rows))
    if args.json:
        args.json.write_text(json.dumps(dict(rows=rows, verdicts=verdicts(rows)), default=float, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
