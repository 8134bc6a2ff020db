"""Every method in ``methods.METHODS`` keeps the same contract: shape, dtype, determinism, bad input.

One small case through all seven methods, so a method that drifts from
``segment(image, spacing, **params) -> bool mask of the image's shape`` fails here.
"""

from __future__ import annotations

import numpy as np
import pytest

from medseg_edu import methods
from medseg_edu.data import prostate_phantom


@pytest.fixture(scope="module")
def small_case():
    """Three mid-gland slices of a phantom: small enough for the per-pixel patch CNN."""
    case = prostate_phantom(21, volume_ml=40)
    k = int(np.argmax(case.gland.sum(axis=(0, 1))))
    case.image, case.labels = case.image[:, :, k - 1:k + 2], case.labels[:, :, k - 1:k + 2]
    return case


@pytest.fixture(scope="module")
def masks(small_case):
    """Each method run twice on the same input."""
    return {name: [methods.get(name).segment(small_case.image.copy(), small_case.spacing) for _ in range(2)]
            for name in methods.METHODS}


@pytest.mark.parametrize("name", methods.METHODS)
def test_segment_returns_a_bool_mask_of_the_image_shape(name, masks, small_case):
    first, _ = masks[name]
    assert isinstance(first, np.ndarray) and first.dtype == bool
    assert first.shape == small_case.image.shape


@pytest.mark.parametrize("name", methods.METHODS)
def test_segment_is_deterministic(name, masks):
    first, second = masks[name]
    assert np.array_equal(first, second)


@pytest.mark.parametrize("name", methods.METHODS)
def test_segment_does_not_modify_its_input(name, small_case):
    image = small_case.image.copy()
    if name == "patch_cnn":
        image = image[:, :, 1:2]  # one slice is enough to see a write; the per-pixel net is slow
    before = image.copy()
    methods.get(name).segment(image, small_case.spacing)
    assert np.array_equal(image, before)


BAD_INPUTS = {
    "a 2D image": (lambda im: im[:, :, 0], (0.625, 0.625, 3.6)),
    "NaN voxels": (lambda im: np.where(np.arange(im.size).reshape(im.shape) == 7, np.nan, im), (0.625, 0.625, 3.6)),
    "two voxel sizes": (lambda im: im, (0.625, 0.625)),
    "a negative voxel size": (lambda im: im, (0.625, -0.625, 3.6)),
}


@pytest.mark.parametrize("name", methods.METHODS)
@pytest.mark.parametrize("problem", list(BAD_INPUTS))
def test_bad_input_is_a_clear_error(name, problem, small_case):
    make_image, spacing = BAD_INPUTS[problem]
    with pytest.raises((ValueError, TypeError)) as error:
        methods.get(name).segment(make_image(small_case.image.copy()), spacing)
    message = str(error.value).lower()
    assert any(word in message for word in ("shape", "spacing", "nan", "3d", "finite", "voxel")), message
