"""The active-contour method: 3D defaults on a phantom, the 2D snake helpers, clear errors."""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pytest

from medseg_edu.data import prostate_phantom
from medseg_edu.methods import get, snake, threshold


def _dice(a, b):
    return 2.0 * np.count_nonzero(a & b) / max(1, np.count_nonzero(a) + np.count_nonzero(b))


@pytest.fixture(scope="module")
def case():
    return prostate_phantom(5)


def test_defaults_run_on_a_phantom_and_beat_a_threshold(case):
    mask = get("snake").segment(case.image, case.spacing)
    assert mask.shape == case.image.shape and mask.dtype == bool
    score = _dice(mask, case.gland)
    best_threshold = threshold.best_global_threshold(case.image, case.gland)[2]
    print(f"snake Dice {score:.2f} vs best global threshold {best_threshold:.2f}")
    assert score > best_threshold and score > 0.6


def test_init_mask_is_used(case):
    mask = snake.segment(case.image, case.spacing, init=case.gland)
    assert _dice(mask, case.gland) > 0.6


def test_other_spacing_and_shape():
    c = prostate_phantom(1, spacing=(0.75, 0.75, 4.0), shape=(256, 256, 16))
    mask = snake.segment(c.image, c.spacing)
    assert mask.shape == c.image.shape


@pytest.mark.parametrize("image, spacing, message", [
    (np.zeros((8, 8)), (1.0, 1.0, 1.0), "3D"),
    (np.full((8, 8, 4), np.nan), (1.0, 1.0, 1.0), "NaN"),
    (np.zeros((8, 8, 4)), (1.0, 1.0), "spacing"),
    (np.zeros((8, 8, 4)), (1.0, 0.0, 1.0), "spacing"),
])
def test_bad_input_gives_a_clear_error(image, spacing, message):
    with pytest.raises(ValueError, match=message):
        snake.segment(image, spacing)


def test_bad_parameters():
    image = np.zeros((16, 16, 4), np.float32)
    with pytest.raises(ValueError, match="iterations"):
        snake.segment(image, (1.0, 1.0, 1.0), iterations=0)
    with pytest.raises(ValueError, match="init"):
        snake.segment(image, (1.0, 1.0, 1.0), init=np.zeros((4, 4, 4), bool))
    with pytest.raises(ValueError, match="empty"):
        snake.segment(image, (1.0, 1.0, 1.0), init=np.zeros(image.shape, bool))
    # a probability map as the starting mask was read as "every voxel > 0": the whole field of view
    with pytest.raises(ValueError, match="init holds .* fractional values .*init >= 0.5"):
        snake.segment(image, (1.0, 1.0, 1.0), init=np.full(image.shape, 0.3))


def test_circle():
    points = snake.circle((10.0, 20.0), 5.0, 12)
    assert points.shape == (12, 2)
    assert np.allclose(np.hypot(points[:, 0] - 10, points[:, 1] - 20), 5.0)
    with pytest.raises(ValueError, match="radius"):
        snake.circle((0, 0), -1)


def test_active_contour_shrinks_onto_a_disc():
    rows, cols = np.mgrid[:80, :80]
    image = ((rows - 40) ** 2 + (cols - 40) ** 2 < 15 ** 2).astype(float)
    result = snake.active_contour_2d(image, snake.circle((40, 40), 30, 60), max_num_iter=500, sigma=1)
    radius = np.hypot(result[:, 0] - 40, result[:, 1] - 40)
    assert abs(np.median(radius) - 15) < 3
    with pytest.raises(ValueError, match="2D"):
        snake.active_contour_2d(np.zeros((4, 4, 4)), snake.circle((2, 2), 1, 8))
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        snake.active_contour_2d(image, np.zeros((5, 3)))


def test_evolution_and_examined_pixels():
    image = np.zeros((60, 60))
    image[20:40, 20:40] = 1.0
    snakes = snake.evolution(image, snake.circle((30, 30), 25, 40), every=5, n_steps=4)
    assert len(snakes) == 5 and all(s.shape == (40, 2) for s in snakes)
    seen = snake.examined_pixels(snakes, image.shape, radius=1)
    assert seen.shape == image.shape and 0 < seen.mean() < 0.5
    single = snake.examined_pixels([np.array([[10.2, 10.7], [10.0, 11.0], [-5.0, 70.0]])], (60, 60), radius=0)
    assert single.sum() == 2 and single[10, 11] and single[0, 59]
    with pytest.raises(ValueError, match="radius"):
        snake.examined_pixels(snakes, image.shape, radius=-1)


# ---------------------------------------------------------------------------
# Never an empty mask (issue 13 item 5)
# ---------------------------------------------------------------------------
#: Test-split cases on which the snake once returned an empty mask (3010, 3011: no slice near the middle
#: closed) and the one with its lowest Dice otherwise (3002); all 20 take minutes on 2 cores, so the
#: unit test runs these; tools/bench.py --methods snake runs all 20.
HARD_TEST_CASES = (10, 11, 2)


@pytest.mark.parametrize("index", HARD_TEST_CASES)
def test_never_empty_on_the_hardest_test_phantoms(index):
    from medseg_edu.data import prostate_split

    c = prostate_split("test")[index]
    expect_fallback = index in (10, 11)
    with pytest.warns(UserWarning, match="nearest") if expect_fallback else _no_warning():
        mask, report = snake.segment(c.image, c.spacing, return_report=True)
    assert mask.any(), f"{c.name}: empty mask"
    assert _dice(mask, c.labels > 0) > 0.05
    assert (report.fallback == "nearest closed slice") == expect_fallback, report
    assert set(report.kept_slices) <= set(report.closed_slices)


def test_no_fallback_when_the_middle_closes(case):
    mask, report = snake.segment(case.image, case.spacing, return_report=True)
    assert report.ok and report.fallback is None and report.message() == ""
    assert report.start_slice in range(case.image.shape[2]) and report.kept_slices


def test_a_featureless_volume_falls_back_to_the_starting_region_with_a_warning():
    image = np.random.default_rng(0).normal(100.0, 1.0, (96, 96, 6)).astype(np.float32)
    with pytest.warns(UserWarning, match="starting region"):
        mask, report = snake.segment(image, (1.0, 1.0, 3.0), return_report=True)
    assert report.fallback == "starting region" and not report.closed_slices
    assert mask[:, :, 3].any() and mask.sum() == mask[:, :, 3].sum()   # only the middle slice
    area_mm2 = mask[:, :, 3].sum() * 1.0
    assert abs(area_mm2 - np.pi * 8.0 ** 2) < 0.25 * np.pi * 8.0 ** 2   # the 8 mm starting disc


@contextlib.contextmanager
def _no_warning():
    """Turn a UserWarning into an error: no fallback expected."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        yield


def test_external_force_is_what_active_contour_follows():
    """One step of scikit-image's snake without internal forces moves each point along +external_force."""
    from scipy import ndimage
    from skimage.segmentation import active_contour

    rows, cols = np.mgrid[:80, :80]
    image = ndimage.gaussian_filter(((rows - 40) ** 2 + (cols - 40) ** 2 < 15 ** 2).astype(float), 2)
    force_rows, force_cols = snake.external_force(image, w_line=0.3, w_edge=1.0)
    start = snake.circle((40, 40), 20, 40)
    moved = active_contour(image, start, alpha=0, beta=0, gamma=1.0, w_line=0.3, w_edge=1.0, max_num_iter=1,
                           boundary_condition="periodic") - start
    r, c = np.rint(start).astype(int).T
    for axis, force in enumerate((force_rows[r, c], force_cols[r, c])):
        assert np.corrcoef(moved[:, axis], np.tanh(force))[0, 1] > 0.95
    with pytest.raises(ValueError, match="2D"):
        snake.external_force(np.zeros((4, 4, 4)))
