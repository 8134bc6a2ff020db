"""Shared plumbing of the deep methods: pretrained weights and 3D inference.

A 2D network segments a 3D scan slice by slice on the fixed network grid
(``medseg_edu.data.to_grid``: 1.25 mm pixels, 96 x 96), whatever the scan's
own in-plane spacing; the gland probability is resampled back onto the
scan's grid before thresholding, so the volume is measured at full resolution.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from .. import nets
from .._device import device as pick_device
from ..data import GRID, PIXEL_MM, from_grid, normalise, to_grid
from ..train import load_checkpoint

WEIGHT_NAMES = ("patch_cnn", "fcn", "unet", "dilated")
ARCHITECTURES = {"PatchCNN": nets.PatchCNN, "FCN": nets.FCN, "UNet": nets.UNet, "DilatedNet": nets.DilatedNet}


def weights_dir() -> Path:
    """``$MEDSEG_EDU_WEIGHTS`` or the repository's ``data/weights`` folder."""
    override = os.environ.get("MEDSEG_EDU_WEIGHTS")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "data" / "weights"


def load_pretrained(name: str) -> torch.nn.Module:
    """The bundled network ``name`` ("patch_cnn", "fcn", "unet", "dilated"), in eval mode.

    The architecture and its settings are read from ``<name>.json`` beside
    the weights ``<name>.pt`` in :func:`weights_dir`; ``make pretrained``
    re-creates both. Loaded models are cached (per folder and name), so
    repeated calls are free; do not train the returned model in place.

    Raises
    ------
    FileNotFoundError
        When the weights or their sidecar are missing (hint: ``make pretrained``).
    """
    if name not in WEIGHT_NAMES:
        raise ValueError(f"unknown network {name!r}; bundled weights exist for {WEIGHT_NAMES}")
    return _load(str(weights_dir()), name)


@lru_cache(maxsize=8)
def _load(folder: str, name: str) -> torch.nn.Module:
    path = Path(folder) / f"{name}.pt"
    sidecar = path.with_suffix(".json")
    if not path.exists() or not sidecar.exists():
        raise FileNotFoundError(f"no bundled weights for {name!r} at {path}: run `make pretrained` "
                                "(re-trains them from the phantom train split, ~25 min on a CPU) "
                                "or point MEDSEG_EDU_WEIGHTS at a folder that has them")
    meta = json.loads(sidecar.read_text())
    architecture = ARCHITECTURES[meta["architecture"]]
    model = architecture(**meta["kwargs"])
    load_checkpoint(model, path)
    return model.eval()


def check_volume(image, spacing):
    """Validate a 3D scan and its spacing; return them as float32 array and float tuple."""
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"expected a 3D image (x, y, z), got shape {image.shape}; "
                         "for a single slice use image[:, :, None]")
    if not np.issubdtype(image.dtype, np.number) or not np.all(np.isfinite(image)):
        raise ValueError(f"image (dtype {image.dtype}) must be numeric and free of NaN/inf")
    spacing = tuple(float(s) for s in np.ravel(spacing))
    if len(spacing) != 3 or not all(np.isfinite(s) and s > 0 for s in spacing):
        raise ValueError(f"spacing must be three positive voxel sizes in mm for an image of shape "
                         f"{image.shape}, got {spacing}")
    return image.astype(np.float32, copy=False), spacing


@torch.no_grad()
def grid_probabilities(model, slices, *, batch_size=16, device=None):
    """Gland probability for each (z, H, W) grid slice with a same-size-output network."""
    dev = device or next(model.parameters()).device
    model.eval()
    out = np.empty(slices.shape, np.float32)
    for start in range(0, len(slices), batch_size):
        batch = torch.from_numpy(slices[start:start + batch_size]).unsqueeze(1).to(dev)
        out[start:start + batch_size] = torch.softmax(model(batch), dim=1)[:, 1].cpu().numpy()
    return out


@torch.no_grad()
def patch_probabilities(model, slices, *, batch_size=1024, device=None):
    """Gland probability of every pixel, each classified from its own patch (sliding window)."""
    dev = device or next(model.parameters()).device
    model.eval()
    half = model.hparams["patch_size"] // 2
    out = np.empty(slices.shape, np.float32)
    for k, grid_slice in enumerate(slices):
        padded = torch.from_numpy(np.pad(grid_slice, half)).to(dev)[None, None]
        # every pixel's patch, as a (pixels, 1, P, P) batch: one forward pass per pixel
        patches = torch.nn.functional.unfold(padded, 2 * half + 1).transpose(1, 2)
        patches = patches.reshape(-1, 1, 2 * half + 1, 2 * half + 1)
        probs = [torch.softmax(model(patches[i:i + batch_size]), dim=1)[:, 1]
                 for i in range(0, len(patches), batch_size)]
        out[k] = torch.cat(probs).reshape(grid_slice.shape).cpu().numpy()
    return out


def probability_volume(model, image, spacing, *, batch_size=16, device=None, per_pixel=False):
    """Gland probability (0-1) on the scan's own grid, from slice-by-slice inference.

    Parameters
    ----------
    model : torch.nn.Module or str
        A 2D network returning class scores, or the name of bundled weights
        (loaded with :func:`load_pretrained` once the input is validated).
    image : np.ndarray, (x, y, z)
        The scan, any intensity scale (normalised here).
    spacing : tuple of 3 float
        Voxel size in mm.
    batch_size : int
        Grid slices per forward pass (patches per pass for ``per_pixel``).
    device : str or torch.device, optional
        Default :func:`medseg_edu.device` (CUDA, then MPS, then CPU).
    per_pixel : bool
        Sliding-window inference for a patch classifier: every pixel of
        every grid slice is classified from its own patch.

    Returns
    -------
    np.ndarray, float32, the image's shape
        Gland probability; 0 outside the network's 120 mm field of view.
    """
    image, spacing = check_volume(image, spacing)
    if isinstance(model, str):
        model = load_pretrained(model)
    dev = device or pick_device(verbose=False)
    model = model.to(dev)
    slices = to_grid(normalise(image), spacing, size=GRID, pixel_mm=PIXEL_MM)
    if per_pixel:
        probs = patch_probabilities(model, slices, batch_size=batch_size, device=dev)
    else:
        probs = grid_probabilities(model, slices, batch_size=batch_size, device=dev)
    return from_grid(probs, image.shape, spacing, pixel_mm=PIXEL_MM)


def largest_component(mask):
    """Keep the largest 3D connected component (the gland is one piece)."""
    labelled, count = ndimage.label(mask)
    if count <= 1:
        return mask
    sizes = np.bincount(labelled.ravel())
    sizes[0] = 0
    return labelled == np.argmax(sizes)


def segment_volume(model, image, spacing, *, threshold=0.5, largest_component_only=True,
                   batch_size=16, device=None, per_pixel=False):
    """Whole-gland mask (bool, the image's shape) from a 2D network, slice by slice.

    :func:`probability_volume` thresholded at ``threshold`` (0-1); with
    ``largest_component_only`` only the largest 3D connected region is kept.
    """
    if not 0.0 < float(threshold) < 1.0:
        raise ValueError(f"threshold is a gland probability strictly between 0 and 1, got {threshold}")
    probs = probability_volume(model, image, spacing, batch_size=batch_size, device=device,
                               per_pixel=per_pixel)
    mask = probs >= threshold
    return largest_component(mask) if largest_component_only else mask
