"""Tumour and lymph-node size as the clinic measures it: RECIST 1.1 from masks (layer 1).

One home for the clinic's diameters and the categories read from them:

* the geometry of an axial outline (:func:`slice_outline_mm`,
  :func:`longest_chord`, :func:`chord_along_mm`, :func:`extent_along_mm`),
  which the simulated readers of :mod:`medseg_edu.data.readers` use too;
* :func:`longest_diameter_mm` (a lesion) and :func:`short_axis_mm` (a lymph
  node), measured on a mask;
* :func:`recist_response` (sums of diameters), :func:`node_category` (short
  axis) and :func:`volume_response` (the same categories read from volumes).

Masks are indexed ``(x, y, z)``; an axial slice is ``mask[:, :, k]``;
``spacing`` is the voxel size in mm per axis.

The outline of a slice is the convex hull of the *corners* of its foreground
pixels, so a pixel counts with its full extent. A chord is a segment between
two points of that outline: what a radiologist's callipers span. Concave
lesions are measured across their hull, edge to edge, as callipers are.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_mask, as_spacing

__all__ = [
    "slice_outline_mm",
    "longest_chord",
    "chord_along_mm",
    "extent_along_mm",
    "longest_diameter_mm",
    "short_axis_mm",
    "recist_response",
    "node_category",
    "volume_response",
    "NODE_CATEGORIES",
    "RECIST_PR_DECREASE",
    "RECIST_PD_INCREASE",
    "RECIST_PD_ABSOLUTE_MM",
    "VOLUME_PR_DECREASE",
    "VOLUME_PD_INCREASE",
]

RECIST_PR_DECREASE = 0.30    # partial response: at least 30 % below the baseline sum
RECIST_PD_INCREASE = 0.20    # progression: at least 20 % above the smallest sum so far (nadir) ...
RECIST_PD_ABSOLUTE_MM = 5.0  # ... and at least 5 mm more in absolute terms

#: Lymph-node classes by short axis (mm), RECIST 1.1: [low, high).
NODE_CATEGORIES = {"normal": (0.0, 10.0), "borderline": (10.0, 15.0), "enlarged": (15.0, np.inf)}

#: Volume changes a sphere shows at RECIST's diameter thresholds: (1 - 0.3)^3 - 1 and 1.2^3 - 1.
VOLUME_PR_DECREASE = 1.0 - (1.0 - RECIST_PR_DECREASE) ** 3   # 0.657
VOLUME_PD_INCREASE = (1.0 + RECIST_PD_INCREASE) ** 3 - 1.0   # 0.728

# Two diameters closer than this (mm) are equally long: floating-point noise, not anatomy.
_TIE_MM = 1e-6
# Relative tolerance of the response thresholds: a sum exactly on a threshold (-30 %, +20 %,
# +5 mm) reaches it, whatever floating-point rounding does to 0.7 * 11 or 16.4 - 11.4 (an error
# of about 1e-16 of the sum, far below anything a calliper can read).
_THRESHOLD_RTOL = 1e-9
_PIXEL_CORNERS = ((-0.5, -0.5), (-0.5, 0.5), (0.5, -0.5), (0.5, 0.5))


# --------------------------------------------------------------------------- outline geometry

def slice_outline_mm(slice_mask, spacing_xy) -> np.ndarray:
    """Outline of one axial slice: the convex hull of its pixels' corners, in mm.

    Parameters
    ----------
    slice_mask : numpy.ndarray of bool
        2D mask ``(x, y)`` with at least one foreground pixel.
    spacing_xy : 2 floats
        Pixel size in mm.

    Returns
    -------
    numpy.ndarray, shape (n, 2)
        Hull vertices in mm, counter-clockwise.
    """
    from scipy import ndimage
    from scipy.spatial import ConvexHull

    edge = slice_mask & ~ndimage.binary_erosion(slice_mask)  # an inner pixel's corners are never on the hull
    ij = np.argwhere(edge)
    corners = np.concatenate([ij + offset for offset in _PIXEL_CORNERS])
    points = np.unique(corners, axis=0) * np.asarray(spacing_xy, float)
    return points[ConvexHull(points).vertices]  # pixel corners always span an area: never degenerate


def _unit(direction) -> np.ndarray:
    d = np.asarray(direction, float)
    return d / np.hypot(*d)


def longest_chord(outline) -> tuple[float, np.ndarray]:
    """The longest chord of an outline: (length in mm, unit direction).

    The longest segment between two outline points joins two hull vertices.
    When several are equally long (a square's two diagonals), the one whose
    perpendicular chord is longest wins, so a node's short axis is never
    read from the narrower of two equal long axes.

    Parameters
    ----------
    outline : numpy.ndarray, shape (n, 2)
        Hull vertices in mm (:func:`slice_outline_mm`).
    """
    return _longest_chords(outline)[0]


def _longest_chords(outline):
    """The longest chord and its perpendicular chord: ((length, direction), perpendicular mm)."""
    diff = outline[:, None, :] - outline[None, :, :]
    dist = np.hypot(diff[..., 0], diff[..., 1])
    longest = float(dist.max())
    best = None
    for i, j in zip(*np.nonzero(np.triu(dist >= longest - _TIE_MM))):
        direction = diff[i, j] / dist[i, j]
        across = chord_along_mm(outline, (-direction[1], direction[0]))
        if best is None or across > best[1] + _TIE_MM:
            best = ((longest, direction), across)
    return best


def chord_along_mm(outline, direction) -> float:
    """Longest chord of a convex outline parallel to ``direction``, in mm.

    A chord's length, as its line slides across a convex outline, rises and
    falls linearly between vertices, so the longest one passes through a
    vertex: each vertex's line is cut with every edge and the longest cut
    is kept.

    Parameters
    ----------
    outline : numpy.ndarray, shape (n, 2)
        Hull vertices in mm, in order around the hull.
    direction : 2 floats
        Direction of the chord (any length).

    Examples
    --------
    >>> import numpy as np
    >>> rectangle = np.array([[0, 0], [30, 0], [30, 10], [0, 10]], float)   # 30 x 10 mm
    >>> diagonal = rectangle[2] - rectangle[0]
    >>> round(chord_along_mm(rectangle, (-diagonal[1], diagonal[0])), 2)   # across the diagonal
    10.54
    """
    along_dir = _unit(direction)
    across_dir = np.array([-along_dir[1], along_dir[0]])
    along, across = outline @ along_dir, outline @ across_dir
    a_along, b_along = along, np.roll(along, -1)          # edge i runs from vertex i to vertex i + 1
    a_across, b_across = across, np.roll(across, -1)
    offsets = across[:, None]                             # one line through each vertex
    span = b_across - a_across
    flat = np.abs(span) < 1e-12                           # an edge lying on the line: both ends count
    t = np.clip((offsets - a_across) / np.where(flat, 1.0, span), 0.0, 1.0)
    cut = a_along + t * (b_along - a_along)
    hit = (np.minimum(a_across, b_across) <= offsets + 1e-9) & (offsets - 1e-9 <= np.maximum(a_across, b_across))
    low = np.where(hit, np.where(flat, np.minimum(a_along, b_along), cut), np.inf).min(axis=1)
    high = np.where(hit, np.where(flat, np.maximum(a_along, b_along), cut), -np.inf).max(axis=1)
    return float(np.max(high - low))


def extent_along_mm(outline, direction) -> float:
    """Width of an outline along ``direction`` (mm): the distance between two parallel tangents.

    What a calliper laid along ``direction`` reads when its ends are placed
    at the outline's extremes (the ellipsoid formula's diameters); not a
    chord: for a rectangle's diagonal direction it is longer than any chord
    across it.
    """
    projection = outline @ _unit(direction)
    return float(projection.max() - projection.min())


# --------------------------------------------------------------------------- diameters from a mask

def _mask3d(mask, spacing, func: str):
    m = as_mask(mask, name="mask")
    if m.ndim != 3:
        raise ValueError(f"{func} needs a 3D mask indexed (x, y, z), got shape {m.shape}")
    return m, as_spacing(spacing, 3, name="spacing", shape=m.shape)


def _axial_diameters(mask, spacing, func):
    """(longest diameter, its perpendicular chord) on the slice with the longest diameter (mm).

    Ties between slices are broken as within one (:func:`longest_chord`).
    """
    m, sp = _mask3d(mask, spacing, func)
    best = (0.0, 0.0)
    for k in np.flatnonzero(m.any(axis=(0, 1))):
        (long_mm, _), across_mm = _longest_chords(slice_outline_mm(m[:, :, k], sp[:2]))
        if long_mm > best[0] + _TIE_MM or (long_mm >= best[0] - _TIE_MM and across_mm > best[1]):
            best = (long_mm, across_mm)
    return best


def longest_diameter_mm(mask: np.ndarray, spacing) -> float:
    """RECIST 1.1 measure of a lesion: its longest in-plane (axial) diameter on any slice, in mm.

    On every axial slice the outline is :func:`slice_outline_mm` and the
    diameter its :func:`longest_chord`, whatever the direction, so a rotated
    lesion measures the same. The longest over all slices is returned.

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
    """Short axis of a lymph node (RECIST 1.1), in mm: the longest chord perpendicular to the long axis.

    Measured on the axial slice of :func:`longest_diameter_mm`: among the
    chords of the outline perpendicular to the longest diameter, the longest
    (:func:`chord_along_mm`). Not the outline's width across the long axis:
    for a 30 x 10 mm rectangle, whose long axis is its diagonal, the width
    across it is 19.0 mm but the perpendicular chord 10.5 mm. Normal pelvic
    nodes are < 10 mm, nodes of 15 mm and more count as pathological targets
    (:func:`node_category`). When two long axes are equally long, the one
    with the longer short axis is used (:func:`longest_chord`).

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


# --------------------------------------------------------------------------- categories

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
    A sum exactly on a threshold reaches it (exactly -30 % is PR, exactly
    +20 % with at least 5 mm is PD): the comparisons allow a relative
    floating-point error of 1e-9, so ``0.7 * 11`` falling a hair below 7.7
    does not turn a partial response into stable disease.

    Only the sums of target diameters are modelled. RECIST 1.1 also weighs
    what this function does not see: a new lesion, or unequivocal progression
    of the non-target lesions, is PD whatever the sums; and CR needs every
    pathological lymph node (target or not) back below 10 mm short axis, not
    a sum of 0 (a target node's short axis stays in the sum), so with nodes
    among the targets a CR can have a sum above 0, which this function calls
    PR or SD.

    Parameters
    ----------
    baseline_mm, followup_mm : float
        Sums of diameters (mm) at baseline (> 0) and now (>= 0).
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
    >>> recist_response(11, 7.7), recist_response(11.4, 16.4)    # exactly -30 %; exactly +5 mm (+44 %)
    ('PR', 'PD')
    """
    values = {"baseline_mm": baseline_mm, "followup_mm": followup_mm,
              "nadir_mm": baseline_mm if nadir_mm is None else nadir_mm}
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a sum of diameters in mm (a finite number >= 0), got {value!r}")
    baseline, followup, nadir = (float(v) for v in values.values())
    if baseline == 0:   # every follow-up would be "CR" or "PD" against nothing
        raise ValueError("baseline_mm is 0: there is no target lesion to follow (RECIST 1.1 needs at least one "
                         "measurable lesion, >= 10 mm, at baseline; an empty baseline mask gives 0)")
    if nadir > baseline:
        raise ValueError(f"nadir_mm ({nadir:g}) is the smallest sum so far, so it cannot exceed "
                         f"baseline_mm ({baseline:g})")
    if followup == 0:
        return "CR"
    if _reaches(followup, nadir * (1 + RECIST_PD_INCREASE)) and _reaches(followup, nadir + RECIST_PD_ABSOLUTE_MM):
        return "PD"
    if _reaches(baseline * (1 - RECIST_PR_DECREASE), followup):
        return "PR"
    return "SD"


def _reaches(value, threshold) -> bool:
    """``value >= threshold``, counting a relative difference below :data:`_THRESHOLD_RTOL` as equal."""
    return value >= threshold - _THRESHOLD_RTOL * max(abs(value), abs(threshold))


def node_category(short_axis_mm) -> str:
    """Class of a lymph node by its short axis (RECIST 1.1): "normal", "borderline" or "enlarged".

    < 10 mm normal; 10 to < 15 mm "borderline" (pathological, but not a
    measurable target); >= 15 mm "enlarged" (a measurable target).

    Examples
    --------
    >>> node_category(8.0), node_category(12.0), node_category(15.0)
    ('normal', 'borderline', 'enlarged')
    """
    if isinstance(short_axis_mm, bool) or not np.isfinite(short_axis_mm) or short_axis_mm < 0:
        raise ValueError(f"short_axis_mm must be a length in mm >= 0, got {short_axis_mm!r}")
    for name, (low, high) in NODE_CATEGORIES.items():
        if low <= short_axis_mm < high:
            return name
    raise AssertionError("unreachable")  # the categories cover [0, inf)


def volume_response(baseline_ml, followup_ml) -> str:
    """Response category from volumes, with the thresholds a sphere shows at the RECIST ones.

    ``"CR"`` when the follow-up volume is 0; ``"PD"`` when it grew by at least
    :data:`VOLUME_PD_INCREASE` (72.8 %, a 20 % larger diameter); ``"PR"`` when it fell
    by at least :data:`VOLUME_PR_DECREASE` (65.7 %, a 30 % smaller diameter); else
    ``"SD"``. A teaching rule (volumetric criteria of this kind are proposed, not
    RECIST 1.1); baseline only, no nadir.

    Parameters
    ----------
    baseline_ml, followup_ml : float
        Volumes in mL; the baseline > 0, the follow-up >= 0.

    Examples
    --------
    >>> volume_response(10.0, 3.0), volume_response(10.0, 18.0), volume_response(10.0, 16.0)
    ('PR', 'PD', 'SD')
    """
    for name, value in (("baseline_ml", baseline_ml), ("followup_ml", followup_ml)):
        if isinstance(value, bool) or not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a volume in mL (a finite number >= 0), got {value!r}")
    if baseline_ml <= 0:
        raise ValueError(f"baseline_ml must be > 0 mL, got {baseline_ml!r}")
    change = followup_ml / baseline_ml - 1.0
    if followup_ml == 0:
        return "CR"
    if change >= VOLUME_PD_INCREASE - 1e-12:
        return "PD"
    if change <= -VOLUME_PR_DECREASE + 1e-12:
        return "PR"
    return "SD"
