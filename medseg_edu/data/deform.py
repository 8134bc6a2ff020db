"""Smooth random deformations and warping (2D or 3D).

A displacement field ``d`` has shape ``(ndim, *shape)`` and is expressed in
**voxels** of the array it belongs to: ``warp(a, d)`` returns ``b`` with
``b[x] = a[x + d[:, x]]`` (pull-back / backward mapping, the convention of
:func:`scipy.ndimage.map_coordinates`). The registration notebook uses it to
make "other patients" from one phantom, and :mod:`medseg_edu.data.brain` to
shrink brain tissue.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .._checks import as_spacing
from .noise import smooth_fields

__all__ = ["random_displacement", "warp", "displacement_mm"]


def random_displacement(shape, spacing, *, magnitude_mm: float = 5.0,
                        smoothness_mm: float = 20.0, seed: int = 0) -> np.ndarray:
    """A smooth random displacement field, deterministic per ``seed``.

    Parameters
    ----------
    shape : tuple of int
        Array shape (2D ``(x, y)`` or 3D ``(x, y, z)``).
    spacing : sequence of float
        Voxel size in mm per axis (the field is smooth and isotropic in mm,
        whatever the voxel shape).
    magnitude_mm : float
        Largest displacement length in mm anywhere in the field (the field is
        scaled so its maximum is exactly this value). 0 gives a zero field.
    smoothness_mm : float
        Standard deviation in mm of the Gaussian that smooths the white
        noise: larger = gentler, more global deformation.
    seed : int
        Random seed.

    Returns
    -------
    numpy.ndarray, float32, shape ``(ndim, *shape)``
        Displacement in **voxels** along each axis (component ``i`` is in
        units of ``spacing[i]``), ready for :func:`warp`. Use
        :func:`displacement_mm` to get millimetres back.
    """
    shape = tuple(int(n) for n in shape)
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise ValueError(f"shape must be a 2D or 3D array shape, got {shape}")
    spacing = as_spacing(spacing, len(shape), shape=shape)
    if not np.isfinite(magnitude_mm) or magnitude_mm < 0:
        raise ValueError(f"magnitude_mm must be a finite number >= 0, got {magnitude_mm!r}")
    if not np.isfinite(smoothness_mm) or smoothness_mm <= 0:
        raise ValueError(f"smoothness_mm must be a finite number > 0, got {smoothness_mm!r}")

    rng = np.random.default_rng(seed)
    fields_mm = np.stack(smooth_fields(shape, spacing, smoothness_mm, rng, len(shape)))
    length = np.sqrt((fields_mm ** 2).sum(axis=0))
    peak = float(length.max())
    if peak > 0:
        fields_mm *= magnitude_mm / peak
    else:
        fields_mm[:] = 0.0
    sp = np.asarray(spacing).reshape((-1,) + (1,) * len(shape))
    return (fields_mm / sp).astype(np.float32)


def displacement_mm(displacement: np.ndarray, spacing) -> np.ndarray:
    """Convert a voxel displacement field ``(ndim, *shape)`` to mm (same shape)."""
    displacement = np.asarray(displacement)
    nd = displacement.shape[0]
    spacing = as_spacing(spacing, nd)
    return displacement * np.asarray(spacing).reshape((-1,) + (1,) * nd)


def warp(array: np.ndarray, displacement: np.ndarray, order: int = 1) -> np.ndarray:
    """Resample ``array`` through a displacement field: ``out[x] = array[x + d(x)]``.

    Parameters
    ----------
    array : numpy.ndarray
        2D or 3D image or label map.
    displacement : numpy.ndarray
        Shape ``(array.ndim, *array.shape)``, in voxels (see
        :func:`random_displacement`).
    order : int
        Spline order: 1 (linear, images, probability maps), 0 (nearest
        neighbour, label maps: values are copied, never blended, and the dtype
        is kept) or 3 (cubic). Outside the array the nearest edge value is
        used (``mode="nearest"``).

    Returns
    -------
    numpy.ndarray
        Same shape as ``array``. ``order=0`` keeps the dtype; otherwise the
        result is float32 for float32/integer/bool input and float64 for
        float64 input.
    """
    array = np.asarray(array)
    displacement = np.asarray(displacement)
    if array.ndim not in (2, 3):
        raise ValueError(f"warp expects a 2D or 3D array, got shape {array.shape}")
    if displacement.shape != (array.ndim,) + array.shape:
        raise ValueError(
            f"displacement must have shape {(array.ndim,) + array.shape} for an array of shape "
            f"{array.shape}, got {displacement.shape}"
        )
    if order not in (0, 1, 2, 3, 4, 5):
        raise ValueError(f"order must be an integer 0-5, got {order!r}")
    grid = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in array.shape], indexing="ij")
    coords = np.stack(grid) + displacement
    if order == 0:
        src = array.astype(np.uint8) if array.dtype == bool else array
        out = ndimage.map_coordinates(src, coords, order=0, mode="nearest", output=src.dtype)
        return out.astype(bool) if array.dtype == bool else out
    out_dtype = np.float64 if array.dtype == np.float64 else np.float32
    src = array.astype(out_dtype, copy=False)
    return ndimage.map_coordinates(src, coords, order=order, mode="nearest", output=out_dtype)
