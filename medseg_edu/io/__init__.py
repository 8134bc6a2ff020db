"""Reading and writing scans: NIfTI with nibabel, DICOM series with SimpleITK (layer 1).

A :class:`Volume` carries the voxel ``array``, the voxel ``spacing`` in mm and
the 4x4 voxel-to-world ``affine`` (mm, RAS+ world). :func:`load_volume`
reorients every file to the closest canonical **RAS** orientation, so the same
anatomy gives the same array whatever axis order or flips the file was stored
with: axis 0 runs to the patient's Right, axis 1 to Anterior, axis 2 to
Superior (see ``docs/DEVELOPING.md``).

:func:`read_dicom_series` builds the same kind of :class:`Volume` from a
folder of 2D DICOM slices (one series), with SimpleITK (imported only when it
is called); :func:`dicom_slice_positions` shows where each file's slice lies.
:func:`read_nrrd_or_metaimage` reads the other formats labelled scans come in, and
:func:`read_scan` reads any of the four, telling them apart by the name.

Modules: :mod:`~medseg_edu.io.volume` (:class:`Volume`, :class:`VolumeFileError`),
:mod:`~medseg_edu.io.nifti`, :mod:`~medseg_edu.io.dicom` and :mod:`~medseg_edu.io.files`; every public name is
importable from ``medseg_edu.io``.
"""

from .dicom import SlicePosition, dicom_slice_positions, read_dicom_series
from .files import ITK_SUFFIXES, read_nrrd_or_metaimage, read_scan
from .nifti import MM_PER_NIFTI_UNIT, load_volume, save_volume
from .volume import Volume, VolumeFileError, VolumeFileWarning

__all__ = ["ITK_SUFFIXES", "MM_PER_NIFTI_UNIT", "SlicePosition", "Volume", "VolumeFileError", "VolumeFileWarning",
           "dicom_slice_positions", "load_volume", "read_dicom_series", "read_nrrd_or_metaimage", "read_scan",
           "save_volume"]
