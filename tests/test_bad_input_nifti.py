"""NIfTI headers that contradict themselves or the file (issue 21, kind 2).

* qform and sform disagree: ``load_volume`` follows nibabel's choice of affine
  (the sform when its code is set), takes the spacing from that same affine,
  warns (:class:`~medseg_edu.io.VolumeFileWarning`), and ``save_volume``
  accepts the result.
* A header declaring more voxels than the file holds is refused with
  :class:`~medseg_edu.io.VolumeFileError` before any voxel array is allocated,
  for ``.nii``, ``.nii.gz`` (cut, lying or multi-member streams) and ``.hdr/.img`` pairs.
* A zero voxel size with neither qform nor sform (which nibabel reads as 1 mm) is refused.
"""

from __future__ import annotations

import gzip
import struct
import tracemalloc
import warnings

import nibabel as nib
import numpy as np
import pytest

from medseg_edu.io import Volume, VolumeFileError, VolumeFileWarning, load_volume, save_volume

QFORM = np.array([[0.7, 0, 0, -40.0], [0, 0.7, 0, -30.0], [0, 0, 3.0, 10.0], [0, 0, 0, 1]])
SFORM = np.array([[0, -1.0, 0, 20.0], [1.0, 0, 0, -5.0], [0, 0, 5.0, 0.0], [0, 0, 0, 1]])  # other sizes, turned


def _image(shape=(10, 12, 6), dtype=np.int16, seed=0):
    return np.random.default_rng(seed).integers(0, 300, shape).astype(dtype)


def _two_forms(tmp_path, array, sform_code=2, qform_code=1, name="forms.nii.gz"):
    img = nib.Nifti1Image(array, QFORM)
    img.set_qform(QFORM, code=qform_code)
    img.set_sform(SFORM, code=sform_code)
    path = tmp_path / name
    nib.save(img, path)
    return path


def _load_warned(path, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        volume = load_volume(path, **kwargs)
    return volume, [w for w in caught if issubclass(w.category, VolumeFileWarning)]


@pytest.mark.parametrize("sform_code", [1, 2, 3, 4])
@pytest.mark.parametrize("canonical", [True, False])
def test_disagreeing_forms_follow_nibabels_affine_and_warn(tmp_path, sform_code, canonical):
    path = _two_forms(tmp_path, _image(), sform_code=sform_code)
    volume, caught = _load_warned(path, canonical=canonical)
    expected = nib.load(path)
    if canonical:
        expected = nib.as_closest_canonical(expected)
    np.testing.assert_allclose(volume.affine, expected.affine, atol=1e-5)   # nibabel's choice: the sform
    lengths = np.sqrt((volume.affine[:3, :3] ** 2).sum(axis=0))
    np.testing.assert_allclose(volume.spacing, lengths, rtol=1e-5)          # spacing from that affine
    assert sorted(volume.spacing) == pytest.approx([1.0, 1.0, 5.0])
    assert len(caught) == 1
    message = str(caught[0].message)
    assert str(path) in message and "qform and sform disagree" in message and "sform is used" in message
    assert "(0.7, 0.7, 3.0)" in message and "(1.0, 1.0, 5.0)" in message
    again = load_volume(save_volume(volume, tmp_path / "again.nii.gz"), canonical=canonical)
    assert again.spacing == volume.spacing
    np.testing.assert_allclose(again.affine, volume.affine, atol=1e-5)
    np.testing.assert_array_equal(again.array, volume.array)


def test_without_an_sform_the_qform_is_used_quietly(tmp_path):
    path = _two_forms(tmp_path, _image(), sform_code=0)
    volume, caught = _load_warned(path)
    assert caught == [] and volume.spacing == pytest.approx((0.7, 0.7, 3.0))


def test_forms_that_agree_are_quiet(tmp_path):
    img = nib.Nifti1Image(_image(), QFORM)
    img.set_qform(QFORM, code=1)
    img.set_sform(QFORM, code=2)
    nib.save(img, tmp_path / "same.nii")
    volume, caught = _load_warned(tmp_path / "same.nii")
    assert caught == [] and volume.spacing == pytest.approx((0.7, 0.7, 3.0))


@pytest.mark.parametrize("shape", [(10, 12), (10, 12, 6, 2)])
def test_2d_and_4d_files_take_their_spacing_from_the_affine(tmp_path, shape):
    path = _two_forms(tmp_path, _image(shape), name=f"forms{len(shape)}d.nii")
    volume, caught = _load_warned(path)
    n = len(volume.spacing)
    assert len(caught) == 1 and n == min(len(shape), 3)
    np.testing.assert_allclose(volume.spacing, np.sqrt((volume.affine[:3, :n] ** 2).sum(axis=0)), rtol=1e-5)
    save_volume(volume, tmp_path / "out.nii")


def test_pixdim_that_contradicts_the_sform_is_named(tmp_path):
    img = nib.Nifti1Image(_image(), SFORM)
    img.set_qform(None, code=0)
    img.set_sform(SFORM, code=2)
    img.header.set_zooms((0.5, 0.5, 2.0))
    nib.save(img, tmp_path / "pixdim.nii")
    volume, caught = _load_warned(tmp_path / "pixdim.nii")
    assert len(caught) == 1 and "pixdim" in str(caught[0].message)
    assert sorted(volume.spacing) == pytest.approx([1.0, 1.0, 5.0])


# ---------------------------------------------------------------- declared size
def _lying_header(tmp_path, dims, name="lie.nii", dtype=np.float32, held_shape=(4, 4, 4)):
    """A valid small file whose header then claims ``dims`` voxels."""
    path = tmp_path / "honest.nii"
    nib.save(nib.Nifti1Image(np.ones(held_shape, dtype), np.eye(4)), path)
    raw = bytearray(path.read_bytes())
    struct.pack_into("<8h", raw, 40, len(dims), *dims, *([1] * (7 - len(dims))))
    out = tmp_path / name
    out.write_bytes(gzip.compress(bytes(raw)) if name.endswith(".gz") else bytes(raw))
    return out


def _refused_without_allocating(path, words):
    tracemalloc.start()
    try:
        with pytest.raises(VolumeFileError, match=words) as info:
            load_volume(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8e6, f"{peak / 1e6:.0f} MB allocated before the refusal"
    assert str(path) in str(info.value) and "Nothing was allocated" in str(info.value)
    return str(info.value)


@pytest.mark.parametrize("name", ["lie.nii", "lie.nii.gz"])
@pytest.mark.parametrize("dims", [(4000, 4000, 400), (30000, 30000), (200, 200, 200, 3), (5, 4, 4)])
def test_a_header_declaring_more_voxels_than_the_file_holds_is_refused_first(tmp_path, name, dims):
    message = _refused_without_allocating(_lying_header(tmp_path, dims, name), "declares .* voxels of float32")
    assert str(tuple(dims)) in message


def test_a_cut_gzip_stream_is_refused_first(tmp_path):
    path = tmp_path / "cut.nii.gz"
    nib.save(nib.Nifti1Image(_image((64, 64, 32)), np.eye(4)), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _refused_without_allocating(path, r"declares \(64, 64, 32\) voxels of int16 .*decompressed")


def test_an_image_pair_whose_img_file_is_short_is_refused_first(tmp_path):
    nib.save(nib.Nifti1Pair(_image((32, 32, 16)), np.eye(4)), tmp_path / "pair.img")
    data = (tmp_path / "pair.img").read_bytes()
    (tmp_path / "pair.img").write_bytes(data[:1000])
    _refused_without_allocating(tmp_path / "pair.hdr", r"declares .*in pair\.img, on disk")


def test_honest_files_that_compress_well_or_come_in_members_still_load(tmp_path):
    zeros = np.zeros((256, 256, 48), np.uint8)                  # ~1000:1 with deflate
    nib.save(nib.Nifti1Image(zeros, np.eye(4)), tmp_path / "zeros.nii.gz")
    assert load_volume(tmp_path / "zeros.nii.gz").shape == zeros.shape
    array = _image((20, 20, 8))
    nib.save(nib.Nifti1Image(array, np.eye(4)), tmp_path / "plain.nii")
    raw = (tmp_path / "plain.nii").read_bytes()                 # two gzip members, as pigz or bgzip write
    (tmp_path / "members.nii.gz").write_bytes(gzip.compress(raw[:1000]) + gzip.compress(raw[1000:]))
    np.testing.assert_array_equal(load_volume(tmp_path / "members.nii.gz").array, array)
    np.testing.assert_array_equal(load_volume(tmp_path / "plain.nii").array, array)


def test_a_volume_in_metres_typed_as_mm_is_named_with_the_file(tmp_path):
    img = nib.Nifti1Image(_image(), np.diag([0.000625, 0.000625, 0.0036, 1.0]))
    img.header.set_xyzt_units("mm")                               # the header says mm, the numbers are metres
    nib.save(img, tmp_path / "metres.nii.gz")
    with pytest.raises(VolumeFileError, match=r"metres.nii.gz.*Was it given in metres\? Multiply by 1000"):
        load_volume(tmp_path / "metres.nii.gz")
    assert Volume.from_array(_image(), (0.625, 0.625, 3.6)).spacing == (0.625, 0.625, 3.6)


@pytest.mark.parametrize("name", ["zero.nii", "zero.nii.gz", "zero.hdr"])
def test_a_zero_voxel_size_without_qform_or_sform_is_refused_not_read_as_1_mm(tmp_path, name):
    """nibabel mends a zero pixdim to 1 mm; with no qform or sform nothing else states the size, so every
    volume measured on the scan would rest on a guessed slice thickness."""
    def write(sizes):
        img = (nib.Nifti1Pair if name.endswith(".hdr") else nib.Nifti1Image)(_image(), np.eye(4))
        img.header.set_zooms(sizes)
        img.set_qform(None, code=0)
        img.set_sform(None, code=0)
        nib.save(img, tmp_path / name)
        return tmp_path / name

    with pytest.raises(VolumeFileError, match=r"states no voxel size: its pixdim is 0.7 x 0.7 x 0 mm"):
        load_volume(write((0.7, 0.7, 0.0)))
    # the same file with its sizes stated loads as before
    assert load_volume(write((0.7, 0.7, 3.0))).spacing == pytest.approx((0.7, 0.7, 3.0))
