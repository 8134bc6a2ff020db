"""Pelvic T2-weighted MR phantoms of the prostate, with known truth.

Every structure is drawn from a formula in millimetres, so the same seed gives
the same anatomy at any voxel size; the voxel grid only samples it. The gland
is deliberately NOT an ellipsoid: it tapers from base to apex, its posterior
surface is flattened against the rectum, it is lobulated and a little
asymmetric and tilted, and large glands carry an enlarged transition zone.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .._checks import as_seed, as_spacing
from ..volumetry import voxels_to_ml
from .case import AnatomyMasks, Case, centred_affine, centred_axes
from .noise import smooth_noise
from .render import TISSUES, render_mr

#: Spacings (mm) of the real MSD Task05 scans and how often each occurs (FACTS.md).
MSD_SPACINGS = (
    ((0.625, 0.625, 3.6), 0.55),
    ((0.6, 0.6, 4.0), 0.15),
    ((0.75, 0.75, 4.0), 0.10),
    ((0.75, 0.75, 3.0), 0.10),
    ((0.604, 0.604, 4.0), 0.10),
)
FIELD_OF_VIEW_MM = 200.0          # in-plane, like the MSD scans (320 x 0.625 mm)
MIN_THROUGH_PLANE_MM = 72.0       # 20 slices of 3.6 mm
VOLUME_RANGE_ML = (16.0, 315.0)   # whole-gland volumes seen in MSD Task05


def msd_like_volume_ml(rng) -> float:
    """Draw a whole-gland volume (mL) from a log-normal fitted to MSD Task05.

    Median about 60 mL, most glands between 33 and 110 mL, clipped to 16-315.
    """
    return float(np.clip(np.exp(rng.normal(np.log(60.0), 0.42)), *VOLUME_RANGE_ML))


def msd_like_spacing(rng) -> tuple:
    """Draw a voxel spacing (mm) with the frequencies of MSD Task05."""
    choices, weights = zip(*MSD_SPACINGS)
    return choices[rng.choice(len(choices), p=np.array(weights) / sum(weights))]


class _Grid:
    """Voxel-centre coordinates in mm (origin at the field-of-view centre)."""

    def __init__(self, shape, spacing):
        self.shape, self.spacing = tuple(shape), tuple(spacing)
        self.axes = centred_axes(shape, spacing)

    def box(self, center, half):
        """Index slices of the voxels within ``center +- half`` (mm) on each axis."""
        slices = []
        for axis, c, h in zip(self.axes, center, half):
            lo, hi = np.searchsorted(axis, [c - h, c + h])
            slices.append(slice(int(lo), int(max(lo, hi))))
        return tuple(slices)

    def coords(self, slices):
        """Sparse (broadcastable) x, y, z coordinates of a sub-box, in mm."""
        x, y, z = (a[s] for a, s in zip(self.axes, slices))
        return x[:, None, None], y[None, :, None], z[None, None, :]


def _paint(tissue, code, inside, slices):
    """Write ``code`` into ``tissue`` where ``inside`` (a sub-box mask) is True."""
    region = tissue[slices]
    region[inside] = code


def _ellipsoid(grid, tissue, code, center, radii, *, shell=0.0, shell_code=None, keep=None):
    """Paint a (possibly hollow-walled) axis-aligned ellipsoid."""
    slices = grid.box(center, np.asarray(radii) + shell)
    if any(s.stop <= s.start for s in slices):
        return
    x, y, z = grid.coords(slices)
    cx, cy, cz = center
    rho = np.sqrt(((x - cx) / radii[0]) ** 2 + ((y - cy) / radii[1]) ** 2 + ((z - cz) / radii[2]) ** 2)
    allowed = np.ones(rho.shape, bool) if keep is None else ~np.isin(tissue[slices], keep)
    if shell > 0:
        outer = rho < 1.0 + shell / min(radii)
        _paint(tissue, shell_code, outer & allowed, slices)
    _paint(tissue, code, (rho < 1.0) & allowed, slices)


class _GlandShape:
    """Implicit description of the gland: ``rho(x, y, z) < 1`` is inside."""

    def __init__(self, rng, volume_ml, center):
        self.center = np.asarray(center, float)
        bph = np.clip(np.log(volume_ml / 40.0), -0.6, 2.0)  # > 0 for enlarged glands
        # Half-axes (mm) before scaling: transverse > cranio-caudal > antero-posterior.
        self.a = 1.27 * rng.uniform(0.92, 1.08)
        self.b_ant = (0.92 + 0.08 * bph) * rng.uniform(0.85, 1.15)
        self.b_post = (0.72 + 0.06 * bph) * rng.uniform(0.85, 1.15)
        self.c = rng.uniform(0.9, 1.1)
        self.taper = rng.uniform(0.05, 0.45)       # base wider than apex
        self.flatten = rng.uniform(2.2, 4.5)       # posterior surface exponent (2 = round)
        self.asym = rng.uniform(-0.06, 0.06)       # left lobe vs right lobe
        self.roundness = rng.uniform(1.75, 2.7)    # superquadric exponent: <2 pointed, >2 boxy
        self.tilt = np.deg2rad(rng.uniform(-5, 30))  # apex points antero-inferiorly
        self.lobes = [(k, rng.uniform(0.015, 0.06), rng.uniform(0, 2 * np.pi), rng.uniform(-1, 1))
                      for k in (2, 3, 4, 5)]
        r0 = (3.0 * volume_ml * 1000.0 / (4.0 * np.pi * self.a * (self.b_ant + self.b_post) / 2 * self.c)) ** (1 / 3)
        self.scale = r0  # first guess; refined by calibration against the voxel grid

    def local(self, x, y, z):
        """Gland-frame coordinates (u right, v anterior, w superior) in mm / scale."""
        u = (x - self.center[0]) / self.scale
        y0, z0 = (y - self.center[1]) / self.scale, (z - self.center[2]) / self.scale
        cos, sin = np.cos(self.tilt), np.sin(self.tilt)
        v, w = cos * y0 - sin * z0, sin * y0 + cos * z0
        return u, v, w

    def rho(self, x, y, z):
        u, v, w = self.local(x, y, z)
        zn = np.clip(w / self.c, -1.5, 1.5)
        a = self.a * (1.0 + self.taper * zn) * (1.0 + self.asym * np.sign(u))
        e = self.roundness
        ant = (np.maximum(v, 0) / (self.b_ant * (1.0 + 0.5 * self.taper * zn))) ** e
        post = (np.maximum(-v, 0) / self.b_post) ** max(e, self.flatten)
        rho = (np.abs(u / a) ** e + ant + post + np.abs(w / self.c) ** e) ** (1.0 / e)
        theta = np.arctan2(v, u)
        lobulation = 1.0
        for k, amp, phase, drift in self.lobes:
            # lobes fade towards apex and base, where the gland narrows to a point
            lobulation = lobulation + amp * np.cos(k * theta + phase) * (1.0 + 0.5 * drift * zn) * np.maximum(0.0, 1.0 - 0.8 * zn**2)
        return rho / lobulation

    def half_extent_mm(self):
        """Half-size (mm) of a box that surely holds the gland (lobulation <= 20 %)."""
        lobe = 1.0 + sum(amp for _, amp, _, _ in self.lobes) * 1.5 + 0.05
        hx = self.a * (1 + 1.5 * self.taper) * (1 + abs(self.asym))
        hyz = max(self.b_ant * (1 + self.taper), self.b_post, self.c * 1.5)
        return self.scale * lobe * np.array([hx, hyz, hyz])


def _gland_volume_ml(shape: _GlandShape, grid: _Grid) -> float:
    slices = grid.box(shape.center, shape.half_extent_mm())
    inside = shape.rho(*grid.coords(slices)) < 1.0
    return voxels_to_ml(np.count_nonzero(inside), grid.spacing)


def _calibrate(shape: _GlandShape, grid: _Grid, target_ml: float, iterations: int = 6) -> None:
    """Rescale the gland until its voxel volume on ``grid`` matches ``target_ml``."""
    for _ in range(iterations):
        measured = _gland_volume_ml(shape, grid)
        if measured <= 0:
            shape.scale *= 1.5
            continue
        ratio = target_ml / measured
        if abs(ratio - 1.0) < 0.002:
            break
        shape.scale *= ratio ** (1.0 / 3.0)


def default_shape(spacing, gland_length_mm=60.0):
    """Grid size (voxels) covering a 200 mm field of view and the whole gland."""
    nx, ny = (int(round(FIELD_OF_VIEW_MM / s)) for s in spacing[:2])
    through = max(MIN_THROUGH_PLANE_MM, gland_length_mm + 16.0)
    nz = int(np.ceil(through / spacing[2]))
    return nx, ny, nz


def _check_arguments(seed, volume_ml, spacing, shape, noise, bias):
    as_seed(seed)
    spacing = as_spacing(spacing, 3)
    if not all(0.1 <= s <= 10 for s in spacing):
        raise ValueError(f"spacing must be three voxel sizes in mm between 0.1 and 10, got {spacing}")
    if volume_ml is not None:
        if not np.isfinite(volume_ml) or not 1.0 <= volume_ml <= 600.0:
            raise ValueError(f"volume_ml must be a gland volume in mL between 1 and 600, got {volume_ml!r}")
    if shape is not None:
        shape = tuple(int(n) for n in shape)
        if len(shape) != 3 or min(shape) < 8:
            raise ValueError(f"shape must be three grid sizes of at least 8 voxels, got {shape}")
    for name, value in (("noise", noise), ("bias", bias)):
        if not np.isfinite(value) or not 0 <= value <= 1:
            raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
    return spacing, shape


def prostate_phantom(seed, *, volume_ml=None, spacing=(0.625, 0.625, 3.6), shape=None,
                     noise=0.05, bias=0.25) -> Case:
    """Draw a pelvic T2-weighted MR phantom with a prostate of known truth.

    Parameters
    ----------
    seed : int
        Same seed, identical case (anatomy, intensities, noise).
    volume_ml : float, optional
        Whole-gland volume in mL as measured on this voxel grid (voxel count x
        voxel volume), matched within about 1 %. When omitted, a volume is
        drawn from the MSD Task05 distribution (median ~60 mL) and the gland is
        sized in continuous space, so the same seed gives the same anatomy at
        any ``spacing`` - which is how notebook 08 studies slice thickness.
    spacing : tuple of 3 float
        Voxel size in mm (x, y, z); z is the slice thickness.
    shape : tuple of 3 int, optional
        Grid size. Default: a 200 mm in-plane field of view and enough slices
        (at least 72 mm) to hold the whole gland with a margin.
    noise : float
        Rician noise level (fraction of typical tissue signal).
    bias : float
        Peak amplitude of the smooth coil bias field.

    Returns
    -------
    Case
        ``image`` (float32), ``labels`` (uint8: 0 bg, 1 PZ, 2 TZ), ``spacing``,
        ``affine``, ``anatomy`` (boolean masks of the surrounding structures)
        and ``meta`` (tissue-code map, generator parameters).
    """
    spacing, shape = _check_arguments(seed, volume_ml, spacing, shape, noise, bias)
    rng = np.random.default_rng([int(seed), 20261125])
    target = msd_like_volume_ml(rng) if volume_ml is None else float(volume_ml)

    # Gland first: its size sets where everything else goes.
    jitter = rng.normal(0, [6.0, 5.0, 2.0])
    gland = _GlandShape(rng, target, center=jitter)
    length_guess = 2.0 * gland.scale * gland.c
    if shape is None:
        shape = default_shape(spacing, length_guess)
    grid = _Grid(shape, spacing)
    fov_z = shape[2] * spacing[2]
    gland.center[2] = np.clip(gland.center[2], -0.05 * fov_z, 0.05 * fov_z)

    reference = grid if volume_ml is not None else _Grid(
        np.ceil(2 * gland.half_extent_mm() / 1.25).astype(int), (1.25, 1.25, 1.25))
    if volume_ml is None:  # the 1 mm reference grid is centred on the gland
        reference.axes = [a + c for a, c in zip(reference.axes, gland.center)]
    _calibrate(gland, reference, target)
    # A gland longer than the field of view is squashed cranio-caudally and widened.
    max_half_length = fov_z / 2.0 - 4.0 - abs(gland.center[2])
    if gland.scale * gland.c * 1.05 > max_half_length:
        squash = max_half_length / (gland.scale * gland.c * 1.05)
        gland.c *= squash
        gland.a /= np.sqrt(squash)
        gland.b_ant /= np.sqrt(squash)
        gland.b_post /= np.sqrt(squash)
        _calibrate(gland, reference, target)

    tissue = np.full(shape, TISSUES["air"], np.uint8)
    anatomy_params = _draw_pelvis(grid, tissue, gland, rng)
    labels = _draw_gland(grid, tissue, gland, target, rng)

    image = render_mr(tissue, spacing, seed=int(seed) + 7919, noise=noise, bias=bias)
    affine = centred_affine(shape, spacing)
    meta = {"seed": int(seed), "requested_volume_ml": volume_ml, "target_volume_ml": target,
            "tissue": tissue, "tissue_codes": dict(TISSUES), "noise": noise, "bias": bias,
            "gland_center_mm": tuple(float(c) for c in gland.center), **anatomy_params}
    return Case(image=image, labels=labels, spacing=spacing, affine=affine,
                name=f"phantom_{int(seed):04d}", anatomy=_AnatomyMasks(tissue), meta=meta)


def _draw_pelvis(grid, tissue, gland, rng):
    """Body outline, fat, muscles, bones, bladder, rectum, seminal vesicles."""
    T = TISSUES
    cx, cy, cz = gland.center
    s = gland.scale
    front = cy + s * gland.b_ant * 1.05        # anterior surface of the gland (mm)
    back = cy - s * gland.b_post * 1.05        # posterior surface
    top = cz + s * gland.c                     # base
    bottom = cz - s * gland.c                  # apex
    half_width = s * gland.a * (1 + gland.taper)
    zmid = 0.0
    big = 400.0

    body_c = (rng.normal(0, 3), cy + rng.uniform(5, 20), zmid)
    body_r = (rng.uniform(165, 190), rng.uniform(100, 125), big)
    _ellipsoid(grid, tissue, T["fat"], body_c, body_r)

    # Pelvic side walls and buttocks: obturator internus, gluteal muscles.
    for side in (-1, 1):
        ox = cx + side * (half_width + rng.uniform(22, 32))
        _ellipsoid(grid, tissue, T["muscle"], (ox, cy + 5, zmid), (rng.uniform(7, 10), rng.uniform(30, 40), big))
        _ellipsoid(grid, tissue, T["muscle"], (cx + side * 75, cy - 70, zmid), (45, 28, big))
        # Femoral head (bone with fatty marrow) at the lateral edge of the field of view.
        _ellipsoid(grid, tissue, T["marrow"], (cx + side * rng.uniform(88, 98), cy + 8, top + 5),
                   (24, 24, 26), shell=2.5, shell_code=T["bone_cortex"])
        # Pubic bone in front of the gland, from below the apex to mid-gland.
        _ellipsoid(grid, tissue, T["marrow"], (cx + side * rng.uniform(14, 20), front + rng.uniform(16, 24), bottom + 8),
                   (rng.uniform(11, 15), rng.uniform(8, 11), rng.uniform(18, 26)), shell=2.0, shell_code=T["bone_cortex"])
        # Levator ani: the muscular sling lateral to the gland and rectum.
        _ellipsoid(grid, tissue, T["muscle"], (cx + side * (half_width + 8), cy - 10, bottom + 5),
                   (rng.uniform(5, 7), rng.uniform(22, 30), s * gland.c * 1.2))

    # Bladder sits on the base: dark wall, bright urine.
    bladder_r = np.array([rng.uniform(35, 55), rng.uniform(28, 42), rng.uniform(22, 38)])
    bladder_c = (cx + rng.normal(0, 4), cy + rng.uniform(0, 8), top + 0.75 * bladder_r[2] + rng.uniform(2, 8))
    _ellipsoid(grid, tissue, T["urine"], bladder_c, bladder_r, shell=3.5, shell_code=T["bladder_wall"])

    # Rectum behind the gland: wall, then gas or faeces in the lumen.
    rect_r = np.array([rng.uniform(14, 22), rng.uniform(9, 14), big])
    gap = rng.uniform(2, 6)
    rect_c = (cx + rng.normal(0, 4), back - gap - rect_r[1] - 3.0, zmid)
    lumen = T["rectal_gas"] if rng.random() < 0.45 else T["rectal_content"]
    _ellipsoid(grid, tissue, lumen, rect_c, rect_r, shell=3.0, shell_code=T["rectal_wall"])

    # Seminal vesicles: bright, fluid-filled, posterior-superior to the base.
    for side in (-1, 1):
        _ellipsoid(grid, tissue, T["seminal_vesicle"],
                   (cx + side * rng.uniform(12, 20), back + rng.uniform(2, 8), top + rng.uniform(0, 6)),
                   (rng.uniform(11, 16), rng.uniform(4, 6), rng.uniform(6, 9)), keep=(T["urine"], T["bladder_wall"]))
    return {"bladder_center_mm": tuple(map(float, bladder_c)), "rectum_center_mm": tuple(map(float, rect_c))}


def _draw_gland(grid, tissue, gland, target_ml, rng):
    """Draw capsule, zones, urethra, stroma and lesions; return the label map."""
    T = TISSUES
    labels = np.zeros(grid.shape, np.uint8)
    slices = grid.box(gland.center, gland.half_extent_mm())
    x, y, z = grid.coords(slices)
    rho = gland.rho(x, y, z)
    inside = rho < 1.0
    mean_radius = gland.scale * (gland.a + gland.b_ant + gland.c) / 3.0

    sub = tissue[slices]
    fat_rim = (rho < 1.0 + 6.0 / mean_radius) & ~np.isin(sub, (T["rectal_wall"], T["urine"], T["bladder_wall"]))
    sub[fat_rim] = T["fat"]
    plexus = fat_rim & (rho > 1.0 + 1.5 / mean_radius) & (gland.local(x, y, z)[1] > 0.2)
    plexus &= _blobs(rho.shape, rng, 0.35)
    sub[plexus] = T["venous_plexus"]
    capsule = (rho < 1.0 + 1.2 / mean_radius) & ~inside
    sub[capsule] = T["capsule"]

    # Transition zone: an anterior-superior core whose share grows with the gland.
    u, v, w = gland.local(x, y, z)
    # Distances are measured from a point near the front and top of the gland, so the
    # PZ that remains is a posterior-lateral crescent that also fills the apex.
    tz_rho = np.sqrt((u / (gland.a * 0.9)) ** 2 + ((v - 0.45 * gland.b_ant) / (0.8 * gland.b_post)) ** 2
                     + ((w - 0.35 * gland.c) / gland.c) ** 2)
    pz_ml = (5.0 + 28.0 * (1.0 - np.exp(-target_ml / 90.0))) * rng.uniform(0.8, 1.2)
    tz_fraction = np.clip(1.0 - pz_ml / target_ml, 0.3, 0.92)
    cutoff = np.quantile(tz_rho[inside], tz_fraction) if inside.any() else 0.0
    tz = inside & (tz_rho <= cutoff)

    zone = np.where(tz, 2, 1).astype(np.uint8) * inside
    labels[slices] = zone
    sub[inside & ~tz] = T["pz"]
    sub[tz] = T["tz"]
    # Anterior fibromuscular stroma: dark tissue at the front, inside the gland outline.
    sub[inside & (v > gland.b_ant * 0.75) & (rho > 0.8)] = T["stroma"]
    urethra = (np.sqrt((u / 0.07) ** 2 + ((v - 0.1) / 0.07) ** 2) < 1.0) & inside
    sub[urethra] = T["urethra"]
    if rng.random() < 0.35:  # a dark focal lesion in the peripheral zone
        pz_idx = np.argwhere(inside & ~tz & (v < 0))
        if len(pz_idx):
            cx, cy, cz = pz_idx[rng.integers(len(pz_idx))]
            radius = rng.uniform(3, 7)
            dist2 = sum(((c - c0) / 1.0) ** 2 for c, c0 in zip(grid.coords(slices), (
                grid.axes[0][slices[0]][cx], grid.axes[1][slices[1]][cy], grid.axes[2][slices[2]][cz])))
            sub[(dist2 < radius**2) & inside & ~tz] = T["lesion"]
    return labels


def _blobs(shape, rng, fraction):
    """Random boolean blobs covering about ``fraction`` of the box."""
    field = smooth_noise(shape, (1.0, 1.0, 1.0), 3.0, rng)
    return field > np.quantile(field, 1.0 - fraction)


#: The structures phantom v1 draws around the gland (besides ``"body"``) and the tissues of each.
_ANATOMY_GROUPS = {
    "fat": ("fat",),
    "muscle": ("muscle",),
    "bone": ("bone_cortex", "marrow"),
    "bladder": ("urine", "bladder_wall"),
    "rectum": ("rectal_wall", "rectal_gas", "rectal_content"),
    "seminal_vesicles": ("seminal_vesicle",),
    "venous_plexus": ("venous_plexus",),
    "capsule": ("capsule",),
    "urethra": ("urethra",),
    "lesion": ("lesion",),
}
#: ``_AnatomyMasks(tissue)``: the anatomy masks of a phantom-v1 tissue map (also used by :mod:`.lesions`).
_AnatomyMasks = partial(AnatomyMasks, codes=TISSUES, groups=_ANATOMY_GROUPS, drawn_by="the phantom")
