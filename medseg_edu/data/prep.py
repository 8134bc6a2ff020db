"""Scan preparation: percentile normalisation (:func:`normalise`, the package's one
copy) and resampling between a scan's voxel grid and the fixed grid the networks use.

Networks see 2D axial slices at ``PIXEL_MM`` mm per pixel, ``GRID`` pixels
wide, centred on the field of view. Training and inference both go through
:func:`to_grid` / :func:`from_grid`, so a scan with any in-plane spacing is
seen at the same physical scale. A 2.5D network also sees each slice's
neighbours, ``CONTEXT_STEP_MM`` apart whatever the scan's slice spacing
(:func:`stack_slices`), so 3 mm and 4 mm scans mean the same thing to it.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .._checks import as_spacing, as_volume

PIXEL_MM = 1.25
GRID = 96
#: Distance (mm) between the slices a 2.5D network sees as its input channels.
CONTEXT_STEP_MM = 3.6


def normalise(image, *, inside=None, low=1, high=99, clip=False, dtype=np.float32):
    """Map a scan's ``low``-th and ``high``-th intensity percentiles to 0 and 1.

    MR intensities have no absolute unit, so every scan is put on the same
    footing before a method sees it. This is the package's one percentile
    normalisation: the networks (whole volume), the atlas registration
    (percentiles of the scanned field of view only, 0 outside) and the snakes
    (clipped to 0-1) all use it.

    Parameters
    ----------
    image : array_like
        Any shape, finite values.
    inside : array_like of bool, optional
        Same shape: only these voxels give the percentiles, and the result is
        0 everywhere else (e.g. grid points outside the scanned field of
        view). An empty ``inside`` maps the image as is (low 0, high 1).
    low, high : float
        Percentiles (0-100) that become 0 and 1.
    clip : bool
        Clip the result to 0-1.
    dtype : numpy dtype or None
        Precision the intensities are read in before the percentiles are
        taken (float32 by default); ``None`` keeps the input's dtype.

    Returns
    -------
    numpy.ndarray, same shape
        ``(image - p_low) / max(p_high - p_low, 1e-6)``. The percentiles are
        float64 (``numpy.percentile``), so the result is float64;
        :func:`to_grid` stores it as float32.
    """
    image = np.asarray(image) if dtype is None else np.asarray(image, dtype)
    if not np.all(np.isfinite(image)):
        raise ValueError("image contains NaN or infinite values; fix or mask them before normalising")
    if inside is None:
        values = image
    else:
        inside = np.asarray(inside, bool)
        if inside.shape != image.shape:
            raise ValueError(f"inside must have the image's shape {image.shape}, got {inside.shape}")
        values = image[inside]
    p_low, p_high = np.percentile(values, [low, high]) if values.size else (0.0, 1.0)
    out = (image - p_low) / max(float(p_high - p_low), 1e-6)
    if clip:
        out = np.clip(out, 0, 1)
    return out if inside is None else np.where(inside, out, 0.0)


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
    volume, spacing = as_volume(volume, spacing, name="volume", dtype=None)  # order 0 keeps the dtype
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
    spacing = as_spacing(spacing, 3)
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


def stack_slices(slices, slice_mm, *, context=1, step_mm=CONTEXT_STEP_MM):
    """Each grid slice with its neighbours ``step_mm`` mm apart as channels: the input of a 2.5D network.

    The neighbours are read at fixed distances (``-context * step_mm`` to
    ``+context * step_mm``) by linear interpolation between the scan's own slices,
    so a 3 mm and a 4 mm scan of the same anatomy give the same stack. Beyond the
    first and the last slice the nearest slice is repeated.

    Parameters
    ----------
    slices : np.ndarray, (z, H, W)
        Grid slices of one scan, in order (:func:`to_grid`).
    slice_mm : float
        The scan's slice spacing in mm.
    context : int
        Neighbours on each side (0: the slices themselves, one channel).
    step_mm : float
        Distance between neighbouring channels in mm.

    Returns
    -------
    np.ndarray, (z, 2 * context + 1, H, W), float32
        Channel ``context`` is the slice itself; lower channels lie below it (towards the feet).
    """
    slices = np.asarray(slices)
    if slices.ndim != 3 or len(slices) == 0:
        raise ValueError(f"expected grid slices of shape (z, H, W), got {slices.shape}")
    if not (np.isfinite(slice_mm) and slice_mm > 0):
        raise ValueError(f"slice_mm must be a positive slice spacing in mm, got {slice_mm!r}")
    if int(context) != context or context < 0:
        raise ValueError(f"context must be a whole number of neighbours >= 0, got {context!r}")
    n = len(slices)
    out = np.empty((n, 2 * int(context) + 1) + slices.shape[1:], np.float32)
    here = np.arange(n, dtype=np.float64)
    for c, offset in enumerate(range(-int(context), int(context) + 1)):
        position = np.clip(here + offset * step_mm / float(slice_mm), 0, n - 1)
        below = np.minimum(np.floor(position).astype(int), n - 1)
        above = np.minimum(below + 1, n - 1)
        share = (position - below).astype(np.float32)[:, None, None]
        out[:, c] = (1 - share) * slices[below] + share * slices[above]
    return out
