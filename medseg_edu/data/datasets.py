"""Torch-ready datasets of phantom slices and patches, cached on disk.

The first call for a split generates its phantoms (about half a second each)
and stores the network-grid slices in the cache folder; later calls - in any
notebook - load them in a fraction of a second.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from .cache import cached_arrays
from .prep import GRID, PIXEL_MM, normalise, to_grid
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
        keep = np.ones(len(data["masks"]), bool)
        if only_gland:
            keep = data["masks"].any(axis=(1, 2))
        self.images = torch.from_numpy(data["images"][keep]).unsqueeze(1)
        self.masks = torch.from_numpy(data["masks"][keep].astype(np.int64))
        self.case_index = data["case_index"][keep]

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i], self.masks[i]


class PatchDataset(Dataset):
    """Square patches around single pixels, labelled by the centre pixel.

    Half the centres are gland pixels, a quarter are background pixels near
    the gland border (the hard ones) and a quarter anywhere else.
    """

    def __init__(self, split="train", *, patch_size=33, n_patches=20000, seed=0,
                 size=GRID, pixel_mm=PIXEL_MM):
        if patch_size % 2 == 0:
            raise ValueError(f"patch_size must be odd so a patch has a centre pixel, got {patch_size}")
        data = split_slices(split, size=size, pixel_mm=pixel_mm)
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
