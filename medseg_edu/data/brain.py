"""The bundled MNI ICBM152 brain, simulated atrophy and noisy rescans.

:func:`mni_brain` loads the 2 mm MNI ICBM152 2009a symmetric template shipped
in ``data/mni/`` (T1 plus grey- and white-matter probability maps; see
``data/README.md`` for provenance and licence). It works offline.

:func:`simulate_atrophy` shrinks the brain tissue by an exact, known
percentage while the skull (the intracranial outline) stays where it is, and
:func:`brain_scan` renders a fresh noisy T1 "rescan" from the tissue maps.
Together they let notebook 08 compare a true atrophy rate with the
measurement noise of scanning and segmenting the same brain twice.

Axes are RAS ``(x, y, z)``, spacing in mm (2 mm isotropic), like every
other volume in the package.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import ndimage

from .._bundled import data_dir
from .._checks import as_seed
from ..io import Volume, load_volume
from ..volumetry import voxel_volume_ml
from .noise import rician_noise, smooth_fields

__all__ = [
    "Brain",
    "mni_brain",
    "simulate_atrophy",
    "brain_scan",
    "mni_data_dir",
    "TISSUE_T1",
]

MNI_FILES = {key: f"mni_icbm152_2009a_{key}_2mm.nii.gz" for key in ("t1", "gm", "wm")}

#: Typical template T1 intensity (median, 0-255 units) of pure tissue,
#: measured on the bundled 2 mm template; :func:`brain_scan` renders with it.
TISSUE_T1 = {"csf": 36.0, "gm": 166.0, "wm": 220.0}


# --------------------------------------------------------------------------- data


def mni_data_dir() -> Path:
    """Folder holding the bundled MNI files.

    The bundled ``data/mni``, or ``$MEDSEG_EDU_DATA/mni`` when that folder exists
    (:func:`medseg_edu._bundled.data_dir`).
    """
    return data_dir("mni")


@lru_cache(maxsize=4)
def _load_arrays(folder: str):
    folder = Path(folder)
    missing = [name for name in MNI_FILES.values() if not (folder / name).exists()]
    if missing:
        raise FileNotFoundError(
            f"The bundled MNI brain files are missing from '{folder}': {', '.join(missing)}. "
            "They ship with the package (the repository's data/mni/ folder); reinstall it, point "
            "MEDSEG_EDU_DATA at a folder whose mni/ holds them, or rebuild them with "
            "`pip install nilearn && python tools/make_mni_data.py`."
        )
    vols = {key: load_volume(folder / name) for key, name in MNI_FILES.items()}
    ref = vols["t1"]
    for key, vol in vols.items():
        if vol.shape != ref.shape or not np.allclose(vol.affine, ref.affine):
            raise ValueError(f"MNI file '{folder / MNI_FILES[key]}' does not share the T1 grid")
    t1 = ref.array.astype(np.float32)
    gm = vols["gm"].array.astype(np.float32) / 255.0
    wm = vols["wm"].array.astype(np.float32) / 255.0
    # The maps are rounded independently: keep gm + wm <= 1 exactly.
    total = gm + wm
    over = total > 1.0
    gm[over] /= total[over]
    wm[over] /= total[over]
    for a in (t1, gm, wm):
        a.setflags(write=False)
    return t1, gm, wm, ref.spacing, ref.affine


# --------------------------------------------------------------------------- Brain


@dataclass
class Brain:
    """A brain: T1 image and tissue probability maps on one grid.

    Attributes
    ----------
    t1 : Volume
        T1-weighted image, float32, template units (0-255ish; skull-stripped:
        0 outside the intracranial space).
    gm, wm : Volume
        Grey- and white-matter probability maps, float32 in [0, 1],
        ``gm + wm <= 1``.
    icv : numpy.ndarray of bool
        Intracranial mask (the "head" that stays fixed during atrophy):
        where the original template T1 or tissue maps are non-zero. CSF fills
        ``icv - gm - wm``.
    name : str
    meta : dict
        e.g. the atrophy parameters used.
    """

    t1: Volume
    gm: Volume
    wm: Volume
    icv: np.ndarray
    name: str = "MNI ICBM152 2009a"
    meta: dict = field(default_factory=dict)

    @property
    def spacing(self) -> tuple:
        """Voxel size in mm (2, 2, 2 for the bundled template)."""
        return self.t1.spacing

    @property
    def affine(self) -> np.ndarray:
        return self.t1.affine

    @property
    def shape(self) -> tuple:
        return self.t1.shape

    @property
    def voxel_ml(self) -> float:
        """Volume of one voxel in mL."""
        return voxel_volume_ml(self.spacing)

    @property
    def tissue(self) -> np.ndarray:
        """Brain tissue probability ``gm + wm`` (float32, 0..1)."""
        return self.gm.array + self.wm.array

    @property
    def csf(self) -> np.ndarray:
        """CSF probability: what the tissue leaves of the intracranial space."""
        return np.clip(self.icv.astype(np.float32) - self.tissue, 0.0, 1.0)

    @property
    def brain_mask(self) -> np.ndarray:
        """Binary brain mask: ``gm + wm >= 0.5`` (bool)."""
        return self.tissue >= 0.5

    @property
    def brain_volume_ml(self) -> float:
        """True brain tissue volume in mL.

        Defined as the **sum of the GM + WM probabilities** times the voxel
        volume (partial-volume aware), not the voxel count of
        :attr:`brain_mask`: it changes smoothly with atrophy, so it is the
        exact "truth" that :func:`simulate_atrophy` calibrates against.
        (The mask volume is ``brain_mask.sum() * voxel_ml``.)
        """
        return float(self.tissue.sum(dtype=np.float64)) * self.voxel_ml

    @property
    def gm_volume_ml(self) -> float:
        return float(self.gm.array.sum(dtype=np.float64)) * self.voxel_ml

    @property
    def wm_volume_ml(self) -> float:
        return float(self.wm.array.sum(dtype=np.float64)) * self.voxel_ml

    @property
    def icv_ml(self) -> float:
        """Intracranial volume in mL (voxel count of :attr:`icv`)."""
        return float(np.count_nonzero(self.icv)) * self.voxel_ml

    def __repr__(self) -> str:
        return (f"Brain({self.name!r}, shape={self.shape}, spacing={self.spacing} mm, "
                f"tissue={self.brain_volume_ml:.0f} mL, icv={self.icv_ml:.0f} mL)")


def mni_brain() -> Brain:
    """Load the bundled MNI ICBM152 2009a brain (2 mm, 99 x 117 x 95, offline).

    Returns
    -------
    Brain
        Fresh, writable copies every call (the files are read once and
        cached). ``t1`` in template units 0-255, ``gm``/``wm`` probabilities.
    """
    t1, gm, wm, spacing, affine = _load_arrays(str(mni_data_dir()))
    return Brain(
        t1=Volume(t1.copy(), spacing, affine.copy()),
        gm=Volume(gm.copy(), spacing, affine.copy()),
        wm=Volume(wm.copy(), spacing, affine.copy()),
        icv=(t1 > 0) | (gm + wm > 0),
        meta={"source": "MNI ICBM152 2009a nonlinear symmetric (nilearn package data), 2 mm block mean"},
    )


# --------------------------------------------------------------------------- atrophy

_MAX_STEP = 1.0  # voxels; larger single steps fold the warp, so we iterate


def _unit_field(field: np.ndarray, spacing) -> tuple[np.ndarray, float]:
    """Gradient (voxel units) of a smoothed field, scaled so its largest length is 1."""
    grad = np.stack(np.gradient(field))
    length = np.sqrt((grad ** 2).sum(axis=0))
    peak = float(length.max())
    return (grad / peak if peak > 0 else grad).astype(np.float32), peak


def simulate_atrophy(brain: Brain, percent_per_year: float, years: float, seed: int = 0) -> Brain:
    """Shrink the brain tissue by a known percentage; the skull stays.

    The total loss is **linear** in time: ``total = percent_per_year * years``
    percent of :attr:`Brain.brain_volume_ml` (e.g. 1 %/yr for 5 years =
    exactly 5 % less tissue; no compounding).

    Model: tissue recedes from every tissue/CSF border (cortical surface,
    sulci, ventricles), like a smooth erosion. Both GM and WM maps are pulled
    through the same displacement field ``u = -a(x) * grad(S)``, where ``S``
    is the tissue map smoothed with a 2 mm Gaussian and ``grad(S)`` is scaled
    to a largest length of one voxel; sampling the maps at ``x + u`` moves
    every border into the tissue. ``a(x)`` varies smoothly in space by
    +-40 % (seeded, so some regions shrink faster). CSF fills the vacated
    space inside the unchanged intracranial mask. The strength ``a`` is found
    by bracketed secant search so the tissue volume matches the target to
    0.001 percentage point; losses beyond what a one-voxel step gives (about 8 %) are reached
    by repeating the step with a recomputed field.

    Parameters
    ----------
    brain : Brain
        Baseline brain (e.g. :func:`mni_brain`), left unchanged.
    percent_per_year : float
        Atrophy rate in % per year (>= 0), e.g. 0.45 healthy ageing, ~1-2
        Alzheimer's disease (see FACTS in the notebooks).
    years : float
        Follow-up interval (>= 0).
    seed : int
        Seed of the spatial variation of the atrophy rate.

    Returns
    -------
    Brain
        Same grid and ``icv``; ``meta`` records ``percent_per_year``,
        ``years``, ``target_percent`` and ``achieved_percent``.
    """
    percent_per_year, years, target = _check_atrophy_args(percent_per_year, years)
    seed = as_seed(seed)

    spacing = brain.spacing
    gm = brain.gm.array.astype(np.float32)
    wm = brain.wm.array.astype(np.float32)
    v0 = float((gm + wm).sum(dtype=np.float64))
    v_target = v0 * (1.0 - target / 100.0)
    tol = v0 * 1e-5  # 0.001 percentage point

    mod = _rate_variation(brain.shape, spacing, seed)
    sigma = [2.0 / s for s in spacing]  # 2 mm

    # Repeat calibrated recession steps until the tissue volume reaches the target.
    for _ in range(20):
        if float((gm + wm).sum(dtype=np.float64)) <= v_target + tol:
            break
        gm, wm = _recession_step(gm, wm, mod, sigma, spacing, v_target, tol)

    icv = brain.icv
    icv_f = icv.astype(np.float32)
    gm = np.clip(gm, 0, 1) * icv_f
    wm = np.clip(wm, 0, 1) * icv_f
    t1 = _atrophied_t1(brain, gm, wm, icv_f)
    achieved = 100.0 * (1.0 - float((gm + wm).sum(dtype=np.float64)) / v0) if v0 > 0 else 0.0
    return _atrophied_brain(brain, t1, gm, wm, target=target, achieved=achieved,
                            percent_per_year=percent_per_year, years=years, seed=seed)


def _check_atrophy_args(percent_per_year, years):
    """Validate the rate and interval; returns them as floats plus the total loss in percent."""
    percent_per_year = float(percent_per_year)
    years = float(years)
    if not (np.isfinite(percent_per_year) and np.isfinite(years)) or percent_per_year < 0 or years < 0:
        raise ValueError(
            f"percent_per_year and years must be finite and >= 0 (atrophy shrinks tissue), "
            f"got {percent_per_year!r} and {years!r}"
        )
    target = percent_per_year * years
    if target >= 60:
        raise ValueError(f"a total loss of {target:g} % of brain tissue is not a plausible atrophy (max 60 %)")
    return percent_per_year, years, target


def _rate_variation(shape, spacing, seed):
    """The seeded factor ``a(x)/a``: a smooth (30 mm) field between 0.6 and 1.4, float32."""
    rng = np.random.default_rng(seed)
    (mod,) = smooth_fields(shape, spacing, 30.0, rng)
    return (1.0 + 0.4 * mod / max(float(np.abs(mod).max()), 1e-12)).astype(np.float32)


class _Recession:
    """One recession step's displacement, ready to be applied with any strength.

    The direction is ``-grad(S) * mod`` (voxels per unit strength), with
    ``S`` the tissue map smoothed by ``sigma`` voxels. Only voxels where it is
    non-zero (near a border) move; the rest keep their value exactly.
    """

    def __init__(self, tissue, mod, sigma, spacing):
        grad, _ = _unit_field(ndimage.gaussian_filter(tissue, sigma), spacing)
        direction = -grad * mod  # voxels per unit strength
        self.moving = np.nonzero(np.sqrt((direction ** 2).sum(axis=0)) > 1e-5)
        self.base = np.stack([m.astype(np.float32) for m in self.moving])
        self.dvec = direction[(slice(None),) + self.moving]
        self.tissue = tissue
        self.static_sum = float(tissue.sum(dtype=np.float64)) - float(tissue[self.moving].sum(dtype=np.float64))

    def pulled(self, a, arr):
        """Values of ``arr`` sampled at the moving voxels displaced by strength ``a``."""
        return ndimage.map_coordinates(arr, self.base + a * self.dvec, order=1, mode="nearest")

    def volume(self, a):
        """Tissue volume (voxels) after a step of strength ``a``."""
        return self.static_sum + float(self.pulled(a, self.tissue).sum(dtype=np.float64))

    def apply(self, a, arr):
        """A copy of ``arr`` with its moving voxels pulled with strength ``a``."""
        new = arr.copy()
        new[self.moving] = self.pulled(a, arr)
        return new


def _calibrate_strength(recession, v_target, tol):
    """The step strength (<= one voxel) whose tissue volume is ``v_target`` within ``tol``.

    If even a full one-voxel step leaves more tissue than the target, the full
    step is taken (the caller then repeats). Otherwise a bracketed regula
    falsi search between 0 and one voxel, at most 40 evaluations.
    """
    lo, v_lo = 0.0, float(recession.tissue.sum(dtype=np.float64))
    hi, v_hi = _MAX_STEP, recession.volume(_MAX_STEP)
    if v_hi > v_target:
        return _MAX_STEP
    strength = hi
    for _ in range(40):  # regula falsi, bracketed
        a = lo + (hi - lo) * (v_lo - v_target) / max(v_lo - v_hi, 1e-12)
        a = min(max(a, lo + 1e-3 * (hi - lo)), hi - 1e-3 * (hi - lo))
        v = recession.volume(a)
        strength = a
        if abs(v - v_target) < tol:
            break
        if v > v_target:
            lo, v_lo = a, v
        else:
            hi, v_hi = a, v
    return strength


def _recession_step(gm, wm, mod, sigma, spacing, v_target, tol):
    """One recession step of GM and WM, its strength calibrated to approach ``v_target``."""
    recession = _Recession(gm + wm, mod, sigma, spacing)
    strength = _calibrate_strength(recession, v_target, tol)
    return [recession.apply(strength, arr) for arr in (gm, wm)]


def _atrophied_t1(brain, gm, wm, icv_f):
    """T1 after atrophy: the template T1 where tissue stayed, CSF intensity where it left."""
    lost = np.clip((brain.gm.array + brain.wm.array) - (gm + wm), 0.0, None)
    t1 = brain.t1.array.astype(np.float32)
    old_tissue = np.maximum(brain.gm.array + brain.wm.array, 1e-6)
    tissue_t1 = (brain.gm.array * TISSUE_T1["gm"] + brain.wm.array * TISSUE_T1["wm"]) / old_tissue
    t1 = (t1 - lost * (tissue_t1 - TISSUE_T1["csf"])) * icv_f
    return np.clip(t1, 0, None).astype(np.float32)


def _atrophied_brain(brain, t1, gm, wm, *, target, achieved, percent_per_year, years, seed):
    """The new :class:`Brain`: same grid and ``icv``, new maps, the atrophy parameters in ``meta``."""
    spacing = brain.spacing
    meta = dict(brain.meta)
    meta.update(percent_per_year=percent_per_year, years=years, target_percent=target,
                achieved_percent=achieved, atrophy_seed=seed)
    return replace(
        brain,
        t1=Volume(t1, spacing, brain.affine.copy()),
        gm=Volume(gm.astype(np.float32), spacing, brain.affine.copy()),
        wm=Volume(wm.astype(np.float32), spacing, brain.affine.copy()),
        icv=brain.icv.copy(),
        name=f"{brain.name} (-{target:g} %)",
        meta=meta,
    )


# --------------------------------------------------------------------------- rescans


def brain_scan(brain: Brain, seed: int, noise: float = 0.03, bias: float = 0.05,
               *, jitter_mm: float = 0.0) -> Volume:
    """A fresh noisy T1 "rescan" of ``brain`` rendered from its tissue maps.

    Intensity = ``gm * 166 + wm * 220 + csf * 36`` (template units, see
    :data:`TISSUE_T1`) inside the intracranial mask, 0 outside
    (skull-stripped), times a smooth multiplicative bias field, with Rician
    noise. Deterministic per ``seed``; different seeds give different noise
    and bias, so segmenting two scans of the *same* brain gives two slightly
    different volumes: the measurement noise atrophy must be compared with.

    Parameters
    ----------
    brain : Brain
    seed : int
        Scan seed (noise, bias field, jitter).
    noise : float
        Noise standard deviation as a fraction of the white-matter intensity
        (0.03 = 3 %).
    bias : float
        Largest deviation of the bias field from 1 (0.05 = +-5 %), smooth
        over ~60 mm.
    jitter_mm : float
        If > 0, the head is also repositioned by a random sub-voxel
        translation of up to this many mm per axis before rendering (a new
        partial-volume pattern, like a real repositioned rescan). The image
        then no longer lines up voxel-for-voxel with ``brain``'s maps.

    Returns
    -------
    Volume
        float32, same grid (spacing, affine) as ``brain``.
    """
    for nm, val in (("noise", noise), ("bias", bias), ("jitter_mm", jitter_mm)):
        if not np.isfinite(val) or val < 0:
            raise ValueError(f"{nm} must be a finite number >= 0, got {val!r}")
    rng = np.random.default_rng(as_seed(seed))
    gm, wm = brain.gm.array, brain.wm.array
    icv = brain.icv.astype(np.float32)
    shift = rng.uniform(-jitter_mm, jitter_mm, size=3) / np.asarray(brain.spacing)
    if jitter_mm > 0:
        gm, wm, icv = (ndimage.shift(a, shift, order=1, mode="constant", cval=0.0) for a in (gm, wm, icv))
    csf = np.clip(icv - gm - wm, 0.0, 1.0)
    clean = gm * TISSUE_T1["gm"] + wm * TISSUE_T1["wm"] + csf * TISSUE_T1["csf"]
    (field_,) = smooth_fields(brain.shape, brain.spacing, 60.0, rng)
    field_ = field_ / max(float(np.abs(field_).max()), 1e-12)
    image = clean * (1.0 + bias * field_)
    image = rician_noise(image, noise * TISSUE_T1["wm"], rng).astype(np.float32)  # float64 draws
    return Volume(image, brain.spacing, brain.affine.copy())
