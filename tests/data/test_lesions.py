"""Phantom lesions, lymph nodes, growth series and simulated readers (medseg_edu.data.lesions / .readers)."""

from __future__ import annotations

import numpy as np
import pytest

from medseg_edu import volumetry
from medseg_edu.data import (LESION_SHAPES, Reader, growth_series, lesion, lymph_node, node_category,
                             phantom_with_findings, prostate_phantom, reader_panel, volume_response)
from medseg_edu.data.lesions import VOLUME_PD_INCREASE, VOLUME_PR_DECREASE
from medseg_edu.metrics import intraclass_correlation

SPACING = (0.625, 0.625, 3.6)


@pytest.mark.parametrize("shape", LESION_SHAPES)
@pytest.mark.parametrize("volume", [0.3, 1.0, 4.0])
def test_lesion_has_the_requested_volume_on_its_grid(shape, volume):
    found = lesion(volume, shape, spacing=SPACING, seed=2)
    assert found.mask.dtype == bool and found.kind == "lesion" and found.shape == shape
    assert found.volume_ml == pytest.approx(volume, rel=0.03 if shape != "infiltrative" else 0.12)
    assert found.volume_ml == pytest.approx(found.mask.sum() * np.prod(SPACING) / 1000)
    assert found.longest_diameter_mm == volumetry.longest_diameter_mm(found.mask, SPACING)
    assert found.short_axis_mm <= found.longest_diameter_mm + 1e-9


def test_lesions_are_deterministic_by_seed():
    a, b, c = (lesion(1.0, "infiltrative", seed=s) for s in (4, 4, 5))
    assert np.array_equal(a.mask, b.mask)
    assert not (a.mask.shape == c.mask.shape and np.array_equal(a.mask, c.mask))


def test_sphere_measures_as_a_sphere_and_infiltrative_is_longer():
    volume = 2.0
    sphere, irregular = lesion(volume, "spherical", seed=0), lesion(volume, "infiltrative", seed=0)
    # pixel corners count: a sphere measures within ~1.5 pixel of its equivalent diameter
    assert sphere.longest_diameter_mm == pytest.approx(sphere.sphere_diameter_mm, abs=1.5)
    assert irregular.longest_diameter_mm > 1.4 * irregular.sphere_diameter_mm
    assert irregular.short_axis_mm < 0.6 * irregular.longest_diameter_mm


def test_bad_lesion_arguments():
    with pytest.raises(ValueError, match="shape"):
        lesion(1.0, "cubic")
    with pytest.raises(ValueError, match="volume_ml"):
        lesion(0.0)
    with pytest.raises(ValueError, match="zone"):
        lesion(1.0, zone="cz")
    with pytest.raises(ValueError, match="seed"):
        lesion(1.0, seed=-1)


@pytest.mark.parametrize("short, category", [(6.0, "normal"), (8.0, "normal"), (12.0, "borderline"),
                                             (18.0, "enlarged"), (25.0, "enlarged")])
def test_node_short_axis_and_category(short, category):
    node = lymph_node(short, spacing=SPACING, seed=1)
    assert node.short_axis_mm == pytest.approx(short, abs=0.7)
    assert node.longest_diameter_mm >= node.short_axis_mm
    assert node.name == f"{category} node" and node_category(node.short_axis_mm) == category


def test_node_category_edges():
    assert [node_category(v) for v in (0.0, 9.99, 10.0, 14.99, 15.0)] == [
        "normal", "normal", "borderline", "borderline", "enlarged"]
    with pytest.raises(ValueError):
        node_category(-1.0)
    with pytest.raises(ValueError, match="long_axis_mm"):
        lymph_node(12.0, long_axis_mm=8.0)


def test_volume_response_thresholds_match_a_sphere():
    assert VOLUME_PR_DECREASE == pytest.approx(0.657, abs=1e-3)
    assert VOLUME_PD_INCREASE == pytest.approx(0.728, abs=1e-3)
    d = 20.0
    for factor, expected in ((0.7, "PR"), (0.75, "SD"), (1.2, "PD"), (1.15, "SD")):
        v0, v1 = np.pi * d ** 3 / 6, np.pi * (factor * d) ** 3 / 6
        assert volume_response(v0, v1) == expected
    assert volume_response(3.0, 0.0) == "CR"
    with pytest.raises(ValueError):
        volume_response(0.0, 1.0)


def test_growth_series_has_agreeing_and_disagreeing_cases():
    series = growth_series(0)
    assert len(series) == 5
    agree = [g.recist == g.by_volume for g in series]
    assert agree[0] and agree[1]          # even growth and shrinkage
    assert sum(not a for a in agree) >= 2
    for g in series:
        assert g.baseline.spacing == g.followup.spacing
        assert g.recist == volumetry.recist_response(g.baseline.longest_diameter_mm, g.followup.longest_diameter_mm)
    again = growth_series(0)
    assert all(np.array_equal(a.followup.mask, b.followup.mask) for a, b in zip(series, again))


def test_phantom_with_findings_paints_truth_into_the_scan():
    found = [lesion(0.8, "lobulated", seed=1), lesion(0.5, "spherical", zone="tz", seed=2)]
    nodes = [lymph_node(7.0, seed=1), lymph_node(16.0, seed=2)]
    case, placed = phantom_with_findings(3, found, nodes)
    plain = prostate_phantom(3)
    assert np.array_equal(case.labels, plain.labels)
    assert [p.name for p in placed] == [f.name for f in found + nodes]
    gland = case.labels > 0
    for p in placed[:2]:
        assert p.mask.shape == case.image.shape and p.mask.any()
        assert not (p.mask & ~gland).any()
        assert p.volume_ml <= [f.volume_ml for f in found][placed.index(p)] + 1e-9
    assert (placed[0].mask & (case.labels == 1)).sum() > 0.5 * placed[0].mask.sum()
    assert (placed[1].mask & (case.labels == 2)).sum() > 0.5 * placed[1].mask.sum()
    for p, n in zip(placed[2:], nodes):
        assert not (p.mask & gland).any()
        assert p.volume_ml == pytest.approx(n.volume_ml)
    everything = np.any([p.mask for p in placed], axis=0)
    assert np.array_equal(case.anatomy["lesion"] & everything, everything)
    # painted darker than the fat around the nodes
    fat = case.anatomy["fat"]
    assert case.image[placed[3].mask].mean() < 0.8 * case.image[fat].mean()
    with pytest.raises(ValueError, match="drawn at"):
        phantom_with_findings(3, [lesion(1.0, spacing=(1.0, 1.0, 3.0))])


# ------------------------------------------------------------------ readers

def test_a_perfect_reader_is_the_algorithm():
    perfect = Reader("perfect", 0, bias_mm=0, jitter_mm=0, angle_sd_deg=0, wrong_slice=0, resolution_mm=1e-6)
    for found in (lesion(1.5, "infiltrative", seed=3), lymph_node(12.0, seed=4)):
        assert perfect.diameter_mm(found.mask, found.spacing) == pytest.approx(found.longest_diameter_mm, abs=0.05)
        assert perfect.short_axis_mm(found.mask, found.spacing) == pytest.approx(found.short_axis_mm, abs=0.3)
    gland = prostate_phantom(1).gland
    truth = volumetry.ellipsoid_diameters(gland, SPACING)
    got = perfect.ellipsoid(gland, SPACING)
    assert (got.transverse_mm, got.ap_mm, got.cc_mm) == pytest.approx((truth.transverse_mm, truth.ap_mm, truth.cc_mm),
                                                                      abs=1e-3)
    assert got.volume_ml == pytest.approx(volumetry.ellipsoid_volume_ml(gland, SPACING), rel=1e-4)


def test_readers_are_reproducible_vary_between_sessions_and_round_to_mm():
    found = lesion(1.5, "lobulated", seed=3)
    reader = reader_panel(3, seed=0)[0]
    first = [reader.diameter_mm(found.mask, found.spacing, session=s) for s in range(12)]
    again = [reader.diameter_mm(found.mask, found.spacing, session=s) for s in range(12)]
    assert first == again
    assert len(set(first)) > 1                       # within-reader variability
    assert all(v == round(v) for v in first)         # read to the millimetre
    assert reader_panel(3, seed=0) == reader_panel(3, seed=0) != reader_panel(3, seed=1)


def test_reader_bias_shows_in_the_mean():
    found = lymph_node(14.0, seed=5)
    generous = Reader("generous", 1, bias_mm=1.0, jitter_mm=0.5, angle_sd_deg=0, wrong_slice=0)
    tight = Reader("tight", 2, bias_mm=-1.0, jitter_mm=0.5, angle_sd_deg=0, wrong_slice=0)
    mean = lambda r: np.mean([r.diameter_mm(found.mask, found.spacing, session=s) for s in range(60)])
    assert mean(generous) == pytest.approx(found.longest_diameter_mm + 2.0, abs=0.6)
    assert mean(tight) == pytest.approx(found.longest_diameter_mm - 2.0, abs=0.6)


def test_reader_empty_mask_and_bad_habits():
    reader = reader_panel(1)[0]
    empty = np.zeros((8, 8, 3), bool)
    assert reader.diameter_mm(empty, SPACING) == 0.0 and reader.ellipsoid(empty, SPACING).volume_ml == 0.0
    with pytest.raises(ValueError):
        Reader("x", 0, wrong_slice=1.5)
    with pytest.raises(ValueError, match="3D"):
        reader.diameter_mm(np.ones((4, 4), bool), SPACING)


# ------------------------------------------------------------------ ICC

def test_icc_hand_computed():
    # rows = cases, columns = readers. Grand mean 13/3; MSR = 37/6, MSC = 2/3, MSE = 1/6:
    # ICC(A,1) = (37/6 - 1/6) / (37/6 + 1/6 + 2 (2/3 - 1/6) / 3) = 6 / (20/3) = 0.9; ICC(C,1) = 6 / (19/3) = 18/19
    table = [[2, 3], [4, 5], [6, 6]]
    assert intraclass_correlation(table) == pytest.approx(0.9)
    assert intraclass_correlation(table, form="consistency") == pytest.approx(18 / 19)


def test_icc_shrout_fleiss_example():
    # Shrout & Fleiss (1979), Table 2: ICC(2,1) = 0.29, ICC(3,1) = 0.71
    table = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    assert intraclass_correlation(table) == pytest.approx(0.29, abs=0.005)
    assert intraclass_correlation(table, form="consistency") == pytest.approx(0.71, abs=0.005)


def test_icc_offset_lowers_agreement_not_consistency_and_bad_input():
    rng = np.random.default_rng(0)
    truth = rng.uniform(10, 30, 20)
    table = np.stack([truth, truth + 5.0], axis=1)
    assert intraclass_correlation(table, form="consistency") == pytest.approx(1.0)
    assert intraclass_correlation(table) < 0.9
    with pytest.raises(ValueError):
        intraclass_correlation([[1, 2, 3]])
    with pytest.raises(ValueError):
        intraclass_correlation([[1, np.nan], [2, 3]])
    with pytest.raises(ValueError, match="form"):
        intraclass_correlation(table, form="two-way")
