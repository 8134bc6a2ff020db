"""Rescans of a phantom patient: the same anatomy, scanned again (test-retest, notebook 12).

A follow-up scan is never the same image: the patient lies a little differently,
the noise and the coil's bias field are new, the slices cut the gland elsewhere.
:func:`rescan` gives any number of such sessions of one phantom patient, with the
truth known on each.

How the truth stays the same
    A patient's anatomy is drawn once, by :func:`~medseg_edu.data.prostate_phantom`
    with the patient's seed, on a fine grid (:data:`ANATOMY_SPACING`) and without
    noise or bias field: that fine image and its gland mask *are* the patient.
    Each session then

    1. moves the patient rigidly: a shift (SD ``shift_mm`` along each axis) and a
       small rotation (SD ``rotation_deg`` about each axis);
    2. plans the slab of axial slices around the gland, its slices placed at a
       random fraction of the slice thickness (uniform);
    3. samples the moved anatomy at the voxel centres of its own grid: the image
       after a through-plane blur with the slice profile (the partial volume of a
       thick slice), the truth by linear interpolation of the fine gland mask
       (a voxel is gland when its centre lies in the gland);
    4. multiplies by a new bias field and adds new Rician noise.

    ``case.meta["true_volume_ml"]``, the gland's volume on the fine grid, is the
    same for every session. The truth on a session's own grid
    (``case.gland_volume_ml``) differs from it only by where the slices fall: a
    discretisation error of well under 1 % on average, at most a few percent for
    one session (``tests/data/test_rescan.py`` measures it).

Everything is deterministic: ``rescan(seed, session)`` gives the same case every
time; another ``session`` moves the same patient again.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import ndimage

from .._checks import as_seed, as_spacing
from .case import Case
from .noise import rician_noise
from .phantom import prostate_phantom
from .render import bias_field

__all__ = ["ANATOMY_SPACING", "RESCAN_FOV_MM", "RETEST_PATIENTS", "rescan"]

#: Voxel size (mm) of the fine grid on which a patient's anatomy is drawn once.
ANATOMY_SPACING = (0.625, 0.625, 1.2)
#: The test-retest cohort of notebook 12: phantom patients no split, atlas or network has seen.
RETEST_PATIENTS = tuple(range(4000, 4008))
#: Width (mm) of the square in-plane field of view of every session.
RESCAN_FOV_MM = 160.0
_ANATOMY_SHAPE = (272, 272, 90)   # 170 x 170 x 108 mm: room for the shifts and tilts of any session
_MARGIN_MM = 9.0                   # slab beyond the gland's ends, on each side
_MIN_SLAB_MM = 54.0                # at least 15 slices of 3.6 mm
_RENDER_BLUR_Z = 0.30              # the slice profile's SD as a fraction of the thickness (render_mr's)


def _centred_axis(n, step):
    """Voxel-centre positions (mm) of ``n`` voxels ``step`` apart, centred on 0."""
    return (np.arange(n) - (n - 1) / 2.0) * step


@lru_cache(maxsize=2)   # a session's patient and the next: about 60 MB
def _patient(seed):
    """The fine image, fine gland and zones, true volume and gland extent of one patient."""
    case = prostate_phantom(int(seed), spacing=ANATOMY_SPACING, shape=_ANATOMY_SHAPE, noise=0.0, bias=0.0)
    image = case.image
    image.setflags(write=False)
    labels = case.labels
    z_axis = _centred_axis(labels.shape[2], ANATOMY_SPACING[2])
    slices_with_gland = np.flatnonzero(labels.any(axis=(0, 1)))
    gland_z = (z_axis[slices_with_gland[0]], z_axis[slices_with_gland[-1]])
    # the two zones as fractions (0/1) in a box around the gland, for interpolating the truth
    box = tuple(slice(max(int(b[0]) - 2, 0), int(b[-1]) + 3) for b in (
        np.flatnonzero(labels.any(axis=(1, 2))), np.flatnonzero(labels.any(axis=(0, 2))), slices_with_gland))
    zones = np.stack([labels[box] == zone for zone in (1, 2)]).astype(np.float32)
    zones.setflags(write=False)
    return {"image": image, "zones": zones, "zones_start": np.array([b.start for b in box], float),
            "true_volume_ml": case.gland_volume_ml, "gland_z_mm": gland_z,
            "gland_centre_mm": np.array([*case.meta["gland_center_mm"][:2], sum(gland_z) / 2.0]),
            "tissue_level": float(np.median(image[image > 0]))}


def _rotation(angles_deg):
    """Rotation matrix for small rotations about x, then y, then z (degrees)."""
    ax, ay, az = np.deg2rad(angles_deg)
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def _check(seed, session, spacing, shift_mm, rotation_deg, noise, bias):
    as_seed(seed, what="the patient")
    as_seed(session, "session", what="0 = first scan")
    spacing = as_spacing(spacing, 3)
    if not (0.3 <= spacing[0] <= 1.5 and 0.3 <= spacing[1] <= 1.5 and 1.0 <= spacing[2] <= 6.0):
        raise ValueError(f"spacing must be in-plane pixels of 0.3-1.5 mm and slices of 1-6 mm, got {spacing}")
    for name, value, top in (("shift_mm", shift_mm, 5.0), ("rotation_deg", rotation_deg, 3.0),
                             ("noise", noise, 1.0), ("bias", bias, 1.0)):
        if not (np.isfinite(value) and 0.0 <= value <= top):
            raise ValueError(f"{name} must be between 0 and {top:g}, got {value!r}")
    return spacing


def rescan(seed, session=0, *, spacing=(0.625, 0.625, 3.6), shift_mm=2.0, rotation_deg=1.5,
           noise=0.05, bias=0.25) -> Case:
    """One scanning session of phantom patient ``seed``: same anatomy, new pose, slices, bias and noise.

    Parameters
    ----------
    seed : int
        The patient: the anatomy (gland shape, volume, zones, surroundings,
        texture) that :func:`~medseg_edu.data.prostate_phantom` draws for this seed
        on a fine grid (:data:`ANATOMY_SPACING`, 170 x 170 x 108 mm) without noise
        or bias field. (``prostate_phantom(seed)`` on its own default grid gives a
        similar patient, not a voxel-identical one.)
    session : int
        Which scan of that patient (0, 1, 2, ...). Every session draws its own
        pose, slice positions, bias field and noise; all sessions are alike, so
        0 and 1 are a test-retest pair.
    spacing : tuple of 3 float
        Voxel size of this session in mm; a session may use another slice
        thickness than the last one (the anatomy, and so the true volume, stay).
    shift_mm : float
        SD (mm) of the patient's shift along each axis (0-5), capped at three SDs.
    rotation_deg : float
        SD (degrees) of the patient's rotation about each axis (0-3), capped at
        three SDs.
    noise : float
        Rician noise SD as a fraction of the median tissue intensity.
    bias : float
        Peak relative amplitude of the smooth bias field.

    Returns
    -------
    Case
        ``image`` (float32), ``labels`` (uint8: 0, 1 PZ, 2 TZ, the truth on this
        grid), ``spacing``, ``affine``; ``anatomy`` is empty. ``meta`` holds
        ``true_volume_ml`` (the anatomy's gland volume: identical for every
        session), ``shift_mm``, ``rotation_deg``, ``slice_offset_mm`` (where the
        slices fall, as a fraction of the thickness times the thickness) and
        ``session``. The in-plane field of view is :data:`RESCAN_FOV_MM`; the slab
        covers the gland with 9 mm to spare at each end (at least 54 mm): planned
        tightly around the gland, like real prostate series.

    Examples
    --------
    >>> first, second = rescan(3, 0), rescan(3, 1)
    >>> first.meta["true_volume_ml"] == second.meta["true_volume_ml"]
    True
    """
    spacing = _check(seed, session, spacing, shift_mm, rotation_deg, noise, bias)
    patient = _patient(int(seed))
    rng = np.random.default_rng([int(seed), int(session), 20261205])
    shift = np.clip(rng.normal(0.0, shift_mm, 3), -3 * shift_mm, 3 * shift_mm)
    angles = np.clip(rng.normal(0.0, rotation_deg, 3), -3 * rotation_deg, 3 * rotation_deg)
    offset = rng.uniform(-0.5, 0.5) * spacing[2]

    # The slab: centred on the (moved) gland plus the random offset, long enough for the gland.
    lo, hi = patient["gland_z_mm"]
    n_slices = int(np.ceil(max(_MIN_SLAB_MM, hi - lo + 2 * _MARGIN_MM) / spacing[2]))
    n_inplane = [int(round(RESCAN_FOV_MM / s)) for s in spacing[:2]]
    rotation = _rotation(angles)
    centre_z = (rotation @ patient["gland_centre_mm"] + shift)[2] + offset
    origin = np.array([-(n_inplane[0] - 1) / 2.0 * spacing[0], -(n_inplane[1] - 1) / 2.0 * spacing[1],
                       centre_z - (n_slices - 1) / 2.0 * spacing[2]])      # scanner mm of voxel (0, 0, 0)
    shape = (*n_inplane, n_slices)

    # Session voxel index -> scanner mm -> patient's anatomy mm (undo the motion) -> fine index.
    fine = np.asarray(ANATOMY_SPACING)
    fine_origin = np.array([_centred_axis(n, s)[0] for n, s in zip(_ANATOMY_SHAPE, ANATOMY_SPACING)])
    matrix = (rotation.T * (1.0 / fine)[:, None]) @ np.diag(spacing)
    start = (rotation.T @ (origin - shift) - fine_origin) / fine

    # Image: the slice profile of this thickness (beyond what the fine rendering blurred), then sampled.
    extra_sd = np.sqrt(max((_RENDER_BLUR_Z * spacing[2]) ** 2 - (_RENDER_BLUR_Z * fine[2]) ** 2, 0.0)) / fine[2]
    profile = ndimage.gaussian_filter1d(patient["image"], extra_sd, axis=2) if extra_sd > 0 else patient["image"]
    image = ndimage.affine_transform(profile, matrix, start, output_shape=shape, order=1, mode="nearest")
    image *= bias_field(shape, spacing, bias, rng)
    if noise > 0:
        image = rician_noise(image.astype(np.float32), noise * patient["tissue_level"], rng)

    labels = _sample_labels(patient["zones"], matrix, start - patient["zones_start"], shape)
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = origin
    meta = {"seed": int(seed), "session": int(session), "true_volume_ml": patient["true_volume_ml"],
            "shift_mm": tuple(float(s) for s in shift), "rotation_deg": tuple(float(a) for a in angles),
            "slice_offset_mm": float(offset), "noise": noise, "bias": bias,
            "anatomy_spacing": ANATOMY_SPACING}
    return Case(image=image.astype(np.float32), labels=labels, spacing=spacing, affine=affine,
                name=f"patient_{int(seed):04d}_scan{int(session)}", meta=meta)


def _sample_labels(zones, matrix, start, shape):
    """The truth on the session grid: gland where the interpolated fine gland mask is >= 0.5.

    ``zones`` holds the PZ and TZ masks (as 0/1 floats) in a fine box around the gland and
    ``start`` is the fine-box index of session voxel (0, 0, 0). Only the session voxels
    that can reach the box are sampled (the rest is background); within the gland a voxel
    gets the zone that dominates the interpolation.
    """
    corners = np.array(np.meshgrid(*[(0, n - 1) for n in zones.shape[1:]], indexing="ij")).reshape(3, -1)
    reach = np.linalg.solve(matrix, corners - start[:, None])      # the box's corners in session indices
    lo = np.clip(np.floor(reach.min(axis=1)).astype(int) - 1, 0, shape)
    hi = np.clip(np.ceil(reach.max(axis=1)).astype(int) + 2, 0, shape)
    labels = np.zeros(shape, np.uint8)
    if np.any(hi <= lo):
        return labels
    sub_shape = tuple(int(h - l) for l, h in zip(lo, hi))
    sub_start = start + matrix @ lo
    pz, tz = (ndimage.affine_transform(zone, matrix, sub_start, output_shape=sub_shape, order=1,
                                       mode="constant", cval=0.0) for zone in zones)
    gland = pz + tz >= 0.5
    region = labels[tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))]
    region[gland] = np.where(tz[gland] > pz[gland], 2, 1)
    return labels
