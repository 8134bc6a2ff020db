"""The deep segmentation methods with the bundled weights (data/weights/)."""

import json

import numpy as np
import pytest
import torch

from medseg_edu.data import prostate_phantom
from medseg_edu.methods import _deep, dilated, fcn, patch_cnn, unet

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
    probs = _deep.probability_volume(_deep.load_pretrained("unet"), case.image, case.spacing)
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


@pytest.mark.parametrize("name", list(DEEP))
def test_sidecar_round_trip(name):
    meta = json.loads((_deep.weights_dir() / f"{name}.json").read_text())
    model = _deep.load_pretrained(name)
    assert type(model).__name__ == meta["architecture"]
    assert model.hparams == {**model.hparams, **meta["kwargs"]}
    assert not model.training
    assert (_deep.weights_dir() / f"{name}.pt").stat().st_size <= 5 * 2**20
    for key in ("steps", "batch_size", "lr", "augmentation", "seconds", "val_dice", "torch"):
        assert key in meta, key
    assert _deep.load_pretrained(name) is model  # cached
    # the weights re-load into a freshly built network
    fresh = _deep.ARCHITECTURES[meta["architecture"]](**meta["kwargs"])
    from medseg_edu.train import load_checkpoint
    load_checkpoint(fresh, _deep.weights_dir() / f"{name}.pt")
    for a, b in zip(fresh.state_dict().values(), model.state_dict().values()):
        assert torch.equal(a, b)


def test_missing_weights_say_make_pretrained(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDSEG_EDU_WEIGHTS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="make pretrained"):
        _deep.load_pretrained("unet")
    # a weight file without its sidecar is just as missing
    (tmp_path / "unet.pt").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="make pretrained"):
        _deep.load_pretrained("unet")
    with pytest.raises(ValueError, match="unknown network"):
        _deep.load_pretrained("resnet")
