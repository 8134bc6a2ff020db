"""Segmentation methods, one module each, all with the same entry point::

    mask = medseg_edu.methods.<name>.segment(image, spacing, **params)

``image`` is a 3D (x, y, z) array, ``spacing`` its voxel size in mm; ``mask``
is a bool array of the same shape (the whole gland). Any notebook - and the
showdown - can therefore swap one method for another. The deep methods
(patch_cnn, fcn, unet, dilated) share :mod:`medseg_edu.methods.deep`, which is
also the public inference API (``deep.predict_proba`` for a batch of grid slices).
They check every mask they return with
:func:`medseg_edu.methods.quality.quality_report` (volume, pieces, field-of-view
edges, compactness, test-time-augmentation agreement, confidence, an MR-like
input) and warn when it looks wrong; ``quality_report(image, spacing, mask)``
judges the mask of any method, and ``quality.plausibility`` compares a mask of a
real scan (no label) with what the real expert glands look like.
:mod:`medseg_edu.methods.held_out` measures the networks on phantoms of the real
gland shapes they never saw, apex and base included.

Every ``segment`` starts with the same check (:func:`medseg_edu._checks.as_scan`):
a 3D, finite, numeric image, a spacing in mm (:class:`~medseg_edu.SpacingUnitError`
for one typed in metres or micrometres) and something to segment
(:class:`~medseg_edu.BlankImageError` for a constant or near-constant image).
The methods without a network (threshold, snake, atlas) then warn when the array's
geometry is unlike an axial prostate scan's (:func:`medseg_edu.methods.quality.warn_if_unlike_a_scan`:
field of view, slice thickness; an array in SimpleITK's (z, y, x) order is named as such),
since they look for the gland in millimetres round the centre of a pelvic field of view.
"""

from __future__ import annotations

import importlib

#: In the order the notebooks teach them.
METHODS = ("threshold", "snake", "atlas", "patch_cnn", "fcn", "unet", "dilated")


def get(name: str):
    """The module of method ``name`` (it has a ``segment`` function)."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose one of {METHODS}")
    return importlib.import_module(f"{__name__}.{name}")
