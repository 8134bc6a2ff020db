"""Checkers for notebook 01 (thresholding)."""

from __future__ import annotations

import numpy as np
from skimage.filters import threshold_otsu
from skimage.measure import label

from . import ExerciseFailed, exercise
from ._shortcuts import refuse_shortcut


def _bimodal_image(seed=1):
    """A bright disc on a dark background, with noise: Otsu separates it."""
    rng = np.random.default_rng(seed)
    x, y = np.mgrid[:64, :64]
    disc = (x - 30) ** 2 + (y - 34) ** 2 < 15 ** 2
    image = np.where(disc, 600.0, 200.0) + rng.normal(0, 60, disc.shape)
    return image.astype(np.float32), disc


def _as_mask(result, shape, name):
    if result is None:
        raise ExerciseFailed(f"your function returned None: end {name} with `return <the mask>`")
    result = np.asarray(result)
    if result.shape != shape:
        raise ExerciseFailed(f"{name} should return a mask of the input's shape {shape}, got {result.shape}")
    if result.dtype != bool:
        raise ExerciseFailed(f"return a boolean mask (dtype bool), got dtype {result.dtype}; "
                             "a comparison like image >= t already gives one")
    return result


@exercise("01.otsu_mask")
def _otsu_mask(otsu_mask):
    for seed in (1, 2):
        image, disc = _bimodal_image(seed)
        expected = image >= threshold_otsu(image)
        got = _as_mask(otsu_mask(image.copy()), image.shape, "otsu_mask")
        if np.array_equal(got, ~expected):
            raise ExerciseFailed("your mask is the dark class; keep the voxels AT OR ABOVE the threshold")
        if np.mean(got != expected) > 0.001:  # >= vs > may differ on a voxel or two
            raise ExerciseFailed("the mask differs from image >= threshold_otsu(image); "
                                 "use skimage.filters.threshold_otsu on the whole image")
    return "Otsu picked the threshold that best separates the two histogram peaks, no truth needed."


@exercise("01.largest_component")
def _largest_component(largest_component):
    mask = np.zeros((30, 30, 6), bool)
    mask[2:12, 2:12, 1:5] = True       # 400 voxels: the largest
    mask[15:28, 15:28, 2:4] = True     # 338 voxels
    mask[20, 2, :] = True              # a thin 6-voxel line
    mask[12, 12, 2] = True             # touches the first block only diagonally
    got = _as_mask(largest_component(mask.copy()), mask.shape, "largest_component")
    labelled = label(mask, connectivity=1)
    sizes = np.bincount(labelled.ravel())
    sizes[0] = 0
    expected = labelled == np.argmax(sizes)
    if got.sum() == 0:
        raise ExerciseFailed("your mask is empty; return the voxels of the biggest component")
    if np.array_equal(got, mask):
        raise ExerciseFailed("you returned every component; keep only the one with the most voxels")
    if not np.array_equal(got, expected):
        if got.sum() == expected.sum() + 1:
            raise ExerciseFailed("count only face neighbours (skimage.measure.label(mask, connectivity=1)); "
                                 "a diagonal touch does not connect two regions here")
        raise ExerciseFailed(f"expected the 400-voxel block, you kept {int(got.sum())} voxels; "
                             "label the mask, count voxels per label (ignoring label 0) and keep the largest")
    empty = _as_mask(largest_component(np.zeros((5, 5, 2), bool)), (5, 5, 2), "largest_component")
    if empty.any():
        raise ExerciseFailed("an empty mask has no components: return an empty mask")
    return "label, count, keep the biggest: the classic clean-up after a threshold."


@exercise("01.dice")
def _dice(dice):
    a = np.zeros((10, 10, 2), bool)
    b = np.zeros((10, 10, 2), bool)
    a[0:4, 0:5, 0] = True   # 20 voxels
    b[2:6, 0:5, 0] = True   # 20 voxels, 10 shared
    got = dice(a.copy(), b.copy())
    if got is None:
        raise ExerciseFailed("your function returned None: end dice with `return <the overlap>`")
    if not np.isclose(got, 0.5):
        if np.isclose(got, 10 / 30):
            raise ExerciseFailed("that is the Jaccard index |A∩B|/|A∪B|; Dice is 2|A∩B| / (|A| + |B|)")
        raise ExerciseFailed(f"two 20-voxel masks sharing 10 voxels have Dice 0.5, you gave {got!r}")
    if not np.isclose(dice(a.copy(), a.copy()), 1.0) or not np.isclose(dice(a.copy(), ~a), 0.0):
        raise ExerciseFailed("identical masks must give 1.0 and disjoint masks 0.0")
    return "Dice = 2|A∩B| / (|A| + |B|): 1 is perfect overlap, 0 none."


def _fresh_mixtures():
    """Two-class intensity images (seeded): different shapes, class sizes, means and spreads."""
    rng = np.random.default_rng(2024)
    for shape, share, (m0, m1), (s0, s1) in (((48, 64), 0.3, (200, 600), (50, 80)),
                                             ((30, 30, 8), 0.12, (300, 520), (40, 40)),
                                             ((100, 37), 0.6, (50, 900), (120, 60))):
        object_ = rng.random(shape) < share
        yield np.where(object_, rng.normal(m1, s1, shape), rng.normal(m0, s0, shape)).astype(np.float32)


#: scikit-image's automatic thresholds: any of them would do exercise 2 for the learner.
OTSU_SHORTCUTS = ("threshold_otsu", "threshold_multiotsu", "threshold_li", "threshold_yen", "threshold_isodata",
                  "threshold_mean", "threshold_minimum", "threshold_triangle")


def _between_class_variance(image, nbins):
    """Otsu's score of every histogram bin, and the bin centres.

    Parameters
    ----------
    image : ndarray
        Intensities (any units, any shape).
    nbins : int
        Number of histogram bins over the image's range, as in ``threshold_otsu``.

    Returns
    -------
    between : ndarray of float, shape (nbins,)
        ``w0 * w1 * (mu0 - mu1)**2`` when class 0 is the bins up to and including each bin
        (voxel counts squared times intensity units squared); 0 where a class is empty.
    centres : ndarray, shape (nbins,)
        Bin centres, in the image's intensity units.
    """
    counts, edges = np.histogram(np.ravel(image), bins=nbins)
    centres = (edges[:-1] + edges[1:]) / 2
    weight0 = np.cumsum(counts).astype(float)
    weight1 = weight0[-1] - weight0
    sum0 = np.cumsum(counts * centres.astype(float))
    mean0 = sum0 / np.maximum(weight0, 1)
    mean1 = (sum0[-1] - sum0) / np.maximum(weight1, 1)
    return weight0 * weight1 * (mean0 - mean1) ** 2, centres


#: A bin "ties" the best when its between-class variance is this close to the maximum (relative). Bins in an
#: empty valley between the classes tie exactly (they split the voxels alike); a learner's other arithmetic
#: (probabilities instead of counts, a loop) changes a score by ~1e-15 of it; on the test images the nearest
#: non-tied bin is >= 6e-6 below the maximum.
OTSU_TIE_RTOL = 1e-9


def _is_an_otsu_threshold(image, nbins, got):
    """Whether ``got`` maximises the between-class variance, as ``threshold_otsu`` does (ties allowed).

    Accepted: a bin centre whose score ties the maximum (an empty valley between the classes makes many
    bins tie, and ``threshold_otsu`` returns only the first), a threshold splitting the voxels exactly as
    ``threshold_otsu`` does, or one within a bin width of it (an edge instead of a centre).

    Parameters
    ----------
    image : ndarray
        The test image (intensity units).
    nbins : int
        Number of histogram bins.
    got : float
        The learner's threshold, in the image's intensity units.

    Returns
    -------
    accepted : bool
        Whether ``got`` is an Otsu threshold of ``image`` with ``nbins`` bins.
    expected : float
        ``threshold_otsu(image, nbins=nbins)``, for the message.
    """
    expected = float(threshold_otsu(image, nbins=nbins))
    between, centres = _between_class_variance(image, nbins)
    nearest = int(np.argmin(np.abs(centres - got)))
    bin_width = (float(image.max()) - float(image.min())) / nbins
    return (between[nearest] >= (1 - OTSU_TIE_RTOL) * between.max()
            or np.array_equal(image > got, image > expected)
            or abs(got - expected) <= 1.01 * bin_width), expected


@exercise("01.otsu_threshold")
def _otsu_threshold(otsu_threshold):
    refuse_shortcut(otsu_threshold, names=OTSU_SHORTCUTS, objects=(threshold_otsu,),
                    task="the between-class variance w0 * w1 * (mu0 - mu1)**2 over the histogram bins")
    for image in _fresh_mixtures():
        for nbins in (256, 64):
            got = otsu_threshold(image.copy(), nbins)
            if got is None:
                raise ExerciseFailed("your function returned None; return the threshold (one number)")
            got = float(np.asarray(got).ravel()[0]) if np.size(got) == 1 else None
            if got is None:
                raise ExerciseFailed("return one number, the threshold (not the whole variance curve)")
            if not np.isfinite(got):   # NaN compares as "not too far" from anything: refuse it first
                raise ExerciseFailed(
                    f"your threshold is {got} with {nbins} bins. A bin with all pixels on one side leaves the other "
                    "class empty: its probability is 0 and its mean 0 / 0. Give such bins a between-class variance "
                    "of 0 (or skip them) before taking the argmax")
            accepted, expected = _is_an_otsu_threshold(image, nbins, got)
            if not accepted:
                where = "near the end of the intensity range" if min(got - image.min(), image.max() - got) \
                    < 0.15 * (image.max() - image.min()) else "away from the valley"
                raise ExerciseFailed(
                    f"on a fresh {image.shape} image with {nbins} bins threshold_otsu gives {expected:.1f}, you "
                    f"gave {got:.1f} ({where}), and its bin does not reach the largest between-class variance. "
                    "For every candidate bin, weight the squared difference of the two class means by both class "
                    "probabilities: w0 * w1 * (mu0 - mu1)**2, and keep the argmax")
    return "the between-class variance, maximised over the histogram bins: Otsu (1979), as scikit-image does it."
