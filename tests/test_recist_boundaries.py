"""RECIST 1.1 responses exactly on a threshold, and the exercise checker's float formulations.

A sum exactly 30 % below the baseline is a partial response, one exactly 20 % (and at least 5 mm)
above the nadir is progression. In floating point ``0.7 * 11`` is 7.699999999999999, ``16.4 - 11.4``
is 4.999999999999998 and ``60 / 50 - 1`` is 0.19999999999999996, so a comparison taken literally
puts such sums on the wrong side of the line; ``recist_response`` compares with a tolerance, and the
checker of notebook 11's exercise accepts a learner's correct rule written with a division.

The same notebook's sphere exercise (``11.sphere_volume_change``) prints its answers to one
decimal (-65.7 %), so its checker accepts an answer rounded to one decimal.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from medseg_edu.exercises import check
from medseg_edu.recist import recist_response


def _decimal_multiples(factor: Fraction):
    """(sum, factor * sum) for sums 10.0-200.0 mm in 0.1 mm steps whose product has at most 2 decimals."""
    for tenths in range(100, 2001):
        value = Fraction(tenths, 10)
        product = factor * value
        if (product * 100).denominator == 1:
            yield float(value), float(product)


@pytest.mark.parametrize("baseline, followup, nadir, expected", [
    (11, 7.7, None, "PR"),        # exactly -30 %: 0.7 * 11 is 7.699999999999999
    (12, 8.4, None, "PR"),
    (36.2, 43.44, None, "PD"),    # exactly +20 % (and 7.24 mm): 1.2 * 36.2 is 43.440000000000005
    (11.4, 16.4, None, "PD"),     # exactly +5 mm (+44 %): 16.4 - 11.4 is 4.999999999999998
    (40, 36, 30, "PD"),           # exactly +20 % over the nadir, 6 mm
    (50, 35, None, "PR"), (50, 60, None, "PD"),
])
def test_a_sum_exactly_on_a_threshold_reaches_it(baseline, followup, nadir, expected):
    assert recist_response(baseline, followup, nadir) == expected


@pytest.mark.parametrize("baseline, followup, nadir, expected", [
    (11, 7.71, None, "SD"), (50, 35.01, None, "SD"),       # 0.01 mm short of -30 %
    (50, 59.99, None, "SD"), (40, 35.99, 30, "SD"),        # 0.01 mm short of +20 %
    (11.4, 16.39, None, "SD"),                             # 0.01 mm short of +5 mm
])
def test_a_hundredth_of_a_millimetre_short_of_a_threshold_does_not_reach_it(baseline, followup, nadir, expected):
    assert recist_response(baseline, followup, nadir) == expected


def test_every_exact_minus_30_percent_is_a_partial_response():
    wrong = [(b, f) for b, f in _decimal_multiples(Fraction(7, 10)) if recist_response(b, f) != "PR"]
    assert not wrong, f"{len(wrong)} sums exactly 30 % below the baseline are not PR, e.g. {wrong[:3]}"


def test_every_exact_plus_20_percent_of_at_least_5_mm_is_progression():
    wrong = [(n, f) for n, f in _decimal_multiples(Fraction(6, 5))
             if f - n >= 5 - 1e-9 and recist_response(n, f) != "PD"]
    assert not wrong, f"{len(wrong)} sums exactly 20 % above the nadir are not PD, e.g. {wrong[:3]}"


def test_every_exact_plus_5_mm_of_at_least_20_percent_is_progression():
    wrong = []
    for tenths in range(100, 2001):
        nadir, followup = tenths / 10, float(Fraction(tenths, 10) + 5)
        if followup >= 1.2 * nadir and recist_response(nadir, followup) != "PD":
            wrong.append((nadir, followup))
    assert not wrong, f"{len(wrong)} sums exactly 5 mm above the nadir are not PD, e.g. {wrong[:3]}"


# --------------------------------------------------------------------------- the checker of notebook 11
def by_division(baseline_mm, followup_mm, nadir_mm=None):
    """A correct rule written as a learner may: relative changes by division (60 / 50 - 1 < 0.2 in floats)."""
    nadir = baseline_mm if nadir_mm is None else nadir_mm
    if followup_mm == 0:
        return "CR"
    if followup_mm / nadir - 1 >= 0.2 and followup_mm - nadir >= 5:
        return "PD"
    if followup_mm / baseline_mm - 1 <= -0.3:
        return "PR"
    return "SD"


def in_percent(baseline_mm, followup_mm, nadir_mm=None):
    nadir = baseline_mm if nadir_mm is None else nadir_mm
    if followup_mm == 0:
        return "CR"
    if 100 * (followup_mm - nadir) / nadir >= 20 and followup_mm - nadir >= 5:
        return "PD"
    if (followup_mm / baseline_mm - 1) * 100 <= -30:
        return "PR"
    return "SD"


def strict_inequalities(baseline_mm, followup_mm, nadir_mm=None):
    """The slip: > and < leave a sum exactly on a threshold out."""
    nadir = baseline_mm if nadir_mm is None else nadir_mm
    if followup_mm == 0:
        return "CR"
    if followup_mm > 1.2 * nadir and followup_mm - nadir > 5:
        return "PD"
    if followup_mm < 0.7 * baseline_mm:
        return "PR"
    return "SD"


@pytest.mark.parametrize("answer", [by_division, in_percent])
def test_the_checker_accepts_a_correct_rule_written_with_a_division(answer):
    verdict = check("11.recist_response", answer, quiet=True)
    assert verdict.passed, verdict.message
    if answer is by_division:   # it says why a tie came out on the other side
        assert "floating-point rounding" in verdict.message


def test_the_checker_still_refuses_strict_inequalities():
    verdict = check("11.recist_response", strict_inequalities, quiet=True)
    assert not verdict.passed
    assert "recist_response(50, 35) should be 'PR'" in verdict.message
    assert "counts the threshold itself" in verdict.message


def test_the_sphere_checker_accepts_an_answer_rounded_to_one_decimal():
    # +117.6 % in diameter is +930.33 % in volume: a tolerance of 1e-6 refused the rounded +930.3
    verdict = check("11.sphere_volume_change", lambda d: round(100 * ((1 + d / 100) ** 3 - 1), 1), quiet=True)
    assert verdict.passed, verdict.message


def test_the_sphere_checker_still_refuses_a_whole_percent_or_an_area():
    whole = check("11.sphere_volume_change", lambda d: round(100 * ((1 + d / 100) ** 3 - 1)), quiet=True)
    assert not whole.passed                              # -66 for -30: 0.34 points off
    area = check("11.sphere_volume_change", lambda d: 100 * ((1 + d / 100) ** 2 - 1), quiet=True)
    assert not area.passed and "area" in area.message
