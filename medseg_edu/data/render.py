"""MR appearance model: turn any label map into a T2-weighted-looking image.

The phantom draws anatomy as a map of *tissue codes*; :func:`render_mr`
turns such a map (or a plain 0/1/2 prostate label map, e.g. a real MSD label
file) into an image with the ingredients of a real T2-weighted scan:
per-tissue intensities that vary from case to case, texture (benign nodules
in the transition zone), partial-volume blur matched to the voxel size, a
smooth coil bias field and Rician noise.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .._checks import as_seed, as_spacing
from ..masks import ball
from .noise import rician_noise, smooth_noise

# Tissue codes used by the phantom. Codes 1 and 2 are the prostate zones, so a
# plain MSD label map (0 background, 1 PZ, 2 TZ) is a valid tissue map too.
TISSUES = {
    "background": 0,  # unknown soft tissue (used when rendering bare label maps)
    "pz": 1,
    "tz": 2,
    "air": 3,          # outside the body
    "fat": 4,
    "muscle": 5,
    "bone_cortex": 6,
    "marrow": 7,
    "urine": 8,
    "bladder_wall": 9,
    "rectal_wall": 10,
    "rectal_gas": 11,
    "rectal_content": 12,
    "seminal_vesicle": 13,
    "capsule": 14,
    "venous_plexus": 15,
    "urethra": 16,
    "stroma": 17,      # anterior fibromuscular stroma (dark, outside the zones)
    "lesion": 18,      # a dark focal lesion inside the PZ (label stays PZ)
}

# Typical T2-weighted intensity (arbitrary units) and its case-to-case spread.
_T2_MEAN = {
    "background": (420, 60), "pz": (560, 70), "tz": (330, 40), "air": (0, 0),
    "fat": (640, 60), "muscle": (170, 25), "bone_cortex": (40, 10),
    "marrow": (470, 60), "urine": (920, 50), "bladder_wall": (200, 30),
    "rectal_wall": (240, 30), "rectal_gas": (15, 5), "rectal_content": (380, 120),
    "seminal_vesicle": (720, 80), "capsule": (210, 30), "venous_plexus": (700, 80),
    "urethra": (480, 80), "stroma": (170, 25), "lesion": (300, 40),
}

# How textured each tissue is: relative amplitude of smooth spatial variation.
_TEXTURE = {"tz": 0.28, "pz": 0.10, "background": 0.35, "fat": 0.06, "muscle": 0.10,
            "marrow": 0.15, "rectal_content": 0.4, "seminal_vesicle": 0.15}


def bias_field(shape, spacing, strength, rng):
    """Smooth multiplicative coil-sensitivity field, mean 1, about +-``strength``."""
    if strength <= 0:
        return np.ones(shape, np.float32)
    axes = []
    for n, s in zip(shape, spacing):
        axes.append((np.arange(n, dtype=np.float32) - n / 2) * s / 100.0)  # in dm
    grids = np.meshgrid(*axes, indexing="ij", sparse=True)
    field = np.zeros(shape, np.float32)
    for grid in grids:  # a random low-order polynomial per axis...
        field = field + rng.normal(0, 1) * grid + rng.normal(0, 0.6) * grid**2
    # ... plus the classic brightening towards the posterior (endorectal/pelvic coil)
    field = field - 0.8 * grids[1]
    field -= field.mean()
    peak = np.abs(field).max()
    if peak > 0:
        field *= strength / peak
    return (1.0 + field).astype(np.float32)


def render_mr(labels, spacing, seed=0, *, noise=0.05, bias=0.25, blur=True, texture=True):
    """Render a T2-weighted-looking MR image from a label (tissue) map.

    Parameters
    ----------
    labels : np.ndarray of int
        3D (or 2D) map of tissue codes, see :data:`TISSUES`. A plain prostate
        label map (0 background, 1 PZ, 2 TZ, e.g. a real MSD label file)
        works: its background is rendered as textured soft tissue and a thin
        dark capsule is drawn around the gland.
    spacing : sequence of float
        Voxel size in mm, one per axis. Sets the size of texture, blur and
        bias in millimetres, so thick slices are blurred through-plane.
    seed : int
        Case-to-case variation (intensities, texture, bias, noise) is drawn
        from this seed: same seed, same image.
    noise : float
        Rician noise level as a fraction of the typical tissue intensity (~500).
    bias : float
        Peak relative amplitude of the smooth bias field (0 disables it).
    blur, texture : bool
        Switch partial-volume blur and tissue texture on or off (for teaching).

    Returns
    -------
    np.ndarray
        float32 image, same shape as ``labels``, arbitrary units (~0-1000).
    """
    labels = np.asarray(labels)
    if labels.ndim not in (2, 3):
        raise ValueError(f"render_mr needs a 2D or 3D label map, got {labels.ndim}D with shape {labels.shape}")
    if not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == bool):
        # label files are often stored as floats (nibabel's get_fdata): accept whole numbers
        if not np.issubdtype(labels.dtype, np.floating) or not np.all(np.isfinite(labels)) \
                or not np.array_equal(labels, np.round(labels)):
            raise ValueError(f"render_mr needs a map of integer tissue codes; got dtype {labels.dtype} "
                             "with non-integer or non-finite values")
        labels = np.round(labels).astype(np.int16)
    spacing = as_spacing(spacing, labels.ndim, shape=labels.shape)
    codes = labels.astype(np.int16)
    unknown = set(np.unique(codes).tolist()) - set(TISSUES.values())
    if unknown:
        raise ValueError(f"label map holds codes {sorted(unknown)} that render_mr does not know; "
                         f"valid codes: {TISSUES}")
    rng = np.random.default_rng(as_seed(seed))

    # A bare prostate label map: add the dark capsule the gland always shows.
    if codes.max() <= 2:
        gland = codes > 0
        shell = ndimage.binary_dilation(gland, ball(spacing, 1.2, edge_tolerance=0.0)) & ~gland
        codes = np.where(shell, TISSUES["capsule"], codes)

    gain = rng.uniform(0.75, 1.3)  # scanner/coil gain differs between exams
    lut = np.zeros(max(TISSUES.values()) + 1, np.float32)
    for name, code in TISSUES.items():
        mean, sd = _T2_MEAN[name]
        lut[code] = max(0.0, rng.normal(mean, sd)) * gain
    image = lut[codes]

    if texture:
        for name, amplitude in _TEXTURE.items():
            inside = codes == TISSUES[name]
            box = _bounding_box(inside)
            if box is None:
                continue
            scale = 6.0 if name == "tz" else 10.0  # nodules in BPH are ~5-10 mm
            field = smooth_noise(inside[box].shape, spacing, scale, rng)
            if name == "tz":  # nodular: sharpen the field into blobs of differing signal
                field = np.tanh(1.8 * field)
            region, where = image[box], inside[box]
            region[where] *= 1.0 + amplitude * field[where]

    if blur:  # point-spread in-plane, slice profile through-plane (partial volume)
        sigma_mm = [0.45] * labels.ndim
        if labels.ndim == 3:
            sigma_mm[2] = 0.30 * spacing[2]
        image = ndimage.gaussian_filter(image, [s / d for s, d in zip(sigma_mm, spacing)])

    image *= bias_field(codes.shape, spacing, bias, rng)

    if noise > 0:
        image = rician_noise(image, noise * 500.0 * gain, rng)
    return image.astype(np.float32)


def _bounding_box(mask):
    """Slices of the smallest box holding all True voxels, or None if there are none."""
    if not mask.any():
        return None
    box = []
    for axis in range(mask.ndim):
        other = tuple(a for a in range(mask.ndim) if a != axis)
        hits = np.flatnonzero(mask.any(axis=other))
        box.append(slice(int(hits[0]), int(hits[-1]) + 1))
    return tuple(box)
