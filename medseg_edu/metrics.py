"""Overlap and surface-distance metrics between two masks (layer 4, pure numpy).

Masks may be ``bool`` arrays or integer/float label maps (any value ``> 0``
is foreground). Distances are in **mm**: they use the voxel ``spacing`` (mm
per array axis), so anisotropic voxels (e.g. 0.625 x 0.625 x 3.6 mm) are
measured correctly. At the end: the calibration of predicted probabilities (reliability
curve, expected calibration error).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ._checks import as_mask, as_spacing, same_shape
# The ICC lives with the other agreement statistics; kept importable from here.
from .agreement import intraclass_correlation  # noqa: F401

__all__ = ["dice", "pooled_dice", "jaccard", "hausdorff95", "mean_surface_distance", "surface_distances",
           "intraclass_correlation", "ReliabilityCurve", "reliability_curve", "expected_calibration_error"]


def _pair(a, b):
    a = as_mask(a, name="a")
    b = as_mask(b, name="b")
    same_shape(a, b, names=("a", "b"))
    return a, b


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice similarity coefficient ``2 |A & B| / (|A| + |B|)``.

    Parameters
    ----------
    a, b : numpy.ndarray
        Masks of the same shape (bool, or labels: ``> 0`` is foreground).

    Returns
    -------
    float
        In ``[0, 1]``; 1 means identical masks. If **both masks are empty**
        the result is ``1.0``: two empty masks agree perfectly (e.g. a slice
        without prostate correctly left empty).

    Raises
    ------
    ValueError
        If the shapes differ (the message gives both shapes).

    Examples
    --------
    >>> import numpy as np
    >>> a, b = np.zeros((4, 4), bool), np.zeros((4, 4), bool)
    >>> a[:2] = True; b[1:3] = True                 # 8 voxels each, 4 shared
    >>> dice(a, b)
    0.5
    """
    a, b = _pair(a, b)
    total = int(a.sum()) + int(b.sum())
    if total == 0:
        return 1.0
    return 2.0 * int(np.logical_and(a, b).sum()) / total


def pooled_dice(dices, reference_sizes, predicted_sizes) -> float:
    """Dice of all cases pooled into one big mask, from the per-case Dice and mask sizes.

    Pooling adds up the overlaps and the sizes of all cases before dividing:
    ``2 sum|A_i & B_i| / sum(|A_i| + |B_i|)``. Since ``|A_i & B_i| = D_i (|A_i| + |B_i|) / 2``,
    that is the **size-weighted** mean of the per-case Dice: large structures count
    more, so the pooled Dice is higher than the mean per-case Dice whenever a method
    does better on large structures than on small ones (a fixed border error costs a
    small structure more overlap).

    Parameters
    ----------
    dices : array_like
        Per-case Dice, in [0, 1].
    reference_sizes, predicted_sizes : array_like
        Per-case sizes of the reference and the predicted mask, in any one unit
        (voxels, or mL when the cases have different spacings).

    Returns
    -------
    float
        The pooled Dice, in [0, 1].

    Raises
    ------
    ValueError
        If the lengths differ, a Dice lies outside [0, 1], a size is negative or NaN,
        or all sizes are 0.

    Examples
    --------
    >>> round(pooled_dice([0.6, 0.9], [10, 90], [10, 90]), 3)    # the large case dominates
    0.87
    """
    d, ref, pred = (np.asarray(x, dtype=float).ravel() for x in (dices, reference_sizes, predicted_sizes))
    if not d.shape == ref.shape == pred.shape:
        raise ValueError(f"dices, reference_sizes and predicted_sizes must have one value per case, "
                         f"got {d.size}, {ref.size} and {pred.size}")
    if np.isnan(d).any() or np.any((d < 0) | (d > 1)):
        raise ValueError(f"every Dice must lie in [0, 1], got {d}")
    if np.isnan(ref).any() or np.isnan(pred).any() or np.any(ref < 0) or np.any(pred < 0):
        raise ValueError("sizes must be non-negative numbers")
    total = ref + pred
    if total.sum() == 0:
        raise ValueError("all masks are empty: the pooled Dice is undefined")
    return float(np.sum(d * total) / total.sum())


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard index (intersection over union) ``|A & B| / |A | B|``.

    Related to Dice by ``J = D / (2 - D)``; takes the same two masks as
    :func:`dice` and returns a value in ``[0, 1]`` (``1.0`` if both masks are
    empty: perfect agreement).
    """
    a, b = _pair(a, b)
    union = int(np.logical_or(a, b).sum())
    if union == 0:
        return 1.0
    return int(np.logical_and(a, b).sum()) / union


def _surface(mask: np.ndarray) -> np.ndarray:
    """Surface voxels: the mask minus its erosion (face connectivity).

    Voxels on the array border count as surface (outside the array is
    background).
    """
    structure = ndimage.generate_binary_structure(mask.ndim, 1)
    eroded = ndimage.binary_erosion(mask, structure=structure, border_value=0)
    return mask & ~eroded


def surface_distances(a: np.ndarray, b: np.ndarray, spacing) -> tuple[np.ndarray, np.ndarray]:
    """Distances in mm between the surfaces of two non-empty masks.

    Parameters
    ----------
    a, b : numpy.ndarray
        Non-empty masks of the same shape.
    spacing : sequence of float
        Voxel size in mm per array axis.

    Returns
    -------
    d_ab, d_ba : numpy.ndarray of float
        ``d_ab[i]``: distance (mm, between voxel centres) from the i-th
        surface voxel of ``a`` to the nearest surface voxel of ``b``;
        ``d_ba`` the other way round.

    Raises
    ------
    ValueError
        If a mask is empty, the shapes differ or the spacing is invalid.
    """
    a, b = _pair(a, b)
    spacing = as_spacing(spacing, a.ndim, name="spacing", shape=a.shape)
    if not a.any() or not b.any():
        raise ValueError("surface_distances needs two non-empty masks")
    # Crop to the bounding box of both masks: exact (all surface voxels lie
    # inside it) and much faster on large, mostly empty volumes.
    idx = np.argwhere(a | b)
    lo, hi = idx.min(axis=0), idx.max(axis=0) + 1
    box = tuple(slice(int(l), int(h)) for l, h in zip(lo, hi))
    # Pad by one voxel so the crop edge is not mistaken for the array border.
    sa = _surface(np.pad(a[box], 1))
    sb = _surface(np.pad(b[box], 1))
    dist_to_b = ndimage.distance_transform_edt(~sb, sampling=spacing)
    dist_to_a = ndimage.distance_transform_edt(~sa, sampling=spacing)
    return dist_to_b[sa], dist_to_a[sb]


def _pooled(a, b, spacing):
    """Pooled symmetric surface distances, or a float for the empty cases."""
    a, b = _pair(a, b)
    as_spacing(spacing, a.ndim, name="spacing", shape=a.shape)
    empty_a, empty_b = not a.any(), not b.any()
    if empty_a and empty_b:
        return 0.0
    if empty_a or empty_b:
        return float("inf")
    d_ab, d_ba = surface_distances(a, b, spacing)
    return np.concatenate([d_ab, d_ba])


def hausdorff95(a: np.ndarray, b: np.ndarray, spacing) -> float:
    """95th-percentile symmetric Hausdorff distance in mm.

    Definition used here: the surface of a mask is the mask minus its
    erosion (face connectivity). For every surface voxel of ``a`` take the
    Euclidean distance (mm, using ``spacing``) to the nearest surface voxel
    of ``b``, and vice versa; pool both sets of distances and return their
    95th percentile (``numpy.percentile``, linear interpolation). This is
    robust to a few outlier voxels, unlike the plain (100th percentile)
    Hausdorff distance.

    Parameters
    ----------
    a, b : numpy.ndarray
        Masks of the same shape (bool, or labels: ``> 0`` is foreground).
    spacing : sequence of float
        Voxel size in mm, one value per array axis.

    Returns
    -------
    float
        Distance in mm. Both masks empty -> ``0.0``; exactly one empty ->
        ``inf`` (no surface to measure to).
    """
    d = _pooled(a, b, spacing)
    if isinstance(d, float):
        return d
    return float(np.percentile(d, 95))


def mean_surface_distance(a: np.ndarray, b: np.ndarray, spacing) -> float:
    """Mean symmetric surface distance in mm.

    The mean of the pooled distances described in :func:`hausdorff95`
    (surface voxels of ``a`` to the surface of ``b`` together with surface
    voxels of ``b`` to the surface of ``a``); it takes the same arguments
    (two masks of one shape, ``spacing`` in mm per axis) and returns a
    distance in mm with the same rules for empty masks (both empty ``0.0``,
    one empty ``inf``).
    """
    d = _pooled(a, b, spacing)
    if isinstance(d, float):
        return d
    return float(np.mean(d))


# --------------------------------------------------------------------------- calibration of probabilities

_CHUNK = 1 << 20   # voxels binned at a time: a few MB of temporaries, whatever the volume's size


def _calibration_pairs(probability, truth, where):
    """Flat probability (its own float precision) and bool truth, checked; only ``where`` if given."""
    p = np.asarray(probability)
    if not np.issubdtype(p.dtype, np.floating):
        p = p.astype(float)
    t = np.asarray(truth)
    if p.shape != t.shape:
        raise ValueError(f"probability {p.shape} and truth {t.shape} must have the same shape")
    if where is not None:
        w = np.asarray(where, dtype=bool)
        if w.shape != p.shape:
            raise ValueError(f"where {w.shape} must have the probability's shape {p.shape}")
        p, t = p[w], t[w]
    p, t = p.ravel(), t.ravel() > 0
    if p.size == 0:
        raise ValueError("no voxels to judge: the probability map (or where) is empty")
    if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
        raise ValueError("probability must hold finite values between 0 and 1")
    return p, t


@dataclass(frozen=True)
class ReliabilityCurve:
    """The data of a reliability diagram (:func:`reliability_curve`).

    Attributes
    ----------
    confidence : numpy.ndarray
        Mean predicted probability of the voxels in each bin (``nan`` if empty).
    frequency : numpy.ndarray
        Share of those voxels that are foreground (``nan`` if empty).
    counts : numpy.ndarray of int
        Voxels per bin.
    edges : numpy.ndarray
        The ``n_bins + 1`` bin edges, 0 to 1.
    """

    confidence: np.ndarray
    frequency: np.ndarray
    counts: np.ndarray
    edges: np.ndarray


def reliability_curve(probability, truth, *, n_bins: int = 10, where=None) -> ReliabilityCurve:
    """What a predicted probability means in practice: the data of a reliability diagram.

    Voxels are grouped by their predicted probability into ``n_bins`` equal bins
    of 0-1; in each bin the mean predicted probability (*confidence*) is set
    against the share of voxels that really are foreground (*frequency*). A
    calibrated model lies on the diagonal: of all voxels given 0.8, 80 % are gland.

    Parameters
    ----------
    probability : array_like of float
        Predicted foreground probability, 0-1, any shape.
    truth : array_like
        Same shape; foreground where ``> 0``.
    n_bins : int
        Number of equal-width bins (the last one includes 1.0).
    where : array_like of bool, optional
        Judge only these voxels (e.g. the surroundings of the gland: far from it
        nearly every voxel is an easy 0 that makes any model look calibrated).

    Returns
    -------
    ReliabilityCurve
        ``confidence``, ``frequency`` (``nan`` for empty bins), ``counts`` (voxels
        per bin) and the bin ``edges``.

    Examples
    --------
    >>> curve = reliability_curve([0.1, 0.1, 0.9, 0.9], [0, 0, 1, 0], n_bins=2)
    >>> curve.frequency.tolist(), curve.counts.tolist()
    ([0.0, 0.5], [2, 2])
    """
    if int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins must be a whole number >= 1, got {n_bins!r}")
    n_bins = int(n_bins)
    p, t = _calibration_pairs(probability, truth, where)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    counts = np.zeros(n_bins, np.int64)
    sum_p, sum_t = np.zeros(n_bins), np.zeros(n_bins)
    for start in range(0, p.size, _CHUNK):
        chunk = p[start:start + _CHUNK].astype(float)
        index = np.clip(np.digitize(chunk, edges[1:-1]), 0, n_bins - 1)
        counts += np.bincount(index, minlength=n_bins)
        sum_p += np.bincount(index, weights=chunk, minlength=n_bins)
        sum_t += np.bincount(index, weights=t[start:start + _CHUNK], minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ReliabilityCurve(sum_p / counts, sum_t / counts, counts, edges)


def expected_calibration_error(probability, truth, *, n_bins: int = 10, where=None) -> float:
    """Expected calibration error (ECE): the reliability diagram's gap, weighted by voxels.

    ``sum over bins of (voxels in bin / all voxels) x |frequency - confidence|``
    (Guo et al. 2017, binary form): 0 for a calibrated model; 0.05 means its
    probabilities are 5 percentage points off, on average over the voxels judged.
    Parameters as for :func:`reliability_curve`.

    Examples
    --------
    >>> round(expected_calibration_error([0.1, 0.1, 0.9, 0.9], [0, 0, 1, 0], n_bins=2), 3)   # (2 x 0.1 + 2 x 0.4) / 4
    0.25
    """
    curve = reliability_curve(probability, truth, n_bins=n_bins, where=where)
    filled = curve.counts > 0
    weights = curve.counts[filled] / curve.counts.sum()
    return float(np.sum(weights * np.abs(curve.frequency[filled] - curve.confidence[filled])))
