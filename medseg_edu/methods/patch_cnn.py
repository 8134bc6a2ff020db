"""Segmentation by per-voxel classification: a patch CNN slid over every pixel."""

from __future__ import annotations

from ._deep import segment_volume


def segment(image, spacing, *, model=None, threshold=0.5, largest_component=True, batch_size=1024,
            device=None):
    """Whole-gland mask from the patch CNN: each pixel classified from its own 33 x 33 patch.

    Deliberately honest sliding-window inference: one forward pass per pixel
    of every slice of the 96 x 96 network grid - about 9,200 per slice - which
    is why this method is slow (notebook 04 measures it against the FCN).

    Parameters
    ----------
    image : np.ndarray, (x, y, z)
        T2-weighted scan; any intensity scale (each scan is normalised).
    spacing : tuple of 3 float
        Voxel size in mm (slices are resampled to the 1.25 mm network grid).
    model : PatchCNN, optional
        Default: the bundled weights in data/weights/patch_cnn.pt.
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
    return segment_volume("patch_cnn" if model is None else model, image, spacing, threshold=threshold,
                          largest_component_only=largest_component, batch_size=batch_size,
                          device=device, per_pixel=True)
