"""The bundled real material (data/real, data/msd_labels) and the DICOM series reader."""

from __future__ import annotations

import locale
import shutil

import numpy as np
import pytest
import SimpleITK as sitk

from medseg_edu.data import (REAL_SCANS, msd_label_dir, real_data_citation, real_dicom_folder, real_scans,
                             real_scan)
from medseg_edu.io import VolumeFileError, dicom_slice_positions, load_volume, read_dicom_series

sitk = pytest.importorskip("SimpleITK")

SERIES_UID = "1.3.6.1.4.1.14519.5.2.1.7307.2101.287009217605941401146066177219"
SLICES = {"Prostate3T-03-0001": 19, "Prostate3T-03-0004": 19, "ProstateX-0000": 16}


@pytest.fixture(scope="module")
def dicom_volume():
    return read_dicom_series(real_dicom_folder())


@pytest.fixture(scope="module")
def nifti_volume():
    return real_scan("Prostate3T-03-0001")


def _copy_series(tmp_path, names=None):
    """Copy the bundled series to tmp_path (optionally under new names); return the folder."""
    folder = tmp_path / "series"
    folder.mkdir()
    files = sorted(real_dicom_folder().glob("*.dcm"))
    for i, src in enumerate(files):
        shutil.copy(src, folder / (names[i] if names else src.name))
    return folder


def _rewrite(src, dst, uid=None, direction=None, shift_mm=0.0):
    """Write a copy of one DICOM slice with a new SeriesInstanceUID, orientation or position.

    ``shift_mm`` moves the slice along its normal (ImagePositionPatient).
    """
    reader = sitk.ImageFileReader()
    reader.SetImageIO("GDCMImageIO")
    reader.SetFileName(str(src))
    image = reader.Execute()
    if uid is not None:
        image.SetMetaData("0020|000e", uid)
    if direction is not None:  # the writer takes ImageOrientationPatient from the tag, so set both
        image.SetDirection(direction)
        d = np.asarray(direction).reshape(3, 3)
        image.SetMetaData("0020|0037", "\\".join(f"{v:.8f}" for v in [*d[:, 0], *d[:, 1]]))
    if shift_mm:
        d = np.asarray(image.GetDirection()).reshape(3, 3)
        origin = np.asarray(image.GetOrigin()) + shift_mm * d[:, 2]
        image.SetOrigin(origin.tolist())
        image.SetMetaData("0020|0032", "\\".join(f"{v:.6f}" for v in origin))
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    writer.SetFileName(str(dst))
    saved = locale.setlocale(locale.LC_ALL)
    try:
        writer.Execute(image)
    finally:  # the GDCM writer sets the C locale (ASCII text I/O for the rest of the process)
        locale.setlocale(locale.LC_ALL, saved)


# ---------------------------------------------------------------- bundled files
@pytest.mark.parametrize("name", REAL_SCANS)
def test_bundled_scans_have_the_documented_geometry(name):
    vol = real_scan(name)
    assert vol.shape == (384, 384, SLICES[name])
    assert vol.spacing == (0.5, 0.5, 3.0)
    assert vol.array.dtype == np.int16 and vol.array.max() > 0
    assert name in real_data_citation(name) or "TCIA" in real_data_citation(name)


def test_bundled_dicom_folder_and_citations():
    assert len(list(real_dicom_folder().glob("*.dcm"))) == 19
    text = real_data_citation()
    for doi in ("10.7937/K9/TCIA.2015.QJTV5IL5", "10.7937/K9TCIA.2017.MURS5CL",
                "10.1007/s10278-013-9622-7", "arXiv:1902.09063"):
        assert doi in text
    assert "CC-BY-SA 4.0" in real_data_citation("msd_labels")
    with pytest.raises(ValueError, match="bundled ones are"):
        real_scan("Prostate3T-03-0002")


def test_msd_label_maps_load_with_zone_values():
    files = sorted(msd_label_dir().glob("prostate_*.nii.gz"))
    assert len(files) == 32
    for path in files:
        labels = load_volume(path).array
        assert labels.ndim == 3 and labels.dtype == np.uint8
        values = set(np.unique(labels).tolist())
        assert values <= {0, 1, 2} and 1 in values, path.name


# ---------------------------------------------------------------- DICOM reader
def test_dicom_series_equals_its_nifti_conversion(dicom_volume, nifti_volume):
    assert dicom_volume.shape == nifti_volume.shape == (384, 384, 19)
    assert dicom_volume.array.dtype == nifti_volume.array.dtype
    np.testing.assert_array_equal(dicom_volume.array, nifti_volume.array)
    assert dicom_volume.spacing == nifti_volume.spacing == (0.5, 0.5, 3.0)
    np.testing.assert_allclose(dicom_volume.affine, nifti_volume.affine, rtol=0, atol=1e-3)
    # the oblique tilt (about 12 degrees) is kept, not resampled away
    normal = dicom_volume.affine[:3, 2] / np.linalg.norm(dicom_volume.affine[:3, 2])
    assert np.degrees(np.arccos(abs(normal[2]))) == pytest.approx(12.0, abs=0.1)


def test_dicom_native_order_and_series_id(dicom_volume):
    native = read_dicom_series(real_dicom_folder(), series_id=SERIES_UID, canonical=False)
    assert native.shape == (384, 384, 19) and native.spacing == (0.5, 0.5, 3.0)
    # the same voxels in world space: the canonical volume is a flip/permutation of this one
    corner = native.affine @ [383, 0, 18, 1]
    index = np.linalg.solve(dicom_volume.affine, corner)
    np.testing.assert_allclose(index[:3], np.round(index[:3]), atol=1e-6)
    i, j, k = np.round(index[:3]).astype(int)
    assert native.array[383, 0, 18] == dicom_volume.array[i, j, k]


def test_shuffled_renamed_files_give_the_same_volume(tmp_path, dicom_volume):
    rng = np.random.default_rng(7)
    names = [f"img{n:04d}" for n in rng.permutation(19) * 37 + 100]  # no extension, random order
    vol = read_dicom_series(_copy_series(tmp_path, names))
    np.testing.assert_array_equal(vol.array, dicom_volume.array)
    np.testing.assert_allclose(vol.affine, dicom_volume.affine, atol=1e-9)
    assert vol.spacing == dicom_volume.spacing


def test_slice_positions_come_from_headers_not_names():
    positions = dicom_slice_positions(real_dicom_folder())
    assert [p.file for p in positions] == sorted(p.file for p in positions)
    assert len(positions) == 19
    by_position = sorted(positions, key=lambda p: p.position_mm)
    np.testing.assert_allclose(np.diff([p.position_mm for p in by_position]), 3.0, atol=1e-4)
    assert by_position != positions  # the file names are not in slice order
    instances = [p.instance_number for p in by_position]
    assert instances in (list(range(1, 20)), list(range(19, 0, -1)))


def test_missing_slice_names_the_gap(tmp_path):
    folder = _copy_series(tmp_path)
    positions = sorted(dicom_slice_positions(folder), key=lambda p: p.position_mm)
    gone = positions[9]
    (folder / gone.file).unlink()
    with pytest.raises(VolumeFileError, match="missing slices") as err:
        read_dicom_series(folder)
    message = str(err.value)
    assert f"{positions[8].position_mm:.2f} mm" in message
    assert f"{positions[10].position_mm:.2f} mm" in message
    assert "6.00 mm" in message and "1 slice(s) missing" in message


def test_empty_and_non_dicom_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such DICOM folder"):
        read_dicom_series(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(VolumeFileError, match="holds no files"):
        read_dicom_series(empty)
    (empty / "sub").mkdir()
    with pytest.raises(VolumeFileError, match="subfolders"):
        read_dicom_series(empty)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("not an image\n")
    np.save(other / "array.npy", np.zeros((4, 4)))
    with pytest.raises(VolumeFileError, match=r"none of its 2 files .* is a DICOM image"):
        read_dicom_series(other)
    with pytest.raises(VolumeFileError, match="is a file, not a folder"):
        read_dicom_series(other / "notes.txt")


def test_two_series_in_one_folder_are_listed(tmp_path):
    folder = _copy_series(tmp_path)
    new_uid = "1.2.826.0.1.3680043.2.1125.12.1"
    _rewrite(folder / "000005.dcm", folder / "extra.dcm", uid=new_uid)
    with pytest.raises(VolumeFileError, match="holds 2 DICOM series") as err:
        read_dicom_series(folder)
    assert f"{SERIES_UID} (19 files)" in str(err.value)
    assert f"{new_uid} (1 file)" in str(err.value)
    assert "series_id=" in str(err.value)
    assert read_dicom_series(folder, series_id=SERIES_UID).shape == (384, 384, 19)
    with pytest.raises(VolumeFileError, match="single slice"):
        read_dicom_series(folder, series_id=new_uid)
    with pytest.raises(VolumeFileError, match="no DICOM series with UID"):
        read_dicom_series(folder, series_id="1.2.3")


def test_mixed_orientations_are_refused(tmp_path):
    folder = _copy_series(tmp_path)
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(folder / "000007.dcm"))
    reader.ReadImageInformation()
    d = np.array(reader.GetDirection()).reshape(3, 3)
    turn = np.array([[1, 0, 0], [0, np.cos(0.3), -np.sin(0.3)], [0, np.sin(0.3), np.cos(0.3)]])
    _rewrite(folder / "000007.dcm", folder / "000007.dcm", direction=(turn @ d).ravel().tolist())
    with pytest.raises(VolumeFileError, match=r"mixed orientations .* in 18 files .* in 1 files"):
        read_dicom_series(folder)


def test_unequal_slice_spacing_is_refused(tmp_path):
    folder = _copy_series(tmp_path)
    positions = sorted(dicom_slice_positions(folder), key=lambda p: p.position_mm)
    moved = positions[6]
    _rewrite(folder / moved.file, folder / moved.file, shift_mm=1.0)
    with pytest.raises(VolumeFileError, match="unequal slice spacing") as err:
        read_dicom_series(folder)
    assert f"4.00 mm between {positions[5].position_mm:.2f} mm and {moved.position_mm + 1:.2f} mm" in str(err.value)


def test_more_real_scans_come_from_a_folder_by_their_case_name(tmp_path):
    from medseg_edu._bundled import data_dir

    assert [name for name, _ in real_scans()] == list(REAL_SCANS)
    bundled = data_dir("real") / "prostate3t_Prostate3T-03-0001_t2.nii.gz"
    shutil.copy(bundled, tmp_path / "prostate3t_Prostate3T-03-0001_t2.nii.gz")   # a bundled one: not twice
    shutil.copy(bundled, tmp_path / "prostate3t_Prostate3T-03-0009_t2.nii.gz")   # named by its TCIA case
    shutil.copy(bundled, tmp_path / "mine.nii.gz")                                 # any other name: its stem
    (tmp_path / "notes.txt").write_text("not a scan")
    sitk.WriteImage(sitk.ReadImage(str(bundled)), str(tmp_path / "theirs.mha"))  # PI-CAI's format
    scans = real_scans(tmp_path)
    assert [name for name, _ in scans] == [*REAL_SCANS, "mine", "Prostate3T-03-0009", "theirs"]  # file-name order
    for _, copy in scans[-2:]:
        assert np.array_equal(copy.array, scans[0][1].array) and copy.spacing == scans[0][1].spacing
    with pytest.raises(FileNotFoundError, match="No folder of real scans at .*missing"):
        real_scans(tmp_path / "missing")
