"""medseg_edu.masks: largest connected component and a ball in mm."""

from __future__ import annotations

import numpy as np
import pytest

from medseg_edu.masks import ball, largest_component
from medseg_edu.methods import threshold


def test_largest_component_keeps_the_biggest_face_connected_piece():
    mask = np.zeros((30, 30, 6), bool)
    mask[2:12, 2:12, 1:5] = True       # 400 voxels
    mask[15:28, 15:28, 2:4] = True     # 338 voxels
    mask[12, 12, 2] = True             # touches the first block only along an edge: its own component
    out = largest_component(mask)
    assert out.dtype == bool and out.sum() == 400 and out[5, 5, 2] and not out[12, 12, 2]
    assert largest_component(mask.astype(np.uint8) * 3).sum() == 400   # labels > 0 count as foreground
    empty = largest_component(np.zeros((5, 5, 2), bool))
    assert empty.dtype == bool and not empty.any()
    one = np.zeros((4, 4, 4), bool)
    one[1:3, 1:3, 1:3] = True
    assert largest_component(one) is not one and np.array_equal(largest_component(one), one)
    # equal sizes: the component met first in C order wins
    tie = np.zeros((7, 3, 1), bool)
    tie[0:2, :, 0] = tie[5:7, :, 0] = True
    assert largest_component(tie)[0, 0, 0] and not largest_component(tie)[6, 0, 0]


def test_largest_component_equals_labelling_the_whole_array():
    """It labels only the box around the foreground; the answer (ties included) must not change."""
    from skimage.measure import label

    rng = np.random.default_rng(0)
    for _ in range(200):
        shape = tuple(rng.integers(1, 10, size=rng.integers(1, 4)))
        mask = rng.random(shape) < rng.uniform(0.05, 0.6)
        labelled = label(mask, connectivity=1)
        sizes = np.bincount(labelled.ravel())
        sizes[0] = 0
        expected = labelled == int(np.argmax(sizes)) if labelled.max() else np.zeros(shape, bool)
        assert np.array_equal(largest_component(mask), expected)


def test_largest_component_in_2d_and_bad_input():
    img = np.zeros((5, 5), bool)
    img[0, 0] = True
    img[2:5, 2:5] = True
    assert largest_component(img).sum() == 9
    with pytest.raises(ValueError, match="NaN"):
        largest_component(np.array([[0.0, np.nan]]))


def test_ball_is_sized_in_mm_on_anisotropic_spacing():
    b = ball((0.625, 0.625, 3.6), 2.0)
    assert b.shape == (7, 7, 1) and b.dtype == bool   # 3 voxels each side in-plane, one slice thick
    assert b[3, 0, 0] and b[0, 3, 0] and not b[0, 0, 0]
    b = ball((1.0, 2.0, 0.5), 2.0)
    assert b.shape == (5, 3, 9)
    assert b[2, 1, 0] and b[2, 1, 8] and b[0, 1, 4] and b[2, 0, 4] and not b[0, 0, 4]
    # every True voxel is within the radius in mm, every False one outside
    idx = np.indices(b.shape).reshape(3, -1).T - np.array(b.shape) // 2
    dist = np.sqrt(((idx * np.array([1.0, 2.0, 0.5])) ** 2).sum(axis=1))
    assert np.array_equal(b.ravel(), dist <= 2.0 + 1e-9)
    assert ball((1.0, 1.0), 0.0).shape == (1, 1) and ball((1.0, 1.0), 0.0).all()
    with pytest.raises(ValueError, match="radius_mm"):
        ball((1.0, 1.0, 1.0), -1.0)
    with pytest.raises(ValueError, match="spacing"):
        ball((1.0, 0.0, 1.0), 1.0)


def test_a_ball_too_large_to_build_is_refused_before_any_allocation():
    assert ball((0.6, 0.6, 3.6), 100.0).shape == (333, 333, 55)   # 6 million voxels: still built
    # 1000 "mm" (a radius in micrometres) asked 55 GiB and raised MemoryError, or killed a small kernel
    with pytest.raises(ValueError, match=r"radius_mm=1000.0 on \(0.6, 0.6, 3.0\) mm voxels needs 3333 x 3333 x 667 "
                                         r"voxels \(limit 16,777,216\): is the radius in mm\?"):
        ball((0.6, 0.6, 3.0), 1000.0)


def test_ball_edge_tolerance_absorbs_rounding():
    # 1.2 / 0.4 is 2.9999999999999996 in floating point: the voxel exactly 1.2 mm away is inside
    assert ball((0.4,), 1.2).shape == (7,)
    assert ball((0.4,), 1.2, edge_tolerance=0.0).shape == (5,)   # what render_mr has always drawn


def test_threshold_keeps_its_names():
    assert threshold.largest_component is largest_component and threshold.ball_footprint is ball
