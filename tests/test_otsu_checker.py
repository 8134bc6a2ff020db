"""The checker of exercise 01.otsu_threshold accepts every correct Otsu, not only scikit-image's tie-break.

Its third test image has an empty valley between the two classes: with 256 bins, 48 bins tie for the largest
between-class variance and ``threshold_otsu`` returns the first. A correct answer computed another way (class
probabilities instead of counts, an explicit loop) may land on another tied bin and must pass; real mistakes
must still fail with their hint.
"""

from __future__ import annotations

import numpy as np
import pytest

from medseg_edu import exercises
from medseg_edu.exercises.nb01 import _fresh_mixtures


def otsu_with_probabilities(image, nbins=256):
    """Otsu's threshold from bin probabilities and direct sums: correct, but float rounding picks its own tie."""
    counts, edges = np.histogram(np.ravel(image), bins=nbins)
    centres = (edges[:-1] + edges[1:]) / 2
    p = counts / counts.sum()
    best, threshold = -1.0, None
    for j in range(nbins - 1):
        w0, w1 = p[:j + 1].sum(), p[j + 1:].sum()
        if w0 == 0 or w1 == 0:
            continue
        mu0 = (p[:j + 1] * centres[:j + 1]).sum() / w0
        mu1 = (p[j + 1:] * centres[j + 1:]).sum() / w1
        if w0 * w1 * (mu0 - mu1) ** 2 > best:
            best, threshold = w0 * w1 * (mu0 - mu1) ** 2, centres[j]
    return threshold


def class_statistics(image, nbins):
    """Per bin: the two classes' voxel counts and means when class 0 ends at that bin, and the bin centres."""
    counts, edges = np.histogram(np.ravel(image), bins=nbins)
    centres = (edges[:-1] + edges[1:]) / 2
    weight0 = np.cumsum(counts)
    weight1 = weight0[-1] - weight0
    sum0 = np.cumsum(counts * centres)
    mean0 = sum0 / np.maximum(weight0, 1)
    mean1 = (sum0[-1] - sum0) / np.maximum(weight1, 1)
    return weight0, weight1, mean0, mean1, centres


def scores(image, nbins):
    """Between-class variance w0 * w1 * (mu0 - mu1)**2 of every bin (voxel counts), and the bin centres."""
    weight0, weight1, mean0, mean1, centres = class_statistics(image, nbins)
    return weight0 * weight1 * (mean0 - mean1) ** 2, centres


def otsu_last_tie(image, nbins=256):
    """The last of the tied bins (top of the empty valley) instead of the first."""
    between, centres = scores(image, nbins)
    return centres[nbins - 1 - np.argmax(between[::-1])]


def unweighted(image, nbins=256):
    """The notebook's tempting mistake: (mu0 - mu1)**2 without the class weights."""
    _, _, mean0, mean1, centres = class_statistics(image, nbins)
    return centres[np.argmax((mean0 - mean1) ** 2)]


def histogram_peak(image, nbins=256):
    """The most common intensity: a peak, not the valley between the peaks."""
    counts, edges = np.histogram(np.ravel(image), bins=nbins)
    return (edges[:-1] + edges[1:])[np.argmax(counts)] / 2


def test_the_third_image_has_tied_bins_and_threshold_otsu_picks_the_first():
    image = list(_fresh_mixtures())[2]
    between, centres = scores(image, 256)
    assert np.count_nonzero(between == between.max()) > 10
    assert otsu_with_probabilities(image, 256) != otsu_last_tie(image, 256)


@pytest.mark.parametrize("answer", [otsu_with_probabilities, otsu_last_tie])
def test_a_correct_otsu_on_another_tied_bin_passes(answer):
    verdict = exercises.check("01.otsu_threshold", answer, quiet=True)
    assert verdict.passed, verdict.message


@pytest.mark.parametrize("answer, hint", [(unweighted, "near the end of the intensity range"),
                                          (histogram_peak, "away from the valley")])
def test_a_wrong_answer_still_fails_with_its_hint(answer, hint):
    verdict = exercises.check("01.otsu_threshold", answer, quiet=True)
    assert not verdict.passed and hint in verdict.message, verdict.message
    assert "w0 * w1 * (mu0 - mu1)**2" in verdict.message
