"""Segmentation with a 2D fully convolutional network (no skip connections), slice by slice."""

from __future__ import annotations

from .._checks import as_scan
from . import deep


def segment(image, spacing, *, model=None, threshold=0.5, largest_component=True, batch_size=16, device=None,
            quality="warn", tta=True, return_report=False):
    """Whole-gland mask (bool, the image's shape) from the FCN, applied to every axial slice.

    The default network is the bundled ``medseg_edu.weights.load("fcn")``, a
    :class:`~medseg_edu.nets.FCN` (notebook 05); pass ``model=`` to use one you trained.
    Its last decision is made on a map 8 times coarser than the slice, so its borders are smooth
    and rounded.

    The prediction is averaged with that of the mirrored scan (``tta``) and checked for
    plausibility (``quality``: a warning names what looks wrong).
    Parameters, defaults and result: :func:`medseg_edu.methods.deep.segment_with`.
    """
    image, spacing = as_scan(image, spacing)
    return deep.segment_with("fcn", image, spacing, model=model, threshold=threshold,
                             largest_component=largest_component, batch_size=batch_size, device=device,
                             quality=quality, tta=tta, return_report=return_report)
