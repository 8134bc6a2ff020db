import gzip
import itertools
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medseg_edu.io import Volume, VolumeFileError, load_volume, save_volume
from medseg_edu.volumetry import volume_ml

SPACING = (0.5, 0.7, 3.0)


def _labels(shape=(12, 10, 6), seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 3, size=shape).astype(np.uint8)


# ---------------------------------------------------------------- Volume
def test_volume_from_array_properties():
    v = Volume.from_array(np.zeros((4, 5, 6), np.float32), SPACING, origin=(1.0, 2.0, 3.0))
    assert v.shape == (4, 5, 6) and v.ndim == 3
    assert v.spacing == SPACING
    assert v.voxel_volume_mm3 == pytest.approx(0.5 * 0.7 * 3.0)
    np.testing.assert_allclose(v.affine, [[0.5, 0, 0, 1], [0, 0.7, 0, 2], [0, 0, 3, 3], [0, 0, 0, 1]])
    with pytest.raises(ValueError, match=r"spacing.*shape \(4, 5, 6\)"):
        Volume.from_array(np.zeros((4, 5, 6)), (1.0, 1.0))
    with pytest.raises(ValueError, match="spacing"):
        Volume.from_array(np.zeros((4, 5, 6)), (1.0, 0.0, 1.0))


# ---------------------------------------------------------------- round trip
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.float32])
def test_round_trip_dtype_spacing_affine(tmp_path, dtype):
    arr = (_labels() * 7).astype(dtype)
    v = Volume.from_array(arr, SPACING, origin=(-10.0, 5.0, 2.5))
    out = save_volume(v, tmp_path / "sub" / "dir" / "v.nii.gz")
    assert out == tmp_path / "sub" / "dir" / "v.nii.gz" and out.exists()
    w = load_volume(out)
    assert w.array.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(w.array, arr)
    assert w.spacing == pytest.approx(SPACING)
    np.testing.assert_allclose(w.affine, v.affine, atol=1e-5)


def test_bool_saved_as_uint8(tmp_path):
    m = _labels() > 1
    w = load_volume(save_volume(Volume.from_array(m, SPACING), tmp_path / "m.nii"))
    assert w.array.dtype == np.uint8
    np.testing.assert_array_equal(w.array, m.astype(np.uint8))


def test_scaled_integer_file_loads_as_float32(tmp_path):
    arr = _labels().astype(np.int16)
    img = nib.Nifti1Image(arr, np.diag([*SPACING, 1.0]))
    img.header.set_slope_inter(2.0, 1.0)
    nib.save(img, tmp_path / "scaled.nii.gz")
    w = load_volume(tmp_path / "scaled.nii.gz")
    assert w.array.dtype == np.float32
    np.testing.assert_allclose(w.array, arr * 2.0 + 1.0)


def test_save_refuses_spacing_that_contradicts_affine(tmp_path):
    v = Volume(np.zeros((3, 3, 3), np.uint8), (1.0, 1.0, 2.0), np.eye(4))
    with pytest.raises(ValueError, match="spacing"):
        save_volume(v, tmp_path / "x.nii.gz")


def test_save_writes_nifti_and_names_the_suffixes_otherwise(tmp_path):
    v = Volume(np.arange(24, dtype=np.int16).reshape(2, 3, 4), (0.6, 0.6, 3.0), np.diag([0.6, 0.6, 3.0, 1.0]))
    # .img writes the .hdr/.img pair; an upper-case .NII.GZ nibabel compresses (it read back as "truncated")
    for name in ("a.nii.gz", "b.nii", "c.img", "D.NII.GZ"):
        np.testing.assert_array_equal(load_volume(save_volume(v, tmp_path / name)).array, v.array)
    for name in ("scan.nrrd", "scan.mha", "scan.png", "scan"):      # nibabel's own message named no way out
        with pytest.raises(VolumeFileError, match=r"save_volume writes NIfTI files: .* should end in .nii.gz, .nii"):
            save_volume(v, tmp_path / name)
    assert not list(tmp_path.glob("scan*"))


# ---------------------------------------------------------------- 2D / 4D
def test_2d_file(tmp_path):
    arr = np.arange(12, dtype=np.int16).reshape(3, 4)
    v = load_volume(save_volume(Volume.from_array(arr, (0.8, 1.2)), tmp_path / "s.nii.gz"))
    assert v.ndim == 2 and v.spacing == pytest.approx((0.8, 1.2))
    np.testing.assert_array_equal(v.array, arr)
    # the same slice stored left-right flipped loads identically
    aff = np.diag([-0.8, 1.2, 1.0, 1.0])
    aff[0, 3] = (arr.shape[0] - 1) * 0.8
    nib.save(nib.Nifti1Image(arr[::-1].copy(), aff), tmp_path / "f.nii.gz")
    f = load_volume(tmp_path / "f.nii.gz")
    np.testing.assert_array_equal(f.array, arr)
    assert f.spacing == pytest.approx((0.8, 1.2))


def test_4d_file_last_axis_is_channels(tmp_path):
    arr = np.stack([_labels(seed=1), _labels(seed=2)], axis=-1).astype(np.float32)
    # stored with x flipped (LAS), as many scanners write it
    aff = np.diag([-SPACING[0], SPACING[1], SPACING[2], 1.0])
    aff[0, 3] = (arr.shape[0] - 1) * SPACING[0]
    nib.save(nib.Nifti1Image(arr[::-1].copy(), aff), tmp_path / "mc.nii.gz")
    v = load_volume(tmp_path / "mc.nii.gz")
    assert v.shape == arr.shape and v.ndim == 4
    assert v.spacing == pytest.approx(SPACING)
    np.testing.assert_array_equal(v.array, arr)
    assert v.array.dtype == np.float32


# ---------------------------------------------------------------- errors
def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.nii.gz"):
        load_volume(tmp_path / "nope.nii.gz")


def test_truncated_gz_raises_volume_file_error(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.normal(size=(40, 40, 20)).astype(np.float32)
    p = save_volume(Volume.from_array(arr, SPACING), tmp_path / "cut_case.nii.gz")
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(VolumeFileError, match="cut_case.nii.gz") as info:
        load_volume(p)
    assert "truncated or corrupt" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_truncated_uncompressed_raises_volume_file_error(tmp_path):
    p = save_volume(Volume.from_array(_labels(), SPACING), tmp_path / "cut_raw.nii")
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) - 200])
    with pytest.raises(VolumeFileError, match="cut_raw.nii"):
        load_volume(p)


@pytest.mark.parametrize("name", ["garbage.nii.gz", "garbage.nii", "notes.txt"])
def test_garbage_file_raises_volume_file_error(tmp_path, name):
    p = tmp_path / name
    p.write_bytes(np.random.default_rng(1).bytes(1000))
    with pytest.raises(VolumeFileError, match=name.replace(".", r"\.")) as info:
        load_volume(p)
    assert "NIfTI" in str(info.value) or "truncated or corrupt" in str(info.value)


def test_gzip_of_garbage_raises_volume_file_error(tmp_path):
    p = tmp_path / "zipped.nii.gz"
    p.write_bytes(gzip.compress(b"hello, this is not an image" * 20))
    with pytest.raises(VolumeFileError, match="zipped"):
        load_volume(p)


def test_non_finite_affine_refused(tmp_path):
    p = save_volume(Volume.from_array(_labels(), SPACING), tmp_path / "nanaff.nii")
    raw = bytearray(p.read_bytes())
    # srow_x starts at byte 280 of a NIfTI-1 header; put NaN in it
    raw[280:284] = np.float32(np.nan).tobytes()
    p.write_bytes(bytes(raw))
    with pytest.raises(VolumeFileError, match="non-finite"):
        load_volume(p)


# ---------------------------------------------------------------- orientation invariance
def _reorder(ras, ras_affine, perm, flips):
    """Store ``ras`` with file axis i = RAS axis perm[i] (optionally flipped).

    Returns the file array and the affine that keeps the anatomy in place.
    """
    stored = np.transpose(ras, perm)
    m = np.zeros((4, 4))
    m[3, 3] = 1.0
    for i, (ax, flip) in enumerate(zip(perm, flips)):
        if flip:
            stored = np.flip(stored, axis=i)
            m[ax, i] = -1.0
            m[ax, 3] = ras.shape[ax] - 1
        else:
            m[ax, i] = 1.0
    return np.ascontiguousarray(stored), ras_affine @ m


@settings(max_examples=25, deadline=None)
@given(
    perm=st.permutations([0, 1, 2]),
    flips=st.tuples(st.booleans(), st.booleans(), st.booleans()),
    seed=st.integers(0, 3),
)
def test_same_anatomy_any_axis_order_loads_identically(perm, flips, seed):
    ras = _labels((7, 6, 5), seed=seed)
    ras_vol = Volume.from_array(ras, SPACING, origin=(-20.0, 10.0, 4.0))
    stored, aff = _reorder(ras, ras_vol.affine, list(perm), flips)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "reordered.nii.gz"
        nib.save(nib.Nifti1Image(stored, aff), p)
        v = load_volume(p)
    assert v.array.dtype == np.uint8
    np.testing.assert_array_equal(v.array, ras)
    assert v.spacing == pytest.approx(SPACING)
    np.testing.assert_allclose(v.affine, ras_vol.affine, atol=1e-5)
    assert volume_ml(v.array > 0, v.spacing) == pytest.approx(volume_ml(ras > 0, SPACING))


def test_all_48_orientations_give_same_volume(tmp_path):
    ras = _labels((5, 4, 3), seed=7)
    ras_vol = Volume.from_array(ras, SPACING)
    for k, (perm, flips) in enumerate(
        itertools.product(itertools.permutations([0, 1, 2]), itertools.product([False, True], repeat=3))
    ):
        stored, aff = _reorder(ras, ras_vol.affine, list(perm), flips)
        p = tmp_path / f"o{k}.nii"
        nib.save(nib.Nifti1Image(stored, aff), p)
        v = load_volume(p)
        np.testing.assert_array_equal(v.array, ras)
        assert volume_ml(v.array, v.spacing) == pytest.approx(volume_ml(ras, SPACING))
    # without canonical reorientation the raw file order is kept
    assert load_volume(p, canonical=False).array.shape == stored.shape


@pytest.mark.parametrize("unit, per_mm", [("meter", 1e-3), ("micron", 1e3), ("mm", 1.0)])
def test_spatial_units_of_the_header_are_converted_to_mm(tmp_path, unit, per_mm):
    spacing_mm = (0.625, 0.625, 3.6)
    affine = np.diag([s * per_mm for s in spacing_mm] + [1.0])
    affine[:3, 3] = [-10 * per_mm, 20 * per_mm, 5 * per_mm]
    img = nib.Nifti1Image(np.zeros((4, 5, 3), np.uint8), affine)
    img.header.set_xyzt_units(unit)
    nib.save(img, tmp_path / "scan.nii.gz")
    vol = load_volume(tmp_path / "scan.nii.gz")
    assert vol.spacing == pytest.approx(spacing_mm)
    assert vol.affine[:3, 3] == pytest.approx([-10, 20, 5])
    assert np.diag(vol.affine)[:3] == pytest.approx(spacing_mm)
