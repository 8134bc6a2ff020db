"""Real prostate shapes: the 32 expert MSD Task05 label maps, re-posed and resized.

Phantom v2 (:mod:`medseg_edu.data.pelvis`) does not invent a gland: it takes
one of the real expert label maps bundled in ``data/msd_labels/`` (PZ and TZ,
CC-BY-SA 4.0, see data/README.md), deforms it smoothly, tilts and turns it
like a real patient's gland, rescales it to the requested volume and samples
it on the scan's voxel grid. The real shapes bring what formulas miss: lobes,
asymmetry, the tapering apex, the flattened posterior surface, a TZ that
grows with the gland.

Shapes are split once and for all: :data:`TRAIN_SHAPES` are the ones the
bundled networks learn from, :data:`HELD_OUT_SHAPES` are never trained on and
give the validation and test phantoms.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import ndimage

#: Case ids of the 32 bundled label maps (MSD Task05 training cases).
SHAPE_IDS = ("00", "01", "02", "04", "06", "07", "10", "13", "14", "16", "17", "18", "20", "21", "24",
             "25", "28", "29", "31", "32", "34", "35", "37", "38", "39", "40", "41", "42", "43", "44",
             "46", "47")
#: Shapes never shown to a network: validation and test phantoms are drawn from them.
HELD_OUT_SHAPES = ("01", "10", "20", "29", "38", "44")
#: Shapes the bundled networks are trained on.
TRAIN_SHAPES = tuple(s for s in SHAPE_IDS if s not in HELD_OUT_SHAPES)

_SMOOTH_MM = (1.2, 1.2, 1.6)  # the expert contours are drawn on 3.6-4 mm slices: round off the steps


def label_dir() -> Path:
    """The folder of the MSD expert label maps: :func:`medseg_edu.data.msd_label_dir`."""
    from .real import msd_label_dir

    return msd_label_dir()


@lru_cache(maxsize=None)
def _shape(shape_id: str):
    """(zone probabilities (2, x, y, z) float32, spacing, centre in voxels) of one label map."""
    import nibabel as nib

    path = label_dir() / f"prostate_{shape_id}.nii.gz"
    if not path.is_file():
        raise FileNotFoundError(f"expert label map {path} is missing; it ships in the repository's "
                                "data/msd_labels/ folder (clone the repository to get it)")
    img = nib.as_closest_canonical(nib.load(str(path)))
    labels = np.asarray(img.dataobj).astype(np.uint8)
    spacing = tuple(float(z) for z in img.header.get_zooms()[:3])
    hits = np.argwhere(labels > 0)
    lo = np.maximum(hits.min(0) - 4, 0)
    hi = np.minimum(hits.max(0) + 5, labels.shape)
    labels = labels[tuple(slice(a, b) for a, b in zip(lo, hi))]
    sigma = [s / d for s, d in zip(_SMOOTH_MM, spacing)]
    zones = np.stack([ndimage.gaussian_filter((labels == k).astype(np.float32), sigma, mode="constant")
                      for k in (1, 2)])
    centre = np.argwhere(labels > 0).mean(0)
    return zones, spacing, centre


def shape_volume_ml(shape_id: str) -> float:
    """Whole-gland volume (mL) of an expert label map on its own voxel grid."""
    zones, spacing, _ = _shape(shape_id)
    return float(((zones[0] + zones[1]) >= 0.5).sum() * np.prod(spacing) / 1000.0)


def rotation(tilt_deg: float, turn_deg: float, roll_deg: float = 0.0) -> np.ndarray:
    """3 x 3 rotation: ``tilt`` about the left-right axis (apex forward), ``turn`` about S-I, ``roll`` about A-P."""
    t, u, r = np.deg2rad([tilt_deg, turn_deg, roll_deg])
    rx = np.array([[1, 0, 0], [0, np.cos(t), -np.sin(t)], [0, np.sin(t), np.cos(t)]])
    rz = np.array([[np.cos(u), -np.sin(u), 0], [np.sin(u), np.cos(u), 0], [0, 0, 1]])
    ry = np.array([[np.cos(r), 0, np.sin(r)], [0, 1, 0], [-np.sin(r), 0, np.cos(r)]])
    return rz @ ry @ rx


def place_gland(shape_id, grid_axes, centre_mm, volume_ml=None, *, rotate=np.eye(3), mirror=False,
                stretch=(1.0, 1.0, 1.0), warp_mm=0.0, rng=None, tolerance=0.01):
    """Sample a real gland shape on a voxel grid: PZ/TZ label map of a given volume.

    Parameters
    ----------
    shape_id : str
        One of :data:`SHAPE_IDS` (an MSD Task05 case id).
    grid_axes : tuple of 3 numpy arrays
        Voxel-centre coordinates (mm) of the target grid along x, y, z.
    centre_mm : sequence of 3 float
        Where the gland's centroid goes (mm, same frame as ``grid_axes``).
    volume_ml : float, optional
        Whole-gland volume (mL) on the target grid, matched within ``tolerance``
        (relative) by rescaling; default the expert gland's own volume.
    rotate : 3 x 3 array
        Rotation of the gland about its centroid (see :func:`rotation`).
    mirror : bool
        Swap patient left and right (a new, equally real shape).
    stretch : 3 floats
        Extra anisotropic scaling (x, y, z) before the volume is matched.
    warp_mm : float
        Largest displacement (mm) of a smooth random deformation (0: none).
    rng : numpy.random.Generator, optional
        Draws the deformation.

    Returns
    -------
    numpy.ndarray, uint8, the grid's shape
        0 background, 1 peripheral zone, 2 transition zone.
    """
    zones, spacing, centre = _shape(shape_id)
    target = shape_volume_ml(shape_id) if volume_ml is None else float(volume_ml)
    if not 1.0 <= target <= 600.0:
        raise ValueError(f"volume_ml must be a gland volume in mL between 1 and 600, got {volume_ml!r}")
    src_extent = np.array(zones.shape[1:]) * np.array(spacing)
    scale = (target / shape_volume_ml(shape_id)) ** (1 / 3)
    # Only the box around the centre can hold the gland: sample there.
    reach = 0.75 * np.linalg.norm(src_extent) * scale * max(stretch) + warp_mm + 5.0
    box = tuple(slice(*np.searchsorted(a, [c - reach, c + reach])) for a, c in zip(grid_axes, centre_mm))
    axes = [a[s] - c for a, s, c in zip(grid_axes, box, centre_mm)]
    points = np.stack(np.meshgrid(*axes, indexing="ij"), axis=0).reshape(3, -1)
    if warp_mm > 0:
        from .deform import random_displacement

        box_shape = tuple(len(a) for a in axes)
        box_spacing = tuple(float(a[1] - a[0]) if len(a) > 1 else 1.0 for a in axes)
        field = random_displacement(box_shape, box_spacing, magnitude_mm=warp_mm, smoothness_mm=12.0,
                                    seed=int(rng.integers(2**31)) if rng is not None else 0)
        points = points + (field * np.array(box_spacing)[:, None, None, None]).reshape(3, -1)
    out = np.zeros(tuple(len(a) for a in grid_axes), np.uint8)
    if min(out[box].shape, default=0) == 0:
        return out
    flip = np.diag([-1.0 if mirror else 1.0, 1.0, 1.0])
    local = flip @ np.asarray(rotate).T @ points  # gland frame, mm
    voxel_volume = float(np.prod([a[1] - a[0] if len(a) > 1 else 1.0 for a in grid_axes]))
    labels = None
    for _ in range(8):
        src = (local / (scale * np.asarray(stretch)[:, None])) / np.array(spacing)[:, None] + centre[:, None]
        pz, tz = (ndimage.map_coordinates(z, src, order=1, mode="constant", cval=0.0) for z in zones)
        gland = (pz + tz) >= 0.5
        measured = gland.sum() * voxel_volume / 1000.0
        labels = np.where(gland, np.where(tz > pz, 2, 1), 0).astype(np.uint8)
        if measured > 0 and abs(measured / target - 1.0) <= tolerance:
            break
        scale *= (target / measured) ** (1 / 3) if measured > 0 else 1.5
    out[box] = labels.reshape(out[box].shape)
    return out
