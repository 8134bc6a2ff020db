"""Is this segmentation plausible? Checks that catch a silently wrong mask.

A network always answers: given pure noise, a brain or a scan it has never
seen, it still returns a mask, and nothing in the mask says that it is
wrong. :func:`quality_report` measures what a plausible whole-gland mask of a
prostate T2 scan looks like - one compact piece of 10-400 mL, inside the
scan, found with confidence and found again when the input is flipped - and
what a plausible input looks like (MR texture, a pelvic field of view, pixels
and slices the networks were trained on). :func:`warn_if_doubtful` turns the
failed checks into one warning. The deep methods run both on every result
(``medseg_edu.methods.deep.segment_with(..., quality="warn")``).

The checks are cheap (well under a second for a 320 x 320 x 20 scan) and use
no network: they can judge the mask of any method, or a mask drawn by hand.
Passing them does not make a mask right - a plausible gland in the wrong
place passes - so a passed report means "no obvious failure", never "correct".
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.spatial import ConvexHull
from skimage.measure import label

from .._checks import as_mask, as_volume, same_shape
from ..agreement import spread_percent
from ..data import GRID, PIXEL_MM, normalise
from ..masks import largest_component
from ..metrics import dice
from ..volumetry import volume_ml
from .held_out import END_SHARE

__all__ = ["Check", "QualityReport", "quality_report", "doubt_message", "warn_if_doubtful", "warn_if_unlike_a_scan",
           "plausibility", "expert_extents", "end_offsets_mm", "expert_end_offsets", "ends_in_line", "PLAUSIBLE"]

#: Whole-gland volume (mL) a real prostate has: MSD Task05 spans 16-315 mL.
VOLUME_LIMITS_ML = (10.0, 400.0)
#: Largest share (%) of the thresholded mask allowed outside its largest 3D piece.
MAX_OUTSIDE_LARGEST_PERCENT = 10.0
#: Smallest 3D solidity (volume / convex-hull volume) of the main piece.
MIN_SOLIDITY = 0.7
#: Smallest Dice between the mask and each test-time-augmented prediction.
MIN_TTA_DICE = 0.8
#: Largest spread (range / mean, %) of the volumes of networks trained alike (seeds of one recipe):
#: weight version 4's three seeds spread 0.2-22 % on 32 held-out-shape phantoms, 13-97 % on six real scans.
MAX_MEMBER_SPREAD_PERCENT = 25.0
#: A gland voxel is "confident" from this probability on ...
CONFIDENT_P = 0.9
#: ... and at least this share of the gland's voxels must be.
MIN_CONFIDENT_SHARE = 0.5
#: Smallest in-plane lag-1 autocorrelation of the normalised image (noise ~0, MR > 0.95).
MIN_AUTOCORRELATION = 0.5
#: In-plane field of view (mm) of a pelvic scan.
FOV_LIMITS_MM = (100.0, 500.0)
#: Coarsest in-plane pixel (mm): the network grid is 1.25 mm, training scans 0.6-0.75 mm.
MAX_PIXEL_MM = 1.5
#: Slice thickness (mm) the networks can handle (trained on 3-4 mm).
SLICE_LIMITS_MM = (0.4, 8.0)
#: On the slice beyond each end of the mask, a gland probability from this value on ...
END_P = 0.3
#: ... over at least this area (mm2, inside the end slice's outline) says the gland may go on there.
END_MIN_MM2 = 100.0
#: A scan covering less than this (mm, cranio-caudally) cannot hold a whole gland:
#: it is taken for an excerpt (a slab), and the whole-gland limits do not apply.
MIN_WHOLE_GLAND_COVERAGE_MM = 25.0


@dataclass(frozen=True)
class Check:
    """One plausibility check of a segmentation.

    Attributes
    ----------
    name : str
        e.g. ``"volume_ml"``; the names are listed in :func:`quality_report`.
    value : float
        What was measured (NaN when it cannot be measured).
    limit : str
        The limit it is held to, in words, e.g. ``"10-400 mL"``.
    ok : bool
        Whether the value is within the limit.
    message : str
        One phrase naming the measured value and the limit, e.g.
        ``"volume 0.8 mL (limits 10-400 mL)"``; :func:`warn_if_doubtful` joins
        the messages of the failed checks.
    unit : str
        Unit of ``value`` (``"mL"``, ``"%"``, ``""``).
    """

    name: str
    value: float
    limit: str
    ok: bool
    message: str
    unit: str = ""

    def __post_init__(self):  # plain Python numbers, whatever numpy handed in
        object.__setattr__(self, "value", float(self.value))
        object.__setattr__(self, "ok", bool(self.ok))

    def line(self) -> str:
        """One row of the report's table: name, value with unit, limit, ``ok`` or ``WARN`` (and why)."""
        shown = "-" if not np.isfinite(self.value) else f"{self.value:.3g}"
        shown = f"{shown} {self.unit}".strip()
        status = "ok" if self.ok else f"WARN  {self.message}"
        return f"{self.name:<20} {shown:>10}   {self.limit:<34} {status}"


@dataclass(frozen=True)
class QualityReport:
    """The checks of one segmentation (see :func:`quality_report`).

    Attributes
    ----------
    checks : tuple of Check
        In a fixed order; checks that do not apply (no probability or
        augmented masks given, an empty mask) are left out.
    """

    checks: tuple

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(c.ok for c in self.checks)

    @property
    def problems(self) -> tuple:
        """The failed checks."""
        return tuple(c for c in self.checks if not c.ok)

    def __getitem__(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no check named {name!r}; this report has {[c.name for c in self.checks]}")

    def __contains__(self, name) -> bool:
        return any(c.name == name for c in self.checks)

    def __str__(self) -> str:
        verdict = "all checks passed" if self.ok else f"{len(self.problems)} of {len(self.checks)} checks failed"
        return "\n".join([f"segmentation quality: {verdict}", *(c.line() for c in self.checks)])


# --------------------------------------------------------------------------- measures


def _autocorrelation(image) -> float:
    """Lag-1 autocorrelation of the normalised image along both in-plane axes (mean of the two).

    ``sum((a_i - m)(a_i+1 - m)) / sum((a_i - m)^2)`` with ``m`` the image mean: about 0
    for white noise, close to 1 for a smooth image; NaN for a constant image.
    """
    x = normalise(image)
    x = (x - x.mean()).astype(np.float32)
    variance = float(np.mean(np.square(x), dtype=np.float64))
    if variance <= 0:
        return float("nan")
    lag_x = float(np.mean(x[1:] * x[:-1], dtype=np.float64))
    lag_y = float(np.mean(x[:, 1:] * x[:, :-1], dtype=np.float64))
    return (lag_x + lag_y) / 2.0 / variance


def _solidity(mask, spacing) -> float:
    """Voxel volume of ``mask`` over the volume of the convex hull of its voxels (as cubes), 0-1.

    The hull of the voxel cubes is the hull of the corners of the first and last
    voxel of every row along x, so only those (at most 8 per row) go to Qhull.
    """
    nx = mask.shape[0]
    rows = mask.any(axis=0)
    ys, zs = np.nonzero(rows)
    first = np.argmax(mask, axis=0)[ys, zs]
    last = nx - np.argmax(mask[::-1], axis=0)[ys, zs]   # one past the last voxel
    corners = [np.stack([x, ys + dy, zs + dz], axis=1)
               for x in (first, last) for dy in (0, 1) for dz in (0, 1)]
    points = np.concatenate(corners).astype(np.float64) * np.asarray(spacing)
    hull_mm3 = ConvexHull(points).volume
    return float(np.count_nonzero(mask) * np.prod(spacing) / hull_mm3)


def _network_reach_mm(n, spacing):
    """Half-width (mm, from the scan's centre) up to which a voxel lies inside the network's field of view
    by more than one network pixel; ``inf`` along an axis the network sees whole."""
    if n * spacing <= GRID * PIXEL_MM:
        return float("inf")
    return (GRID - 1) / 2.0 * PIXEL_MM - PIXEL_MM


def _edges_touched(mask, spacing):
    """Where the mask meets the scan's (or the network's) in-plane field of view, as phrases."""
    touched = []
    for axis, (side_a, side_b) in enumerate((("right", "left"), ("anterior", "posterior"))):
        n, s = mask.shape[axis], spacing[axis]
        present = np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != axis)))
        if present[0] == 0 or present[-1] == n - 1:
            touched.append(f"the scan's {'left-right' if axis == 0 else 'antero-posterior'} border")
            continue
        reach = _network_reach_mm(n, s)
        centre_mm = (np.array([present[0], present[-1]]) - (n - 1) / 2.0) * s
        if np.max(np.abs(centre_mm)) >= reach:
            touched.append(f"the edge of the network's {GRID * PIXEL_MM:g} mm field of view "
                           f"({'left-right' if axis == 0 else 'antero-posterior'})")
    return touched


def _open_ends(mask, probability, spacing):
    """Where the gland may go on beyond the mask's first or last slice, as phrases.

    An end is open when the mask has a voxel on the scan's first (or last) slice, or when,
    on the slice just beyond the mask's end, inside the end slice's outline, an area of at
    least :data:`END_MIN_MM2` still has gland probability >= :data:`END_P`.
    """
    pixel_mm2 = spacing[0] * spacing[1]
    present = np.flatnonzero(mask.any(axis=(0, 1)))
    n = mask.shape[2]
    problems = []
    for end, beyond, scan_edge, name, side in ((present[0], present[0] - 1, 0, "caudal (apex)", "below"),
                                               (present[-1], present[-1] + 1, n - 1, "cranial (base)", "above")):
        if end == scan_edge:
            problems.append(f"the {name} end is on the scan's {'first' if scan_edge == 0 else 'last'} slice "
                            f"(the gland may go on {side} it)")
        elif probability is not None:
            outline = mask[:, :, end]
            area = np.count_nonzero(probability[:, :, beyond][outline] >= END_P) * pixel_mm2
            if area >= END_MIN_MM2:
                problems.append(f"gland probability >= {END_P:g} on {area:.0f} mm\N{SUPERSCRIPT TWO} one slice {side} "
                                f"the mask's {name} end (limit {END_MIN_MM2:g} mm\N{SUPERSCRIPT TWO})")
    return problems


def _geometry_problems(shape, spacing, *, for_networks=True, hint=True):
    """What makes an array of ``shape`` at ``spacing`` (mm) unlike an axial prostate scan, as texts.

    The pixel-size limit applies only ``for_networks`` (they work on a 1.25 mm grid). With ``hint``,
    an array whose axes reversed would pass is named as one in SimpleITK's (z, y, x) order (the
    commonest way to get here, and one that gives a wrong mask without any error), and a spacing
    that would pass ten times larger as one typed in centimetres.
    """
    problems = []
    fov = [n * s for n, s in zip(shape[:2], spacing[:2])]
    lo, hi = FOV_LIMITS_MM
    if not all(lo <= f <= hi for f in fov):
        problems.append(f"in-plane field of view {fov[0]:.0f} x {fov[1]:.0f} mm (limits {lo:g}-{hi:g} mm)")
    if for_networks and max(spacing[:2]) > MAX_PIXEL_MM:
        problems.append(f"in-plane pixels of {max(spacing[:2]):.3g} mm (limit {MAX_PIXEL_MM:g} mm; "
                        f"the networks work at {PIXEL_MM:g} mm)")
    lo, hi = SLICE_LIMITS_MM
    if not lo <= spacing[2] <= hi:
        problems.append(f"{spacing[2]:.3g} mm slices (limits {lo:g}-{hi:g} mm)")
    if problems and hint and not _geometry_problems(shape[::-1], spacing, for_networks=for_networks, hint=False):
        problems.append(f"the array's axes look reversed: shape {tuple(shape)} is what SimpleITK's "
                        f"GetArrayFromImage gives, in (z, y, x) order, while the spacing is in (x, y, z) order; "
                        f"read the file with medseg_edu.io.read_scan, which gives (x, y, z) in RAS, or pass "
                        f"image.transpose(2, 1, 0)[::-1, ::-1] (ITK's axes point left and back: LPS)")
    in_mm = tuple(float(f"{10 * s:.6g}") for s in spacing)
    if problems and hint and not _geometry_problems(shape, in_mm, for_networks=for_networks, hint=False):
        problems.append(f"the spacing looks like centimetres: {in_mm} mm would fit")
    return problems


def warn_if_unlike_a_scan(shape, spacing, *, method: str, stacklevel: int = 3) -> list[str]:
    """One ``UserWarning`` when an array's geometry is unlike an axial prostate scan's.

    For the methods that use no network (threshold, snake, atlas): they look for the gland near
    the centre of a pelvic field of view, in millimetres, so an array of another geometry - most
    often a volume in (z, y, x) order with its spacing in (x, y, z) - gives them a wrong mask and
    a wrong volume with no error. The networks' :func:`quality_report` checks the same (and their
    pixel size) as ``image_looks_like_mr``.

    Parameters
    ----------
    shape : tuple of 3 int
        The array's shape, (x, y, z).
    spacing : tuple of 3 float
        Its voxel size in mm.
    method : str
        Named in the message.
    stacklevel : int
        As for :func:`warn_if_doubtful`.

    Returns
    -------
    list of str
        The problems found (empty: no warning).
    """
    problems = _geometry_problems(shape, spacing, for_networks=False)
    if problems:
        warnings.warn(f"medseg_edu: {method}: this array does not look like an axial prostate scan: "
                      f"{'; '.join(problems)}. Its mask and volume are likely wrong.",
                      UserWarning, stacklevel=stacklevel)
    return problems


def _mask_like(a, shape, name):
    a = as_mask(np.asarray(a), name=name)
    same_shape(a, np.empty(shape, bool), (name, "image"))
    return a


# --------------------------------------------------------------------------- report


def quality_report(image, spacing, mask, *, probability=None, augmented_masks=None, raw_mask=None,
                   member_masks=None) -> QualityReport:
    """Plausibility checks of a whole-gland prostate mask and of the scan it came from.

    Each check compares one measurement with a limit that a real prostate T2
    scan and its gland meet. The limits lie between what the true glands and
    the networks' masks of the phantoms give and what the bundled networks
    (U-Net, FCN, dilated CNN, with test-time augmentation) return on pure
    noise and on a brain MR; the measured values below come from the 30
    test and validation phantoms (``prostate_split``: 0.6-0.75 mm pixels,
    3-4 mm slices), Gaussian and uniform noise of a phantom's shape, and the
    2 mm MNI brain (template and ``brain_scan``). Values on network output
    change when the networks are retrained.

    ``gland_found``
        The mask is not empty. An empty mask leaves out the checks that need
        a gland (``pieces``, ``touches_edge``, ``gland_ends``, ``compactness``,
        ``tta_agreement``, ``confidence``).
    ``volume_ml``
        Volume (:func:`medseg_edu.volumetry.volume_ml`) within 10-400 mL:
        the MSD Task05 glands span 16-315 mL, while a network's "gland" in
        pure noise or a brain can be under 1 mL. A scan covering less than
        25 mm cranio-caudally cannot hold a whole gland: it is taken for an
        excerpt (a slab of a few slices) and only the upper limit applies.
    ``pieces``
        On ``raw_mask`` (the thresholded mask before the largest piece was
        kept; default ``mask``), the share of its volume outside the largest
        face-connected 3D piece is at most 10 %: a gland is one piece, so
        much volume elsewhere means the network was confused, and keeping
        the largest piece may have kept the wrong one. Value in %, the number
        of pieces in the message. True glands: one piece; U-Net and dilated
        CNN on phantoms at most 2.3 %, the FCN up to 15 % on one phantom (a
        separate non-gland structure the clean-up removed); brain 17-52 %,
        noise mostly 70-97 %.
    ``touches_edge``
        The gland lies inside what was imaged: the mask does not reach the
        scan's in-plane border nor - when the scan is wider than the
        networks' ``GRID * PIXEL_MM`` = 120 mm square - the last network pixel
        of that square (the network sees nothing beyond it, so such a gland
        is cut off). Value: the number of edges touched, limit 0. No phantom
        of the test and validation splits touches an edge; the two largest
        training glands (260 and 315 mL) reach the edge of the 120 mm square,
        and the networks cut the 260 mL one off there.
    ``gland_ends``
        The gland's two ends - apex below, base above - are inside the scan
        and the mask did not stop short of them: the mask has no voxel on the
        first or the last slice (the gland would go on outside the scan), and,
        with ``probability``, on the slice just beyond each end of the mask,
        inside the end slice's outline, gland probability >= 0.3 covers less
        than 100 mm2 (more means the network half saw gland there and the
        threshold cut it off - the apex and base are where real glands get
        truncated).
        Not checked on a slab. Value: the number of open ends, limit 0.
    ``compactness``
        3D solidity of the main piece: its volume over the volume of the
        convex hull of its voxels (taken as cubes, so 3-4 mm slices cost a
        little), at least 0.7. True glands give 0.87-0.90, the networks'
        masks on phantoms 0.82-0.90; noise 0.12-0.54, a brain
        0.47-0.88 (broken outputs on real scans: 0.2-0.45).
    ``tta_agreement``
        Only with ``augmented_masks`` (masks predicted from transformed inputs,
        e.g. the left-right mirrored scan, mirrored back): the smallest Dice
        between ``mask`` and each is at least 0.8. A network that knows the
        anatomy finds the same gland in the mirror image (Dice >= 0.98 on
        phantoms); one that guesses often does not (noise 0-0.75, a brain
        0-0.99).
    ``member_agreement``
        Only with ``member_masks`` (the masks of networks trained like the one
        that made ``mask``, from other seeds; ``mask`` need not be one of
        them): the spread of their volumes, (largest - smallest) / mean, is
        at most 25 %. Networks trained alike agree where the scan is like
        their training data and guess apart where it is not. Weight version
        4's three seeds spread 0.2-22 % (median 3 %) on the 32 held-out-shape
        phantoms and 13-97 % on the six real T2 scans of ``shared/real_t2``
        (five of them over 37 %). Value in %.
    ``confidence``
        Only with ``probability`` (the gland probability, 0-1, the mask was
        thresholded from): at least 50 % of the mask's voxels have
        probability >= 0.9. A confident prediction has a thin uncertain rim
        (86-94 % confident on phantoms); a guess is mostly rim (noise 0-13 %,
        a brain 14-70 %).
    ``image_looks_like_mr``
        Needs no model. (a) Texture: the lag-1 autocorrelation of the
        normalised image between in-plane neighbours (mean over both axes)
        is at least 0.5. Neighbouring voxels of an MR image see nearly the
        same tissue: the phantoms give 0.96-0.99, the MNI brain 0.99; Gaussian
        or uniform noise gives 0.00 (a constant image has none and fails).
        (b) Geometry: an in-plane field of view of 100-500 mm, in-plane
        pixels of at most 1.5 mm and slices of 0.4-8 mm. The networks were
        trained on 200 mm pelvic scans with 0.6-0.75 mm pixels and 3-4 mm
        slices, and every scan is resampled to 1.25 mm pixels: coarser
        pixels are blurred up, thinner or thicker slices show the anatomy
        differently (the 2 mm MNI brain fails here). Value: the
        autocorrelation; the message names every part that failed.

    Parameters
    ----------
    image : np.ndarray, (x, y, z)
        The scan the mask belongs to, any intensity scale.
    spacing : tuple of 3 float
        Voxel size in mm.
    mask : np.ndarray of bool, the image's shape
        The whole-gland mask to judge.
    probability : np.ndarray, optional
        Gland probability (0-1) of every voxel, the image's shape.
    augmented_masks : sequence of np.ndarray, optional
        Masks from test-time augmentations, each the image's shape.
    raw_mask : np.ndarray of bool, optional
        The thresholded mask before clean-up (largest piece); default ``mask``.
    member_masks : sequence of np.ndarray, optional
        Masks of at least two networks trained alike (e.g. ``member_volumes(...).masks``),
        each the image's shape.

    Returns
    -------
    QualityReport
        ``report.ok``, ``report.problems``, ``report["volume_ml"]``;
        ``print(report)`` shows one line per check.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> noise = rng.normal(size=(160, 160, 20))
    >>> block = np.zeros(noise.shape, bool); block[60:100, 60:100, 5:15] = True
    >>> report = quality_report(noise, (1.0, 1.0, 3.0), block)
    >>> [c.name for c in report.problems]
    ['image_looks_like_mr']
    """
    image, spacing = as_volume(image, spacing)
    mask = _mask_like(mask, image.shape, "mask")
    raw = mask if raw_mask is None else _mask_like(raw_mask, image.shape, "raw_mask")
    p = None if probability is None else np.asarray(probability)
    if p is not None:
        same_shape(p, mask, ("probability", "mask"))
    coverage_mm = image.shape[2] * spacing[2]
    whole_gland = coverage_mm >= MIN_WHOLE_GLAND_COVERAGE_MM
    found = bool(mask.any())
    checks = [_check_found(found), _check_volume(mask, spacing, whole_gland, coverage_mm)]
    if found:
        checks += [_check_pieces(raw), _check_edges(mask, spacing)]
        if whole_gland:
            checks.append(_check_ends(mask, p, spacing))
        checks.append(_check_compactness(mask, spacing))
        others = [_mask_like(m, image.shape, f"augmented_masks[{i}]") for i, m in enumerate(augmented_masks or ())]
        if others:
            checks.append(_check_tta(mask, others))
        members = [_mask_like(m, image.shape, f"member_masks[{i}]") for i, m in enumerate(member_masks or ())]
        if len(members) == 1:
            raise ValueError("member_masks needs the masks of at least two networks to compare, got one")
        if members:
            checks.append(_check_members(members, spacing))
        if p is not None:
            checks.append(_check_confidence(mask, p))
    checks.append(_check_mr_like(image, spacing))
    return QualityReport(tuple(checks))


# One function per check of quality_report, in the order of its docstring.

def _check_found(found):
    return Check("gland_found", float(found), "not empty", found,
                 "the mask is empty (no gland found)" if not found else "a gland was found")


def _check_volume(mask, spacing, whole_gland, coverage_mm):
    ml = volume_ml(mask, spacing)
    lo, hi = VOLUME_LIMITS_ML
    if whole_gland:
        vol_ok, limit = lo <= ml <= hi, f"{lo:g}-{hi:g} mL"
    else:
        vol_ok, limit = ml <= hi, f"<= {hi:g} mL (slab of {coverage_mm:.0f} mm)"
    return Check("volume_ml", ml, limit, vol_ok, f"volume {ml:.3g} mL (limits {limit})", "mL")


def _check_pieces(raw):
    sizes = np.bincount(label(raw, connectivity=1).ravel())[1:]
    n_pieces = int(np.count_nonzero(sizes))
    outside = 100.0 * (1.0 - sizes.max() / sizes.sum()) if n_pieces else 0.0
    return Check("pieces", outside, f"<= {MAX_OUTSIDE_LARGEST_PERCENT:g} % outside largest",
                 outside <= MAX_OUTSIDE_LARGEST_PERCENT,
                 f"mask in {n_pieces} piece{'s' if n_pieces != 1 else ''}, {outside:.0f} % outside the largest "
                 f"(limit {MAX_OUTSIDE_LARGEST_PERCENT:g} %)", "%")


def _check_edges(mask, spacing):
    touched = _edges_touched(mask, spacing)
    return Check("touches_edge", float(len(touched)), "no in-plane edge", not touched,
                 "mask touches " + ", ".join(touched) if touched else "inside the field of view")


def _check_ends(mask, probability, spacing):
    open_ends = _open_ends(mask, probability, spacing)
    return Check("gland_ends", float(len(open_ends)),
                 "inside the scan" + (f", p < {END_P:g} beyond" if probability is not None else ""), not open_ends,
                 "; ".join(open_ends) if open_ends else "both ends inside the scan")


def _check_compactness(mask, spacing):
    solidity = _solidity(largest_component(mask), spacing)
    return Check("compactness", solidity, f">= {MIN_SOLIDITY:g} (solidity)", solidity >= MIN_SOLIDITY,
                 f"solidity {solidity:.2f} (limit {MIN_SOLIDITY:g})")


def _check_tta(mask, others):
    worst = min(dice(mask, other) for other in others)
    return Check("tta_agreement", worst, f">= {MIN_TTA_DICE:g} (Dice)", worst >= MIN_TTA_DICE,
                 f"the flipped-input prediction agrees with Dice {worst:.2f} (limit {MIN_TTA_DICE:g})")


def _check_members(members, spacing):
    volumes = [volume_ml(m, spacing) for m in members]
    spread = spread_percent(volumes)
    return Check("member_agreement", spread, f"<= {MAX_MEMBER_SPREAD_PERCENT:g} % volume spread",
                 spread <= MAX_MEMBER_SPREAD_PERCENT,
                 f"{len(members)} networks trained alike measure {min(volumes):.3g}-{max(volumes):.3g} mL, a spread of "
                 f"{spread:.0f} % of their mean (limit {MAX_MEMBER_SPREAD_PERCENT:g} %) - networks "
                 "trained alike guess apart on a scan unlike their training data", "%")


def _check_confidence(mask, probability):
    share = 100.0 * float(np.mean(probability[mask] >= CONFIDENT_P))
    return Check("confidence", share, f">= {100 * MIN_CONFIDENT_SHARE:g} % with p >= {CONFIDENT_P:g}",
                 share >= 100 * MIN_CONFIDENT_SHARE,
                 f"only {share:.0f} % of the gland has probability >= {CONFIDENT_P:g} "
                 f"(limit {100 * MIN_CONFIDENT_SHARE:g} %)", "%")


def _check_mr_like(image, spacing):
    r = _autocorrelation(image)
    texture_ok = bool(np.isfinite(r) and r >= MIN_AUTOCORRELATION)
    problems = [] if texture_ok else [
        "the image is constant" if not np.isfinite(r) else
        f"the image looks like noise (neighbouring-voxel correlation {r:.2f}, limit {MIN_AUTOCORRELATION:g})"]
    problems += _geometry_problems(image.shape, spacing)
    limit = (f"r >= {MIN_AUTOCORRELATION:g}, FOV {FOV_LIMITS_MM[0]:g}-{FOV_LIMITS_MM[1]:g} mm, "
             f"pixel <= {MAX_PIXEL_MM:g} mm, slice {SLICE_LIMITS_MM[0]:g}-{SLICE_LIMITS_MM[1]:g} mm")
    return Check("image_looks_like_mr", r, limit, not problems,
                 "; ".join(problems) if problems else "MR-like texture and geometry")


def doubt_message(report: QualityReport, *, method: str = "unet") -> str | None:
    """The warning text for the failed checks of ``report``, or ``None`` when all passed.

    ``"medseg_edu: <method> segmentation may be wrong: <problem>; <problem> - check it by eye; ..."``,
    each problem with its measured value and limit.
    """
    if report.ok:
        return None
    problems = "; ".join(c.message for c in report.problems)
    return (f"medseg_edu: {method} segmentation may be wrong: {problems} "
            f"\N{EM DASH} check it by eye; see notebook 10 (real scans)")


def warn_if_doubtful(report: QualityReport, *, method: str = "unet", stacklevel: int = 3) -> QualityReport:
    """Issue one ``UserWarning`` naming every failed check of ``report`` (none if all passed).

    Parameters
    ----------
    report : QualityReport
        From :func:`quality_report`.
    method : str
        Named in the message (``"medseg_edu: unet segmentation may be wrong: ..."``).
    stacklevel : int
        Passed to :func:`warnings.warn`: 2 points at the caller of this function,
        3 (default) at its caller's caller (e.g. whoever called ``segment``).

    Returns
    -------
    QualityReport
        ``report``, unchanged.
    """
    message = doubt_message(report, method=method)
    if message is not None:
        warnings.warn(message, UserWarning, stacklevel=stacklevel)
    return report


# --------------------------------------------------------------------------- plausibility without a label

#: What a plausible whole-gland mask of a real scan looks like (issue 22): volume (mL), smallest
#: area-weighted per-slice solidity, largest left-right distance (mm) of its centre from the
#: middle of the field of view, largest share (%) of the raw mask outside its largest piece.
PLAUSIBLE = {"volume_ml": (15.0, 150.0), "solidity_2d": 0.75, "midline_mm": 10.0, "outside_percent": 5.0}


def _solidity_2d(mask) -> float:
    """Area-weighted mean over the slices of each slice's 2D solidity (area / convex-hull area), 0-1."""
    from skimage.measure import regionprops

    areas, values = [], []
    for k in np.flatnonzero(mask.any(axis=(0, 1))):
        region = mask[:, :, k].astype(np.uint8)
        areas.append(int(region.sum()))
        values.append(regionprops(region)[0].solidity)
    return float(np.average(values, weights=areas)) if areas else float("nan")


#: How many expert glands of the nearest volume give the expected cranio-caudal extent of a mask.
SIMILAR_GLANDS = 15


def expert_extents(volume_ml=None, *, nearest=SIMILAR_GLANDS):
    """Cranio-caudal extents (mm) of the real expert glands, optionally of those nearest in volume.

    Parameters
    ----------
    volume_ml : float, optional
        Keep only the ``nearest`` glands whose volume is closest to this (by ratio).

    Returns
    -------
    np.ndarray of float
        One extent per usable expert label map (:mod:`medseg_edu.data.gland_shapes`: all 92 but
        the two excluded), labelled slices times slice spacing.
    """
    from ..data import gland_shapes

    ids = gland_shapes.USABLE_SHAPES
    if volume_ml is not None:
        if not volume_ml > 0:
            raise ValueError(f"volume_ml must be a positive volume in mL, got {volume_ml!r}")
        ids = sorted(ids, key=lambda s: abs(np.log(gland_shapes.shape_volume_ml(s) / volume_ml)))[:nearest]
    return np.array([gland_shapes.craniocaudal_extent_mm(s) for s in ids])


def end_offsets_mm(mask, spacing, *, share=END_SHARE) -> tuple[float, float]:
    """Front-back offsets (mm) of a gland mask's two ends from its centre: ``(apex, base)``.

    The centre of the mask's lowest ``share`` of slices (the apex end) and of its highest (the
    base end), minus the centre of the whole mask, along the anterior axis: array axis 1 of an
    RAS-canonical volume (what ``io`` and ``data`` return), positive towards the front. A
    real gland's ends lie nearly in line with its middle (:func:`expert_end_offsets`); a mask
    that runs on into the rectum below the apex, or into the seminal vesicles behind the
    base, is pulled backwards there - and stays one compact piece, which no other check sees.

    Parameters
    ----------
    mask : np.ndarray of bool, (x, y, z)
    spacing : tuple of 3 float
        Voxel size in mm.
    share : float
        Share of the mask's slices that make each end (default: the apex and base zones of
        ``held_out``, 20 %; at least one slice).

    Returns
    -------
    (float, float)
        Apex and base offsets in mm; NaN for an empty mask.
    """
    mask = as_mask(np.asarray(mask), name="mask")
    slices = np.flatnonzero(mask.any(axis=(0, 1)))
    if slices.size == 0:
        return float("nan"), float("nan")
    rows = mask.sum(axis=0)                                 # (y, z): voxels per row of each slice
    front_mm = np.arange(mask.shape[1]) * float(spacing[1])

    def centre(ks):
        per_row = rows[:, ks].sum(axis=1)
        return float(per_row @ front_mm / per_row.sum())

    n = max(1, int(round(share * slices.size)))
    middle = centre(slices)
    return centre(slices[:n]) - middle, centre(slices[-n:]) - middle


@lru_cache(maxsize=1)
def expert_end_offsets() -> np.ndarray:
    """:func:`end_offsets_mm` of every usable expert gland: one ``(apex, base)`` row each (mm, read-only).

    The 90 label maps of :mod:`medseg_edu.data.gland_shapes` (all 92 but the two excluded),
    as released. Their range is what :func:`plausibility` accepts.
    """
    from ..data import gland_shapes

    offsets = np.array([end_offsets_mm(labels > 0, spacing)
                        for labels, spacing in map(gland_shapes.label_map, gland_shapes.USABLE_SHAPES)])
    offsets.flags.writeable = False
    return offsets


def ends_in_line(mask, spacing) -> bool:
    """Whether both :func:`end_offsets_mm` of a mask lie within the range of :func:`expert_end_offsets`.

    ``False`` for an empty mask. A mask that runs on into the rectum below the apex, or into the
    seminal vesicles behind the base, fails it while staying one compact piece.
    """
    return _within_expert_range(*end_offsets_mm(mask, spacing))


def _expert_end_ranges():
    """``((apex low, apex high), (base low, base high))`` of :func:`expert_end_offsets`, in mm."""
    offsets = expert_end_offsets()
    return tuple((float(lo), float(hi)) for lo, hi in zip(offsets.min(axis=0), offsets.max(axis=0)))


def _within_expert_range(apex, base) -> bool:
    (apex_low, apex_high), (base_low, base_high) = _expert_end_ranges()
    return bool(apex_low <= apex <= apex_high and base_low <= base <= base_high)


def plausibility(mask, spacing, *, raw_mask=None) -> dict:
    """What can be said about a whole-gland mask of a real scan without any label.

    No Dice exists without an expert outline; this measures what a real gland is
    known to be - one compact piece of 15-150 mL, near the left-right middle, as
    long cranio-caudally as expert glands of its volume - so that a ragged,
    fragmented or truncated mask stands out.

    Parameters
    ----------
    mask : np.ndarray of bool, (x, y, z)
        The final mask (e.g. after keeping the largest piece).
    spacing : tuple of 3 float
        Voxel size in mm.
    raw_mask : np.ndarray of bool, optional
        The thresholded mask before clean-up (default ``mask``): its pieces are counted.

    Returns
    -------
    dict
        ``pieces`` and ``outside_percent`` (of the raw mask), ``volume_ml``,
        ``solidity_3d`` (as the ``compactness`` check), ``solidity_2d`` (area-weighted mean of
        each slice's 2D solidity; expert glands 0.90-0.98), ``extent_mm`` (slices with mask
        times slice spacing), ``expert_extent_mm`` (10th-90th percentile of the extents of the
        15 expert glands nearest in volume), ``midline_mm`` (left-right distance of the mask's
        centre from the middle of the field of view) and ``plausible`` (all of
        :data:`PLAUSIBLE` met and the extent within the expert range) - issue 22's criteria. Beside
        them, a check no expert gland fails: ``apex_offset_mm`` and ``base_offset_mm``
        (:func:`end_offsets_mm`), ``expert_apex_offset_mm`` and ``expert_base_offset_mm`` (the
        smallest and largest of :func:`expert_end_offsets`) and ``ends_in_line`` (both offsets
        within those ranges: no end pulled backwards into the rectum or the seminal vesicles).
    """
    mask = as_mask(np.asarray(mask), name="mask")
    spacing = tuple(float(s) for s in spacing)
    raw = mask if raw_mask is None else _mask_like(raw_mask, mask.shape, "raw_mask")
    if not mask.any():
        nan = float("nan")
        return dict(pieces=0, outside_percent=nan, volume_ml=0.0, solidity_3d=nan, solidity_2d=nan, extent_mm=0.0,
                    expert_extent_mm=(nan, nan), midline_mm=nan, plausible=False, apex_offset_mm=nan,
                    base_offset_mm=nan, expert_apex_offset_mm=(nan, nan), expert_base_offset_mm=(nan, nan),
                    ends_in_line=False)
    sizes = np.bincount(label(raw, connectivity=1).ravel())[1:]
    sizes = sizes[sizes > 0]
    main = largest_component(mask)
    ml = volume_ml(mask, spacing)
    extent = float(np.count_nonzero(mask.any(axis=(0, 1))) * spacing[2])
    expert = tuple(float(v) for v in np.percentile(expert_extents(ml), [10, 90]))
    centre_x = np.argwhere(mask)[:, 0].mean()
    out = dict(pieces=int(len(sizes)), outside_percent=100.0 * (1.0 - sizes.max() / sizes.sum()), volume_ml=ml,
               solidity_3d=_solidity(main, spacing), solidity_2d=_solidity_2d(main), extent_mm=extent,
               expert_extent_mm=expert, midline_mm=float(abs(centre_x - (mask.shape[0] - 1) / 2.0) * spacing[0]))
    lo, hi = PLAUSIBLE["volume_ml"]
    out["plausible"] = bool(out["outside_percent"] <= PLAUSIBLE["outside_percent"] and lo <= ml <= hi
                            and out["solidity_2d"] >= PLAUSIBLE["solidity_2d"]
                            and out["midline_mm"] <= PLAUSIBLE["midline_mm"]
                            and expert[0] <= extent <= expert[1])
    apex, base = end_offsets_mm(mask, spacing)
    apex_range, base_range = _expert_end_ranges()
    out.update(apex_offset_mm=apex, base_offset_mm=base, expert_apex_offset_mm=apex_range,
               expert_base_offset_mm=base_range, ends_in_line=_within_expert_range(apex, base))
    return out
