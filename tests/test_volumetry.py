import math

import numpy as np
import pytest

from medseg_edu.volumetry import (
    bland_altman,
    ellipsoid_diameters,
    ellipsoid_volume_ml,
    ellipsoid_formula_ml,
    psa_density,
    slice_areas_cm2,
    volume_error_percent,
    volume_ml,
)

ANISO = (0.5, 0.5, 3.0)


def ellipsoid_mask(semi_axes_mm, spacing, margin_mm=6.0):
    """Voxels whose centre lies inside an ellipsoid centred in the grid."""
    axes = []
    for r, s in zip(semi_axes_mm, spacing):
        n = int(math.ceil(2 * (r + margin_mm) / s))
        axes.append((np.arange(n) - (n - 1) / 2) * s)
    x, y, z = np.meshgrid(*axes, indexing="ij")
    a, b, c = semi_axes_mm
    return (x / a) ** 2 + (y / b) ** 2 + (z / c) ** 2 <= 1.0


def true_ml(a, b, c):
    return 4 / 3 * math.pi * a * b * c / 1000


def test_volume_ml_counts_voxels():
    m = np.zeros((10, 10, 10), bool)
    m[:4, :5, :2] = True  # 40 voxels of 0.5*0.5*3 = 0.75 mm^3
    assert volume_ml(m, ANISO) == pytest.approx(40 * 0.75 / 1000)
    labels = m.astype(np.uint8)
    labels[:2] *= 2  # PZ/TZ labels still count as gland
    assert volume_ml(labels, ANISO) == volume_ml(m, ANISO)
    assert volume_ml(np.zeros((3, 3, 3), bool), ANISO) == 0.0


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), ANISO, (0.625, 0.625, 3.6)])
def test_sphere_volume_within_3_percent(spacing):
    r = 20.0
    m = ellipsoid_mask((r, r, r), spacing)
    assert volume_ml(m, spacing) == pytest.approx(true_ml(r, r, r), rel=0.03)


def test_ellipsoid_volume_anisotropic_within_3_percent():
    semi = (20.0, 15.0, 25.0)
    m = ellipsoid_mask(semi, ANISO)
    assert volume_ml(m, ANISO) == pytest.approx(true_ml(*semi), rel=0.03)


def test_ellipsoid_diameters_and_formula_on_analytic_ellipsoid():
    semi = (20.0, 15.0, 25.0)
    m = ellipsoid_mask(semi, ANISO)
    d = ellipsoid_diameters(m, ANISO)
    assert d.transverse_mm == pytest.approx(40.0, rel=0.03)
    assert d.ap_mm == pytest.approx(30.0, rel=0.03)
    assert d.cc_mm == pytest.approx(50.0, rel=0.08)  # 3 mm slices: +/- one slice
    assert m[:, :, d.axial_slice].sum() == m.sum(axis=(0, 1)).max()
    assert ellipsoid_volume_ml(m, ANISO) == pytest.approx(true_ml(*semi), rel=0.08)


def test_ellipsoid_diameters_hand_computed_box():
    m = np.zeros((10, 12, 8), np.uint8)
    m[2:5, 1:4, 3:7] = 1  # slices 3..6 of 3x3 pixels
    m[1:7, 0:5, 4] = 2  # slice 4 is the widest: 6 x 5 pixels
    m[0:9, 0:1, 5] = 1  # slice 5: 3x3 box + 9-pixel strip = 18 < 30
    d = ellipsoid_diameters(m, (0.5, 0.8, 3.0))
    assert d.axial_slice == 4
    assert d.transverse_mm == pytest.approx(6 * 0.5)
    assert d.ap_mm == pytest.approx(5 * 0.8)
    assert d.cc_mm == pytest.approx(4 * 3.0)
    assert ellipsoid_volume_ml(m, (0.5, 0.8, 3.0)) == pytest.approx(3.0 * 4.0 * 12.0 * math.pi / 6 / 1000)


def test_ellipsoid_tie_takes_first_slice_and_empty():
    m = np.zeros((5, 5, 6), bool)
    m[1:3, 1:3, 2] = True
    m[1:3, 1:3, 4] = True
    assert ellipsoid_diameters(m, (1, 1, 1)).axial_slice == 2
    assert ellipsoid_diameters(m, (1, 1, 1)).cc_mm == 3.0
    e = ellipsoid_diameters(np.zeros((3, 3, 3), bool), (1, 1, 1))
    assert e.axial_slice is None and e.transverse_mm == 0.0
    assert ellipsoid_volume_ml(np.zeros((3, 3, 3), bool), (1, 1, 1)) == 0.0


def test_bad_spacing_and_shape_errors_mention_spacing():
    m = np.ones((4, 4, 4), bool)
    for func in (volume_ml, ellipsoid_diameters, ellipsoid_volume_ml):
        with pytest.raises(ValueError, match="spacing"):
            func(m, (1.0, 1.0))  # 2D spacing on a 3D mask
        with pytest.raises(ValueError, match="spacing"):
            func(m, (1.0, -1.0, 1.0))
        with pytest.raises(ValueError, match="spacing"):
            func(m, (1.0, float("nan"), 1.0))
        with pytest.raises(ValueError, match="3D"):
            func(np.ones((4, 4), bool), (1.0, 1.0))


def test_psa_density():
    assert psa_density(6.0, 40.0) == 0.15
    out = psa_density(np.array([6.0, 3.0]), np.array([40.0, 60.0]))
    np.testing.assert_allclose(out, [0.15, 0.05])
    assert isinstance(psa_density(4, 20), float)
    with pytest.raises(ValueError, match="volume_ml"):
        psa_density(6.0, 0.0)
    with pytest.raises(ValueError, match="volume_ml"):
        psa_density(6.0, -10.0)
    with pytest.raises(ValueError, match="psa"):
        psa_density(-1.0, 40.0)
    with pytest.raises(ValueError, match="psa"):
        psa_density(float("nan"), 40.0)


def test_volume_error_percent():
    assert volume_error_percent(40.0, 44.0) == pytest.approx(10.0)
    assert volume_error_percent(40.0, 30.0) == pytest.approx(-25.0)
    np.testing.assert_allclose(volume_error_percent([10.0, 20.0], [11.0, 18.0]), [10.0, -10.0])
    with pytest.raises(ValueError, match="reference"):
        volume_error_percent(0.0, 10.0)
    assert volume_error_percent(40.0, 0.0) == -100.0        # nothing found is a real (the worst) result
    for impossible in (-4.0, float("inf"), [30.0, -1.0]):   # no volume is negative: refuse, not -110 %
        with pytest.raises(ValueError, match="measured_ml must be a volume in mL"):
            volume_error_percent(40.0, impossible)
    with pytest.raises(ValueError, match="measured_ml contains NaN"):
        volume_error_percent(40.0, float("nan"))


def test_ellipsoid_formula_refuses_impossible_diameters():
    assert ellipsoid_formula_ml(50, 35, 40) == pytest.approx(50 * 35 * 40 * math.pi / 6 / 1000)
    assert isinstance(ellipsoid_formula_ml(50, 35, 40), float)
    np.testing.assert_allclose(ellipsoid_formula_ml([50.0, 40.0], 35.0, 40.0),
                               [50 * 35 * 40 * math.pi / 6000, 40 * 35 * 40 * math.pi / 6000])
    assert ellipsoid_formula_ml(0.0, 35.0, 40.0) == 0.0
    # a negative or missing diameter gave a negative or NaN volume, and a PSA density from it
    with pytest.raises(ValueError, match="ap_mm must be a length in mm"):
        ellipsoid_formula_ml(50.0, -35.0, 40.0)
    with pytest.raises(ValueError, match="cc_mm must be a length in mm"):
        ellipsoid_formula_ml(50.0, 35.0, float("inf"))
    with pytest.raises(ValueError, match="transverse_mm contains NaN"):
        ellipsoid_formula_ml(float("nan"), 35.0, 40.0)
    with pytest.raises(TypeError, match="transverse_mm must be a number"):
        ellipsoid_formula_ml("fifty", 35.0, 40.0)


def test_bland_altman_known_numbers():
    ref = [10.0, 20.0, 30.0, 40.0]
    meas = [12.0, 21.0, 33.0, 42.0]  # differences 2, 1, 3, 2
    ba = bland_altman(ref, meas)
    assert ba.bias == pytest.approx(2.0)
    sd = math.sqrt((0 + 1 + 1 + 0) / 3)
    assert ba.sd == pytest.approx(sd)
    assert ba.lower == pytest.approx(2.0 - 1.96 * sd)
    assert ba.upper == pytest.approx(2.0 + 1.96 * sd)
    np.testing.assert_allclose(ba.means, [11.0, 20.5, 31.5, 41.0])
    np.testing.assert_allclose(ba.differences, [2.0, 1.0, 3.0, 2.0])


def test_bland_altman_percent_and_errors():
    ba = bland_altman([10.0, 30.0], [30.0, 10.0], percent=True)
    np.testing.assert_allclose(ba.differences, [100.0, -100.0])
    assert ba.bias == pytest.approx(0.0)
    assert ba.sd == pytest.approx(math.sqrt(2) * 100.0)
    with pytest.raises(ValueError, match="length"):
        bland_altman([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="2 pairs"):
        bland_altman([1.0], [1.0])


def test_slice_areas_add_up_to_the_volume():
    mask = np.zeros((20, 20, 6), bool)
    mask[5:15, 4:12, 1:5] = True
    mask[8:10, 8:10, 5] = True
    spacing = (0.7, 0.6, 3.6)
    areas = slice_areas_cm2(mask, spacing)
    assert areas.shape == (6,) and areas[0] == 0.0
    assert areas[1] == pytest.approx(10 * 8 * 0.7 * 0.6 / 100)
    assert areas.sum() * spacing[2] / 10 == pytest.approx(volume_ml(mask, spacing))  # cm2 x cm = mL
    with pytest.raises(ValueError, match="3D mask"):
        slice_areas_cm2(mask[:, :, 0], spacing[:2])
