"""The global-threshold method: runs on defaults, validates input, helpers behave."""

from __future__ import annotations

import numpy as np
import pytest

from medseg_edu import metrics
from medseg_edu.data import prostate_phantom
from medseg_edu.methods import get, threshold


@pytest.fixture(scope="module")
def case():
    return prostate_phantom(0, shape=(128, 128, 12))


def test_defaults_run_on_a_phantom(case):
    mask = get("threshold").segment(case.image, case.spacing)
    assert mask.shape == case.image.shape and mask.dtype == bool
    assert mask.any()


def test_no_cleanup_and_explicit_threshold(case):
    raw = threshold.segment(case.image, case.spacing, threshold=400.0, polarity="above", cleanup=False)
    assert np.array_equal(raw, case.image >= 400.0)


@pytest.mark.parametrize("image, spacing, message", [
    (np.zeros((8, 8)), (1.0, 1.0, 1.0), "3D"),
    (np.full((8, 8, 4), np.nan), (1.0, 1.0, 1.0), "NaN"),
    (np.zeros((8, 8, 4)), (1.0, 1.0), "spacing"),
    (np.zeros((8, 8, 4)), (1.0, -1.0, 1.0), "spacing"),
])
def test_bad_input_gives_a_clear_error(image, spacing, message):
    with pytest.raises(ValueError, match=message):
        threshold.segment(image, spacing)


def test_bad_polarity():
    with pytest.raises(ValueError, match="polarity"):
        threshold.segment(np.zeros((8, 8, 4)), (1.0, 1.0, 1.0), polarity="up")


def test_best_global_threshold_finds_a_separable_object():
    image = np.zeros((20, 20, 5), np.float32)
    truth = np.zeros(image.shape, bool)
    truth[5:10, 5:10, 1:4] = True
    image[truth] = 100.0
    t, polarity, dice = threshold.best_global_threshold(image, truth)
    assert polarity == "above" and dice == pytest.approx(1.0)
    assert np.array_equal(threshold.apply_threshold(image, t, polarity), truth)
    t, polarity, dice = threshold.best_global_threshold(-image, truth)
    assert polarity == "below" and dice == pytest.approx(1.0)


def test_best_global_threshold_matches_a_brute_force_dice(case):
    t, polarity, dice = threshold.best_global_threshold(case.image, case.gland)
    mask = threshold.apply_threshold(case.image, t, polarity)
    assert dice == pytest.approx(metrics.dice(mask, case.gland))


def test_clean_up_removes_specks_fills_holes_and_keeps_one_component():
    mask = np.zeros((60, 60, 5), bool)
    mask[20:40, 20:40, 1:4] = True           # the object at the centre
    mask[25:28, 25:28, 2] = False            # a hole
    mask[2:4, 2:4, 2] = True                 # a speck
    mask[45:58, 45:58, 1:4] = True           # a second, off-centre object
    out = threshold.clean_up(mask, (1.0, 1.0, 3.0), opening_mm=1.0, closing_mm=1.0)
    assert out[26, 26, 2] and not out[3, 3, 2] and not out[50, 50, 2]
    largest = threshold.largest_component(mask)
    assert largest.sum() == (20 * 20 * 3 - 9)


def test_ball_footprint_respects_spacing():
    ball = threshold.ball_footprint((0.625, 0.625, 3.6), 2.0)
    assert ball.shape == (7, 7, 1)
