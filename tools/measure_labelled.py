"""Measure the bundled U-Net versions against issue 22's "done when": labelled real scans first.

    python tools/measure_labelled.py --msd ROOT                 # MSD Task05: every labelled case of imagesTr
    python tools/measure_labelled.py --pair T2.nii.gz LABEL.nii.gz [--pair ...]
    python tools/measure_labelled.py --pair DICOM_FOLDER LABEL.nrrd   # NCI-ISBI 2013's formats
    python tools/measure_labelled.py --unlabelled ../shared/real_t2 --phantom-v1
    python tools/measure_labelled.py --held-out                 # the 32 held-out phantom cases, as a check
    python tools/measure_labelled.py ... --adapt-batchnorm      # the same, each scan's own BatchNorm statistics
    python tools/measure_labelled.py ... --correct-bias         # the same, each scan N4 bias-corrected first
    python tools/measure_labelled.py ... --thresholds 0.5 0.4   # every candidate at each gland-probability threshold
    python tools/measure_labelled.py ... --json results.json

The candidates are U-Net weight versions 2 (the default), 3, 4 and 5, the two other seeds of
versions 4 and 5, and the mean probability of each one's three seeds. Each segments as
``medseg_edu.methods.unet.segment`` does (mirrored prediction averaged, threshold 0.5, largest piece).

- **Labelled scans** (``--msd``, ``--pair``): per scan and candidate the gland Dice, the signed
  volume error, the recall at the apex and at the base (first and last 20 % of the labelled
  slices) and the share of labelled slices but the outermost 10 % at each end that get a
  prediction; beside them the volume spread of version 4's and of version 5's seeds and the
  ellipsoid formula on the expert outline's diameters, the radiologist's estimate a segmentation
  has to beat; and whether the mask's two ends, and the expert outline's, lie in line with their
  middle (``quality.ends_in_line``, the truth-free check of the unlabelled scans, here tested where
  the truth is known). Verdicts: mean Dice >= 0.85, worst volume error <= 10 %, every inner labelled
  slice found.
- **Unlabelled real scans** (``--unlabelled``: the three bundled ones plus every NIfTI file in the
  folders given): ``methods.quality.plausibility`` of each mask (one compact piece of 15-150 mL,
  2D solidity >= 0.75, near the midline, as long as expert glands of its volume). Verdict: at
  least five in six plausible. Beside it, how many of the plausible masks also have both ends in
  line with their middle, as every expert gland has (``ends_in_line``: no end pulled backwards
  into the rectum or the seminal vesicles).
- **Phantom v1** (``--phantom-v1``): Dice on its 20 test cases. Verdict: mean >= 0.95.
- **Held-out phantoms** (``--held-out``): the labelled-scan table on ``methods.held_out``'s 32
  phantom cases (held-out real shapes, unseen styles), whose truth is known; without
  ``--adapt-batchnorm`` its rows are those of ``benchmarks/held_out_unet.json``.

``--adapt-batchnorm`` is a test-time adaptation tried for the real scans (AdaBN, Li et al. 2016):
before a scan is segmented, every BatchNorm layer's mean and variance are re-estimated from that
scan's own grid slices (plain and mirrored), with no label and no training step. Its results are in
``data/weights/TRAINING.md``.

``--correct-bias`` is a second one, a classic step of MRI pipelines: before a scan is segmented, its
slow intensity drift from the receive coils is estimated and divided out (N4, Tustison et al. 2010,
SimpleITK's ``N4BiasFieldCorrectionImageFilter`` on a copy shrunk 4 x in-plane, inside an Otsu
mask). The training phantoms carry a random bias field, so the networks have seen drift; whether a
real coil's drift is beyond what they saw is what this measures. Results in ``data/weights/TRAINING.md``
too; the two options can be combined.

``--thresholds`` segments with each candidate at several thresholds of its gland probability (default
0.5 alone, as ``segment`` does); a candidate at another threshold is named with it ("version 5, three
seeds' mean, threshold 0.4"). The networks run once per scan whatever the number of thresholds. A lower
threshold gives larger masks; whether that is right only truth can say: the held-out phantoms and the
labelled scans.

The labels are read from disk and only compared with; nothing here trains, and nothing labels a scan.
MSD Task05 and NCI-ISBI label maps are among the 92 expert outlines the training phantoms borrow
(``data.gland_shapes``): on such a case the image is new to the networks but the gland's outline
is not, which flatters them (versions 3-5 trained on 74 of the 92 outlines, version 2 on 26 of the
32 MSD ones; the six held-out MSD outlines are the same for all). The table marks the cases whose
outline versions 3-5 trained on (recognised from the label map's voxels, whatever the files are
called), and the verdicts are given for the unseen outlines too.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from medseg_edu import volumetry, weights  # noqa: E402
from medseg_edu.agreement import spread_percent  # noqa: E402
from medseg_edu.data import (GRID, PIXEL_MM, load_labelled_scan, load_msd_prostate, normalise,  # noqa: E402
                             prostate_split, real_scans, to_grid)
from medseg_edu.data.gland_shapes import TRAIN_SHAPES, expert_shape_of  # noqa: E402
from medseg_edu.masks import largest_component  # noqa: E402
from medseg_edu.metrics import dice  # noqa: E402
from medseg_edu.methods import held_out  # noqa: E402
from medseg_edu.methods.deep import network_input, probability_volume  # noqa: E402
from medseg_edu.methods.quality import ends_in_line, plausibility, quality_report  # noqa: E402

#: Issue 22's limits.
MIN_MEAN_DICE = 0.85
MAX_ABS_VOLUME_ERROR_PERCENT = 10.0
ALL_INNER_SLICES_FOUND = 1.0
MIN_PLAUSIBLE_SHARE = 5 / 6
MIN_PHANTOM_V1_DICE = 0.95

#: The weight versions that keep three seeds (``weights.load_members``): each seed and their mean are candidates.
MEMBER_VERSIONS = (4, 5)


def ensemble(version: int) -> str:
    """The name of the candidate that thresholds the mean probability of a version's seeds."""
    return f"version {version}, three seeds' mean"


def at_threshold(candidate: str, threshold: float) -> str:
    """The name of ``candidate`` segmenting at gland probability ``threshold`` (unchanged at 0.5, the default)."""
    return candidate if threshold == 0.5 else f"{candidate}, threshold {threshold:g}"


def version_of(candidate: str) -> int:
    """The weight version a candidate's name starts with ("version 4, seed 1" -> 4)."""
    return int(candidate.split()[1].rstrip(","))


def candidates() -> dict:
    """Candidate name -> the networks whose mean gland probability it thresholds (one, or three)."""
    nets = {"version 2 (default)": [weights.load("unet", version=2)], "version 3": [weights.load("unet", version=3)]}
    for version in MEMBER_VERSIONS:
        members = weights.load_members("unet", version=version)
        seeds = [meta["seed"] for meta in weights.member_metadata("unet", version=version)]
        nets[f"version {version}"] = members[:1]
        nets.update({f"version {version}, seed {seed}": [m] for seed, m in zip(seeds[1:], members[1:])})
        nets[ensemble(version)] = members
    return nets


def batchnorm_adapted(model, image, spacing):
    """A copy of ``model`` whose BatchNorm statistics are those of this scan's grid slices (AdaBN).

    The slices go through the network as :func:`probability_volume` gives them, plain and
    mirrored, in one batch; each BatchNorm layer's running mean and variance become that
    batch's. The weights are not touched and no label is used.
    """
    adapted = copy.deepcopy(model).cpu()
    slices = network_input(adapted, to_grid(normalise(image), spacing, size=GRID, pixel_mm=PIXEL_MM), spacing[2])
    batch = torch.from_numpy(np.ascontiguousarray(np.concatenate([slices, slices[:, :, ::-1]])))
    for layer in adapted.modules():
        if isinstance(layer, torch.nn.modules.batchnorm._BatchNorm):
            layer.reset_running_stats()
            layer.momentum = None  # a plain mean over the batch, not a running average
    adapted.train()
    with torch.no_grad():
        adapted(batch)
    return adapted.eval()


def bias_corrected(image, spacing, *, shrink=4):
    """``image`` with its smooth multiplicative bias field divided out (N4, SimpleITK).

    The field is fitted on a copy shrunk ``shrink`` times in-plane (the drift is slow, and it
    takes 8-13 s per 384 x 384 x 19 scan on 2 cores this way) inside an Otsu foreground mask,
    then evaluated on the full grid. Arrays are (x, y, z) with ``spacing`` in mm.
    """
    import SimpleITK as sitk

    scan = sitk.GetImageFromArray(np.transpose(np.asarray(image, np.float32), (2, 1, 0)))
    scan.SetSpacing([float(s) for s in spacing])
    small = sitk.Shrink(scan, [shrink, shrink, 1])
    n4 = sitk.N4BiasFieldCorrectionImageFilter()
    n4.SetMaximumNumberOfIterations([50, 50, 30])
    n4.Execute(small, sitk.OtsuThreshold(small, 0, 1, 200))
    field = sitk.Exp(n4.GetLogBiasFieldAsImage(scan))
    return np.transpose(sitk.GetArrayFromImage(scan / field), (2, 1, 0)).astype(np.float32)


def raw_masks(image, spacing, nets, *, adapt_batchnorm=False, correct_bias=False, thresholds=(0.5,)) -> dict:
    """Each candidate's thresholded mask at each threshold (:func:`at_threshold` names them), before its
    largest piece is kept; each network runs once."""
    probabilities = {}
    if correct_bias:
        image = bias_corrected(image, spacing)

    def probability(model):
        if id(model) not in probabilities:
            run = batchnorm_adapted(model, image, spacing) if adapt_batchnorm else model
            probabilities[id(model)] = probability_volume(run, image, spacing, tta=True)
        return probabilities[id(model)]

    masks = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the input warnings of a real scan are not what is measured here
        for name, models in nets.items():
            mean = np.mean([probability(m) for m in models], axis=0)
            masks.update({at_threshold(name, t): mean >= t for t in thresholds})
    return masks


def _seeds_spreads(masks, spacing, nets, threshold=0.5) -> dict:
    """Weight version -> spread (%) of the volumes of the single-network candidates its three seeds' mean is
    made of, each at ``threshold``."""
    spreads = {}
    for version in MEMBER_VERSIONS:
        if ensemble(version) in nets:
            seeds = [name for name, models in nets.items()
                     if len(models) == 1 and any(models[0] is m for m in nets[ensemble(version)])]
            spreads[version] = spread_percent([volumetry.volume_ml(masks[at_threshold(name, threshold)], spacing)
                                               for name in seeds])
    return spreads


def image_doubt(image, spacing) -> str | None:
    """What ``quality_report`` finds wrong with the image itself (texture like noise, a geometry no
    prostate T2 has), or None: a scan broken in conversion would otherwise only show as low scores,
    since the networks' warnings are silenced here."""
    check = quality_report(image, spacing, np.zeros(np.shape(image), bool))["image_looks_like_mr"]
    return None if check.ok else check.message


def outline_trained_on(case_name: str, labels=None, spacing=None) -> bool:
    """Whether a case's expert outline is one of the shapes the training phantoms were built on.

    Known from its voxels when they are given (``gland_shapes.expert_shape_of``: whatever the
    files are called), else from its name (MSD ``prostate_NN`` is shape ``NN``; an ISBI case's
    name is its shape id)."""
    shape_id = expert_shape_of(labels, spacing) if labels is not None else None
    if shape_id is None:
        shape_id = case_name.split("_", 1)[1] if case_name.startswith("prostate_") else case_name
    return shape_id in TRAIN_SHAPES


def measure(cases, nets, *, adapt_batchnorm=False, correct_bias=False, thresholds=(0.5,)) -> list[dict]:
    """Labelled scans: one row per (case, candidate, threshold), :func:`medseg_edu.methods.held_out.score` and the
    case's volumes."""
    rows = []
    for case in cases:
        truth_ml = volumetry.volume_ml(case.gland, case.spacing)
        ellipsoid_error = volumetry.volume_error_percent(truth_ml, volumetry.ellipsoid_volume_ml(case.gland,
                                                                                                  case.spacing))
        raws = raw_masks(case.image, case.spacing, nets, adapt_batchnorm=adapt_batchnorm, correct_bias=correct_bias,
                         thresholds=thresholds)
        masks = {name: largest_component(raw) for name, raw in raws.items()}
        spreads = {t: _seeds_spreads(masks, case.spacing, nets, t) for t in thresholds}
        outline_in_line = ends_in_line(case.gland, case.spacing)  # the check on the truth itself: its false alarms
        trained_on = outline_trained_on(case.name, case.labels, case.spacing)
        doubt = image_doubt(case.image, case.spacing)
        for candidate in nets:
            for threshold in thresholds:
                name = at_threshold(candidate, threshold)
                rows.append(dict(case=case.name, candidate=name, threshold=threshold, true_ml=truth_ml,
                                 outline_trained_on=trained_on, image_doubt=doubt,
                                 ellipsoid_error_percent=ellipsoid_error,
                                 members_spread_percent=spreads[threshold].get(version_of(candidate), float("nan")),
                                 ends_in_line=ends_in_line(masks[name], case.spacing),
                                 outline_ends_in_line=outline_in_line, **held_out.score(masks[name], case)))
        print(f"{case.name}: {truth_ml:.1f} mL, ellipsoid {ellipsoid_error:+.1f} %, seeds' volume spread "
              + ", ".join(f"version {v} {spread:.0f} %" for v, spread in spreads[thresholds[0]].items())
              + (f"; CHECK THE IMAGE: {doubt}" if doubt else ""), flush=True)
    return rows


def judge_unlabelled(scans, nets, *, adapt_batchnorm=False, correct_bias=False, thresholds=(0.5,)) -> list[dict]:
    """Unlabelled real scans: one row per (scan, candidate), :func:`medseg_edu.methods.quality.plausibility`."""
    rows = []
    for name, volume in scans:
        image = np.asarray(volume.array, np.float32)
        raws = raw_masks(image, volume.spacing, nets, adapt_batchnorm=adapt_batchnorm, correct_bias=correct_bias,
                         thresholds=thresholds)
        doubt = image_doubt(image, volume.spacing)
        for candidate, raw in raws.items():
            rows.append(dict(scan=name, candidate=candidate, image_doubt=doubt,
                             **plausibility(largest_component(raw), volume.spacing, raw_mask=raw)))
        print(f"{name}: done" + (f"; CHECK THE IMAGE: {doubt}" if doubt else ""), flush=True)
    return rows


def phantom_v1_dice(nets, cases=None, *, adapt_batchnorm=False, correct_bias=False, thresholds=(0.5,)) -> list[dict]:
    """Dice of every candidate on the phantom-v1 test split (or on ``cases``)."""
    cases = prostate_split("test") if cases is None else cases
    return [dict(case=case.name, candidate=candidate, dice=dice(largest_component(raw), case.gland))
            for case in cases
            for candidate, raw in raw_masks(case.image, case.spacing, nets, adapt_batchnorm=adapt_batchnorm,
                                            correct_bias=correct_bias, thresholds=thresholds).items()]


def verdicts(rows) -> dict:
    """Labelled rows: per candidate, its summary over the cases and whether it meets each criterion."""
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


_YES = {True: "yes", False: "**no**"}


def _verdict_table(rows, what) -> list[str]:
    cases = len({r["case"] for r in rows})
    lines = [f"Verdicts on {cases} {what} (issue 22: mean Dice >= {MIN_MEAN_DICE}, worst volume error <= "
             f"{MAX_ABS_VOLUME_ERROR_PERCENT:.0f} %, every labelled slice but the outermost 10 % found):", "",
             "| candidate | mean Dice | worst volume error | worst share of inner slices found | all three met |",
             "|---|---|---|---|---|"]
    for candidate, v in verdicts(rows).items():
        met = v["mean_dice_ok"] and v["volume_error_ok"] and v["slices_ok"]
        lines.append(f"| {candidate} | {v['dice']:.3f} ({_YES[v['mean_dice_ok']]}) | "
                     f"{v['max_abs_volume_error_percent']:.1f} % ({_YES[v['volume_error_ok']]}) | "
                     f"{v['worst_slices_found']:.2f} ({_YES[v['slices_ok']]}) | {_YES[met]} |")
    return lines


def report(rows) -> str:
    """Labelled scans: the per-case tables and the verdicts, as Markdown."""
    lines = ["| case | candidate | Dice | volume error | apex recall | base recall | inner slices found | "
             "ends in line (mask / expert outline) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['candidate']} | {r['dice']:.3f} | {r['volume_error_percent']:+.1f} % | "
                     f"{r['apex_recall']:.2f} | {r['base_recall']:.2f} | {r['slices_found']:.2f} | "
                     f"{'yes' if r['ends_in_line'] else 'no'} / {'yes' if r['outline_ends_in_line'] else 'no'} |")
    cases = list(dict.fromkeys(r["case"] for r in rows))
    first = rows[0].get("threshold", 0.5)  # the seeds' spread at the first threshold measured
    spread = {(r["case"], version_of(r["candidate"])): r["members_spread_percent"] for r in rows
              if r.get("threshold", 0.5) == first}
    versions = [v for v in MEMBER_VERSIONS if any(key[1] == v for key in spread)]
    lines += ["", "| case | true volume | ellipsoid on the expert outline | "
              + "".join(f"version {v}'s seeds' spread | " for v in versions) + "outline a training shape |",
              "|---|---|---|" + "---|" * len(versions) + "---|"]
    for name in cases:
        r = next(r for r in rows if r["case"] == name)
        lines.append(f"| {name} | {r['true_ml']:.1f} mL | {r['ellipsoid_error_percent']:+.1f} % | "
                     + "".join(f"{spread[name, v]:.0f} % | " for v in versions)
                     + f"{'yes' if r['outline_trained_on'] else 'no'} |")
    unseen = [r for r in rows if not r["outline_trained_on"]]
    lines += ["", *_verdict_table(rows, "labelled scans")]
    if unseen and len(unseen) < len(rows):
        lines += ["", *_verdict_table(unseen, "labelled scans whose outline no network trained on")]
    ellipsoid = max(abs(next(r for r in rows if r["case"] == name)["ellipsoid_error_percent"]) for name in cases)
    lines += ["", f"The ellipsoid formula on the expert outline's diameters, for comparison: worst volume error "
              f"{ellipsoid:.1f} %."]
    return "\n".join(lines)


def report_held_out(rows) -> str:
    """Held-out phantoms: one summary line per candidate (phantoms, so not a verdict on real scans)."""
    cases = {r["case"]: r for r in rows}
    lines = [f"Held-out phantoms ({len(cases)} cases; truth known, but phantoms):", "",
             "| candidate | mean Dice | median / worst abs. volume error | apex recall | base recall | slices found | "
             "masks with both ends in line |", "|---|---|---|---|---|---|---|"]
    for candidate, s in verdicts(rows).items():
        in_line = sum(r.get("ends_in_line", False) for r in rows if r["candidate"] == candidate)
        lines.append(f"| {candidate} | {s['dice']:.3f} | {s['median_abs_volume_error_percent']:.1f} / "
                     f"{s['max_abs_volume_error_percent']:.1f} % | {s['apex_recall']:.3f} | {s['base_recall']:.3f} | "
                     f"{s['slices_found']:.3f} | {in_line} of {s['cases']} |")
    true_in_line = sum(r.get("outline_ends_in_line", False) for r in cases.values())
    lines += ["", f"True glands with both ends in line: {true_in_line} of {len(cases)}."]
    return "\n".join(lines)


def report_unlabelled(rows) -> str:
    """Unlabelled scans: volume, solidity and plausibility per scan and candidate, and the verdicts."""
    names = list(dict.fromkeys(r["candidate"] for r in rows))
    scans = list(dict.fromkeys(r["scan"] for r in rows))
    cell = {(r["scan"], r["candidate"]): r for r in rows}
    lines = ["Unlabelled real scans: volume (mL) / 2D solidity / plausible", "",
             "| candidate | " + " | ".join(scans) + " |", "|---|" + "---|" * len(scans)]
    for c in names:
        lines.append(f"| {c} | " + " | ".join(
            f"{cell[scan, c]['volume_ml']:.1f} / {cell[scan, c]['solidity_2d']:.2f} / "
            f"{'yes' if cell[scan, c]['plausible'] else 'no'}" for scan in scans) + " |")
    lines += ["", f"Verdicts (issue 22: at least {MIN_PLAUSIBLE_SHARE:.0%} of the unlabelled scans plausible):", ""]
    for c in names:
        n = sum(cell[scan, c]["plausible"] for scan in scans)
        line = f"- {c}: {n} of {len(scans)} plausible ({_YES[n / len(scans) >= MIN_PLAUSIBLE_SHARE]})"
        if all("ends_in_line" in cell[scan, c] for scan in scans):  # runs stored before the check lack it
            both = sum(cell[scan, c]["plausible"] and cell[scan, c]["ends_in_line"] for scan in scans)
            line += f"; {both} of them with both ends in line as in every expert gland"
        lines.append(line)
    return "\n".join(lines)


def report_phantom_v1(rows) -> str:
    """Phantom v1: mean Dice per candidate and the verdict."""
    lines = [f"Phantom-v1 test split (issue 22: mean Dice >= {MIN_PHANTOM_V1_DICE}):", ""]
    for c in dict.fromkeys(r["candidate"] for r in rows):
        mean = float(np.mean([r["dice"] for r in rows if r["candidate"] == c]))
        lines.append(f"- {c}: {mean:.3f} ({_YES[mean >= MIN_PHANTOM_V1_DICE]})")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--msd", type=Path, help="a Task05_Prostate folder (or the folder holding it): its imagesTr")
    parser.add_argument("--pair", nargs=2, action="append", default=[], metavar=("IMAGE", "LABEL"),
                        help="a scan and its expert label map on the same grid, each a NIfTI file, a folder of "
                             "DICOM slices, or an NRRD or MetaImage file (repeatable)")
    parser.add_argument("--unlabelled", nargs="*", metavar="FOLDER",
                        help="judge the bundled real scans, plus the NIfTI, NRRD and MetaImage files in these "
                             "folders, for plausibility")
    parser.add_argument("--phantom-v1", action="store_true", help="Dice on the phantom-v1 test split")
    parser.add_argument("--held-out", action="store_true",
                        help="the labelled-scan measures on the 32 held-out phantom cases of methods.held_out")
    parser.add_argument("--adapt-batchnorm", action="store_true",
                        help="re-estimate every BatchNorm layer's statistics on each scan before segmenting it")
    parser.add_argument("--correct-bias", action="store_true",
                        help="divide out each scan's N4 bias field before segmenting it")
    parser.add_argument("--thresholds", nargs="+", type=float, default=[0.5], metavar="P",
                        help="segment at each of these gland-probability thresholds (default 0.5)")
    parser.add_argument("--json", type=Path, help="also write every row and verdict here")
    args = parser.parse_args(argv)
    if not (args.msd or args.pair or args.unlabelled is not None or args.phantom_v1 or args.held_out):
        parser.error("give something to measure: --msd ROOT, --pair IMAGE LABEL, --unlabelled [FOLDER ...], "
                     "--phantom-v1 or --held-out")
    if not all(0.0 < t < 1.0 for t in args.thresholds):
        parser.error(f"--thresholds are gland probabilities between 0 and 1, got {args.thresholds}")
    if args.json and not args.json.parent.is_dir():     # found out now, not after an hour of measuring
        parser.error(f"--json {args.json}: no folder {args.json.parent} to write it into")
    adapt = dict(adapt_batchnorm=args.adapt_batchnorm, correct_bias=args.correct_bias,
                 thresholds=tuple(args.thresholds))
    try:  # every file is read (and refused, by name) before the first network runs
        cases = [load_labelled_scan(image, label) for image, label in args.pair]
        unlabelled = None if args.unlabelled is None else real_scans(*args.unlabelled)
    except (OSError, ValueError) as err:
        parser.error(str(err))
    nets, out = candidates(), dict(adapt)
    if args.msd:
        cases += load_msd_prostate(args.msd, "train", adc=False)
    if cases:
        out["labelled"] = measure(cases, nets, **adapt)
        out["verdicts"] = verdicts(out["labelled"])
        print(report(out["labelled"]))
    if args.unlabelled is not None:
        out["unlabelled"] = judge_unlabelled(unlabelled, nets, **adapt)
        print("\n" + report_unlabelled(out["unlabelled"]))
    if args.phantom_v1:
        out["phantom_v1"] = phantom_v1_dice(nets, **adapt)
        print("\n" + report_phantom_v1(out["phantom_v1"]))
    if args.held_out:
        out["held_out"] = measure(held_out.every_held_out_case(), nets, **adapt)
        print("\n" + report_held_out(out["held_out"]))
    if args.json:
        args.json.write_text(json.dumps(out, default=float, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
