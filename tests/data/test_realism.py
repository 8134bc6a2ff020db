"""medseg_edu.data.realism: appearance histograms, their distance, the domain classifier."""

from __future__ import annotations

import numpy as np
import pytest

from medseg_edu.data import prostate_phantom, realism


@pytest.fixture(scope="module")
def phantoms():
    # small fields of view keep the test fast; 6 phantoms v1, 0.4 s each at most
    return [prostate_phantom(seed, shape=(200, 200, 16), spacing=(0.75, 0.75, 3.6)) for seed in range(6)]


@pytest.fixture(scope="module")
def noise_scans(phantoms):
    rng = np.random.default_rng(5)
    return [(rng.normal(100.0, 20.0, p.image.shape).astype(np.float32), p.spacing) for p in phantoms[:3]]


def test_histograms_are_normalised_and_on_fixed_edges(phantoms):
    h = realism.appearance_histograms(phantoms[0].image, phantoms[0].spacing)
    assert h.intensity.shape == (len(h.intensity_edges) - 1,)
    assert h.gradient.shape == (len(h.gradient_edges) - 1,)
    assert np.isclose(h.intensity.sum(), 1.0) and np.isclose(h.gradient.sum(), 1.0)
    assert (h.intensity >= 0).all() and (h.gradient >= 0).all()
    grid_pixels = realism.GRID ** 2 * phantoms[0].image.shape[2]
    assert 0.3 * grid_pixels < h.pixels <= grid_pixels    # the body fills most of the 120 mm square


def test_accepts_volumes_cases_and_pairs(phantoms):
    from medseg_edu.io import Volume

    p = phantoms[0]
    as_volume = Volume(p.image, p.spacing, p.affine)
    a = realism.appearance_histograms(*realism._image_and_spacing(as_volume))
    b = realism.appearance_histograms(*realism._image_and_spacing(p))
    c = realism.appearance_histograms(*realism._image_and_spacing((p.image, p.spacing)))
    assert np.array_equal(a.intensity, b.intensity) and np.array_equal(b.gradient, c.gradient)
    with pytest.raises(TypeError, match="Volume, a Case or an"):
        realism._image_and_spacing(42)


def test_distance_of_identical_histograms_is_zero(phantoms):
    h = realism.appearance_histograms(phantoms[0].image, phantoms[0].spacing)
    d = realism.histogram_distance(h, h)
    assert d.intensity == 0.0 and d.gradient == 0.0


def test_distance_is_the_earth_movers_distance():
    edges = np.arange(5.0)                      # four bins of width 1
    assert realism.histogram_distance([1, 0, 0, 0], [0, 0, 0, 1], edges) == pytest.approx(3.0)
    assert realism.histogram_distance([2, 0, 0, 0], [0, 1, 0, 0], edges) == pytest.approx(1.0)   # shares
    assert realism.histogram_distance([1, 1, 0, 0], [0, 1, 1, 0], edges) == pytest.approx(1.0)
    a, b = [0.1, 0.4, 0.3, 0.2], [0.3, 0.3, 0.2, 0.2]
    assert realism.histogram_distance(a, b, edges) == pytest.approx(realism.histogram_distance(b, a, edges))
    with pytest.raises(TypeError, match="edges"):
        realism.histogram_distance(a, b)
    with pytest.raises(ValueError, match="n bins and n \\+ 1 edges"):
        realism.histogram_distance(a, b, edges[:-1])


def test_noise_is_far_from_a_phantom(phantoms, noise_scans):
    h_p = realism.mean_histograms([realism.appearance_histograms(p.image, p.spacing) for p in phantoms[:3]])
    h_q = realism.mean_histograms([realism.appearance_histograms(p.image, p.spacing) for p in phantoms[3:]])
    h_n = realism.mean_histograms([realism.appearance_histograms(*n) for n in noise_scans])
    same, far = realism.histogram_distance(h_p, h_q), realism.histogram_distance(h_p, h_n)
    assert far.gradient > 5 * same.gradient
    assert far.intensity > same.intensity


def test_identical_groups_are_indistinguishable(phantoms):
    acc = realism.domain_classifier_accuracy(phantoms[:3], phantoms[:3], seed=0)
    assert acc == pytest.approx(0.5, abs=0.05)


def test_phantoms_of_one_kind_are_not_told_apart(phantoms):
    acc = realism.domain_classifier_accuracy(phantoms[:3], phantoms[3:], seed=0)
    assert acc < 0.75       # same generator, other seeds: at most chance plus scan-to-scan scatter


def test_noise_is_told_apart_from_phantoms(phantoms, noise_scans):
    acc = realism.domain_classifier_accuracy(noise_scans, phantoms[:3], seed=0)
    assert acc > 0.9


def test_classifier_is_seeded(phantoms, noise_scans):
    a = realism.domain_classifier_accuracy(noise_scans, phantoms[3:], seed=3, patches_per_volume=16)
    b = realism.domain_classifier_accuracy(noise_scans, phantoms[3:], seed=3, patches_per_volume=16)
    assert a == b


def test_patch_features_shape_and_names():
    rng = np.random.default_rng(0)
    f = realism.patch_features(rng.random((5, 32, 32)))
    assert f.shape == (5, len(realism.FEATURE_NAMES)) and np.isfinite(f).all()
    smooth = np.tile(np.linspace(0, 1, 32), (1, 32, 1))
    assert realism.patch_features(smooth)[0, realism.FEATURE_NAMES.index("autocorrelation lag 1")] > 0.9
    with pytest.raises(ValueError, match="patches must be"):
        realism.patch_features(rng.random((5, 32, 31)))


@pytest.mark.parametrize("kwargs, message", [
    ({"patch": 4}, "patch must be"),
    ({"folds": 7}, "folds must be"),
])
def test_classifier_refuses_bad_arguments(phantoms, kwargs, message):
    with pytest.raises(ValueError, match=message):
        realism.domain_classifier_accuracy(phantoms[:3], phantoms[3:], **kwargs)


def test_classifier_needs_two_scans_per_group(phantoms):
    with pytest.raises(ValueError, match="at least two scans"):
        realism.domain_classifier_accuracy(phantoms[:1], phantoms[3:])


def test_empty_image_has_no_body():
    with pytest.raises(ValueError, match="no body pixel"):
        realism.appearance_histograms(np.zeros((64, 64, 4), np.float32), (1.0, 1.0, 3.0))
