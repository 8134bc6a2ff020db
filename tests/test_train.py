"""Training loop, loss, checkpoints and augmentation of medseg_edu.train (inference: methods.deep).

Checkpoints are saved and loaded by medseg_edu.weights (tested in tests/test_weights.py, with
train.train_bundled); here they are tested as fit() writes them."""

import json

import matplotlib
import numpy as np
import pytest
import torch
import medseg_edu
from torch.utils.data import TensorDataset

matplotlib.use("Agg")

from medseg_edu import seed_everything  # noqa: E402
from medseg_edu import weights  # noqa: E402
from medseg_edu import train as train_module  # noqa: E402
from medseg_edu.nets import FCN, PatchCNN, UNet  # noqa: E402
from medseg_edu.methods.deep import predict_proba  # noqa: E402
from medseg_edu.train import (History, dice_ce_loss, evaluate_dice, fit,  # noqa: E402
                              flip_augment)
from medseg_edu.weights import load_checkpoint, save_checkpoint  # noqa: E402


def squares(n, size=32, seed=0):
    """Bright squares of random size and place on Gaussian noise, with their masks."""
    rng = np.random.default_rng(seed)
    images = rng.normal(0.0, 0.35, (n, 1, size, size)).astype(np.float32)
    masks = np.zeros((n, size, size), dtype=np.int64)
    for i in range(n):
        side = rng.integers(6, 15)
        x, y = rng.integers(0, size - side, 2)
        masks[i, x:x + side, y:y + side] = 1
    images[:, 0] += masks
    return TensorDataset(torch.from_numpy(images), torch.from_numpy(masks))


def centre_patches(n, patch=33, seed=0):
    """Patches labelled by whether their centre pixel lies in a bright square."""
    data = squares(n, size=patch, seed=seed)
    images, masks = data.tensors
    return TensorDataset(images, masks[:, patch // 2, patch // 2].clone())


def small_unet():
    seed_everything(0)
    return UNet(width=8, depth=3)


def quick(**kwargs):
    return dict(progress=False, plot=False, device="cpu", **kwargs)


# --------------------------------------------------------------------------- loss

def test_dice_ce_loss_rewards_correct_segmentations():
    target = torch.zeros(2, 8, 8, dtype=torch.long)
    target[:, 2:6, 2:6] = 1
    perfect = torch.stack([(1 - target) * 20.0, target * 20.0], dim=1)
    wrong = perfect.flip(1)
    assert dice_ce_loss(perfect, target) < 1e-3
    assert dice_ce_loss(wrong, target) > 1.5
    assert dice_ce_loss(wrong, target, dice_weight=0) == pytest.approx(
        torch.nn.functional.cross_entropy(wrong, target).item())
    logits = torch.zeros(2, 3, 8, 8, requires_grad=True)
    dice_ce_loss(logits, target).backward()
    assert logits.grad.abs().sum() > 0


def test_dice_ce_loss_handles_class_targets():
    logits = torch.tensor([[5.0, -5.0], [-5.0, 5.0]])
    assert dice_ce_loss(logits, torch.tensor([0, 1])) < 0.01
    assert dice_ce_loss(logits, torch.tensor([1, 0])) > 1


# --------------------------------------------------------------------------- fit

def test_fit_unet_learns_squares(tmp_path):
    history = fit(small_unet(), squares(96), squares(32, seed=1), max_steps=60,
                  checkpoint=tmp_path / "unet.pt", **quick())
    assert isinstance(history, History)
    assert history.steps == list(range(1, 61)) and len(history.losses) == 60
    assert history.stopped_by == "max_steps" and history.device == "cpu"
    assert np.mean(history.losses[-5:]) < np.mean(history.losses[:5])
    assert history.val_dice[-1] > 0.8, history.val_dice  # the final weights segment well
    assert history.val_steps[-1] == 60 and len(history.val_dice) == len(history.val_steps)
    meta = json.loads((tmp_path / "unet.json").read_text())
    assert meta["architecture"] == "UNet" and meta["kwargs"]["width"] == 8
    assert meta["val_dice"] == pytest.approx(history.best_val_dice)
    reloaded = UNet(width=8, depth=3)
    load_checkpoint(reloaded, tmp_path / "unet.pt")
    assert evaluate_dice(reloaded, squares(32, seed=1)) == pytest.approx(history.best_val_dice)


def test_checkpoint_keeps_the_best_weights_and_the_model_the_last(tmp_path, monkeypatch):
    scores = iter([0.9, 0.5, 0.4, 0.3])  # the best validation is the first one
    monkeypatch.setattr(train_module, "evaluate_dice", lambda *a, **k: next(scores))
    plain, saving = small_unet(), small_unet()
    fit(plain, squares(48), max_steps=12, **quick())
    history = fit(saving, squares(48), squares(16, seed=1), max_steps=12, val_every=3,
                  checkpoint=tmp_path / "best.pt", **quick())
    assert history.best_val_dice == 0.9 and history.val_steps == [3, 6, 9, 12]
    for a, b in zip(plain.state_dict().values(), saving.state_dict().values()):
        assert torch.equal(a, b)  # the model keeps its last weights
    best = UNet(width=8, depth=3)
    load_checkpoint(best, tmp_path / "best.pt")
    assert not torch.equal(best.head.weight, saving.head.weight)  # the file holds step 3


def test_fit_is_deterministic():
    runs = [fit(small_unet(), squares(48), max_steps=8, augment=flip_augment, **quick())
            for _ in range(2)]
    assert runs[0].losses == runs[1].losses
    other = fit(small_unet(), squares(48), max_steps=8, seed=1, **quick())
    assert other.losses != runs[0].losses


def test_fit_needs_a_budget():
    with pytest.raises(ValueError, match="budget"):
        fit(small_unet(), squares(16), **quick())
    with pytest.raises(ValueError, match="positive"):
        fit(small_unet(), squares(16), max_steps=0, **quick())


def test_a_nan_loss_stops_training_with_the_step_and_the_weights_before_it():
    """A log of 0 in a learner's loss: without the check, 40 steps of nan and a network of NaN weights."""
    def log_of_zero_at_step_3(logits, targets, calls=[0]):
        calls[0] += 1
        probability = torch.softmax(logits, dim=1)[:, 1]
        zero = probability * 0 if calls[0] >= 3 else probability
        return dice_ce_loss(logits, targets) - torch.log(zero).mean() * 1e-3
    model = small_unet()
    with pytest.raises(FloatingPointError, match=r"the training loss is inf at step 3; .*lr=0.002.*log of 0"):
        fit(model, squares(48), max_steps=40, loss=log_of_zero_at_step_3, **quick())
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert not model.training                                     # left in eval mode, as after any fit

    def exploding(logits, targets):
        return dice_ce_loss(logits, targets) * float("nan")
    with pytest.raises(FloatingPointError, match="the training loss is nan at step 1"):
        fit(small_unet(), squares(16), max_steps=5, loss=exploding, **quick())


def test_fit_respects_max_seconds():
    history = fit(small_unet(), squares(64), max_seconds=1.0, epochs=10_000, **quick())
    assert history.stopped_by == "max_seconds"
    assert 1.0 <= history.seconds < 3.0  # overshoot: one step + the final validation


def test_fit_epochs_budget_and_default_device():
    history = fit(FCN(width=4, depth=2), squares(40), epochs=2, batch_size=16,
                  progress=False, plot=False)
    assert len(history.steps) == 2 * (40 // 16) and history.stopped_by == "epochs"
    assert history.epochs == pytest.approx(2.0)
    assert history.device == str(medseg_edu.device(verbose=False))  # the one rule for device=None


def test_fit_patch_cnn_on_scalar_targets():
    seed_everything(0)
    net = PatchCNN(patch_size=33, width=4)
    history = fit(net, centre_patches(128), centre_patches(64, seed=1), max_steps=40,
                  **quick())
    assert history.best_val_dice > 0.6, history.val_dice
    assert np.mean(history.losses[-5:]) < np.mean(history.losses[:5])
    probs = predict_proba(net, centre_patches(10).tensors[0].numpy(), device="cpu")
    assert probs.shape == (10, 2) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)


def test_fit_draws_the_final_curve_headless():
    history = fit(small_unet(), squares(32), squares(16, seed=1), max_steps=3, progress=True,
                  plot=True, device="cpu")
    ax = history.plot()
    assert ax.get_xlabel() == "step"
    assert len(ax.lines) >= 1


# --------------------------------------------------------------------------- checkpoints

def test_checkpoint_round_trip_uses_weights_only(tmp_path, monkeypatch):
    net = small_unet()
    fit(net, squares(32), max_steps=3, **quick())  # BatchNorm statistics move too
    path = save_checkpoint(net, tmp_path / "w" / "net.pt", val_dice=0.5, note="test")
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(weights.torch, "load", spy)
    fresh = UNet(width=8, depth=3)
    meta = load_checkpoint(fresh, path)
    assert calls and all(call.get("weights_only") is True for call in calls)
    assert meta["architecture"] == "UNet" and meta["note"] == "test" and meta["val_dice"] == 0.5
    x = torch.randn(3, 1, 32, 32)
    net.eval(), fresh.eval()
    with torch.no_grad():
        assert torch.equal(net(x), fresh(x))


def test_checkpoint_errors_are_clear(tmp_path):
    missing = tmp_path / "nothing.pt"
    with pytest.raises(FileNotFoundError, match="make pretrained") as info:
        load_checkpoint(UNet(), missing)
    assert str(missing) in str(info.value)
    path = save_checkpoint(UNet(width=8), tmp_path / "unet.pt")
    with pytest.raises(ValueError, match="UNet"):
        load_checkpoint(FCN(), path)
    with pytest.raises(ValueError, match="width=8"):
        load_checkpoint(UNet(width=16), path)


# --------------------------------------------------------------------------- inference

def test_predict_proba_returns_probabilities():
    net = small_unet()
    images = squares(5).tensors[0].numpy()
    probs = predict_proba(net, images, batch_size=2, device="cpu")
    assert probs.shape == (5, 2, 32, 32) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    np.testing.assert_allclose(predict_proba(net, images[:, 0], device="cpu"), probs,
                               atol=1e-5)
    assert not net.training
    with pytest.raises(ValueError, match="shape"):
        predict_proba(net, images[0, 0], device="cpu")
    with pytest.raises(ValueError, match="empty"):
        predict_proba(net, images[:0], device="cpu")


def test_checkpoint_metadata_goes_into_the_one_sidecar(tmp_path):
    seen = []
    fit(small_unet(), squares(32), squares(16, seed=1), max_steps=3, checkpoint=tmp_path / "unet.pt",
        metadata=lambda history: seen.append(history) or dict(note="mine", steps_done=len(history.steps)),
        **quick())
    meta = json.loads((tmp_path / "unet.json").read_text())
    assert len(seen) == 1 and meta["note"] == "mine" and meta["steps_done"] == 3
    assert meta["architecture"] == "UNet" and meta["settings"]["steps"] == 3 and "val_dice" in meta
    fit(small_unet(), squares(32), max_steps=2, checkpoint=tmp_path / "other.pt", metadata={"val_dice": 0.5},
        **quick())
    assert json.loads((tmp_path / "other.json").read_text())["val_dice"] == 0.5  # metadata wins


def test_flip_augment_keeps_images_and_labels_together():
    data = squares(16)
    images, targets = data.tensors
    seed_everything(3)
    aug_images, aug_targets = flip_augment(images, targets)
    seed_everything(3)
    again, _ = flip_augment(images, targets)
    assert torch.equal(aug_images, again)
    assert aug_images.shape == images.shape and aug_targets.shape == targets.shape
    assert not torch.equal(aug_targets, targets)  # some were flipped
    flipped = ~torch.all(aug_targets == targets, dim=(1, 2))
    assert torch.equal(aug_targets[flipped], targets[flipped].flip(1))
    ratio = aug_images / torch.where(flipped[:, None, None, None], images.flip(2), images)
    assert float(ratio.min()) >= 0.9 - 1e-5 and float(ratio.max()) <= 1.1 + 1e-5
    labels = torch.tensor([0, 1, 1, 0])
    _, same = flip_augment(torch.zeros(4, 1, 33, 33), labels)
    assert torch.equal(same, labels)


def test_cosine_decay_brings_the_learning_rate_to_zero_by_the_last_step(monkeypatch):
    seen = []

    class RecordingAdam(torch.optim.Adam):
        def step(self, *args, **kwargs):
            seen.append(self.param_groups[0]["lr"])
            return super().step(*args, **kwargs)

    monkeypatch.setattr(train_module.torch.optim, "Adam", RecordingAdam)
    fit(small_unet(), squares(32), max_steps=10, lr=1e-2, lr_decay="cosine", **quick())
    assert seen[0] == pytest.approx(1e-2) and len(seen) == 10
    assert all(a > b for a, b in zip(seen, seen[1:]))            # falls at every step
    assert seen[-1] < 0.03 * seen[0]                            # the last steps only polish
    seen.clear()
    fit(small_unet(), squares(32), max_steps=5, lr=1e-2, **quick())
    assert seen == [pytest.approx(1e-2)] * 5                    # no decay unless asked


def test_cosine_decay_needs_a_step_budget_and_a_known_name():
    with pytest.raises(ValueError, match="step budget"):
        fit(small_unet(), squares(16), max_seconds=1.0, lr_decay="cosine", **quick())
    with pytest.raises(ValueError, match="lr_decay"):
        fit(small_unet(), squares(16), max_steps=2, lr_decay="linear", **quick())


def test_evaluate_dice_is_metrics_dice_over_the_whole_dataset():
    from medseg_edu import metrics

    class Bright(torch.nn.Module):             # "gland" wherever the image is above 0.5
        def forward(self, x):
            return torch.cat([torch.zeros_like(x), x - 0.5], dim=1)

    data = squares(12, seed=3)
    images, masks = data.tensors
    expected = metrics.dice(images[:, 0].numpy() > 0.5, masks.numpy() > 0)
    assert 0.3 < expected < 1.0
    assert evaluate_dice(Bright(), data, batch_size=5, device="cpu") == pytest.approx(expected)
