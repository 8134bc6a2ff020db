"""The volume interval of a deep method (medseg_edu.methods.interval): its centre is the method's own
volume, its width the spread of test-time augmentations, and it refuses what it cannot do."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest

from medseg_edu import volumetry, weights
from medseg_edu.data import RETEST_PATIENTS, rescan
from medseg_edu.methods import dilated, unet
from medseg_edu.masks import largest_component
from medseg_edu.methods.deep import probability_volume
from medseg_edu.methods.interval import VolumeInterval, member_volumes, volume_interval


@pytest.fixture(scope="module")
def scan():
    return rescan(RETEST_PATIENTS[0], 0)


@pytest.fixture(scope="module")
def model():
    return weights.load("unet")


@pytest.fixture(scope="module")
def interval(scan, model):
    return volume_interval(scan.image, scan.spacing, model=model, n_augment=3, keep_probability=True)


def test_centre_is_the_methods_volume(scan, interval):
    mask = unet.segment(scan.image, scan.spacing, quality="ignore")
    assert interval.volume_ml == volumetry.volume_ml(mask, scan.spacing)
    assert interval.probability.shape == scan.image.shape
    assert np.array_equal(interval.probability >= 0.5, mask | (interval.probability >= 0.5))


def test_width_is_z_times_the_spread_of_the_augmentations(interval):
    z = NormalDist().inv_cdf(0.95)
    assert len(interval.augmented_ml) == 3 and interval.level == 0.9
    assert interval.spread_ml == pytest.approx(np.std(interval.augmented_ml, ddof=1))
    assert interval.upper_ml - interval.volume_ml == pytest.approx(z * interval.spread_ml)
    assert interval.lower_ml <= interval.volume_ml <= interval.upper_ml
    assert interval.contains(interval.volume_ml) and not interval.contains(interval.upper_ml + 0.01)
    # augmented volumes of a good segmentation stay near the method's volume
    assert np.all(np.abs(interval.augmented_ml / interval.volume_ml - 1) < 0.2)


def test_widened_scales_the_half_width(interval):
    wide = interval.widened(2.5)
    assert wide.upper_ml - wide.volume_ml == pytest.approx(2.5 * (interval.upper_ml - interval.volume_ml))
    assert wide.widen == 2.5 and wide.volume_ml == interval.volume_ml
    assert "widened x2.50" in str(wide) and "90 % interval" in str(wide)
    with pytest.raises(ValueError, match="factor"):
        interval.widened(0)
    empty = VolumeInterval("unet", 10.0, 9.0, 11.0, 0.9, 0.6, np.array([9.5, 10.5]))
    assert empty.widened(20).lower_ml == 0.0                  # never below 0 mL


def test_same_seed_same_interval_other_seed_other_augmentations(scan, model, interval):
    again = volume_interval(scan.image, scan.spacing, model=model, n_augment=3)
    assert np.array_equal(again.augmented_ml, interval.augmented_ml)
    other = volume_interval(scan.image, scan.spacing, model=model, n_augment=3, seed=1)
    assert other.volume_ml == interval.volume_ml and not np.array_equal(other.augmented_ml, interval.augmented_ml)


def test_any_deep_method(scan):
    iv = volume_interval(scan.image, scan.spacing, "dilated", n_augment=2, level=0.5)
    mask = dilated.segment(scan.image, scan.spacing, quality="ignore")
    assert iv.method == "dilated" and iv.volume_ml == volumetry.volume_ml(mask, scan.spacing)
    assert iv.upper_ml - iv.volume_ml == pytest.approx(NormalDist().inv_cdf(0.75) * iv.spread_ml)


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "atlas"}, "deep method"), ({"level": 90}, "level"), ({"n_augment": 1}, "n_augment"),
    ({"widen": -1.0}, "widen"),
    # a threshold in percent gave 0.0 mL with an interval of 0.0-0.0 mL, as if measured
    ({"threshold": 50}, "threshold is a gland probability"), ({"threshold": 0.0}, "threshold is a gland probability"),
])
def test_refuses_what_it_cannot_do(scan, kwargs, message):
    with pytest.raises(ValueError, match=message):
        volume_interval(scan.image, scan.spacing, **kwargs)


def test_blank_image_is_refused_before_any_network():
    with pytest.raises(ValueError, match="constant"):
        volume_interval(np.zeros((64, 64, 8), np.float32), (1.0, 1.0, 3.0))


def test_member_volumes_are_each_networks_own_and_their_mean_probabilitys(scan, model):
    other = weights.load("unet", version=4)
    got = member_volumes(scan.image, scan.spacing, [model, other])
    own = [volumetry.volume_ml(unet.segment(scan.image, scan.spacing, model=m, quality="ignore"), scan.spacing)
           for m in (model, other)]
    assert got.volumes_ml == pytest.approx(own)
    mean = (probability_volume(model, scan.image, scan.spacing, tta=True)
            + probability_volume(other, scan.image, scan.spacing, tta=True)) / 2
    assert got.ensemble_ml == pytest.approx(volumetry.volume_ml(largest_component(mean >= 0.5), scan.spacing))
    assert (got.lower_ml, got.upper_ml) == (min(own), max(own))
    assert got.spread_percent == pytest.approx(100 * (max(own) - min(own)) / np.mean(own))
    assert "2 networks" in str(got)


def test_member_volumes_need_two_networks(scan, model):
    with pytest.raises(ValueError, match="at least two networks"):
        member_volumes(scan.image, scan.spacing, [model])
    with pytest.raises(ValueError, match="threshold"):
        member_volumes(scan.image, scan.spacing, [model, model], threshold=1.5)
    # a U-Net and an FCN disagree by design, not by the luck of one recipe's seeds
    with pytest.raises(ValueError, match="networks of one kind trained alike, got FCN, UNet"):
        member_volumes(scan.image, scan.spacing, [model, weights.load("fcn")])
