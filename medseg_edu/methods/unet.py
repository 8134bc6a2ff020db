"""Segmentation with a 2D U-Net (encoder-decoder with skip connections), slice by slice."""

from __future__ import annotations

from . import deep


def segment(image, spacing, *, model=None, threshold=0.5, largest_component=True, batch_size=16, device=None,
            quality="warn", tta=True, return_report=False):
    """Whole-gland mask (bool, the image's shape) from the U-Net, applied to every axial slice.

    The default network is the bundled ``medseg_edu.weights.load("unet")``, a
    :class:`~medseg_edu.nets.UNet` (notebook 06); pass ``model=`` to use one you trained.
    Skip connections hand the fine encoder maps to the decoder, so the borders follow the gland.

    The prediction is averaged with that of the mirrored scan (``tta``) and checked for
    plausibility (``quality``: a warning names what looks wrong).
    Parameters, defaults and result: :func:`medseg_edu.methods.deep.segment_with`.
    """
    return deep.segment_with("unet", image, spacing, model=model, threshold=threshold,
                             largest_component=largest_component, batch_size=batch_size, device=device,
                             quality=quality, tta=tta, return_report=return_report)
