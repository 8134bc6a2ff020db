"""Mask operations sized in millimetres, shared by the methods (layer 1: numpy, scikit-image).

* :func:`largest_component` - the biggest face-connected piece of a mask, the
  classic clean-up after a threshold or a network's probability map;
* :func:`ball` - a ball-shaped structuring element of a radius in mm on a
  (possibly anisotropic) voxel grid, for opening, closing and dilation.
"""

from __future__ import annotations

import numpy as np
from skimage.measure import label

from ._checks import as_mask, as_spacing

__all__ = ["ball", "largest_component"]


def largest_component(mask) -> np.ndarray:
    """The largest face-connected component of a mask (empty in, empty out).

    Parameters
    ----------
    mask : numpy.ndarray
        Boolean mask or label map, any number of axes; a value ``> 0`` is
        foreground (see :func:`medseg_edu._checks.as_mask`).

    Returns
    -------
    numpy.ndarray of bool
        Same shape; a new array, also when the mask has one component or none.
        Two neighbouring voxels belong to one component only when they share a
        face (6-connectivity in 3D, ``skimage.measure.label(connectivity=1)``);
        of equally large components the one met first in C order is kept.
    """
    mask = as_mask(np.asarray(mask), name="mask")
    out = np.zeros(mask.shape, bool)
    if not mask.any():
        return out
    # label only the box around the foreground: masks are mostly background, and a shift
    # keeps the C order in which components are met (so the same one wins a tie)
    box = tuple(slice(hits[0], hits[-1] + 1) for hits in
                (np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != axis)))
                 for axis in range(mask.ndim)))
    labelled = label(mask[box], connectivity=1)
    sizes = np.bincount(labelled.ravel())
    sizes[0] = 0
    out[box] = labelled == int(np.argmax(sizes))
    return out


#: Largest footprint :func:`ball` builds (about a 100 mm radius on 0.6 x 0.6 x 3.6 mm voxels is 6 million).
MAX_BALL_VOXELS = 2 ** 24


def ball(spacing, radius_mm: float, *, edge_tolerance: float = 1e-9) -> np.ndarray:
    """All voxels within ``radius_mm`` of the centre voxel, on a grid of voxel size ``spacing``.

    Parameters
    ----------
    spacing : sequence of float
        Voxel size in mm, one per axis (2 values give a disc, 3 a ball).
    radius_mm : float
        Radius in mm (>= 0). Along an axis whose voxels are thicker than the
        radius (e.g. 3.6 mm slices, 2 mm radius) the ball is one voxel thick,
        so an operation with it acts slice by slice there.
    edge_tolerance : float
        How far (in voxels) ``radius_mm / spacing`` may fall short of a whole
        number and still reach that voxel along the axis. The default absorbs
        floating-point rounding (``1.2 / 0.4`` is ``2.9999999999999996``), so a
        voxel exactly ``radius_mm`` away is inside on every axis.
        :func:`medseg_edu.data.render.render_mr` passes 0, which keeps the
        capsule it draws identical to earlier releases (at such spacings its
        ball leaves out the two voxels exactly ``radius_mm`` away along the axis).

    Returns
    -------
    numpy.ndarray of bool
        Odd size along every axis, centred; True within ``radius_mm``
        (plus 1e-9 mm^2 of rounding slack).

    Raises
    ------
    ValueError
        For a negative or non-finite radius, or one whose ball would exceed
        :data:`MAX_BALL_VOXELS` voxels (a radius typed in micrometres).
    """
    spacing = as_spacing(spacing, len(spacing))
    if not (np.isfinite(radius_mm) and radius_mm >= 0):
        raise ValueError(f"radius_mm must be a finite number of mm >= 0, got {radius_mm!r}")
    half = [max(0, int(np.floor(radius_mm / s + edge_tolerance))) for s in spacing]
    size = [2 * h + 1 for h in half]
    if np.prod(size, dtype=float) > MAX_BALL_VOXELS:   # before allocating: a kernel on Binder would die
        raise ValueError(f"a ball of radius_mm={radius_mm!r} on {tuple(spacing)} mm voxels needs "
                         f"{' x '.join(map(str, size))} voxels (limit {MAX_BALL_VOXELS:,}): is the radius in mm?")
    axes = [np.arange(-h, h + 1) * s for h, s in zip(half, spacing)]
    grids = np.meshgrid(*axes, indexing="ij")
    return sum(g ** 2 for g in grids) <= radius_mm ** 2 + 1e-9
