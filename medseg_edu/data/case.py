"""The ``Case`` container shared by phantoms and the real MSD loader, and the phantoms' common parts.

Both phantom generations (:func:`~medseg_edu.data.prostate_phantom` and
:func:`~medseg_edu.data.pelvis.prostate_phantom_v2`) draw on a grid centred on
the field of view (:func:`centred_axes`, :func:`centred_affine`) and describe
their surroundings with the same :class:`AnatomyMasks`, each with its own
tissue table.
"""

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
        (bladder, rectum, fat, muscle, bone, body, ...; an :class:`AnatomyMasks`).
        Empty for real data.
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


def centred_axes(shape, spacing):
    """Voxel-centre positions (mm, float32) along each axis of a grid centred on the field of view.

    Parameters
    ----------
    shape : sequence of int
        Grid size (voxels).
    spacing : sequence of float
        Voxel size (mm), one per axis.

    Returns
    -------
    list of numpy.ndarray
        One float32 array per axis: ``(i - (n - 1) / 2) * spacing`` mm for voxel ``i``.
    """
    return [((np.arange(n) - (n - 1) / 2.0) * s).astype(np.float32) for n, s in zip(shape, spacing)]


def centred_affine(shape, spacing):
    """4 x 4 voxel-to-world (mm) matrix, float64, of a grid centred on the field of view.

    The voxel sizes ``spacing`` (mm) on the diagonal; the origin, the first voxel's
    centre, at ``-(n - 1) / 2 * spacing`` mm along each axis of ``shape``, so that
    world (0, 0, 0) is the field of view's centre, as in :func:`centred_axes`.
    """
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = [-(n - 1) / 2.0 * s for n, s in zip(shape, spacing)]
    return affine


class AnatomyMasks(Mapping):
    """``{structure name: bool mask}`` of a phantom's tissue map, computed on demand.

    A read-only mapping (``get``, ``keys``, ``items``, ``dict(...)`` and ``in`` all
    work); the masks are not stored, so a case stays small. ``"body"`` (every voxel
    but air) comes first, then one structure per group of tissues.

    Parameters
    ----------
    tissue : numpy.ndarray of int
        The phantom's tissue map.
    codes : dict of str -> int
        Its tissue table (``TISSUES`` of phantom v1, ``TISSUES_V2`` of v2), with an ``"air"`` code.
    groups : dict of str -> tuple of str
        Each structure and the tissues it is made of.
    drawn_by : str
        The phantom's name in the error for a structure it does not draw.
    """

    def __init__(self, tissue, codes, groups, drawn_by="the phantom"):
        self._tissue, self._codes, self._groups, self._drawn_by = tissue, codes, dict(groups), drawn_by

    def __getitem__(self, name):
        if name == "body":
            return self._tissue != self._codes["air"]
        if name not in self._groups:
            raise KeyError(f"no structure {name!r}; {self._drawn_by} draws {list(self)}")
        return np.isin(self._tissue, [self._codes[t] for t in self._groups[name]])

    def __iter__(self):
        return iter(["body", *self._groups])

    def __len__(self):
        return len(self._groups) + 1

    def __repr__(self):
        return f"<anatomy masks: {', '.join(self)}>"
