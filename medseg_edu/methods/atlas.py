"""Registration-based (multi-atlas) segmentation.

An *atlas* is a scan whose segmentation is known. Register the atlas image to
a new (target) image with :mod:`medseg_edu.methods.registration` - find the
transformation that makes the two look alike - then push the atlas labels
through the same transformation: they land on the target's gland. With several
atlases, each gives a vote and the majority wins (notebook 03, the seed
article's Fig 3).

Entry point, like every method::

    mask = segment(image, spacing, atlases=None, n_atlases=5, deformable=True)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from .._bundled import bundled
from .._checks import as_scan
from .quality import warn_if_unlike_a_scan
from .registration import (GRID_MM, GRID_SIZE, check_image, as_tensor, centre_weight,
                           normalise_inside, register_affine, register_deformable, to_common,
                           warp_to_target)

POOL_SIZE = 12          # training cases in the default atlas library
LIBRARY_VERSION = 1     # bump when the library's content changes (cache key)
#: Masks of :func:`segment` (defaults) on bundled real scans, written by ``tools/real_atlas.py``.
STORED_REAL_MASKS = bundled("benchmarks", "real_atlas_masks.npz")


def majority_vote(masks):
    """Voxels that more than half of the masks call foreground.

    Parameters
    ----------
    masks : sequence of np.ndarray of bool, or an array (n, x, y, z)

    Returns
    -------
    np.ndarray of bool (x, y, z)
    """
    stack = np.asarray(masks, dtype=bool)
    if stack.ndim < 2 or stack.shape[0] == 0:
        raise ValueError(f"majority_vote needs a non-empty stack of masks (n, ...), got shape {stack.shape}")
    return stack.sum(axis=0) * 2 > stack.shape[0]


# --------------------------------------------------------------------------- atlases


@dataclass
class Atlas:
    """An atlas on the common grid: normalised image and soft whole-gland mask (0-1)."""

    image: np.ndarray
    gland: np.ndarray
    inside: np.ndarray
    name: str = ""


def make_atlas(image, labels, spacing, name=""):
    """Resample a segmented scan onto the common grid as an :class:`Atlas`.

    Parameters
    ----------
    image : np.ndarray (x, y, z)
    labels : np.ndarray (x, y, z)
        Label map or mask; the whole gland is ``labels > 0``.
    spacing : tuple of 3 float, mm
    """
    image, spacing = check_image(image, spacing)
    labels = np.asarray(labels)
    if labels.shape != image.shape:
        raise ValueError(f"labels {labels.shape} must have the image's shape {image.shape}")
    values, inside = to_common(image, spacing)
    gland, _ = to_common(labels > 0, spacing)
    return Atlas(normalise_inside(values, inside), np.clip(gland, 0, 1), inside, name)


def _library_path():
    from ..data import cache_dir

    return cache_dir() / f"atlas_library_v{LIBRARY_VERSION}_{POOL_SIZE}x{GRID_SIZE}_{GRID_MM:g}mm.npz"


@lru_cache(maxsize=1)
def default_atlases():
    """The default atlas library: the first ``POOL_SIZE`` training phantoms on the common grid.

    Built once (about 2 s per phantom) and cached on disk under
    ``medseg_edu.data.cache_dir()``. The training split's first cases span
    16-315 mL on purpose, so small and enlarged glands both have look-alikes.
    """
    from ..data import cached_arrays, prostate_split

    def build():
        split = prostate_split("train")
        atlases = [make_atlas(split[i].image, split[i].labels, split[i].spacing, split[i].name)
                   for i in range(POOL_SIZE)]
        return dict(images=np.stack([a.image for a in atlases]).astype(np.float16),
                    glands=np.stack([a.gland for a in atlases]).astype(np.float16),
                    inside=np.stack([a.inside for a in atlases]), names=np.array([a.name for a in atlases]))

    # Always the stored (float16) values, also right after building: the first run on a
    # fresh machine then gives exactly the numbers of every later run.
    z = cached_arrays(_library_path(), build, keys=("images", "glands", "inside", "names"))
    return tuple(Atlas(z["images"][i].astype(np.float32), z["glands"][i].astype(np.float32),
                       z["inside"][i], str(z["names"][i])) for i in range(len(z["names"])))


def _as_atlases(atlases):
    if atlases is None:
        return default_atlases()
    out = []
    for item in atlases:
        if isinstance(item, Atlas):
            out.append(item)
        elif hasattr(item, "image") and hasattr(item, "labels") and hasattr(item, "spacing"):
            out.append(make_atlas(item.image, item.labels, item.spacing, getattr(item, "name", "")))
        else:
            raise TypeError("atlases must be Atlas objects (make_atlas) or cases with image, labels and spacing, "
                            f"got {type(item).__name__}")
    if not out:
        raise ValueError("atlases is empty; give at least one atlas")
    return out


def segment(image, spacing, *, atlases=None, n_atlases=5, deformable=True, select_iterations=40,
            affine_iterations=30, deformable_iterations=40, control_mm=12.0, smoothness=1.0, focus_mm=30.0,
            return_details=False):
    """Multi-atlas segmentation of the whole gland.

    1. Resample the target and every atlas onto the common 2 mm grid.
    2. Register each atlas image to the target with a quick affine at 8 mm
       resolution and rank the atlases by how well they then match (local NCC).
    3. Keep the ``n_atlases`` best; refine their affine at 4 mm, then (if
       ``deformable``) add a smooth displacement field.
    4. Warp their gland masks onto the target's own grid; majority vote.

    Parameters
    ----------
    image : np.ndarray (x, y, z)
        Target scan, any intensity units.
    spacing : tuple of 3 float
        Its voxel size in mm.
    atlases : sequence, optional
        :class:`Atlas` objects or cases (with ``image``, ``labels``,
        ``spacing``). Default: :func:`default_atlases`.
    n_atlases : int
        How many of the best-matching atlases vote.
    deformable : bool
        Add the deformable step after the affine one.
    select_iterations, affine_iterations, deformable_iterations : int
        Adam steps of the ranking affine (8 mm), the refining affine (4 mm)
        and the deformable step (4 mm).
    control_mm, smoothness : float
        Deformable control-point spacing (mm) and weight of the membrane (first-difference) penalty.
    focus_mm : float
        Width (sigma, mm) of the Gaussian that weights the similarity loss
        around the centre of the field of view (:func:`centre_weight`).
    return_details : bool
        Also return a dict with the selected atlases, their registrations,
        their warped masks and the ranking scores.

    Returns
    -------
    np.ndarray of bool, the image's shape (and the details dict if asked)
    """
    image, spacing = check_image(*as_scan(image, spacing))
    warn_if_unlike_a_scan(image.shape, spacing, method="atlas")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the tensors are small: thread overhead costs more than it gains
    try:
        return _segment(image, spacing, atlases, n_atlases, deformable, select_iterations, affine_iterations,
                        deformable_iterations, control_mm, smoothness, focus_mm, return_details)
    finally:
        torch.set_num_threads(threads)


def _segment(image, spacing, atlases, n_atlases, deformable, select_iterations, affine_iterations,
             deformable_iterations, control_mm, smoothness, focus_mm, return_details):
    if isinstance(n_atlases, bool) or not isinstance(n_atlases, (int, np.integer)) or n_atlases < 1:
        raise ValueError(f"n_atlases must be a positive integer, got {n_atlases!r}")
    pool = _as_atlases(atlases)
    n_atlases = min(int(n_atlases), len(pool))
    values, inside = to_common(image, spacing)
    fixed = as_tensor(normalise_inside(values, inside))
    weight = as_tensor(inside * centre_weight(focus_mm))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        quick = [register_affine(fixed, as_tensor(a.image), weight, iterations=(select_iterations,), factors=(4,))
                 for a in pool]
        scores = [r.losses[-1] if r.losses else 0.0 for r in quick]
        order = np.argsort(scores, kind="stable")[:n_atlases]
        chosen, regs, warped = [], [], []
        for i in order:
            moving = as_tensor(pool[i].image)
            reg = register_affine(fixed, moving, weight, iterations=(affine_iterations,), factors=(2,),
                                  theta=quick[i].theta)
            reg.losses = quick[i].losses + reg.losses
            if deformable:
                reg = register_deformable(fixed, moving, reg, weight, iterations=deformable_iterations,
                                          control_mm=control_mm, smoothness=smoothness)
            chosen.append(pool[i])
            regs.append(reg)
            warped.append(warp_to_target(pool[i].gland, reg, image.shape, spacing) >= 0.5)
    mask = majority_vote(warped)
    if return_details:
        return mask, {"atlases": chosen, "registrations": regs, "masks": warped,
                      "scores": [float(scores[i]) for i in order]}
    return mask


def stored_real_mask(scan):
    """The default atlas's mask on a bundled real scan, from the run stored by ``tools/real_atlas.py``.

    :func:`segment` with its defaults on ``real_scan(scan)`` takes about 10 s on
    two cores (plus about 25 s to build the atlas library on a fresh machine);
    notebook 10 reads this stored run to stay within its time budget, and can
    run the atlas live instead. The atlas uses no network, so the stored masks
    stay valid when the networks are retrained; a test checks that they are
    what :func:`segment` gives today.

    Parameters
    ----------
    scan : str
        A name from ``medseg_edu.data.REAL_SCANS`` that the tool was run on.

    Returns
    -------
    np.ndarray of bool, the scan's shape (x, y, z)

    Raises
    ------
    FileNotFoundError
        If the stored file is missing.
    KeyError
        If the scan was not stored (the message lists those that were).
    """
    if not STORED_REAL_MASKS.is_file():
        raise FileNotFoundError(f"{STORED_REAL_MASKS} is missing: run python tools/real_atlas.py to make it, "
                                "or segment(image, spacing) live")
    with np.load(STORED_REAL_MASKS) as stored:
        if f"{scan}/mask" not in stored.files:
            names = sorted(key.split("/")[0] for key in stored.files if key.endswith("/mask"))
            raise KeyError(f"no stored atlas mask for {scan!r} in {STORED_REAL_MASKS.name}; stored: {names}")
        shape = tuple(int(n) for n in stored[f"{scan}/shape"])
        return np.unpackbits(stored[f"{scan}/mask"], count=int(np.prod(shape))).astype(bool).reshape(shape)
