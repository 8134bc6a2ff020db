"""Checkers for notebook 10 (real scans)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .. import volumetry
from . import ExerciseFailed, exercise


def _share_outside(mask, structure=None) -> float:
    """Reference: fraction of foreground voxels outside the largest connected piece."""
    mask = np.asarray(mask) > 0
    labelled, n = ndimage.label(mask, structure=structure)
    if n == 0:
        return 0.0
    sizes = np.bincount(labelled.ravel())[1:]
    return float(1.0 - sizes.max() / sizes.sum())


def _random_masks():
    """Fresh masks with a known answer: blobs, specks, touching corners, a label map, an empty mask."""
    masks = []
    for seed in (11, 12, 13):
        rng = np.random.default_rng([seed, 1010])
        shape = tuple(int(n) for n in rng.integers(18, 30, 3))
        field = ndimage.gaussian_filter(rng.standard_normal(shape), 1.5)
        masks.append(field > np.quantile(field, rng.uniform(0.7, 0.85)))   # several blobs of unequal size
    corners = np.zeros((6, 6, 6), bool)
    corners[1:3, 1:3, 1:3] = True
    corners[3:4, 3:4, 3:4] = True        # touches the block only at a corner: a separate piece
    masks.append(corners)
    labels = np.zeros((10, 10, 5), np.uint8)
    labels[2:7, 2:7, 1:4] = 1
    labels[3:6, 3:6, 2] = 2             # a "TZ" inside: still one gland
    labels[8, 8, 4] = 2                 # and one stray voxel
    masks.append(labels)
    masks.append(np.zeros((8, 8, 4), bool))
    return masks


@exercise("10.share_outside_largest")
def _share_outside_largest(share_outside_largest):
    for mask in _random_masks():
        expected = _share_outside(mask)
        got = share_outside_largest(mask.copy())
        if got is None:
            raise ExerciseFailed("your function returned None - not implemented yet? Return a fraction 0-1")
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise ExerciseFailed(f"return one number (a fraction 0-1), got {got!r}") from None
        if np.isclose(got, expected, atol=1e-9):
            continue
        what = f"for a mask of shape {mask.shape} with {int(np.count_nonzero(mask))} foreground voxels"
        if not mask.any():
            raise ExerciseFailed(f"an empty mask has nothing outside its largest piece: return 0.0, you gave {got!r}")
        if np.isclose(got, 100 * expected):
            raise ExerciseFailed(f"{what} you gave a percentage ({got:.2f}); return a fraction 0-1")
        if np.isclose(got, 1 - expected):
            raise ExerciseFailed(f"{what} you returned the share *inside* the largest piece; we want outside")
        if np.isclose(got, _share_outside(mask, np.ones((3, 3, 3)))):
            raise ExerciseFailed(f"{what} you counted pieces touching at an edge or corner as one; use face "
                                 "connectivity (scipy.ndimage.label's default), as the quality check does")
        raise ExerciseFailed(f"{what} the share outside the largest 3D piece is {expected:.4f}, you gave {got:.4f} "
                             "(label the pieces in 3D, not slice by slice, and count voxels > 0)")
    return "the same number the quality report calls 'pieces' (in %)."


def _dicom_cases():
    """(mask, pixel spacing, slice positions in file order, expected mL)."""
    cases = []
    rng = np.random.default_rng(1010)
    for pixel, step, n_z in (((0.5, 0.5), 3.0, 19), ((0.625, 0.6), 3.6, 12), ((0.5, 0.5), 4.0, 8)):
        mask = np.zeros((40, 36, n_z), np.uint8)
        mask[8:30, 10:28, 2:n_z - 2] = 1
        mask[12:24, 14:22, 3:n_z - 3] = 2             # a TZ label inside the gland
        positions = 17.3 - step * np.arange(n_z)      # decreasing, as in the bundled series
        positions = positions[rng.permutation(n_z)]    # the order the files come in
        n = int(np.count_nonzero(mask))
        cases.append((mask, pixel, positions, volumetry.voxels_to_ml(n, (*pixel, step))))
    return cases


@exercise("10.dicom_volume")
def _dicom_volume(mask_volume_ml):
    for mask, pixel, positions, expected in _dicom_cases():
        got = mask_volume_ml(mask.copy(), pixel, positions.copy())
        if got is None:
            raise ExerciseFailed("your function returned None: return the volume in mL")
        got = float(got)
        if np.isclose(got, expected, rtol=1e-6):
            continue
        n = int(np.count_nonzero(mask))
        step = abs(float(np.median(np.diff(np.sort(positions)))))
        if np.isclose(got, expected * 1000, rtol=1e-6):
            raise ExerciseFailed("your number is in mm^3: divide by 1000 to get mL")
        if np.isclose(got, mask.astype(float).sum() * pixel[0] * pixel[1] * step / 1000, rtol=1e-6):
            raise ExerciseFailed("you summed the label values (a TZ voxel counts 2): count the voxels > 0")
        if np.isclose(got, n * pixel[0] * pixel[1] / 1000, rtol=1e-6):
            raise ExerciseFailed("the slice step is missing: every voxel is pixel x pixel x slice step")
        # the likeliest steps taken from the positions in file order, where neighbours in the list
        # are not neighbours in space: the mean, median or largest gap, or the first two files' gap
        gaps = np.abs(np.diff(positions))
        file_order = (gaps.mean(), np.median(gaps), gaps.max(), abs(positions[1] - positions[0]))
        if any(np.isclose(got, n * pixel[0] * pixel[1] * s / 1000, rtol=1e-6) for s in file_order):
            raise ExerciseFailed("the positions come in file order: sort them before taking the step between "
                                 "neighbouring slices")
        raise ExerciseFailed(f"{n} voxels of {pixel[0]} x {pixel[1]} mm with a slice step of {step:g} mm "
                             f"are {expected:.3f} mL, you gave {got:.3f}")
    return "the slice spacing comes from where the slices are, not from the file order."
