"""Torch datasets of phantom slices and patches: shapes, dtypes, filters and labels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medseg_edu.data import GRID, PatchDataset, SliceDataset, prostate_split, split_slices


@pytest.fixture(scope="module")
def val_slices():
    return split_slices("val")


def test_split_slices_stacks_every_slice_of_every_case(val_slices):
    split = prostate_split("val")
    per_case = np.bincount(val_slices["case_index"], minlength=len(split))
    assert [split[i].image.shape[2] for i in range(2)] == list(per_case[:2])   # every slice of a case
    assert val_slices["images"].shape == (per_case.sum(), GRID, GRID) and val_slices["images"].dtype == np.float32
    assert val_slices["masks"].shape == val_slices["images"].shape and val_slices["masks"].dtype == np.uint8
    assert set(np.unique(val_slices["case_index"])) == set(range(len(split)))
    assert np.all(np.diff(val_slices["case_index"]) >= 0)          # cases in order, slices together


def test_slice_dataset_items_are_channel_first_images_and_long_masks(val_slices):
    data = SliceDataset("val")
    image, mask = data[0]
    assert image.shape == (1, GRID, GRID) and image.dtype == torch.float32
    assert mask.shape == (GRID, GRID) and mask.dtype == torch.int64
    assert len(data) == len(val_slices["images"])


def test_only_gland_keeps_exactly_the_slices_with_gland(val_slices):
    gland = SliceDataset("val", only_gland=True)
    expected = int(val_slices["masks"].any(axis=(1, 2)).sum())
    assert len(gland) == expected and bool(gland.masks.flatten(1).any(1).all())
    assert np.array_equal(np.unique(gland.case_index), np.unique(val_slices["case_index"]))


def test_patch_dataset_balances_labels_and_labels_the_centre_pixel(val_slices):
    patches = PatchDataset("val", patch_size=17, n_patches=400, seed=3)
    assert len(patches) == 400 and patches.labels.mean() == pytest.approx(0.5, abs=0.01)
    for i in (0, 150, 399):
        patch, label = patches[i]
        assert patch.shape == (1, 17, 17)
        s, r, c = patches.centres[i]
        assert int(label) == int(val_slices["masks"][s, r, c])             # centre pixel's class
        assert float(patch[0, 8, 8]) == pytest.approx(float(val_slices["images"][s, r, c]))


def test_patch_dataset_is_seeded_and_needs_an_odd_patch():
    a, b = (PatchDataset("val", patch_size=9, n_patches=50, seed=5) for _ in range(2))
    assert np.array_equal(a.centres, b.centres)
    assert not np.array_equal(a.centres, PatchDataset("val", patch_size=9, n_patches=50, seed=6).centres)
    with pytest.raises(ValueError, match="odd"):
        PatchDataset("val", patch_size=8)
