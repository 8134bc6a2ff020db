"""Notebook 12's checkers: fresh data, the tempting sqrt(2) mistake, None, and answers that edit their input."""

from __future__ import annotations

import numpy as np

from medseg_edu import exercises


def quiet(exercise_id, function):
    return exercises.check(exercise_id, function, quiet=True)


def test_repeatability_coefficient_accepts_both_usual_formulas():
    def pooled(scan_ml, rescan_ml):
        d = np.asarray(rescan_ml) - np.asarray(scan_ml)
        return 2.77 * np.sqrt(np.sum(d ** 2) / (2 * len(d)))

    def from_limits(scan_ml, rescan_ml):
        return 1.96 * np.std(np.asarray(rescan_ml) - np.asarray(scan_ml), ddof=1)

    assert quiet("12.repeatability_coefficient", pooled).passed
    assert quiet("12.repeatability_coefficient", from_limits).passed


def test_repeatability_coefficient_names_the_missing_square_root():
    def sd_of_differences(scan_ml, rescan_ml):
        return 2.77 * np.std(np.asarray(rescan_ml) - np.asarray(scan_ml), ddof=1)

    verdict = quiet("12.repeatability_coefficient", sd_of_differences)
    assert not verdict.passed and "sqrt(2)" in verdict.message and "two scans" in verdict.message
    verdict = quiet("12.repeatability_coefficient", lambda a, b: np.sqrt(np.mean((b - a) ** 2) / 2))
    assert not verdict.passed and "2.77 x wSD" in verdict.message


def test_repeatability_coefficient_refuses_none_and_judges_an_answer_that_edits_its_input():
    verdict = quiet("12.repeatability_coefficient", lambda a, b: None)
    assert not verdict.passed and "returned None" in verdict.message

    def in_place(scan_ml, rescan_ml):
        rescan_ml -= scan_ml                          # overwrites its own input ...
        scan_ml[:] = 0.0
        return 2.77 * np.sqrt(np.mean(rescan_ml ** 2) / 2)   # ... but returns the right number

    assert quiet("12.repeatability_coefficient", in_place).passed


def test_coverage_checker_names_the_usual_slips():
    def right(lower, upper, truth):
        return np.mean((lower <= truth) & (truth <= upper))

    assert quiet("12.coverage", right).passed
    slips = {"ends belong": lambda lo, hi, t: np.mean((lo < t) & (t < hi)),
             "counted": lambda lo, hi, t: np.sum((lo <= t) & (t <= hi)),
             "percentage": lambda lo, hi, t: 100 * np.mean((lo <= t) & (t <= hi)),
             "returned None": lambda lo, hi, t: None}
    for words, slip in slips.items():
        verdict = quiet("12.coverage", slip)
        assert not verdict.passed and words in verdict.message, (words, verdict.message)


def test_coverage_sets_put_truths_exactly_on_both_ends_of_every_random_set():
    from medseg_edu.exercises import nb12

    for lower, upper, truth in nb12._coverage_sets()[1:]:
        assert np.sum(truth == lower) >= 3 and np.sum(truth == upper) >= 1
        assert np.mean((lower < truth) & (truth < upper)) < np.mean((lower <= truth) & (truth <= upper))


def test_coverage_accepts_a_centre_and_half_width_answer_on_the_ties():
    def from_centre(lower, upper, truth):             # the same test, rearranged: exact on the checker's grid
        return np.mean(np.abs(truth - (lower + upper) / 2) <= (upper - lower) / 2)

    assert quiet("12.coverage", from_centre).passed
