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


@pytest.mark.parametrize("args", [(-1, 10), (50, float("nan")), (50, 40, 60), ("50", 40), (True, 3),
                                  (0, 12), (0, 0)])   # a 0 mm baseline (an empty mask) gave "PD" and "CR"
def test_recist_refuses_bad_sums(args):
    with pytest.raises(ValueError):
        recist_response(*args)


# --------------------------------------------------------------------------- short axis = a chord (issue 24.6)
FINE = (0.2, 0.2, 3.0)


def rasterise(inside, extent_mm, spacing=FINE):
    """A (x, y, 1) mask of the pixels whose centres satisfy ``inside(x_mm, y_mm)``."""
    n = int(round(extent_mm / spacing[0]))
    c = (np.arange(n) - (n - 1) / 2) * spacing[0]
    X, Y = np.meshgrid(c, c, indexing="ij")
    return inside(X, Y)[:, :, None]


def rotated(x, y, angle_deg):
    t = np.deg2rad(angle_deg)
    return x * np.cos(t) + y * np.sin(t), -x * np.sin(t) + y * np.cos(t)


def perpendicular_chord_brute_force(vertices, direction, steps=4001):
    """Longest chord of a convex polygon perpendicular to ``direction``, by sweeping many lines."""
    from medseg_edu.recist import chord_along_mm  # noqa: F401  (the function under test is NOT used)

    u = np.asarray(direction, float) / np.hypot(*direction)
    n = np.array([-u[1], u[0]])
    along = vertices @ u
    best = 0.0
    for t in np.linspace(along.min(), along.max(), steps):
        # cut every edge with the line {p . u = t}; the chord runs along n
        cuts = []
        for a, b in zip(vertices, np.roll(vertices, -1, axis=0)):
            da, db = a @ u - t, b @ u - t
            if da * db <= 0 and da != db:
                p = a + (b - a) * (da / (da - db))
                cuts.append(p @ n)
        if len(cuts) >= 2:
            best = max(best, max(cuts) - min(cuts))
    return best


def test_a_rectangle_short_axis_is_the_chord_across_its_diagonal_not_its_width():
    mask = rasterise(lambda x, y: (np.abs(x) <= 15) & (np.abs(y) <= 5), 40)   # 30 x 10 mm
    assert longest_diameter_mm(mask, FINE) == pytest.approx(np.hypot(30, 10), abs=0.3)
    # width across the diagonal would be 18.97 mm; the perpendicular chord is 10.54 mm
    assert short_axis_mm(mask, FINE) == pytest.approx(10.54, abs=0.5)


@pytest.mark.parametrize("angle", [0, 17, 45, 62, 110])
@pytest.mark.parametrize("long_mm, short_mm", [(30, 10), (24, 16), (14, 9)])
def test_a_rotated_ellipse_short_axis_is_its_minor_axis(long_mm, short_mm, angle):
    mask = rasterise(lambda x, y: (rotated(x, y, angle)[0] / (long_mm / 2)) ** 2
                     + (rotated(x, y, angle)[1] / (short_mm / 2)) ** 2 <= 1, long_mm + 6)
    assert longest_diameter_mm(mask, FINE) == pytest.approx(long_mm, abs=0.5)
    assert short_axis_mm(mask, FINE) == pytest.approx(short_mm, abs=0.5)


@pytest.mark.parametrize("angle", [0, 30, 135])
def test_an_l_shape_is_measured_across_its_hull(angle):
    # an L: a 40 x 10 mm foot and a 10 x 30 mm leg; its hull is a pentagon
    def inside(x, y):
        u, v = rotated(x, y, angle)
        u, v = u + 20, v + 15
        return ((u >= 0) & (u <= 40) & (v >= 0) & (v <= 10)) | ((u >= 0) & (u <= 10) & (v >= 0) & (v <= 30))

    mask = rasterise(inside, 80)
    hull = np.array([[0, 0], [40, 0], [40, 10], [10, 30], [0, 30]], float)
    long_axis = hull[4] - hull[1]                          # (40, 0) to (0, 30): 50 mm
    expected_short = perpendicular_chord_brute_force(hull, long_axis)
    assert longest_diameter_mm(mask, FINE) == pytest.approx(50.0, abs=0.5)
    assert short_axis_mm(mask, FINE) == pytest.approx(expected_short, abs=0.5)
    width_across = np.ptp(hull @ np.array([-long_axis[1], long_axis[0]]) / 50.0)   # 32 mm
    assert expected_short < width_across - 1.0   # the width is not the answer


def test_chord_along_matches_a_brute_force_sweep_on_random_convex_polygons():
    from scipy.spatial import ConvexHull

    from medseg_edu.recist import chord_along_mm

    rng = np.random.default_rng(3)
    for _ in range(20):
        points = rng.normal(0, 10, (12, 2)) * rng.uniform(0.3, 1.0, 2)
        hull = points[ConvexHull(points).vertices]
        direction = rng.normal(size=2)
        normal = np.array([-direction[1], direction[0]])
        assert chord_along_mm(hull, direction) == pytest.approx(
            perpendicular_chord_brute_force(hull, normal, steps=3001), abs=0.05)


def test_a_square_s_two_equal_diagonals_give_the_same_short_axis():
    mask = rasterise(lambda x, y: (np.abs(x) <= 5) & (np.abs(y) <= 5), 14)
    assert longest_diameter_mm(mask, FINE) == pytest.approx(np.hypot(10, 10), abs=0.3)
    assert short_axis_mm(mask, FINE) == pytest.approx(np.hypot(10, 10), abs=0.3)


def test_equally_long_axes_take_the_one_with_the_longer_perpendicular_chord():
    from medseg_edu.recist import chord_along_mm, longest_chord

    # two 20 mm chords, A-B (horizontal) and C-D (at 60 degrees); E breaks the symmetry
    s60 = np.sin(np.deg2rad(60.0))
    outline = np.array([[10, 0], [5, 10 * s60], [-10, 0], [-5, -10 * s60], [0, -8.5]])
    across = {"AB": chord_along_mm(outline, (0, 1)), "CD": chord_along_mm(outline, (-s60, 0.5))}
    assert across["AB"] != pytest.approx(across["CD"], abs=0.1)
    length, direction = longest_chord(outline)
    assert length == pytest.approx(20.0, abs=1e-9)
    assert chord_along_mm(outline, (-direction[1], direction[0])) == pytest.approx(max(across.values()))
    # the order of the vertices does not change the choice
    _, again = longest_chord(np.roll(outline, 2, axis=0))
    assert abs(abs(again @ direction) - 1.0) < 1e-9


def test_readers_and_the_algorithm_share_one_geometry():
    from medseg_edu.data import Reader

    mask = np.repeat(rasterise(lambda x, y: (np.abs(x) <= 15) & (np.abs(y) <= 5), 40), 3, axis=2)
    perfect = Reader("perfect", seed=0, bias_mm=0.0, jitter_mm=0.0, angle_sd_deg=0.0, wrong_slice=0.0,
                     resolution_mm=0.01)
    assert perfect.diameter_mm(mask, FINE) == pytest.approx(longest_diameter_mm(mask, FINE), abs=0.01)
    assert perfect.short_axis_mm(mask, FINE) == pytest.approx(short_axis_mm(mask, FINE), abs=0.01)
