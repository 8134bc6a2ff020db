"""The deep segmentation methods with the bundled weights (data/weights/)."""

import numpy as np
import pytest

from medseg_edu import nets, weights
from medseg_edu.data import GRID, prostate_phantom
from medseg_edu.methods import deep, dilated, fcn, patch_cnn, unet

DEEP = {"patch_cnn": patch_cnn, "fcn": fcn, "unet": unet, "dilated": dilated}


def _dice(a, b):
    return 2 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


@pytest.fixture(scope="module")
def case():
    # a test-split-like phantom: seed outside train/val, a real MSD spacing
    return prostate_phantom(60001, volume_ml=45.0, spacing=(0.625, 0.625, 3.6))


@pytest.mark.parametrize("name", ["fcn", "unet", "dilated"])
def test_segment_returns_a_bool_mask_of_the_image_shape(case, name):
    mask = DEEP[name].segment(case.image, case.spacing)
    assert mask.shape == case.image.shape and mask.dtype == bool
    assert mask.any()


def test_patch_cnn_segments_a_thin_slab(case):
    k = int(np.argmax(case.gland.sum(axis=(0, 1))))
    slab = case.image[:, :, k:k + 1]  # one slice: ~9,200 patches
    mask = patch_cnn.segment(slab, case.spacing)
    assert mask.shape == slab.shape and mask.dtype == bool
    assert _dice(mask[:, :, 0], case.gland[:, :, k]) > 0.6


def test_bundled_unet_segments_a_new_phantom(case):
    mask = unet.segment(case.image, case.spacing)
    assert _dice(mask, case.gland) >= 0.85


def test_other_in_plane_spacing_and_any_intensity_scale(case):
    other = prostate_phantom(60002, volume_ml=80.0, spacing=(0.75, 0.75, 3.0))
    mask = unet.segment(other.image * 3.0 + 100.0, other.spacing)
    assert _dice(mask, other.gland) >= 0.85


def test_largest_component_is_a_switch(case):
    probs = deep.probability_volume(weights.load("unet"), case.image, case.spacing, tta=True)
    assert probs.shape == case.image.shape and 0 <= probs.min() and probs.max() <= 1
    raw = unet.segment(case.image, case.spacing, largest_component=False)
    np.testing.assert_array_equal(raw, probs >= 0.5)
    kept = unet.segment(case.image, case.spacing)
    assert kept.sum() <= raw.sum() and np.all(raw[kept])


def test_bad_input_gives_clear_errors(case):
    with pytest.raises(ValueError, match="3D"):
        unet.segment(case.image[:, :, 0], case.spacing)
    with pytest.raises(ValueError, match="spacing"):
        unet.segment(case.image, (0.6, 0.6))
    bad = case.image.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        unet.segment(bad, case.spacing)


def test_a_model_argument_replaces_the_bundled_network(case):
    k = int(np.argmax(case.gland.sum(axis=(0, 1))))
    slab = case.image[:, :, k - 1:k + 2]
    np.testing.assert_array_equal(fcn.segment(slab, case.spacing, model=weights.load("fcn")),
                                  fcn.segment(slab, case.spacing))
    assert not np.array_equal(fcn.segment(slab, case.spacing, model=weights.load("unet")),
                              fcn.segment(slab, case.spacing))
    with pytest.raises(ValueError, match="unknown deep method"):
        deep.segment_with("resnet", slab, case.spacing)


def test_predict_proba_on_bundled_networks():
    slices = np.random.default_rng(0).random((3, GRID, GRID), dtype=np.float32)
    probs = deep.predict_proba(weights.load("unet"), slices, batch_size=2, device="cpu")
    assert probs.shape == (3, 2, GRID, GRID) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    # a 2.5D network: single slices without their spacing are refused with a hint
    net25 = nets.UNet(width=4, depth=2, in_channels=3)
    with pytest.raises(ValueError, match="2.5D .*slice_mm"):
        deep.predict_proba(net25, slices)
    assert deep.predict_proba(net25, slices, slice_mm=3.6).shape == (3, 2, GRID, GRID)
    patch = weights.load("patch_cnn")
    size = patch.hparams["patch_size"]
    assert deep.predict_proba(patch, slices[:, :size, :size], device="cpu").shape == (3, 2)
    # the sliding window gives the same probability as the patch around a pixel, classified alone
    window = deep.patch_probabilities(patch, slices[:1, :40, :40], device="cpu")
    half = size // 2
    alone = deep.predict_proba(patch, np.pad(slices[0, :40, :40], half)[None, 5:5 + size, 7:7 + size],
                               device="cpu")
    assert window[0, 5, 7] == pytest.approx(alone[0, 1], abs=1e-5)


def test_a_2_5d_network_sees_each_slice_with_its_neighbours():
    from medseg_edu.data import CONTEXT_STEP_MM, stack_slices

    slices = np.random.default_rng(1).random((6, GRID, GRID), dtype=np.float32)
    net25, net2 = nets.UNet(width=4, depth=2, in_channels=3), weights.load("unet")
    assert deep.in_channels(net25) == 3 and deep.in_channels(net2) == 1
    np.testing.assert_array_equal(deep.network_input(net25, slices, 3.0), stack_slices(slices, 3.0))
    assert deep.network_input(net2, slices).shape == (6, 1, GRID, GRID)
    # a scan's slice spacing decides which of its slices are the neighbours CONTEXT_STEP_MM away
    near = deep.network_input(net25, slices, CONTEXT_STEP_MM)
    np.testing.assert_array_equal(near[2, 0], slices[1])
    np.testing.assert_array_equal(near[2, 2], slices[3])


def test_end_recall_and_slices_found_on_built_masks():
    from medseg_edu.methods import held_out

    truth = np.zeros((20, 20, 20), bool)
    truth[5:15, 5:15, 2:12] = True                       # 10 labelled slices: 2 at the apex, 2 at the base
    assert held_out.end_recall(truth, truth) == (1.0, 1.0) and held_out.slices_found(truth, truth) == 1.0
    missed = truth.copy()
    missed[:, :, 10:12] = False                          # the two base slices missed ...
    missed[5:10, :, 2] = False                           # ... and half of the first apex slice
    assert held_out.end_recall(missed, truth) == (pytest.approx(0.75), 0.0)
    assert held_out.slices_found(missed, truth) == pytest.approx(7 / 8)  # 8 inner slices, one (10) missed
    assert np.isnan(held_out.slices_found(truth, np.zeros_like(truth)))


def test_one_threshold_check_for_every_deep_entry_point():
    """segment, volume_interval and member_volumes share deep.checked_threshold."""
    assert deep.checked_threshold(0.4) == 0.4 and deep.checked_threshold(np.float32(0.5)) == 0.5
    for bad in (0, 1, 50, -0.1, float("nan")):   # 50: a threshold typed in percent
        with pytest.raises(ValueError, match=f"strictly between 0 and 1, got {bad!r}"):
            deep.checked_threshold(bad)
    with pytest.raises(TypeError, match="threshold must be a number, got 'half'"):
        deep.checked_threshold("half")
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        unet.segment(np.zeros((8, 8, 4)), (1.0, 1.0, 3.0), threshold=50)   # before the image is even read
