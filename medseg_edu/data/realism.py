"""How much does a phantom look like a real scan? Two measurements, both on the network grid.

A network never sees a scan as a radiologist does: it sees axial slices
normalised by :func:`~medseg_edu.data.prep.normalise` (1st-99th percentile to
0-1) and resampled by :func:`~medseg_edu.data.prep.to_grid` to
``PIXEL_MM`` = 1.25 mm pixels in a ``GRID`` x ``GRID`` square (120 mm). So
this module compares phantoms and real scans exactly there:

* :func:`appearance_histograms` - the distribution of normalised intensity and
  of the in-plane gradient magnitude inside the body, and
  :func:`histogram_distance` - the earth mover's (Wasserstein-1) distance
  between two such distributions, in the units of the feature;
* :func:`domain_classifier_accuracy` - how well a small classifier tells
  patches of one group of scans from patches of another, measured on scans it
  was not trained on. 0.5 means the two groups are indistinguishable to it,
  1.0 that they are told apart every time.

Neither number says whether a network trained on phantoms will work on real
scans; both say how far apart the two kinds of image are, and whether a new
phantom generator has moved them closer. Everything here is plain numpy and
scipy, seeded, and takes a few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .._checks import as_seed, as_volume
from .prep import GRID, PIXEL_MM, normalise, to_grid

__all__ = ["AppearanceHistograms", "HistogramDistance", "appearance_histograms", "mean_histograms",
           "histogram_distance", "patch_features", "domain_classifier_accuracy", "FEATURE_NAMES"]

#: Bin edges of the normalised intensity (0 = 1st, 1 = 99th percentile of the volume).
INTENSITY_EDGES = np.linspace(-0.1, 1.3, 57)
#: Bin edges of the in-plane gradient magnitude, in normalised intensity per mm.
GRADIENT_EDGES = np.linspace(0.0, 0.6, 61)
#: A grid pixel is body when its normalised intensity is above this (air is near 0).
BODY_THRESHOLD = 0.08


@dataclass(frozen=True)
class AppearanceHistograms:
    """Normalised histograms (each sums to 1) of one scan or a group of scans.

    Attributes
    ----------
    intensity : np.ndarray, (56,)
        Share of body pixels per normalised-intensity bin (edges :data:`INTENSITY_EDGES`;
        values outside the edges are counted in the first or last bin).
    gradient : np.ndarray, (60,)
        Share of body pixels per gradient-magnitude bin, in normalised intensity per mm
        (edges :data:`GRADIENT_EDGES`; larger values count in the last bin).
    intensity_edges, gradient_edges : np.ndarray
        The bin edges.
    pixels : int
        Number of body pixels the histograms were counted from.
    """

    intensity: np.ndarray
    gradient: np.ndarray
    intensity_edges: np.ndarray
    gradient_edges: np.ndarray
    pixels: int


@dataclass(frozen=True)
class HistogramDistance:
    """Earth mover's distances between two :class:`AppearanceHistograms`.

    Attributes
    ----------
    intensity : float
        In normalised intensity units (the 1st-99th percentile range of a scan is 1).
    gradient : float
        In normalised intensity per mm.
    """

    intensity: float
    gradient: float


def _image_and_spacing(item):
    """``(array, spacing)`` from a Volume (``.array``), a Case (``.image``) or a pair."""
    if hasattr(item, "spacing") and (hasattr(item, "array") or hasattr(item, "image")):
        array = item.array if hasattr(item, "array") else item.image
        return as_volume(np.asarray(array), item.spacing)
    try:
        array, spacing = item
    except (TypeError, ValueError):
        raise TypeError("each scan must be a Volume, a Case or an (array, spacing) pair, "
                        f"got {type(item).__name__}") from None
    return as_volume(np.asarray(array), spacing)


def _grid_slices(image, spacing):
    """Normalised grid slices ``(z, GRID, GRID)`` and the body mask of each slice."""
    image, spacing = as_volume(image, spacing)
    slices = to_grid(normalise(image), spacing)
    body = np.empty(slices.shape, bool)
    for k, s in enumerate(slices):
        inside = ndimage.binary_closing(s > BODY_THRESHOLD, iterations=2)
        body[k] = ndimage.binary_fill_holes(inside)
    return slices, body


def _gradient_magnitude(slices):
    """In-plane gradient magnitude of every grid slice, normalised intensity per mm."""
    gx = np.gradient(slices, PIXEL_MM, axis=1)
    gy = np.gradient(slices, PIXEL_MM, axis=2)
    return np.hypot(gx, gy)


def _histogram(values, edges):
    counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
    total = counts.sum()
    return counts / total if total else counts.astype(float)


def appearance_histograms(image, spacing) -> AppearanceHistograms:
    """Histograms of normalised intensity and gradient magnitude inside the body, on the network grid.

    The scan goes through the networks' own preparation (``normalise`` then
    ``to_grid``: 1.25 mm pixels, the central 120 mm square); the body is every
    grid pixel brighter than :data:`BODY_THRESHOLD` after closing small gaps and
    filling holes, slice by slice.

    Parameters
    ----------
    image : np.ndarray, (x, y, z)
        A T2-weighted scan, any intensity scale.
    spacing : tuple of 3 float
        Voxel size in mm.

    Returns
    -------
    AppearanceHistograms
        ``intensity`` (normalised units, 0-1 is the scan's 1st-99th percentile
        range) and ``gradient`` (normalised units per mm) histograms, each
        summing to 1.

    Raises
    ------
    ValueError
        If no grid pixel is body (an empty or constant image).
    """
    slices, body = _grid_slices(image, spacing)
    if not body.any():
        raise ValueError("no body pixel on the network grid: is the image empty or constant?")
    gradient = _gradient_magnitude(slices)
    return AppearanceHistograms(
        intensity=_histogram(slices[body], INTENSITY_EDGES), gradient=_histogram(gradient[body], GRADIENT_EDGES),
        intensity_edges=INTENSITY_EDGES.copy(), gradient_edges=GRADIENT_EDGES.copy(),
        pixels=int(body.sum()))


def mean_histograms(histograms) -> AppearanceHistograms:
    """The average of several :class:`AppearanceHistograms` (each scan weighs the same).

    Parameters
    ----------
    histograms : sequence of AppearanceHistograms
        At least one, all with the same bin edges.

    Returns
    -------
    AppearanceHistograms
        Mean shares per bin; ``pixels`` is the total.
    """
    histograms = list(histograms)
    if not histograms:
        raise ValueError("mean_histograms needs at least one AppearanceHistograms")
    return AppearanceHistograms(
        intensity=np.mean([h.intensity for h in histograms], axis=0),
        gradient=np.mean([h.gradient for h in histograms], axis=0),
        intensity_edges=histograms[0].intensity_edges, gradient_edges=histograms[0].gradient_edges,
        pixels=int(sum(h.pixels for h in histograms)))


def _wasserstein(p, q, edges) -> float:
    """Earth mover's distance between two binned distributions on the same ``edges``."""
    p, q, edges = (np.asarray(a, float) for a in (p, q, edges))
    if p.shape != q.shape or p.ndim != 1 or len(edges) != len(p) + 1:
        raise ValueError(f"two histograms of n bins and n + 1 edges are needed, got {p.shape}, {q.shape} "
                         f"and {len(edges)} edges")
    if p.sum() <= 0 or q.sum() <= 0 or (p < 0).any() or (q < 0).any():
        raise ValueError("histograms must be non-negative and not all zero")
    cdf_gap = np.cumsum(p / p.sum() - q / q.sum())[:-1]
    return float(np.sum(np.abs(cdf_gap) * np.diff(edges)[:-1]))


def histogram_distance(a, b, edges=None):
    """Earth mover's (Wasserstein-1) distance between two binned histograms.

    The smallest amount of probability mass times the distance it must be moved
    to turn one histogram into the other: ``sum |CDF_a - CDF_b| x bin width``
    (mass is placed at the left edge of each bin). 0 for identical
    histograms; in the unit of the binned feature.

    Parameters
    ----------
    a, b : AppearanceHistograms, or 1D arrays
        Two results of :func:`appearance_histograms` (or :func:`mean_histograms`),
        or two arrays of bin counts or shares.
    edges : 1D array, optional
        The n + 1 bin edges, needed when ``a`` and ``b`` are arrays.

    Returns
    -------
    HistogramDistance or float
        For two ``AppearanceHistograms``: the distance of the intensity
        histograms (normalised units) and of the gradient histograms
        (normalised units per mm). For two arrays: one float.
    """
    if isinstance(a, AppearanceHistograms) and isinstance(b, AppearanceHistograms):
        return HistogramDistance(intensity=_wasserstein(a.intensity, b.intensity, a.intensity_edges),
                                 gradient=_wasserstein(a.gradient, b.gradient, a.gradient_edges))
    if edges is None:
        raise TypeError("histogram_distance of two arrays needs their bin edges (edges=...)")
    return _wasserstein(a, b, edges)


# --------------------------------------------------------------------------- domain classifier

#: What :func:`patch_features` measures on each patch, in this order.
FEATURE_NAMES = ("mean", "sd", "p10", "p50", "p90", "gradient mean", "gradient sd", "gradient p90",
                 "laplacian mean |.|", "autocorrelation lag 1", "autocorrelation lag 2",
                 "autocorrelation lag 4", "power 2-5 mm", "power 5-10 mm", "power 10-40 mm")


def _autocorrelation(patches, lag):
    x = patches - patches.mean(axis=(1, 2), keepdims=True)
    var = np.mean(x * x, axis=(1, 2)) + 1e-8
    a = np.mean(x[:, lag:] * x[:, :-lag], axis=(1, 2))
    b = np.mean(x[:, :, lag:] * x[:, :, :-lag], axis=(1, 2))
    return (a + b) / 2 / var


def _band_power(patches):
    """Share of the (mean-removed) spectral power in three bands of wavelength, per patch."""
    n = patches.shape[1]
    spectrum = np.abs(np.fft.rfft2(patches - patches.mean(axis=(1, 2), keepdims=True))) ** 2
    fy = np.fft.fftfreq(n, d=PIXEL_MM)[:, None]
    fx = np.fft.rfftfreq(n, d=PIXEL_MM)[None, :]
    wavelength = 1.0 / np.maximum(np.hypot(fy, fx), 1e-9)           # mm
    total = spectrum.sum(axis=(1, 2)) + 1e-12
    bands = [(2.0, 5.0), (5.0, 10.0), (10.0, 40.0)]
    return [spectrum[:, (wavelength >= lo) & (wavelength < hi)].sum(axis=1) / total for lo, hi in bands]


def patch_features(patches) -> np.ndarray:
    """Texture and intensity features of normalised grid patches (see :data:`FEATURE_NAMES`).

    Parameters
    ----------
    patches : np.ndarray, (n, p, p)
        Square patches of normalised grid slices (``PIXEL_MM`` mm pixels).

    Returns
    -------
    np.ndarray, (n, 15), float64
        Intensity statistics (normalised units), gradient statistics (units per
        mm), the mean absolute Laplacian, the autocorrelation at lags of 1, 2
        and 4 pixels, and the share of the spectral power at wavelengths of
        2-5, 5-10 and 10-40 mm.
    """
    patches = np.asarray(patches, np.float64)
    if patches.ndim != 3 or patches.shape[1] != patches.shape[2] or patches.shape[1] < 9:
        raise ValueError(f"patches must be (n, p, p) with p >= 9, got shape {patches.shape}")
    flat = patches.reshape(len(patches), -1)
    p10, p50, p90 = np.percentile(flat, [10, 50, 90], axis=1)
    gradient = _gradient_magnitude(patches).reshape(len(patches), -1)
    laplacian = np.abs(ndimage.laplace(patches, mode="nearest")[:, 1:-1, 1:-1]) / PIXEL_MM ** 2
    columns = [flat.mean(1), flat.std(1), p10, p50, p90, gradient.mean(1), gradient.std(1),
               np.percentile(gradient, 90, axis=1), laplacian.reshape(len(patches), -1).mean(1),
               _autocorrelation(patches, 1), _autocorrelation(patches, 2), _autocorrelation(patches, 4),
               *_band_power(patches)]
    return np.stack(columns, axis=1)


def _sample_patches(slices, body, patch, n, rng):
    """``n`` patches of ``patch`` pixels whose pixels are at least 90 % body."""
    inside = ndimage.uniform_filter(body.astype(np.float32), size=(1, patch, patch), mode="constant")
    half = patch // 2
    valid = inside >= 0.9
    valid[:, :half] = valid[:, -(patch - half):] = False
    valid[:, :, :half] = valid[:, :, -(patch - half):] = False
    centres = np.argwhere(valid)
    if len(centres) == 0:
        raise ValueError(f"no {patch} x {patch} patch lies inside the body on the network grid")
    chosen = centres[rng.choice(len(centres), size=n, replace=len(centres) < n)]
    return np.stack([slices[k, y - half:y - half + patch, x - half:x - half + patch] for k, y, x in chosen])


def _fit_logistic(x, y, steps, lr=0.5, l2=1e-3):
    """Logistic regression by full-batch gradient descent (standardised features)."""
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        w -= lr * (x.T @ (p - y) / len(y) + l2 * w)
        b -= lr * float(np.mean(p - y))
    return w, b


def domain_classifier_accuracy(real_volumes, phantom_volumes, *, patch=32, seed=0, patches_per_volume=64,
                               steps=300, folds=None) -> float:
    """Held-out accuracy of a classifier telling patches of two groups of scans apart.

    Every scan is normalised and resampled to the network grid (as the networks
    see it); ``patches_per_volume`` random ``patch`` x ``patch`` patches that lie
    inside the body are described by :func:`patch_features` (intensity,
    gradient, autocorrelation, spectral power), and a logistic regression
    (standardised features, ``steps`` steps of full-batch gradient descent,
    L2 penalty) learns to say which group a patch comes from. The split is by
    **scan**, not by patch: the scans of each group are dealt into ``folds``
    folds, each fold in turn is held out while the classifier learns from the
    others, and only held-out patches are scored. A classifier that learnt to
    recognise individual scans, not the group, gains nothing.

    Parameters
    ----------
    real_volumes, phantom_volumes : sequence
        The two groups (the names are only labels: any two groups work), each
        at least two scans; each scan a :class:`~medseg_edu.io.Volume`, a
        :class:`~medseg_edu.data.Case` or an ``(array, spacing)`` pair with the
        spacing in mm.
    patch : int
        Patch side in grid pixels (``PIXEL_MM`` = 1.25 mm each; 32 is 40 mm).
    seed : int
        Seeds the patch positions; same inputs and seed, same result.
    patches_per_volume : int
        Patches drawn from each scan.
    steps : int
        Gradient-descent steps of the logistic regression.
    folds : int, optional
        Number of folds; default the size of the smaller group (at most 5).

    Returns
    -------
    float
        Balanced held-out accuracy (the mean of the two groups' accuracies),
        0-1: 0.5 when the groups are indistinguishable to the classifier, 1.0
        when it tells every held-out patch's group.

    Raises
    ------
    ValueError
        If a group has fewer than two scans, ``patch`` does not fit the grid,
        or a scan has no patch inside the body.
    """
    groups = [list(real_volumes), list(phantom_volumes)]
    seed = as_seed(seed)
    if min(len(g) for g in groups) < 2:
        raise ValueError("each group needs at least two scans (the split is by scan)")
    if not 9 <= int(patch) <= GRID // 2:
        raise ValueError(f"patch must be 9-{GRID // 2} grid pixels, got {patch}")
    folds = int(folds or min(5, *(len(g) for g in groups)))
    if not 2 <= folds <= min(len(g) for g in groups):
        raise ValueError(f"folds must be 2 to the size of the smaller group, got {folds}")
    features, labels, fold_of = [], [], []
    for label, group in enumerate(groups):
        for index, item in enumerate(group):
            rng = np.random.default_rng([int(seed), index, 7103])    # the same draw for the same scan index
            slices, body = _grid_slices(*_image_and_spacing(item))
            patches = _sample_patches(slices, body, int(patch), int(patches_per_volume), rng)
            features.append(patch_features(patches))
            labels.append(np.full(len(patches), label, float))
            fold_of.append(np.full(len(patches), index % folds))
    x, y, fold_of = np.concatenate(features), np.concatenate(labels), np.concatenate(fold_of)
    correct = np.zeros(len(y), bool)
    for fold in range(folds):
        train, test = fold_of != fold, fold_of == fold
        mean, sd = x[train].mean(axis=0), x[train].std(axis=0) + 1e-9
        w, b = _fit_logistic((x[train] - mean) / sd, y[train], int(steps))
        correct[test] = (((x[test] - mean) / sd) @ w + b > 0) == (y[test] > 0.5)
    return float(np.mean([correct[y == label].mean() for label in (0.0, 1.0)]))
