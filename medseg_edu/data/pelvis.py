"""Phantom v2: a real expert gland inside a pelvis with the structure of real T2 scans.

Version 1 (:func:`medseg_edu.data.prostate_phantom`) draws the gland and its
neighbours as smooth ellipsoids of uniform grey: good for the classic
methods, too simple for a network that must later meet a real scan. Version 2
(:func:`prostate_phantom_v2`) keeps the known truth and adds what a real
axial T2 scan shows around the gland:

* the gland is one of the 92 real expert shapes (:mod:`.gland_shapes`),
  deformed, tilted, turned, placed off-centre and sized to the requested volume;
* apex and base as real scans show them: the gland tapers into the urethral
  sphincter below the apex (with the anal canal, a round dark "target",
  right behind it) and into the bladder neck above the base, with no fat rim
  or capsule there and its signal fading towards theirs;
* partial volume: the scene is built on thin sub-slices and each 3-4.5 mm
  slice of the image is their average (the truth is their majority);
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

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .._checks import as_seed, as_spacing
from .. import volumetry
from .case import AnatomyMasks, Case, centred_affine, centred_axes
from .gland_shapes import HELD_OUT_SHAPES, USABLE_SHAPES, place_gland, rotation, source
from .noise import rician_noise

#: Tissue codes of phantom v2. 1 and 2 are the zones, so ``tissue`` restricted to them is the label map.
TISSUES_V2 = {
    "air": 0, "pz": 1, "tz": 2, "fat": 3, "septum": 4, "muscle": 5, "cortex": 6, "marrow": 7,
    "urine": 8, "bladder_wall": 9, "rectal_wall": 10, "rectal_gas": 11, "rectal_content": 12,
    "seminal_vesicle": 13, "capsule": 14, "venous_plexus": 15, "urethra": 16, "stroma": 17,
    "lesion": 18, "nerve_bundle": 19, "coil": 20, "skin": 21, "vessel": 22, "nodule": 23,
    "sphincter": 24, "bladder_neck": 25, "anal_canal": 26,
}
#: The codes that belong to the gland (the label map's 1 and 2).
GLAND_CODES = (1, 2, 16, 17, 18, 23)

#: Thickness (mm) of the thin sub-slices a thick slice is rendered from (partial volume).
SUBSLICE_MM = 1.25
#: Share of the gland's length at each end (apex, base) where it tapers into its neighbours.
END_SHARE = 0.2

#: Named T2 renderings (keyword arguments of :func:`render_t2`): ``"t2"`` is the look the networks
#: train on; ``"noisy"`` (more noise, a stronger coil bias) and ``"low_contrast"`` (tissues closer to
#: each other, gland ends faded more) are styles no network was trained on, for held-out tests.
STYLES = {"t2": {}, "noisy": {"noise": 0.075, "bias": 0.45},
          "low_contrast": {"contrast": 0.6, "noise": 0.05, "fade": 0.9}}

# Typical T2 signal relative to fat (= 1), from looking at real 3 T scans, and its case-to-case spread.
_T2 = {
    "air": (0.0, 0.0), "pz": (0.80, 0.12), "tz": (0.46, 0.08), "fat": (1.0, 0.0), "septum": (0.30, 0.06),
    "muscle": (0.22, 0.04), "cortex": (0.05, 0.02), "marrow": (0.80, 0.10), "urine": (1.35, 0.15),
    "bladder_wall": (0.25, 0.05), "rectal_wall": (0.38, 0.06), "rectal_gas": (0.03, 0.02),
    "rectal_content": (0.55, 0.20), "seminal_vesicle": (1.05, 0.15), "capsule": (0.22, 0.05),
    "venous_plexus": (1.05, 0.15), "urethra": (0.70, 0.15), "stroma": (0.22, 0.04), "lesion": (0.35, 0.06),
    "nerve_bundle": (0.45, 0.15), "coil": (0.04, 0.02), "skin": (0.45, 0.10), "vessel": (0.15, 0.10),
    "nodule": (0.65, 0.25), "sphincter": (0.24, 0.05), "bladder_neck": (0.27, 0.05),
    "anal_canal": (0.28, 0.06),
}
# Texture: (amplitude, correlation length in mm) of multiplicative variation inside each tissue.
_TEXTURE = {"fat": (0.07, 3.0), "muscle": (0.12, 1.5), "marrow": (0.18, 3.0), "pz": (0.18, 1.5),
            "nodule": (0.25, 3.0),
            "tz": (0.30, 6.0), "rectal_content": (0.45, 3.0), "seminal_vesicle": (0.25, 1.5),
            "venous_plexus": (0.30, 1.5), "urine": (0.03, 6.0)}


#: Where the neighbours of the gland's lower end sit along z (mm), and how that end looks, by layout.
#: ``"v2"``: as phantom v2 has always drawn them - bones, obturator and levator reach a fixed distance
#: below the apex, the anal canal starts at the apex, no rim round the apex. ``"varied"`` (tried for the
#: synth bank): real pelvises differ in where the gland sits against bones and muscles, so these reaches
#: vary widely (a bony wall may end above the apex), the anal canal starts further below the apex, and in
#: half the scenes the capsule and fat rim go round the apex too. ``"target_apex"``: phantom v2's reaches,
#: but the lower gland can look like a real apex - in 60 % of scenes the striated sphincter's dark ring
#: round the urethra reaches up into it (a round dark "target" that IS prostate, as experts label it), in
#: half of them a rim goes round it. ``"canal_at_apex"``: phantom v2's, but the anorectal junction lies
#: level with the lower gland, as in real pelvises - the anal canal's dark ring starts between 15 mm above
#: the apex and 3 mm below it, so it is seen behind gland slices, not only below them. A number is fixed; a
#: pair (negative: above the apex) is the range a scene draws from.
#: How the seminal vesicles look, the same in every layout above: six lobules a side, starting 4 mm below the
#: base. ``"canal_at_apex_vesicles"`` (tried for the synth bank): as real ones look above the base on T2 -
#: bigger convoluted sacs (1.3-1.8 times the size, nine lobules a side) that start beside the upper gland
#: (4-12 mm below the base) and fill the space between bladder and rectum. It lifted the held-out base
#: recall but not the real scans, so no bank uses it (data/weights/TRAINING.md, "2d-vesicles").
_V2_VESICLES = {"vesicle_size": 1.0, "vesicle_lobules": 6, "vesicle_below_base": 4.0}
_V2_REACHES = {"acetabulum_below_apex": 15.0, "obturator_below_apex": 20.0, "pubis_above_apex": (4.0, 14.0),
               "levator_above_centre": (0.0, 10.0), "anal_canal_below_apex": (0.0, 8.0)}
LAYOUTS = {
    "v2": {**_V2_REACHES, "apex_rim_share": 0.0, "apical_ring_share": 0.0},
    "varied": {"acetabulum_below_apex": (-5.0, 30.0), "obturator_below_apex": (-5.0, 35.0),
               "pubis_above_apex": (-8.0, 22.0), "levator_above_centre": (-10.0, 20.0),
               "anal_canal_below_apex": (3.0, 22.0), "apex_rim_share": 0.5, "apical_ring_share": 0.0},
    "target_apex": {**_V2_REACHES, "apex_rim_share": 0.5, "apical_ring_share": 0.6},
    "canal_at_apex": {**_V2_REACHES, "anal_canal_below_apex": (-15.0, 3.0), "apex_rim_share": 0.0,
                      "apical_ring_share": 0.0},
}
LAYOUTS = {name: {**_V2_VESICLES, **layout} for name, layout in LAYOUTS.items()}
LAYOUTS["canal_at_apex_vesicles"] = {**LAYOUTS["canal_at_apex"], "vesicle_size": (1.3, 1.8), "vesicle_lobules": 9,
                                     "vesicle_below_base": (4.0, 12.0)}


def _reach(rng, layout, key):
    """One scene's value of ``LAYOUTS[layout][key]`` (mm): the number, or a draw from the range."""
    value = LAYOUTS[layout][key]
    return rng.uniform(*value) if isinstance(value, tuple) else value


def _ellipse(x, y, centre, radii):
    """Normalised elliptical radius (< 1 inside) in the x-y plane."""
    return np.sqrt(((x - centre[0]) / radii[0]) ** 2 + ((y - centre[1]) / radii[1]) ** 2)


def _ellipsoid(x, y, z, centre, radii):
    return np.sqrt(((x - centre[0]) / radii[0]) ** 2 + ((y - centre[1]) / radii[1]) ** 2
                   + ((z - centre[2]) / radii[2]) ** 2)


def _blob(axes, centre, radii, reach=1.0):
    """``(box, r)``: the box of grid voxels around an ellipsoid (``reach`` times its radii) and the normalised
    ellipsoidal radius in it - small structures are drawn in their box, not over the whole grid."""
    box = tuple(slice(*np.searchsorted(a, [c - reach * r, c + reach * r])) for a, c, r in zip(axes, centre, radii))
    x, y, z = (a[b] for a, b in zip(axes, box))
    return box, _ellipsoid(x[:, None, None], y[None, :, None], z[None, None, :], centre, radii)


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


def _distance_near(where, gland, spacing, margin_mm=12.0):
    """Euclidean distance (mm) of each ``where`` voxel to the nearest other voxel, computed only in the box
    around ``gland`` plus ``margin_mm`` (every use here looks less than 8 mm from the gland); ``inf`` outside."""
    hits = [np.flatnonzero(gland.any(axis=tuple(a for a in range(3) if a != axis))) for axis in range(3)]
    box = tuple(slice(max(h[0] - int(np.ceil(margin_mm / s)), 0), h[-1] + int(np.ceil(margin_mm / s)) + 1)
                for h, s in zip(hits, spacing))
    out = np.full(gland.shape, np.inf, np.float32)
    out[box] = ndimage.distance_transform_edt(where[box], sampling=spacing)
    return out


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


def subslices_for(slice_mm: float) -> int:
    """How many thin sub-slices (about 1-1.25 mm each) a slice of ``slice_mm`` mm is rendered from."""
    return max(1, int(np.ceil(float(slice_mm) / SUBSLICE_MM - 1e-6)))


def end_weight(z_mm, bottom_mm, top_mm, share=END_SHARE):
    """0 in the middle of the gland, rising linearly to 1 at its apex and base end (and beyond).

    Parameters
    ----------
    z_mm : array_like
        Cranio-caudal positions (mm).
    bottom_mm, top_mm : float
        The gland's lowest (apex) and highest (base) position (mm).
    share : float
        The end zones are this share of the gland's length at each end (default 0.2).
    """
    length = max(float(top_mm - bottom_mm), 1e-6)
    inward = np.minimum(np.asarray(z_mm, float) - bottom_mm, top_mm - np.asarray(z_mm, float)) / length
    return np.clip(1.0 - inward / share, 0.0, 1.0)


def pelvic_scene(seed, *, volume_ml=None, spacing=None, shape=None, shapes=None, coil=None, subslices=1,
                 layout="v2"):
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
        Expert shapes to choose from (default :data:`~.gland_shapes.USABLE_SHAPES`: every shape but the
        :data:`~.gland_shapes.EXCLUDED_SHAPES`).
    coil : bool, optional
        Endorectal coil; default drawn (one scan in five).
    subslices : int
        Build the scene on a grid ``subslices`` times finer along z (each slice of
        ``spacing`` split into that many thin ones), so that a renderer can average
        them back into thick slices: partial volume as a 2D multi-slice scan has it
        (:func:`prostate_phantom_v2` does this). 1: the scene on ``spacing`` itself;
        ``None``: :func:`subslices_for` the slice spacing.
    layout : str
        Where the neighbours of the gland's lower end sit (:data:`LAYOUTS`): ``"v2"`` (every
        phantom-v2 case) or one tried for the synth training bank.

    Returns
    -------
    tissue : numpy.ndarray, uint8
        Codes of :data:`TISSUES_V2`, on the fine grid (``shape[2] * subslices`` slices).
    spacing : tuple of 3 float
        Voxel size (mm) of that grid: the slice spacing divided by ``subslices``.
    params : dict
        What was drawn: shape id, volume, gland centre (mm), angles, coil, field of view,
        ``subslices``, the gland's apex and base position (``apex_mm``, ``base_mm``).
    """
    from .phantom import msd_like_volume_ml

    seed = as_seed(seed)
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {sorted(LAYOUTS)}")
    rng = np.random.default_rng([int(seed), 20261202])
    spacing, shape, subslices = _fine_grid(rng, spacing, shape, subslices)
    target = msd_like_volume_ml(rng) if volume_ml is None else float(volume_ml)
    coil = bool(rng.random() < 0.2) if coil is None else bool(coil)
    shapes = USABLE_SHAPES if shapes is None else tuple(shapes)
    shape_id = shapes[int(rng.integers(len(shapes)))]
    axes = centred_axes(shape, spacing)
    labels, centre, angles = _place_expert_gland(rng, shape_id, axes, spacing, target, subslices)
    scene = _Scene.around(labels, axes, spacing, centre)
    scene.layout = layout

    # Each painter draws its structure over what is already there, so the order is the anatomy's layering.
    body_centre, body_radii = _paint_body(scene, rng)
    _paint_abdominal_wall(scene, rng, body_centre, body_radii)
    _paint_hips_and_pubis(scene, rng)
    _paint_obturator(scene, rng)
    rectum_centre, rectum_radii = _draw_rectum(scene, rng, coil)
    _paint_levator_ani(scene, rng, rectum_centre, rectum_radii)
    _paint_rectum(scene, rng, rectum_centre, rectum_radii, coil)
    _paint_anal_canal(scene, rng, rectum_centre, rectum_radii)
    _paint_bladder(scene, rng)
    _paint_seminal_vesicles(scene, rng)
    _paint_periprostatic(scene, rng)
    _paint_bladder_neck(scene, rng)
    _paint_sphincter(scene, rng)
    _paint_zones(scene, rng)
    _paint_nodules(scene, rng, target)
    _paint_urethra(scene, rng)
    _paint_lesion(scene, rng)
    return scene.tissue, spacing, {"shape_id": shape_id, "target_volume_ml": target, "coil": coil,
                                   "subslices": int(subslices), "apex_mm": float(scene.bottom),
                                   "base_mm": float(scene.top),
                                   "gland_center_mm": tuple(float(c) for c in centre),
                                   "angles_deg": tuple(float(a) for a in angles),
                                   "field_of_view_mm": float(shape[0] * spacing[0])}


def _fine_grid(rng, spacing, shape, subslices):
    """``(spacing, shape, subslices)`` of the grid the scene is built on: the scan's (drawn where not given),
    ``subslices`` times finer along z."""
    spacing, shape = _default_grid(rng, spacing, shape)
    subslices = subslices_for(spacing[2]) if subslices is None else subslices
    if not isinstance(subslices, (int, np.integer)) or subslices < 1:
        raise ValueError(f"subslices must be a positive whole number or None, got {subslices!r}")
    spacing = (spacing[0], spacing[1], spacing[2] / int(subslices))
    shape = (shape[0], shape[1], shape[2] * int(subslices))
    return spacing, shape, subslices


def _place_expert_gland(rng, shape_id, axes, spacing, target, subslices):
    """Draw the gland's pose and place expert shape ``shape_id`` at ``target`` mL on the grid ``axes`` (mm).

    Returns the label map (0 bg, 1 PZ, 2 TZ), the gland's centre (mm) and its angles (degrees).
    With ``subslices > 1`` the volume is matched on the thick slices, where the truth is the
    thin sub-voxels' majority.
    """
    fov_z = len(axes[2]) * spacing[2]
    # The gland sits near, not at, the centre of the field of view.
    centre = np.array([rng.normal(0, 5), rng.normal(-3, 8), rng.normal(-0.05 * fov_z, 0.06 * fov_z)])
    gland_len = 2.2 * (target * 1000 / 4.19) ** (1 / 3)
    centre[2] = np.clip(centre[2], axes[2][0] + 0.5 * gland_len + 3, axes[2][-1] - 0.5 * gland_len - 3) \
        if fov_z > gland_len + 6 else 0.0
    angles = (rng.uniform(-12, 20), rng.normal(0, 6), rng.normal(0, 5))
    pose = dict(rotate=rotation(*angles), mirror=bool(rng.random() < 0.5), stretch=rng.uniform(0.9, 1.1, 3),
                warp_mm=rng.uniform(1.0, 4.0))
    warp_seed = int(rng.integers(2**31))
    labels = place_gland(shape_id, axes, centre, target, rng=np.random.default_rng(warp_seed), **pose)
    if subslices > 1:
        thick_ml = volumetry.volume_ml(thick_labels(labels, subslices) > 0, spacing) * subslices
        if thick_ml > 0 and abs(thick_ml / target - 1.0) > 0.01:
            labels = place_gland(shape_id, axes, centre, target * target / thick_ml,
                                 rng=np.random.default_rng(warp_seed), **pose)
    return labels, centre, angles


@dataclass
class _Scene:
    """A pelvic scene being painted: its grid, its tissue map and where the placed gland lies (mm).

    ``cx`` and ``half_w`` are the gland's lateral centre and half width, ``front`` and
    ``back`` its anterior and posterior surface, ``top`` (base) and ``bottom`` (apex) its
    cranio-caudal extent; ``apex_xy`` and ``base_xy`` are where the urethra leaves it
    (x, y in mm); ``ends`` is :func:`end_weight` along z.
    """

    axes: list
    spacing: tuple
    tissue: np.ndarray
    labels: np.ndarray
    gland: np.ndarray
    centre: np.ndarray
    cx: float
    half_w: float
    front: float
    back: float
    top: float
    bottom: float
    ends: np.ndarray
    apex_xy: list
    base_xy: list
    layout: str = "v2"

    @classmethod
    def around(cls, labels, axes, spacing, centre):
        """An all-air scene on the grid ``axes`` around the gland of ``labels`` (0 bg, 1 PZ, 2 TZ)."""
        gland = labels > 0
        hits = np.argwhere(gland)
        if len(hits) == 0:
            raise ValueError(f"the gland does not fit this grid (shape {labels.shape}, spacing {spacing} mm)")
        lo, hi = [np.array([a[i] for a, i in zip(axes, idx)]) for idx in (hits.min(0), hits.max(0))]
        z = axes[2][None, None, :]
        top, bottom = hi[2], lo[2]
        # where the urethra leaves the gland: below the apex, above the base (centroids of the end 4 mm)
        apex_xy = np.argwhere(gland & (z <= bottom + 4.0))[:, :2].mean(0)
        base_xy = np.argwhere(gland & (z >= top - 4.0))[:, :2].mean(0)
        apex_xy, base_xy = ([axes[0][int(round(p[0]))], axes[1][int(round(p[1]))]] for p in (apex_xy, base_xy))
        return cls(axes=axes, spacing=spacing, tissue=np.full(labels.shape, TISSUES_V2["air"], np.uint8),
                   labels=labels, gland=gland, centre=centre, cx=(hi[0] + lo[0]) / 2, half_w=(hi[0] - lo[0]) / 2,
                   front=hi[1], back=lo[1], top=top, bottom=bottom, ends=end_weight(z, bottom, top),
                   apex_xy=apex_xy, base_xy=base_xy)

    @property
    def x(self):
        return self.axes[0][:, None, None]

    @property
    def y(self):
        return self.axes[1][None, :, None]

    @property
    def z(self):
        return self.axes[2][None, None, :]

    @property
    def shape(self):
        return self.tissue.shape

    def has(self, *names):
        """Where the tissue map holds one of the tissues ``names``."""
        return np.isin(self.tissue, [TISSUES_V2[n] for n in names])

    def paint(self, name, where):
        """Paint tissue ``name`` where ``where`` (broadcast to the grid) is True."""
        self.tissue[np.broadcast_to(where, self.shape)] = TISSUES_V2[name]

    def paint_ellipsoid(self, centre, radii, *shells):
        """Paint ``(tissue name, normalised radius)`` shells of one ellipsoid, outermost first, within its box."""
        box, r = _blob(self.axes, centre, radii, reach=1.05 * max(limit for _, limit in shells))
        region = self.tissue[box]
        for name, limit in shells:
            region[r < limit] = TISSUES_V2[name]


def _paint_body(scene, rng):
    """Body: fat crossed by septa inside a skin line; patients differ in girth. Returns its centre and radii."""
    body_r = (rng.uniform(150, 200), rng.uniform(95, 130))
    body_c = (rng.normal(0, 4), scene.centre[1] + rng.uniform(-5, 15))
    body = _ellipse(scene.x, scene.y, body_c, body_r)
    scene.paint("skin", body < 1.0)
    scene.paint("fat", body < 1.0 - 2.5 / min(body_r))
    septa = _lines(scene.shape, scene.spacing, rng, rng.uniform(9, 16), rng.uniform(0.6, 1.4)) & scene.has("fat")
    scene.paint("septum", septa)
    return body_c, body_r


def _paint_abdominal_wall(scene, rng, body_c, body_r):
    """Rectus abdominis in the anterior wall of the body (centre ``body_c``, radii ``body_r``, mm)."""
    for side in (-1, 1):
        ra_c = (body_c[0] + side * rng.uniform(20, 35), body_c[1] + body_r[1] - rng.uniform(14, 22))
        scene.paint("muscle", _ellipse(scene.x, scene.y, ra_c, (rng.uniform(18, 28), rng.uniform(5, 9))) < 1)


def _paint_hips_and_pubis(scene, rng):
    """Gluteus maximus behind, femoral heads and acetabula at the sides, the pubic bone in front."""
    s = scene
    for side in (-1, 1):
        gl_c = (s.cx + side * rng.uniform(55, 80), s.back - rng.uniform(45, 70))
        s.paint("muscle", _ellipse(s.x, s.y, gl_c, (rng.uniform(38, 55), rng.uniform(22, 32))) < 1)
        fh_c = (s.cx + side * rng.uniform(80, 95), s.centre[1] + rng.uniform(-5, 10), s.centre[2] + rng.uniform(-5, 15))
        fh_r = rng.uniform(21, 26)
        s.paint_ellipsoid(fh_c, (fh_r, fh_r, fh_r * 1.1), ("cortex", 1.0 + 2.5 / fh_r), ("marrow", 1.0))
        # acetabulum / ischium: a bony wall between the hip and the obturator muscle
        ac = _ellipse(s.x, s.y, (fh_c[0] - side * fh_r * 1.05, fh_c[1] - 5), (7, 38))
        wall_from = s.bottom - _reach(rng, s.layout, "acetabulum_below_apex")
        s.paint("cortex", (ac < 1.0) & (s.z > wall_from))
        s.paint("marrow", (ac < 0.6) & (s.z > wall_from))
        # pubic bone in front of the apex and mid-gland
        pubis_c = (s.cx + side * rng.uniform(10, 16), s.front + rng.uniform(14, 22),
                    s.bottom + _reach(rng, s.layout, "pubis_above_apex"))
        s.paint_ellipsoid(pubis_c, (rng.uniform(10, 14), rng.uniform(7, 10), 20), ("cortex", 1.0), ("marrow", 0.7))


def _paint_obturator(scene, rng):
    """Obturator internus: a thick dark band along each side wall, with the bony wall outside it."""
    s = scene
    ob_inner = (s.half_w + rng.uniform(14, 24), rng.uniform(40, 55))
    ob_thick = rng.uniform(8, 14)
    ob_c = (s.cx, s.centre[1] + rng.uniform(-5, 10))
    r_in = _ellipse(s.x, s.y, ob_c, ob_inner)
    r_out = _ellipse(s.x, s.y, ob_c, (ob_inner[0] + ob_thick, ob_inner[1] + ob_thick))
    lateral = (np.abs(s.x - s.cx) > s.half_w + 8) & (s.z > s.bottom - _reach(rng, s.layout, "obturator_below_apex"))
    s.paint("muscle", (r_in >= 1.0) & (r_out < 1.0) & lateral)
    s.paint("cortex", (r_out >= 1.0) & (r_out < 1.0 + 2.5 / ob_inner[0]) & lateral
            & (np.abs(s.y - ob_c[1]) < ob_inner[1] * 0.8))


def _draw_rectum(scene, rng, coil):
    """Centre and radii (x, y in mm) of the rectum behind the gland; round and closer with an endorectal coil."""
    rect_r = (rng.uniform(14, 22), rng.uniform(10, 15))
    rect_c = (scene.cx + rng.normal(0, 3), scene.back - rng.uniform(1, 5) - rect_r[1])
    if coil:
        rect_r = (rng.uniform(15, 19),) * 2
        rect_c = (scene.cx + rng.normal(0, 2), scene.back - rng.uniform(0, 2) - rect_r[1])
    return rect_c, rect_r


def _paint_levator_ani(scene, rng, rect_c, rect_r):
    """Levator ani: a thin dark sling around rectum and gland, below mid-gland."""
    s = scene
    la = _ellipse(s.x, s.y, (s.cx, rect_c[1] + 10), (s.half_w + rng.uniform(6, 12), rect_r[1] + rng.uniform(18, 28)))
    s.paint("muscle", (la >= 1.0) & (la < 1.0 + rng.uniform(3, 5) / (s.half_w + 8)) & (s.y < s.centre[1] + 5)
            & (s.z < s.centre[2] + _reach(rng, s.layout, "levator_above_centre")))


def _paint_rectum(scene, rng, rect_c, rect_r, coil):
    """The rectal wall round gas, stool (sometimes with a gas pocket) or an endorectal coil's balloon."""
    s = scene
    rr = _ellipse(s.x, s.y, rect_c, rect_r)
    s.paint("rectal_wall", rr < 1.0 + 3.0 / min(rect_r))
    if coil:
        s.paint("coil", rr < 1.0)
        return
    content = "rectal_gas" if rng.random() < 0.4 else "rectal_content"
    s.paint(content, rr < 1.0)
    if content == "rectal_content" and rng.random() < 0.5:  # a gas pocket
        s.paint("rectal_gas", _ellipse(s.x, s.y, (rect_c[0] + rng.normal(0, 4), rect_c[1] + 2), (6, 4)) < 1)


def _paint_anal_canal(scene, rng, rect_c, rect_r):
    """Below the apex (level with the lower gland in the layout ``"canal_at_apex"``) the rectum narrows into
    the anal canal: a thick ring of dark sphincter muscle round a collapsed lumen - a round "target" right
    behind the apex that is not gland."""
    s = scene
    below = s.z < s.bottom - _reach(rng, s.layout, "anal_canal_below_apex")
    canal_r = rng.uniform(11.0, 16.0)
    canal = _ellipse(s.x, s.y, (rect_c[0], rect_c[1] + rng.uniform(0, 4)), (canal_r, canal_r * rng.uniform(0.85, 1.1)))
    s.paint("fat", (_ellipse(s.x, s.y, rect_c, rect_r) < 1.0 + 3.0 / min(rect_r)) & below)
    s.paint("anal_canal", (canal < 1.0) & below)
    s.paint("rectal_content", (canal < rng.uniform(0.2, 0.4)) & below)


def _paint_bladder(scene, rng):
    """The bladder (wall and urine) above the base and in front of it: on real scans it dips in front of
    the upper gland, not round it."""
    bl_r = np.array([rng.uniform(30, 55), rng.uniform(25, 40), rng.uniform(20, 35)])
    bl_c = (scene.cx + rng.normal(0, 4), scene.front + rng.uniform(0, 12), scene.top + bl_r[2] - rng.uniform(3, 8))
    scene.paint_ellipsoid(bl_c, bl_r, ("bladder_wall", 1.0 + 3.5 / bl_r.min()), ("urine", 1.0))


def _paint_seminal_vesicles(scene, rng):
    """Seminal vesicles: chains of bright lobules in dark septa, behind and above the base, not in the bladder."""
    urine, wall = TISSUES_V2["urine"], TISSUES_V2["bladder_wall"]
    lobules = LAYOUTS[scene.layout]["vesicle_lobules"]
    for side in (-1, 1):
        size = _reach(rng, scene.layout, "vesicle_size")
        start = np.array([scene.cx + side * 4, scene.back + 6, scene.top - _reach(rng, scene.layout,
                                                                                    "vesicle_below_base")])
        stop = start + [side * rng.uniform(16, 26) * size, -rng.uniform(2, 8), rng.uniform(8, 16)]
        for t in np.linspace(0, 1, lobules):
            p = start + t * (stop - start) + rng.normal(0, 1.5, 3)
            box, blob = _blob(scene.axes, p, rng.uniform([4, 3, 4], [7, 5, 7]) * size, 1.25)
            region = scene.tissue[box]
            region[(blob < 1.25) & (region != urine)] = TISSUES_V2["septum"]
        for t in np.linspace(0, 1, lobules):
            p = start + t * (stop - start) + rng.normal(0, 1.5, 3)
            box, blob = _blob(scene.axes, p, rng.uniform([4, 3, 4], [7, 5, 7]) * size)
            region = scene.tissue[box]
            region[(blob < 1.0) & (region != urine) & (region != wall)] = TISSUES_V2["seminal_vesicle"]


def _paint_periprostatic(scene, rng):
    """Around the gland: a fat rim, the venous plexus in front, neurovascular bundles behind, the capsule."""
    s = scene
    share = LAYOUTS[s.layout]["apex_rim_share"]
    rim_round_apex = bool(share > 0 and rng.random() < share)
    # the fat rim thins out towards apex and base: there the gland meets sphincter and bladder neck
    thinning = s.ends * (s.z > s.centre[2]) if rim_round_apex else s.ends
    dist_out = _distance_near(~s.gland, s.gland, s.spacing)
    near = (dist_out > 0) & (dist_out < rng.uniform(0.5, 6) * (1.0 - thinning)) \
        & ~s.has("rectal_wall", "coil", "urine", "bladder_wall")
    s.paint("fat", near)
    plexus = (dist_out > 1.5) & (dist_out < rng.uniform(4, 7)) & (s.y > s.centre[1]) \
        & (texture_field(s.shape, s.spacing, 2.5, rng) > 0.3) & s.has("fat", "septum", "muscle")
    s.paint("venous_plexus", plexus)
    beside = (s.z < s.top) & (s.z > s.bottom) & ~s.gland
    for side in (-1, 1):  # bundles at 5 and 7 o'clock
        s.paint("nerve_bundle", (_ellipse(s.x, s.y, (s.cx + side * s.half_w * 0.75, s.back + 2), (2.5, 2.5)) < 1.0)
                & beside)
        s.paint("vessel", (_ellipse(s.x, s.y, (s.cx + side * s.half_w * 0.9, s.back + 4), (1.5, 1.5)) < 1.0) & beside)
    capsule_mm = max(rng.uniform(0.8, 2.2), 1.01 * min(s.spacing[:2]))  # at least one voxel thick
    s.paint("capsule", (dist_out > 0) & (dist_out < capsule_mm) & (thinning < 0.5))  # none at apex and base


def _paint_bladder_neck(scene, rng):
    """Bladder neck: a funnel of smooth muscle from the base up into the bladder, around the urethra."""
    s = scene
    neck_r = rng.uniform(6.0, 11.0)
    neck_top = s.top + rng.uniform(2.0, 6.0)  # a short funnel up into the bladder
    widening = 1.0 + 0.8 * np.clip((s.z - s.top) / max(neck_top - s.top, 1.0), 0.0, 1.0)
    funnel = _ellipse(s.x, s.y, s.base_xy, (neck_r * widening, 0.8 * neck_r * widening))
    neck = (funnel < 1.0) & (s.z > s.top - rng.uniform(3.0, 8.0)) & (s.z < neck_top)
    # its wall pushes the urine back to a narrow channel: the bladder's outlet into the urethra
    lumen = _ellipse(s.x, s.y, s.base_xy, (2.0 * widening, 2.0 * widening)) < 1.0
    s.paint("bladder_neck", neck & ~s.gland & ~(s.has("urine") & lumen))


def _paint_sphincter(scene, rng):
    """Urethral sphincter: a dark muscular cylinder round the urethra below the apex, wrapping its tip."""
    s = scene
    sph_r = rng.uniform(5.0, 8.0)
    drift = rng.uniform(0.0, 0.4) * np.clip(s.bottom - s.z, 0.0, None)  # the urethra bends forward below the apex
    sphincter = (_ellipse(s.x, s.y - drift, s.apex_xy, (sph_r * rng.uniform(1.0, 1.3), sph_r)) < 1.0) \
        & (s.z > s.bottom - rng.uniform(10.0, 18.0)) & (s.z < s.bottom + rng.uniform(2.0, 8.0))
    s.paint("sphincter", sphincter & ~s.gland & ~s.has("rectal_wall", "coil", "rectal_gas", "rectal_content",
                                                       "anal_canal"))


def _paint_zones(scene, rng):
    """The gland's zones, with dark anterior fibromuscular stroma at its front."""
    s = scene
    s.paint("pz", s.labels == 1)
    s.paint("tz", s.labels == 2)
    dist_in = _distance_near(s.gland, s.gland, s.spacing)
    s.paint("stroma", s.gland & (dist_in < rng.uniform(2, 5)) & (s.y > s.front - rng.uniform(5, 9)))


def _paint_nodules(scene, rng, target_ml):
    """Benign prostatic hyperplasia: round nodules of differing signal, each with a dark rim, in the TZ;
    more and larger in a larger gland (``target_ml``, mL)."""
    tz_voxels = np.argwhere(scene.labels == 2)
    n_nodules = int(np.clip(rng.poisson(target_ml / 12.0), 0, 14)) if len(tz_voxels) else 0
    for _ in range(n_nodules):
        p = tz_voxels[rng.integers(len(tz_voxels))]
        radius = rng.uniform(2.5, 4.0 + 5.0 * min(target_ml / 80.0, 1.0))
        box, r = _blob(scene.axes, [a[i] for a, i in zip(scene.axes, p)], radius * rng.uniform(0.8, 1.2, 3))
        region, tz = scene.tissue[box], scene.labels[box] == 2
        region[(r < 1.0) & tz] = TISSUES_V2["stroma"]
        region[(r < 1.0 - 0.8 / radius) & tz] = TISSUES_V2["nodule"]


def _paint_urethra(scene, rng):
    """The urethra: a 2 mm channel through the gland, at or a little in front of its centre."""
    s = scene
    gx = np.argwhere(s.gland).mean(0)
    ux, uy = s.axes[0][int(round(gx[0]))], s.axes[1][int(round(gx[1]))] + rng.uniform(0, 4)
    share = LAYOUTS[s.layout]["apical_ring_share"]
    if share > 0 and rng.random() < share:
        # the striated sphincter wraps the urethra up into the apex: a dark ring inside the gland's lower end
        outer, thick = rng.uniform(4.5, 8.0), rng.uniform(1.5, 3.0)
        r = _ellipse(s.x, s.y, s.apex_xy, (outer, outer))
        lower_end = (s.ends > rng.uniform(0.2, 0.5)) & (s.z < s.centre[2])
        s.paint("stroma", (r < 1.0) & (r >= 1.0 - thick / outer) & s.gland & lower_end)
    s.paint("urethra", (_ellipse(s.x, s.y, (ux, uy), (2.0, 2.0)) < 1.0) & s.gland)


def _paint_lesion(scene, rng):
    """Sometimes (three scans in ten) a dark lesion in the peripheral zone."""
    if rng.random() < 0.3:
        pz = np.argwhere(scene.labels == 1)
        p = pz[rng.integers(len(pz))]
        box, r = _blob(scene.axes, [a[i] for a, i in zip(scene.axes, p)], rng.uniform(3, 7, 3))
        scene.tissue[box][(r < 1.0) & (scene.labels[box] == 1)] = TISSUES_V2["lesion"]


def average_slices(image, subslices):
    """Average every ``subslices`` consecutive slices (axis 2) into one thick slice: the partial volume
    of a 2D multi-slice acquisition, whose slice profile is here a box ``subslices`` thin slices wide."""
    if subslices == 1:
        return image
    nx, ny, nz = image.shape
    if nz % subslices:
        raise ValueError(f"{nz} slices cannot be averaged in groups of {subslices}")
    return image.reshape(nx, ny, nz // subslices, subslices).mean(axis=3, dtype=np.float32)


def thick_labels(labels, subslices):
    """Label map (0 bg, 1 PZ, 2 TZ) on the thick slices from one on the fine grid: a thick voxel is gland
    when at least half its thin sub-voxels are (the majority), and then the zone most of them have."""
    if subslices == 1:
        return labels
    nx, ny, nz = labels.shape
    groups = labels.reshape(nx, ny, nz // subslices, subslices)
    gland = 2 * np.count_nonzero(groups > 0, axis=3) >= subslices
    tz = np.count_nonzero(groups == 2, axis=3) > np.count_nonzero(groups == 1, axis=3)
    return np.where(gland, np.where(tz, 2, 1), 0).astype(np.uint8)


def fade_gland_ends(image, tissue, spacing, strength):
    """Blend the gland's signal towards that of its surroundings near the apex and the base.

    Where the gland tapers into the urethral sphincter and the bladder neck, a real
    T2 scan shows little contrast between them. On each slice, gland voxels move a
    share ``strength * end_weight`` of the way to the median intensity of the soft
    tissue within 4 mm around the gland on that slice (10 mm if there is none so
    near; not urine, gas, air or a coil; ``end_weight``: 0 in mid-gland, 1 at the
    ends; see :func:`end_weight`).

    Parameters
    ----------
    image : numpy.ndarray, float32
        Rendered image (any units), the tissue map's shape.
    tissue : numpy.ndarray of int
        Codes of :data:`TISSUES_V2`.
    spacing : 3 floats
        Voxel size in mm.
    strength : float
        0 (no fade) to 1 (the extreme end slice takes the surroundings' grey).

    Returns
    -------
    numpy.ndarray, float32 (a new array)
    """
    gland = np.isin(tissue, GLAND_CODES)
    present = np.flatnonzero(gland.any(axis=(0, 1)))
    image = np.array(image, dtype=np.float32)
    if strength <= 0 or len(present) == 0:
        return image
    z = np.arange(tissue.shape[2]) * spacing[2]
    weight = strength * end_weight(z, z[present[0]], z[present[-1]])
    soft = ~np.isin(tissue, [TISSUES_V2[t] for t in ("urine", "rectal_gas", "air", "coil")])
    for k in present:
        if weight[k] <= 0:
            continue
        inside = gland[:, :, k]
        for reach_mm in (4.0, 10.0):  # the nearest soft tissue; further out when urine surrounds the gland
            reach = [int(np.ceil(reach_mm / s)) for s in spacing[:2]]
            ring = ndimage.binary_dilation(inside, np.ones((2 * reach[0] + 1, 2 * reach[1] + 1), bool)) \
                & ~inside & soft[:, :, k]
            if ring.any():
                break
        if ring.any():
            around = float(np.median(image[:, :, k][ring]))
            image[:, :, k][inside] += weight[k] * (around - image[:, :, k][inside])
    return image


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


def render_t2(tissue, spacing, seed=0, *, noise=None, bias=None, subslices=1, fade=None, contrast=1.0):
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
    subslices : int
        The tissue map is on a grid this many times finer along z than the scan
        (:func:`pelvic_scene` with ``subslices``): every group of thin slices is
        averaged into one thick slice (partial volume) before the noise is added.
    fade : float, optional
        Strength (0-1) of the loss of contrast at the gland's apex and base
        (:func:`fade_gland_ends`); default drawn (0.3-0.8).
    contrast : float
        Every tissue's signal relative to fat is raised to this power: below 1 the
        tissues look more alike (a flatter contrast than the scans modelled here).

    Returns
    -------
    numpy.ndarray, float32
        Image in arbitrary units (fat about 600, like the real 12-bit scans), with
        ``tissue.shape[2] // subslices`` slices.
    """
    from .render import bias_field

    rng = np.random.default_rng([as_seed(seed), 77])
    noise = rng.uniform(0.02, 0.06) if noise is None else float(noise)
    bias = rng.uniform(0.1, 0.3) if bias is None else float(bias)
    lut = np.zeros(max(TISSUES_V2.values()) + 1, np.float32)
    for name, code in TISSUES_V2.items():
        mean, sd = _T2[name]
        lut[code] = max(0.0, rng.normal(mean, sd))
    lut = lut ** float(contrast)
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
    sigma = [0.4 / spacing[0], 0.4 / spacing[1], 0.25 if subslices == 1 else 0.0]
    image = ndimage.gaussian_filter(image, sigma)
    image *= bias_field(tissue.shape, spacing, bias, rng) * coil_flare(tissue, spacing, rng.uniform(1.0, 2.5))
    fade = rng.uniform(0.3, 0.8) if fade is None else float(fade)
    image = average_slices(fade_gland_ends(image, tissue, spacing, fade), subslices)
    image = rician_noise(image, noise, rng)
    return (image * 600.0).astype(np.float32)


#: The structures phantom v2 draws around the gland (besides ``"body"``) and the tissues of each.
_ANATOMY_GROUPS = {
    "fat": ("fat", "septum"), "muscle": ("muscle",), "bone": ("cortex", "marrow"),
    "bladder": ("urine", "bladder_wall"), "rectum": ("rectal_wall", "rectal_gas", "rectal_content", "anal_canal"),
    "seminal_vesicles": ("seminal_vesicle",), "venous_plexus": ("venous_plexus",),
    "nerve_bundles": ("nerve_bundle", "vessel"), "capsule": ("capsule",), "urethra": ("urethra",),
    "lesion": ("lesion",), "coil": ("coil",)}


def prostate_phantom_v2(seed, *, volume_ml=None, spacing=(0.625, 0.625, 3.6), shape=None, coil=None,
                        held_out=False, subslices=None, shape_id=None, style="t2") -> Case:
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
        (:data:`~medseg_edu.data.gland_shapes.HELD_OUT_SHAPES`); otherwise any usable shape.
    subslices : int, optional
        Thin sub-slices per slice (partial volume, see :func:`pelvic_scene`); default
        :func:`subslices_for` the slice spacing (3 for 3-3.6 mm, 4 for 4-4.5 mm).
    shape_id : str, optional
        Use this expert shape (one of :data:`~medseg_edu.data.gland_shapes.SHAPE_IDS`).
    style : str
        A rendering of :data:`STYLES` (default ``"t2"``).

    Returns
    -------
    Case
        ``image`` float32, ``labels`` uint8 (0 bg, 1 PZ, 2 TZ: the majority of each
        voxel's thin sub-voxels), ``spacing``, ``affine``, ``anatomy`` (structure
        masks) and ``meta`` (``tissue``: the tissue map of each slice's central
        sub-slice, ``shape_id``, angles, coil ...).
    """
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; choose one of {sorted(STYLES)}")
    if shape_id is not None:
        source(shape_id)  # a clear error for an unknown id
        if held_out and shape_id not in HELD_OUT_SHAPES:
            raise ValueError(f"held_out=True but shape {shape_id!r} is not one of the held-out shapes")
    shapes = (shape_id,) if shape_id is not None else HELD_OUT_SHAPES if held_out else None
    tissue, fine, params = pelvic_scene(seed, volume_ml=volume_ml, spacing=spacing, shape=shape, coil=coil,
                                        shapes=shapes, subslices=subslices)
    subslices = params["subslices"]
    image = render_t2(tissue, fine, seed=seed, subslices=subslices, **STYLES[style])
    labels = thick_labels(_zones(tissue), subslices)
    tissue = np.ascontiguousarray(tissue[:, :, subslices // 2::subslices])
    spacing = (fine[0], fine[1], round(fine[2] * subslices, 9))
    return Case(image=image, labels=labels, spacing=spacing, affine=centred_affine(tissue.shape, spacing),
                name=f"phantom_v2_{int(seed):04d}",
                anatomy=AnatomyMasks(tissue, TISSUES_V2, _ANATOMY_GROUPS, drawn_by="phantom v2"),
                meta={"seed": int(seed), "version": 2, "style": style, "tissue": tissue,
                      "tissue_codes": dict(TISSUES_V2),
                      **params})
