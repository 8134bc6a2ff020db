"""A volume with an interval: how far a deep method's volume moves when its input is perturbed.

:func:`volume_interval` runs a bundled network (any of the deep methods) on the
scan as :func:`medseg_edu.methods.deep.segment_with` does - its volume is the
method's volume - and then ``n_augment`` more times on perturbed copies of the
scan (test-time augmentation, TTA). Each perturbation imitates what changes
between two scans of one patient:

* a mirror image (half of the time) and a small in-plane rotation and shift;
* a shift of the slice positions by a fraction of the slice thickness
  (neighbouring slices interpolated);
* a smooth change of brightness across the field of view (a bias field) and
  extra noise.

Every prediction is moved back into place and thresholded like the method's own
mask; the spread of the resulting volumes gives the interval
``volume -/+ z x SD`` (``z`` the normal quantile of ``level``).

What it can and cannot know. The perturbations share the scan, the network and
its habits: a network that always draws 5 % too large does so under every
augmentation. So a TTA interval measures *sensitivity*, not *error*, and is
usually too narrow to hold the truth as often as its level says; notebook 12
measures how often it does and widens it with
:func:`medseg_edu.agreement.width_factor` on separate cases (``widen``).

:func:`member_volumes` asks another question: would a network trained the same
way, from another seed, measure the same volume? Networks trained alike agree
on scans like their training data and can disagree widely on scans unlike it,
where each has filled the gap in its data with its own guess - the spread of
their volumes warns where TTA, which asks one network, does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from statistics import NormalDist

import numpy as np
from scipy import ndimage

from .. import weights
from .._checks import as_seed, as_volume
from ..agreement import spread_percent
from ..data import GRID, PIXEL_MM, from_grid, normalise, to_grid
from ..masks import largest_component
from ..volumetry import volume_ml
from . import deep

__all__ = ["VolumeInterval", "volume_interval", "MemberVolumes", "member_volumes"]

_MAX_ROTATION_DEG = 4.0     # in-plane rotation of an augmentation, uniform within +-
_MAX_SHIFT_MM = 2.5         # in-plane shift per axis, uniform within +-
_MAX_SLICE_SHIFT = 0.5      # shift of the slice positions, in slice thicknesses
_BIAS = 0.08                # peak relative change of brightness across the grid
_NOISE = 0.02               # extra Gaussian noise, in normalised intensity units (0-1 = 1st-99th pct)


@dataclass(frozen=True)
class VolumeInterval:
    """A deep method's volume with the interval its test-time augmentations give.

    Attributes
    ----------
    method : str
        The network's name (``"unet"``, ...).
    volume_ml : float
        The method's volume: its mask (plain and mirrored prediction averaged,
        thresholded, largest piece), in mL.
    lower_ml, upper_ml : float
        The interval, ``volume_ml -/+ widen x z x spread_ml``, never below 0.
    level : float
        The coverage the interval aims at (0-1), e.g. 0.9.
    spread_ml : float
        SD of the augmented volumes (``ddof=1``), mL.
    augmented_ml : numpy.ndarray
        The volume (mL) of each augmented prediction.
    widen : float
        The factor the width was multiplied by (1 = the raw TTA interval).
    probability : numpy.ndarray or None
        The gland probability on the scan's grid (only with ``keep_probability``).
    """

    method: str
    volume_ml: float
    lower_ml: float
    upper_ml: float
    level: float
    spread_ml: float
    augmented_ml: np.ndarray = field(repr=False)
    widen: float = 1.0
    probability: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def width_ml(self) -> float:
        """``upper_ml - lower_ml``."""
        return self.upper_ml - self.lower_ml

    @property
    def relative_width(self) -> float:
        """Width as a fraction of the volume (``inf`` for an empty mask)."""
        return self.width_ml / self.volume_ml if self.volume_ml > 0 else float("inf")

    def contains(self, volume) -> bool:
        """Whether ``volume`` (mL) lies in the interval (ends included)."""
        return bool(self.lower_ml <= float(volume) <= self.upper_ml)

    def widened(self, factor: float) -> "VolumeInterval":
        """The same interval with its half-width multiplied by ``factor`` (about the volume)."""
        factor = float(factor)
        if not np.isfinite(factor) or factor <= 0:
            raise ValueError(f"factor must be a finite number > 0, got {factor!r}")
        half = factor * (self.upper_ml - self.volume_ml)      # the upper half is never clipped at 0
        return replace(self, lower_ml=max(self.volume_ml - half, 0.0), upper_ml=self.volume_ml + half,
                       widen=self.widen * factor)

    def __str__(self) -> str:
        raw = "" if self.widen == 1.0 else f", widened x{self.widen:.2f}"
        return (f"{self.method}: {self.volume_ml:.1f} mL, {100 * self.level:g} % interval "
                f"{self.lower_ml:.1f}-{self.upper_ml:.1f} mL ({len(self.augmented_ml)} augmentations{raw})")


def _check(method, level, n_augment, widen):
    if method not in weights.NAMES:
        raise ValueError(f"volume_interval needs a deep method, one of {weights.NAMES}; got {method!r}")
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level is a coverage between 0 and 1 (e.g. 0.9), got {level!r}")
    if isinstance(n_augment, bool) or int(n_augment) != n_augment or not 2 <= n_augment <= 64:
        raise ValueError(f"n_augment must be a whole number of augmentations from 2 to 64, got {n_augment!r}")
    if not np.isfinite(widen) or widen <= 0:
        raise ValueError(f"widen must be a finite number > 0, got {widen!r}")


def _grid_probability(model, slices, per_pixel, batch_size, device):
    if per_pixel:
        return deep.patch_probabilities(model, slices, batch_size=batch_size, device=device)
    return deep.predict_proba(model, slices, batch_size=batch_size, device=device)[:, 1]


def _geometry(rng):
    """One augmentation's (matrix, offset) on (z, x, y) grid slices: output index -> input index."""
    angle = np.deg2rad(rng.uniform(-_MAX_ROTATION_DEG, _MAX_ROTATION_DEG))
    mirror = -1.0 if rng.random() < 0.5 else 1.0
    shift = rng.uniform(-_MAX_SHIFT_MM, _MAX_SHIFT_MM, 2) / PIXEL_MM
    slice_shift = rng.uniform(-_MAX_SLICE_SHIFT, _MAX_SLICE_SHIFT)
    c, s = np.cos(angle), np.sin(angle)
    inplane = np.array([[c, -s], [s, c]]) @ np.diag([mirror, 1.0])
    matrix = np.eye(3)
    matrix[1:, 1:] = inplane
    centre = (GRID - 1) / 2.0
    offset = np.array([slice_shift, *(centre + shift - inplane @ np.array([centre, centre]))])
    return matrix, offset


def _appearance(slices, rng):
    """A smooth brightness change across the grid and extra noise (normalised units)."""
    u = np.linspace(-1.0, 1.0, GRID)
    a, b = rng.uniform(-_BIAS, _BIAS, 2)
    gain = (1.0 + a * u[:, None] + b * u[None, :]).astype(np.float32)
    noise = rng.normal(0.0, _NOISE, slices.shape).astype(np.float32)
    return slices * gain[None] + noise


def volume_interval(image, spacing, method="unet", *, level=0.9, n_augment=6, seed=0, model=None, widen=1.0,
                    threshold=0.5, batch_size=32, device=None, keep_probability=False) -> VolumeInterval:
    """The volume of a deep method with a test-time-augmentation interval.

    Parameters
    ----------
    image, spacing
        The scan (x, y, z; any intensity scale) and its voxel size (3 floats, mm), as the deep
        methods' ``segment`` takes them.
    method : str
        A deep method with bundled weights: ``"unet"`` (default), ``"dilated"``,
        ``"fcn"`` or ``"patch_cnn"`` (slow: one forward pass per pixel).
    level : float
        Coverage the interval aims at, 0-1 (0.9: a 90 % interval).
    n_augment : int
        Augmented predictions (2-64); each costs one pass of the network over the
        slices that hold the gland (and one slice on each side).
    seed : int
        The augmentations are drawn from it: same seed, same interval.
    model : torch.nn.Module, optional
        A trained network of that kind; default the bundled one.
    widen : float
        Multiply the half-width by this (a factor from
        :func:`medseg_edu.agreement.width_factor`; 1 = the raw TTA interval).
    threshold : float
        Gland probability from which a voxel is gland (as in ``segment``).
    batch_size, device
        As for :func:`medseg_edu.methods.deep.segment_with`.
    keep_probability : bool
        Keep the method's gland probability map in the result (for calibration plots).

    Returns
    -------
    VolumeInterval

    Raises
    ------
    ValueError
        For a method without bundled weights, a level or a threshold outside (0, 1),
        an ``n_augment`` outside 2-64, and every bad image the deep methods refuse.
    """
    _check(method, level, n_augment, widen)
    threshold = deep.checked_threshold(threshold)
    image, spacing = as_volume(image, spacing)
    seed = as_seed(seed)
    net = weights.load(method) if model is None else model
    per_pixel = method == "patch_cnn"
    # The method's own probability and mask (plain and mirrored prediction averaged, as segment does).
    probability = deep.probability_volume(net, image, spacing, batch_size=batch_size, device=device,
                                          per_pixel=per_pixel, tta=not per_pixel)
    mask = largest_component(probability >= threshold)
    volume = volume_ml(mask, spacing)

    slices = to_grid(normalise(image), spacing, size=GRID, pixel_mm=PIXEL_MM)
    present = np.flatnonzero(mask.any(axis=(0, 1)))
    first, last = (present[0] - 1, present[-1] + 1) if present.size else (0, slices.shape[0] - 1)
    run = slice(max(int(first), 0), min(int(last), slices.shape[0] - 1) + 1)   # slices the network sees again
    rng = np.random.default_rng([seed, 1205])
    moves, inputs = [], []
    for _ in range(int(n_augment)):
        matrix, offset = _geometry(rng)
        moved = ndimage.affine_transform(slices, matrix, offset, order=1, mode="nearest")
        moves.append((matrix, offset))
        inputs.append(_appearance(moved[run], rng))
    # one pass of the network over every augmented slice, then each prediction moved back into place
    predictions = _grid_probability(net, np.concatenate(inputs), per_pixel, batch_size, device)
    predictions = predictions.reshape(int(n_augment), -1, GRID, GRID)
    augmented = []
    for (matrix, offset), prediction in zip(moves, predictions):
        predicted = np.zeros(slices.shape, np.float32)
        predicted[run] = prediction
        inverse = np.linalg.inv(matrix)
        back = ndimage.affine_transform(predicted, inverse, -inverse @ offset, order=1, mode="constant", cval=0.0)
        # outside the slices the network saw again the prediction is 0, so only those go back to the scan grid
        on_scan = from_grid(back[run], (*image.shape[:2], run.stop - run.start), spacing, pixel_mm=PIXEL_MM)
        augmented.append(volume_ml(largest_component(on_scan >= threshold), spacing))
    augmented = np.array(augmented)
    spread = float(np.std(augmented, ddof=1))
    half = float(widen) * NormalDist().inv_cdf(0.5 + float(level) / 2.0) * spread
    return VolumeInterval(method=method, volume_ml=volume, lower_ml=max(volume - half, 0.0), upper_ml=volume + half,
                          level=float(level), spread_ml=spread, augmented_ml=augmented, widen=float(widen),
                          probability=probability if keep_probability else None)


# --------------------------------------------------------------------------- networks trained alike

@dataclass(frozen=True)
class MemberVolumes:
    """One scan measured by several networks trained alike (:func:`member_volumes`).

    Attributes
    ----------
    volumes_ml : numpy.ndarray
        Each network's volume (mL) from its own mask, in the order of the networks.
    ensemble_ml : float
        The volume (mL) of the mask of their mean gland probability.
    masks : tuple of numpy.ndarray
        Each network's mask (bool, the scan's shape).
    probability : numpy.ndarray
        Their mean gland probability (0-1, the scan's shape).
    """

    volumes_ml: np.ndarray
    ensemble_ml: float
    masks: tuple = field(repr=False, compare=False)
    probability: np.ndarray = field(repr=False, compare=False)

    @property
    def lower_ml(self) -> float:
        """The smallest of the networks' volumes (mL)."""
        return float(self.volumes_ml.min())

    @property
    def upper_ml(self) -> float:
        """The largest of the networks' volumes (mL)."""
        return float(self.volumes_ml.max())

    @property
    def spread_percent(self) -> float:
        """Their range as a share of their mean, % (:func:`medseg_edu.agreement.spread_percent`)."""
        return spread_percent(self.volumes_ml)

    def __str__(self) -> str:
        each = ", ".join(f"{v:.1f}" for v in self.volumes_ml)
        return (f"{len(self.volumes_ml)} networks: {each} mL (spread {self.spread_percent:.0f} % of their mean); "
                f"their mean probability: {self.ensemble_ml:.1f} mL")


def member_volumes(image, spacing, models=None, *, threshold=0.5, batch_size=16, device=None) -> MemberVolumes:
    """The gland volume of a scan from each of several networks trained alike, and from their mean.

    Each network segments the scan as the U-Net's ``segment`` does (plain and mirrored
    prediction averaged, thresholded, largest piece kept).

    Parameters
    ----------
    image, spacing
        The scan (x, y, z; any intensity scale) and its voxel size (3 floats, mm).
    models : sequence of torch.nn.Module, optional
        At least two slice networks of one kind; default the U-Nets of weight version 4
        (:func:`medseg_edu.weights.load_members`: one recipe, seeds 0, 1 and 2).
    threshold : float
        Gland probability from which a voxel is gland.
    batch_size, device
        As for :func:`medseg_edu.methods.deep.segment_with`.

    Returns
    -------
    MemberVolumes
        Pass its ``masks`` to :func:`medseg_edu.methods.quality.quality_report`
        (``member_masks=``) to have a wide spread reported.

    Raises
    ------
    ValueError
        For fewer than two networks, networks of different kinds, a threshold outside
        (0, 1), and every bad image the deep methods refuse.
    """
    image, spacing = as_volume(image, spacing)
    models = weights.load_members("unet", version=4, device=device) if models is None else list(models)
    if len(models) < 2:
        raise ValueError(f"member_volumes needs at least two networks to compare, got {len(models)}")
    kinds = sorted({type(m).__name__ for m in models})
    if len(kinds) > 1:   # their spread would measure the designs, not the luck of one recipe
        raise ValueError(f"member_volumes compares networks of one kind trained alike, got {', '.join(kinds)}")
    threshold = deep.checked_threshold(threshold)
    probabilities = [deep.probability_volume(m, image, spacing, batch_size=batch_size, device=device, tta=True)
                     for m in models]
    masks = tuple(largest_component(p >= threshold) for p in probabilities)
    mean = np.mean(probabilities, axis=0)
    return MemberVolumes(volumes_ml=np.array([volume_ml(m, spacing) for m in masks]),
                         ensemble_ml=volume_ml(largest_component(mean >= threshold), spacing),
                         masks=masks, probability=mean)
