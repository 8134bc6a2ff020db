"""NIfTI in/out with nibabel: :func:`load_volume` and :func:`save_volume` (layer 1)."""

from __future__ import annotations

import gzip
import warnings
import zlib
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.orientations import io_orientation

from .volume import Volume, VolumeFileError, VolumeFileWarning, _mm, _spatial_ndim

#: What :func:`save_volume` writes (a ``.hdr``/``.img`` pair is the NIfTI-1 pair format).
NIFTI_SUFFIXES = (".nii.gz", ".nii", ".hdr", ".img")

__all__ = ["MM_PER_NIFTI_UNIT", "load_volume", "save_volume"]


def _reads_as_float(img) -> bool:
    """True if the stored data are floats or carry a scl_slope/scl_inter scaling."""
    if np.issubdtype(img.get_data_dtype(), np.floating):
        return True
    slope = getattr(img.dataobj, "slope", 1.0)
    inter = getattr(img.dataobj, "inter", 0.0)
    return not (slope == 1.0 and inter == 0.0)


def _canonical_2d(img):
    """Reorient a 2D image to RAS by viewing it as a one-slice 3D image.

    Returns the 2D array and a 4x4 affine whose first two columns belong to
    the kept axes.
    """
    data3 = np.asanyarray(img.dataobj)[..., np.newaxis]
    img3 = nib.Nifti1Image(data3, img.affine, dtype=data3.dtype)
    dropped = int(io_orientation(img.affine)[2, 0])  # where the added axis ends up
    can = nib.as_closest_canonical(img3)
    kept = [ax for ax in range(3) if ax != dropped]
    array = np.squeeze(np.asanyarray(can.dataobj), axis=dropped)
    return array, can.affine[:, kept + [dropped, 3]]


def _open(path: Path):
    """The nibabel image of ``path`` (header only: the voxels are read later)."""
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
    return img


def _stated_voxel_sizes(path: Path, img, n: int):
    """The file's own ``pixdim`` of its ``n`` spatial axes, before nibabel mends them (or None)."""
    header_class = type(img.header)
    if not hasattr(header_class, "from_fileobj") or "pixdim" not in img.header:
        return None
    header_file = img.file_map.get("header", img.file_map["image"]).filename or path  # a pair's .hdr
    with nib.openers.ImageOpener(str(header_file)) as stream:
        raw = header_class.from_fileobj(stream, check=False)
    return raw["pixdim"][1:1 + n]


def _check_geometry(path: Path, img) -> None:
    """2 to 4 axes and an affine that maps voxels to distinct points."""
    ndim = len(img.shape)
    if ndim not in (2, 3, 4):
        raise VolumeFileError(
            f"'{path}' has {ndim} dimensions (shape {img.shape}); expected 2D, 3D or 4D (x, y, z, channels)"
        )
    header = img.header
    without_forms = all(int(header.get(code, 0)) == 0 for code in ("qform_code", "sform_code"))
    if without_forms:
        # nibabel reads a zero voxel size as 1 mm; with no qform or sform nothing else states it
        stated = _stated_voxel_sizes(path, img, _spatial_ndim(ndim))
        if stated is not None and not np.all(np.abs(stated) > 0):
            raise VolumeFileError(
                f"'{path}' states no voxel size: its pixdim is {' x '.join(f'{v:g}' for v in stated)} mm and it has "
                "neither a qform nor an sform, so the spacing (and every volume measured on it) would be "
                "a guess. Re-export the scan with its geometry, or rebuild it with the true spacing."
            )
    affine = img.affine
    if affine is None or not np.all(np.isfinite(affine)):
        raise VolumeFileError(f"'{path}' has a non-finite (NaN/inf) affine:\n{affine}")
    if abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise VolumeFileError(f"'{path}' has a singular affine (a zero voxel size?):\n{affine}")


#: Deflate shrinks data by at most about 1032:1; a file claiming more holds less than it declares.
_MAX_DEFLATE_RATIO = 1100


def _size_text(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


#: A gzip trailer may count this many bytes beyond the voxels (padding some writers add).
_TRAILER_SLACK = 1 << 16


def _gzip_length(path: Path, needed: int) -> int | None:
    """How many bytes a gzip file decompresses to, if fewer than ``needed``; else None.

    The gzip trailer (ISIZE, the length modulo 2**32) settles an intact
    one-member file for free. Otherwise - a cut stream, whose last 4 bytes are
    no trailer, or several gzip members - the length is bounded by deflate's
    largest ratio, then counted by decompressing in chunks that are dropped,
    never kept, and only up to ``needed``.
    """
    size = path.stat().st_size
    if size >= 18:
        with open(path, "rb") as f:
            f.seek(-4, 2)
            trailer = int.from_bytes(f.read(4), "little")
        if (trailer - needed) % 2 ** 32 <= _TRAILER_SLACK:
            return None
    if needed > _MAX_DEFLATE_RATIO * size:
        return _MAX_DEFLATE_RATIO * size
    total = 0
    try:
        with gzip.open(path, "rb") as stream:
            while total < needed:
                chunk = stream.read(1 << 20)
                if not chunk:
                    return total
                total += len(chunk)
    except (OSError, EOFError, zlib.error):  # a cut or corrupt stream: what came out is all there is
        return total
    return None


def _check_declared_size(path: Path, img) -> None:
    """Refuse a header declaring more voxel bytes than the file holds - before anything is allocated."""
    data_file = Path(img.file_map["image"].filename or path)
    offset = int(getattr(img.dataobj, "offset", 0))  # where the voxels start in the data file
    dtype = img.get_data_dtype()
    needed = offset + int(np.prod(img.shape, dtype=np.float64)) * dtype.itemsize
    suffix = data_file.suffix.lower()   # nibabel reads and writes "scan.NII.GZ" compressed, too
    if suffix == ".gz":
        held, how = _gzip_length(data_file, needed), "decompressed"
    elif suffix in (".bz2", ".zst"):
        return  # no cheap length; nibabel's own read fails on a short file
    else:
        size = data_file.stat().st_size
        held, how = (size if size < needed else None), "on disk"
    if held is not None:
        where = how if data_file == path else f"in {data_file.name}, {how}"
        raise VolumeFileError(
            f"'{path}' declares {img.shape} voxels of {dtype} ({_size_text(needed - offset)} after a "
            f"{offset}-byte header), but holds at most {_size_text(max(held - offset, 0))} of voxel data "
            f"({where}): the file is truncated or corrupt, or its header is wrong. Nothing was allocated; "
            "copy or convert the file again")


def _header_contradictions(img, factor: float) -> list[str]:
    """What a NIfTI header says twice, differently: qform vs sform, pixdim vs the affine used."""
    header, found = img.header, []
    if not hasattr(header, "get_qform"):
        return found
    qform, qcode = header.get_qform(coded=True)
    sform, scode = header.get_sform(coded=True)
    n = _spatial_ndim(len(img.shape))
    if qcode > 0 and scode > 0 and not np.allclose(qform, sform, rtol=1e-4, atol=1e-3):
        found.append(
            f"its qform and sform disagree (voxel sizes {_sizes(qform, n, factor)} vs {_sizes(sform, n, factor)} "
            f"mm, origin {_origin(qform, factor)} vs {_origin(sform, factor)} mm); the sform is used, as nibabel "
            f"does when sform_code > 0 (here {int(scode)})")
    pixdim = tuple(_mm(z * factor) for z in header.get_zooms()[:n])
    used = _sizes(img.affine, n, factor)
    if not np.allclose(pixdim, used, rtol=1e-4, atol=1e-5):
        found.append(f"its voxel sizes (pixdim) {pixdim} mm disagree with its affine's {used} mm; "
                     "the spacing follows the affine")
    return found


def _sizes(affine, n: int, factor: float) -> tuple:
    return tuple(_mm(v * factor) for v in nib.affines.voxel_sizes(affine)[:n])


def _origin(affine, factor: float) -> tuple:
    return tuple(round(float(v) * factor, 2) for v in np.asarray(affine)[:3, 3])


def _read_voxels(img, canonical: bool):
    """``(array, affine)``: the voxels (float32 if scaled or float) and their affine, reoriented if asked."""
    as_float = _reads_as_float(img)
    if img.ndim == 2 and canonical:
        array, affine = _canonical_2d(img)
        return (array.astype(np.float32, copy=False) if as_float else array), affine
    if canonical:
        img = nib.as_closest_canonical(img)
    array = img.get_fdata(dtype=np.float32) if as_float else np.asanyarray(img.dataobj)
    return array, img.affine


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
        value per spatial axis: the lengths of the affine's columns, so the
        spacing always agrees with the affine (nibabel's choice: the sform
        when its code is set, else the qform).
        Integer files without intensity scaling keep their integer dtype
        (label maps stay ``uint8``/``int16``...); float files and files with
        ``scl_slope``/``scl_inter`` scaling load as ``float32``. NaN voxel
        values are kept as they are. A header that states its spatial unit
        as metres or microns is converted: ``spacing`` and ``affine`` are
        always in mm.

    Warns
    -----
    VolumeFileWarning
        When the header contradicts itself: qform and sform (both set) or the
        voxel sizes (pixdim) disagree with the affine used.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    VolumeFileError
        If the file is not a NIfTI file, is truncated or corrupt, has a
        non-finite or singular affine, states no voxel size (a zero pixdim
        with neither a qform nor an sform: nibabel would read it as 1 mm),
        or declares more voxels than it holds
        (refused from the header and the file size, before any voxel array is
        allocated).
    """
    path = Path(path)
    img = _open(path)
    _check_geometry(path, img)
    _check_declared_size(path, img)
    # Voxel sizes and the affine are in the file's own spatial unit; everything here is mm.
    factor = _mm_per_unit(img)
    contradictions = _header_contradictions(img, factor)
    if contradictions:
        warnings.warn(f"'{path}': " + "; ".join(contradictions), VolumeFileWarning, stacklevel=2)
    try:  # data are read lazily: a truncated file often only fails here
        array, affine = _read_voxels(img, canonical)
    except Exception as err:
        raise VolumeFileError(
            f"Cannot read the image data of '{path}': the file is truncated or corrupt "
            f"({type(err).__name__}: {err})"
        ) from err
    affine = np.array(affine, dtype=float)
    affine[:3, :] *= factor
    zooms = tuple(_mm(v) for v in nib.affines.voxel_sizes(affine)[: _spatial_ndim(array.ndim)])
    try:
        return Volume(np.asarray(array), zooms, affine)
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
    VolumeFileError
        If ``path`` does not end in a NIfTI suffix (:data:`NIFTI_SUFFIXES`).
    """
    if not isinstance(volume, Volume):
        raise TypeError(f"save_volume expects a Volume, got {type(volume).__name__}")
    path = Path(path)
    if not path.name.lower().endswith(NIFTI_SUFFIXES):
        raise VolumeFileError(f"save_volume writes NIfTI files: '{path}' should end in "
                              f"{', '.join(NIFTI_SUFFIXES)} (read_scan also reads NRRD and MetaImage; "
                              "SimpleITK's WriteImage writes them)")
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
