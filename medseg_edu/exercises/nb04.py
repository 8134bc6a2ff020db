"""Checkers for notebook 04 (patch CNN: segmentation as per-pixel classification)."""

from __future__ import annotations

import numpy as np

from . import ExerciseFailed, exercise


def _reference_patch(image, row, col, size):
    half = size // 2
    padded = np.pad(image, half)
    return padded[row:row + size, col:col + size]


@exercise("04.extract_patch")
def _extract_patch(extract_patch):
    rng = np.random.default_rng(4)
    image = rng.random((20, 24)).astype(np.float32) + 1.0  # no zeros inside: padding is visible
    for row, col, size in ((10, 12, 5), (0, 0, 7), (19, 23, 7), (3, 20, 9), (5, 5, 1)):
        got = np.asarray(extract_patch(image, row, col, size))
        expected = _reference_patch(image, row, col, size)
        if got.shape != expected.shape:
            raise ExerciseFailed(f"a patch of size {size} around ({row}, {col}) should have shape "
                                 f"{expected.shape}, yours has {got.shape} (pad the image first, so "
                                 "patches at the edge keep their full size)")
        if got[size // 2, size // 2] != image[row, col]:
            raise ExerciseFailed(f"the centre of your patch around ({row}, {col}) is not pixel "
                                 f"image[{row}, {col}]: check the offset after padding")
        if not np.allclose(got, expected):
            raise ExerciseFailed(f"the patch around ({row}, {col}), size {size}, differs from the "
                                 "expected one: outside the image the patch should hold zeros")
    return "every pixel, even in a corner, gets a full-size patch centred on it."


@exercise("04.pixel_reads")
def _pixel_reads(pixel_reads):
    cases = (((1, 96, 96), 33, 96 * 96 * 33 * 33), ((20, 96, 96), 33, 20 * 96 * 96 * 33 * 33),
             ((3, 10, 8), 5, 3 * 10 * 8 * 25))
    for shape, size, expected in cases:
        got = pixel_reads(shape, size)
        if not np.isclose(float(got), expected):
            if np.isclose(float(got), np.prod(shape)):
                raise ExerciseFailed("that is the number of patches; each patch also holds "
                                     "patch_size x patch_size pixels")
            raise ExerciseFailed(f"for a volume of {shape} (slices, rows, columns) and "
                                 f"{size} x {size} patches expected {expected:,}, got {got!r}")
    return (f"a 20-slice volume makes the patch CNN read {20 * 96 * 96 * 33 * 33:,} pixel values: "
            "each of the 184,320 pixels 1,089 times.")
