"""RECIST diameters and response (issue 14, item 1): analytic shapes on anisotropic grids."""

from __future__ import annotations

import numpy as np
import pytest

from medseg_edu.volumetry import longest_diameter_mm, recist_response, short_axis_mm

SPACING = (0.5, 0.5, 3.0)


def ellipse(long_mm, short_mm, angle_deg, *, n=160, slices=3, spacing=SPACING):
    x = (np.arange(n) - (n - 1) / 2) * spacing[0]
    y = (np.arange(n) - (n - 1) / 2) * spacing[1]
    X, Y = np.meshgrid(x, y, indexing="ij")
    t = np.deg2rad(angle_deg)
    u, v = X * np.cos(t) + Y * np.sin(t), -X * np.sin(t) + Y * np.cos(t)
    inside = (u / (long_mm / 2)) ** 2 + (v / (short_mm / 2)) ** 2 <= 1
    return np.repeat(inside[:, :, None], slices, axis=2)


@pytest.mark.parametrize("angle", [0, 30, 75])
def test_a_rotated_ellipse_measures_its_axes(angle):
    mask = ellipse(30, 20, angle)
    assert longest_diameter_mm(mask, SPACING) == pytest.approx(30, abs=1.0)
    assert short_axis_mm(mask, SPACING) == pytest.approx(20, abs=1.0)


def test_the_longest_slice_wins_and_the_slice_thickness_does_not_matter():
    mask = np.zeros((160, 160, 4), bool)
    mask[..., 1] = ellipse(12, 8, 10, slices=1)[..., 0]
    mask[..., 2] = ellipse(26, 9, 60, slices=1)[..., 0]
    assert longest_diameter_mm(mask, SPACING) == pytest.approx(26, abs=1.0)
    assert short_axis_mm(mask, SPACING) == pytest.approx(9, abs=1.0)  # on the slice of the long axis
    assert longest_diameter_mm(mask, (0.5, 0.5, 7.0)) == longest_diameter_mm(mask, SPACING)


def test_anisotropic_pixels_are_measured_in_mm():
    mask = np.zeros((40, 40, 1), bool)
    mask[10:30, 15:25] = True                    # 20 x 10 pixels of 0.5 x 1.0 mm: a 10 x 10 mm square
    assert longest_diameter_mm(mask, (0.5, 1.0, 3.0)) == pytest.approx(10 * np.sqrt(2), abs=1e-6)


def test_empty_single_slice_and_bad_spacing():
    assert longest_diameter_mm(np.zeros((8, 8, 3), bool), SPACING) == 0.0
    assert short_axis_mm(np.zeros((8, 8, 3), bool), SPACING) == 0.0
    one = np.zeros((8, 8, 1), bool)
    one[3, 3] = True                              # a single pixel: its diagonal
    assert longest_diameter_mm(one, SPACING) == pytest.approx(np.hypot(0.5, 0.5))
    with pytest.raises(ValueError, match="spacing"):
        longest_diameter_mm(one, (0.5, 0.0, 3.0))
    with pytest.raises(ValueError, match="3D"):
        longest_diameter_mm(one[:, :, 0], (0.5, 0.5))


@pytest.mark.parametrize("baseline, followup, nadir, expected", [
    (50, 34, None, "PR"), (50, 45, None, "SD"), (50, 61, None, "PD"), (50, 0, None, "CR"),
    (40, 36, 30, "PD"), (40, 34, 30, "SD"),
    (20, 24.5, None, "SD"),   # +22 % but only 4.5 mm: not progression
    (50, 35, None, "PR"),     # exactly 30 % down
])
def test_recist_edge_cases(baseline, followup, nadir, expected):
    assert recist_response(baseline, followup, nadir_mm=nadir) == expected


@pytest.mark.parametrize("args", [(-1, 10), (50, float("nan")), (50, 40, 60), ("50", 40), (True, 3)])
def test_recist_refuses_bad_sums(args):
    with pytest.raises(ValueError):
        recist_response(*args)
