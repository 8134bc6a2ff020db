"""Overlap and surface-distance metrics between two masks (layer 4, pure numpy).

Masks may be ``bool`` arrays or integer/float label maps (any value ``> 0``
is foreground). Distances are in **mm**: they use the voxel ``spacing`` (mm
per array axis), so anisotropic voxels (e.g. 0.625 x 0.625 x 3.6 mm) are
measured correctly.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ._checks import as_mask, as_spacing, same_shape

__all__ = ["dice", "jaccard", "hausdorff95", "mean_surface_distance", "surface_distances",
           "intraclass_correlation"]


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


def intraclass_correlation(ratings, form: str = "agreement") -> float:
    """Intraclass correlation of single measurements (Shrout & Fleiss 1979; McGraw & Wong 1996).

    From a two-way analysis of variance of ``ratings`` (one row per case, one
    column per reader or method): ``MSR`` between cases, ``MSC`` between
    readers, ``MSE`` residual.

    * ``form="agreement"``: ICC(2,1) = ICC(A,1), absolute agreement -
      ``(MSR - MSE) / (MSR + (k - 1) MSE + k (MSC - MSE) / n)``; a reader who
      always measures 2 mm more lowers it.
    * ``form="consistency"``: ICC(3,1) = ICC(C,1) -
      ``(MSR - MSE) / (MSR + (k - 1) MSE)``; a constant offset between readers
      does not count.

    Parameters
    ----------
    ratings : array_like, (n_cases, k_readers)
        At least 2 cases and 2 readers, no NaN.
    form : str
        "agreement" or "consistency".

    Returns
    -------
    float
        At most 1 (perfect agreement); can be negative when readers disagree more
        than the cases differ. ``nan`` if all cases and readers give one value.

    Examples
    --------
    >>> round(intraclass_correlation([[2, 3], [4, 5], [6, 6]]), 6)
    0.9
    >>> round(intraclass_correlation([[2, 3], [4, 5], [6, 6]], form="consistency"), 6)   # 18 / 19
    0.947368
    """
    if form not in ("agreement", "consistency"):
        raise ValueError(f"form must be 'agreement' or 'consistency', got {form!r}")
    try:
        x = np.asarray(ratings, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError("ratings must be a table of numbers (cases x readers)") from err
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError(f"ratings must be a 2D table with >= 2 cases (rows) and >= 2 readers (columns), "
                         f"got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("ratings contain NaN or infinite values")
    n, k = x.shape
    grand = x.mean()
    ms_rows = k * np.sum((x.mean(axis=1) - grand) ** 2) / (n - 1)
    ms_cols = n * np.sum((x.mean(axis=0) - grand) ** 2) / (k - 1)
    ss_error = np.sum((x - grand) ** 2) - ms_rows * (n - 1) - ms_cols * (k - 1)
    ms_error = ss_error / ((n - 1) * (k - 1))
    denominator = ms_rows + (k - 1) * ms_error
    if form == "agreement":
        denominator += k * (ms_cols - ms_error) / n
    if denominator == 0:
        return float("nan")
    return float((ms_rows - ms_error) / denominator)
