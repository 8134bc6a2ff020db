"""medseg_edu._checks.as_volume: the one input check for a scan and its voxel size."""

from __future__ import annotations

import numpy as np
import pytest

from medseg_edu._checks import as_volume


def test_returns_float32_and_a_tuple_of_mm():
    image, spacing = as_volume(np.arange(24, dtype=np.int16).reshape(2, 3, 4), [0.625, 0.625, 3])
    assert image.dtype == np.float32 and image.shape == (2, 3, 4)
    assert spacing == (0.625, 0.625, 3.0) and all(type(s) is float for s in spacing)
    same = np.zeros((2, 2, 2), np.float32)
    assert as_volume(same, (1, 1, 1))[0] is same          # no copy when already float32
    assert as_volume(np.ones((2, 2, 2), bool), (1, 1, 1))[0].sum() == 8   # a mask counts as 0/1
    labels = np.ones((2, 2, 2), np.uint8)
    assert as_volume(labels, (1, 1, 1), dtype=None)[0] is labels          # dtype=None keeps it
    slice2d, sp2 = as_volume([[1, 2], [3, 4]], (0.5, 0.5), ndim=2)
    assert slice2d.shape == (2, 2) and sp2 == (0.5, 0.5)


@pytest.mark.parametrize("image, spacing, ndim, words", [
    (np.zeros((8, 8)), (1, 1, 1), 3, r"3D image \(x, y, z\), got shape \(8, 8\); for a single axial slice"),
    (np.zeros((4, 4, 4, 2)), (1, 1, 1), 3, r"3D image.*shape \(4, 4, 4, 2\)"),
    (np.zeros((4, 4, 4)), (1, 1), 2, r"2D image \(x, y\), got shape \(4, 4, 4\)"),
    (np.zeros((0, 4, 4)), (1, 1, 1), 3, r"image is empty \(shape \(0, 4, 4\)\)"),
    (np.full((4, 4, 4), np.nan), (1, 1, 1), 3, "64 NaN and 0 infinite"),
    (np.array([[[1.0, np.inf]]]), (1, 1, 1), 3, "0 NaN and 1 infinite"),
    (np.zeros((4, 4, 4)), (1, 1), 3, r"spacing must have one value \(mm\) per array axis: 3 values.*\(4, 4, 4\)"),
    (np.zeros((4, 4, 4)), (1, 1, 1, 1), 3, "spacing.*3 values"),
    (np.zeros((4, 4, 4)), (1, -1, 1), 3, "spacing values must be finite and > 0 mm"),
    (np.zeros((4, 4, 4)), (1, 0, 1), 3, "spacing values must be finite and > 0 mm"),
    (np.zeros((4, 4, 4)), (1, float("nan"), 1), 3, "spacing values must be finite"),
    (np.zeros((4, 4, 4)), "1mm", 3, "spacing must be a sequence of 3 numbers in mm"),
])
def test_each_problem_is_named(image, spacing, ndim, words):
    with pytest.raises(ValueError, match=words):
        as_volume(image, spacing, ndim)


@pytest.mark.parametrize("image", [np.full((2, 2, 2), "a"), np.zeros((2, 2, 2), complex),
                                   np.array([[[None]]], dtype=object)])
def test_non_numeric_dtype_is_a_type_error(image):
    with pytest.raises(TypeError, match=f"image must be a numeric .* got dtype {image.dtype}"):
        as_volume(image, (1, 1, 1))


def test_name_appears_in_the_message():
    with pytest.raises(ValueError, match="expected a 3D volume"):
        as_volume(np.zeros(3), (1, 1, 1), name="volume")
    with pytest.raises(ValueError, match="atlas contains 1 NaN"):
        as_volume(np.array([[[np.nan]]]), (1, 1, 1), name="atlas")
