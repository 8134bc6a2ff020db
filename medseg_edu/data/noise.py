"""Smooth random fields and Rician noise: the randomness every data generator draws.

Two kinds of smooth field, both drawn as white noise on a coarse grid,
smoothed there and interpolated up (cheap on big volumes, smooth in mm
whatever the voxel shape):

* :func:`smooth_noise`: one zero-mean, unit-SD float32 field with correlation
  length ``scale_mm``, linear interpolation. Tissue texture
  (:func:`~medseg_edu.data.render.render_mr`) and random blobs (the
  phantom's venous plexus).
* :func:`smooth_fields`: ``n_fields`` float64 fields of Gaussian-smoothed
  white noise (sigma ``smoothness_mm``), cubic-spline interpolation, raw
  amplitude for the caller to scale. Displacement fields
  (:mod:`~medseg_edu.data.deform`), the atrophy-rate map and the bias field
  of the brain rescans (:mod:`~medseg_edu.data.brain`).

They stay two functions because every phantom, rendered image and brain scan
depends on their exact random numbers: the same seed must keep giving the
same data.

:func:`rician_noise` adds MR magnitude noise (prostate phantoms and brain scans).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["rician_noise", "smooth_fields", "smooth_noise"]


def smooth_noise(shape, spacing, scale_mm, rng, *, coarse=3):
    """Zero-mean, unit-SD Gaussian random field with correlation length ``scale_mm``.

    Drawn on a coarse grid (``coarse`` knots per ``scale_mm``), smoothed there
    (periodic boundaries) and linearly interpolated up.

    Parameters
    ----------
    shape : tuple of int
        Grid shape, any number of axes.
    spacing : sequence of float
        Voxel size in mm, one per axis.
    scale_mm : float
        Correlation length in mm (the size of the blobs).
    rng : numpy.random.Generator
        Source of the white noise (one ``standard_normal`` draw).
    coarse : int
        Knots per ``scale_mm`` on the coarse grid.

    Returns
    -------
    numpy.ndarray, float32, ``shape``
        Mean 0, standard deviation 1 (unless the field is constant).
    """
    knot_mm = scale_mm / coarse
    small_shape = [int(np.ceil(n * s / knot_mm)) + 2 for n, s in zip(shape, spacing)]
    field = rng.standard_normal(small_shape).astype(np.float32)
    field = ndimage.gaussian_filter(field, coarse / 2.0, mode="wrap")
    field = _upsample(field, [_linear_upsampler(n, s / knot_mm, c)
                              for n, s, c in zip(shape, spacing, small_shape)])
    field -= field.mean()
    sd = field.std()
    return field / sd if sd > 0 else field


def smooth_fields(shape, spacing, smoothness_mm, rng, n_fields=1):
    """``n_fields`` Gaussian-smoothed white-noise fields on the grid ``shape``.

    The noise is drawn on a coarse grid (about 4 coarse points per sigma,
    never finer than the image grid), smoothed there with sigma =
    ``smoothness_mm`` (reflecting boundaries) and interpolated (cubic spline)
    onto the full grid. This keeps large smoothness values fast on big 3D
    volumes.

    Parameters
    ----------
    shape, spacing
        As for :func:`smooth_noise`.
    smoothness_mm : float
        Standard deviation of the smoothing Gaussian, mm.
    rng : numpy.random.Generator
        Source of the white noise: one ``standard_normal`` draw per field,
        in order.
    n_fields : int
        How many independent fields.

    Returns
    -------
    list of numpy.ndarray, float64, ``shape``
        Raw smoothed noise (not rescaled: the caller sets the amplitude).
    """
    shape = tuple(int(n) for n in shape)
    spacing = np.asarray(spacing, dtype=float)
    extent = (np.array(shape) - 1) * spacing                 # mm covered by voxel centres
    step = np.maximum(spacing, smoothness_mm / 4.0)           # coarse spacing, mm
    coarse_shape = tuple(int(np.ceil(e / s)) + 1 for e, s in zip(extent, step))
    sigma = smoothness_mm / step                              # coarse voxels
    # separable cubic-spline interpolation coarse -> fine, one matrix per axis
    mats = [_spline_upsampler(n, c, np.arange(n) * sp / st)
            for n, c, sp, st in zip(shape, coarse_shape, spacing, step)]
    return [_upsample(ndimage.gaussian_filter(rng.standard_normal(coarse_shape), sigma, mode="reflect"), mats)
            for _ in range(n_fields)]


def rician_noise(image, sd, rng):
    """MR magnitude noise: ``|image + n1 + i n2|`` with ``n1, n2`` Gaussian of standard deviation ``sd``.

    An MR image is the magnitude of a complex signal whose real and imaginary
    channels both carry Gaussian noise, so dark regions get a positive floor
    and bright ones nearly Gaussian noise.

    Parameters
    ----------
    image : numpy.ndarray
        Noise-free intensities.
    sd : float
        Noise standard deviation in image units.
    rng : numpy.random.Generator
        Draws the real channel's noise, then the imaginary one's, in the
        image's precision (float32 for a float32 image, float64 otherwise).

    Returns
    -------
    numpy.ndarray, same shape, float32 or float64 like the draws
    """
    dtype = np.float32 if image.dtype == np.float32 else np.float64
    real = image + rng.standard_normal(image.shape, dtype=dtype) * sd
    imag = rng.standard_normal(image.shape, dtype=dtype) * sd
    return np.sqrt(real * real + imag * imag)


def _upsample(field, matrices):
    """Apply one interpolation matrix (fine x coarse) along each axis of ``field``."""
    for axis, m in enumerate(matrices):
        field = np.moveaxis(np.tensordot(m, field, axes=([1], [axis])), 0, axis)
    return field


def _linear_upsampler(n_fine, step, n_coarse):
    """Matrix that linearly interpolates ``n_coarse`` knots at ``n_fine`` points ``step`` apart."""
    position = np.arange(n_fine) * step
    low = np.minimum(np.floor(position).astype(int), n_coarse - 2)
    frac = (position - low).astype(np.float32)
    matrix = np.zeros((n_fine, n_coarse), np.float32)
    matrix[np.arange(n_fine), low] = 1.0 - frac
    matrix[np.arange(n_fine), low + 1] = frac
    return matrix


def _spline_upsampler(n_fine, n_coarse, positions):
    """Matrix (n_fine x n_coarse) of cubic-spline interpolation at ``positions``."""
    out = np.empty((n_fine, n_coarse))
    coords = positions[np.newaxis, :]
    for j in range(n_coarse):
        e = np.zeros(n_coarse)
        e[j] = 1.0
        out[:, j] = ndimage.map_coordinates(e, coords, order=3 if n_coarse > 3 else 1, mode="nearest")
    return out
