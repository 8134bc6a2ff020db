"""The ``Case`` container shared by phantoms and the real MSD loader."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..volumetry import volume_ml


@dataclass
class Case:
    """One prostate MR examination with its truth.

    Attributes
    ----------
    image : np.ndarray
        T2-weighted image, float32, axes (x, y, z) in RAS; z is the slice axis.
    labels : np.ndarray
        uint8, same shape: 0 background, 1 peripheral zone, 2 transition zone.
    spacing : tuple of float
        Voxel size in mm, one value per axis.
    affine : np.ndarray
        4 x 4 voxel-to-world (mm) matrix.
    name : str
        Identifier, e.g. ``"phantom_0007"`` or ``"prostate_00"``.
    anatomy : Mapping of str -> np.ndarray
        Boolean masks of the surrounding structures the phantom drew
        (bladder, rectum, fat, muscle, bone, body, ...). Empty for real data.
    adc : np.ndarray or None
        Apparent diffusion coefficient map (real MSD data only).
    meta : dict
        Anything else: generator parameters, source file names.
    """

    image: np.ndarray
    labels: np.ndarray
    spacing: tuple
    affine: np.ndarray
    name: str = ""
    anatomy: Mapping = field(default_factory=dict)
    adc: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def gland(self) -> np.ndarray:
        """Whole-gland mask (PZ or TZ), bool."""
        return self.labels > 0

    @property
    def gland_volume_ml(self) -> float:
        """True whole-gland volume in mL (voxel count x voxel volume)."""
        return volume_ml(self.labels, self.spacing)

    def __repr__(self) -> str:
        sp = " x ".join(f"{s:g}" for s in self.spacing)
        return (f"Case({self.name!r}, shape={self.image.shape}, spacing={sp} mm, "
                f"gland={self.gland_volume_ml:.1f} mL)")
