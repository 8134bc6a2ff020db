"""How the networks do where they have never looked: held-out real gland shapes in unseen styles.

No expert-labelled real scan is bundled, so the networks are measured on the
next best thing: phantom-v2 cases (:func:`medseg_edu.data.pelvis.prostate_phantom_v2`)
built on the real expert gland shapes that no bundled network was trained on
(:data:`~medseg_edu.data.gland_shapes.HELD_OUT_SHAPES`: 6 MSD, 5 ISBI 3 T and
5 ISBI 1.5 T endorectal-coil glands, each at its own expert volume), rendered
in T2 styles that no training image had (:data:`HELD_OUT_STYLES`). Besides
Dice and volume error, :func:`end_recall` measures what failed on real scans:
the ends of the gland (apex and base), and :func:`slices_found` whether every
labelled slice but the outermost ones gets a prediction.

What this can show: whether a network has learnt the real shapes - apex and
base included - and copes with unseen contrasts and noise. What it cannot:
how real scans look (the anatomy around the gland and its texture are still
drawn by the phantom), so these numbers are never what happens on real scans.
"""

from __future__ import annotations

import json

import numpy as np

from .._bundled import bundled
from ..data.gland_shapes import HELD_OUT_SHAPES, shape_volume_ml
from ..data.parallel import on_every_core
from ..data.pelvis import prostate_phantom_v2
from ..metrics import dice
from ..volumetry import volume_ml

__all__ = ["HELD_OUT_STYLES", "held_out_cases", "every_held_out_case", "end_recall", "slices_found", "score",
           "summarise", "stored_scores", "stored_member_volumes"]

#: T2 renderings of :data:`medseg_edu.data.pelvis.STYLES` no network was trained on.
HELD_OUT_STYLES = ("noisy", "low_contrast")
#: Share of the gland's cranio-caudal extent at each end that counts as apex or base.
END_SHARE = 0.2


def held_out_cases(*, first_seed=70000, styles=HELD_OUT_STYLES, shapes=HELD_OUT_SHAPES):
    """One phantom-v2 case per held-out expert shape, at the shape's own volume, in an unseen style.

    Case ``i`` uses ``shapes[i]``, seed ``first_seed + i`` (random pixel size 0.5-0.75 mm,
    slices 3-4.5 mm, field of view, pose, endorectal coil in some) and style
    ``styles[i % len(styles)]``. Rendered on every core (each case is seeded on its own, so
    the cases are those of a plain loop).

    Returns
    -------
    list of Case
        ``meta["shape_id"]`` and ``meta["style"]`` say what each is.
    """
    jobs = [(first_seed + i, shape, styles[i % len(styles)]) for i, shape in enumerate(shapes)]
    return on_every_core(_held_out_case, jobs, desc="rendering held-out cases")


def _held_out_case(job):
    seed, shape, style = job
    return prostate_phantom_v2(seed, shape_id=shape, held_out=True, spacing=None,
                               volume_ml=round(shape_volume_ml(shape), 1), style=style)


def every_held_out_case(shapes=HELD_OUT_SHAPES):
    """The 32 cases the stored scores are measured on: each held-out shape once in each unseen style.

    :func:`held_out_cases` twice - seeds 70000-70015 in the styles' order, then seeds
    71000-71015 in the reverse order - so every shape is seen noisy and low-contrast.
    ``shapes`` (default all 16) takes the first of them only, with the same seeds.
    """
    return held_out_cases(shapes=shapes) + held_out_cases(first_seed=71000, styles=HELD_OUT_STYLES[::-1],
                                                          shapes=shapes)


def _end_zones(truth, share):
    present = np.flatnonzero(truth.any(axis=(0, 1)))
    reach = max(1, int(round(share * len(present))))
    return present, present[:reach], present[-reach:]


def end_recall(mask, truth, *, share=END_SHARE):
    """Mean per-slice recall of ``mask`` on the labelled slices at the apex and at the base.

    The end zones are the first and the last ``share`` of the labelled slices (at least one
    each; axis 2 runs from the feet up, so the first are the apex). On each of their slices
    the recall is the share of the true gland pixels the mask covers (0 for a slice without
    prediction); the slices' recalls are averaged.

    Parameters
    ----------
    mask, truth : np.ndarray of bool, (x, y, z)

    Returns
    -------
    (float, float)
        Apex and base recall, 0-1 (NaN for an empty ``truth``).
    """
    mask, truth = np.asarray(mask, bool), np.asarray(truth, bool)
    if not truth.any():
        return float("nan"), float("nan")
    _, apex, base = _end_zones(truth, share)

    def recall(zone):
        return float(np.mean([np.count_nonzero(mask[:, :, k] & truth[:, :, k]) / np.count_nonzero(truth[:, :, k])
                              for k in zone]))

    return recall(apex), recall(base)


def slices_found(mask, truth, *, skip_share=0.1):
    """Share of the labelled slices - all but the outermost ``skip_share`` at each end - where the mask has
    at least one voxel (1.0: none missed). NaN for an empty ``truth``."""
    mask, truth = np.asarray(mask, bool), np.asarray(truth, bool)
    present = np.flatnonzero(truth.any(axis=(0, 1)))
    if not len(present):
        return float("nan")
    skip = int(np.floor(skip_share * len(present)))
    inner = present[skip:len(present) - skip]
    return float(np.mean(mask[:, :, inner].any(axis=(0, 1))))


def score(mask, case) -> dict:
    """Dice, volume error, apex and base recall and the share of slices found of one mask on one case.

    Returns
    -------
    dict
        ``dice``, ``volume_error_percent`` (signed, against the true gland volume),
        ``apex_recall``, ``base_recall``, ``slices_found`` and the case's ``shape_id``,
        ``style`` and slice spacing ``slice_mm``.
    """
    truth = case.gland
    true_ml = volume_ml(truth, case.spacing)
    apex, base = end_recall(mask, truth)
    meta = getattr(case, "meta", None) or {}
    return dict(dice=dice(mask, truth), volume_error_percent=100.0 * (volume_ml(mask, case.spacing) / true_ml - 1.0),
                apex_recall=apex, base_recall=base, slices_found=slices_found(mask, truth),
                shape_id=meta.get("shape_id"), style=meta.get("style"), slice_mm=float(case.spacing[2]))


def summarise(rows) -> dict:
    """One line of numbers from :func:`score` rows: what a table of networks shows.

    Returns
    -------
    dict
        ``cases``; the means of ``dice``, ``apex_recall``, ``base_recall`` and ``slices_found``;
        ``median_abs_volume_error_percent`` and ``max_abs_volume_error_percent`` (%).
    """
    errors = np.abs([r["volume_error_percent"] for r in rows])
    return dict(cases=len(rows), **{key: float(np.mean([r[key] for r in rows]))
                                    for key in ("dice", "apex_recall", "base_recall", "slices_found")},
                median_abs_volume_error_percent=float(np.median(errors)),
                max_abs_volume_error_percent=float(np.max(errors)))


def stored_scores(name="unet") -> dict:
    """The scores of every weight version of a bundled network on the held-out cases, as measured and stored.

    Scoring 32 held-out phantoms takes minutes, so ``tools/compare_inputs.py --score-versions``
    measures them once (:func:`held_out_cases` in both unseen styles, each network's mask
    from ``methods.deep`` with its default settings) and stores them in
    ``benchmarks/held_out_<name>.json``; ``tests/methods/test_held_out.py`` re-scores a case.

    Returns
    -------
    dict
        weight version (int, see :data:`medseg_edu.weights.VERSIONS`) -> ``{"rows": [score rows],
        "v1_test_dice": [Dice per phantom-v1 test case], "measured": date}``.
    """
    path = bundled("benchmarks", f"held_out_{name}.json")
    if not path.is_file():
        raise FileNotFoundError(f"no stored held-out scores for {name!r} at {path}: run "
                                "`python tools/compare_inputs.py --score-versions`")
    return {int(version): entry for version, entry in json.loads(path.read_text()).items()}


def stored_member_volumes() -> dict:
    """The volumes the U-Nets of weight version 4 (one recipe, three seeds) give the held-out cases, as stored.

    Measured once by ``python tools/compare_inputs.py --score-members``
    (:func:`medseg_edu.methods.interval.member_volumes` on :func:`held_out_cases` in both unseen
    styles) into ``benchmarks/held_out_members.json``; ``tests/methods/test_held_out.py`` re-measures
    a case.

    Returns
    -------
    dict
        ``version``, ``seeds`` (of the members, in their order), ``measured`` (date) and ``rows``: one
        dict per case with ``case``, ``true_ml``, ``members_ml`` (one volume per member, mL),
        ``ensemble_ml`` (the mask of their mean probability, mL) and ``spread_percent``.
    """
    path = bundled("benchmarks", "held_out_members.json")
    if not path.is_file():
        raise FileNotFoundError(f"no stored member volumes at {path}: run "
                                "`python tools/compare_inputs.py --score-members`")
    return json.loads(path.read_text())
