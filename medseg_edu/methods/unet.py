"""Segmentation with a 2D U-Net (encoder-decoder with skip connections), slice by slice."""

from __future__ import annotations

from . import deep


segment = deep.segmenter("unet", """Whole-gland mask (bool, the image's shape) from the U-Net, applied to every axial slice.

    The default network is the bundled ``medseg_edu.weights.load("unet")``, a
    :class:`~medseg_edu.nets.UNet` (notebook 06); pass ``model=`` to use one you trained.
    Skip connections hand the fine encoder maps to the decoder, so the borders follow the gland.
    """)


def decoder_step(below, skip, up, merge):
    """One level of the U-Net's expanding path, exactly as :class:`~medseg_edu.nets.UNet` runs it.

    Parameters
    ----------
    below : torch.Tensor, (N, 2C, H/2, W/2)
        The decoder's map from the level below (coarse: *what* is there).
    skip : torch.Tensor, (N, C, H, W)
        The encoder's map of this level, kept before pooling (fine: *where* it is).
    up : torch.nn.Module
        The learnt 2x upsampling, ``ConvTranspose2d(2C, C, 2, stride=2)``.
    merge : torch.nn.Module
        Two 3x3 convolutions from 2C to C channels (:func:`~medseg_edu.nets.conv_block`).

    Returns
    -------
    torch.Tensor, (N, C, H, W)
        ``merge(cat([skip, up(below)], channels))``: the skip's channels come first, the
        order the merge block's weights were trained with.
    """
    import torch

    return merge(torch.cat([skip, up(below)], dim=1))
