"""Volumes from masks, the ellipsoid formula, PSA density, Bland-Altman (layer 1).

The one owner of "how big is it in mL": every volume in the package is
:func:`volume_ml` (or :func:`voxel_volume_ml` times a count) and every
ellipsoid estimate :func:`ellipsoid_formula_ml`. Diameters for tumours and
lymph nodes (RECIST) live in :mod:`medseg_edu.recist`.

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
    "voxels_to_ml",
    "voxel_volume_ml",
    "volume_ml",
    "slice_areas_cm2",
    "ellipsoid_formula_ml",
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


def voxels_to_ml(n_voxels, spacing):
    """Volume of ``n_voxels`` voxels in mL: count x voxel volume (mm^3) / 1000.

    Parameters
    ----------
    n_voxels : int, float or array
        Voxel count (a float for partial-volume sums).
    spacing : sequence of float
        Voxel size in mm, one value per axis (positive).

    Examples
    --------
    >>> voxels_to_ml(1000, (0.5, 0.5, 4.0))
    1.0
    """
    sp = as_spacing(spacing, np.size(spacing), name="spacing")
    return n_voxels * float(np.prod(sp)) / 1000.0


def voxel_volume_ml(spacing) -> float:
    """Volume of one voxel in mL (:func:`voxels_to_ml` of 1)."""
    return voxels_to_ml(1, spacing)


def slice_areas_cm2(mask: np.ndarray, spacing) -> np.ndarray:
    """Area of a mask on each axial slice, in cm² (pixel count x in-plane pixel area / 100).

    The profile a per-slice figure plots: where along the gland a segmentation gains or loses
    area (its apex and base), which a single volume hides.

    Parameters
    ----------
    mask : np.ndarray of bool, (x, y, z)
        The segmentation.
    spacing : sequence of 3 float
        Voxel size in mm; only the in-plane two count.

    Returns
    -------
    np.ndarray of float, (z,)
        cm² per slice, 0 where the slice holds no mask.

    Examples
    --------
    >>> m = np.zeros((10, 10, 3), bool); m[:5, :4, 1] = True
    >>> slice_areas_cm2(m, (2.0, 2.5, 3.0)).tolist()
    [0.0, 1.0, 0.0]
    """
    m, sp = _mask3d(mask, spacing, "slice_areas_cm2")
    return m.sum(axis=(0, 1)) * sp[0] * sp[1] / 100.0


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
    return voxels_to_ml(int(np.count_nonzero(m)), sp)


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

    A simplified version of the radiologist's measurement: pick the axial
    slice where the gland is largest (most voxels; on a tie the first such
    slice), measure on it the extent along x (transverse) and y
    (antero-posterior) as ``(max_index - min_index + 1) * spacing``; the
    cranio-caudal diameter is ``(last_slice - first_slice + 1) * spacing[2]``.
    Taking the antero-posterior diameter on the axial slice follows PI-RADS
    v2.0; PI-RADS v2.1 measures it, with the cranio-caudal one, on the
    mid-sagittal image (Turkbey et al. 2019).

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
    return ellipsoid_formula_ml(d.transverse_mm, d.ap_mm, d.cc_mm)


def ellipsoid_formula_ml(transverse_mm, ap_mm, cc_mm):
    """The radiologist's ellipsoid formula: ``T x AP x CC x pi / 6``, mm -> mL.

    Parameters
    ----------
    transverse_mm, ap_mm, cc_mm : float or array
        The three diameters in mm, however they were measured (a mask, a
        reader's callipers).

    Returns
    -------
    float or numpy.ndarray
        Volume in mL.

    Raises
    ------
    ValueError
        If a diameter is negative, NaN or infinite (a calliper reading in the
        wrong field, or a failed measurement, would give a negative or NaN
        volume and, from it, a PSA density).

    Examples
    --------
    >>> round(ellipsoid_formula_ml(50, 35, 40), 1)
    36.7
    """
    diameters = [_lengths_mm(d, name) for d, name in
                 ((transverse_mm, "transverse_mm"), (ap_mm, "ap_mm"), (cc_mm, "cc_mm"))]
    return _scalar_or_array(np.prod(np.broadcast_arrays(*diameters), axis=0) * np.pi / 6.0 / 1000.0)


def _lengths_mm(x, name: str) -> np.ndarray:
    """``x`` as an array of lengths in mm, refused (naming ``name``) unless every one is finite and >= 0."""
    arr = _numbers(x, name)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be a length in mm (finite, >= 0), got {x!r}")
    return arr


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
        Measured volume in mL; must be >= 0 (0: nothing found, -100 %).

    Returns
    -------
    float or numpy.ndarray
        ``100 * (measured - reference) / reference``; positive means the
        measurement overestimates.

    Raises
    ------
    ValueError
        If the reference is not > 0, or a measured volume is negative, NaN or
        infinite (no volume can be; the error would look like a real one).

    Examples
    --------
    >>> volume_error_percent(50.0, 45.0)
    -10.0
    """
    ref = _numbers(reference_ml, "reference_ml")
    meas = _numbers(measured_ml, "measured_ml")
    if np.any(ref <= 0) or not np.all(np.isfinite(ref)):
        raise ValueError(f"reference_ml must be finite and > 0 mL, got {reference_ml!r}")
    if np.any(meas < 0) or not np.all(np.isfinite(meas)):
        raise ValueError(f"measured_ml must be a volume in mL (finite, >= 0), got {measured_ml!r}")
    return _scalar_or_array(100.0 * (meas - ref) / ref)


# RECIST lives in :mod:`medseg_edu.recist`; its names stay importable from here.
from .recist import longest_diameter_mm, recist_response, short_axis_mm  # noqa: E402
