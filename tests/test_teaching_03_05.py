"""Reference implementations behind the implement-it exercises of notebooks 03-05.

registration.ncc (03), patch_cnn.extract_patch (04) and nets.fuse_skip_scores (05)
are what the checkers compare a learner's function with, so they are tested here
against values worked out by hand and against independent formulations.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medseg_edu import nets
from medseg_edu.methods import patch_cnn, registration


# --------------------------------------------------------------------------- 03: NCC


def test_ncc_is_blind_to_gain_and_offset():
    a = np.random.default_rng(0).random((6, 7, 3))
    assert registration.ncc(a, 3.0 * a + 2.0) == pytest.approx(1.0)
    assert registration.ncc(a, -0.5 * a + 10.0) == pytest.approx(-1.0)


def test_ncc_matches_pearson_correlation():
    rng = np.random.default_rng(1)
    a, b = rng.random(50), rng.random(50)
    assert registration.ncc(a, b) == pytest.approx(np.corrcoef(a, b)[0, 1])


def test_ncc_hand_example_and_constant_image():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0])
    da, db = a - 2.0, b - 8.0 / 3.0
    assert registration.ncc(a, b) == pytest.approx((da @ db) / np.sqrt((da @ da) * (db @ db)))
    assert registration.ncc(np.ones(4), np.arange(4.0)) == 0.0


def test_ncc_refuses_different_shapes():
    with pytest.raises(ValueError, match="same shape"):
        registration.ncc(np.zeros(3), np.zeros(4))


def test_one_minus_ncc_is_the_loss_on_one_window():
    rng = np.random.default_rng(2)
    a = (10 * rng.random((5, 5, 5))).astype(np.float32)   # spreads >> the loss's 1e-4 guard
    b = (0.7 * a + 3 * rng.random((5, 5, 5))).astype(np.float32)
    t = lambda x: torch.from_numpy(x)[None, None]
    centre = torch.zeros(1, 1, 5, 5, 5)
    centre[..., 2, 2, 2] = 1.0  # only the box centred in the middle covers all 125 values
    loss = registration.ncc_loss(t(a), t(b), centre, window=5).item()
    assert loss == pytest.approx(1.0 - registration.ncc(a, b), abs=1e-3)


# --------------------------------------------------------------------------- 04: patch extraction


def test_extract_patch_corner_and_centre():
    image = np.arange(1, 10).reshape(3, 3)
    assert np.array_equal(patch_cnn.extract_patch(image, 0, 0, 3), [[0, 0, 0], [0, 1, 2], [0, 4, 5]])
    assert np.array_equal(patch_cnn.extract_patch(image, 1, 1, 3), image)
    assert np.array_equal(patch_cnn.extract_patch(image, 2, 1, 1), [[8]])


def test_extract_patch_agrees_with_the_sliding_window_of_notebook_04():
    rng = np.random.default_rng(3)
    image = rng.random((11, 8))
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(image, 3), (7, 7))
    for row, col in ((0, 0), (10, 7), (5, 3)):
        assert np.array_equal(patch_cnn.extract_patch(image, row, col, 7), windows[row, col])


@pytest.mark.parametrize("kwargs, match", [
    (dict(row=0, col=0, size=4), "odd"), (dict(row=5, col=0, size=3), "outside"),
    (dict(row=0, col=-1, size=3), "outside")])
def test_extract_patch_refuses_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        patch_cnn.extract_patch(np.zeros((4, 4)), **kwargs)
    with pytest.raises(ValueError, match="2D"):
        patch_cnn.extract_patch(np.zeros((4, 4, 2)), 0, 0, 3)


# --------------------------------------------------------------------------- 05: FCN-16s skip step


def test_fuse_skip_scores_adds_bilinear_upsampling():
    coarse = torch.tensor([[[[0.0, 4.0]]]])            # (1, 1, 1, 2)
    skip = torch.ones(1, 1, 2, 4)
    fused = nets.fuse_skip_scores(coarse, skip)
    # bilinear x2, align_corners=False: 0, 1, 3, 4 along the row (edges clamp)
    assert torch.allclose(fused, 1.0 + torch.tensor([0.0, 1.0, 3.0, 4.0]).expand(1, 1, 2, 4))


def test_fuse_skip_scores_keeps_classes_and_checks_shapes():
    out = nets.fuse_skip_scores(torch.zeros(2, 3, 6, 5), torch.zeros(2, 3, 12, 10))
    assert out.shape == (2, 3, 12, 10)
    with pytest.raises(ValueError, match="2H, 2W"):
        nets.fuse_skip_scores(torch.zeros(1, 2, 3, 3), torch.zeros(1, 2, 5, 6))
    with pytest.raises(ValueError, match="N, C, H, W"):
        nets.fuse_skip_scores(torch.zeros(2, 3, 3), torch.zeros(2, 6, 6))
