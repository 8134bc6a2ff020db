"""The steps learners write by hand, their reference functions and the shortcut refusal (issue 24, item 3).

* ``snake.snake_step`` (with ``internal_matrix`` and ``snake_force``) reproduces
  scikit-image's ``active_contour`` iteration by iteration, so checking a learner's
  step against it checks it against scikit-image.
* ``registration.gradient_step`` is one plain gradient-descent step of the affine loop
  of notebook 03: it lowers the loss, leaves its input alone, and detaches the overlap.
* The checkers of notebook 04's sliding window and notebook 06's training step accept a
  hand-written answer and name the likeliest slips, and refuse ``unfold`` / the package's
  sliding window and ``torch.optim`` / ``train.dice_ce_loss``.
* ``refuse_shortcut`` catches the forbidden call however it is reached (attribute,
  import inside the function, alias, the learner's own helper, a wrapper), and lets a
  hand-written answer through; every checker says "returned None" for a missing return.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.segmentation import active_contour

from medseg_edu.exercises import ExerciseFailed, check
from medseg_edu.exercises._shortcuts import refuse_shortcut, uses
from medseg_edu.methods import registration, snake


def smooth_image(seed=0, shape=(60, 70)):
    image = ndimage.gaussian_filter(np.random.default_rng(seed).random(shape), 3)
    return (image - image.min()) / (image.max() - image.min())


@pytest.mark.parametrize("weights", [dict(alpha=0.015, beta=10.0, gamma=0.001, w_line=0.0, w_edge=1.0),
                                     dict(alpha=0.2, beta=0.5, gamma=1.0, w_line=-0.5, w_edge=0.7)])
def test_snake_step_reproduces_active_contour(weights):
    image, start = smooth_image(), snake.circle((30, 35), 15, 40)
    points = start.copy()
    for iterations in range(1, 9):
        force = snake.snake_force(image, points, w_line=weights["w_line"], w_edge=weights["w_edge"])
        points = snake.snake_step(points, force, alpha=weights["alpha"], beta=weights["beta"], gamma=weights["gamma"])
        expected = active_contour(image, start, max_num_iter=iterations, boundary_condition="periodic", **weights)
        assert np.abs(points - expected).max() < 1e-8


def test_internal_matrix_is_minus_alpha_d2_plus_beta_d4():
    a = snake.internal_matrix(8, alpha=2.0, beta=0.0)
    x = np.arange(8.0) ** 2
    assert np.allclose((a @ x)[2:-2], -2.0 * 2.0)       # second difference of i^2 is 2
    assert np.allclose(snake.internal_matrix(9, 0.0, 1.0) @ np.ones(9), 0.0)
    with pytest.raises(ValueError, match="at least 5 points"):
        snake.internal_matrix(4, 0.1, 0.1)


def test_snake_step_moves_at_most_max_px_move_and_checks_shapes():
    points = snake.circle((20, 20), 8, 16)
    moved = snake.snake_step(points, np.full(points.shape, 1e3), alpha=0.0, beta=0.0, gamma=0.01)
    assert np.abs(moved - points).max() <= 1.0
    with pytest.raises(ValueError, match="force must have the points' shape"):
        snake.snake_step(points, np.zeros((3, 2)), alpha=0.1, beta=0.1, gamma=1.0)
    with pytest.raises(ValueError, match="gamma"):
        snake.snake_step(points, np.zeros(points.shape), alpha=0.1, beta=0.1, gamma=0.0)


def registration_pair(size=14, shift=(1.5, -1.0, 0.5)):
    base = ndimage.gaussian_filter(np.random.default_rng(3).random((size + 8,) * 3), 2.0)
    fixed, moving = base[4:-4, 4:-4, 4:-4], ndimage.shift(base, shift, order=1)[4:-4, 4:-4, 4:-4]
    scale = lambda a: (a - a.min()) / (a.max() - a.min())  # noqa: E731
    return registration.as_tensor(scale(fixed)), registration.as_tensor(scale(moving))


def test_gradient_step_goes_downhill_and_leaves_theta_alone():
    fixed, moving = registration_pair()
    weight = torch.ones_like(fixed)
    theta = registration.identity_theta()
    before = theta.clone()
    losses = []
    for _ in range(15):
        theta, loss = registration.gradient_step(theta, fixed, moving, weight, lr=0.2)
        losses.append(loss)
    assert torch.equal(before, registration.identity_theta())
    assert losses[-1] < losses[0]
    assert not theta.requires_grad


def test_refuse_shortcut_finds_the_call_however_it_is_reached():
    from skimage import filters

    def attribute(image, nbins=256):
        return filters.threshold_otsu(image, nbins=nbins)

    def imported_inside(image, nbins=256):
        from skimage.filters import threshold_otsu as t
        return t(image)

    alias = threshold_otsu

    def through_alias(image, nbins=256):
        return alias(image)

    def helper(image):
        return threshold_otsu(image)

    def through_helper(image, nbins=256):
        return helper(image)

    @functools.wraps(through_helper)
    def wrapped(*args):
        return through_helper(*args)

    for answer in (attribute, imported_inside, through_helper, wrapped):
        assert uses(answer, names=("threshold_otsu",)) == "threshold_otsu", answer.__name__
    assert uses(through_alias, objects=(threshold_otsu,)) == "threshold_otsu"

    def by_hand(image, nbins=256):
        counts, edges = np.histogram(np.ravel(image), bins=nbins)
        return edges[np.argmax(counts)]

    assert uses(by_hand, names=("threshold_otsu",), objects=(threshold_otsu,)) is None
    with pytest.raises(ExerciseFailed, match="calls threshold_otsu"):
        refuse_shortcut(attribute, names=("threshold_otsu",), task="Otsu")


@pytest.mark.parametrize("exercise_id, answer", [
    ("01.otsu_threshold", lambda image, nbins=256: threshold_otsu(image, nbins=nbins)),
    ("07.dilated_conv", lambda image, kernel, dilation: __import__("scipy.ndimage").ndimage.correlate(image, kernel)),
])
def test_checkers_refuse_the_library_shortcut(exercise_id, answer):
    verdict = check(exercise_id, answer, quiet=True)
    assert not verdict.passed and "the library doing the exercise" in verdict.message


@pytest.mark.parametrize("exercise_id, arity", [
    ("00.voxel_volume", 1), ("00.mask_volume", 2), ("00.ellipsoid", 3), ("01.otsu_mask", 1),
    ("01.otsu_threshold", 2), ("01.largest_component", 1), ("01.dice", 2), ("02.circle", 3),
    ("02.external_force", 3), ("02.percent_examined", 3), ("02.snake_step", 5), ("03.rigid_2d", 3),
    ("03.ncc", 2), ("03.majority_vote", 1), ("03.gradient_step", 5), ("04.sliding_window", 3),
    ("06.training_step", 4), ("07.dilated_conv", 3),
    ("11.sphere_volume_change", 1), ("11.recist_response", 3),
])
def test_a_missing_return_is_named(exercise_id, arity):
    def no_return(*args):
        assert len(args) >= 1

    verdict = check(exercise_id, no_return, quiet=True)
    assert not verdict.passed and "returned None" in verdict.message, verdict.message


# --------------------------------------------------------------------------
# 04: the sliding window; 06: one training step with its loss
# --------------------------------------------------------------------------
def _patches_row_by_row(image, patch_size):
    half = patch_size // 2
    padded = np.pad(image, half)
    return np.stack([padded[r:r + patch_size, c:c + patch_size]
                     for r in range(image.shape[0]) for c in range(image.shape[1])])


@torch.no_grad()
def sliding_window_by_hand(model, image, patch_size=33, batch=7):
    patches = torch.from_numpy(_patches_row_by_row(image, patch_size)).float()[:, None]
    probs = [torch.softmax(model(patches[s:s + batch]), dim=1)[:, 1] for s in range(0, len(patches), batch)]
    return torch.cat(probs).reshape(image.shape).numpy()


@torch.no_grad()
def sliding_window_without_padding(model, image, patch_size=33):
    half = patch_size // 2
    inner = _patches_row_by_row(image, patch_size)
    keep = [r * image.shape[1] + c for r in range(half, image.shape[0] - half) for c in range(half, image.shape[1] - half)]
    probs = torch.softmax(model(torch.from_numpy(inner[keep]).float()[:, None]), dim=1)[:, 1]
    return probs.reshape(image.shape[0] - 2 * half, image.shape[1] - 2 * half).numpy()


@torch.no_grad()
def sliding_window_raw_scores(model, image, patch_size=33):
    patches = torch.from_numpy(_patches_row_by_row(image, patch_size)).float()[:, None]
    return model(patches)[:, 1].reshape(image.shape).numpy()


@torch.no_grad()
def sliding_window_by_unfold(model, image, patch_size=33):
    half = patch_size // 2
    padded = torch.nn.functional.pad(torch.from_numpy(image)[None, None], (half,) * 4)
    patches = torch.nn.functional.unfold(padded, patch_size).transpose(1, 2).reshape(-1, 1, patch_size, patch_size)
    return torch.softmax(model(patches), dim=1)[:, 1].reshape(image.shape).numpy()


def sliding_window_by_the_package(model, image, patch_size=33):
    from medseg_edu.methods.deep import patch_probabilities
    return patch_probabilities(model, image[None], device="cpu")[0]


def test_sliding_window_checker_accepts_a_hand_written_window_in_any_batch_size():
    verdict = check("04.sliding_window", sliding_window_by_hand, quiet=True)
    assert verdict.passed, verdict.message


@pytest.mark.parametrize("answer, expected", [
    (sliding_window_without_padding, "pad by patch_size // 2"),
    (sliding_window_raw_scores, "raw scores"),
    (sliding_window_by_unfold, "calls unfold"),
    (sliding_window_by_the_package, "calls patch_probabilities"),
])
def test_sliding_window_checker_names_the_mistake_or_the_shortcut(answer, expected):
    verdict = check("04.sliding_window", answer, quiet=True)
    assert not verdict.passed and expected in verdict.message, verdict.message


def _soft_dice_loss(logits, masks):
    gland = torch.softmax(logits, dim=1)[:, 1]
    truth = masks.float()
    return 1 - (2 * (gland * truth).sum() + 1) / (gland.sum() + truth.sum() + 1)


def step_by_hand(net, images, masks, lr):
    for p in net.parameters():
        p.grad = None
    logits = net(images)
    loss = torch.nn.functional.cross_entropy(logits, masks) + _soft_dice_loss(logits, masks)
    loss.backward()
    with torch.no_grad():
        for p in net.parameters():
            p.sub_(lr * p.grad)
    return loss


def step_without_zeroing(net, images, masks, lr):
    logits = net(images)
    loss = torch.nn.functional.cross_entropy(logits, masks) + _soft_dice_loss(logits, masks)
    loss.backward()
    with torch.no_grad():
        for p in net.parameters():
            p -= lr * p.grad
    return loss.item()


def step_uphill(net, images, masks, lr):
    net.zero_grad()
    logits = net(images)
    loss = torch.nn.functional.cross_entropy(logits, masks) + _soft_dice_loss(logits, masks)
    loss.backward()
    with torch.no_grad():
        for p in net.parameters():
            p += lr * p.grad
    return loss.item()


def step_cross_entropy_only(net, images, masks, lr):
    net.zero_grad()
    loss = torch.nn.functional.cross_entropy(net(images), masks)
    loss.backward()
    with torch.no_grad():
        for p in net.parameters():
            p -= lr * p.grad
    return loss.item()


def step_with_an_optimiser(net, images, masks, lr):
    optimiser = torch.optim.SGD(net.parameters(), lr=lr)
    optimiser.zero_grad()
    logits = net(images)
    loss = torch.nn.functional.cross_entropy(logits, masks) + _soft_dice_loss(logits, masks)
    loss.backward()
    optimiser.step()
    return loss.item()


def step_with_the_package_loss(net, images, masks, lr):
    from medseg_edu import train
    net.zero_grad()
    loss = train.dice_ce_loss(net(images), masks)
    loss.backward()
    with torch.no_grad():
        for p in net.parameters():
            p -= lr * p.grad
    return loss.item()


def test_training_step_checker_accepts_a_hand_written_step_returning_a_tensor():
    verdict = check("06.training_step", step_by_hand, quiet=True)
    assert verdict.passed, verdict.message


@pytest.mark.parametrize("answer, expected", [
    (step_without_zeroing, "zero the gradients first"),
    (step_uphill, "uphill"),
    (step_cross_entropy_only, "cross-entropy alone"),
    (step_with_an_optimiser, "calls optim"),
    (step_with_the_package_loss, "calls dice_ce_loss"),
])
def test_training_step_checker_names_the_mistake_or_the_shortcut(answer, expected):
    verdict = check("06.training_step", answer, quiet=True)
    assert not verdict.passed and expected in verdict.message, verdict.message


def test_the_training_step_reference_is_what_fit_minimises():
    """The checker's loss is train.dice_ce_loss for two classes, so the exercise teaches the loss fit uses."""
    from medseg_edu import nets, train
    from medseg_edu.exercises.nb06 import _reference_training_step

    torch.manual_seed(0)
    net = nets.UNet(width=2, depth=2).eval()
    images, masks = torch.rand(2, 1, 16, 16), (torch.rand(2, 16, 16) > 0.5).long()
    expected = float(train.dice_ce_loss(net(images), masks))
    assert _reference_training_step(net, images, masks, lr=0.0) == pytest.approx(expected, rel=1e-6)
