"""Checkers for notebook 12 (how far to trust a volume)."""

from __future__ import annotations

import numpy as np

from .. import agreement
from . import ExerciseFailed, exercise


def _test_retest_sets():
    """Fresh paired volumes (mL) with a known scatter; the mean scan-rescan difference is exactly 0."""
    rng = np.random.default_rng(1212)
    sets = []
    for n, sd in ((40, 1.5), (50, 4.0), (60, 0.6), (45, 2.5)):   # n >= 40: ddof 0 or 1 differ by < 1.3 %
        true = rng.uniform(20.0, 120.0, n)
        scan = true + rng.normal(0.0, sd, n)
        error = rng.normal(0.0, sd, n)
        error -= error.mean() - (scan - true).mean()   # no systematic change between the sessions
        sets.append((np.round(scan, 2), np.round(true + error, 2)))
    return sets


def _answer(function, *arguments, what):
    """Call the learner's function on copies (it may change its inputs) and return a float."""
    got = function(*(np.array(a, copy=True) for a in arguments))
    if got is None:
        raise ExerciseFailed(f"your function returned None: return {what}")
    try:
        return float(got)
    except (TypeError, ValueError):
        raise ExerciseFailed(f"return one number ({what}), you returned {type(got).__name__} {got!r}") from None


@exercise("12.repeatability_coefficient")
def _repeatability_coefficient(repeatability_coefficient):
    for scan, rescan in _test_retest_sets():
        expected = agreement.repeatability_coefficient(np.column_stack([scan, rescan]))
        got = _answer(repeatability_coefficient, scan, rescan, what="the repeatability coefficient in mL")
        if np.isclose(got, expected, rtol=0.02):          # ddof and 2.77 vs 1.96 x sqrt(2) differ by ~1 %
            continue
        ratio = got / expected if expected else np.inf
        sd_of_differences = float(np.std(rescan - scan, ddof=1))
        if np.isclose(ratio, np.sqrt(2.0), rtol=0.03):
            raise ExerciseFailed(
                f"your RC is sqrt(2) = 1.41 times too large ({got:.3f} mL instead of about {expected:.3f}). "
                f"The SD of the differences ({sd_of_differences:.3f} mL) is not the within-subject SD: each "
                "difference carries the error of two scans, so SD(differences) = sqrt(2) x wSD. Divide it by "
                "sqrt(2) before multiplying by 2.77 - or, the same thing, take 1.96 x SD(differences).")
        if np.isclose(ratio, 1.0 / 2.77, rtol=0.03):
            raise ExerciseFailed(f"{got:.3f} mL is the within-subject SD itself: the RC is 2.77 x wSD")
        if np.isclose(ratio, 1.0 / np.sqrt(2.0), rtol=0.03):
            raise ExerciseFailed("your number is 1.96 x wSD: the difference of two scans scatters sqrt(2) times "
                                 "more than one scan, so the RC is 1.96 x sqrt(2) x wSD = 2.77 x wSD")
        raise ExerciseFailed(f"for {len(scan)} patients scanned twice the RC is {expected:.3f} mL "
                             f"(wSD = sqrt(sum(d**2) / (2 n)), RC = 2.77 x wSD), you gave {got:.3f}")
    return "RC = 2.77 x wSD: two scans of one unchanged patient differ by less than this 19 times in 20."


def _coverage_sets():
    """(lower, upper, truth) sets; in every one some truths lie exactly on an end of their interval."""
    rng = np.random.default_rng(1213)
    sets = [(np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 3.0, 4.0, 5.0]), np.array([2.0, 2.5, 5.0, 4.0]))]

    def on_grid(values):
        # multiples of 1/1024: sums, differences and halves of these are exact in floating point, so a
        # truth on an end stays on it in the usual rearrangements (truth - lower >= 0, |truth - centre| <= half)
        return np.round(np.asarray(values) * 1024) / 1024

    for n in (20, 37):
        centre, half = on_grid(rng.uniform(20, 100, n)), on_grid(rng.uniform(1, 6, n))
        lower, upper = centre - half, centre + half
        truth = on_grid(centre + rng.normal(0, 4, n))
        truth[:3] = lower[:3]                             # three truths exactly on a lower end
        truth[3] = upper[3]                               # and one on an upper end
        sets.append((lower, upper, truth))
    return sets


@exercise("12.coverage")
def _coverage(coverage):
    for lower, upper, truth in _coverage_sets():
        expected = agreement.interval_coverage(lower, upper, truth)
        got = _answer(coverage, lower, upper, truth, what="the share of intervals holding the truth (0-1)")
        if np.isclose(got, expected.fraction):
            continue
        inside_open = np.mean((lower < truth) & (truth < upper))
        if np.isclose(got, expected.hits):
            raise ExerciseFailed(f"you counted the intervals ({got:g}): return the share, {expected.hits} / "
                                 f"{expected.n} = {expected.fraction:.3f}")
        if np.isclose(got, 100 * expected.fraction):
            raise ExerciseFailed("return a share between 0 and 1, not a percentage")
        if np.isclose(got, inside_open):
            raise ExerciseFailed("an interval's ends belong to it: a truth exactly on lower or upper is covered "
                                 "(use <=)")
        raise ExerciseFailed(f"{expected.hits} of these {expected.n} intervals hold the truth "
                             f"({expected.fraction:.3f}), you gave {got:.3f}")
    return "coverage is a share of cases: a 90 % interval should hold the truth in about 9 of 10."
