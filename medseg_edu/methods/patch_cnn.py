"""Segmentation by per-voxel classification: a patch CNN slid over every pixel."""

from __future__ import annotations

import numpy as np

from . import deep


def segment(image, spacing, *, model=None, threshold=0.5, largest_component=True, batch_size=1024,
            device=None, quality="warn", return_report=False):
    """Whole-gland mask from the patch CNN: each pixel classified from its own 33 x 33 patch.

    Deliberately honest sliding-window inference: one forward pass per pixel
    of every slice of the network grid (96 x 96: 9,216 per slice) - which
    is why this method is slow (notebook 04 measures it against the FCN).

    Parameters
    ----------
    image : np.ndarray, (x, y, z)
        T2-weighted scan; any intensity scale (each scan is normalised).
    spacing : tuple of 3 float
        Voxel size in mm (slices are resampled to the network grid, ``PIXEL_MM`` = 1.25 mm pixels).
    model : PatchCNN, optional
        Default: the bundled one, ``medseg_edu.weights.load("patch_cnn")``.
    threshold : float
        Gland probability above which a voxel is gland.
    largest_component : bool
        Keep only the largest connected 3D region (the gland is one piece).
    batch_size : int
        Patches per forward pass (memory: about 4.4 kB of input per patch).
    device : str or torch.device, optional
    quality : {"warn", "ignore", "raise"}
        What an implausible mask does (:func:`medseg_edu.methods.quality.quality_report`):
        a ``UserWarning`` naming the failed checks, nothing, or a ``ValueError``.
    return_report : bool
        Also return the quality report: ``mask, report = segment(...)``.

    Returns
    -------
    np.ndarray of bool, the image's shape
        (and the ``QualityReport`` with ``return_report=True``). No test-time augmentation:
        the sliding window is slow enough once.
    """
    return deep.segment_with("patch_cnn", image, spacing, model=model, threshold=threshold,
                             largest_component=largest_component, batch_size=batch_size, device=device,
                             quality=quality, return_report=return_report)


def extract_patch(image, row, col, size):
    """The ``size x size`` patch centred on ``image[row, col]``, zero-padded at the border.

    What the patch CNN sees for one pixel (notebook 04): every pixel, even in a
    corner, gets a full patch, the part outside the image filled with zeros.

    Parameters
    ----------
    image : np.ndarray, (rows, columns)
    row, col : int
        The centre pixel, inside the image.
    size : int
        Odd patch side in pixels (33 on the 1.25 mm grid: 41 mm).

    Returns
    -------
    np.ndarray, (size, size)
        A copy; ``patch[size // 2, size // 2] == image[row, col]``.

    Examples
    --------
    >>> import numpy as np
    >>> extract_patch(np.arange(1, 10).reshape(3, 3), 0, 0, 3)
    array([[0, 0, 0],
           [0, 1, 2],
           [0, 4, 5]])
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"extract_patch needs a 2D image, got shape {image.shape}")
    if size < 1 or size % 2 == 0:
        raise ValueError(f"size must be a positive odd number of pixels, got {size}")
    if not (0 <= row < image.shape[0] and 0 <= col < image.shape[1]):
        raise ValueError(f"centre ({row}, {col}) is outside the image of shape {image.shape}")
    half = size // 2
    padded = np.pad(image, half)  # pixel (r, c) of the image is (r + half, c + half) here
    return padded[row:row + size, col:col + size].copy()
