"""Checkers for notebook 03 (registration)."""

from __future__ import annotations

import numpy as np

from . import ExerciseFailed, exercise


@exercise("03.rigid_2d")
def _rigid_2d(rigid_2d):
    for angle, tx, ty in ((0.0, 0.0, 0.0), (90.0, 2.0, 3.0), (30.0, -5.0, 1.5), (-45.0, 0.0, 10.0)):
        got = np.asarray(rigid_2d(angle, tx, ty), dtype=float)
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
        got = np.asarray(majority_vote(stack))
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
            got, expected = float(ncc(x, y)), reference(x, y)
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
