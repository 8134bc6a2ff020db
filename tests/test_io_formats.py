"""io.read_scan: NIfTI, DICOM folders, NRRD and MetaImage read to the same RAS-canonical Volume."""

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from medseg_edu.data import real_dicom_folder, real_scan
from medseg_edu.io import VolumeFileError, load_volume, read_nrrd_or_metaimage, read_scan


def _convert(nifti, target):
    """The same file in another format, written by SimpleITK (as a challenge would hand it out)."""
    sitk.WriteImage(sitk.ReadImage(str(nifti)), str(target))
    return target


@pytest.fixture(scope="module")
def real_nifti(tmp_path_factory):
    """The bundled real scan (oblique slices: its affine is not diagonal) as a NIfTI file."""
    path = tmp_path_factory.mktemp("real") / "scan.nii.gz"
    volume = real_scan("Prostate3T-03-0001")
    nib.save(nib.Nifti1Image(volume.array, volume.affine), path)
    return path


@pytest.mark.parametrize("suffix", [".nrrd", ".mha", ".nii", ".nii.gz"])
def test_a_scan_reads_the_same_in_every_format(real_nifti, tmp_path, suffix):
    expected = load_volume(real_nifti)
    read = read_scan(_convert(real_nifti, tmp_path / f"scan{suffix}"))
    assert np.array_equal(read.array, expected.array) and read.array.dtype == expected.array.dtype
    assert read.spacing == pytest.approx(expected.spacing, abs=1e-5)
    np.testing.assert_allclose(read.affine, expected.affine, atol=1e-4)


def test_a_dicom_folder_reads_like_its_nifti_conversion():
    folder, expected = read_scan(real_dicom_folder()), real_scan("Prostate3T-03-0001")
    assert np.array_equal(folder.array, expected.array)
    np.testing.assert_allclose(folder.affine, expected.affine, atol=1e-4)


@pytest.mark.parametrize("axes, flips", [((0, 1, 2), (False, False, False)), ((2, 0, 1), (True, False, False)),
                                         ((1, 2, 0), (False, True, True)), ((0, 2, 1), (True, True, True))])
def test_an_nrrd_stored_in_any_axis_order_reads_canonically(tmp_path, axes, flips):
    ras = np.random.default_rng(0).integers(0, 3, (7, 6, 5)).astype(np.uint8)
    affine = np.diag([0.6, 0.7, 3.6, 1.0])
    affine[:3, 3] = (-20.0, 10.0, 4.0)
    stored, to_file = np.transpose(ras, axes), np.zeros((4, 4))
    to_file[3, 3] = 1.0
    for i, (axis, flip) in enumerate(zip(axes, flips)):
        to_file[axis, i] = -1.0 if flip else 1.0
        to_file[axis, 3] = ras.shape[axis] - 1 if flip else 0.0
        stored = np.flip(stored, i) if flip else stored
    nib.save(nib.Nifti1Image(np.ascontiguousarray(stored), affine @ to_file), tmp_path / "stored.nii")
    read = read_scan(_convert(tmp_path / "stored.nii", tmp_path / "stored.nrrd"))
    assert np.array_equal(read.array, ras) and read.spacing == pytest.approx((0.6, 0.7, 3.6))
    np.testing.assert_allclose(read.affine, affine, atol=1e-5)
    assert read_nrrd_or_metaimage(tmp_path / "stored.nrrd", canonical=False).array.shape == stored.shape


def test_vector_voxels_become_the_last_axis(tmp_path):
    channels = [sitk.GetImageFromArray(np.full((4, 3, 2), k, np.float32)) for k in (1, 2)]
    sitk.WriteImage(sitk.Compose(channels), str(tmp_path / "two.mha"))
    read = read_scan(tmp_path / "two.mha")
    assert read.array.shape == (2, 3, 4, 2) and np.all(read.array[..., 1] == 2)


def test_what_cannot_be_read_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such scan file or DICOM folder: .*missing.nrrd"):
        read_scan(tmp_path / "missing.nrrd")
    (tmp_path / "scan.png").write_bytes(b"\x89PNG")
    with pytest.raises(VolumeFileError, match=r"format of .*scan.png.*NIfTI.*DICOM.*\.nrrd, \.nhdr, \.mha, \.mhd"):
        read_scan(tmp_path / "scan.png")
    with pytest.raises(VolumeFileError, match="single DICOM file, one slice of a series: pass the folder .*Prostate3T"):
        read_scan(sorted(real_dicom_folder().iterdir())[0])
    (tmp_path / "broken.nrrd").write_text("NRRD0004\nnot a header\n")
    with pytest.raises(VolumeFileError, match="Cannot read .*broken.nrrd' as an NRRD or MetaImage file"):
        read_scan(tmp_path / "broken.nrrd")
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((4, 5), np.uint8)), str(tmp_path / "flat.nrrd"))
    with pytest.raises(VolumeFileError, match="flat.nrrd' has 2 dimensions"):
        read_scan(tmp_path / "flat.nrrd")
