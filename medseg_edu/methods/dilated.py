"""Segmentation with a 2D dilated CNN (no pooling; dilations 1, 2, 4, 8, ...), slice by slice."""

from __future__ import annotations

from . import deep


segment = deep.segmenter("dilated", """Whole-gland mask (bool, the image's shape) from the dilated CNN, applied to every axial slice.

    The default network is the bundled ``medseg_edu.weights.load("dilated")``, a
    :class:`~medseg_edu.nets.DilatedNet` (notebook 07); pass ``model=`` to use one you trained.
    Growing dilations widen the receptive field without pooling: every layer keeps the full
    slice size.
    """)
