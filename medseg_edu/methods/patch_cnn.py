"""Segmentation by per-voxel classification: a patch CNN slid over every pixel."""

from __future__ import annotations

from . import deep


def segment(image, spacing, *, model=None, threshold=0.5, largest_component=True, batch_size=1024,
            device=None):
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

    Returns
    -------
    np.ndarray of bool, the image's shape
    """
    return deep.segment_with("patch_cnn", image, spacing, model=model, threshold=threshold,
                             largest_component=largest_component, batch_size=batch_size, device=device)
