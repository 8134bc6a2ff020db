"""Agreement and repeatability statistics (medseg_edu.agreement) and the calibration helpers (metrics).

Analytic cases: synthetic test-retest pairs with a known within-subject SD, proportional
scatter with a known CV, intervals with a known coverage, probabilities with a known
calibration error.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from medseg_edu import agreement, metrics, volumetry


def pairs(n, wsd, *, seed=0, proportional=False):
    """n subjects (true values 20-120) scanned twice, errors of SD ``wsd`` (or ``wsd`` x the true value)."""
    rng = np.random.default_rng(seed)
    true = rng.uniform(20, 120, n)[:, None]
    return true + rng.normal(0, 1, (n, 2)) * (wsd * true if proportional else wsd)


def test_rc_of_pairs_with_known_within_subject_sd():
    for wsd, seed in ((1.5, 1), (4.0, 2), (0.3, 3)):
        r = agreement.repeatability(pairs(400, wsd, seed=seed))
        assert r.within_sd == pytest.approx(wsd, rel=0.1)
        assert r.rc == pytest.approx(2.77 * wsd, rel=0.1)
        assert r.rc == pytest.approx(agreement.RC_FACTOR * r.within_sd)
        assert r.within_sd_ci[0] < r.within_sd < r.within_sd_ci[1]


def test_rc_is_not_the_sd_of_the_differences():
    x = pairs(2000, 2.0, seed=4)
    sd_diff = np.std(x[:, 1] - x[:, 0], ddof=1)
    assert sd_diff == pytest.approx(math.sqrt(2) * 2.0, rel=0.05)      # the difference scatters sqrt(2) x more
    assert agreement.within_subject_sd(x) == pytest.approx(sd_diff / math.sqrt(2), rel=0.05)
    assert agreement.repeatability_coefficient(x) == pytest.approx(1.96 * sd_diff, rel=0.05)


def test_two_scans_formula_and_more_repeats():
    x = np.array([[10.0, 12.0], [20.0, 17.0], [30.0, 30.5]])
    d = x[:, 1] - x[:, 0]
    assert agreement.within_subject_sd(x) == pytest.approx(np.sqrt(np.sum(d ** 2) / (2 * len(d))))
    rng = np.random.default_rng(5)
    three = rng.uniform(20, 120, 300)[:, None] + rng.normal(0, 1.5, (300, 3))   # three scans each
    r = agreement.repeatability(three)
    assert (r.n_subjects, r.n_repeats) == (300, 3)
    assert r.within_sd == pytest.approx(1.5, rel=0.1)


def test_within_subject_cv_of_proportional_scatter():
    x = pairs(1000, 0.04, seed=7, proportional=True)
    assert agreement.within_subject_cv(x) == pytest.approx(4.0, rel=0.1)
    r = agreement.repeatability(x)
    assert r.rc_percent == pytest.approx(2.77 * 4.0, rel=0.1)
    assert r.rc_percent_ci[0] < r.rc_percent < r.rc_percent_ci[1]


def test_confidence_interval_of_rc_covers_about_95_percent():
    hits = 0
    for seed in range(300):
        r = agreement.repeatability(pairs(10, 2.0, seed=100 + seed))
        hits += r.rc_ci[0] <= 2.0 * agreement.RC_FACTOR <= r.rc_ci[1]
    assert 0.91 <= hits / 300 <= 0.99
    r = agreement.repeatability(pairs(10, 2.0, seed=1))
    low, high = (v / r.rc for v in r.rc_ci)
    assert low == pytest.approx(0.70, abs=0.02) and high == pytest.approx(1.75, abs=0.05)   # as documented


def test_repeatability_refuses_bad_tables():
    with pytest.raises(ValueError, match="one row per subject"):
        agreement.repeatability([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=">= 2 subjects"):
        agreement.within_subject_sd([[1.0, 2.0]])
    with pytest.raises(ValueError, match="NaN"):
        agreement.within_subject_sd([[1.0, np.nan], [2.0, 3.0]])
    with pytest.raises(ValueError, match="positive mean"):
        agreement.within_subject_cv([[1.0, -2.0], [2.0, 3.0]])
    with pytest.raises(ValueError, match="level"):
        agreement.repeatability([[1.0, 2.0], [2.0, 3.0]], level=95)


def test_old_homes_still_work():
    assert volumetry.bland_altman is agreement.bland_altman
    assert volumetry.BlandAltman is agreement.BlandAltman
    assert metrics.intraclass_correlation is agreement.intraclass_correlation


def test_interval_coverage_counts_ends_and_gives_an_exact_ci():
    c = agreement.interval_coverage([1, 2, 3, 4], [2, 3, 4, 5], [2, 2, 5, 4.5])
    assert (c.hits, c.n, c.fraction) == (3, 4, 0.75)
    assert c.ci[0] < 0.75 < c.ci[1]
    rng = np.random.default_rng(8)
    truth = rng.normal(0, 1, 4000)
    c = agreement.interval_coverage(np.full(4000, -1.645), np.full(4000, 1.645), truth)
    assert c.fraction == pytest.approx(0.90, abs=0.02)
    with pytest.raises(ValueError, match="upper < lower"):
        agreement.interval_coverage([2], [1], [1.5])
    with pytest.raises(ValueError, match="same, non-zero length"):
        agreement.interval_coverage([1, 2], [2, 3], [1])


def test_width_factor_restores_coverage_of_too_narrow_intervals():
    rng = np.random.default_rng(9)
    def batch(n):
        centre = rng.uniform(20, 100, n)
        truth = centre + rng.normal(0, 3.0, n)              # errors of SD 3 ...
        return centre, centre - 1.0, centre + 1.0, truth   # ... but intervals of +-1 (like +-0.33 SD)
    calibration, test = batch(200), batch(4000)
    raw = agreement.interval_coverage(*test[1:3], test[3])
    assert raw.fraction < 0.4
    factor = agreement.width_factor(*calibration, level=0.9)
    assert factor == pytest.approx(1.645 * 3.0, rel=0.15)
    centre, lower, upper, truth = test
    widened = agreement.interval_coverage(centre - factor * (centre - lower), centre + factor * (upper - centre), truth)
    assert widened.fraction == pytest.approx(0.9, abs=0.03)
    assert agreement.width_factor([1, 2], [0, 1], [2, 3], [1, 2], level=0.9) == math.inf   # too few cases


def test_reliability_of_calibrated_and_overconfident_probabilities():
    rng = np.random.default_rng(10)
    p = rng.uniform(0, 1, 200_000)
    truth = rng.uniform(0, 1, p.size) < p                    # calibrated by construction
    assert metrics.expected_calibration_error(p, truth) < 0.01
    curve = metrics.reliability_curve(p, truth)
    assert np.allclose(curve.frequency, curve.confidence, atol=0.02)
    assert curve.counts.sum() == p.size and len(curve.edges) == 11
    squashed = p ** 2                                         # says p^2 where the truth is p: E|p - p^2| = 1/6
    assert metrics.expected_calibration_error(squashed, truth) == pytest.approx(1 / 6, abs=0.01)


def test_reliability_where_and_errors():
    p = np.array([[0.0, 0.2], [0.9, 1.0]])
    truth = np.array([[0, 0], [1, 1]])
    curve = metrics.reliability_curve(p, truth, n_bins=5, where=p > 0.1)
    assert curve.counts.tolist() == [0, 1, 0, 0, 2]          # 1.0 falls in the last bin
    assert np.isnan(curve.frequency[0])
    with pytest.raises(ValueError, match="between 0 and 1"):
        metrics.expected_calibration_error([1.2], [1])
    with pytest.raises(ValueError, match="same shape"):
        metrics.reliability_curve([0.5, 0.5], [1])
    with pytest.raises(ValueError, match="empty"):
        metrics.reliability_curve(p, truth, where=np.zeros_like(p, bool))


def test_reliability_in_chunks_equals_one_pass():
    rng = np.random.default_rng(11)
    p = rng.uniform(0, 1, 2_500_001).astype(np.float32)      # more than two chunks, float32 as the networks give
    truth = rng.uniform(0, 1, p.size) < p
    curve = metrics.reliability_curve(p, truth, n_bins=7)
    index = np.clip(np.digitize(p.astype(float), curve.edges[1:-1]), 0, 6)
    assert curve.counts.tolist() == np.bincount(index, minlength=7).tolist()
    expected = np.bincount(index, weights=truth.astype(float), minlength=7) / curve.counts
    assert np.allclose(curve.frequency, expected)


# --------------------------------------------------------------------------- paired differences, pooled Dice
def test_paired_difference_interval_covers_a_known_shift_and_counts_wins():
    from medseg_edu.agreement import paired_difference

    rng = np.random.default_rng(3)
    case_difficulty = rng.uniform(0.6, 0.95, 30)           # large spread between cases
    a = case_difficulty + 0.02 + rng.normal(0, 0.005, 30)  # a is better by 0.02 on every case
    d = paired_difference(a, case_difficulty, seed=1)
    assert d.lower < 0.02 < d.upper and d.excludes_zero
    assert d.a_better == 30 and d.b_better == 0 and d.n == 30
    assert d.upper - d.lower < 0.01, "pairing removes the spread between cases"
    again = paired_difference(a, case_difficulty, seed=1)
    assert (again.lower, again.upper) == (d.lower, d.upper), "the seed fixes the interval"
    same = paired_difference([0.8, 0.9, 0.7, 0.85], [0.81, 0.88, 0.71, 0.85])
    assert not same.excludes_zero and same.a_better == 1 and same.b_better == 2


def test_paired_difference_refuses_bad_input():
    from medseg_edu.agreement import paired_difference

    with pytest.raises(ValueError, match="same cases"):
        paired_difference([0.9, 0.8, 0.7], [0.9, 0.8])
    with pytest.raises(ValueError, match="at least 3"):
        paired_difference([0.9, 0.8], [0.9, 0.8])
    with pytest.raises(ValueError, match="level"):
        paired_difference([0.9, 0.8, 0.7], [0.9, 0.8, 0.6], level=95)
    with pytest.raises(ValueError, match="NaN"):
        paired_difference([0.9, np.nan, 0.7], [0.9, 0.8, 0.6])


def test_pooled_dice_equals_dice_of_the_pooled_masks_and_weights_large_cases():
    from medseg_edu.metrics import dice, pooled_dice

    rng = np.random.default_rng(0)
    truths, preds = [], []
    for size in (6, 20, 40):                                 # a small, a middle and a large structure
        truth = np.zeros((60, 60), bool)
        truth[5:5 + size, 5:5 + size] = True
        pred = np.roll(truth, 2, axis=0)                     # the same 2-pixel shift on every case
        truths.append(truth); preds.append(pred)
    per_case = [dice(t, p) for t, p in zip(truths, preds)]
    pooled = pooled_dice(per_case, [t.sum() for t in truths], [p.sum() for p in preds])
    assert pooled == pytest.approx(dice(np.stack(truths), np.stack(preds)))
    assert per_case[0] < per_case[1] < per_case[2], "a fixed shift costs a small structure more Dice"
    assert pooled > np.mean(per_case)
    with pytest.raises(ValueError):
        pooled_dice([0.5, 1.2], [1, 1], [1, 1])
    with pytest.raises(ValueError):
        pooled_dice([0.5], [0], [0])


def test_spread_is_the_range_over_the_mean():
    assert agreement.spread_percent([20.0, 30.0]) == pytest.approx(40.0)
    assert agreement.spread_percent([34.1, 23.6, 11.6]) == pytest.approx(100 * 22.5 / 23.1, rel=1e-3)
    assert agreement.spread_percent([0.0, 0.0]) == 0.0 and agreement.spread_percent([5, 5, 5]) == 0.0


@pytest.mark.parametrize("values", [[1.0], [], [1.0, float("nan")], [2.0, -1.0]])
def test_spread_refuses_what_is_not_two_volumes(values):
    with pytest.raises(ValueError, match="at least two finite, non-negative"):
        agreement.spread_percent(values)
