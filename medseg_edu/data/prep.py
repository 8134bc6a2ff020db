"""Resampling between a scan's voxel grid and the fixed grid the networks use.

Networks see 2D axial slices at ``PIXEL_MM`` mm per pixel, ``GRID`` pixels
wide, centred on the field of view. Training and inference both go through
:func:`to_grid` / :func:`from_grid`, so a scan with any in-plane spacing is
seen at the same physical scale.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

PIXEL_MM = 1.25
GRID = 96


def normalise(image):
    """Map a volume's 1st-99th intensity percentiles to 0-1 (float32).

    MR intensities have no absolute unit, so every scan is put on the same
    footing before a network sees it.
    """
    image = np.asarray(image, np.float32)
    if not np.all(np.isfinite(image)):
        raise ValueError("image contains NaN or infinite values; fix or mask them before normalising")
    low, high = np.percentile(image, [1, 99])
    return (image - low) / max(float(high - low), 1e-6)


def _check(volume, spacing):
    volume = np.asarray(volume)
    if volume.ndim != 3:
        raise ValueError(f"expected a 3D volume (x, y, z), got shape {volume.shape}")
    spacing = tuple(float(s) for s in spacing)
    if len(spacing) != 3 or not all(np.isfinite(s) and s > 0 for s in spacing):
        raise ValueError(f"spacing must be three positive voxel sizes in mm, got {spacing}")
    return volume, spacing


def to_grid(volume, spacing, *, size=GRID, pixel_mm=PIXEL_MM, order=1):
    """Resample every axial slice of ``volume`` onto the network grid.

    Parameters
    ----------
    volume : np.ndarray, shape (x, y, z)
    spacing : tuple of 3 float, mm
    size : int
        Output slices are ``size x size`` pixels, centred on the field of view.
    pixel_mm : float
        Output pixel size in mm.
    order : int
        Interpolation order (1 for images, 0 for label maps).

    Returns
    -------
    np.ndarray, shape (z, size, size), float32 (or the input dtype for order 0)
    """
    volume, spacing = _check(volume, spacing)
    centre_in = (np.array(volume.shape[:2]) - 1) / 2.0
    step = np.array([pixel_mm / spacing[0], pixel_mm / spacing[1]])
    offset = centre_in - step * (size - 1) / 2.0
    out = ndimage.affine_transform(
        volume.astype(np.float32) if order else volume, np.array([step[0], step[1], 1.0]),
        offset=(offset[0], offset[1], 0.0), output_shape=(size, size, volume.shape[2]),
        order=order, mode="constant", cval=0.0, prefilter=False)
    return np.ascontiguousarray(out.transpose(2, 0, 1))


def from_grid(slices, shape, spacing, *, pixel_mm=PIXEL_MM, order=1):
    """Inverse of :func:`to_grid`: (z, size, size) slices back onto the scan's grid.

    Outside the network's field of view the result is 0.
    """
    slices = np.asarray(slices)
    if slices.ndim != 3 or slices.shape[1] != slices.shape[2]:
        raise ValueError(f"expected slices of shape (z, size, size), got {slices.shape}")
    shape = tuple(int(n) for n in shape)
    _, spacing = _check(np.empty((1, 1, 1)), spacing)
    if slices.shape[0] != shape[2]:
        raise ValueError(f"{slices.shape[0]} slices do not fit a volume of shape {shape}")
    size = slices.shape[1]
    step = np.array([spacing[0] / pixel_mm, spacing[1] / pixel_mm])
    centre_in = (np.array(shape[:2]) - 1) / 2.0
    offset = (size - 1) / 2.0 - step * centre_in
    return ndimage.affine_transform(
        slices.transpose(1, 2, 0).astype(np.float32), np.array([step[0], step[1], 1.0]),
        offset=(offset[0], offset[1], 0.0), output_shape=shape, order=order,
        mode="constant", cval=0.0, prefilter=False)
