"""Torch-ready datasets of phantom slices and patches, cached on disk.

The first call for a split generates its phantoms (about half a second each)
and stores the network-grid slices in the cache folder; later calls - in any
notebook - load them in a fraction of a second. :class:`CaseSlices` makes the
same slices from any list of cases you already hold (phantoms, or real MSD
cases from :func:`medseg_edu.data.load_msd_prostate`), without a cache.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from .._checks import as_seed
from .cache import cached_arrays
from .prep import GRID, PIXEL_MM, normalise, stack_slices, to_grid
from .split import PHANTOM_VERSION, prostate_split


def case_to_grid(case, *, size=GRID, pixel_mm=PIXEL_MM):
    """Normalised image slices and gland-mask slices of one case on the network grid.

    Returns
    -------
    images : float32 (z, size, size); masks : uint8 (z, size, size)
    """
    images = to_grid(normalise(case.image), case.spacing, size=size, pixel_mm=pixel_mm)
    masks = to_grid(case.gland.astype(np.float32), case.spacing, size=size, pixel_mm=pixel_mm) >= 0.5
    return images, masks.astype(np.uint8)


def split_slices(name, *, size=GRID, pixel_mm=PIXEL_MM):
    """All axial slices of a phantom split on the network grid (cached).

    Returns
    -------
    dict with ``images`` (n, size, size) float32, ``masks`` (n, size, size)
    uint8 and ``case_index`` (n,) int: which case of the split each slice is from.
    """
    def build():
        images, masks, index = [], [], []
        for i, case in enumerate(prostate_split(name)):
            im, mk = case_to_grid(case, size=size, pixel_mm=pixel_mm)
            images.append(im)
            masks.append(mk)
            index.append(np.full(len(im), i))
        return {"images": np.concatenate(images), "masks": np.concatenate(masks),
                "case_index": np.concatenate(index)}

    return cached_arrays(f"slices_{name}_v{PHANTOM_VERSION}_{size}px_{pixel_mm:g}mm.npz", build,
                         keys=("images", "masks", "case_index"))


class SliceDataset(Dataset):
    """2D slices for the segmentation networks: ``(image[1, H, W], mask[H, W])``.

    Parameters
    ----------
    split : str
        "train", "val" or "test".
    only_gland : bool
        Keep only slices that contain gland (plus ``margin`` slices around it).
    """

    def __init__(self, split="train", *, only_gland=False, size=GRID, pixel_mm=PIXEL_MM):
        data = split_slices(split, size=size, pixel_mm=pixel_mm)
        self.images, self.masks, self.case_index = _slice_tensors(data, only_gland)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i], self.masks[i]


def _slice_tensors(data, only_gland):
    """``(images[n, C, H, W] float32, masks[n, H, W] int64, case_index[n])`` tensors of stacked slices
    (``images`` of shape (n, H, W) get the channel axis, C = 1)."""
    keep = np.ones(len(data["masks"]), bool)
    if only_gland:
        keep = data["masks"].any(axis=(1, 2))
    images = torch.from_numpy(np.ascontiguousarray(data["images"][keep], dtype=np.float32))
    images = images.unsqueeze(1) if images.ndim == 3 else images
    masks = torch.from_numpy(data["masks"][keep].astype(np.int64))
    return images, masks, data["case_index"][keep]


class CaseSlices(SliceDataset):
    """The axial slices of the cases you give, on the network grid: ``(image[C, H, W], mask[H, W])``.

    Items are those of :class:`SliceDataset` (float32 normalised image, int64
    whole-gland mask), made by :func:`case_to_grid` from any list of
    :class:`~medseg_edu.data.Case` objects - phantoms, or the real MSD cases of
    :func:`~medseg_edu.data.load_msd_prostate` - so a network can be fine-tuned
    on them. A 2.5D network (each slice with one neighbour below and above as
    input channels) takes ``context=1``; the bundled networks are 2D::

        cases = load_msd_prostate(fetch_msd_prostate(), "train", cases=range(8))
        model = weights.load("unet")
        fit(model, CaseSlices(cases[:6]), CaseSlices(cases[6:]), max_steps=100, augment=flip_augment)

    Nothing is cached: the slices are computed once, when the dataset is built.

    Parameters
    ----------
    cases : iterable of Case
        Each needs ``image``, ``labels`` and ``spacing`` (mm). A case whose
        ``meta["has_labels"]`` is False (the MSD test split) is refused: its
        all-zero label map would teach the network that there is no gland.
    only_gland : bool
        Keep only the slices that contain gland.
    size, pixel_mm : int, float
        The grid (default ``GRID`` pixels of ``PIXEL_MM`` mm, the bundled networks' grid).
    context : int
        Neighbouring slices on each side as extra channels (:func:`~medseg_edu.data.prep.stack_slices`,
        ``CONTEXT_STEP_MM`` apart, from each case's own slice spacing); 0: one slice, ``C = 1``.

    Attributes
    ----------
    images, masks : torch.Tensor
        ``(n, 2 * context + 1, size, size)`` float32 and ``(n, size, size)`` int64.
    case_index : numpy.ndarray of int
        For each slice, the position of its case in ``cases``.
    names : list of str
        The cases' names, in the order given.
    """

    def __init__(self, cases, *, only_gland=False, size=GRID, pixel_mm=PIXEL_MM, context=0):
        cases = list(cases)
        if not cases:
            raise ValueError("CaseSlices needs at least one case; got an empty list")
        images, masks, index = [], [], []
        for i, case in enumerate(cases):
            name = getattr(case, "name", "") or f"case {i}"
            missing = [a for a in ("image", "gland", "spacing") if not hasattr(case, a)]
            if missing:
                raise TypeError(f"CaseSlices needs cases (with .image, .gland and .spacing, e.g. from "
                                f"prostate_split or load_msd_prostate); item {i} is a {type(case).__name__} "
                                f"without {', '.join('.' + a for a in missing)}")
            if (getattr(case, "meta", None) or {}).get("has_labels", True) is False:
                raise ValueError(
                    f"{name!r} has no labels (an MSD test-split case?): its all-zero label map is not a "
                    f"truth to train on; use cases from load_msd_prostate(root, 'train')")
            im, mk = case_to_grid(case, size=size, pixel_mm=pixel_mm)
            images.append(stack_slices(im, case.spacing[2], context=context) if context else im)
            masks.append(mk)
            index.append(np.full(len(im), i))
        data = {"images": np.concatenate(images), "masks": np.concatenate(masks),
                "case_index": np.concatenate(index)}
        self.images, self.masks, self.case_index = _slice_tensors(data, only_gland)
        self.names = [getattr(c, "name", "") for c in cases]


class PatchDataset(Dataset):
    """Square patches around single pixels, labelled by the centre pixel.

    Half the centres are gland pixels, a quarter are background pixels near
    the gland border (the hard ones) and a quarter anywhere else. The slices
    are the phantom ``split``'s, or ``slices`` (a dict with ``images`` and
    ``masks`` on the network grid, e.g. :func:`medseg_edu.data.synth.synthetic_slices`).
    """

    def __init__(self, split="train", *, patch_size=33, n_patches=20000, seed=0,
                 size=GRID, pixel_mm=PIXEL_MM, slices=None):
        if patch_size % 2 == 0:
            raise ValueError(f"patch_size must be odd so a patch has a centre pixel, got {patch_size}")
        seed = as_seed(seed)
        data = split_slices(split, size=size, pixel_mm=pixel_mm) if slices is None else slices
        self.half = patch_size // 2
        pad = ((0, 0), (self.half, self.half), (self.half, self.half))
        self.images = np.pad(data["images"], pad)
        masks = data["masks"].astype(bool)
        from scipy import ndimage

        near = ndimage.binary_dilation(masks, np.ones((1, 9, 9), bool)) & ~masks
        rng = np.random.default_rng(seed)
        groups = [np.argwhere(masks), np.argwhere(near), np.argwhere(~masks)]
        counts = [n_patches // 2, n_patches // 4, n_patches - n_patches // 2 - n_patches // 4]
        self.centres = np.concatenate([g[rng.integers(len(g), size=c)] for g, c in zip(groups, counts)])
        self.labels = masks[tuple(self.centres.T)].astype(np.int64)

    def __len__(self):
        return len(self.centres)

    def __getitem__(self, i):
        s, r, c = self.centres[i]
        patch = self.images[s, r:r + 2 * self.half + 1, c:c + 2 * self.half + 1]
        return torch.from_numpy(np.ascontiguousarray(patch)).unsqueeze(0), torch.tensor(self.labels[i])
