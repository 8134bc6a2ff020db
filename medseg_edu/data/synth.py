"""Domain randomisation: training data that teaches a network shapes, not one scanner's greys.

A network trained on one kind of picture learns that picture's shortcuts
(the phantom's exact grey of the gland, its uniform fat) and fails on a real
scan. SynthSeg (Billot et al., Medical Image Analysis 2023) trains on label
maps painted with *random* contrasts instead, so the only thing that stays
the same from one training image to the next is the anatomy. This module
does that for the prostate:

1. :func:`render_random` paints a phantom-v2 tissue map (:mod:`.pelvis`) with
   a random Gaussian mixture: every tissue, and random sub-regions of it
   (intensity sub-classes), gets its own random mean and spread; then a random
   blur (resolution), bias field, gamma and noise. Sometimes the contrast is
   inverted.
2. :func:`synthetic_slices` renders many scenes (real expert gland shapes,
   one realistic T2 rendering and several random ones each) and puts them on
   the network grid through exactly the path a real scan takes
   (:func:`~medseg_edu.data.prep.normalise` of the whole volume, then
   :func:`~medseg_edu.data.prep.to_grid`), cached on disk.
3. :func:`randomise_batch` adds, on every training batch, what is cheap on
   2D slices: rotation, scaling, elastic deformation, a shift of the field of
   view, flips, gamma, bias, blur and noise.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .._checks import as_seed
from .cache import cached_arrays
from .gland_shapes import HELD_OUT_SHAPES, TRAIN_SHAPES
from .noise import rician_noise
from .parallel import on_every_core
from .pelvis import (STYLES, TISSUES_V2, _zones, average_slices, fade_gland_ends, pelvic_scene, render_t2,
                     texture_field, thick_labels)
from .prep import GRID, PIXEL_MM, normalise, stack_slices, to_grid
from .render import bias_field

#: Bump when scenes, renderers or the split change, so cached banks are rebuilt.
SYNTH_VERSION = 3
#: How the training scenes lay out the neighbours of the gland's lower end (:data:`~.pelvis.LAYOUTS`).
SYNTH_LAYOUT = "v2"
#: (first seed, scenes, random renderings per scene, expert shapes, T2 style) of each bank.
BANKS = {"train": (500000, 96, 2, TRAIN_SHAPES, "t2"), "val": (600000, len(HELD_OUT_SHAPES), 0, HELD_OUT_SHAPES,
                                                                 "noisy")}


def render_random(tissue, spacing, seed=0, *, subslices=1):
    """Paint a tissue map with random contrasts (SynthSeg-style domain randomisation).

    Parameters
    ----------
    tissue : numpy.ndarray of int
        Codes of :data:`~medseg_edu.data.pelvis.TISSUES_V2` (3D).
    spacing : 3 floats
        Voxel size in mm.
    seed : int
        Same seed, same rendering.
    subslices : int
        Thin slices per scan slice (see :func:`~medseg_edu.data.pelvis.render_t2`):
        averaged into thick slices before the noise is added.

    Returns
    -------
    numpy.ndarray, float32
        Intensities roughly in 0-1 (the scale does not matter: scans are normalised),
        ``tissue.shape[2] // subslices`` slices.
    """
    rng = np.random.default_rng([as_seed(seed), 91])
    n_codes = max(TISSUES_V2.values()) + 1
    # Each tissue is split into up to three sub-classes along a smooth random field.
    split_field = texture_field(tissue.shape, spacing, rng.uniform(6, 20), rng)
    cuts = np.sort(rng.uniform(-1, 1, (n_codes, 2)), axis=1)
    n_sub = rng.integers(1, 4, n_codes)
    sub = np.zeros(tissue.shape, np.int8)
    for k in (0, 1):
        sub += (split_field > cuts[tissue, k]) & (n_sub[tissue] > k + 1)
    means = rng.uniform(0.0, 1.0, (n_codes, 3)).astype(np.float32)
    sds = rng.uniform(0.0, 0.08, (n_codes, 3)).astype(np.float32)
    means[TISSUES_V2["air"]] = rng.uniform(0.0, 0.1)
    image = means[tissue, sub] + sds[tissue, sub] * rng.standard_normal(tissue.shape, dtype=np.float32)
    blur_mm = rng.uniform(0.2, 1.5)
    image = ndimage.gaussian_filter(image, [blur_mm / spacing[0], blur_mm / spacing[1], rng.uniform(0, 0.5)])
    image = np.clip(image, 0, None) * bias_field(tissue.shape, spacing, rng.uniform(0, 0.4), rng)
    image = np.clip(image, 0, None) ** np.exp(rng.normal(0, 0.25))
    image = average_slices(fade_gland_ends(image, tissue, spacing, rng.uniform(0.0, 0.8)), subslices)
    return rician_noise(image.astype(np.float32), rng.uniform(0.0, 0.05), rng).astype(np.float32)


def _scene_slices(seed, shape_id, n_random, *, style="t2", layout="v2"):
    """Network-grid slices of one scene: its T2 rendering (in ``style``) and ``n_random`` random ones.

    Returns ``(images, mask, slice_mm)``: a list of (z, GRID, GRID) renderings, the (z, GRID, GRID)
    gland mask and the slice spacing in mm.
    """
    rng = np.random.default_rng([int(seed), 5])
    spacing = (float(rng.choice([0.5, 0.6, 0.625, 0.7, 0.75])),) * 2 + (float(rng.choice([3.0, 3.6, 4.0, 4.5])),)
    # 150 mm in-plane: the network sees the central GRID * PIXEL_MM = 120 mm, plus room for shifts
    n = int(round(150.0 / spacing[0]))
    tissue, fine, params = pelvic_scene(int(seed), shapes=(shape_id,), spacing=spacing, subslices=None,
                                        shape=(n, n, int(np.ceil(rng.uniform(66, 90) / spacing[2]))), layout=layout)
    k = params["subslices"]
    gland = thick_labels(_zones(tissue), k) > 0
    mask = (to_grid(gland.astype(np.float32), spacing, size=GRID, pixel_mm=PIXEL_MM) >= 0.5).astype(np.uint8)
    renders = [render_t2(tissue, fine, seed=seed, subslices=k, **STYLES[style])]
    renders += [render_random(tissue, fine, seed=seed * 10 + j, subslices=k) for j in range(n_random)]
    images = [to_grid(normalise(r), spacing, size=GRID, pixel_mm=PIXEL_MM) for r in renders]
    return images, mask, spacing[2]


def _render_scene(job):
    seed, shape_id, n_random, style, layout = job
    images, mask, mm = _scene_slices(seed, shape_id, n_random, style=style, layout=layout)
    return [im.astype(np.float16) for im in images], mask, mm


def synthetic_slices(name="train", *, scenes=None, progress=True):
    """The domain-randomised training (or held-out validation) slices on the network grid, cached.

    ``"train"``: scenes built on :data:`~medseg_edu.data.gland_shapes.TRAIN_SHAPES` (scene
    ``i`` on shape ``i`` modulo their number, so every shape is used), each rendered once
    like a T2 scan and twice with random contrasts. ``"val"``: one scene on each held-out
    expert shape, rendered in the ``"noisy"`` T2 style (:data:`~medseg_edu.data.pelvis.STYLES`),
    noisier and more biased than any training image - a stand-in for "a scanner the network
    never saw". Every scene is rendered on thin sub-slices averaged into 3-4.5 mm slices
    (partial volume), its gland tapering into the urethral sphincter and the bladder neck.

    Returns
    -------
    dict
        ``images`` (n, GRID, GRID) float16 (normalised like a real scan), ``masks``
        (n, GRID, GRID) uint8, ``scene`` (n,) int, ``volume`` (n,) int (which rendering: the
        slices of one rendering are consecutive, in order from the feet up) and
        ``slice_mm`` (n,) float32, the slice spacing of that rendering.
    """
    if name not in BANKS:
        raise ValueError(f"unknown bank {name!r}; choose one of {sorted(BANKS)}")
    first, count, n_random, shapes, style = BANKS[name]
    count = count if scenes is None else int(scenes)

    def build():
        jobs = [(first + i, shapes[i % len(shapes)], n_random, style, SYNTH_LAYOUT) for i in range(count)]
        results = on_every_core(_render_scene, jobs, desc=f"rendering {name} scenes", progress=progress)
        images, masks, scene, volume, slice_mm = [], [], [], [], []
        for i, (renders, mask, mm) in enumerate(results):
            for r in renders:
                images.append(r)
                masks.append(mask)
                scene.append(np.full(len(mask), i))
                volume.append(np.full(len(mask), len(volume)))
                slice_mm.append(np.full(len(mask), mm, np.float32))
        return {"images": np.concatenate(images), "masks": np.concatenate(masks), "scene": np.concatenate(scene),
                "volume": np.concatenate(volume), "slice_mm": np.concatenate(slice_mm)}

    return cached_arrays(f"synth_{name}_v{SYNTH_VERSION}_{count}_{GRID}px_{PIXEL_MM:g}mm.npz", build,
                         keys=("images", "masks", "scene", "volume", "slice_mm"))


def phantom_v1_volumes():
    """The phantom-v1 train split on the network grid, one volume per case (for mixing into training).

    Returns
    -------
    list of (images (z, GRID, GRID) float32, masks (z, GRID, GRID) uint8, slice_mm float)
    """
    from .datasets import split_slices
    from .split import prostate_split

    data = split_slices("train")
    specs = prostate_split("train").specs
    return [(data["images"][data["case_index"] == i], data["masks"][data["case_index"] == i], spec.spacing[2])
            for i, spec in enumerate(specs)]


def end_slices(masks, share=0.2):
    """Which slices of one volume lie in the gland's end zones: the first and last ``share`` of its slices
    with gland (at least one each) and the slice just beyond each end.

    Parameters
    ----------
    masks : np.ndarray, (z, H, W)
        Gland masks of one volume's slices, in order.

    Returns
    -------
    np.ndarray of bool, (z,)
    """
    present = np.flatnonzero(np.asarray(masks).reshape(len(masks), -1).any(axis=1))
    ends = np.zeros(len(masks), bool)
    if len(present):
        reach = max(1, int(round(share * len(present))))
        first, last = present[0], present[-1]
        ends[max(first - 1, 0):first + reach] = True
        ends[max(last - reach + 1, 0):last + 2] = True
    return ends


def randomise_batch(images, targets):
    """On-the-fly augmentation of a training batch (torch), per sample.

    Geometry (the same for image and label map): left-right flip, rotation
    (+-15 deg), scaling (0.85-1.2), a field-of-view shift (+-10 mm) and a
    smooth elastic deformation; the label map is resampled nearest-neighbour.
    Intensity: gamma, a smooth multiplicative bias, blur, Gaussian noise,
    a contrast/offset jitter of the normalisation and, rarely (5 %), inversion.
    Uses the torch global RNG, so ``seed_everything`` makes it repeatable.

    Parameters
    ----------
    images : torch.Tensor, (N, C, H, W) float (C > 1: neighbouring slices, all moved alike)
    targets : torch.Tensor, (N, H, W) long label maps, (N, D, H, W) for a block of D slices (all moved
        alike), or (N,) for patch labels (geometry skipped)

    Returns
    -------
    (images, targets), same shapes
    """
    import torch
    import torch.nn.functional as F

    n, channels, h, w = images.shape
    dev, dt = images.device, images.dtype

    def uniform(lo, hi, *shape):
        return lo + (hi - lo) * torch.rand(n, *shape, device=dev, dtype=dt)

    if targets.ndim in (3, 4):
        angle = uniform(-15, 15) * np.pi / 180
        scale = torch.exp(uniform(np.log(0.85), np.log(1.2)))
        flip = torch.where(torch.rand(n, device=dev) < 0.5, -1.0, 1.0).to(dt)
        shift = uniform(-10, 10, 2) / (PIXEL_MM * GRID / 2)
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        # grid x runs along W (array axis 1, anterior-posterior), grid y along H (axis 0, left-right):
        # the mirror flips y
        theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1),
                             torch.stack([sin * flip, cos * flip, shift[:, 1]], 1)], 1)
        grid = F.affine_grid(theta, (n, 1, h, w), align_corners=False)
        coarse = torch.randn(n, 2, 5, 5, device=dev, dtype=dt) * uniform(0, 0.04)[:, None, None, None]
        grid = grid + F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False).permute(0, 2, 3, 1)
        images = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        labels = targets[:, None] if targets.ndim == 3 else targets
        labels = F.grid_sample(labels.to(dt), grid, mode="nearest", padding_mode="zeros",
                               align_corners=False).round().long()
        targets = labels[:, 0] if targets.ndim == 3 else labels
    # intensities
    images = images.clamp(min=0) ** torch.exp(0.25 * torch.randn(n, 1, 1, 1, device=dev, dtype=dt))
    bias = F.interpolate(torch.randn(n, 1, 3, 3, device=dev, dtype=dt), size=(h, w), mode="bicubic",
                         align_corners=False)
    images = images * (1 + uniform(0, 0.3, 1, 1, 1) * bias.clamp(-2, 2) / 2)
    blur = torch.rand(n, device=dev) < 0.3
    if blur.any():
        kernel = torch.tensor([0.25, 0.5, 0.25], device=dev, dtype=dt)
        k2 = (kernel[:, None] * kernel[None, :])[None, None].expand(channels, 1, 3, 3)
        images = torch.where(blur[:, None, None, None], F.conv2d(images, k2, padding=1, groups=channels), images)
    images = images + uniform(0, 0.05, 1, 1, 1) * torch.randn_like(images)
    images = images * uniform(0.85, 1.15, 1, 1, 1) + uniform(-0.08, 0.08, 1, 1, 1)
    invert = torch.rand(n, device=dev) < 0.05
    images = torch.where(invert[:, None, None, None], 1.0 - images, images)
    return images, targets


class SynthSlices:
    """Torch dataset of a domain-randomised bank: ``(image[C, H, W] float32, mask[H, W] int64)``.

    Parameters
    ----------
    name : str
        ``"train"`` or ``"val"`` (see :func:`synthetic_slices`).
    scenes : int, optional
        Use only the first this many scenes (notebooks train on a smaller bank).
    context : int
        Neighbouring slices on each side given as extra channels, ``CONTEXT_STEP_MM`` apart
        (:func:`~medseg_edu.data.prep.stack_slices`; 0: single slices, ``C = 1``).
    with_v1 : bool
        Add the phantom-v1 train split (:func:`phantom_v1_volumes`): the classic notebooks'
        phantoms must stay easy for the bundled networks.
    end_repeats : int
        Show the slices at the gland's ends (:func:`end_slices`) this many extra times per
        epoch: they are few, small and the hardest.
    """

    def __init__(self, name="train", *, scenes=None, progress=True, context=0, with_v1=False, end_repeats=0):
        import torch

        data = synthetic_slices(name, scenes=scenes, progress=progress)
        volumes = [(data["images"][data["volume"] == v], data["masks"][data["volume"] == v],
                    float(data["slice_mm"][data["volume"] == v][0])) for v in np.unique(data["volume"])]
        if with_v1:
            volumes += phantom_v1_volumes()
        images, masks, repeats = [], [], []
        for im, mk, mm in volumes:
            images.append(stack_slices(im.astype(np.float32), mm, context=context).astype(np.float16))
            masks.append(mk)
            repeats.append(1 + int(end_repeats) * end_slices(mk))
        self.images = torch.from_numpy(np.concatenate(images))
        self.masks = torch.from_numpy(np.concatenate(masks).astype(np.int64))
        self.index = np.repeat(np.arange(len(self.masks)), np.concatenate(repeats))
        self.context = int(context)

    def __len__(self):
        return len(self.index)

    def __getitem__(self, i):
        j = self.index[i]
        return self.images[j].float(), self.masks[j]
