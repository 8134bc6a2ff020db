"""Write small DICOM series with SimpleITK for the tests: any geometry, pixel type and per-slice rescale.

Slices with a rescale slope/intercept other than 1/0 are written as CT Image Storage, the classic
image type whose module carries them (for an MR Image Storage SOP class GDCM's writer switches to
the enhanced multi-frame format); :func:`as_mr` turns such a file into a classic MR file, as some
scanners write them, by swapping the two equal-length SOP class UIDs and the modality.
"""

from __future__ import annotations

import locale
from pathlib import Path

import numpy as np

SITK = None
CT_STORAGE = b"1.2.840.10008.5.1.4.1.1.2\x00"
MR_STORAGE = b"1.2.840.10008.5.1.4.1.1.4\x00"


def _sitk():
    global SITK
    if SITK is None:
        import SimpleITK
        SITK = SimpleITK
    return SITK


def write_series(folder, stored, *, pixel_spacing=(0.5, 0.5), step=3.0, direction=np.eye(3),
                 origin=(0.0, 0.0, 0.0), slopes=None, intercepts=None, names=None,
                 series_uid="1.2.826.0.1.3680043.2.1125.21.1"):
    """Write ``stored[:, :, k]`` (columns, rows) as slice ``k`` of one series in ``folder``.

    Parameters
    ----------
    stored : numpy.ndarray, (columns, rows, slices), int16 / uint16
        The stored pixel values.
    pixel_spacing : (row spacing, column spacing) in mm, as DICOM's PixelSpacing.
    step : float
        Distance between slices along the normal (mm).
    direction : 3x3 array
        Columns: the row direction, the column direction, the slice normal (LPS).
    origin : position (LPS, mm) of slice 0's first pixel.
    slopes, intercepts : one per slice (default 1 and 0): the value is ``stored * slope + intercept``.
    names : one file name per slice (default ``slice_<k>.dcm``).

    Returns
    -------
    list of pathlib.Path, the files in slice order.
    """
    sitk = _sitk()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    n = stored.shape[2]
    slopes = [1.0] * n if slopes is None else list(slopes)
    intercepts = [0.0] * n if intercepts is None else list(intercepts)
    direction = np.asarray(direction, float)
    paths = []
    for k in range(n):
        position = np.asarray(origin, float) + k * step * direction[:, 2]
        rescaled = (slopes[k], intercepts[k]) != (1.0, 0.0)
        plane = stored[:, :, k].T  # (rows, columns)
        pixels = plane.astype(np.float64) * slopes[k] + intercepts[k] if rescaled else plane
        image = sitk.GetImageFromArray(pixels[None])
        image.SetSpacing((pixel_spacing[1], pixel_spacing[0], step))
        image.SetOrigin(tuple(position))
        image.SetDirection(tuple(direction.ravel()))
        tags = {
            "0008|0060": "CT" if rescaled else "MR",
            "0008|0016": "1.2.840.10008.5.1.4.1.1.2" if rescaled else "1.2.840.10008.5.1.4.1.1.4",
            "0008|0018": f"{series_uid}.{k + 1}",
            "0020|000d": "1.2.826.0.1.3680043.2.1125.21",
            "0020|000e": series_uid,
            "0020|0013": str(k + 1),
            "0020|0032": "\\".join(f"{v:.6f}" for v in position),
            "0020|0037": "\\".join(f"{v:.8f}" for v in [*direction[:, 0], *direction[:, 1]]),
            "0028|0030": f"{pixel_spacing[0]:g}\\{pixel_spacing[1]:g}",
        }
        if rescaled:
            signed = "1" if np.issubdtype(stored.dtype, np.signedinteger) else "0"
            tags.update({"0028|0100": "16", "0028|0101": "16", "0028|0102": "15", "0028|0103": signed,
                         "0028|1053": f"{slopes[k]:g}", "0028|1052": f"{intercepts[k]:g}"})
        for key, value in tags.items():
            image.SetMetaData(key, value)
        path = folder / (names[k] if names else f"slice_{k:03d}.dcm")
        writer = sitk.ImageFileWriter()
        writer.KeepOriginalImageUIDOn()
        writer.SetFileName(str(path))
        saved = locale.setlocale(locale.LC_ALL)
        try:
            writer.Execute(image)
        finally:  # the GDCM writer sets the C locale for the rest of the process
            locale.setlocale(locale.LC_ALL, saved)
        paths.append(path)
    return paths


def as_mr(path) -> None:
    """Turn a CT file written by :func:`write_series` into a classic MR file with the same rescale."""
    path = Path(path)
    data = path.read_bytes().replace(CT_STORAGE, MR_STORAGE).replace(b"CT", b"MR")
    path.write_bytes(data)


def expected_volume(stored, *, pixel_spacing=(0.5, 0.5), step=3.0, direction=np.eye(3), origin=(0, 0, 0),
                    slopes=None, intercepts=None):
    """``(array, affine, spacing)`` that ``read_dicom_series(..., canonical=False)`` should give."""
    n = stored.shape[2]
    slopes = np.ones(n) if slopes is None else np.asarray(slopes, float)
    intercepts = np.zeros(n) if intercepts is None else np.asarray(intercepts, float)
    rescaled = np.any(slopes != 1) or np.any(intercepts != 0)
    array = stored * slopes + intercepts if rescaled else stored
    if not rescaled and array.dtype == np.uint16 and array.max() <= np.iinfo(np.int16).max:
        array = array.astype(np.int16)  # read_dicom_series stores 12-bit data as NIfTI converters do
    direction = np.asarray(direction, float)
    lps = np.eye(4)
    lps[:3, 0] = direction[:, 0] * pixel_spacing[1]
    lps[:3, 1] = direction[:, 1] * pixel_spacing[0]
    lps[:3, 2] = direction[:, 2] * step
    lps[:3, 3] = origin
    affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    return (array.astype(np.float32) if rescaled else array), affine, (pixel_spacing[1], pixel_spacing[0], step)
