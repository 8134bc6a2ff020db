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


#: Library calls that would slide the window for the learner.
SLIDING_WINDOW_SHORTCUTS = ("unfold", "Unfold", "patch_probabilities", "predict_proba", "probability_volume",
                            "segment_with", "class_probabilities")


def _patch_model(patch_size, seed):
    """A small untrained patch CNN with non-trivial weights, in eval mode (BatchNorm statistics fixed)."""
    import torch

    from ..nets import PatchCNN

    torch.manual_seed(seed)
    model = PatchCNN(patch_size=patch_size, width=2).eval()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
    return model


def _window_scores(model, image, patch_size):
    """The model's two raw class scores for every pixel's patch, (2, rows, cols)."""
    import torch

    half = patch_size // 2
    padded = torch.nn.functional.pad(torch.from_numpy(image)[None, None], (half,) * 4)
    patches = torch.nn.functional.unfold(padded, patch_size).transpose(1, 2).reshape(-1, 1, patch_size, patch_size)
    with torch.no_grad():
        return model(patches).T.reshape(2, *image.shape).numpy()


@exercise("04.sliding_window")
def _sliding_window(sliding_window):
    import torch

    from ..methods.deep import patch_probabilities
    from ._shortcuts import refuse_shortcut

    refuse_shortcut(sliding_window, names=SLIDING_WINDOW_SHORTCUTS, objects=(patch_probabilities,),
                    task="the loop that pads the slice, cuts one patch per pixel and classifies it")
    rng = np.random.default_rng(404)
    for seed, ((rows, cols), patch_size) in enumerate((((12, 9), 9), ((7, 11), 5), ((10, 10), 13))):
        model = _patch_model(patch_size, seed)
        image = rng.random((rows, cols)).astype(np.float32) + 0.5   # no zeros inside: the padding shows
        expected = patch_probabilities(model, image[None], device="cpu")[0]
        with torch.no_grad():
            got = sliding_window(model, image.copy(), patch_size)
        if isinstance(got, torch.Tensor):
            got = got.detach().cpu().numpy()
        got = np.asarray(got, dtype=np.float64)
        where = f"on a {rows} x {cols} slice with {patch_size} x {patch_size} patches"
        half = patch_size // 2
        if got.shape != expected.shape:
            hint = ""
            if got.shape == (rows - 2 * half, cols - 2 * half):
                hint = (" - that is the 'valid' window, only where a whole patch fits inside the slice: pad by "
                        "patch_size // 2 first, so every pixel, even in a corner, gets its patch")
            elif got.shape == (cols, rows):
                hint = " - rows and columns are swapped: reshape to image.shape"
            raise ExerciseFailed(f"{where} the map should have the slice's shape {expected.shape}; "
                                 f"yours has {got.shape}{hint}")
        if np.allclose(got, expected, rtol=1e-4, atol=1e-5):
            continue
        hint = ""
        scores = _window_scores(model, image, patch_size)
        if (got.min() < -1e-6 or got.max() > 1 + 1e-6 or np.allclose(got, scores[1], atol=1e-5)
                or np.allclose(got, scores[1] - scores[0], atol=1e-5)):
            hint = " (those are raw scores: softmax over the two classes, then take the gland's, index 1)"
        elif np.allclose(got, 1 - expected, atol=1e-5):
            hint = " (that is the background's probability: the gland is class 1)"
        elif np.isin(np.unique(got), (0.0, 1.0)).all():
            hint = " (return the probability, not the thresholded label)"
        elif rows != cols and np.allclose(got, expected.T.reshape(expected.shape), atol=1e-5):
            hint = " (the patches are in column order: cut them row by row, as reshape(image.shape) expects)"
        raise ExerciseFailed(f"{where} your map differs from the patch CNN's sliding window by up to "
                             f"{np.abs(got - expected).max():.3g}{hint}")
    return ("one forward pass per pixel, every patch centred on its pixel: that is all a patch CNN's "
            "segmentation is - and why it is slow.")
