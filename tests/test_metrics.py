import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from medseg_edu._checks import as_mask, as_spacing, same_shape
from medseg_edu.metrics import dice, hausdorff95, jaccard, mean_surface_distance

SPACING = (0.5, 0.5, 3.0)


# ---------------------------------------------------------------- _checks
def test_as_mask_labels_and_refusals():
    labels = np.array([[0, 1], [2, 0]], dtype=np.uint8)
    assert as_mask(labels).tolist() == [[False, True], [True, False]]
    assert as_mask(np.array([0.0, 2.0, 1.0])).tolist() == [False, True, True]  # float labels, whole numbers
    with pytest.raises(ValueError, match="NaN"):
        as_mask(np.array([0.0, np.nan]))
    with pytest.raises(TypeError, match="numpy array"):
        as_mask([[0, 1]])
    with pytest.raises(ValueError, match="0-d"):
        as_mask(np.array(1))


def test_a_probability_map_is_not_taken_for_a_mask():
    """Every voxel of a softmax output is > 0: counted as a mask, it would be the whole field of view."""
    from medseg_edu import metrics, volumetry

    probabilities = np.full((8, 8, 4), 0.01, np.float32)
    probabilities[2:6, 2:6, 1:3] = 0.9
    for measure in (lambda: volumetry.volume_ml(probabilities, (1.0, 1.0, 1.0)),
                    lambda: metrics.dice(probabilities, probabilities > 0.5),
                    lambda: as_mask(np.array([0.0, 0.7]))):
        with pytest.raises(ValueError, match="fractional values .* probability map.* >= 0.5"):
            measure()
    assert volumetry.volume_ml(probabilities >= 0.5, (1.0, 1.0, 1.0)) == 0.032


def test_a_mask_with_negative_values_is_refused_not_counted_as_empty():
    from medseg_edu import volumetry

    minus_one = np.zeros((6, 6, 3), np.int8)
    minus_one[1:4, 1:4, 1] = -1  # "true" stored as -1
    for mask in (minus_one, minus_one.astype(np.float32)):
        with pytest.raises(ValueError, match="9 negative values .* pass mask != 0"):
            volumetry.volume_ml(mask, (1.0, 1.0, 1.0))
    assert volumetry.volume_ml(minus_one != 0, (1.0, 1.0, 1.0)) == 0.009
    assert as_mask(np.array([0, 200], np.uint8)).tolist() == [False, True]  # unsigned: nothing to refuse


def test_as_spacing_messages():
    assert as_spacing([1, 2, 3], 3) == (1.0, 2.0, 3.0)
    with pytest.raises(ValueError, match=r"spacing.*3 values.*\(1\.0, 1\.0\)"):
        as_spacing((1.0, 1.0), 3, shape=(4, 4, 4))
    with pytest.raises(ValueError, match=r"shape \(4, 4, 4\)"):
        as_spacing((1.0, 1.0), 3, shape=(4, 4, 4))
    for bad in [(1.0, 0.0, 1.0), (1.0, -1.0, 1.0), (1.0, float("nan"), 1.0), (1.0, float("inf"), 1.0)]:
        with pytest.raises(ValueError, match="spacing"):
            as_spacing(bad, 3)


def test_same_shape_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        same_shape(np.zeros((2, 3)), np.zeros((3, 2)), names=("pred", "truth"))


# ---------------------------------------------------------------- overlap
def test_dice_jaccard_hand_computed():
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[0, 0:3] = True  # 3 pixels
    b[0, 1:4] = True  # 3 pixels, 2 shared
    assert dice(a, b) == pytest.approx(2 * 2 / 6)
    assert jaccard(a, b) == pytest.approx(2 / 4)
    # labels count as foreground when > 0
    labels = a.astype(np.uint8) * 2
    assert dice(labels, b) == pytest.approx(2 / 3)
    assert dice(a, a) == 1.0
    assert dice(a, ~a) == 0.0


def test_dice_jaccard_empty():
    e = np.zeros((3, 3, 3), bool)
    full = np.ones((3, 3, 3), bool)
    assert dice(e, e) == 1.0
    assert jaccard(e, e) == 1.0
    assert dice(e, full) == 0.0
    assert jaccard(e, full) == 0.0


def test_dice_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(4, 4, 4\).*\(4, 4, 5\)"):
        dice(np.zeros((4, 4, 4), bool), np.zeros((4, 4, 5), bool))
    with pytest.raises(ValueError, match="shape"):
        hausdorff95(np.ones((4, 4, 4), bool), np.ones((4, 5, 4), bool), SPACING)


masks = arrays(bool, st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 4)))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_dice_symmetric_bounded_and_consistent_with_jaccard(data):
    a = data.draw(masks)
    b = data.draw(arrays(bool, a.shape))
    d = dice(a, b)
    assert 0.0 <= d <= 1.0
    assert d == dice(b, a)
    j = jaccard(a, b)
    assert j == pytest.approx(d / (2 - d))


# ---------------------------------------------------------------- distances
def _cube(shift_z=0):
    m = np.zeros((8, 8, 10), bool)
    m[2:6, 2:6, 2 + shift_z : 6 + shift_z] = True
    return m


def test_offset_cubes_anisotropic_hand_computed():
    # A: 4x4x4 voxel cube; B: A moved one slice (3 mm) up.
    # Surface of each cube: 56 voxels. From A to B:
    #   A's bottom face (16 voxels) is 3.0 mm from B's bottom face;
    #   the 4 central voxels of A's top face sit inside B, 0.5 mm in-plane
    #   from B's side faces; the other 36 lie on B's surface (0 mm).
    # B to A is symmetric. Pooled: 32 x 3.0, 8 x 0.5, 72 x 0 (112 values).
    a, b = _cube(), _cube(1)
    assert mean_surface_distance(a, b, SPACING) == pytest.approx((32 * 3.0 + 8 * 0.5) / 112)
    assert hausdorff95(a, b, SPACING) == pytest.approx(3.0)
    # isotropic 1 mm voxels: all non-zero distances become 1 mm
    assert mean_surface_distance(a, b, (1, 1, 1)) == pytest.approx(40 / 112)
    # symmetric
    assert mean_surface_distance(b, a, SPACING) == mean_surface_distance(a, b, SPACING)
    assert hausdorff95(b, a, SPACING) == hausdorff95(a, b, SPACING)


def test_hd95_is_95th_percentile_not_max():
    # B = A plus one far-away voxel: a lone outlier among many surface voxels.
    a = np.zeros((20, 20, 20), bool)
    a[2:14, 2:14, 2:14] = True
    b = a.copy()
    b[19, 19, 19] = True
    hd = hausdorff95(a, b, (1.0, 1.0, 1.0))
    assert hd == pytest.approx(0.0)
    assert mean_surface_distance(a, b, (1.0, 1.0, 1.0)) > 0.0


def test_distances_identical_and_empty():
    a = _cube()
    e = np.zeros_like(a)
    assert hausdorff95(a, a, SPACING) == 0.0
    assert mean_surface_distance(a, a, SPACING) == 0.0
    assert hausdorff95(e, e, SPACING) == 0.0
    assert mean_surface_distance(e, e, SPACING) == 0.0
    assert math.isinf(hausdorff95(a, e, SPACING))
    assert math.isinf(mean_surface_distance(e, a, SPACING))


def test_distances_bad_spacing():
    a = _cube()
    with pytest.raises(ValueError, match="spacing"):
        hausdorff95(a, a, (1.0, 1.0))
    with pytest.raises(ValueError, match="spacing"):
        mean_surface_distance(a, a, (1.0, 0.0, 1.0))
