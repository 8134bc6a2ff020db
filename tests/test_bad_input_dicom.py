"""DICOM series: nothing dropped, nothing silently wrong (issue 21, kinds 1 and 6).

* Every file in the folder is read, or named: a DICOM file cut short (an
  interrupted copy) is an error naming it, wherever its slice lies in the stack;
  a file that is not DICOM is named in a warning.
* Rescale slope/intercept that differ from slice to slice are applied per
  slice; the result is float32.
* Property test: generated series (shapes, pixel and slice spacings,
  orientations, pixel types, per-slice slopes, file order, damage) read exactly,
  or raise the package's own ``VolumeFileError`` - in bounded memory.
"""

from __future__ import annotations

import shutil
import sys
import tracemalloc
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medseg_edu.io import (VolumeFileError, VolumeFileWarning, dicom_slice_positions, load_volume, read_dicom_series,
                           save_volume)

sitk = pytest.importorskip("SimpleITK")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from dicom_writer import as_mr, expected_volume, write_series  # noqa: E402

from medseg_edu.data import real_dicom_folder  # noqa: E402


def _copy_bundled(tmp_path):
    folder = tmp_path / "series"
    shutil.copytree(real_dicom_folder(), folder)
    return folder


def _by_position(folder):
    return [p.file for p in sorted(dicom_slice_positions(folder), key=lambda p: p.position_mm)]


# ---------------------------------------------------------------- damaged files
@pytest.mark.parametrize("where", [0, 9, -1])          # first, middle and last slice of the stack
@pytest.mark.parametrize("keep", [0.5, 0.999, 0.003, 0.0])
def test_a_slice_cut_short_is_named_wherever_it_lies(tmp_path, where, keep):
    folder = _copy_bundled(tmp_path)
    victim = folder / _by_position(folder)[where]
    data = victim.read_bytes()
    victim.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(VolumeFileError, match=rf"1 DICOM file\(s\) cannot be read: {victim.name}") as info:
        read_dicom_series(folder)
    assert "cut short" in str(info.value) and "the readable files are 298," in str(info.value)


def test_several_damaged_files_are_all_named(tmp_path):
    folder = _copy_bundled(tmp_path)
    victims = _by_position(folder)[-3:]
    for name in victims:
        (folder / name).write_bytes((folder / name).read_bytes()[:5000])
    with pytest.raises(VolumeFileError, match="3 DICOM file") as info:
        read_dicom_series(folder)
    assert all(name in str(info.value) for name in victims)


def test_a_damaged_file_without_a_dcm_name_is_found_by_its_mark(tmp_path):
    folder = _copy_bundled(tmp_path)
    last = folder / _by_position(folder)[-1]
    data = last.read_bytes()
    last.unlink()
    (folder / "IM0019").write_bytes(data[:2000])            # DICM mark at byte 128, no suffix
    with pytest.raises(VolumeFileError, match="IM0019"):
        read_dicom_series(folder)


def test_files_that_are_not_dicom_are_named_in_a_warning(tmp_path):
    folder = _copy_bundled(tmp_path)
    (folder / "notes.txt").write_text("scanned 2024\n")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    skipped = r"2 file\(s\) that are not DICOM were not read: \.DS_Store, notes\.txt"
    with pytest.warns(VolumeFileWarning, match=skipped):
        volume = read_dicom_series(folder)
    assert volume.shape == (384, 384, 19)


def test_the_bundled_series_reads_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_dicom_series(real_dicom_folder()).shape == (384, 384, 19)


# ---------------------------------------------------------------- rescale per slice
SLOPES = [1.0, 2.5, 0.5, 1.25, 1.0]
INTERCEPTS = [0.0, -7.0, 3.0, -1024.0, 0.5]


def _stored(shape=(6, 5, 5), dtype=np.int16, seed=3):
    high = 2000 if dtype != np.uint8 else 255
    return np.random.default_rng(seed).integers(0, high, shape).astype(dtype)


@pytest.mark.parametrize("modality", ["CT", "MR"])
@pytest.mark.parametrize("dtype", [np.int16, np.uint16])
def test_rescale_differing_per_slice_is_applied_per_slice(tmp_path, modality, dtype):
    stored = _stored(dtype=dtype)
    paths = write_series(tmp_path / "s", stored, slopes=SLOPES, intercepts=INTERCEPTS)
    if modality == "MR":
        for path in paths:
            as_mr(path)
    volume = read_dicom_series(tmp_path / "s", canonical=False)
    expected, affine, spacing = expected_volume(stored, slopes=SLOPES, intercepts=INTERCEPTS)
    assert volume.array.dtype == np.float32
    np.testing.assert_allclose(volume.array, expected, rtol=1e-6)
    assert volume.array[0, 0, 2] % 1 in (0.0, 0.5)        # slope 0.5: halves are kept, not truncated
    np.testing.assert_allclose(volume.affine, affine, atol=1e-5)


def test_one_rescaled_slice_makes_the_whole_volume_float32(tmp_path):
    stored = _stored()
    slopes = [1.0, 1.0, 1.0, 1.0, 0.25]
    write_series(tmp_path / "s", stored, slopes=slopes)
    volume = read_dicom_series(tmp_path / "s", canonical=False)
    assert volume.array.dtype == np.float32
    np.testing.assert_allclose(volume.array, expected_volume(stored, slopes=slopes)[0])


def test_a_header_declaring_a_huge_matrix_is_refused_before_reading(tmp_path):
    paths = write_series(tmp_path / "s", _stored((8, 8, 3)))
    data = bytearray(paths[1].read_bytes())
    for tag in (b"\x28\x00\x10\x00", b"\x28\x00\x11\x00"):   # Rows, Columns (implicit VR: value at +8)
        at = data.find(tag)
        assert at > 0 and data[at + 4:at + 8] == b"\x02\x00\x00\x00"
        data[at + 8:at + 10] = (60000).to_bytes(2, "little")
    paths[1].write_bytes(bytes(data))
    tracemalloc.start()
    try:
        with pytest.raises(VolumeFileError, match=rf"{paths[1].name}' declares 60000 x 60000 pixels"):
            read_dicom_series(tmp_path / "s")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20e6


# ---------------------------------------------------------------- property test
def _rotation(angles):
    a, b, c = np.deg2rad(angles)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


@st.composite
def series(draw):
    cols, rows, n = draw(st.integers(2, 20)), draw(st.integers(2, 20)), draw(st.integers(2, 6))
    dtype = draw(st.sampled_from([np.int16, np.uint16]))
    axes = draw(st.permutations([0, 1, 2]))
    signs = draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=3, max_size=3))
    direction = np.eye(3)[:, axes] * signs
    if draw(st.booleans()):                                  # oblique
        direction = _rotation(draw(st.lists(st.integers(-40, 40), min_size=3, max_size=3))) @ direction
    direction[:, 2] = np.cross(direction[:, 0], direction[:, 1])   # DICOM's normal: row x column
    rescale = draw(st.sampled_from(["none", "same", "per slice"]))
    pairs = st.tuples(st.sampled_from([0.5, 1.0, 1.25, 2.0, 2.5]), st.sampled_from([-1024.0, -7.5, 0.0, 3.0]))
    if rescale == "none":
        slopes, intercepts = None, None
    elif rescale == "same":
        slope, intercept = draw(pairs.filter(lambda p: p != (1.0, 0.0)))
        slopes, intercepts = [slope] * n, [intercept] * n
    else:
        chosen = draw(st.lists(pairs, min_size=n, max_size=n))
        slopes, intercepts = [p[0] for p in chosen], [p[1] for p in chosen]
    return dict(
        stored=np.random.default_rng(draw(st.integers(0, 99))).integers(0, 3000, (cols, rows, n)).astype(dtype),
        pixel_spacing=(draw(st.sampled_from([0.3, 0.5, 0.625, 0.9, 1.5])),
                       draw(st.sampled_from([0.3, 0.5, 0.7, 2.0]))),
        step=draw(st.sampled_from([0.8, 1.0, 2.5, 3.0, 3.6, 6.0])),
        direction=direction,
        origin=tuple(draw(st.lists(st.integers(-200, 200), min_size=3, max_size=3))),
        slopes=slopes, intercepts=intercepts,
        order=draw(st.permutations(list(range(n)))),
        damage=draw(st.sampled_from(["none", "none", "cut", "text file", "empty .dcm"])),
        victim=draw(st.integers(0, n - 1)),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=series())
def test_generated_series_read_exactly_or_raise_the_packages_error(tmp_path_factory, case):
    _read_generated(tmp_path_factory.mktemp("gen"), case)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=series())
def test_generated_series_many_more(tmp_path_factory, case):
    _read_generated(tmp_path_factory.mktemp("gen"), case)


def _read_generated(folder, case):
    stored = case["stored"]
    geometry = {k: case[k] for k in ("pixel_spacing", "step", "direction", "origin", "slopes", "intercepts")}
    names = [f"f{i:02d}.dcm" for i in case["order"]]          # file names unrelated to slice order
    paths = write_series(folder, stored, names=names, **geometry)
    if case["damage"] == "cut":
        victim = paths[case["victim"]]
        victim.write_bytes(victim.read_bytes()[:-50])
    elif case["damage"] == "text file":
        (folder / "README").write_text("series exported by hand\n")
    elif case["damage"] == "empty .dcm":
        (folder / "extra.dcm").write_bytes(b"")

    tracemalloc.start()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                volume = read_dicom_series(folder, canonical=False)
            except VolumeFileError as error:
                volume = error
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 30 * stored.size * 4 + 4e6, f"peak {peak / 1e6:.1f} MB for a {stored.shape} series"

    if case["damage"] in ("cut", "empty .dcm"):
        bad = paths[case["victim"]].name if case["damage"] == "cut" else "extra.dcm"
        assert isinstance(volume, VolumeFileError) and bad in str(volume), volume
        return
    assert not isinstance(volume, Exception), volume
    if case["damage"] == "text file":
        assert any("README" in str(w.message) for w in caught)
    expected, affine, spacing = expected_volume(stored, **geometry)
    assert volume.array.dtype == expected.dtype
    np.testing.assert_allclose(volume.array, expected, rtol=1e-6)
    np.testing.assert_allclose(volume.affine, affine, atol=1e-4)
    assert volume.spacing == pytest.approx(spacing, abs=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VolumeFileWarning)
        canonical = read_dicom_series(folder)                  # the same as nibabel's canonical NIfTI
    reference = nib.as_closest_canonical(nib.Nifti1Image(expected, affine))
    np.testing.assert_allclose(canonical.array, np.asanyarray(reference.dataobj), rtol=1e-6)
    np.testing.assert_allclose(canonical.affine, reference.affine, atol=1e-4)
    again = load_volume(save_volume(canonical, folder.parent / f"{folder.name}.nii.gz"))
    np.testing.assert_allclose(again.array, canonical.array, rtol=1e-6)
