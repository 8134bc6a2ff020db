"""NIfTI in/out with nibabel: :func:`load_volume` and :func:`save_volume` (layer 1)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.orientations import io_orientation

from .volume import Volume, VolumeFileError, _mm, _spatial_ndim

__all__ = ["MM_PER_NIFTI_UNIT", "load_volume", "save_volume"]


def _reads_as_float(img) -> bool:
    """True if the stored data are floats or carry a scl_slope/scl_inter scaling."""
    if np.issubdtype(img.get_data_dtype(), np.floating):
        return True
    slope = getattr(img.dataobj, "slope", 1.0)
    inter = getattr(img.dataobj, "inter", 0.0)
    return not (slope == 1.0 and inter == 0.0)


def _canonical_2d(img, mm_per_unit=1.0):
    """Reorient a 2D image to RAS by viewing it as a one-slice 3D image.

    Returns the 2D array, its 2 zooms and a 4x4 affine whose first two
    columns belong to the kept axes.
    """
    data3 = np.asanyarray(img.dataobj)[..., np.newaxis]
    img3 = nib.Nifti1Image(data3, img.affine, dtype=data3.dtype)
    dropped = int(io_orientation(img.affine)[2, 0])  # where the added axis ends up
    can = nib.as_closest_canonical(img3)
    kept = [ax for ax in range(3) if ax != dropped]
    array = np.squeeze(np.asanyarray(can.dataobj), axis=dropped)
    zooms = tuple(_mm(can.header.get_zooms()[ax] * mm_per_unit) for ax in kept)
    affine = can.affine[:, kept + [dropped, 3]]
    return array, zooms, affine


def load_volume(path, canonical: bool = True) -> Volume:
    """Load a NIfTI file (``.nii`` or ``.nii.gz``) as a :class:`Volume`.

    Parameters
    ----------
    path : str or pathlib.Path
        File to read.
    canonical : bool
        If True (default) reorient to the closest canonical RAS orientation
        with :func:`nibabel.as_closest_canonical` (only axis permutations and
        flips, no resampling). A file storing the same anatomy with permuted
        or flipped axes and the matching affine then loads to an identical
        array and spacing.

    Returns
    -------
    Volume
        ``array`` is 2D for 2D files, 3D for 3D files, 4D ``(x, y, z, c)``
        for 4D files (the last axis is channels, e.g. MSD prostate T2/ADC;
        only the 3 spatial axes are reoriented). ``spacing`` (mm) has one
        value per spatial axis, read from the (canonical) image's zooms.
        Integer files without intensity scaling keep their integer dtype
        (label maps stay ``uint8``/``int16``...); float files and files with
        ``scl_slope``/``scl_inter`` scaling load as ``float32``. NaN voxel
        values are kept as they are. A header that states its spatial unit
        as metres or microns is converted: ``spacing`` and ``affine`` are
        always in mm.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    VolumeFileError
        If the file is not a NIfTI file, is truncated or corrupt, or has a
        non-finite or singular affine.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No such image file: '{path}'")
    if path.is_dir():
        raise VolumeFileError(f"'{path}' is a directory, not a NIfTI file")

    try:
        img = nib.load(str(path))
    except Exception as err:  # nibabel raises many types for unreadable files
        raise VolumeFileError(
            f"Cannot read '{path}': not a NIfTI file, or its header is truncated or corrupt "
            f"({type(err).__name__}: {err})"
        ) from err
    if not hasattr(img, "affine") or not hasattr(img, "dataobj"):
        raise VolumeFileError(f"'{path}' is not a NIfTI image file (nibabel read it as {type(img).__name__})")

    ndim = len(img.shape)
    if ndim not in (2, 3, 4):
        raise VolumeFileError(
            f"'{path}' has {ndim} dimensions (shape {img.shape}); expected 2D, 3D or 4D (x, y, z, channels)"
        )
    affine = img.affine
    if affine is None or not np.all(np.isfinite(affine)):
        raise VolumeFileError(f"'{path}' has a non-finite (NaN/inf) affine:\n{affine}")
    if abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise VolumeFileError(f"'{path}' has a singular affine (a zero voxel size?):\n{affine}")

    as_float = _reads_as_float(img)
    # Voxel sizes and the affine are in the file's own spatial unit; everything here is mm.
    factor = _mm_per_unit(img)
    # Data are read lazily: a truncated file often only fails here.
    try:
        if ndim == 2 and canonical:
            array, zooms, affine = _canonical_2d(img, factor)
            if as_float:
                array = array.astype(np.float32, copy=False)
        else:
            if canonical:
                img = nib.as_closest_canonical(img)
            if as_float:
                array = img.get_fdata(dtype=np.float32)
            else:
                array = np.asanyarray(img.dataobj)
            zooms = tuple(_mm(z * factor) for z in img.header.get_zooms()[: _spatial_ndim(ndim)])
            affine = img.affine
    except Exception as err:
        raise VolumeFileError(
            f"Cannot read the image data of '{path}': the file is truncated or corrupt "
            f"({type(err).__name__}: {err})"
        ) from err

    array = np.asarray(array)
    if factor != 1.0:
        affine = np.array(affine, dtype=float)
        affine[:3, :] *= factor
    try:
        return Volume(array, zooms, affine)
    except ValueError as err:
        raise VolumeFileError(f"'{path}' has an unusable geometry: {err}") from err


def save_volume(volume: Volume, path) -> Path:
    """Write a :class:`Volume` to a NIfTI file.

    Parameters
    ----------
    volume : Volume
        Volume to write. ``bool`` arrays are stored as ``uint8`` (0/1);
        ``float16`` as ``float32``; other dtypes as they are.
    path : str or pathlib.Path
        Target file, normally ending in ``.nii.gz`` (compressed) or ``.nii``.
        Missing parent directories are created.

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    ValueError
        If ``volume.spacing`` disagrees with the voxel sizes implied by
        ``volume.affine`` (the file would contradict itself).
    """
    if not isinstance(volume, Volume):
        raise TypeError(f"save_volume expects a Volume, got {type(volume).__name__}")
    path = Path(path)
    array = volume.array
    if array.dtype == bool:
        array = array.astype(np.uint8)
    elif array.dtype == np.float16:
        array = array.astype(np.float32)

    n = _spatial_ndim(array.ndim)
    col_norms = np.sqrt((volume.affine[:3, :n] ** 2).sum(axis=0))
    if not np.allclose(col_norms, volume.spacing, rtol=1e-4, atol=1e-6):
        raise ValueError(
            f"spacing {volume.spacing} mm does not match the voxel sizes of the affine "
            f"{tuple(float(c) for c in col_norms)} mm; fix one of them before saving to '{path}'"
        )

    img = nib.Nifti1Image(array, volume.affine, dtype=array.dtype)
    zooms = list(volume.spacing) + [1.0] * (array.ndim - n)
    img.header.set_zooms(zooms)
    img.header.set_xyzt_units("mm")
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(img, str(path))
    return path


#: Millimetres per NIfTI spatial unit; "unknown" is read as mm, as NIfTI tools do.
MM_PER_NIFTI_UNIT = {"mm": 1.0, "meter": 1000.0, "micron": 0.001, "unknown": 1.0}


def _mm_per_unit(img) -> float:
    """How many mm one spatial unit of the file's header is (``xyzt_units``)."""
    units = getattr(img.header, "get_xyzt_units", None)
    unit = units()[0] if units is not None else "unknown"
    return MM_PER_NIFTI_UNIT.get(unit, 1.0)
