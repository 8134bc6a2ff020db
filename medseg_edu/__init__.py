"""medseg_edu: helpers for the medseg-edu teaching notebooks.

Educational software. NOT for clinical use.

Layers (an import only points down):
  0. _checks, _device, expect  input checks, device and step budget, machine-stable verdicts
  1. io                        NIfTI in/out, ``Volume``
  2. data                      phantoms, MR rendering, MNI brain, MSD Task05, datasets
  3. methods, nets, train      segmentation methods, networks, training loop
  4. metrics, volumetry        pure numpy, spacing-aware
  5. viz, widgets, exercises   figures, interactive explorers, exercise checks
"""

from ._device import device, seed_everything, step_budget
from .expect import expect

__version__ = "0.1.0"
__all__ = ["device", "expect", "seed_everything", "step_budget", "__version__"]
