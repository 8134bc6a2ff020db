"""The online learner's MSD Task05 path (notebook 10), run offline on a Task05-shaped phantom archive.

Fetch (download, md5, cache) -> load the labelled training cases -> score a
bundled network on them -> fine-tune it on them -> save and reload the
result. The archive is built from small phantoms and laid out like the real
one (4D T2+ADC images stored in LPS order, uint8 label maps, dataset.json,
macOS junk files); the "server" is a local folder behind ``file://`` URLs
(tests/conftest.py), so nothing touches the network.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from medseg_edu import showdown, weights
from medseg_edu.data import (GRID, MSD_PROSTATE_MD5, MSD_PROSTATE_URL, CaseSlices, DatasetUnavailableError,
                             SliceDataset, case_to_grid, fetch_msd_prostate, load_msd_prostate, prostate_phantom)
from medseg_edu.data.msd import ChecksumError
from medseg_edu.train import History, fit, flip_augment
from medseg_edu.weights import load_checkpoint, save_checkpoint

SPACING = (1.25, 1.25, 4.0)
SHAPE = (96, 96, 16)
TRAIN = ("prostate_04", "prostate_00", "prostate_02", "prostate_01")  # dataset.json order, like the real one
TEST = "prostate_03"


def _lps(array, spacing):
    """``array`` (RAS voxel order) stored the way a DICOM converter writes it: x and y reversed."""
    flipped = np.ascontiguousarray(array[::-1, ::-1])
    affine = np.diag([-spacing[0], -spacing[1], spacing[2], 1.0])
    affine[:3, 3] = [(array.shape[0] - 1) * spacing[0] / 2, (array.shape[1] - 1) * spacing[1] / 2, 0.0]
    return flipped, affine


def _adc(case, seed):
    """A stand-in ADC map: low in the gland, as in the real scans, plus noise."""
    rng = np.random.default_rng(seed)
    return (np.where(case.labels > 0, 1100.0, 2000.0) + rng.normal(0, 50, case.image.shape)).astype(np.float32)


@dataclass
class PhantomTask05:
    root: Path        # the Task05_Prostate folder the archive is made of
    phantoms: dict    # name -> the phantom Case it was written from


@pytest.fixture(scope="module")
def phantom_task05(tmp_path_factory, write_task05):
    phantoms = {name: prostate_phantom(seed, spacing=SPACING, shape=SHAPE)
                for seed, name in enumerate((*TRAIN, TEST))}
    training, test = {}, {}
    for seed, (name, case) in enumerate(phantoms.items()):
        t2, affine = _lps(case.image, SPACING)
        adc, _ = _lps(_adc(case, seed), SPACING)
        if name == TEST:
            test[name] = (t2, adc, affine)
        else:
            training[name] = (t2, adc, _lps(case.labels, SPACING)[0], affine)
    root = write_task05(tmp_path_factory.mktemp("msd_src"), training, test)
    return PhantomTask05(root, phantoms)


def _state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_learner_path_end_to_end(tmp_path, phantom_task05, msd_server):
    url, md5 = msd_server.publish(phantom_task05.root)
    cache = tmp_path / "cache"

    # 1. download once, check, extract; the second call is served from the cache
    root = fetch_msd_prostate(cache_dir=cache, url=url, md5=md5)
    assert root == cache / "Task05_Prostate" and (root / "dataset.json").is_file()
    assert msd_server.requests == [url]
    assert sorted(p.name for p in cache.iterdir()) == ["Task05_Prostate"]   # no .tar, .part or temp folder
    assert fetch_msd_prostate(cache_dir=cache, url=url, md5=md5) == root
    assert msd_server.requests == [url]                                     # no second download

    # 2. the labelled training cases, back in RAS order with their truth
    cases = load_msd_prostate(root, "train")
    assert [c.name for c in cases] == sorted(TRAIN)
    for case in cases:
        phantom = phantom_task05.phantoms[case.name]
        assert case.image.shape == SHAPE and case.spacing == pytest.approx(SPACING)
        assert np.allclose(case.image, phantom.image) and np.array_equal(case.labels, phantom.labels)
        assert case.adc is not None and case.adc.shape == SHAPE
        assert case.meta["has_labels"] is True

    # 3. the bundled U-Net, and weight versions 3 and 4 beside it, scored on every case: a per-case table of
    # Dice and volume error (the notebook's question: which version measures a real gland best)
    rows = showdown.evaluate_on_labelled(cases, ("unet",),
                                         models={f"unet v{v}": weights.load("unet", version=v) for v in (3, 4)})
    assert sorted((r["case"], r["method"]) for r in rows) == [(c.name, m) for c in cases
                                                              for m in ("unet", "unet v3", "unet v4")]
    for row in rows:
        assert 0.0 <= row["dice"] <= 1.0 and math.isfinite(row["volume_error_percent"])
        assert row["true_ml"] == pytest.approx(phantom_task05.phantoms[row["case"]].gland_volume_ml)
    assert np.mean([r["dice"] for r in rows]) > 0.7      # it does see the glands (orientation kept)
    table = showdown.case_table(rows)
    assert table.startswith("| case | method | Dice |") and all(f"| {c.name} | unet v4 |" in table for c in cases)

    # 4. fine-tune the bundled U-Net on three real-format cases, validate on the fourth
    train, val = CaseSlices(cases[:3], only_gland=True), CaseSlices(cases[3:])
    model = weights.load("unet", device="cpu")
    before = _state(model)
    history = fit(model, train, val, max_steps=3, batch_size=8, augment=flip_augment, device="cpu",
                  progress=False, plot=False)
    assert isinstance(history, History) and history.stopped_by == "max_steps"
    assert len(history.losses) == 3 and all(math.isfinite(loss) for loss in history.losses)
    assert 0.0 <= history.final_val_dice <= 1.0
    after = _state(model)
    assert any(not torch.equal(before[k], after[k]) for k in before)

    # the tuned network scored beside the bundled one, under its own name
    tuned_rows = showdown.evaluate_on_labelled(cases[3:], ("unet",), models={"unet fine-tuned": model})
    assert [r["method"] for r in tuned_rows] == ["unet", "unet fine-tuned"]
    assert all(0.0 <= r["dice"] <= 1.0 and math.isfinite(r["volume_error_percent"]) for r in tuned_rows)

    # 5. save, and reload into a fresh network
    path = save_checkpoint(model, tmp_path / "unet_msd.pt", source="MSD Task05", cases=[c.name for c in cases[:3]])
    fresh = weights.load("unet", device="cpu")
    meta = load_checkpoint(fresh, path)
    assert meta["architecture"] == "UNet" and meta["cases"] == sorted(TRAIN)[:3]
    assert all(torch.equal(after[k], v) for k, v in fresh.state_dict().items())


def test_wrong_md5_is_refused_clearly_and_leaves_nothing(tmp_path, phantom_task05, msd_server):
    url, md5 = msd_server.publish(phantom_task05.root)
    cache = tmp_path / "cache"
    # e.g. a mirror of another release checked against the official checksum
    with pytest.raises(ChecksumError) as info:
        fetch_msd_prostate(cache_dir=cache, url=url, md5=MSD_PROSTATE_MD5)
    message = str(info.value)
    assert md5 in message and MSD_PROSTATE_MD5 in message and "corrupt" in message and "deleted" in message
    assert "prostate_phantom" in message
    assert list(cache.iterdir()) == []                      # no .tar, no .part, no half-extracted folder
    # the failed attempt does not get in the way of the next one
    assert (fetch_msd_prostate(cache_dir=cache, url=url, md5=md5) / "dataset.json").is_file()


def test_md5_in_upper_case_is_the_same_checksum(tmp_path, phantom_task05, msd_server):
    url, md5 = msd_server.publish(phantom_task05.root)
    root = fetch_msd_prostate(cache_dir=tmp_path / "cache", url=url, md5=f" {md5.upper()}\n")
    assert (root / "dataset.json").is_file()


def test_offline_fails_fast_and_points_to_the_phantoms(tmp_path, offline):
    cache = tmp_path / "cache"
    start = time.perf_counter()
    with pytest.raises(DatasetUnavailableError) as info:
        fetch_msd_prostate(cache_dir=cache)
    assert time.perf_counter() - start < 2
    message = str(info.value)
    assert "offline" in message and "prostate_phantom" in message and MSD_PROSTATE_URL in message
    assert offline == [MSD_PROSTATE_URL]
    assert not list(cache.glob("Task05_Prostate*"))


def test_case_slices_match_slice_dataset_items(phantom_task05):
    cases = [phantom_task05.phantoms[n] for n in sorted(TRAIN)[:2]]
    data = CaseSlices(cases)
    image, mask = data[0]
    reference_image, reference_mask = SliceDataset.__getitem__(data, 0)
    assert image.shape == (1, GRID, GRID) and image.dtype == torch.float32
    assert mask.shape == (GRID, GRID) and mask.dtype == torch.int64
    assert torch.equal(image, reference_image) and torch.equal(mask, reference_mask)
    assert len(data) == sum(c.image.shape[2] for c in cases) and data.names == [c.name for c in cases]
    images, masks = case_to_grid(cases[1])
    second = data.case_index == 1
    assert np.array_equal(data.images[second, 0].numpy(), images)
    assert np.array_equal(data.masks[second].numpy(), masks.astype(np.int64))
    gland = CaseSlices(cases, only_gland=True)
    assert 0 < len(gland) < len(data) and bool(gland.masks.flatten(1).any(1).all())


def test_unlabelled_test_cases_are_refused_for_training_and_scoring(phantom_task05):
    (case,) = load_msd_prostate(phantom_task05.root, "test")
    assert case.name == TEST and case.meta["has_labels"] is False
    with pytest.raises(ValueError, match=f"{TEST}.*no labels.*'train'"):
        CaseSlices([case])
    with pytest.raises(ValueError, match=f"{TEST}.*no expert labels.*'train'"):
        showdown.evaluate_on_labelled([case], ("unet",))
    with pytest.raises(ValueError, match="empty"):
        CaseSlices([])
    # the image arrays instead of the cases raised "'numpy.ndarray' object has no attribute 'image'"
    with pytest.raises(TypeError, match=r"CaseSlices needs cases .* item 0 is a ndarray without .image, .gland, "
                                        r".spacing"):
        CaseSlices([case.image])
    labelled = [phantom_task05.phantoms[TRAIN[0]]]
    with pytest.raises(ValueError, match="unet fine-tuned"):      # refused before anything runs
        showdown.evaluate_on_labelled(labelled, ("unet",), models={"unet": None})
