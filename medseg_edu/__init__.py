"""medseg_edu: helpers for the medseg-edu teaching notebooks.

Educational software. NOT for clinical use.

Layers (an import only points down):
  0. _checks, _device, expect, input checks, device and step budget, machine-stable verdicts,
     _bundled                  where every bundled file is (checkout and installed wheel alike)
  1. io, metrics, volumetry,   NIfTI/DICOM in/out, ``Volume``; pure numpy, spacing-aware measures
     recist, agreement, masks  (mL: volumetry; RECIST diameters: recist; Bland-Altman, ICC,
                               test-retest repeatability, coverage: agreement); mask clean-up
  2. data                      phantoms, MR rendering, MNI brain, MSD Task05, caches, datasets
  3. nets, weights, train      networks, the bundled weights and checkpoints (recipe, files, save, load),
                               training loop (and the training of the bundled networks)
  4. methods                   segmentation methods, each with ``segment(image, spacing)``
  5. viz, widgets, exercises, showdown  figures, explorers, exercise checks, comparison
"""

from ._checks import BlankImageError, SpacingUnitError
from ._device import device, seed_everything, step_budget
from .expect import expect

__version__ = "0.1.0"
__all__ = ["BlankImageError", "SpacingUnitError", "device", "expect", "seed_everything", "step_budget",
           "__version__"]
