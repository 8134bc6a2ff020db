"""Checkers for notebook 11 (lesions and lymph nodes)."""

from __future__ import annotations

import numpy as np

from .. import volumetry
from . import ExerciseFailed, exercise


@exercise("11.sphere_volume_change")
def _sphere_volume_change(volume_change_percent):
    rng = np.random.default_rng(1111)
    changes = [-30.0, 20.0, 0.0, -100.0, *np.round(rng.uniform(-80, 150, 6), 1)]
    for d in changes:
        expected = 100.0 * ((1.0 + d / 100.0) ** 3 - 1.0)
        got = volume_change_percent(d)
        if got is None:
            raise ExerciseFailed("your function returned None: return the volume change in percent")
        got = float(got)
        if abs(got - expected) <= 0.05 + 1e-9:    # percentage points: an answer rounded to 1 decimal passes
            continue
        if np.isclose(got, d):
            raise ExerciseFailed(f"a sphere's volume does not change like its diameter: {d:+g} % in diameter "
                                 "is not the same in volume (V = pi d^3 / 6)")
        if np.isclose(got, 100.0 * ((1.0 + d / 100.0) ** 2 - 1.0)):
            raise ExerciseFailed("you squared the ratio: that is the change of an area; a volume goes with d^3")
        if np.isclose(got, 3.0 * d):
            raise ExerciseFailed("3 x the diameter change is only right for tiny changes: cube the ratio "
                                 "(1 + change / 100) instead")
        if np.isclose(got, expected / 100.0):
            raise ExerciseFailed("return percent (e.g. -65.7), not a fraction")
        raise ExerciseFailed(f"a diameter change of {d:+g} % should give {expected:+.2f} % in volume, "
                             f"you gave {got:+.2f}")
    return "-30 % in diameter is -65.7 % in volume and +20 % is +72.8 %, for a sphere."


def _recist_cases():
    """Edge cases of RECIST 1.1, then fresh random sums with and without a nadir."""
    cases = [(50, 34, None), (50, 45, None), (50, 61, None), (50, 0, None), (40, 36, 30), (40, 34, 30),
             (50, 35, None), (50, 60, None), (20, 24, None), (12, 15, None), (30, 30, 20), (60, 40, 30)]
    rng = np.random.default_rng(1112)
    for _ in range(40):
        baseline = float(np.round(rng.uniform(8, 150), 1))
        nadir = None if rng.random() < 0.4 else float(np.round(baseline * rng.uniform(0.3, 1.0), 1))
        followup = float(np.round((nadir or baseline) * rng.uniform(0.0, 1.7), 1))
        cases.append((baseline, followup, nadir))
    return cases


def _recist_wrong_ways(baseline, followup, nadir):
    """What the common slips would answer, for the hint."""
    nadir_or_base = baseline if nadir is None else nadir
    pr = followup <= 0.7 * baseline
    pd_nadir = followup >= 1.2 * nadir_or_base and followup - nadir_or_base >= 5
    pd_base = followup >= 1.2 * baseline and followup - baseline >= 5
    pd_no_abs = followup >= 1.2 * nadir_or_base
    return {
        "baseline": "CR" if followup == 0 else "PD" if pd_base else "PR" if pr else "SD",
        "no_absolute": "CR" if followup == 0 else "PD" if pd_no_abs else "PR" if pr else "SD",
        "pr_first": "CR" if followup == 0 else "PR" if pr else "PD" if pd_nadir else "SD",
    }


# How a learner may write the three comparisons. On a sum exactly at a threshold they can differ in
# the last bit (60 / 50 - 1 is 0.19999999999999996, not 0.2), so an answer one of them gives there is
# accepted; off the thresholds they all agree with the package.
_PD_WAYS = (lambda f, n: f >= 1.2 * n, lambda f, n: f >= n * 1.2, lambda f, n: f / n >= 1.2,
            lambda f, n: f / n - 1 >= 0.2, lambda f, n: (f - n) / n >= 0.2, lambda f, n: f - n >= 0.2 * n,
            lambda f, n: 100 * (f - n) / n >= 20, lambda f, n: (f - n) / n * 100 >= 20,
            lambda f, n: (f / n - 1) * 100 >= 20)
_PD_MM_WAYS = (lambda f, n: f - n >= 5, lambda f, n: f >= n + 5)
_PR_WAYS = (lambda f, b: f <= 0.7 * b, lambda f, b: f <= b * 0.7, lambda f, b: f / b <= 0.7,
            lambda f, b: f / b - 1 <= -0.3, lambda f, b: 1 - f / b >= 0.3, lambda f, b: (b - f) / b >= 0.3,
            lambda f, b: (f - b) / b <= -0.3, lambda f, b: b - f >= 0.3 * b,
            lambda f, b: 100 * (f - b) / b <= -30, lambda f, b: 100 * (b - f) / b >= 30,
            lambda f, b: (f / b - 1) * 100 <= -30)


def _float_answers(baseline, followup, nadir):
    """Every category a correct rule gives in one of the usual floating-point formulations."""
    nadir = baseline if nadir is None else nadir
    if followup == 0:
        return {"CR"}
    answers = set()
    for pd_way in _PD_WAYS:
        for mm_way in _PD_MM_WAYS:
            for pr_way in _PR_WAYS:
                pd = nadir > 0 and pd_way(followup, nadir) and mm_way(followup, nadir)
                answers.add("PD" if pd else "PR" if pr_way(followup, baseline) else "SD")
    return answers


@exercise("11.recist_response")
def _recist_response(recist_response):
    rounded = None      # a threshold case the learner's formula put on the other side by rounding
    for baseline, followup, nadir in _recist_cases():
        expected = volumetry.recist_response(baseline, followup, nadir)
        got = recist_response(baseline, followup) if nadir is None else recist_response(baseline, followup, nadir)
        if got == expected:
            continue
        call = f"recist_response({baseline:g}, {followup:g}" + ("" if nadir is None else f", nadir_mm={nadir:g}") + ")"
        if got is None:
            raise ExerciseFailed(f"{call} returned None: end your function with `return \"PR\"` etc.")
        if not isinstance(got, str):
            raise ExerciseFailed(f"{call} returned {got!r}: return one of 'CR', 'PR', 'SD', 'PD'")
        if got in _float_answers(baseline, followup, nadir):
            rounded = rounded or (call, expected, got)
            continue
        wrong = _recist_wrong_ways(baseline, followup, nadir)
        either_side = {volumetry.recist_response(baseline, followup * (1 + s), nadir) for s in (-1e-6, 1e-6)}
        if got in either_side - {expected}:     # exactly on a threshold, answered as if just short of it
            hint = ("this sum lies exactly on a threshold, and RECIST counts the threshold itself: at least "
                    "30 % below the baseline (<=) is PR, at least 20 % and 5 mm above the nadir (>=) is PD")
        elif got == wrong["pr_first"] and expected == "PD":
            hint = ("check progression before partial response: a sum that has grown back from its nadir "
                    "is PD even while it is still 30 % below the baseline")
        elif got == wrong["baseline"] and nadir is not None:
            hint = "progression is measured from the nadir (the smallest sum so far), not from the baseline"
        elif got == wrong["no_absolute"]:
            hint = "progression also needs at least 5 mm of absolute growth, not only 20 %"
        else:
            hint = ("CR: sum 0; PD: >= 20 % above the nadir and >= 5 mm; PR: >= 30 % below the baseline; "
                    "else SD")
        raise ExerciseFailed(f"{call} should be {expected!r}, you gave {got!r} ({hint})")
    if rounded:
        call, expected, got = rounded
        return (f"the RECIST 1.1 rule on sums of diameters, nadir and 5 mm included. One note: {call} lies "
                f"exactly on a threshold, so it is {expected!r}, and your function gave {got!r}. With >= and <= "
                "that is floating-point rounding (in Python 60 / 50 - 1 is 0.19999999999999996, not 0.2), "
                "which the package's recist_response allows for with a tiny tolerance; with > or < it is a "
                "slip: RECIST counts the threshold itself.")
    return "the RECIST 1.1 rule on sums of diameters, nadir and 5 mm included."
