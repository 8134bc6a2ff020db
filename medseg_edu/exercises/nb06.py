"""Checkers for notebook 06 (U-Net): a decoder step with its skip, the soft Dice, the bottleneck's shape."""

from __future__ import annotations

import numpy as np

from . import ExerciseFailed, exercise


def _reference_soft_dice(prob, truth, eps):
    prob, truth = np.asarray(prob, float), np.asarray(truth, float)
    return (2 * (prob * truth).sum() + eps) / (prob.sum() + truth.sum() + eps)


@exercise("06.soft_dice")
def _soft_dice(soft_dice):
    rng = np.random.default_rng(6)
    truth = np.zeros((12, 12))
    truth[3:9, 4:10] = 1
    cases = {
        "a perfect prediction": (truth.copy(), 1.0),
        "an all-zero prediction": (np.zeros_like(truth), 1.0),
        "a map of probabilities": (rng.uniform(0, 1, truth.shape), 1.0),
        "a map of probabilities with eps=0": (rng.uniform(0, 1, truth.shape), 0.0),
    }
    for what, (prob, eps) in cases.items():
        expected = _reference_soft_dice(prob, truth, eps)
        got = soft_dice(prob, truth, eps=eps)
        if not np.isfinite(got) or not np.isclose(float(got), expected, rtol=1e-6, atol=1e-9):
            hint = ""
            if np.isclose(float(got), 2 * (prob * truth).sum() / (prob.sum() + truth.sum()), rtol=1e-6):
                hint = " (add eps to the numerator AND the denominator)"
            elif np.isclose(float(got), 1 - expected, rtol=1e-6):
                hint = " (that is 1 - Dice, the loss; return the Dice itself)"
            elif np.isclose(float(got), ((prob > 0.5) * truth).sum() * 2 / ((prob > 0.5).sum() + truth.sum() + eps),
                            rtol=1e-3):
                hint = " (do not threshold the probabilities: the soft Dice must stay differentiable)"
            raise ExerciseFailed(f"for {what} you returned {got!r}, expected {expected:.4f}{hint}")
    half = np.full(truth.shape, 0.5)
    return (f"a 'don't know' map of 0.5 everywhere scores {_reference_soft_dice(half, truth, 1.0):.2f}: "
            "the soft Dice rewards confident, correct probabilities.")


@exercise("06.bottleneck")
def _bottleneck(bottleneck_shape):
    import torch

    from ..nets import UNet

    for width, depth, size in ((8, 3, 96), (16, 4, 96), (4, 2, 64), (32, 5, 128)):
        model = UNet(width=width, depth=depth).eval()
        seen = {}

        def record(module, inputs, output):
            seen["shape"] = tuple(output.shape[1:3])  # returns None: the output is left alone

        handle = model.bottleneck.register_forward_hook(record)
        with torch.no_grad():
            model(torch.zeros(1, 1, size, size))
        handle.remove()
        got = bottleneck_shape(width, depth, size)
        try:
            got = (int(got[0]), int(got[1]))
        except (TypeError, IndexError, ValueError):
            raise ExerciseFailed(f"return a pair (channels, side in pixels); you returned {got!r}") from None
        if got != seen["shape"]:
            raise ExerciseFailed(
                f"UNet(width={width}, depth={depth}) on {size} x {size} slices has a bottleneck of "
                f"{seen['shape'][0]} channels x {seen['shape'][1]} px; you said {got[0]} x {got[1]} "
                "(each level doubles the channels and halves the side)")
    return "width x 2**depth channels on a (size / 2**depth)-pixel map: few pixels, many features."


def _decoder_modules(channels, seed):
    import torch

    from ..nets import conv_block

    torch.manual_seed(seed)
    up = torch.nn.ConvTranspose2d(2 * channels, channels, 2, stride=2)
    merge = conv_block(2 * channels, channels).eval()  # eval: BatchNorm uses its (fixed) statistics
    for norm in merge:
        if isinstance(norm, torch.nn.BatchNorm2d):  # non-trivial statistics, so every channel matters
            norm.running_mean.uniform_(-0.2, 0.2)
            norm.running_var.uniform_(0.5, 1.5)
    return up, merge


@exercise("06.decoder_step")
def _decoder_step(decoder_step):
    import torch

    from ..methods.unet import decoder_step as reference

    for seed, (n, channels, side) in enumerate(((2, 4, 16), (1, 8, 24), (3, 2, 10))):
        up, merge = _decoder_modules(channels, seed)
        generator = torch.Generator().manual_seed(100 + seed)
        below = torch.randn(n, 2 * channels, side // 2, side // 2, generator=generator)
        skip = torch.randn(n, channels, side, side, generator=generator)
        with torch.no_grad():
            expected = reference(below, skip, up, merge)
            got = decoder_step(below.clone(), skip.clone(), up, merge)
            if not isinstance(got, torch.Tensor):
                raise ExerciseFailed(f"return a tensor; you returned {type(got).__name__}")
            if tuple(got.shape) != tuple(expected.shape):
                raise ExerciseFailed(
                    f"from below {tuple(below.shape)} and skip {tuple(skip.shape)} the step should give "
                    f"{tuple(expected.shape)} (the skip's size, C channels); you gave {tuple(got.shape)}")
            other_skip = decoder_step(below.clone(), torch.randn(skip.shape, generator=generator), up, merge)
            if torch.allclose(other_skip, got):
                raise ExerciseFailed("your output does not change when the skip changes: the encoder's "
                                     "map never reaches the decoder (concatenate it)")
            if not torch.allclose(got, expected, rtol=1e-4, atol=1e-5):
                swapped = merge(torch.cat([up(below), skip], dim=1))
                hint = ""
                if torch.allclose(got, swapped, rtol=1e-4, atol=1e-5):
                    hint = (" (you put the upsampled map first: the merge's weights read the skip in the first "
                            "C channels, torch.cat([skip, up(below)], dim=1), as in nets.UNet.forward)")
                raise ExerciseFailed(f"with {channels} channels on a {side} x {side} map your output differs "
                                     f"from the U-Net's decoder step{hint}")
    return ("upsample, concatenate with the skip on the channel axis, convolve: the decoder now sees "
            "'what' (from below) and 'where' (from the encoder) at once.")


#: Library calls that would take the training step for the learner.
TRAINING_SHORTCUTS = ("optim", "SGD", "Adam", "AdamW", "fit", "dice_ce_loss", "_train_step")


def _reference_training_step(net, images, masks, lr, eps=1.0):
    """One plain gradient-descent step on cross-entropy + (1 - soft Dice of the gland); the loss before it."""
    import torch
    import torch.nn.functional as F

    net.zero_grad()
    logits = net(images)
    gland = torch.softmax(logits, dim=1)[:, 1]
    truth = masks.float()
    soft_dice = (2 * (gland * truth).sum() + eps) / (gland.sum() + truth.sum() + eps)
    loss = F.cross_entropy(logits, masks) + (1 - soft_dice)
    loss.backward()
    with torch.no_grad():
        for parameter in net.parameters():
            parameter -= lr * parameter.grad
    return loss.item()


@exercise("06.training_step")
def _training_step(training_step):
    import copy

    import torch

    from .. import train
    from ..nets import UNet
    from ._shortcuts import refuse_shortcut

    refuse_shortcut(training_step, names=TRAINING_SHORTCUTS, objects=(train.fit, train.dice_ce_loss),
                    task="the forward pass, the loss, loss.backward() and the update of every weight")
    for seed, (n, side, lr) in enumerate(((2, 16, 0.05), (3, 8, 0.2), (1, 24, 0.01))):
        torch.manual_seed(seed)
        net = UNet(width=2, depth=2).train()
        generator = torch.Generator().manual_seed(600 + seed)
        images = torch.rand(n, 1, side, side, generator=generator)
        masks = (torch.rand(n, side, side, generator=generator) > 0.6).long()
        mine, theirs = copy.deepcopy(net), copy.deepcopy(net)
        for a, b in zip(mine.parameters(), theirs.parameters()):   # gradients left over from an earlier step
            a.grad = torch.randn(a.shape, generator=generator)
            b.grad = a.grad.clone()
        expected_loss = _reference_training_step(mine, images.clone(), masks.clone(), lr)
        got = training_step(theirs, images.clone(), masks.clone(), lr)
        where = f"for a batch of {n} slices of {side} x {side} px with lr={lr}"
        try:
            got = float(got.detach() if isinstance(got, torch.Tensor) else got)
        except (TypeError, ValueError):
            raise ExerciseFailed(f"return the loss as a number (loss.item()); you returned {type(got).__name__}") \
                from None
        moved = max(float((a.detach() - b.detach()).abs().max()) for a, b in zip(theirs.parameters(), net.parameters()))
        if moved == 0.0:
            raise ExerciseFailed(f"{where} no weight changed: after loss.backward(), move every parameter by "
                                 "-lr * parameter.grad (inside torch.no_grad())")
        if not np.isclose(got, expected_loss, rtol=1e-4, atol=1e-5):
            probe = copy.deepcopy(net)
            logits = probe(images)
            ce = torch.nn.functional.cross_entropy(logits, masks).item()
            hint = ""
            if np.isclose(got, ce, rtol=1e-4):
                hint = " (that is the cross-entropy alone: add 1 - soft Dice of the gland probabilities)"
            elif np.isclose(got, expected_loss - ce, rtol=1e-4):
                hint = " (that is 1 - soft Dice alone: add the cross-entropy)"
            raise ExerciseFailed(f"{where} the loss should be {expected_loss:.4f} (cross-entropy + 1 - soft Dice "
                                 f"of class 1, eps = 1, before the update); you returned {got:.4f}{hint}")
        gaps = [float((a.detach() - b.detach()).abs().max()) for a, b in zip(theirs.parameters(), mine.parameters())]
        if max(gaps) > 1e-5:
            ascent = copy.deepcopy(net)
            with torch.no_grad():
                for a, b, m in zip(ascent.parameters(), net.parameters(), mine.parameters()):
                    a.copy_(2 * b - m)      # the step in the other direction
            uphill = max(float((a.detach() - b.detach()).abs().max()) for a, b in zip(theirs.parameters(), ascent.parameters()))
            hint = ("you went uphill: subtract lr * grad, do not add it" if uphill < 1e-5 else
                    "the weights moved, but not by -lr * grad of this loss: zero the gradients first "
                    "(net.zero_grad()), or loss.backward() adds the new gradient to an old one")
            raise ExerciseFailed(f"{where} your updated weights differ from one gradient-descent step by up to "
                                 f"{max(gaps):.3g} ({hint})")
    return ("forward, loss, backward, update: train.fit repeats exactly this, with Adam choosing each "
            "weight's step size instead of one lr for all.")
