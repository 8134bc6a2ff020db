"""The :class:`Volume` every reader returns, and the error for a file that is not one (layer 1)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import as_spacing

__all__ = ["Volume", "VolumeFileError", "VolumeFileWarning"]


class VolumeFileError(ValueError):
    """A file exists but cannot be read as an image volume.

    The message names the file and the problem (not a NIfTI file, truncated
    or corrupt data, unusable affine). The original nibabel / gzip exception
    is kept as ``__cause__``.
    """


class VolumeFileWarning(UserWarning):
    """A file or folder that loads, but not quite as it should: a header that contradicts itself
    (:func:`~medseg_edu.io.load_volume`), files in a DICOM folder that were not read
    (:func:`~medseg_edu.io.read_dicom_series`). The message names the file(s).
    """


def _spatial_ndim(ndim: int) -> int:
    """Number of spatial axes of an array: 2 or 3 (a 4th axis is channels)."""
    return min(ndim, 3)


@dataclass
class Volume:
    """An image or label volume with its geometry.

    Parameters
    ----------
    array : numpy.ndarray
        Voxel values, 2D ``(x, y)``, 3D ``(x, y, z)`` or 4D ``(x, y, z, c)``.
        For 4D arrays the **last axis is channels** (e.g. MR sequences in the
        MSD prostate images: T2, ADC), not a spatial axis.
    spacing : tuple of float
        Voxel size in mm, one value per *spatial* axis: 2 values for a 2D
        array, 3 for 3D and 4D arrays.
    affine : numpy.ndarray, shape (4, 4)
        Voxel index -> world (scanner) coordinates in mm. Its first spatial
        columns should have lengths equal to ``spacing``;
        :func:`save_volume` refuses a volume where they disagree.
    """

    array: np.ndarray
    spacing: tuple
    affine: np.ndarray

    def __post_init__(self):
        if not isinstance(self.array, np.ndarray):
            raise TypeError(f"Volume.array must be a numpy array, got {type(self.array).__name__}")
        if self.array.ndim not in (2, 3, 4):
            raise ValueError(
                f"Volume.array must be 2D, 3D or 4D (x, y, z, channels), got shape {self.array.shape}"
            )
        self.spacing = as_spacing(
            self.spacing, _spatial_ndim(self.array.ndim), name="spacing", shape=self.array.shape
        )
        affine = np.asarray(self.affine, dtype=float)
        if affine.shape != (4, 4):
            raise ValueError(f"Volume.affine must be a 4x4 matrix, got shape {affine.shape}")
        if not np.all(np.isfinite(affine)):
            raise ValueError(f"Volume.affine contains non-finite values (NaN or inf):\n{affine}")
        self.affine = affine

    @property
    def shape(self) -> tuple:
        """Shape of :attr:`array`."""
        return self.array.shape

    @property
    def ndim(self) -> int:
        """Number of array axes (2, 3 or 4; a 4th axis is channels)."""
        return self.array.ndim

    @property
    def voxel_volume_mm3(self) -> float:
        """Volume of one voxel in mm^3 (product of :attr:`spacing`).

        For a 2D volume this is the pixel *area* in mm^2.
        """
        return float(np.prod(self.spacing))

    @classmethod
    def from_array(cls, array: np.ndarray, spacing, origin=None) -> "Volume":
        """Wrap an array with a diagonal (axis-aligned, RAS) affine.

        Parameters
        ----------
        array : numpy.ndarray
            2D, 3D or 4D (last axis channels) array, already in RAS order.
        spacing : sequence of float
            Voxel size in mm per spatial axis.
        origin : sequence of float, optional
            World position in mm of voxel ``(0, 0, 0)``; default all zeros.

        Returns
        -------
        Volume
        """
        if not isinstance(array, np.ndarray):
            raise TypeError(f"array must be a numpy array, got {type(array).__name__}")
        n = _spatial_ndim(array.ndim)
        spacing = as_spacing(spacing, n, name="spacing", shape=array.shape)
        affine = np.eye(4)
        affine[range(n), range(n)] = spacing
        if origin is not None:
            o = np.asarray(origin, dtype=float)
            if o.shape != (n,) or not np.all(np.isfinite(o)):
                raise ValueError(f"origin must be {n} finite numbers in mm, got {origin!r}")
            affine[:n, 3] = o
        return cls(array, spacing, affine)


def _mm(zoom) -> float:
    """A header voxel size as a float in mm, without float32 noise (3.5999999 -> 3.6)."""
    return round(float(zoom), 5)
