"""Notebook 10's DICOM-volume checker: the solution passes, and each usual slip gets its own hint."""

from __future__ import annotations

import numpy as np
import pytest

from medseg_edu import exercises


def quiet(exercise_id, function):
    return exercises.check(exercise_id, function, quiet=True)


def volume(mask, pixel, step):
    return np.count_nonzero(np.asarray(mask) > 0) * pixel[0] * pixel[1] * step / 1000


def test_dicom_volume_accepts_the_solution_and_a_span_over_the_gaps():
    def solution(mask, pixel, positions):
        return volume(mask, pixel, np.median(np.diff(np.sort(positions))))

    def span(mask, pixel, positions):                 # (last - first) / (n - 1): needs no sorting
        return volume(mask, pixel, np.ptp(positions) / (len(positions) - 1))

    assert quiet("10.dicom_volume", solution).passed
    assert quiet("10.dicom_volume", span).passed


@pytest.mark.parametrize("step_in_file_order", [
    lambda p: np.mean(np.abs(np.diff(p))),
    lambda p: np.median(np.abs(np.diff(p))),
    lambda p: np.abs(np.diff(p)).max(),
    lambda p: abs(p[1] - p[0]),
], ids=["mean gap", "median gap", "largest gap", "first two files"])
def test_dicom_volume_tells_to_sort_the_positions(step_in_file_order):
    def slip(mask, pixel, positions):
        return volume(mask, pixel, step_in_file_order(positions))

    verdict = quiet("10.dicom_volume", slip)
    assert not verdict.passed and "sort them" in verdict.message, verdict.message


def test_dicom_volume_names_units_labels_and_the_missing_step():
    def sorted_step(positions):
        return np.median(np.diff(np.sort(positions)))

    slips = {"mm^3": lambda m, px, p: 1000 * volume(m, px, sorted_step(p)),
             "summed the label values": lambda m, px, p: m.sum() * px[0] * px[1] * sorted_step(p) / 1000,
             "slice step is missing": lambda m, px, p: volume(m, px, 1.0),
             "returned None": lambda m, px, p: None}
    for words, slip in slips.items():
        verdict = quiet("10.dicom_volume", slip)
        assert not verdict.passed and words in verdict.message, (words, verdict.message)
