"""DICOM series in with SimpleITK: :func:`read_dicom_series`, :func:`dicom_slice_positions` (layer 1)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
from nibabel.orientations import apply_orientation, inv_ornt_aff, io_orientation

from .volume import Volume, VolumeFileError, VolumeFileWarning, _mm

__all__ = ["SlicePosition", "dicom_slice_positions", "read_dicom_series"]

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
_TAG_BITS = "0028|0100"           # BitsAllocated
_TAG_SAMPLES = "0028|0002"        # SamplesPerPixel
_TAG_SLOPE = "0028|1053"          # RescaleSlope
_TAG_INTERCEPT = "0028|1052"      # RescaleIntercept

_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])

#: Direction cosines closer than this count as the same slice orientation.
_ORIENTATION_TOL = 1e-4
#: Slice steps may differ from their median by 1 % plus 0.01 mm (rounding in the headers).
_STEP_RTOL, _STEP_ATOL_MM = 0.01, 0.01
#: A step larger than this many medians means slices are missing.
_GAP_FACTOR = 1.5
#: Largest in-plane shift between slices (a fraction of a pixel) an affine may ignore.
_SHEAR_PIXELS = 0.1
#: A slice whose pixels would take more than this many times its file's bytes (and more than
#: _MIN_REFUSED_BYTES) has a lying header: no DICOM compression reaches such a ratio.
_MAX_PIXEL_RATIO, _MIN_REFUSED_BYTES = 2000, 64 * 2 ** 20
#: Names a DICOM file commonly has; such a file that no series claims is damaged, not foreign.
_DICOM_SUFFIXES = (".dcm", ".dicom", ".ima")


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
            "Reading DICOM, NRRD or MetaImage needs SimpleITK, which is not installed in this environment. "
            "Install it with `pip install SimpleITK` (conda: `conda install -c conda-forge simpleitk`)."
        ) from err
    return SimpleITK


def _dicom_series_files(sitk, folder, series_id=None):
    """The series UID and the files of one DICOM series in ``folder`` (not recursive).

    Every other file is accounted for: one of another series (listed when no
    ``series_id`` chooses), a damaged DICOM file (:func:`_refuse_damaged`), or
    a file that is not DICOM (named in a warning).
    """
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
        members = {uid: sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), uid) for uid in ids}
    finally:
        sitk.ProcessObject.SetGlobalWarningDisplay(warnings_on)
    claimed = {Path(name).name for names in members.values() for name in names}
    unclaimed = [folder / name for name in files if name not in claimed]
    damaged = [p for p in unclaimed if _looks_like_dicom(p)]
    if damaged:
        _refuse_damaged(folder, damaged, [folder / name for name in sorted(claimed)])
    if not ids:
        shown = ", ".join(files[:5]) + (", ..." if len(files) > 5 else "")
        raise VolumeFileError(
            f"No DICOM files in '{folder}': none of its {len(files)} files ({shown}) is a DICOM image "
            f"with a series UID.{hint}"
        )
    if unclaimed:
        shown = ", ".join(p.name for p in unclaimed[:10]) + (", ..." if len(unclaimed) > 10 else "")
        warnings.warn(f"'{folder}': {len(unclaimed)} file(s) that are not DICOM were not read: {shown}",
                      VolumeFileWarning, stacklevel=3)
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


def _looks_like_dicom(path: Path) -> bool:
    """A DICOM file by its name or by the "DICM" mark at byte 128 (DICOMDIR, an index, is not an image)."""
    if path.name.upper() == "DICOMDIR":
        return False
    if path.suffix.lower() in _DICOM_SUFFIXES:
        return True
    with open(path, "rb") as f:
        f.seek(128)
        return f.read(4) == b"DICM"


def _refuse_damaged(folder: Path, damaged: list, intact: list) -> None:
    """Name the DICOM files GDCM could not read, with their sizes beside those of the readable ones."""
    sizes = sorted(p.stat().st_size for p in intact)
    usual = f"; the readable files are {sizes[len(sizes) // 2]:,} bytes" if sizes else ""
    listing = ", ".join(f"{p.name} ({p.stat().st_size:,} bytes)" for p in damaged[:10])
    raise VolumeFileError(
        f"'{folder}': {len(damaged)} DICOM file(s) cannot be read: {listing}{usual}. They are cut short "
        "(an interrupted copy?) or corrupt, so the series would be missing those slices. Copy them again; "
        "to read the rest anyway, move them out of the folder (the volume will then lack those slices)")


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
    _check_pixel_bytes(reader, path, size)
    return {
        "path": path,
        "position": numbers(_TAG_POSITION, 3, "ImagePositionPatient"),
        "orientation": orientation,
        "pixel_spacing": numbers(_TAG_PIXEL_SPACING, 2, "PixelSpacing"),
        "instance_number": instance_number,
        "size": tuple(size[:2]),
        "rescaled": _rescaled(sitk, reader),
    }


def _tag_number(reader, tag, default):
    text = reader.GetMetaData(tag).strip() if reader.HasMetaDataKey(tag) else ""
    try:
        return float(text.split("\\")[0])
    except ValueError:
        return default


def _rescaled(sitk, reader) -> bool:
    """True if the slice's pixel values go through a RescaleSlope / RescaleIntercept other than 1 / 0.

    GDCM applies it when it decodes the file (and drops the tags from what it
    reports when the slope is fractional, so the decoded type tells too).
    """
    slope, intercept = _tag_number(reader, _TAG_SLOPE, 1.0), _tag_number(reader, _TAG_INTERCEPT, 0.0)
    floats = (sitk.sitkFloat32, sitk.sitkFloat64)
    return slope != 1.0 or intercept != 0.0 or reader.GetPixelID() in floats


def _check_pixel_bytes(reader, path: Path, size) -> None:
    """Refuse a header whose pixel matrix could not possibly be in the file (before GDCM allocates it)."""
    bits = _tag_number(reader, _TAG_BITS, 16.0)
    samples = _tag_number(reader, _TAG_SAMPLES, 1.0)
    declared = int(size[0]) * int(size[1]) * max(bits, 8) / 8 * max(samples, 1)
    held = path.stat().st_size
    if declared > max(_MAX_PIXEL_RATIO * held, _MIN_REFUSED_BYTES):
        raise VolumeFileError(
            f"'{path}' declares {size[0]} x {size[1]} pixels of {int(bits)} bits ({declared / 1e6:,.0f} MB), "
            f"but the file is {held:,} bytes: its header is wrong or the file is cut short. Nothing was read")


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
        Folder holding the slice files (not searched recursively). Every file
        is read or named: files that are not DICOM are skipped with a
        warning that names them; a DICOM file that cannot be read (cut short
        by an interrupted copy) is an error, never a silently missing slice.
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
        3D ``array`` ``(x, y, z)``. Pixel values are unchanged, after each
        slice's own rescale slope/intercept when the files carry one (they
        may differ from slice to slice); rescaled data are ``float32``.
        Unsigned 16-bit data whose values all fit in ``int16`` (the usual
        12-bit MR data) are returned as ``int16``, the type NIfTI converters
        store. ``spacing`` in mm; ``affine`` maps voxel indices to
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
        slices (a sheared stack), a single slice, or multi-frame files; a
        DICOM file that cannot be read, or whose header declares more pixels
        than the file can hold (refused before they are allocated).
    ImportError
        If SimpleITK is not installed.
    """
    sitk = _simpleitk()
    folder = Path(folder)
    series_id, paths = _dicom_series_files(sitk, folder, series_id)
    where = f"Series {series_id} in '{folder}'"
    headers = [_slice_header(sitk, p) for p in paths]
    if len(headers) < 2:
        raise VolumeFileError(
            f"{where} has a single slice ({paths[0].name}); a volume needs at least "
            "two slices to know its slice spacing"
        )
    _check_same(headers, "orientation", "orientations (ImageOrientationPatient)", _ORIENTATION_TOL, folder)
    _check_same(headers, "pixel_spacing", "pixel spacings (PixelSpacing, mm)", 1e-4, folder)
    _check_same([dict(h, size=np.array(h["size"])) for h in headers], "size",
                "image sizes (columns, rows)", 0, folder)
    headers, along = _stack_order(headers)
    _check_slice_steps(headers, along, where)
    _check_not_sheared(headers, where)
    array = _read_pixels(sitk, headers, where)
    affine, spacing = _series_affine(headers, along)
    return _volume_of(array, affine, spacing, canonical, where)


def _volume_of(array, affine, spacing, canonical: bool, where: str) -> Volume:
    """The :class:`Volume` of an array read by SimpleITK, reoriented to RAS if ``canonical``;
    an unusable geometry is named with ``where``."""
    if canonical:
        array, affine, spacing = _to_canonical(array, affine, spacing)
    try:
        return Volume(array, tuple(_mm(s) for s in spacing), affine)
    except ValueError as err:
        raise VolumeFileError(f"{where} has an unusable geometry: {err}") from err


def _stack_order(headers):
    """The headers sorted along the slice normal, and each slice's position on it (mm)."""
    normal = _slice_normal(headers[0]["orientation"])
    along = np.array([h["position"] @ normal for h in headers])
    order = np.argsort(along, kind="stable")
    return [headers[i] for i in order], along[order]


def _check_slice_steps(headers, along, where: str) -> None:
    """One slice per position, no gap (missing slices), one slice spacing."""
    names = [h["path"].name for h in headers]
    steps = np.diff(along)
    same = np.flatnonzero(steps < _STEP_ATOL_MM)
    if same.size:
        pairs = "; ".join(f"{names[i]} and {names[i + 1]} at {_fmt_mm(along[i])}" for i in same[:5])
        raise VolumeFileError(
            f"{where}: {same.size} pairs of slices share a position ({pairs}). "
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
            f"{where} has missing slices: the median slice step is "
            f"{_fmt_mm(median)} but there is a gap {listing}. Positions are along the slice normal"
        )
    uneven = np.flatnonzero(np.abs(steps - median) > _STEP_RTOL * median + _STEP_ATOL_MM)
    if uneven.size:
        listing = "; ".join(f"{_fmt_mm(steps[i])} between {_fmt_mm(along[i])} and {_fmt_mm(along[i + 1])}"
                            for i in uneven[:5])
        raise VolumeFileError(
            f"{where} has unequal slice spacing: median step {_fmt_mm(median)}, "
            f"but {listing}{' ...' if uneven.size > 5 else ''}. A volume with one slice spacing "
            "cannot describe it"
        )


def _check_not_sheared(headers, where: str) -> None:
    """Every slice starts on the line through the first along the normal (no gantry tilt)."""
    normal = _slice_normal(headers[0]["orientation"])
    positions = np.array([h["position"] for h in headers])
    offsets = positions - positions[0]
    in_plane = offsets - np.outer(offsets @ normal, normal)
    shift = float(np.max(np.linalg.norm(in_plane, axis=1)))
    if shift > _SHEAR_PIXELS * float(min(headers[0]["pixel_spacing"])):
        raise VolumeFileError(
            f"{where}: the slices are shifted in-plane against each other by up to "
            f"{_fmt_mm(shift)} (a sheared stack, e.g. CT gantry tilt); an affine cannot describe it without "
            "resampling"
        )


def _read_pixels(sitk, headers, where: str) -> np.ndarray:
    """``(column, row, slice)`` pixel values, every file decoded on its own with its own rescale.

    (SimpleITK's series reader gives every slice the first slice's pixel type:
    a later slice's fractional slope would be truncated to integers.)
    """
    rescaled = any(h["rescaled"] for h in headers)
    out = None
    for k, h in enumerate(headers):
        data = _read_slice(sitk, h, where)
        if out is None:
            out = np.empty((len(headers),) + data.shape, np.float32 if rescaled else data.dtype)
        elif not rescaled and data.dtype != out.dtype:
            out = out.astype(np.result_type(out.dtype, data.dtype))
        out[k] = data
    if np.issubdtype(out.dtype, np.floating):
        out = out.astype(np.float32, copy=False)
    elif out.dtype == np.uint16 and out.max() <= np.iinfo(np.int16).max:
        out = out.astype(np.int16)  # the usual 12-bit MR data, stored as NIfTI converters do
    return np.ascontiguousarray(out.transpose(2, 1, 0))  # DICOM i (column), j (row), k (slice)


def _read_slice(sitk, header, where: str) -> np.ndarray:
    """One file's pixels as ``(rows, columns)``, or an error naming the file."""
    path = header["path"]
    reader = sitk.ImageFileReader()
    reader.SetImageIO("GDCMImageIO")
    reader.SetFileName(str(path))
    try:
        image = reader.Execute()
    except RuntimeError as err:
        reason = [line for line in str(err).splitlines() if line.strip()][-1:]
        raise VolumeFileError(f"{where}: cannot read the pixel data of '{path.name}' ({' '.join(reason)}); "
                              "the file is cut short or corrupt: copy it again") from None
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise VolumeFileError(
            f"{where}: '{path.name}' has {image.GetNumberOfComponentsPerPixel()} values per pixel (colour?); "
            "only greyscale series are supported")
    data = sitk.GetArrayFromImage(image)
    columns, rows = header["size"]
    if data.size != rows * columns:
        raise VolumeFileError(f"{where}: '{path.name}' decodes to {data.shape} values, its header says "
                              f"{rows} rows x {columns} columns")
    return data.reshape(rows, columns)


def _series_affine(headers, along):
    """The RAS+ affine (mm) of the stack in DICOM axis order, and its spacing (mm)."""
    orientation = headers[0]["orientation"]
    row, col = orientation[:3], orientation[3:]
    row_spacing, col_spacing = (float(v) for v in headers[0]["pixel_spacing"])
    slice_step = float((along[-1] - along[0]) / (len(along) - 1))
    lps = np.eye(4)
    lps[:3, 0] = row * col_spacing  # i: the next column, along a row
    lps[:3, 1] = col * row_spacing  # j: the next row, down a column
    lps[:3, 2] = _slice_normal(orientation) * slice_step
    lps[:3, 3] = headers[0]["position"]
    return _LPS_TO_RAS @ lps, [col_spacing, row_spacing, slice_step]


def _to_canonical(array, affine, spacing):
    """What nibabel.as_closest_canonical does to a NIfTI image: axis permutations and flips to RAS."""
    ornt = io_orientation(affine)
    shape = array.shape
    array = np.ascontiguousarray(apply_orientation(array, ornt))
    affine = affine @ inv_ornt_aff(ornt, shape)
    reordered = [0.0] * 3
    for axis, (target, _) in enumerate(ornt):
        reordered[int(target)] = spacing[axis]
    return array, affine, reordered


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
