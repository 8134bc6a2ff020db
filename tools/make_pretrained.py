"""Re-create the bundled network weights in data/weights/ with domain randomisation on phantom v2.

    python tools/make_pretrained.py [--only unet fcn ...] [--steps N | --steps-scale 0.5]
    python tools/make_pretrained.py --evaluate-only      # re-measure the bundled weights
    MEDSEG_EDU_EXTRA_REAL=../shared/real_t2 python tools/make_pretrained.py --evaluate-only
                                                         # ... also on more unlabelled real scans

Every network is trained by medseg_edu.train.train_bundled from its recipe
(medseg_edu.weights.RECIPES: medseg_edu.train.fit on the domain-randomised slices
of medseg_edu.data.synth - phantom-v2 scenes around the real expert gland shapes
of data/msd_labels and data/isbi_labels, rendered as T2 and with random contrasts,
augmented on every batch - validated on held-out expert shapes in an unseen T2
style, seeded, with a fixed step budget); the settings, the seconds taken and the
validation Dice go into each weight's JSON sidecar, and from there into
data/weights/TRAINING.md. The first run renders the training bank (synth bank v3:
96 training and 16 validation scenes, about 6 minutes on 2 cores; cached). Then the networks
train two at a time, each on its share of the cores (train_side_by_side). A whole run from an empty
cache takes 42-56 minutes on 2 cores, as fast as the machine is that day
(benchmarks/make_pretrained_runs.json: 2026-12-05 bank 6, training 31, evaluation 7 min;
2026-12-06 bank 6, training 43, evaluation 6 min; again with the evaluation's held-out phantoms
rendered on both cores: bank 5.5, training 35, evaluation 4 min, 44 in all; again with the networks
trained side by side: bank 5.4, training 32, evaluation 4 min, 41.5 in all) - so issue 22's budget
of 45 is met on a fast or normal day only.
Then the methods are evaluated in 3D with medseg_edu.showdown (Dice, volume
error) on the phantom-v1 test split and 10 extra v1 phantoms, on the 32 phantom-v2
cases of methods.held_out (held-out shapes in unseen styles; v1's stored rows beside
v2's), and for plausibility on the real T2 scans (no labels), and the patch CNN's
sliding-window inference is timed against the FCN; the results go into TRAINING.md too.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import shutil
import time
import warnings
from pathlib import Path

import torch

from medseg_edu import weights
from medseg_edu.train import train_bundled
from medseg_edu.data import GRID, PIXEL_MM

OUT = weights.weights_dir()
#: The weights in use before this run (``$MEDSEG_EDU_WEIGHTS`` or data/weights): where version 1 comes from.
SOURCE = OUT
#: The commit whose synth bank (v2) the bundled weights were trained on; today's bank (v3) makes other weights.
BUNDLED_FROM = "fe68f53"


#: Seconds each network's recipe took on one torch thread, two side by side on 2 cores (2026-12-06):
#: the longest starts first.
TRAINING_COST = {"unet": 1753, "dilated": 1533, "fcn": 396, "patch_cnn": 146}

EVALUATION = "## 3D evaluation of the bundled weights"
#: Written by tools/compare_inputs.py as the file's last section; kept here as it is.
CHOICE = "## The choice of input: 2D, 2.5D or 3D"


def write_record(evaluation: str | None = None) -> None:
    """(Re)write data/weights/TRAINING.md; keep the evaluation section unless a new one is given."""
    rows = []
    for name in weights.NAMES:
        path, sidecar = weights.files(name, OUT)
        if sidecar.exists():
            m = weights.metadata(name, OUT)
            size_kb = path.stat().st_size / 1024
            args = ", ".join(f"{k}={v}" for k, v in m.get("recipe", m["kwargs"]).items())
            rows.append(f"| {name} | {m['architecture']}({args}) | {m['parameters']:,} | {size_kb:.0f} KB "
                        f"| {m['steps']} x {m['batch_size']} | {m['lr']} | {m['augmentation']} "
                        f"| {m['seconds']:.0f} s | {m.get('machine', '')} | {m['val_dice']:.3f} | {m['date']} |")
    path = OUT / "TRAINING.md"
    old = path.read_text() if path.exists() else ""
    choice = old.split(CHOICE, 1)[1] if CHOICE in old else None
    if evaluation is None and EVALUATION in old:
        evaluation = old.split(CHOICE, 1)[0].split(EVALUATION, 1)[1]
    path.write_text(
        "# Bundled weights: how they were trained\n\n"
        "Made by `make pretrained` (`tools/make_pretrained.py`) with `medseg_edu.train.fit` "
        "(Adam, loss `dice_ce_loss`, seed 0, a fixed step budget; the weights with the best "
        "validation Dice are kept) on the domain-randomised training bank of `medseg_edu.data.synth`: "
        "64 phantom-v2 scenes built on 26 of the 32 real MSD expert gland shapes, each rendered once "
        "as a T2 scan and twice with random contrasts (SynthSeg-style Gaussian mixtures with "
        "intensity sub-classes, random blur, bias, gamma, noise), normalised and resampled exactly "
        "like a real scan, and augmented on every batch (`randomise_batch`: flips, rotation, "
        "scaling, elastic deformation, field-of-view shift, gamma, bias, blur, noise, rare "
        "inversion). Validation: 12 scenes on the 6 held-out shapes in a noisier, more biased T2 "
        "style than any training image. The segmentation networks learn from 2D axial slices on "
        f"the {PIXEL_MM:g} mm, {GRID} x {GRID} network grid; the patch CNN from 60,000 33 x 33 patches "
        "of the same bank (`PatchDataset`: half centred on gland pixels, a quarter on the background near "
        "the border). The v1 weights (phantom v1 only, flips) are kept in `v1/` with their own "
        "TRAINING.md. CPU, torch " + torch.__version__ + ". *val Dice* is the gland Dice pooled "
        "over all val slices; for the patch CNN it is the Dice of the centre-pixel "
        "predictions on 6,000 val patches, which over-represent the border - not comparable "
        "with the others. Times depend on the machine and on what else runs on it (the "
        "load average at the end of each training is recorded).\n\n"
        "| name | architecture | parameters | file | steps x batch | lr | augmentation | time "
        "| machine | val Dice | date |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
        + (f"\n{EVALUATION}{evaluation}" if evaluation else "")
        + (f"\n{CHOICE}{choice}" if choice else ""))


def evaluate(names=("unet", "dilated", "fcn"), extra=10) -> str:
    """3D Dice and volume error of the methods on the test split + MSD-like phantoms; timings."""
    import numpy as np

    from medseg_edu import showdown
    from medseg_edu.data import (msd_like_spacing, msd_like_volume_ml, normalise, prostate_phantom,
                                 prostate_split, to_grid)
    from medseg_edu.methods import deep
    from medseg_edu.metrics import dice

    cases = list(prostate_split("test"))
    rng = np.random.default_rng(50000)
    cases += [prostate_phantom(50000 + i, volume_ml=msd_like_volume_ml(rng), spacing=msd_like_spacing(rng))
              for i in range(extra)]
    n_regular = len(cases)
    # the extremes of the MSD range (16-315 mL), on each MSD spacing
    extremes = [(16, (0.625, 0.625, 3.6)), (18, (0.6, 0.6, 4.0)), (200, (0.6, 0.6, 4.0)),
                (250, (0.75, 0.75, 4.0)), (315, (0.75, 0.75, 3.0)), (315, (0.604, 0.604, 4.0))]
    cases += [prostate_phantom(60100 + i, volume_ml=v, spacing=s) for i, (v, s) in enumerate(extremes)]
    volumes = [c.gland_volume_ml for c in cases]
    lines = [f"\n\nWhole-gland 3D Dice and volume error (`volume_ml` of the mask vs. the phantom's true "
             f"volume) of `medseg_edu.methods.<name>.segment` with the bundled weights (default "
             f"settings: threshold 0.5, largest connected component) on the 20 test-split phantoms "
             f"plus {extra} extra phantoms (seeds 50000-{50000 + extra - 1}, volumes drawn with "
             f"`msd_like_volume_ml`, spacings with `msd_like_spacing`) - the first columns - and "
             f"{len(extremes)} phantoms at the extremes of the MSD volume range (seeds 60100-"
             f"{60100 + len(extremes) - 1}: {', '.join(str(v) for v, _ in extremes)} mL) - the "
             f"last columns. In all {len(cases)} cases, "
             f"{min(volumes):.0f}-{max(volumes):.0f} mL, spacings "
             f"{', '.join(sorted({' x '.join(f'{v:g}' for v in c.spacing) for c in cases}))} mm.\n",
             "| method | mean Dice (test / extra) | min Dice | median abs. volume error | mean signed "
             "volume error | max abs. volume error | extremes: mean Dice | extremes: volume errors "
             "| seconds per case |",
             "|---|---|---|---|---|---|---|---|---|"]
    rows = showdown.run(cases, names, ellipsoid=False, log=print)  # each method's segment() with defaults
    for name in names:
        own = [r for r in rows if r["method"] == name]
        seconds = np.mean([r["seconds"] for r in own])
        d, e = [r["dice"] for r in own], [r["volume_error_percent"] for r in own]
        (d, dx), (e, ex) = [(np.array(v[:n_regular]), np.array(v[n_regular:])) for v in (d, e)]
        lines.append(f"| {name} | {d.mean():.3f} ({d[:20].mean():.3f} / {d[20:].mean():.3f}) | {d.min():.3f} "
                     f"| {np.median(np.abs(e)):.1f} % | {e.mean():+.1f} % | {np.abs(e).max():.1f} % "
                     f"| {dx.mean():.3f} | {', '.join(f'{x:+.1f}' for x in ex)} % | {seconds:.1f} |")
        print(lines[-1], flush=True)
    # the patch CNN classifies every pixel from its own patch: time it against the FCN
    case = cases[0]
    slices = to_grid(normalise(case.image), case.spacing)
    k = len(slices) // 2
    few = slices[k - 1:k + 2]
    patch, fcn = weights.load("patch_cnn"), weights.load("fcn")
    t_patch, t_fcn = [], []
    for _ in range(2):
        start = time.perf_counter()
        probs = deep.patch_probabilities(patch, few)
        t_patch.append(time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(10):
            deep.predict_proba(fcn, few)
        t_fcn.append((time.perf_counter() - start) / 10)
    truth = to_grid(case.gland.astype(np.uint8), case.spacing, order=0)[k - 1:k + 2].astype(bool)
    lines.append(f"\nPatch CNN vs. FCN on the same 3 grid slices of test case 0 ({torch.get_num_threads()} torch "
                 f"threads, load average {os.getloadavg()[0]:.1f}): sliding-window patch CNN "
                 f"{min(t_patch) / 3:.2f} s per slice (9,216 patches), FCN {1000 * min(t_fcn) / 3:.1f} ms per "
                 f"slice: {min(t_patch) / min(t_fcn):.0f}x slower. Patch CNN gland Dice on these slices "
                 f"{dice(probs >= 0.5, truth):.3f}.\n")
    print(lines[-1], flush=True)
    lines += held_out_v2(names)
    lines += real_scan_section(names)
    return "\n".join(lines)


def reference_weights_beside(out: Path, source: Path) -> Path | None:
    """Copy the version-1 weights (phantom v1 only, never retrained here) from ``source`` into ``out``.

    The evaluation sets what was just trained beside them (the "before" of domain randomisation)
    and loads both from ``out``; without this a run with ``--out`` into a new folder trained for
    40 minutes and then stopped at the first table that needs version 1. Returns the copy, or None
    when ``out`` has them already.
    """
    target = out / weights.V1
    if target.exists() or not (source / weights.V1).is_dir():
        return None
    shutil.copytree(source / weights.V1, target)
    return target


def held_out_v2(names) -> list[str]:
    """v1 weights against this run's on ``methods.held_out``'s 32 cases (held-out shapes, unseen styles)."""
    from medseg_edu.methods import held_out

    cases = held_out.every_held_out_case()
    summaries = {}
    for name in names:
        # v1 is never retrained: its rows are the stored ones (compare_inputs --score-versions), same cases
        summaries[name, "v1"] = held_out.summarise(held_out.stored_scores(name)[1]["rows"])
        segment, model = importlib.import_module(f"medseg_edu.methods.{name}").segment, weights.load(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the quality warnings are not what is measured here
            rows = [held_out.score(segment(c.image, c.spacing, model=model), c) for c in cases]
        summaries[name, "v2"] = held_out.summarise(rows)
        print(held_out_lines({(name, "v2"): summaries[name, "v2"]})[-1], flush=True)
    return held_out_lines(summaries)


def held_out_lines(summaries) -> list[str]:
    """The TRAINING.md section of :func:`held_out_v2`, from ``{(network, "v1" or "v2"): held_out.summarise(rows)}``."""
    from medseg_edu.data.gland_shapes import HELD_OUT_SHAPES
    from medseg_edu.methods import held_out

    lines = [f"\n\n### Phantom v2 on held-out expert shapes ({', '.join(HELD_OUT_SHAPES)})\n\n"
             f"The {2 * len(HELD_OUT_SHAPES)} cases of `methods.held_out.every_held_out_case()`: one phantom-v2 case "
             f"per held-out expert shape in each of the two T2 styles no network trained on "
             f"({' and '.join(held_out.HELD_OUT_STYLES)}), at the shape's own volume, random spacing and field of "
             "view, endorectal coil in some; each network's `segment` with its defaults. v1 weights (phantom v1 only; "
             "never retrained, so their rows are the stored ones of `benchmarks/held_out_<name>.json`) against "
             "the v2 weights evaluated here (domain randomisation). Phantoms, so not what happens on real scans.\n",
             "| method | weights | mean Dice | median abs. volume error | max abs. volume error | apex recall "
             "| base recall | slices found |",
             "|---|---|---|---|---|---|---|---|"]
    for (name, version), s in summaries.items():
        lines.append(f"| {name} | {version} | {s['dice']:.3f} | {s['median_abs_volume_error_percent']:.1f} % | "
                     f"{s['max_abs_volume_error_percent']:.1f} % | {s['apex_recall']:.3f} | {s['base_recall']:.3f} | "
                     f"{s['slices_found']:.3f} |")
    return lines


def real_scan_section(names) -> list[str]:
    """Plausibility of each network's mask on real T2 scans (no labels: no Dice can be given)."""
    import warnings

    import numpy as np

    from medseg_edu.data import real_scans
    from medseg_edu.methods import get
    from medseg_edu.methods.quality import quality_report
    from medseg_edu.volumetry import volume_ml

    extra = os.environ.get("MEDSEG_EDU_EXTRA_REAL")  # e.g. a folder of more unlabelled real T2 NIfTI files
    scans = real_scans(*([extra] if extra else []))
    lines = [f"\n\n### Real T2 scans (no expert labels)\n\n{len(scans)} real axial T2 scans (TCIA "
             "Prostate-3T / PROSTATEx; the first three are bundled in data/real/). Without an expert label no "
             "Dice exists; what can be checked is plausibility: pieces of the raw mask (share outside the "
             "largest), the main piece's volume, its 3D solidity, its distance from the left-right midline of "
             "the field of view, and the quality warnings.\n",
             "| scan | method | weights | pieces (raw mask) | volume | solidity | midline offset | warnings |",
             "|---|---|---|---|---|---|---|---|"]
    for scan_name, vol in scans:
        image, spacing = np.asarray(vol.array, np.float32), vol.spacing
        for name in names:
            for version in (1, 2):
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    mask, report = get(name).segment(image, spacing, model=weights.load(name, version=version),
                                                     return_report=True)
                raw = report["pieces"] if "pieces" in report else None
                centre = np.argwhere(mask).mean(0) if mask.any() else np.full(3, np.nan)
                offset = abs(centre[0] - (image.shape[0] - 1) / 2) * spacing[0]
                solidity = report["compactness"].value if "compactness" in report else float("nan")
                problems = "; ".join(c.name for c in report.problems) or "none"
                lines.append(f"| {scan_name} | {name} | v{version} | {raw.message if raw else '-'} "
                             f"| {volume_ml(mask, spacing):.1f} mL "
                             f"| {solidity:.2f} | {offset:.1f} mm | {problems} |")
                print(lines[-1], flush=True)
    return lines


def _train_in_worker(job) -> dict:
    """Worker of :func:`train_side_by_side`: one network, on its share of the cores."""
    name, steps, steps_scale, out, threads = job
    torch.set_num_threads(threads)
    print(f"{time.strftime('%H:%M:%S')} {name}: training started ({threads} torch thread"
          f"{'s' if threads > 1 else ''})", flush=True)
    meta = train_bundled(name, steps=steps, steps_scale=steps_scale, out=out, progress=False)
    print(f"{time.strftime('%H:%M:%S')} {name}: val Dice {meta['val_dice']:.3f} after {meta['steps']} steps "
          f"in {meta['seconds']:.0f} s", flush=True)
    return meta


def side_by_side_plan(n_networks: int, cores: int, on_cpu: bool = True) -> tuple[int, int]:
    """``(networks trained at once, torch threads each)`` for :func:`train_side_by_side`.

    Two at a time on the CPU, the cores shared between them; one at a time on a GPU, which is the
    bottleneck there (its training keeps the usual threads).
    """
    if not on_cpu:
        return 1, torch.get_num_threads()
    workers = max(1, min(2, cores, n_networks))
    return workers, max(1, cores // workers)


def train_side_by_side(names, *, steps=None, steps_scale=1.0, out=OUT, start="spawn") -> list[dict]:
    """Train ``names``, longest first, two at a time on the CPU, each on its share of the cores.

    A network trains only 1.6-1.9x faster on two threads than on one (2 cores, 2026-12-06), so two
    networks side by side, one thread each, finish sooner than one after the other on two threads:
    32 min of training against 35 in the whole runs of ``benchmarks/make_pretrained_runs.json``.
    The training bank is rendered (or read from the cache) first, here, so the workers only read it.
    ``start`` is how the worker processes start: "spawn" (fresh interpreters: a forked child would
    inherit the parent's OpenMP state), or "fork" (the workers see the parent's module state, as a
    test needs). The weights are those of the same training alone on as many threads.
    Returns the sidecars, in the order trained.
    """
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from medseg_edu import device
    from medseg_edu.data.parallel import usable_cores
    from medseg_edu.data.synth import synthetic_slices

    for bank in ("train", "val"):
        synthetic_slices(bank)
    names = sorted(names, key=lambda n: -TRAINING_COST[n])
    workers, threads = side_by_side_plan(len(names), usable_cores(), device(verbose=False).type == "cpu")
    jobs = [(name, steps, steps_scale, out, threads) for name in names]
    print(f"Training {', '.join(names)}: {workers} at a time.", flush=True)
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context(start)) as pool:
        return list(pool.map(_train_in_worker, jobs))


def main() -> None:
    global OUT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=weights.NAMES, help="train only these")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="step budget for every network trained (a quick test)")
    budget.add_argument("--steps-scale", type=float, default=1.0, help="scale every recipe's step budget")
    parser.add_argument("--out", type=Path, default=OUT,
                        help="folder for the weights (default $MEDSEG_EDU_WEIGHTS or data/weights; use "
                             "another one for a quick --steps test, so the bundled weights stay)")
    parser.add_argument("--evaluate-only", action="store_true",
                        help="do not train: re-measure the bundled weights and update TRAINING.md")
    parser.add_argument("--no-evaluate", action="store_true", help="train only, skip the 3D evaluation")
    args = parser.parse_args()
    if args.steps is not None and args.steps < 1:
        parser.error("--steps must be a positive number of optimisation steps")
    if not (math.isfinite(args.steps_scale) and args.steps_scale > 0):   # else fit() refuses it after the bank
        parser.error(f"--steps-scale must be a positive number (1 = the recipes' budgets), got {args.steps_scale}")
    OUT = args.out.resolve()
    try:
        OUT.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        parser.error(f"cannot write the weights into --out {OUT}: {err.strerror}")
    os.environ["MEDSEG_EDU_WEIGHTS"] = str(OUT)  # the evaluation loads what was just trained
    if not args.evaluate_only:
        print(f"Note: the bundled weights were trained on the synth bank v2 (commit {BUNDLED_FROM}); this run trains "
              "on today's bank v3, whose U-Net scores higher on held-out phantoms but marks less of the gland on the "
              f"real scans (data/weights/TRAINING.md). Writing into {OUT}; to keep the bundled weights, pass --out "
              "another folder, or check out that commit to re-create them.", flush=True)
        train_side_by_side(args.only or weights.NAMES, steps=args.steps, steps_scale=args.steps_scale, out=OUT)
        write_record()
    if args.evaluate_only or not args.no_evaluate:
        copied = reference_weights_beside(OUT, SOURCE)
        if copied:
            print(f"Copied the version-1 weights (the evaluation's 'before') from {SOURCE / weights.V1} to {copied}")
        write_record(evaluate())


if __name__ == "__main__":
    main()
