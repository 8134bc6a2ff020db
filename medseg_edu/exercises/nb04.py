"""Checkers for notebook 04 (patch CNN: segmentation as per-pixel classification)."""

from __future__ import annotations

import numpy as np

from . import ExerciseFailed, exercise


@exercise("04.extract_patch")
def _extract_patch(extract_patch):
    from ..methods.patch_cnn import extract_patch as reference

    rng = np.random.default_rng(44)
    for rows, cols in ((20, 24), (9, 9), (31, 17)):
        image = (rng.random((rows, cols)) + 1.0).astype(np.float32)  # no zeros inside: padding is visible
        centres = [(rows // 2, cols // 2), (0, 0), (rows - 1, cols - 1), tuple(rng.integers(0, (rows, cols)))]
        for (row, col), size in zip(centres * 2, (5, 7, 9, 3, 1, 11, 7, 5)):
            row, col = int(row), int(col)
            got = np.asarray(extract_patch(image, row, col, size))
            expected = reference(image, row, col, size)
            if got.shape != expected.shape:
                raise ExerciseFailed(f"a patch of size {size} around ({row}, {col}) should have shape "
                                     f"{expected.shape}, yours has {got.shape} (pad the image first, so patches at the "
                                     "edge keep their full size; in the padded image the patch starts at "
                                     "row, col - not row - half)")
            if got[size // 2, size // 2] != image[row, col]:
                raise ExerciseFailed(f"the centre of your patch around ({row}, {col}) is not pixel "
                                     f"image[{row}, {col}]: padding by `half` moves pixel (r, c) to "
                                     "(r + half, c + half) - check the offset")
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
