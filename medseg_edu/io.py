"""NIfTI in/out with nibabel (layer 1).

A :class:`Volume` carries the voxel ``array``, the voxel ``spacing`` in mm and
the 4x4 voxel-to-world ``affine`` (mm, RAS+ world). :func:`load_volume`
reorients every file to the closest canonical **RAS** orientation, so the same
anatomy gives the same array whatever axis order or flips the file was stored
with: axis 0 runs to the patient's Right, axis 1 to Anterior, axis 2 to
Superior (see ``docs/DEVELOPING.md``).

:func:`read_dicom_series` builds the same kind of :class:`Volume` from a
folder of 2D DICOM slices (one series), with SimpleITK (imported only when it
is called); :func:`dicom_slice_positions` shows where each file's slice lies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import nibabel as nib
import numpy as np
from nibabel.orientations import apply_orientation, inv_ornt_aff, io_orientation

from ._checks import as_spacing

__all__ = ["SlicePosition", "Volume", "VolumeFileError", "dicom_slice_positions", "load_volume",
           "read_dicom_series", "save_volume"]


class VolumeFileError(ValueError):
    """A file exists but cannot be read as an image volume.

    The message names the file and the problem (not a NIfTI file, truncated
    or corrupt data, unusable affine). The original nibabel / gzip exception
    is kept as ``__cause__``.
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


def _mm(zoom) -> float:
    """A header voxel size as a float in mm, without float32 noise (3.5999999 -> 3.6)."""
    return round(float(zoom), 5)


# --------------------------------------------------------------------------- DICOM
#
# A DICOM MR/CT series is a folder of 2D files, one slice each. Where a slice
# lies comes from its header, never from its file name:
#   ImagePositionPatient (IPP)    world position of the slice's first pixel centre, mm
#   ImageOrientationPatient (IOP) direction cosines of a row and of a column
#   PixelSpacing                  spacing between rows, spacing between columns, mm
# DICOM (and ITK) world axes are LPS: x to the patient's Left, y to Posterior,
# z to Superior. nibabel and this package use RAS, so x and y change sign.

_TAG_POSITION = "0020|0032"       # ImagePositionPatient
_TAG_ORIENTATION = "0020|0037"    # ImageOrientationPatient
_TAG_INSTANCE = "0020|0013"       # InstanceNumber
_TAG_PIXEL_SPACING = "0028|0030"  # PixelSpacing (row spacing \ column spacing)

_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])

#: Direction cosines closer than this count as the same slice orientation.
_ORIENTATION_TOL = 1e-4
#: Slice steps may differ from their median by 1 % plus 0.01 mm (rounding in the headers).
_STEP_RTOL, _STEP_ATOL_MM = 0.01, 0.01
#: A step larger than this many medians means slices are missing.
_GAP_FACTOR = 1.5
#: Largest in-plane shift between slices (a fraction of a pixel) an affine may ignore.
_SHEAR_PIXELS = 0.1


class SlicePosition(NamedTuple):
    """Where the slice of one DICOM file lies (see :func:`dicom_slice_positions`).

    Attributes
    ----------
    file : str
        File name (without the folder).
    position_mm : float
        ImagePositionPatient projected on the slice normal, in mm.
    instance_number : int or None
        The InstanceNumber tag (the scanner's slice counter), None if absent.
    """

    file: str
    position_mm: float
    instance_number: int | None


def _simpleitk():
    """Import SimpleITK, or say how to install it."""
    try:
        import SimpleITK
    except ImportError as err:
        raise ImportError(
            "Reading DICOM needs SimpleITK, which is not installed in this environment. "
            "Install it with `pip install SimpleITK` (conda: `conda install -c conda-forge simpleitk`)."
        ) from err
    return SimpleITK


def _dicom_series_files(sitk, folder, series_id=None):
    """The series UID and the files of one DICOM series in ``folder`` (not recursive)."""
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"No such DICOM folder: '{folder}'")
    if not folder.is_dir():
        raise VolumeFileError(
            f"'{folder}' is a file, not a folder; pass the folder that holds the DICOM slices of one series"
        )
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    subfolders = sorted(p.name for p in folder.iterdir() if p.is_dir())
    hint = (f" It has subfolders ({', '.join(subfolders[:5])}{', ...' if len(subfolders) > 5 else ''}): "
            "pass the subfolder that holds the slice files." if subfolders else "")
    if not files:
        raise VolumeFileError(f"No DICOM files in '{folder}': the folder holds no files.{hint}")
    warnings_on = sitk.ProcessObject.GetGlobalWarningDisplay()
    sitk.ProcessObject.SetGlobalWarningDisplay(False)  # ITK's "No Series were found": we say it below
    try:
        ids = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder))
    finally:
        sitk.ProcessObject.SetGlobalWarningDisplay(warnings_on)
    if not ids:
        shown = ", ".join(files[:5]) + (", ..." if len(files) > 5 else "")
        raise VolumeFileError(
            f"No DICOM files in '{folder}': none of its {len(files)} files ({shown}) is a DICOM image "
            f"with a series UID.{hint}"
        )
    members = {uid: sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), uid) for uid in ids}
    listing = "; ".join(f"{uid} ({len(names)} file{'s' if len(names) != 1 else ''})"
                        for uid, names in members.items())
    if series_id is None:
        if len(ids) > 1:
            raise VolumeFileError(
                f"'{folder}' holds {len(ids)} DICOM series: {listing}. "
                "Pass series_id=<SeriesInstanceUID> to read one of them."
            )
        series_id = ids[0]
    elif series_id not in members:
        raise VolumeFileError(f"'{folder}' holds no DICOM series with UID {series_id!r}; it holds: {listing}")
    return series_id, [Path(name) for name in members[series_id]]


def _slice_header(sitk, path: Path) -> dict:
    """Position, orientation, pixel spacing and instance number of one DICOM slice file."""
    reader = sitk.ImageFileReader()
    reader.SetImageIO("GDCMImageIO")
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError as err:
        raise VolumeFileError(f"Cannot read the DICOM header of '{path}': {err}") from err

    def numbers(tag, count, name):
        text = reader.GetMetaData(tag).strip() if reader.HasMetaDataKey(tag) else ""
        try:
            values = np.array([float(v) for v in text.split("\\")])
        except ValueError:
            values = np.array([])
        if values.shape != (count,) or not np.all(np.isfinite(values)):
            found = f"{text!r}" if text else "nothing"
            raise VolumeFileError(
                f"'{path}': the {name} tag ({tag}) should hold {count} numbers, found {found}; "
                "the slice cannot be placed in space"
            )
        return values

    size = reader.GetSize()
    if len(size) > 2 and size[2] > 1:
        raise VolumeFileError(
            f"'{path}' is a multi-frame DICOM file ({size[2]} frames); read_dicom_series reads series "
            "of single-slice files only"
        )
    instance = reader.GetMetaData(_TAG_INSTANCE).strip() if reader.HasMetaDataKey(_TAG_INSTANCE) else ""
    try:
        instance_number = int(float(instance))
    except ValueError:
        instance_number = None
    orientation = numbers(_TAG_ORIENTATION, 6, "ImageOrientationPatient")
    row, col = orientation[:3], orientation[3:]
    if (abs(np.linalg.norm(row) - 1) > 1e-3 or abs(np.linalg.norm(col) - 1) > 1e-3
            or abs(row @ col) > 1e-3):
        raise VolumeFileError(
            f"'{path}': ImageOrientationPatient {orientation.tolist()} is not two orthogonal unit vectors"
        )
    return {
        "path": path,
        "position": numbers(_TAG_POSITION, 3, "ImagePositionPatient"),
        "orientation": orientation,
        "pixel_spacing": numbers(_TAG_PIXEL_SPACING, 2, "PixelSpacing"),
        "instance_number": instance_number,
        "size": tuple(size[:2]),
    }


def _slice_normal(orientation) -> np.ndarray:
    """Unit normal (row x column) of a slice, LPS."""
    normal = np.cross(orientation[:3], orientation[3:])
    return normal / np.linalg.norm(normal)


def _check_same(headers, key, name, tol, folder):
    """All slices share header[key] (within tol), or a VolumeFileError listing the groups."""
    groups = []  # [value, [file names]]
    for h in headers:
        for value, names in groups:
            if np.max(np.abs(h[key] - value)) <= tol:
                names.append(h["path"].name)
                break
        else:
            groups.append([np.asarray(h[key]), [h["path"].name]])
    if len(groups) > 1:
        listing = "; ".join(
            f"{np.round(value, 6).tolist()} in {len(names)} files (e.g. {', '.join(names[:3])})"
            for value, names in groups)
        raise VolumeFileError(f"The slices in '{folder}' have mixed {name}: {listing}")


def _fmt_mm(x) -> str:
    return f"{x:.2f} mm"


def read_dicom_series(folder, series_id: str | None = None, canonical: bool = True) -> Volume:
    """Read a folder of 2D DICOM slices (one series) as a :class:`Volume`.

    The geometry comes from the headers, never from the file names: the slices
    are sorted by their position (ImagePositionPatient) along the slice normal
    (the cross product of the two ImageOrientationPatient direction cosines),
    the in-plane voxel size is PixelSpacing and the slice spacing is the
    distance between neighbouring slice positions. An oblique slice
    orientation is kept in the affine (nothing is resampled). Pixel data are
    decoded by SimpleITK (GDCM), which is imported only here.

    Parameters
    ----------
    folder : str or pathlib.Path
        Folder holding the slice files (not searched recursively). Files that
        are not DICOM are ignored.
    series_id : str, optional
        SeriesInstanceUID of the series to read, needed when the folder holds
        several series (the error then lists them).
    canonical : bool
        If True (default) reorient to the closest canonical RAS orientation,
        exactly as :func:`load_volume` does for a NIfTI file (axis
        permutations and flips only). The series then gives the same array,
        spacing and affine as a NIfTI conversion of it read with
        :func:`load_volume`. If False the axes stay in DICOM order: column,
        row, slice (increasing along the normal).

    Returns
    -------
    Volume
        3D ``array`` ``(x, y, z)``. Pixel values are unchanged (after the
        rescale slope/intercept, if the files carry one; rescaled data are
        ``float32``). Unsigned 16-bit data whose values all fit in ``int16``
        (the usual 12-bit MR data) are returned as ``int16``, the type NIfTI
        converters store. ``spacing`` in mm; ``affine`` maps voxel indices to
        RAS+ world coordinates in mm.

    Raises
    ------
    FileNotFoundError
        If ``folder`` does not exist.
    VolumeFileError
        If ``folder`` is not a folder, holds no DICOM files, holds several
        series and ``series_id`` is not given (or names none of them), or if
        the slices do not form one regular volume: mixed orientations, pixel
        spacings or image sizes, two slices at one position, a gap larger
        than 1.5 times the median slice step (missing slices; the message
        gives the positions), unequal slice steps, in-plane shifts between
        slices (a sheared stack), a single slice, or multi-frame files.
    ImportError
        If SimpleITK is not installed.
    """
    sitk = _simpleitk()
    folder = Path(folder)
    series_id, paths = _dicom_series_files(sitk, folder, series_id)
    headers = [_slice_header(sitk, p) for p in paths]
    if len(headers) < 2:
        raise VolumeFileError(
            f"Series {series_id} in '{folder}' has a single slice ({paths[0].name}); a volume needs at least "
            "two slices to know its slice spacing"
        )
    _check_same(headers, "orientation", "orientations (ImageOrientationPatient)", _ORIENTATION_TOL, folder)
    _check_same(headers, "pixel_spacing", "pixel spacings (PixelSpacing, mm)", 1e-4, folder)
    _check_same([dict(h, size=np.array(h["size"])) for h in headers], "size",
                "image sizes (columns, rows)", 0, folder)

    orientation = headers[0]["orientation"]
    row, col = orientation[:3], orientation[3:]
    normal = _slice_normal(orientation)
    along = np.array([h["position"] @ normal for h in headers])
    order = np.argsort(along, kind="stable")
    headers = [headers[i] for i in order]
    along = along[order]
    names = [h["path"].name for h in headers]
    steps = np.diff(along)

    same = np.flatnonzero(steps < _STEP_ATOL_MM)
    if same.size:
        pairs = "; ".join(f"{names[i]} and {names[i + 1]} at {_fmt_mm(along[i])}" for i in same[:5])
        raise VolumeFileError(
            f"Series {series_id} in '{folder}': {same.size} pairs of slices share a position ({pairs}). "
            "The series may hold several echoes, time points or repeated slices; it is not one volume"
        )
    median = float(np.median(steps))
    gaps = np.flatnonzero(steps > _GAP_FACTOR * median)
    if gaps.size:
        listing = "; ".join(
            f"between {_fmt_mm(along[i])} ({names[i]}) and {_fmt_mm(along[i + 1])} ({names[i + 1]}): "
            f"{_fmt_mm(steps[i])}, about {max(round(steps[i] / median) - 1, 1)} slice(s) missing"
            for i in gaps)
        raise VolumeFileError(
            f"Series {series_id} in '{folder}' has missing slices: the median slice step is "
            f"{_fmt_mm(median)} but there is a gap {listing}. Positions are along the slice normal"
        )
    uneven = np.flatnonzero(np.abs(steps - median) > _STEP_RTOL * median + _STEP_ATOL_MM)
    if uneven.size:
        listing = "; ".join(f"{_fmt_mm(steps[i])} between {_fmt_mm(along[i])} and {_fmt_mm(along[i + 1])}"
                            for i in uneven[:5])
        raise VolumeFileError(
            f"Series {series_id} in '{folder}' has unequal slice spacing: median step {_fmt_mm(median)}, "
            f"but {listing}{' ...' if uneven.size > 5 else ''}. A volume with one slice spacing "
            "cannot describe it"
        )
    positions = np.array([h["position"] for h in headers])
    offsets = positions - positions[0]
    in_plane = offsets - np.outer(offsets @ normal, normal)
    row_spacing, col_spacing = (float(v) for v in headers[0]["pixel_spacing"])
    shift = float(np.max(np.linalg.norm(in_plane, axis=1)))
    if shift > _SHEAR_PIXELS * min(row_spacing, col_spacing):
        raise VolumeFileError(
            f"Series {series_id} in '{folder}': the slices are shifted in-plane against each other by up to "
            f"{_fmt_mm(shift)} (a sheared stack, e.g. CT gantry tilt); an affine cannot describe it without "
            "resampling"
        )

    reader = sitk.ImageSeriesReader()
    reader.SetImageIO("GDCMImageIO")
    reader.SetFileNames([str(h["path"]) for h in headers])
    try:
        image = reader.Execute()
    except RuntimeError as err:
        raise VolumeFileError(f"Cannot read the pixel data of series {series_id} in '{folder}': {err}") from err
    data = sitk.GetArrayFromImage(image)  # (slice, row, column)
    if data.ndim != 3:
        raise VolumeFileError(
            f"Series {series_id} in '{folder}' has {image.GetNumberOfComponentsPerPixel()} values per pixel "
            "(colour?); only greyscale series are supported"
        )
    array = np.ascontiguousarray(data.transpose(2, 1, 0))  # (column, row, slice): DICOM i, j, k
    if np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float32, copy=False)
    elif array.dtype == np.uint16 and (array.size == 0 or array.max() <= np.iinfo(np.int16).max):
        array = array.astype(np.int16)

    slice_step = float((along[-1] - along[0]) / (len(along) - 1))
    lps = np.eye(4)
    lps[:3, 0] = row * col_spacing  # i: the next column, along a row
    lps[:3, 1] = col * row_spacing  # j: the next row, down a column
    lps[:3, 2] = normal * slice_step
    lps[:3, 3] = positions[0]
    affine = _LPS_TO_RAS @ lps
    spacing = [col_spacing, row_spacing, slice_step]

    if canonical:  # what nibabel.as_closest_canonical does to a NIfTI image
        ornt = io_orientation(affine)
        shape = array.shape
        array = np.ascontiguousarray(apply_orientation(array, ornt))
        affine = affine @ inv_ornt_aff(ornt, shape)
        reordered = [0.0] * 3
        for axis, (target, _) in enumerate(ornt):
            reordered[int(target)] = spacing[axis]
        spacing = reordered
    try:
        return Volume(array, tuple(_mm(s) for s in spacing), affine)
    except ValueError as err:
        raise VolumeFileError(f"Series {series_id} in '{folder}' has an unusable geometry: {err}") from err


def dicom_slice_positions(folder, series_id: str | None = None) -> list:
    """Where each file of a DICOM series lies, in file-name order.

    For teaching that slice order comes from the headers, not from the file
    names: sort the result by ``position_mm`` to get the order
    :func:`read_dicom_series` uses, and compare it with the file names and
    the scanner's InstanceNumber.

    Parameters
    ----------
    folder : str or pathlib.Path
        Folder holding the slice files of the series.
    series_id : str, optional
        SeriesInstanceUID, needed when the folder holds several series.

    Returns
    -------
    list of SlicePosition
        One ``(file, position_mm, instance_number)`` per file, sorted by file
        name. ``position_mm`` is ImagePositionPatient projected on the slice
        normal (the cross product of the ImageOrientationPatient row and
        column cosines of the first file), in mm: the distance along the
        normal from the world origin, so neighbouring slices differ by the
        slice spacing.

    Raises
    ------
    FileNotFoundError, VolumeFileError, ImportError
        As :func:`read_dicom_series`, for the folder, the series choice and
        unreadable headers.
    """
    sitk = _simpleitk()
    _, paths = _dicom_series_files(sitk, folder, series_id)
    headers = sorted((_slice_header(sitk, p) for p in paths), key=lambda h: h["path"].name)
    normal = _slice_normal(headers[0]["orientation"])
    return [SlicePosition(h["path"].name, float(h["position"] @ normal), h["instance_number"])
            for h in headers]
