"""Property tests for load_volume (issue 21, kind 6): generated NIfTI files, honest or not.

Hypothesis writes files of random shapes (2D, 3D, 4D), data types, voxel sizes
(some impossible in mm), orientations (the 48 axis-aligned ones and oblique
ones), qform/sform codes that agree or not, intensity scaling, compression, and
damage (a header declaring more voxels than the file holds, a cut file).
Each file loads to exactly its data with a spacing that agrees with its affine,
or raises the package's own VolumeFileError - and memory stays bounded.
The DICOM side is in tests/test_bad_input_dicom.py.
"""

from __future__ import annotations

import struct
import tempfile
import tracemalloc
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from medseg_edu._checks import PLAUSIBLE_SPACING_MM
from medseg_edu.io import VolumeFileError, load_volume, save_volume

DTYPES = [np.uint8, np.int16, np.int32, np.float32, np.float64]


def _rotation(degrees):
    a, b = np.deg2rad(degrees)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    return rz @ rx


@st.composite
def nifti_files(draw):
    ndim = draw(st.sampled_from([2, 3, 3, 3, 4]))
    shape = tuple(draw(st.lists(st.integers(1, 12), min_size=ndim, max_size=ndim)))
    if ndim == 4:
        shape = shape[:3] + (draw(st.integers(1, 3)),)
    sizes = st.sampled_from([0.3, 0.5, 0.625, 0.8, 1.0, 2.0, 3.0, 3.6, 5.0, 0.0004, 400.0])  # 2 of 11: not mm
    zooms = draw(st.lists(sizes, min_size=3, max_size=3))
    axes = draw(st.permutations([0, 1, 2]))
    signs = draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=3, max_size=3))
    linear = np.eye(3)[:, axes] * signs * zooms
    if draw(st.booleans()):
        linear = _rotation(draw(st.lists(st.integers(-35, 35), min_size=2, max_size=2))) @ linear
    affine = np.eye(4)
    affine[:3, :3] = linear
    affine[:3, 3] = draw(st.lists(st.integers(-100, 100), min_size=3, max_size=3))
    return dict(
        shape=shape, dtype=draw(st.sampled_from(DTYPES)), affine=affine, zooms=zooms,
        seed=draw(st.integers(0, 1000)),
        sform=draw(st.sampled_from(["same", "other", "none"])),
        scaling=draw(st.sampled_from([None, (2.0, 1.0), (0.5, -3.0)])),
        compressed=draw(st.booleans()),
        damage=draw(st.sampled_from(["none", "none", "none", "lying dims", "cut"])),
        lie=draw(st.sampled_from([2, 50, 5000])),
    )


def _write(folder: Path, case) -> tuple[Path, np.ndarray, nib.Nifti1Image]:
    rng = np.random.default_rng(case["seed"])
    data = (rng.integers(0, 120, case["shape"]) if np.issubdtype(case["dtype"], np.integer)
            else rng.normal(0, 50, case["shape"])).astype(case["dtype"])
    img = nib.Nifti1Image(data, case["affine"], dtype=case["dtype"])
    img.set_qform(case["affine"], code=1)
    if case["sform"] == "none":
        img.set_sform(None, code=0)
    else:
        other = case["affine"] @ np.diag([1.5, 1.0, 2.0, 1.0]) if case["sform"] == "other" else case["affine"]
        img.set_sform(other, code=2)
    if case["scaling"] is not None:
        img.header.set_slope_inter(*case["scaling"])
    path = folder / ("case.nii.gz" if case["compressed"] else "case.nii")
    nib.save(img, path)
    return path, data, img


def _damage(path: Path, case) -> None:
    raw = bytearray(path.read_bytes())
    if case["damage"] == "cut":
        path.write_bytes(bytes(raw[: max(10, len(raw) * 2 // 3)]))
        return
    import gzip
    plain = bytearray(gzip.decompress(raw)) if case["compressed"] else raw
    dims = list(struct.unpack_from("<8h", plain, 40))
    dims[1] = min(dims[1] * case["lie"], 32000)       # x as many voxels along the first axis
    struct.pack_into("<8h", plain, 40, *dims)
    path.write_bytes(gzip.compress(bytes(plain)) if case["compressed"] else bytes(plain))


def _check_loaded(volume, data, img, case) -> None:
    assert volume.array.size == data.size
    n = len(volume.spacing)
    lengths = np.sqrt((volume.affine[:3, :n] ** 2).sum(axis=0))
    np.testing.assert_allclose(volume.spacing, lengths, rtol=1e-4, atol=1e-5)   # spacing agrees with the affine
    expected = data.astype(np.float64)
    if case["scaling"] is not None:
        expected = expected * case["scaling"][0] + case["scaling"][1]
    float_file = case["scaling"] is not None or np.issubdtype(case["dtype"], np.floating)
    assert volume.array.dtype == (np.float32 if float_file else case["dtype"])
    np.testing.assert_allclose(np.sort(volume.array.ravel().astype(np.float64)), np.sort(expected.ravel()),
                               rtol=1e-5, atol=1e-3)                           # same values, reoriented
    if data.ndim >= 3:
        reference = nib.as_closest_canonical(nib.load(img.get_filename()))
        np.testing.assert_allclose(volume.affine, reference.affine, atol=1e-4)  # nibabel's choice
        np.testing.assert_allclose(volume.array, reference.get_fdata().astype(volume.array.dtype),
                                   rtol=1e-5, atol=1e-3)


def _run(case):
    with tempfile.TemporaryDirectory() as folder:
        path, data, img = _write(Path(folder), case)
        if case["damage"] != "none":
            _damage(path, case)
        tracemalloc.start()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    volume = load_volume(path)
                except VolumeFileError as error:
                    volume = error
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 40 * max(data.nbytes, 1) + 2e6, f"peak {peak / 1e6:.1f} MB for {data.nbytes} bytes of data"
        low, high = PLAUSIBLE_SPACING_MM
        used = nib.affines.voxel_sizes(img.affine)[: min(data.ndim, 3)]
        implausible = np.any(used < low) or np.any(used > high)
        event(f"{case['damage']}, {'implausible' if implausible else 'plausible'} spacing: "
              f"{type(volume).__name__}")
        if case["damage"] != "none":
            assert isinstance(volume, VolumeFileError), f"a {case['damage']} file loaded"
            return
        if implausible:
            assert isinstance(volume, VolumeFileError) and "cannot be millimetres" in str(volume), volume
            return
        assert not isinstance(volume, Exception), volume
        _check_loaded(volume, data, img, case)
        save_volume(volume, Path(folder) / "again.nii.gz")   # what loads can be saved


@settings(max_examples=60, deadline=None)
@given(case=nifti_files())
def test_generated_nifti_files_load_exactly_or_raise_the_packages_error(case):
    _run(case)


@pytest.mark.slow
@settings(max_examples=600, deadline=None)
@given(case=nifti_files())
def test_generated_nifti_files_many_more(case):
    _run(case)
