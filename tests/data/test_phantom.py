"""Prostate phantoms, the MR appearance model, splits and the network grid."""

import numpy as np
import pytest

from medseg_edu.data import (MSD_SPACINGS, from_grid, msd_like_spacing, normalise, prostate_phantom,
                             prostate_split, render_mr, to_grid)
from medseg_edu.volumetry import ellipsoid_volume_ml, volume_ml

REAL_SPACINGS = [s for s, _ in MSD_SPACINGS]


def test_same_seed_gives_identical_case():
    a, b = prostate_phantom(11), prostate_phantom(11)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.labels, b.labels)
    assert a.spacing == b.spacing
    c = prostate_phantom(12)
    assert a.labels.shape != c.labels.shape or not np.array_equal(a.labels, c.labels)


def test_types_labels_and_shapes():
    case = prostate_phantom(3)
    assert case.image.dtype == np.float32 and case.labels.dtype == np.uint8
    assert case.image.shape == case.labels.shape
    assert set(np.unique(case.labels)) == {0, 1, 2}
    assert np.all(np.isfinite(case.image)) and case.image.min() >= 0
    assert case.anatomy["bladder"].any() and case.anatomy["rectum"].any()
    assert not (case.anatomy["bladder"] & case.gland).any()


@pytest.mark.parametrize("volume, spacing", [
    (16.0, REAL_SPACINGS[0]), (33.0, REAL_SPACINGS[1]), (60.0, REAL_SPACINGS[4]),
    (110.0, REAL_SPACINGS[3]), (315.0, REAL_SPACINGS[2]), (200.0, REAL_SPACINGS[0])])
def test_requested_volume_is_matched(volume, spacing):
    case = prostate_phantom(101, volume_ml=volume, spacing=spacing)
    measured = volume_ml(case.gland, case.spacing)
    assert abs(measured - volume) / volume < 0.02
    assert case.gland[:, :, 0].sum() == 0 and case.gland[:, :, -1].sum() == 0, "gland must fit in the volume"


def test_given_shape_too_short_still_holds_the_gland():
    case = prostate_phantom(5, volume_ml=315, spacing=(0.625, 0.625, 3.6), shape=(320, 320, 20))
    assert case.image.shape == (320, 320, 20)
    assert abs(case.gland_volume_ml - 315) / 315 < 0.03


def test_default_volumes_follow_msd_range():
    volumes = [prostate_phantom(seed).gland_volume_ml for seed in range(8)]
    assert all(14 <= v <= 330 for v in volumes)
    assert 30 <= np.median(volumes) <= 110


def test_same_seed_same_anatomy_at_any_slice_thickness():
    thin = prostate_phantom(21, spacing=(0.625, 0.625, 1.0))
    thick = prostate_phantom(21, spacing=(0.625, 0.625, 6.0))
    # identical continuous gland: both voxelisations agree within a few percent
    assert abs(thin.gland_volume_ml - thick.gland_volume_ml) / thin.gland_volume_ml < 0.08
    assert thin.meta["target_volume_ml"] == thick.meta["target_volume_ml"]


def test_zones_share_grows_with_gland_size():
    small = prostate_phantom(8, volume_ml=20)
    large = prostate_phantom(8, volume_ml=200)
    tz_share = [np.mean(c.labels[c.gland] == 2) for c in (small, large)]
    assert tz_share[1] > tz_share[0] + 0.2


def test_global_threshold_cannot_isolate_the_gland():
    rng = np.random.default_rng(0)
    best = []
    for seed in range(4):
        case = prostate_phantom(200 + seed, spacing=msd_like_spacing(rng))
        image, gland = case.image, case.gland
        scores = []
        for t in np.quantile(image, np.linspace(0.02, 0.98, 49)):
            for mask in (image > t, image < t):
                scores.append(2 * np.count_nonzero(mask & gland) / (mask.sum() + gland.sum()))
        best.append(max(scores))
    assert np.mean(best) <= 0.80


def test_ellipsoid_formula_errs_like_on_real_glands():
    errors = []
    for seed in range(12):
        case = prostate_phantom(300 + seed)
        truth = volume_ml(case.gland, case.spacing)
        errors.append(100 * (ellipsoid_volume_ml(case.gland, case.spacing) - truth) / truth)
    assert 4.0 <= np.mean(np.abs(errors)) <= 20.0
    assert min(errors) < 0 < max(errors), "like real glands, the formula errs both ways"


def test_one_case_is_fast():
    import time

    prostate_phantom(0)  # warm up imports
    start = time.process_time()  # CPU seconds: a busy machine (or another test worker) does not count
    prostate_phantom(1)
    assert time.process_time() - start < 1.5  # 0.3-0.5 s on a quiet 2-core machine


@pytest.mark.parametrize("kwargs, words", [
    ({"spacing": (0.6, 0.6)}, "spacing"),
    ({"spacing": (0.6, float("nan"), 3.0)}, "spacing"),
    ({"volume_ml": -5}, "volume_ml"),
    ({"volume_ml": float("nan")}, "volume_ml"),
    ({"shape": (320, 320)}, "shape"),
    ({"noise": 3.0}, "noise"),
])
def test_bad_phantom_arguments_are_named(kwargs, words):
    with pytest.raises(ValueError, match=words):
        prostate_phantom(1, **kwargs)


def test_render_mr_on_bare_label_maps():
    labels = np.zeros((64, 64, 12), np.uint8)
    labels[20:44, 18:46, 3:9] = 2
    labels[20:44, 18:26, 3:9] = 1  # a posterior band of PZ
    for lab in (labels, (labels > 0).astype(np.uint8), labels.astype(np.float64), labels == 1):
        image = render_mr(lab, (0.625, 0.625, 3.6), seed=4)
        assert image.shape == labels.shape and image.dtype == np.float32 and np.all(np.isfinite(image))
    image = render_mr(labels, (0.625, 0.625, 3.6), seed=4, noise=0, bias=0)
    assert image[labels == 1].mean() > image[labels == 2].mean(), "PZ brighter than TZ on T2"
    assert np.array_equal(render_mr(labels, (0.6, 0.6, 4.0), seed=9), render_mr(labels, (0.6, 0.6, 4.0), seed=9))
    assert render_mr(labels[:, :, 5], (0.6, 0.6), seed=1).shape == (64, 64)


@pytest.mark.parametrize("labels, spacing, words", [
    (np.zeros((4, 4, 4, 2), np.uint8), (1, 1, 1), "2D or 3D"),
    (np.zeros((8, 8, 8), np.uint8), (1, 1), "spacing"),
    (np.full((8, 8, 8), 0.5), (1, 1, 1), "integer"),
    (np.full((8, 8, 8), np.nan), (1, 1, 1), "integer"),
    (np.full((8, 8, 8), 99, np.uint8), (1, 1, 1), "codes"),
])
def test_render_mr_bad_inputs(labels, spacing, words):
    with pytest.raises(ValueError, match=words):
        render_mr(labels, spacing)


def test_splits_are_fixed_and_disjoint():
    train, val, test = (prostate_split(n) for n in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == (40, 10, 20)
    seeds = [s.seed for split in (train, val, test) for s in split.specs]
    assert len(seeds) == len(set(seeds))
    assert prostate_split("test").specs == test.specs
    volumes = [s.volume_ml for s in train.specs]
    assert min(volumes) <= 20 and max(volumes) >= 300
    assert all(s.spacing in REAL_SPACINGS for s in train.specs)
    with pytest.raises(ValueError, match="split"):
        prostate_split("training")


def test_network_grid_round_trip_keeps_volume():
    case = prostate_split("test")[1]
    grid = to_grid(case.gland.astype(np.float32), case.spacing)
    assert grid.shape == (case.image.shape[2], 96, 96)
    back = from_grid(grid, case.image.shape, case.spacing) >= 0.5
    assert abs(volume_ml(back, case.spacing) - case.gland_volume_ml) / case.gland_volume_ml < 0.02
    with pytest.raises(ValueError, match="NaN"):
        normalise(np.full((4, 4, 4), np.nan))
    with pytest.raises(ValueError, match="slices"):
        from_grid(grid[:-1], case.image.shape, case.spacing)


def test_anatomy_is_a_real_read_only_mapping():
    from collections.abc import Mapping

    case = prostate_phantom(3, shape=(96, 96, 12))
    anatomy = case.anatomy
    assert isinstance(anatomy, Mapping)
    bladder = anatomy.get("bladder")
    assert bladder is not None and bladder.dtype == bool and bladder.shape == case.image.shape
    assert anatomy.get("spleen") is None and "bladder" in anatomy and "spleen" not in anatomy
    as_dict = dict(anatomy)
    assert list(as_dict) == list(anatomy.keys()) and len(as_dict) == len(anatomy) >= 10
    assert all(np.array_equal(as_dict[k], anatomy[k]) for k in anatomy)
    with pytest.raises(KeyError, match="the phantom draws"):
        anatomy["spleen"]
    with pytest.raises(TypeError):
        anatomy["bladder"] = bladder  # read-only: no item assignment
