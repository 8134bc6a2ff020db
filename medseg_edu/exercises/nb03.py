"""Checkers for notebook 03 (registration)."""

from __future__ import annotations

import numpy as np

from . import ExerciseFailed, exercise


@exercise("03.rigid_2d")
def _rigid_2d(rigid_2d):
    for angle, tx, ty in ((0.0, 0.0, 0.0), (90.0, 2.0, 3.0), (30.0, -5.0, 1.5), (-45.0, 0.0, 10.0)):
        got = rigid_2d(angle, tx, ty)
        if got is None:
            raise ExerciseFailed("your function returned None: end it with `return <the 3 x 3 matrix>`")
        got = np.asarray(got, dtype=float)
        if got.shape != (3, 3):
            raise ExerciseFailed(f"return a 3 x 3 homogeneous matrix, got shape {got.shape}")
        a = np.deg2rad(angle)
        expected = np.array([[np.cos(a), -np.sin(a), tx], [np.sin(a), np.cos(a), ty], [0.0, 0.0, 1.0]])
        if not np.allclose(got, expected, atol=1e-9):
            if np.allclose(got[:2, :2], expected[:2, :2].T, atol=1e-9) and angle:
                raise ExerciseFailed("the rotation turns the wrong way: counter-clockwise is "
                                     "[[cos, -sin], [sin, cos]]")
            if angle and np.allclose(got[:2, :2], [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]):
                raise ExerciseFailed("np.cos and np.sin take radians: convert with np.deg2rad(angle_deg)")
            if not np.allclose(got[2], [0, 0, 1]):
                raise ExerciseFailed("the last row of a homogeneous 2D matrix is [0, 0, 1]")
            raise ExerciseFailed(f"rigid_2d({angle}, {tx}, {ty}) should be\n{np.round(expected, 3)}\n"
                                 f"you gave\n{np.round(got, 3)}")
    point = np.asarray(rigid_2d(90.0, 2.0, 3.0), float) @ np.array([1.0, 0.0, 1.0])
    return (f"rotating (1, 0) by 90 degrees and shifting by (2, 3) lands on ({point[0]:.0f}, {point[1]:.0f}); "
            "3 numbers (angle, tx, ty) instead of an affine's 6.")


@exercise("03.majority_vote")
def _majority_vote(majority_vote):
    rng = np.random.default_rng(3)
    for n in (1, 3, 4, 5):
        stack = rng.random((n, 6, 5, 4)) < 0.5
        got = majority_vote(stack.copy())
        if got is None:
            raise ExerciseFailed("your function returned None: end it with `return <the voted mask>`")
        got = np.asarray(got)
        expected = stack.sum(axis=0) > n / 2
        if got.shape != expected.shape:
            raise ExerciseFailed(f"for {n} masks of shape {stack.shape[1:]} return one mask of that shape, "
                                 f"got {got.shape}")
        if got.dtype != bool:
            raise ExerciseFailed(f"return a bool mask, got dtype {got.dtype}")
        if not np.array_equal(got, expected):
            if n % 2 == 0 and np.array_equal(got, stack.sum(axis=0) >= n / 2):
                raise ExerciseFailed(f"with {n} atlases a 2-2 tie is not a majority: "
                                     "use 'more than half' (>), not '>='")
            raise ExerciseFailed(f"with {n} masks, a voxel is in when MORE than half of them say so")
    return "three atlases of five agreeing is enough; two of four is not."


@exercise("03.ncc")
def _ncc(ncc):
    from ..methods.registration import ncc as reference

    rng = np.random.default_rng(31)
    for shape in ((7,), (5, 6), (4, 5, 3), (9, 9)):
        a = rng.random(shape) + 0.5
        b = 0.6 * a + rng.normal(0.0, 0.2, shape) + 1.5       # related to a, on another brightness scale
        for x, y in ((a, b), (a, 3.0 * a + 2.0), (a, -a), (b, rng.random(shape))):
            got, expected = ncc(x.copy(), y.copy()), reference(x, y)
            if got is None:
                raise ExerciseFailed("your function returned None: end it with `return <the correlation>`")
            got = float(got)
            if not np.isclose(got, expected, atol=1e-6):
                cosine = float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))
                if np.isclose(got, cosine, atol=1e-6):
                    raise ExerciseFailed("subtract each image's mean first: without it a brightness offset "
                                         "(the coil's bias field) changes the score")
                if abs(got) > 1 + 1e-6:
                    raise ExerciseFailed(f"an NCC lies in [-1, 1], you gave {got:.3f}: divide by the product "
                                         "of the two standard deviations (square roots of the sums of squares)")
                raise ExerciseFailed(f"for images of shape {shape} the NCC should be {expected:.4f}, "
                                     f"you gave {got:.4f}")
    a = rng.random((6, 6))
    return (f"ncc(a, 3a + 2) = {reference(a, 3 * a + 2):.2f}: gain and offset do not matter, only the "
            "pattern; registration.ncc_loss is 1 minus this, box by box.")


def _fresh_registration_problems():
    """Small smooth 3D image pairs (seeded) related by a known shift, with a starting theta near identity."""
    import torch
    from scipy import ndimage

    from ..methods.registration import as_tensor

    rng = np.random.default_rng(303)
    for size, shift, lr in ((12, (1.5, -1.0, 0.5), 0.05), (16, (-2.0, 0.5, 1.0), 0.02), (10, (0.0, 2.0, -1.5), 0.1)):
        base = ndimage.gaussian_filter(rng.random((size + 8,) * 3), 2.0)
        fixed = base[4:-4, 4:-4, 4:-4]
        moving = ndimage.shift(base, shift, order=1)[4:-4, 4:-4, 4:-4]
        scale = lambda a: (a - a.min()) / (a.max() - a.min())  # noqa: E731
        weight = np.ones_like(fixed)
        weight[:2] = 0.0                                           # where the fixed scan has no data
        theta = torch.eye(3, 4) + torch.as_tensor(rng.normal(0, 0.03, (3, 4)), dtype=torch.float32)
        yield theta, as_tensor(scale(fixed)), as_tensor(scale(moving)), as_tensor(weight), lr


@exercise("03.gradient_step")
def _gradient_step(gradient_step):
    import torch
    import torch.nn.functional as F

    from ..methods.registration import gradient_step as reference
    from ..methods.registration import ncc_loss
    from ._shortcuts import refuse_shortcut

    refuse_shortcut(gradient_step, names=("optim", "Adam", "SGD", "register_affine", "register_deformable",
                                          "gradient_step"), objects=(reference,),
                    task="the warp, the loss, loss.backward() and theta - lr * theta.grad")
    for theta, fixed, moving, weight, lr in _fresh_registration_problems():
        original = theta.clone()
        got = gradient_step(theta.clone(), fixed.clone(), moving.clone(), weight.clone(), lr)
        if got is None:
            raise ExerciseFailed("your function returned None: end it with `return new_theta, loss.item()`")
        if not isinstance(got, tuple) or len(got) != 2:
            raise ExerciseFailed("return two things: the new theta (3 x 4) and the loss before the step")
        new_theta, loss = got
        new_theta = torch.as_tensor(new_theta).detach().float()
        expected, expected_loss = reference(original, fixed, moving, weight, lr=lr)
        where = f"on a {tuple(fixed.shape[2:])} image pair with lr={lr}"
        if tuple(new_theta.shape) != (3, 4):
            raise ExerciseFailed(f"{where} the new theta should be 3 x 4, got {tuple(new_theta.shape)}")
        if not np.isclose(float(loss), expected_loss, rtol=1e-4, atol=1e-6):
            raise ExerciseFailed(f"{where} the loss before the step should be {expected_loss:.5f}, you gave "
                                 f"{float(loss):.5f} (warp with affine_grid + grid_sample, then registration.ncc_loss "
                                 "with the overlap weight and window=5)")
        step = (expected - original).abs().max().item()
        if torch.allclose(new_theta, expected, rtol=1e-4, atol=1e-4 * step + 1e-7):
            continue
        if torch.allclose(new_theta, 2 * original - expected, rtol=1e-4, atol=1e-4 * step + 1e-7):
            raise ExerciseFailed(f"{where} you climbed: gradient DEScent moves against the gradient, "
                                 "theta - lr * theta.grad")
        if torch.allclose(new_theta, (original - expected) / lr, rtol=1e-3, atol=1e-6):
            raise ExerciseFailed(f"{where} you returned the gradient; return the updated theta - lr * gradient")
        undetached = original.clone().requires_grad_(True)
        grid = F.affine_grid(undetached[None], fixed.shape, align_corners=True)
        warped = F.grid_sample(moving, grid, align_corners=True)
        overlap = weight * F.grid_sample(torch.ones_like(moving), grid, align_corners=True)
        ncc_loss(fixed, warped, overlap, window=5).backward()
        if torch.allclose(new_theta, original - lr * undetached.grad, rtol=1e-4, atol=1e-4 * step + 1e-7):
            raise ExerciseFailed(f"{where} detach the overlap weight (.detach()): otherwise the gradient also "
                                 "rewards shrinking the overlap of the two fields of view, not aligning anatomy")
        raise ExerciseFailed(f"{where} your new theta differs from one gradient-descent step by up to "
                             f"{(new_theta - expected).abs().max().item():.2e} (a step moves it by {step:.2e})")
    return "Adam does the same with a per-parameter step size; the loop of section 3 is this step, 80 times."
