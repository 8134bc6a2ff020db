"""Segmentation with a 2D fully convolutional network (no skip connections), slice by slice."""

from __future__ import annotations

from . import deep


segment = deep.segmenter("fcn", """Whole-gland mask (bool, the image's shape) from the FCN, applied to every axial slice.

    The default network is the bundled ``medseg_edu.weights.load("fcn")``, a
    :class:`~medseg_edu.nets.FCN` (notebook 05); pass ``model=`` to use one you trained.
    Its last decision is made on a map 8 times coarser than the slice, so its borders are smooth
    and rounded.
    """)
