"""Volumes from masks, the ellipsoid formula, PSA density, Bland-Altman, RECIST diameters (layer 1).

Masks may be ``bool`` arrays or label maps (any value ``> 0`` counts, so a
PZ/TZ label map gives the whole gland). Arrays are indexed ``(x, y, z)`` in
RAS orientation: axis 0 runs to the patient's Right (transverse), axis 1 to
Anterior (antero-posterior), axis 2 to Superior (cranio-caudal; axial slices
are ``mask[:, :, k]``). ``spacing`` is the voxel size in mm per axis.
Volumes are in mL (1 mL = 1 cm^3 = 1000 mm^3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import as_mask, as_spacing
# Bland-Altman lives with the other agreement statistics; kept importable from here.
from .agreement import BlandAltman, bland_altman  # noqa: F401
from .agreement import _numbers  # the one check that a value is a number or an array of numbers

__all__ = [
    "EllipsoidDiameters",
    "BlandAltman",
    "volume_ml",
    "ellipsoid_diameters",
    "ellipsoid_volume_ml",
    "psa_density",
    "bland_altman",
    "volume_error_percent",
    "flip_margin_percent",
    "difference_sd",
    "longest_diameter_mm",
    "short_axis_mm",
    "recist_response",
]


def _mask3d(mask, spacing, func: str):
    m = as_mask(mask, name="mask")
    if m.ndim != 3:
        raise ValueError(f"{func} needs a 3D mask indexed (x, y, z), got shape {m.shape}")
    sp = as_spacing(spacing, 3, name="spacing", shape=m.shape)
    return m, sp


def volume_ml(mask: np.ndarray, spacing) -> float:
    """Volume of a mask in mL: voxel count x voxel volume.

    Parameters
    ----------
    mask : numpy.ndarray
        3D mask ``(x, y, z)``; bool or labels (``> 0`` is foreground).
    spacing : sequence of float
        Voxel size in mm, 3 values.

    Returns
    -------
    float
        ``count * prod(spacing) / 1000`` (mm^3 -> mL). ``0.0`` for an empty mask.


    Examples
    --------
    >>> import numpy as np
    >>> volume_ml(np.ones((10, 10, 10), bool), (1.0, 1.0, 2.0))   # 1000 voxels of 2 mm^3
    2.0
    """
    m, sp = _mask3d(mask, spacing, "volume_ml")
    return int(np.count_nonzero(m)) * float(np.prod(sp)) / 1000.0


@dataclass(frozen=True)
class EllipsoidDiameters:
    """The three prostate diameters a radiologist measures, in mm.

    Attributes
    ----------
    transverse_mm : float
        Left-right extent (axis 0) on the widest axial slice.
    ap_mm : float
        Antero-posterior extent (axis 1) on the same slice.
    cc_mm : float
        Cranio-caudal extent (axis 2): number of slices from the first to the
        last slice containing gland, times the slice spacing.
    axial_slice : int or None
        Index ``k`` of the widest axial slice ``mask[:, :, k]``; ``None`` for
        an empty mask.
    """

    transverse_mm: float
    ap_mm: float
    cc_mm: float
    axial_slice: int | None


def ellipsoid_diameters(mask: np.ndarray, spacing) -> EllipsoidDiameters:
    """Measure transverse, antero-posterior and cranio-caudal diameters (mm).

    Mimics the radiologist's measurement: pick the axial slice where the
    gland is largest (most voxels; on a tie the first such slice), measure
    on it the extent along x (transverse) and y (antero-posterior) as
    ``(max_index - min_index + 1) * spacing``; the cranio-caudal diameter is
    ``(last_slice - first_slice + 1) * spacing[2]``.

    Parameters
    ----------
    mask : numpy.ndarray
        3D mask ``(x, y, z)`` in RAS orientation; bool or labels (``> 0``).
    spacing : sequence of float
        Voxel size in mm, 3 values.

    Returns
    -------
    EllipsoidDiameters
        All diameters ``0.0`` and ``axial_slice=None`` for an empty mask.
    """
    m, sp = _mask3d(mask, spacing, "ellipsoid_diameters")
    area = m.sum(axis=(0, 1))
    if not area.any():
        return EllipsoidDiameters(0.0, 0.0, 0.0, None)
    k = int(np.argmax(area))  # argmax returns the first maximum
    xs = np.flatnonzero(m[:, :, k].any(axis=1))
    ys = np.flatnonzero(m[:, :, k].any(axis=0))
    zs = np.flatnonzero(area)
    return EllipsoidDiameters(
        transverse_mm=float((xs[-1] - xs[0] + 1) * sp[0]),
        ap_mm=float((ys[-1] - ys[0] + 1) * sp[1]),
        cc_mm=float((zs[-1] - zs[0] + 1) * sp[2]),
        axial_slice=k,
    )


def ellipsoid_volume_ml(mask: np.ndarray, spacing) -> float:
    """Prostate volume by the ellipsoid formula, in mL.

    ``V = T * AP * CC * pi / 6`` with the diameters (mm) from
    :func:`ellipsoid_diameters`, divided by 1000 (mm^3 -> mL).

    Parameters
    ----------
    mask : numpy.ndarray
        3D mask ``(x, y, z)``; bool or labels (``> 0``).
    spacing : sequence of float
        Voxel size in mm, 3 values.

    Returns
    -------
    float
        Volume in mL; ``0.0`` for an empty mask.


    Examples
    --------
    >>> import numpy as np
    >>> box = np.ones((40, 30, 20), bool)                 # a 40 x 30 x 20 mm box, 1 mm voxels
    >>> round(ellipsoid_volume_ml(box, (1, 1, 1)), 2)     # pi/6 of the box's 24 mL
    12.57
    """
    d = ellipsoid_diameters(mask, spacing)
    return d.transverse_mm * d.ap_mm * d.cc_mm * np.pi / 6.0 / 1000.0


def _scalar_or_array(arr: np.ndarray):
    return float(arr) if arr.ndim == 0 else arr


def psa_density(psa_ng_ml, volume_ml):
    """PSA density: serum PSA divided by prostate volume.

    Parameters
    ----------
    psa_ng_ml : float or array_like
        Serum PSA in ng/mL; must be >= 0 and not NaN.
    volume_ml : float or array_like
        Prostate volume in mL (= cc); must be > 0 and finite.

    Returns
    -------
    float or numpy.ndarray
        PSA density in ng/mL/cc (a float for scalar input),
        e.g. ``psa_density(6.0, 40.0) == 0.15``. A common clinical cut-off is
        0.15 ng/mL/cc.


    Examples
    --------
    >>> psa_density(6.0, 40.0)
    0.15
    """
    psa = _numbers(psa_ng_ml, "psa_ng_ml")
    vol = _numbers(volume_ml, "volume_ml")
    if np.any(psa < 0):
        raise ValueError(f"psa_ng_ml must be >= 0 ng/mL, got {psa_ng_ml!r}")
    if np.any(vol <= 0) or not np.all(np.isfinite(vol)):
        raise ValueError(f"volume_ml must be finite and > 0 mL, got {volume_ml!r}")
    return _scalar_or_array(psa / vol)


def flip_margin_percent(psa_ng_ml, volume_ml, cutoff: float = 0.15):
    """Volume error (%) that would put a patient's PSA density exactly on the cut-off.

    Parameters
    ----------
    psa_ng_ml : float or array_like
        Serum PSA in ng/mL (>= 0).
    volume_ml : float or array_like
        The patient's (true) prostate volume in mL (> 0).
    cutoff : float
        PSA-density cut-off in ng/mL/cc (> 0); 0.15 by default.

    Returns
    -------
    float or numpy.ndarray
        ``100 * (psa / cutoff / volume - 1)``: the signed error, in percent of
        ``volume_ml``, of a volume measurement that lands on the cut-off. A
        method whose error reaches past it (in that direction) changes the
        patient's class; -10 means a volume 10 % too small is enough.

    Examples
    --------
    >>> round(flip_margin_percent(6.0, 50.0), 6)   # density 0.12: a volume 20 % too small gives 0.15
    -20.0
    """
    if not cutoff > 0:
        raise ValueError(f"cutoff must be > 0 ng/mL/cc, got {cutoff!r}")
    psa = _numbers(psa_ng_ml, "psa_ng_ml")
    vol = _numbers(volume_ml, "volume_ml")
    psa_density(psa, vol)                       # the same input checks (PSA >= 0, volume > 0)
    return _scalar_or_array(100.0 * (psa / cutoff / vol - 1.0))


def difference_sd(rescan_sd, n_baseline: int = 1, n_followup: int = 1) -> float:
    """Standard deviation of a change measured between two sets of rescans.

    Parameters
    ----------
    rescan_sd : float
        Standard deviation of one measurement (e.g. in % of the volume), >= 0.
    n_baseline, n_followup : int
        Number of independent scans averaged at each visit (>= 1).

    Returns
    -------
    float
        ``rescan_sd * sqrt(1 / n_baseline + 1 / n_followup)``, in the unit of
        ``rescan_sd``: sqrt(2) x SD for one scan against one scan, and
        SD x sqrt(1 + 1/n) for one follow-up scan against the mean of ``n``
        baseline scans.

    Examples
    --------
    >>> round(difference_sd(1.0, 1, 1), 4)
    1.4142
    >>> round(difference_sd(1.0, n_baseline=8), 4)
    1.0607
    """
    if not (np.isfinite(rescan_sd) and rescan_sd >= 0):
        raise ValueError(f"rescan_sd must be finite and >= 0, got {rescan_sd!r}")
    if int(n_baseline) != n_baseline or int(n_followup) != n_followup or min(n_baseline, n_followup) < 1:
        raise ValueError(f"n_baseline and n_followup must be whole numbers >= 1, got {n_baseline!r}, {n_followup!r}")
    return float(rescan_sd * np.sqrt(1.0 / n_baseline + 1.0 / n_followup))


def volume_error_percent(reference_ml, measured_ml):
    """Signed volume error in percent of the reference.

    Parameters
    ----------
    reference_ml : float or array_like
        True (reference) volume in mL; must be > 0.
    measured_ml : float or array_like
        Measured volume in mL.

    Returns
    -------
    float or numpy.ndarray
        ``100 * (measured - reference) / reference``; positive means the
        measurement overestimates.


    Examples
    --------
    >>> volume_error_percent(50.0, 45.0)
    -10.0
    """
    ref = _numbers(reference_ml, "reference_ml")
    meas = _numbers(measured_ml, "measured_ml")
    if np.any(ref <= 0) or not np.all(np.isfinite(ref)):
        raise ValueError(f"reference_ml must be finite and > 0 mL, got {reference_ml!r}")
    return _scalar_or_array(100.0 * (meas - ref) / ref)


# --------------------------------------------------------------------------- diameters (RECIST)

def _slice_outline_mm(slice_mask, spacing_xy):
    """Corners (mm) of every foreground pixel of one axial slice on its convex hull, (n, 2)."""
    from scipy.spatial import ConvexHull, QhullError

    ij = np.argwhere(slice_mask)
    corners = np.concatenate([ij + offset for offset in ((-0.5, -0.5), (-0.5, 0.5), (0.5, -0.5), (0.5, 0.5))])
    points = np.unique(corners, axis=0) * np.asarray(spacing_xy, float)
    try:
        return points[ConvexHull(points).vertices]
    except QhullError:  # fewer than three distinct points cannot form a hull
        return points


def _longest_chord(points):
    """(length mm, unit direction) of the longest segment between two of ``points``."""
    diff = points[:, None, :] - points[None, :, :]
    dist = np.sqrt((diff ** 2).sum(-1))
    i, j = np.unravel_index(int(np.argmax(dist)), dist.shape)
    length = float(dist[i, j])
    return length, (diff[i, j] / length if length > 0 else np.array([1.0, 0.0]))


def _axial_diameters(mask, spacing, func):
    m, sp = _mask3d(mask, spacing, func)
    best = (0.0, 0.0, -1)
    for k in np.flatnonzero(m.any(axis=(0, 1))):
        outline = _slice_outline_mm(m[:, :, k], sp[:2])
        long_mm, direction = _longest_chord(outline)
        if long_mm > best[0]:
            across = outline @ np.array([-direction[1], direction[0]])
            best = (long_mm, float(across.max() - across.min()), int(k))
    return best


def longest_diameter_mm(mask: np.ndarray, spacing) -> float:
    """RECIST 1.1 measure of a lesion: its longest in-plane (axial) diameter on any slice, in mm.

    On every axial slice ``mask[:, :, k]`` the outline is the convex hull of
    the *corners* of the foreground pixels (so a pixel counts with its full
    extent, ``spacing[0] x spacing[1]``), and the diameter is the largest
    distance between two outline points - whatever the direction, so a
    rotated lesion measures the same. The longest over all slices is returned.

    Parameters
    ----------
    mask : numpy.ndarray
        3D mask ``(x, y, z)`` (a single slice is ``(x, y, 1)``); bool or labels.
    spacing : sequence of 3 float
        Voxel size in mm (positive).

    Returns
    -------
    float
        Diameter in mm; ``0.0`` for an empty mask (a lesion that has gone).

    Examples
    --------
    >>> import numpy as np
    >>> square = np.zeros((20, 20, 1), bool); square[5:15, 5:15] = True       # 10 x 10 pixels
    >>> round(longest_diameter_mm(square, (0.5, 0.5, 3.0)), 2)               # 5 x 5 mm: the diagonal
    7.07
    """
    return _axial_diameters(mask, spacing, "longest_diameter_mm")[0]


def short_axis_mm(mask: np.ndarray, spacing) -> float:
    """Short axis of a lymph node (RECIST 1.1), in mm: its extent perpendicular to the long axis.

    Measured on the axial slice where :func:`longest_diameter_mm` is found:
    the outline (convex hull of the pixel corners) is projected on the
    direction perpendicular to the longest diameter, and the width of that
    projection is returned - for a convex outline, the longest chord
    perpendicular to the long axis. Normal pelvic nodes are < 10 mm, nodes of
    15 mm and more count as pathological (RECIST 1.1).

    Parameters
    ----------
    mask : numpy.ndarray
        3D mask ``(x, y, z)``; bool or labels.
    spacing : sequence of 3 float
        Voxel size in mm (positive).

    Returns
    -------
    float
        Short axis in mm; ``0.0`` for an empty mask.

    Examples
    --------
    >>> import numpy as np
    >>> x, y = np.meshgrid(np.arange(-40, 41), np.arange(-40, 41), indexing="ij")
    >>> node = ((x / 30) ** 2 + (y / 12) ** 2 <= 1)[:, :, None]   # 30 x 12 mm at 0.5 mm pixels
    >>> print(f"{longest_diameter_mm(node, (0.5, 0.5, 3.0)):.1f} x {short_axis_mm(node, (0.5, 0.5, 3.0)):.1f} mm")
    30.5 x 12.5 mm
    """
    return _axial_diameters(mask, spacing, "short_axis_mm")[1]


RECIST_PR_DECREASE = 0.30    # partial response: at least 30 % below the baseline sum
RECIST_PD_INCREASE = 0.20    # progression: at least 20 % above the smallest sum so far (nadir) ...
RECIST_PD_ABSOLUTE_MM = 5.0  # ... and at least 5 mm more in absolute terms


def recist_response(baseline_mm, followup_mm, nadir_mm=None) -> str:
    """RECIST 1.1 response category from sums of target-lesion diameters (mm).

    * ``"CR"`` complete response: the follow-up sum is 0;
    * ``"PD"`` progressive disease: the sum grew by at least 20 % over the
      nadir (the smallest sum so far, the baseline included) **and** by at
      least 5 mm;
    * ``"PR"`` partial response: the sum is at least 30 % below the baseline;
    * ``"SD"`` stable disease: neither.

    Progression is checked before partial response, so a sum that has grown
    back from a deep nadir is PD even if it is still below the baseline.
    (Non-target and new lesions, which RECIST also weighs, are not modelled.)

    Parameters
    ----------
    baseline_mm, followup_mm : float
        Sums of diameters (mm) at baseline and now, >= 0.
    nadir_mm : float, optional
        Smallest sum so far (mm), ``<= baseline_mm``; default the baseline.

    Returns
    -------
    str
        ``"CR"``, ``"PR"``, ``"SD"`` or ``"PD"``.

    Examples
    --------
    >>> recist_response(50, 34), recist_response(50, 45), recist_response(50, 61), recist_response(50, 0)
    ('PR', 'SD', 'PD', 'CR')
    >>> recist_response(40, 36, nadir_mm=30), recist_response(40, 34, nadir_mm=30)
    ('PD', 'SD')
    """
    values = {"baseline_mm": baseline_mm, "followup_mm": followup_mm,
              "nadir_mm": baseline_mm if nadir_mm is None else nadir_mm}
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a sum of diameters in mm (a finite number >= 0), got {value!r}")
    baseline, followup, nadir = (float(v) for v in values.values())
    if nadir > baseline:
        raise ValueError(f"nadir_mm ({nadir:g}) is the smallest sum so far, so it cannot exceed "
                         f"baseline_mm ({baseline:g})")
    if followup == 0:
        return "CR"
    if followup >= nadir * (1 + RECIST_PD_INCREASE) and followup - nadir >= RECIST_PD_ABSOLUTE_MM:
        return "PD"
    if followup <= baseline * (1 - RECIST_PR_DECREASE):
        return "PR"
    return "SD"
