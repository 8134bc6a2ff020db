"""Voxel-based segmentation by one global intensity threshold, plus clean-up.

A threshold looks at each voxel on its own: bright enough (or dark enough) and
it is "in". Notebook 01 shows why that cannot isolate the prostate on
T2-weighted MR (the gland's bright PZ looks like fat, its darker TZ like
muscle and marrow) and how much clean-up with connected components and
morphology recovers.

Entry point, like every method::

    mask = segment(image, spacing, threshold=None, polarity="auto", cleanup=True)
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.filters import threshold_multiotsu, threshold_otsu
from skimage.measure import label
from skimage.morphology import closing, opening

from .._checks import as_scan, as_spacing
# The mask helpers live in medseg_edu.masks; their names stay here for notebook 01.
from ..masks import ball as ball_footprint
from ..masks import largest_component
from ..volumetry import voxels_to_ml
from .quality import warn_if_unlike_a_scan

POLARITIES = ("auto", "above", "below")


def _check_mask(mask, spacing):
    mask = np.asarray(mask)
    if mask.ndim != 3:
        raise ValueError(f"expected a 3D mask (x, y, z), got shape {mask.shape}")
    return mask.astype(bool), as_spacing(spacing, 3, shape=mask.shape)


def centre_component(mask, spacing, *, min_ml=0.5):
    """The connected component nearest the centre of the field of view.

    Prostate scans are centred on the gland, so this is a better guess than
    the largest component (usually fat or muscle). Components smaller than
    ``min_ml`` (mL) are ignored.

    Parameters
    ----------
    mask : np.ndarray of bool, (x, y, z)
    spacing : tuple of 3 float, mm
    min_ml : float
        Smallest component considered, in mL.
    """
    mask, spacing = _check_mask(mask, spacing)
    labelled = label(mask, connectivity=1)
    n = int(labelled.max())
    if n == 0:
        return mask
    sizes_ml = voxels_to_ml(np.bincount(labelled.ravel(), minlength=n + 1)[1:], spacing)
    centres = np.array(ndimage.center_of_mass(mask, labelled, range(1, n + 1)))
    middle = (np.array(mask.shape) - 1) / 2.0
    distance_mm = np.linalg.norm((centres - middle) * np.array(spacing), axis=1)
    distance_mm[sizes_ml < min_ml] = np.inf
    if not np.isfinite(distance_mm).any():
        return largest_component(mask)
    return labelled == int(np.argmin(distance_mm)) + 1


def clean_up(mask, spacing, *, opening_mm=2.0, closing_mm=2.0, keep="centre", fill_holes=True):
    """Morphological clean-up of a rough mask, structuring elements sized in mm.

    Steps, in order: opening (erase specks and cut thin bridges to
    neighbouring structures), closing (bridge small gaps), keep one connected
    component, fill holes slice by slice.

    Parameters
    ----------
    mask : np.ndarray of bool, (x, y, z)
    spacing : tuple of 3 float
        Voxel size in mm.
    opening_mm, closing_mm : float
        Radii of the ball-shaped structuring elements in mm (0 skips the step).
    keep : {"centre", "largest", None}
        Which connected component to keep: the one nearest the centre of the
        field of view, the largest, or all.
    fill_holes : bool
        Fill enclosed holes in every axial slice.

    Returns
    -------
    np.ndarray of bool, same shape
    """
    mask, spacing = _check_mask(mask, spacing)
    if keep not in ("centre", "largest", None):
        raise ValueError(f"keep must be 'centre', 'largest' or None, got {keep!r}")
    if opening_mm > 0:
        mask = opening(mask, ball_footprint(spacing, opening_mm))
    if closing_mm > 0:
        mask = closing(mask, ball_footprint(spacing, closing_mm))
    if keep == "centre":
        mask = centre_component(mask, spacing)
    elif keep == "largest":
        mask = largest_component(mask)
    if fill_holes:
        mask = ndimage.binary_fill_holes(mask, structure=in_plane_structure())
    return mask


def in_plane_structure():
    """In-plane 4-connectivity structure, shape (3, 3, 1): hole filling with it stays within each axial slice."""
    s = np.zeros((3, 3, 1), bool)
    s[1, :, 0] = s[:, 1, 0] = True
    return s


def apply_threshold(image, threshold, polarity="above"):
    """Voxels at or above (``"above"``) or strictly below (``"below"``) the threshold."""
    if polarity not in ("above", "below"):
        raise ValueError(f"polarity must be 'above' or 'below', got {polarity!r}")
    image = np.asarray(image)
    return image >= threshold if polarity == "above" else image < threshold


def best_global_threshold(image, truth, *, candidates=199):
    """The best single threshold *chosen with the truth*: an upper bound for any global threshold.

    Tries ``candidates`` thresholds (evenly spaced intensity quantiles, 0.5 to
    99.5 %) in both polarities and returns the one with the highest Dice. No
    real method can do better with one threshold, since real methods do not
    know the truth.

    Parameters
    ----------
    image : np.ndarray
        Any shape, intensities.
    truth : np.ndarray of bool
        Same shape, the reference mask.
    candidates : int
        Number of thresholds tried per polarity.

    Returns
    -------
    threshold : float
        In image intensity units.
    polarity : {"above", "below"}
    dice : float
        Dice of ``apply_threshold(image, threshold, polarity)`` with ``truth``.
    """
    image = np.asarray(image, np.float64)
    truth = np.asarray(truth, bool)
    if image.shape != truth.shape:
        raise ValueError(f"image {image.shape} and truth {truth.shape} must have the same shape")
    if not np.all(np.isfinite(image)):
        raise ValueError("image contains NaN or infinite values")
    every = np.sort(image.ravel())
    inside = np.sort(image[truth])
    n_truth = inside.size
    thresholds = np.unique(np.quantile(every, np.linspace(0.005, 0.995, candidates)))
    # counts of voxels strictly below each threshold; "above" means >= threshold
    below_all = np.searchsorted(every, thresholds, side="left")
    below_truth = np.searchsorted(inside, thresholds, side="left")
    dice_below = 2.0 * below_truth / np.maximum(below_all + n_truth, 1)
    dice_above = 2.0 * (n_truth - below_truth) / np.maximum(every.size - below_all + n_truth, 1)
    i, j = int(np.argmax(dice_above)), int(np.argmax(dice_below))
    if dice_above[i] >= dice_below[j]:
        return float(thresholds[i]), "above", float(dice_above[i])
    return float(thresholds[j]), "below", float(dice_below[j])


def otsu(image, classes=2):
    """Otsu's threshold(s) of the image's histogram (scikit-image).

    ``classes=2`` gives one threshold (float); ``classes >= 3`` gives
    ``classes - 1`` thresholds (multi-Otsu, an array).
    """
    # Otsu only needs the histogram; a flat view also keeps scikit-image from taking a
    # 3-slice volume for an RGB picture.
    values = np.asarray(image).ravel()
    if classes == 2:
        return float(threshold_otsu(values))
    return threshold_multiotsu(values, classes=classes)


def segment(image, spacing, *, threshold=None, polarity="auto", cleanup=True, opening_mm=2.0,
            closing_mm=2.0, keep="centre"):
    """Global-threshold segmentation of the gland, optionally cleaned up.

    Parameters
    ----------
    image : np.ndarray, (x, y, z)
        The scan, any intensity units.
    spacing : tuple of 3 float
        Voxel size in mm.
    threshold : float, optional
        In image units. Default: Otsu's threshold of the whole volume
        (``skimage.filters.threshold_otsu``).
    polarity : {"auto", "above", "below"}
        Which side of the threshold is gland. ``"auto"`` picks the side of the
        median intensity in a 30 mm box at the centre of the field of view,
        where prostate scans are centred.
    cleanup : bool
        Apply :func:`clean_up` (opening, closing, the component nearest the
        centre, hole filling).
    opening_mm, closing_mm : float
        Radii of the clean-up structuring elements, mm.
    keep : {"centre", "largest", None}
        Which component the clean-up keeps.

    Returns
    -------
    np.ndarray of bool, the image's shape
    """
    if polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {POLARITIES}, got {polarity!r}")
    image, spacing = as_scan(image, spacing)
    warn_if_unlike_a_scan(image.shape, spacing, method="threshold")
    if threshold is None:
        threshold = otsu(image)
    elif not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    if polarity == "auto":
        centre = tuple(n // 2 for n in image.shape)
        box = tuple(slice(max(0, c - int(15 / s)), c + int(15 / s) + 1) for c, s in zip(centre, spacing))
        polarity = "above" if np.median(image[box]) >= threshold else "below"
    mask = apply_threshold(image, threshold, polarity)
    if cleanup:
        mask = clean_up(mask, spacing, opening_mm=opening_mm, closing_mm=closing_mm, keep=keep)
    return mask
