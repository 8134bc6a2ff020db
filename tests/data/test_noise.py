"""medseg_edu.data.noise, and pins that keep generated data identical for a given seed.

The pins compare against numbers recorded before the smooth-noise and Rician
code of render, deform, brain and phantom moved into ``data/noise.py``. A
change in the order or kind of random draws changes these numbers by far more
than the tolerances, which only leave room for last-bit differences between
CPUs and BLAS builds.
"""

from __future__ import annotations

import numpy as np
import pytest

from medseg_edu.data import brain_scan, mni_brain, prostate_phantom, random_displacement
from medseg_edu.data.noise import rician_noise, smooth_fields, smooth_noise


def test_smooth_noise_is_a_unit_sd_float32_field():
    field = smooth_noise((30, 20, 7), (0.6, 0.6, 3.6), 6.0, np.random.default_rng(3))
    assert field.shape == (30, 20, 7) and field.dtype == np.float32
    assert abs(float(field.mean())) < 1e-5 and float(field.std()) == pytest.approx(1.0, abs=1e-5)
    again = smooth_noise((30, 20, 7), (0.6, 0.6, 3.6), 6.0, np.random.default_rng(3))
    assert np.array_equal(field, again)


def test_smooth_fields_are_independent_float64_fields():
    a, b = smooth_fields((16, 12, 5), (1.0, 1.0, 3.0), 8.0, np.random.default_rng(0), 2)
    assert a.shape == b.shape == (16, 12, 5) and a.dtype == np.float64 and not np.allclose(a, b)
    (first,) = smooth_fields((16, 12, 5), (1.0, 1.0, 3.0), 8.0, np.random.default_rng(0))
    assert np.array_equal(first, a)   # fields are drawn one after the other from the same stream


def test_rician_noise():
    image = np.full((200, 200), 100.0, np.float32)
    noisy = rician_noise(image, 5.0, np.random.default_rng(1))
    assert noisy.dtype == np.float32 and np.all(noisy >= 0)
    assert float(noisy.mean()) == pytest.approx(100.0, abs=0.5) and float(noisy.std()) == pytest.approx(5.0, rel=0.05)
    dark = rician_noise(np.zeros((200, 200)), 5.0, np.random.default_rng(1))
    assert dark.dtype == np.float64
    assert float(dark.mean()) == pytest.approx(5.0 * np.sqrt(np.pi / 2), rel=0.02)   # the Rayleigh floor
    assert np.array_equal(rician_noise(image - 200, 0.0, np.random.default_rng(1)), np.abs(image - 200))


def _probe(array, points):
    return [float(array[p]) for p in points]


def test_prostate_phantom_is_unchanged_for_seed_3():
    case = prostate_phantom(3, shape=(64, 64, 12))
    expected_labels = [36424, 5703, 7025]
    expected_tissue = [0, 5690, 6931, 0, 14828, 0, 0, 0, 4476, 1502, 4340, 8992, 0, 1, 1869, 416, 95, 12]
    assert np.abs(np.bincount(case.labels.ravel()) - expected_labels).max() <= 2
    assert np.abs(np.bincount(case.meta["tissue"].ravel(), minlength=18) - expected_tissue).max() <= 2
    image = case.image.astype(np.float64)
    assert image.mean() == pytest.approx(392.9950949961779, rel=1e-5)
    assert image.std() == pytest.approx(246.36075199403788, rel=1e-5)
    assert _probe(case.image, [(0, 0, 0), (32, 32, 6), (10, 50, 3), (63, 1, 11)]) == pytest.approx(
        [455.60009765625, 501.93255615234375, 289.0684814453125, 12.434221267700195], rel=1e-5)


def test_brain_scan_is_unchanged_for_seed_2():
    scan = brain_scan(mni_brain(), seed=2, noise=0.03, bias=0.1).array
    assert scan.dtype == np.float32
    values = scan.astype(np.float64)
    assert values.mean() == pytest.approx(43.448998358577484, rel=1e-5)
    assert values.std() == pytest.approx(68.2714714741404, rel=1e-5)
    assert _probe(scan, [(0, 0, 0), (49, 58, 47), (30, 70, 40), (60, 40, 20)]) == pytest.approx(
        [5.022620677947998, 185.395263671875, 165.9739990234375, 205.93414306640625], rel=1e-5)


def test_random_displacement_is_unchanged_for_seed_4():
    d = random_displacement((20, 24, 6), (0.6, 0.6, 3.6), seed=4).astype(np.float64)
    assert d.mean() == pytest.approx(1.2845313422381879, rel=1e-5)
    assert np.abs(d).sum() == pytest.approx(29675.02552008629, rel=1e-5)
    assert float(d[0, 3, 4, 2]) == pytest.approx(-3.0699024200439453, rel=1e-5)
