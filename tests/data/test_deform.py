"""Smooth random displacements and warping (medseg_edu.data.deform)."""

from __future__ import annotations

import numpy as np
import pytest

from medseg_edu.data.deform import displacement_mm, random_displacement, warp


@pytest.mark.parametrize("shape, spacing", [((40, 36), (1.25, 1.25)),
                                            ((32, 30, 8), (0.625, 0.625, 3.6))])
def test_displacement_shape_and_determinism(shape, spacing):
    d1 = random_displacement(shape, spacing, seed=3)
    d2 = random_displacement(shape, spacing, seed=3)
    d3 = random_displacement(shape, spacing, seed=4)
    assert d1.shape == (len(shape),) + shape
    assert d1.dtype == np.float32
    assert np.array_equal(d1, d2)
    assert not np.allclose(d1, d3)


@pytest.mark.parametrize("magnitude", [0.5, 5.0, 12.0])
def test_max_magnitude_in_mm(magnitude):
    spacing = (0.625, 0.625, 3.6)  # anisotropic: voxel units differ per axis
    d = random_displacement((48, 40, 10), spacing, magnitude_mm=magnitude, seed=1)
    length = np.sqrt((displacement_mm(d, spacing) ** 2).sum(axis=0))
    assert length.max() == pytest.approx(magnitude, rel=1e-4)
    # the z component in voxels is the mm value divided by 3.6, not by 0.625
    assert np.abs(d[2]).max() * 3.6 <= magnitude * (1 + 1e-4)


def test_displacement_is_smooth():
    d = random_displacement((64, 64), (1.0, 1.0), magnitude_mm=5.0, smoothness_mm=20.0, seed=0)
    step = np.abs(np.diff(d, axis=1)).max()
    assert step < 0.5  # neighbouring voxels move nearly together
    rough = random_displacement((64, 64), (1.0, 1.0), magnitude_mm=5.0, smoothness_mm=2.0, seed=0)
    assert np.abs(np.diff(rough, axis=1)).max() > step


def test_zero_magnitude_and_bad_args():
    assert not random_displacement((10, 10), (1, 1), magnitude_mm=0).any()
    with pytest.raises(ValueError):
        random_displacement((10, 10, 10, 10), (1, 1, 1, 1))
    with pytest.raises(ValueError):
        random_displacement((10, 10), (1, 1), smoothness_mm=0)


def test_warp_identity_for_zero_field():
    rng = np.random.default_rng(0)
    img = rng.random((12, 10, 6)).astype(np.float32)
    zero = np.zeros((3,) + img.shape)
    assert np.allclose(warp(img, zero), img, atol=1e-6)
    labels = rng.integers(0, 3, size=(12, 10, 6)).astype(np.uint8)
    out = warp(labels, zero, order=0)
    assert out.dtype == np.uint8 and np.array_equal(out, labels)


def test_warp_translation_and_labels():
    img = np.zeros((20, 20), np.float32)
    img[10, 10] = 1.0
    d = np.zeros((2, 20, 20))
    d[0] = 2.0  # out[x] = img[x + 2]: content moves 2 voxels towards lower x
    out = warp(img, d)
    assert out[8, 10] == pytest.approx(1.0) and out[10, 10] == pytest.approx(0.0)
    labels = np.zeros((20, 20), np.uint8)
    labels[5:15, 5:15] = 2
    field = random_displacement((20, 20), (1, 1), magnitude_mm=3, seed=2)
    warped = warp(labels, field, order=0)
    assert warped.dtype == np.uint8 and set(np.unique(warped)) <= {0, 2}
    with pytest.raises(ValueError):
        warp(img, np.zeros((3, 20, 20)))
