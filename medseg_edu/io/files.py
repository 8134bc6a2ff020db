"""Any scan file a hospital or a challenge hands out: :func:`read_scan` (layer 1).

NIfTI is this package's own format (:func:`~medseg_edu.io.load_volume`), but labelled
prostate scans come in others too: the NCI-ISBI 2013 challenge gives DICOM series with
NRRD label maps, PI-CAI gives MetaImage (``.mha``). :func:`read_scan` reads each of them
into the same RAS-canonical :class:`~medseg_edu.io.Volume`, so a label map stored in
another format than its scan still lies voxel for voxel on it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .dicom import _DICOM_SUFFIXES, _LPS_TO_RAS, _simpleitk, _volume_of, read_dicom_series
from .nifti import load_volume
from .volume import Volume, VolumeFileError

__all__ = ["ITK_SUFFIXES", "read_nrrd_or_metaimage", "read_scan"]

#: File endings of the NRRD (``.nrrd``, ``.nhdr``) and MetaImage (``.mha``, ``.mhd``) formats.
ITK_SUFFIXES = (".nrrd", ".nhdr", ".mha", ".mhd")


def read_nrrd_or_metaimage(path, canonical: bool = True) -> Volume:
    """Read a 3D NRRD or MetaImage file as a :class:`~medseg_edu.io.Volume`, with SimpleITK.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.nrrd``, ``.nhdr``, ``.mha`` or ``.mhd`` file.
    canonical : bool
        If True (default), reorient to the closest canonical RAS orientation, exactly as
        :func:`~medseg_edu.io.load_volume` does for a NIfTI file.

    Returns
    -------
    Volume
        ``array`` ``(x, y, z)``, or ``(x, y, z, c)`` for a file of vector voxels, with the
        file's own dtype; ``spacing`` in mm; ``affine`` maps voxel indices to RAS+ world
        coordinates in mm (the file's origin and direction, which ITK keeps in LPS).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    VolumeFileError
        If SimpleITK cannot read it, or it is not 3D.
    """
    sitk = _simpleitk()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such image file: '{path}'")
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as err:
        raise VolumeFileError(f"Cannot read '{path}' as an NRRD or MetaImage file: {err}".strip()) from err
    if image.GetDimension() != 3:
        raise VolumeFileError(f"'{path}' has {image.GetDimension()} dimensions; a scan or label map needs 3")
    array = sitk.GetArrayFromImage(image)  # ITK gives (z, y, x[, component])
    array = np.ascontiguousarray(np.moveaxis(array, (0, 1, 2), (2, 1, 0)))
    spacing = [float(s) for s in image.GetSpacing()]
    lps = np.eye(4)
    lps[:3, :3] = np.reshape(image.GetDirection(), (3, 3)) * spacing
    lps[:3, 3] = image.GetOrigin()
    return _volume_of(array, _LPS_TO_RAS @ lps, spacing, canonical, f"'{path}'")


def read_scan(path) -> Volume:
    """Read a scan or label map in whichever format it comes: NIfTI, a DICOM folder, NRRD or MetaImage.

    Every format gives the same RAS-canonical :class:`~medseg_edu.io.Volume`: a scan
    converted from one format to another reads to the same array, spacing and affine.

    Parameters
    ----------
    path : str or pathlib.Path
        A NIfTI file (``.nii``, ``.nii.gz``: :func:`~medseg_edu.io.load_volume`), a folder
        holding the slices of one DICOM series (:func:`~medseg_edu.io.read_dicom_series`),
        or an NRRD / MetaImage file (:data:`ITK_SUFFIXES`: :func:`read_nrrd_or_metaimage`).

    Returns
    -------
    Volume

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    VolumeFileError
        If its format is none of these (the message lists them), if it is one file of a DICOM
        series (the message names the folder to pass instead), or if the reader refuses it.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No such scan file or DICOM folder: '{path}'")
    if path.is_dir():
        return read_dicom_series(path)
    name = path.name.lower()
    if name.endswith((".nii", ".nii.gz")):
        return load_volume(path)
    if name.endswith(ITK_SUFFIXES):
        return read_nrrd_or_metaimage(path)
    if name.endswith(_DICOM_SUFFIXES):
        raise VolumeFileError(f"'{path}' is a single DICOM file, one slice of a series: pass the folder that holds "
                              f"the whole series ('{path.parent}')")
    raise VolumeFileError(f"Cannot tell the format of '{path}' from its name: expected a NIfTI file (.nii, "
                          f".nii.gz), a folder of DICOM slices, or an NRRD or MetaImage file "
                          f"({', '.join(ITK_SUFFIXES)})")
