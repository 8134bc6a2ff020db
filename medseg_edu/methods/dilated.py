"""Segmentation with a 2D dilated CNN (no pooling; dilations 1, 2, 4, 8, ...), slice by slice."""

from __future__ import annotations

from ._deep import segment_volume


def segment(image, spacing, *, model=None, threshold=0.5, largest_component=True, batch_size=16, device=None):
    """Whole-gland mask from the DilatedNet network, applied to every axial slice.

    Parameters
    ----------
    image : np.ndarray, (x, y, z)
        T2-weighted scan; any intensity scale (each scan is normalised).
    spacing : tuple of 3 float
        Voxel size in mm. Slices are resampled in-plane to the network's
        1.25 mm grid and the probabilities back to the scan's grid.
    model : torch.nn.Module, optional
        A trained network; default: the bundled weights in data/weights/dilated.pt.
    threshold : float
        Gland probability above which a voxel is gland.
    largest_component : bool
        Keep only the largest connected 3D region (the gland is one piece).

    Returns
    -------
    np.ndarray of bool, the image's shape
    """
    return segment_volume("dilated" if model is None else model, image, spacing, threshold=threshold,
                          largest_component_only=largest_component, batch_size=batch_size, device=device)
