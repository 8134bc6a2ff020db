"""Phantom v2: a real expert gland inside a pelvis with the structure of real T2 scans.

Version 1 (:func:`medseg_edu.data.prostate_phantom`) draws the gland and its
neighbours as smooth ellipsoids of uniform grey: good for the classic
methods, too simple for a network that must later meet a real scan. Version 2
(:func:`prostate_phantom_v2`) keeps the known truth and adds what a real
axial T2 scan shows around the gland:

* the gland is one of the 32 real expert shapes (:mod:`.gland_shapes`),
  deformed, tilted, turned, placed off-centre and sized to the requested volume;
* fat crossed by thin dark septa; striated muscle (obturator internus along
  the side walls, levator ani slinging round the rectum, gluteus behind);
  femoral heads and acetabula with a dark cortex; the pubic symphysis in front;
* the bladder with its wall, the rectum with wall and gas or stool, the
  seminal vesicles above the base, neurovascular bundles at 5 and 7 o'clock,
  the bright periprostatic venous plexus, a nodular transition zone;
* a field of view of 160-240 mm and an optional endorectal coil (a dark
  balloon in the rectum and a bright signal flare next to it).

:func:`pelvic_scene` returns only the *tissue map* (one integer code per
voxel, :data:`TISSUES_V2`); :func:`render_t2` paints it like a T2 scan and
:func:`medseg_edu.data.synth.render_random` paints it with random contrasts
(domain randomisation for training).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import ndimage

from .._checks import as_spacing
from .case import Case
from .gland_shapes import HELD_OUT_SHAPES, SHAPE_IDS, place_gland, rotation
from .noise import rician_noise

#: Tissue codes of phantom v2. 1 and 2 are the zones, so ``tissue`` restricted to them is the label map.
TISSUES_V2 = {
    "air": 0, "pz": 1, "tz": 2, "fat": 3, "septum": 4, "muscle": 5, "cortex": 6, "marrow": 7,
    "urine": 8, "bladder_wall": 9, "rectal_wall": 10, "rectal_gas": 11, "rectal_content": 12,
    "seminal_vesicle": 13, "capsule": 14, "venous_plexus": 15, "urethra": 16, "stroma": 17,
    "lesion": 18, "nerve_bundle": 19, "coil": 20, "skin": 21, "vessel": 22, "nodule": 23,
}

# Typical T2 signal relative to fat (= 1), from looking at real 3 T scans, and its case-to-case spread.
_T2 = {
    "air": (0.0, 0.0), "pz": (0.80, 0.12), "tz": (0.46, 0.08), "fat": (1.0, 0.0), "septum": (0.30, 0.06),
    "muscle": (0.22, 0.04), "cortex": (0.05, 0.02), "marrow": (0.80, 0.10), "urine": (1.35, 0.15),
    "bladder_wall": (0.25, 0.05), "rectal_wall": (0.38, 0.06), "rectal_gas": (0.03, 0.02),
    "rectal_content": (0.55, 0.20), "seminal_vesicle": (1.05, 0.15), "capsule": (0.22, 0.05),
    "venous_plexus": (1.05, 0.15), "urethra": (0.70, 0.15), "stroma": (0.22, 0.04), "lesion": (0.35, 0.06),
    "nerve_bundle": (0.45, 0.15), "coil": (0.04, 0.02), "skin": (0.45, 0.10), "vessel": (0.15, 0.10),
    "nodule": (0.65, 0.25),
}
# Texture: (amplitude, correlation length in mm) of multiplicative variation inside each tissue.
_TEXTURE = {"fat": (0.07, 3.0), "muscle": (0.12, 1.5), "marrow": (0.18, 3.0), "pz": (0.18, 1.5),
            "nodule": (0.25, 3.0),
            "tz": (0.30, 6.0), "rectal_content": (0.45, 3.0), "seminal_vesicle": (0.25, 1.5),
            "venous_plexus": (0.30, 1.5), "urine": (0.03, 6.0)}


def _ellipse(x, y, centre, radii):
    """Normalised elliptical radius (< 1 inside) in the x-y plane."""
    return np.sqrt(((x - centre[0]) / radii[0]) ** 2 + ((y - centre[1]) / radii[1]) ** 2)


def _ellipsoid(x, y, z, centre, radii):
    return np.sqrt(((x - centre[0]) / radii[0]) ** 2 + ((y - centre[1]) / radii[1]) ** 2
                   + ((z - centre[2]) / radii[2]) ** 2)


def texture_field(shape, spacing, scale_mm, rng):
    """Zero-mean, unit-SD random texture with in-plane correlation length ``scale_mm``.

    White noise filtered on the grid itself (cheap for fine textures, unlike
    :func:`~medseg_edu.data.noise.smooth_noise`); slices are nearly independent
    through-plane, as in a 2D multi-slice acquisition.
    """
    field = rng.standard_normal(shape, dtype=np.float32)
    sigma = [scale_mm / 2.0 / s for s in spacing[:2]] + [min(1.0, scale_mm / 2.0 / spacing[2])]
    field = ndimage.gaussian_filter(field, sigma[:len(shape)], mode="wrap")
    field -= field.mean()
    sd = field.std()
    return field / sd if sd > 0 else field


def _lines(shape, spacing, rng, scale_mm, width_mm):
    """Thin random curves: where a smooth random field crosses zero (fat septa)."""
    field = texture_field(shape, spacing, scale_mm, rng)
    grad = np.sqrt(sum(g ** 2 for g in np.gradient(field, *spacing[:2], axis=(0, 1))))
    return np.abs(field) < 0.5 * width_mm * np.maximum(grad, 1e-3)


def _default_grid(rng, spacing, shape):
    if spacing is None:
        inplane = rng.choice([0.5, 0.55, 0.6, 0.625, 0.7, 0.75])
        spacing = (float(inplane), float(inplane), float(rng.choice([3.0, 3.0, 3.6, 3.6, 4.0, 4.5])))
    spacing = as_spacing(spacing, 3)
    if not all(0.1 <= s <= 10 for s in spacing):
        raise ValueError(f"spacing must be three voxel sizes in mm between 0.1 and 10, got {spacing}")
    if shape is None:
        fov = rng.uniform(160.0, 240.0)
        n = int(round(fov / spacing[0]))
        shape = (n, n, int(np.ceil(rng.uniform(66.0, 90.0) / spacing[2])))
    shape = tuple(int(n) for n in shape)
    if len(shape) != 3 or min(shape) < 8:
        raise ValueError(f"shape must be three grid sizes of at least 8 voxels, got {shape}")
    return spacing, shape


def pelvic_scene(seed, *, volume_ml=None, spacing=None, shape=None, shapes=None, coil=None):
    """Tissue map of a male pelvis around a real expert gland (phantom v2 anatomy).

    Parameters
    ----------
    seed : int
        Same seed, same scene.
    volume_ml : float, optional
        Whole-gland volume (mL) on this grid, matched within 1 %; default drawn
        from the MSD Task05 distribution.
    spacing : 3 floats, optional
        Voxel size (mm); default drawn from 0.5-0.75 mm pixels and 3-4.5 mm slices.
    shape : 3 ints, optional
        Grid size; default a 160-240 mm square field of view and 66-90 mm of slices.
    shapes : sequence of str, optional
        Expert shapes to choose from (default all :data:`~.gland_shapes.SHAPE_IDS`).
    coil : bool, optional
        Endorectal coil; default drawn (one scan in five).

    Returns
    -------
    tissue : numpy.ndarray, uint8
        Codes of :data:`TISSUES_V2`.
    spacing : tuple of 3 float
    params : dict
        What was drawn: shape id, volume, gland centre (mm), angles, coil, field of view.
    """
    from .phantom import msd_like_volume_ml

    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng([int(seed), 20261202])
    spacing, shape = _default_grid(rng, spacing, shape)
    target = msd_like_volume_ml(rng) if volume_ml is None else float(volume_ml)
    coil = bool(rng.random() < 0.2) if coil is None else bool(coil)
    shapes = SHAPE_IDS if shapes is None else tuple(shapes)
    shape_id = shapes[int(rng.integers(len(shapes)))]

    T = TISSUES_V2
    axes = [((np.arange(n) - (n - 1) / 2.0) * s).astype(np.float32) for n, s in zip(shape, spacing)]
    x, y, z = axes[0][:, None, None], axes[1][None, :, None], axes[2][None, None, :]
    fov_z = shape[2] * spacing[2]
    # The gland sits near, not at, the centre of the field of view.
    centre = np.array([rng.normal(0, 5), rng.normal(-3, 8), rng.normal(-0.05 * fov_z, 0.06 * fov_z)])
    gland_len = 2.2 * (target * 1000 / 4.19) ** (1 / 3)
    centre[2] = np.clip(centre[2], axes[2][0] + 0.5 * gland_len + 3, axes[2][-1] - 0.5 * gland_len - 3) \
        if fov_z > gland_len + 6 else 0.0
    angles = (rng.uniform(-12, 20), rng.normal(0, 6), rng.normal(0, 5))
    labels = place_gland(shape_id, axes, centre, target, rotate=rotation(*angles), mirror=bool(rng.random() < 0.5),
                         stretch=rng.uniform(0.9, 1.1, 3), warp_mm=rng.uniform(1.0, 4.0), rng=rng)
    gland = labels > 0
    hits = np.argwhere(gland)
    if len(hits) == 0:
        raise ValueError(f"the gland does not fit this grid (shape {shape}, spacing {spacing} mm)")
    lo, hi = [np.array([a[i] for a, i in zip(axes, idx)]) for idx in (hits.min(0), hits.max(0))]
    half_w, front, back, top, bottom = (hi[0] - lo[0]) / 2, hi[1], lo[1], hi[2], lo[2]
    cx = (hi[0] + lo[0]) / 2

    tissue = np.full(shape, T["air"], np.uint8)

    def paint(code, where):
        tissue[np.broadcast_to(where, shape)] = code

    # Body: fat with septa, a skin line; patients differ in girth.
    body_r = (rng.uniform(150, 200), rng.uniform(95, 130))
    body_c = (rng.normal(0, 4), centre[1] + rng.uniform(-5, 15))
    body = _ellipse(x, y, body_c, body_r)
    paint(T["skin"], body < 1.0)
    paint(T["fat"], body < 1.0 - 2.5 / min(body_r))
    septa = _lines(shape, spacing, rng, rng.uniform(9, 16), rng.uniform(0.6, 1.4)) & (tissue == T["fat"])
    tissue[septa] = T["septum"]

    # Rectus abdominis in the anterior wall.
    for side in (-1, 1):
        ra_c = (body_c[0] + side * rng.uniform(20, 35), body_c[1] + body_r[1] - rng.uniform(14, 22))
        paint(T["muscle"], _ellipse(x, y, ra_c, (rng.uniform(18, 28), rng.uniform(5, 9))) < 1)
    # Gluteus maximus behind, femoral heads and acetabula at the sides, pubic bone in front.
    for side in (-1, 1):
        gl_c = (cx + side * rng.uniform(55, 80), back - rng.uniform(45, 70))
        paint(T["muscle"], _ellipse(x, y, gl_c, (rng.uniform(38, 55), rng.uniform(22, 32))) < 1)
        fh_c = (cx + side * rng.uniform(80, 95), centre[1] + rng.uniform(-5, 10), centre[2] + rng.uniform(-5, 15))
        fh_r = rng.uniform(21, 26)
        r = _ellipsoid(x, y, z, fh_c, (fh_r, fh_r, fh_r * 1.1))
        paint(T["cortex"], r < 1.0 + 2.5 / fh_r)
        paint(T["marrow"], r < 1.0)
        # acetabulum / ischium: a bony wall between the hip and the obturator muscle
        ac = _ellipse(x, y, (fh_c[0] - side * fh_r * 1.05, fh_c[1] - 5), (7, 38))
        paint(T["cortex"], (ac < 1.0) & (z > bottom - 15))
        paint(T["marrow"], (ac < 0.6) & (z > bottom - 15))
        # pubic bone in front of the apex and mid-gland
        pb = _ellipsoid(x, y, z, (cx + side * rng.uniform(10, 16), front + rng.uniform(14, 22),
                                  bottom + rng.uniform(4, 14)), (rng.uniform(10, 14), rng.uniform(7, 10), 20))
        paint(T["cortex"], pb < 1.0)
        paint(T["marrow"], pb < 0.7)

    # Obturator internus: a thick dark band along each side wall, striated along its length.
    ob_inner = (half_w + rng.uniform(14, 24), rng.uniform(40, 55))
    ob_thick = rng.uniform(8, 14)
    ob_c = (cx, centre[1] + rng.uniform(-5, 10))
    r_in = _ellipse(x, y, ob_c, ob_inner)
    r_out = _ellipse(x, y, ob_c, (ob_inner[0] + ob_thick, ob_inner[1] + ob_thick))
    obturator = (r_in >= 1.0) & (r_out < 1.0) & (np.abs(x - cx) > half_w + 8) & (z > bottom - 20)
    paint(T["muscle"], obturator)
    paint(T["cortex"], (r_out >= 1.0) & (r_out < 1.0 + 2.5 / ob_inner[0]) & (np.abs(x - cx) > half_w + 8)
          & (np.abs(y - ob_c[1]) < ob_inner[1] * 0.8) & (z > bottom - 20))

    # Rectum behind the gland (or an endorectal coil balloon in it).
    rect_r = (rng.uniform(14, 22), rng.uniform(10, 15))
    rect_c = (cx + rng.normal(0, 3), back - rng.uniform(1, 5) - rect_r[1])
    if coil:
        rect_r = (rng.uniform(15, 19),) * 2
        rect_c = (cx + rng.normal(0, 2), back - rng.uniform(0, 2) - rect_r[1])
    rr = _ellipse(x, y, rect_c, rect_r)
    # Levator ani: a thin dark sling around rectum and gland, below mid-gland.
    la = _ellipse(x, y, (cx, rect_c[1] + 10), (half_w + rng.uniform(6, 12), rect_r[1] + rng.uniform(18, 28)))
    paint(T["muscle"], (la >= 1.0) & (la < 1.0 + rng.uniform(3, 5) / (half_w + 8)) & (y < centre[1] + 5)
          & (z < centre[2] + rng.uniform(0, 10)))
    paint(T["rectal_wall"], rr < 1.0 + 3.0 / min(rect_r))
    if coil:
        paint(T["coil"], rr < 1.0)
    else:
        content = T["rectal_gas"] if rng.random() < 0.4 else T["rectal_content"]
        paint(content, rr < 1.0)
        if content == T["rectal_content"] and rng.random() < 0.5:  # a gas pocket
            paint(T["rectal_gas"], _ellipse(x, y, (rect_c[0] + rng.normal(0, 4), rect_c[1] + 2), (6, 4)) < 1)

    # Bladder above the base, seminal vesicles behind and above it.
    bl_r = np.array([rng.uniform(30, 55), rng.uniform(25, 40), rng.uniform(20, 35)])
    bl_c = (cx + rng.normal(0, 4), centre[1] + rng.uniform(0, 10), top + 0.7 * bl_r[2] + rng.uniform(0, 6))
    rb = _ellipsoid(x, y, z, bl_c, bl_r)
    paint(T["bladder_wall"], rb < 1.0 + 3.5 / bl_r.min())
    paint(T["urine"], rb < 1.0)
    for side in (-1, 1):
        start = np.array([cx + side * 4, back + 6, top - 4])
        stop = start + [side * rng.uniform(16, 26), -rng.uniform(2, 8), rng.uniform(8, 16)]
        for t in np.linspace(0, 1, 6):
            p = start + t * (stop - start) + rng.normal(0, 1.5, 3)
            blob = _ellipsoid(x, y, z, p, rng.uniform([4, 3, 4], [7, 5, 7]))
            paint(T["septum"], (blob < 1.25) & (tissue != T["urine"]))
        for t in np.linspace(0, 1, 6):
            p = start + t * (stop - start) + rng.normal(0, 1.5, 3)
            blob = _ellipsoid(x, y, z, p, rng.uniform([4, 3, 4], [7, 5, 7]))
            paint(T["seminal_vesicle"], (blob < 1.0) & (tissue != T["urine"]) & (tissue != T["bladder_wall"]))

    # Around the gland: fat rim, venous plexus in front, neurovascular bundles behind, capsule.
    dist_out = ndimage.distance_transform_edt(~gland, sampling=spacing)
    near = (dist_out > 0) & (dist_out < rng.uniform(0.5, 6)) & ~np.isin(tissue, [T["rectal_wall"], T["coil"],
                                                                                T["urine"], T["bladder_wall"]])
    paint(T["fat"], near)
    plexus = (dist_out > 1.5) & (dist_out < rng.uniform(4, 7)) & (y > centre[1]) \
        & (texture_field(shape, spacing, 2.5, rng) > 0.3) & np.isin(tissue, [T["fat"], T["septum"], T["muscle"]])
    paint(T["venous_plexus"], plexus)
    for side in (-1, 1):
        nvb = _ellipse(x, y, (cx + side * half_w * 0.75, back + 2), (2.5, 2.5)) < 1.0
        paint(T["nerve_bundle"], nvb & (z < top) & (z > bottom) & ~gland)
        vessel = _ellipse(x, y, (cx + side * half_w * 0.9, back + 4), (1.5, 1.5)) < 1.0
        paint(T["vessel"], vessel & (z < top) & (z > bottom) & ~gland)
    capsule_mm = max(rng.uniform(0.8, 2.2), 1.01 * min(spacing[:2]))  # at least one voxel thick
    paint(T["capsule"], (dist_out > 0) & (dist_out < capsule_mm))

    # The gland itself: zones, a nodular TZ, dark anterior stroma, urethra, sometimes a lesion.
    tissue[labels == 1] = T["pz"]
    tissue[labels == 2] = T["tz"]
    dist_in = ndimage.distance_transform_edt(gland, sampling=spacing)
    paint(T["stroma"], gland & (dist_in < rng.uniform(2, 5)) & (y > front - rng.uniform(5, 9)))
    # Benign prostatic hyperplasia: round nodules of differing signal, each with a dark rim, in the TZ.
    tz_voxels = np.argwhere(labels == 2)
    n_nodules = int(np.clip(rng.poisson(target / 12.0), 0, 14)) if len(tz_voxels) else 0
    for _ in range(n_nodules):
        p = tz_voxels[rng.integers(len(tz_voxels))]
        radius = rng.uniform(2.5, 4.0 + 5.0 * min(target / 80.0, 1.0))
        r = _ellipsoid(x, y, z, [a[i] for a, i in zip(axes, p)], radius * rng.uniform(0.8, 1.2, 3))
        paint(T["stroma"], (r < 1.0) & (labels == 2))
        paint(T["nodule"], (r < 1.0 - 0.8 / radius) & (labels == 2))
    gx = np.argwhere(gland).mean(0)
    ux, uy = axes[0][int(round(gx[0]))], axes[1][int(round(gx[1]))] + rng.uniform(0, 4)
    paint(T["urethra"], (_ellipse(x, y, (ux, uy), (2.0, 2.0)) < 1.0) & gland)
    if rng.random() < 0.3:
        pz = np.argwhere(labels == 1)
        p = pz[rng.integers(len(pz))]
        lesion = _ellipsoid(x, y, z, [a[i] for a, i in zip(axes, p)], rng.uniform(3, 7, 3)) < 1.0
        paint(T["lesion"], lesion & (labels == 1))
    return tissue, spacing, {"shape_id": shape_id, "target_volume_ml": target, "coil": coil,
                             "gland_center_mm": tuple(float(c) for c in centre),
                             "angles_deg": tuple(float(a) for a in angles),
                             "field_of_view_mm": float(shape[0] * spacing[0])}


def _zones(tissue):
    """Label map (0 bg, 1 PZ, 2 TZ) of a v2 tissue map: lesions belong to the PZ, stroma and urethra to the TZ."""
    T = TISSUES_V2
    labels = np.zeros(tissue.shape, np.uint8)
    labels[np.isin(tissue, [T["pz"], T["lesion"]])] = 1
    labels[np.isin(tissue, [T["tz"], T["urethra"], T["stroma"], T["nodule"]])] = 2
    return labels


def coil_flare(tissue, spacing, strength):
    """Multiplicative signal flare next to an endorectal coil (1 far away, up to ``1 + strength``)."""
    coil = tissue == TISSUES_V2["coil"]
    if not coil.any() or strength <= 0:
        return np.ones(tissue.shape, np.float32)
    dist = ndimage.distance_transform_edt(~coil, sampling=spacing)
    return (1.0 + strength * np.exp(-dist / 18.0)).astype(np.float32)


def render_t2(tissue, spacing, seed=0, *, noise=None, bias=None):
    """Paint a v2 tissue map like a real axial T2-weighted scan.

    Per-tissue signal relative to fat (with case-to-case spread), tissue
    texture (nodular TZ, striated muscle, marbled marrow), the scanner's
    point spread and slice profile, a smooth coil bias field (plus the
    flare of an endorectal coil) and Rician noise.

    Parameters
    ----------
    tissue : numpy.ndarray of int
        Codes of :data:`TISSUES_V2` (3D).
    spacing : 3 floats
        Voxel size in mm.
    seed : int
        Same seed, same rendering.
    noise, bias : float, optional
        Noise SD and bias amplitude as fractions of fat signal; default drawn
        (noise 2-6 %, bias up to 30 %).

    Returns
    -------
    numpy.ndarray, float32
        Image in arbitrary units (fat about 600, like the real 12-bit scans).
    """
    from .render import bias_field

    rng = np.random.default_rng([int(seed), 77])
    noise = rng.uniform(0.02, 0.06) if noise is None else float(noise)
    bias = rng.uniform(0.1, 0.3) if bias is None else float(bias)
    lut = np.zeros(max(TISSUES_V2.values()) + 1, np.float32)
    for name, code in TISSUES_V2.items():
        mean, sd = _T2[name]
        lut[code] = max(0.0, rng.normal(mean, sd))
    image = lut[tissue]
    fields = {scale: texture_field(tissue.shape, spacing, scale, rng) for scale in sorted(
        {scale for _, scale in _TEXTURE.values()})}
    for name, (amplitude, scale) in _TEXTURE.items():
        inside = tissue == TISSUES_V2[name]
        if inside.any():
            field = fields[scale][inside]
            if name == "tz":  # benign nodules: blobs of differing signal
                field = np.tanh(1.5 * field)
            image[inside] *= 1.0 + amplitude * field
    muscle = tissue == TISSUES_V2["muscle"]
    if muscle.any():  # striation: thin bright streaks of fat between the muscle fibres
        streaks = _lines(tissue.shape, spacing, rng, 5.0, 0.6)
        image[muscle & streaks] = 0.5 * (image[muscle & streaks] + lut[TISSUES_V2["fat"]])
    sigma = [0.4 / spacing[0], 0.4 / spacing[1], 0.25]
    image = ndimage.gaussian_filter(image, sigma)
    image *= bias_field(tissue.shape, spacing, bias, rng) * coil_flare(tissue, spacing, rng.uniform(1.0, 2.5))
    image = rician_noise(image, noise, rng)
    return (image * 600.0).astype(np.float32)


class _Structures(Mapping):
    """``{structure: bool mask}`` of a v2 tissue map, computed on demand."""

    GROUPS = {"fat": ("fat", "septum"), "muscle": ("muscle",), "bone": ("cortex", "marrow"),
              "bladder": ("urine", "bladder_wall"), "rectum": ("rectal_wall", "rectal_gas", "rectal_content"),
              "seminal_vesicles": ("seminal_vesicle",), "venous_plexus": ("venous_plexus",),
              "nerve_bundles": ("nerve_bundle", "vessel"), "capsule": ("capsule",), "urethra": ("urethra",),
              "lesion": ("lesion",), "coil": ("coil",)}

    def __init__(self, tissue):
        self._tissue = tissue

    def __getitem__(self, name):
        if name == "body":
            return self._tissue != TISSUES_V2["air"]
        if name not in self.GROUPS:
            raise KeyError(f"no structure {name!r}; phantom v2 draws {['body', *self.GROUPS]}")
        return np.isin(self._tissue, [TISSUES_V2[t] for t in self.GROUPS[name]])

    def __iter__(self):
        return iter(["body", *self.GROUPS])

    def __len__(self):
        return len(self.GROUPS) + 1


def prostate_phantom_v2(seed, *, volume_ml=None, spacing=(0.625, 0.625, 3.6), shape=None, coil=None,
                        held_out=False) -> Case:
    """A phantom-v2 case: real expert gland shape, realistic pelvis, T2 rendering, known truth.

    Parameters
    ----------
    seed, volume_ml, shape, coil
        As for :func:`pelvic_scene` (same seed, identical case).
    spacing : 3 floats or None
        Voxel size in mm (default the commonest MSD spacing); ``None`` draws one as
        :func:`pelvic_scene` does.
    held_out : bool
        Use only the expert shapes no bundled network was trained on
        (:data:`~medseg_edu.data.gland_shapes.HELD_OUT_SHAPES`).

    Returns
    -------
    Case
        ``image`` float32, ``labels`` uint8 (0 bg, 1 PZ, 2 TZ), ``spacing``,
        ``affine``, ``anatomy`` (structure masks) and ``meta`` (``tissue``,
        ``shape_id``, angles, coil ...).
    """
    tissue, spacing, params = pelvic_scene(seed, volume_ml=volume_ml, spacing=spacing, shape=shape, coil=coil,
                                           shapes=HELD_OUT_SHAPES if held_out else None)
    image = render_t2(tissue, spacing, seed=seed)
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = [-(n - 1) / 2.0 * s for n, s in zip(tissue.shape, spacing)]
    return Case(image=image, labels=_zones(tissue), spacing=spacing, affine=affine,
                name=f"phantom_v2_{int(seed):04d}", anatomy=_Structures(tissue),
                meta={"seed": int(seed), "version": 2, "tissue": tissue, "tissue_codes": dict(TISSUES_V2),
                      **params})
