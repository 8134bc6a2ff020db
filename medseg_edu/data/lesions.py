"""Phantom lesions and pelvic lymph nodes with known truth, and lesions that grow.

A :class:`Finding` is a boolean mask on a voxel grid with its spacing (mm); its
true volume (voxel count x voxel volume, mL) and its RECIST diameters (longest
axial diameter and short axis, mm, from :mod:`medseg_edu.recist`) are measured
from that mask, so they are exact for the grid the finding lives on.

* :func:`lesion` draws a prostate lesion of a chosen volume and shape
  ("spherical", "lobulated", "infiltrative");
* :func:`lymph_node` draws an oval node of a chosen short axis
  (normal < 10 mm, borderline 10-15 mm, enlarged >= 15 mm, RECIST 1.1);
* :func:`growth_series` gives baseline / follow-up pairs of lesions that grow or
  shrink unevenly, so that a diameter-based and a volume-based response can disagree;
* :func:`phantom_with_findings` paints lesions (in the PZ or TZ) and nodes (at the
  pelvic side wall) into a prostate phantom (v1) and renders it.

Everything is deterministic by seed. Phantom numbers, not patient numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
from scipy import ndimage

from .. import recist, volumetry
from .._checks import as_seed, as_spacing
from .noise import smooth_noise
from .phantom import _AnatomyMasks, prostate_phantom
from .render import TISSUES, render_mr

# The categories belong to :mod:`medseg_edu.recist`; kept importable from here for the notebooks.
from ..recist import NODE_CATEGORIES, VOLUME_PD_INCREASE, VOLUME_PR_DECREASE, node_category, volume_response

__all__ = ["LESION_SHAPES", "NODE_CATEGORIES", "VOLUME_PR_DECREASE", "VOLUME_PD_INCREASE", "Finding",
           "GrowthCase", "lesion", "lymph_node", "node_category", "volume_response", "growth_series",
           "phantom_with_findings"]

#: Shapes :func:`lesion` can draw.
LESION_SHAPES = ("spherical", "lobulated", "infiltrative")
_DEFAULT_SPACING = (0.625, 0.625, 3.6)


@dataclass(frozen=True, eq=False)
class Finding:
    """A lesion or a lymph node: its mask on a voxel grid and the truth measured from it.

    Attributes
    ----------
    name : str
        E.g. "lobulated PZ lesion" or "enlarged node".
    kind : str
        "lesion" or "node".
    shape : str
        One of :data:`LESION_SHAPES` for a lesion, "oval" for a node.
    mask : numpy.ndarray of bool, (x, y, z)
        The finding (a small box around it, or the whole case grid once placed).
    spacing : tuple of 3 float
        Voxel size in mm.
    zone : str
        "pz" or "tz" for a lesion, "pelvic side wall" for a node.
    params : dict
        How it was drawn (seed, requested size, in-plane angle in degrees).
    """

    name: str
    kind: str
    shape: str
    mask: np.ndarray = field(repr=False)
    spacing: tuple
    zone: str = ""
    params: dict = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def volume_ml(self) -> float:
        """True volume (mL): voxel count x voxel volume."""
        return volumetry.volume_ml(self.mask, self.spacing)

    @cached_property
    def longest_diameter_mm(self) -> float:
        """RECIST longest axial diameter (mm), :func:`medseg_edu.recist.longest_diameter_mm`."""
        return recist.longest_diameter_mm(self.mask, self.spacing)

    @cached_property
    def short_axis_mm(self) -> float:
        """Short axis (mm): the longest chord perpendicular to the longest diameter, :func:`medseg_edu.recist.short_axis_mm`."""
        return recist.short_axis_mm(self.mask, self.spacing)

    @property
    def sphere_diameter_mm(self) -> float:
        """Diameter (mm) of the sphere with the same volume, ``(6 V / pi)^(1/3)``."""
        return float((6.0 * self.volume_ml * 1000.0 / np.pi) ** (1.0 / 3.0))


def _local_grid(half_mm, spacing):
    """Voxel-centre coordinates (mm, sparse) of a box of half-size ``half_mm`` around 0."""
    axes = []
    for h, s in zip(half_mm, spacing):
        n = int(np.ceil(h / s))
        axes.append((np.arange(-n, n + 1) * s).astype(np.float64))
    return np.meshgrid(*axes, indexing="ij", sparse=True), tuple(len(a) for a in axes)


def _rotated(x, y, angle_deg):
    """In-plane coordinates along (u) and across (v) a direction ``angle_deg`` from the x axis."""
    t = np.deg2rad(angle_deg)
    return np.cos(t) * x + np.sin(t) * y, -np.sin(t) * x + np.cos(t) * y


def _largest_piece(mask):
    pieces, count = ndimage.label(mask, np.ones((3, 3, 3), bool))
    if count <= 1:
        return mask
    sizes = np.bincount(pieces.ravel())[1:]
    return pieces == 1 + int(np.argmax(sizes))


def _trim(mask):
    """Crop to the finding with a one-voxel margin (keeps masks small)."""
    idx = np.argwhere(mask)
    lo = np.maximum(idx.min(axis=0) - 1, 0)
    hi = np.minimum(idx.max(axis=0) + 2, mask.shape)
    return mask[tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))]


def lesion(volume_ml, shape="spherical", *, zone="pz", spacing=_DEFAULT_SPACING, seed=0,
           angle_deg=None) -> Finding:
    """Draw a prostate lesion of a chosen volume and shape.

    The lesion is the level set of a field in mm: a sphere ("spherical"), a
    sphere with four to six bulges ("lobulated"), or an elongated, flattened
    body with an irregular, noise-driven edge ("infiltrative"). The level is
    chosen so that exactly ``round(volume_ml / voxel volume)`` voxels lie
    inside; only the largest connected piece is kept, so the true volume
    (:attr:`Finding.volume_ml`, from the mask) is within a few percent of the
    request (up to about 10 % for a tiny infiltrative lesion on thick slices,
    whose pieces join in jumps).

    Parameters
    ----------
    volume_ml : float
        Requested volume in mL, 0.02-60.
    shape : str
        One of :data:`LESION_SHAPES`.
    zone : str
        "pz" or "tz": where :func:`phantom_with_findings` will put it.
    spacing : tuple of 3 float
        Voxel size in mm (x, y, z).
    seed : int
        Same seed, same lesion.
    angle_deg : float, optional
        In-plane direction (degrees from the x axis) of the long axis of an
        infiltrative lesion; drawn from the seed when omitted.

    Returns
    -------
    Finding
        ``kind="lesion"``, its mask on a box just around it.
    """
    if shape not in LESION_SHAPES:
        raise ValueError(f"shape must be one of {LESION_SHAPES}, got {shape!r}")
    if zone not in ("pz", "tz"):
        raise ValueError(f"zone must be 'pz' or 'tz', got {zone!r}")
    if not np.isfinite(volume_ml) or not 0.02 <= volume_ml <= 60.0:
        raise ValueError(f"volume_ml must be a lesion volume in mL between 0.02 and 60, got {volume_ml!r}")
    spacing = as_spacing(spacing, 3)
    seed = as_seed(seed)
    rng = np.random.default_rng([seed, 14, LESION_SHAPES.index(shape)])
    angle = float(rng.uniform(0, 180)) if angle_deg is None else float(angle_deg)
    radius = (3.0 * volume_ml * 1000.0 / (4.0 * np.pi)) ** (1.0 / 3.0)   # equivalent sphere, mm
    reach = {"spherical": 1.3, "lobulated": 1.8, "infiltrative": 2.6}[shape]
    half = [reach * radius + 2 * s for s in spacing]
    (x, y, z), grid_shape = _local_grid(half, spacing)
    r = np.sqrt(x ** 2 + y ** 2 + z ** 2) / radius
    if shape == "spherical":
        level = r + 0 * (x + y + z)
    elif shape == "lobulated":
        level = r + 0 * (x + y + z)
        norm = np.maximum(np.sqrt(x ** 2 + y ** 2 + z ** 2), 1e-9)
        bulge = 1.0
        for _ in range(int(rng.integers(4, 7))):
            d = rng.normal(size=3)
            d[2] *= 0.6  # bulges mostly sideways: lesions look lobulated on axial slices
            d /= np.linalg.norm(d)
            cosine = (x * d[0] + y * d[1] + z * d[2]) / norm
            bulge = bulge + rng.uniform(0.35, 0.6) * np.exp((cosine - 1.0) / 0.1)
        level = level / bulge
    else:  # infiltrative: long and flat, with an edge that follows a random field
        u, v = _rotated(x, y, angle)
        axes = np.array([rng.uniform(1.7, 2.1), rng.uniform(0.55, 0.75), rng.uniform(0.7, 0.9)])
        level = np.sqrt((u / axes[0]) ** 2 + (v / axes[1]) ** 2 + (z / axes[2]) ** 2) / radius
        level = level - 0.3 * smooth_noise(grid_shape, spacing, 0.9 * radius, rng)
    level = np.broadcast_to(level, grid_shape)
    count = max(1, int(round(volume_ml / volumetry.voxel_volume_ml(spacing))))
    if count >= level.size:
        raise ValueError("the lesion does not fit its box; use a finer spacing or a smaller volume")
    flat = np.sort(level.ravel())
    piece = lambda n: _largest_piece(level <= flat[n - 1])
    # The largest piece grows with the level (and jumps when two pieces merge): bisect for the
    # smallest level whose piece has the requested voxels, then keep whichever side is closer.
    low, high = count, flat.size
    while low < high:
        middle = (low + high) // 2
        if piece(middle).sum() >= count:
            high = middle
        else:
            low = middle + 1
    options = [piece(n) for n in {max(low - 1, 1), low}]
    mask = _trim(min(options, key=lambda m: abs(int(m.sum()) - count)))
    name = f"{shape} {zone.upper()} lesion"
    return Finding(name=name, kind="lesion", shape=shape, mask=mask, spacing=spacing, zone=zone,
                   params={"seed": seed, "requested_volume_ml": float(volume_ml), "angle_deg": angle})


def lymph_node(short_axis_mm, *, long_axis_mm=None, spacing=_DEFAULT_SPACING, seed=0,
               angle_deg=None) -> Finding:
    """Draw an oval pelvic lymph node of a chosen short axis.

    An ellipsoid: ``short_axis_mm`` across, ``long_axis_mm`` along its long
    axis (in-plane, at ``angle_deg``), and about the short axis cranio-caudally.
    Normal nodes are bean-shaped (long / short 1.3-1.8), enlarged ones rounder
    (1.0-1.3) unless ``long_axis_mm`` is given. The measured
    :attr:`Finding.short_axis_mm` is within about a pixel of the request (the
    pixel corners count, see :func:`medseg_edu.recist.short_axis_mm`).

    Parameters
    ----------
    short_axis_mm : float
        Requested short axis in mm, 3-40.
    long_axis_mm : float, optional
        Long axis in mm (>= the short axis); drawn from the seed when omitted.
    spacing : tuple of 3 float
        Voxel size in mm.
    seed : int
        Same seed, same node.
    angle_deg : float, optional
        In-plane direction of the long axis; drawn from the seed when omitted.

    Returns
    -------
    Finding
        ``kind="node"``, named after its :func:`node_category`.
    """
    if not np.isfinite(short_axis_mm) or not 3.0 <= short_axis_mm <= 40.0:
        raise ValueError(f"short_axis_mm must be between 3 and 40 mm, got {short_axis_mm!r}")
    spacing = as_spacing(spacing, 3)
    seed = as_seed(seed)
    rng = np.random.default_rng([seed, 15])
    if long_axis_mm is None:
        ratio = rng.uniform(1.3, 1.8) if short_axis_mm < 10 else rng.uniform(1.0, 1.3)
        long_axis_mm = ratio * short_axis_mm
    if not np.isfinite(long_axis_mm) or long_axis_mm < short_axis_mm:
        raise ValueError(f"long_axis_mm must be at least the short axis ({short_axis_mm} mm), got {long_axis_mm!r}")
    angle = float(rng.uniform(0, 180)) if angle_deg is None else float(angle_deg)
    depth = short_axis_mm * rng.uniform(0.9, 1.2)
    # The measured extent counts whole pixels, so draw the node half a pixel smaller.
    semi = np.array([long_axis_mm, short_axis_mm, depth]) / 2.0 - 0.5 * np.array(
        [spacing[0], spacing[0], spacing[2]])
    semi = np.maximum(semi, 0.3 * np.array([long_axis_mm, short_axis_mm, depth]) / 2.0)
    (x, y, z), _ = _local_grid([semi[0] + 2 * spacing[0]] * 2 + [semi[2] + 2 * spacing[2]], spacing)
    u, v = _rotated(x, y, angle)
    mask = (u / semi[0]) ** 2 + (v / semi[1]) ** 2 + (z / semi[2]) ** 2 <= 1.0
    if not mask.any():
        mask[tuple(n // 2 for n in mask.shape)] = True
    mask = _trim(mask)
    node = Finding(name="node", kind="node", shape="oval", mask=mask, spacing=spacing, zone="pelvic side wall",
                   params={"seed": seed, "requested_short_axis_mm": float(short_axis_mm),
                           "long_axis_mm": float(long_axis_mm), "angle_deg": angle})
    return replace(node, name=f"{node_category(node.short_axis_mm)} node")


@dataclass(frozen=True, eq=False)
class GrowthCase:
    """A lesion at baseline and at follow-up, drawn on the same grid (same spacing)."""

    name: str
    baseline: Finding
    followup: Finding

    @property
    def diameter_change_percent(self) -> float:
        """Change of the longest diameter, % of the baseline."""
        return 100.0 * (self.followup.longest_diameter_mm / self.baseline.longest_diameter_mm - 1.0)

    @property
    def volume_change_percent(self) -> float:
        """Change of the true volume, % of the baseline."""
        return 100.0 * (self.followup.volume_ml / self.baseline.volume_ml - 1.0)

    @property
    def recist(self) -> str:
        """RECIST 1.1 category of the longest diameter (this lesion as the only target)."""
        return recist.recist_response(self.baseline.longest_diameter_mm, self.followup.longest_diameter_mm)

    @property
    def by_volume(self) -> str:
        """Category of the volume change, :func:`volume_response`."""
        return volume_response(self.baseline.volume_ml, self.followup.volume_ml)


#: (name, baseline semi-axes, follow-up semi-axes) in mm: along, across (in-plane) and cranio-caudal.
_GROWTH_PATTERNS = (
    ("grows evenly", (10.0, 9.0, 9.0), (12.8, 11.5, 11.5)),
    ("shrinks evenly", (11.0, 10.0, 10.0), (7.0, 6.4, 6.4)),
    ("mostly thickens", (12.0, 7.0, 7.0), (12.6, 11.0, 11.0)),
    ("mostly flattens", (12.0, 10.0, 10.0), (11.2, 5.0, 5.5)),
    ("lengthens only", (10.0, 6.0, 6.0), (13.0, 6.0, 6.0)),
)


def growth_series(seed=0, *, spacing=_DEFAULT_SPACING):
    """Baseline -> follow-up pairs of irregular lesions that grow or shrink unevenly.

    Five patterns: even growth and even shrinkage (diameter and volume agree),
    a lesion that mostly thickens or mostly flattens (its long semi-axis changes
    by 5-7 %, the other two by 40-60 %; the longest diameter of the bent outline
    changes by less than 20 %), and one that only lengthens (they disagree). Each lesion is an ellipsoid whose edge is bent
    by the same random field (fixed in mm) at both time points, as if it grew
    into the same tissue.

    Parameters
    ----------
    seed : int
        Same seed, same series.
    spacing : tuple of 3 float
        Voxel size in mm.

    Returns
    -------
    list of GrowthCase
    """
    spacing = as_spacing(spacing, 3)
    seed = as_seed(seed)
    cases = []
    for index, (name, before, after) in enumerate(_GROWTH_PATTERNS):
        rng = np.random.default_rng([seed, 16, index])
        angle = float(rng.uniform(0, 180))
        half = [1.5 * max(max(before), max(after)) + 2 * s for s in spacing]
        (x, y, z), grid_shape = _local_grid(half, spacing)
        u, v = _rotated(x, y, angle)
        tissue_field = smooth_noise(grid_shape, spacing, 6.0, rng)
        masks = []
        for semi in (before, after):
            rho = np.sqrt((u / semi[0]) ** 2 + (v / semi[1]) ** 2 + (z / semi[2]) ** 2)
            masks.append(_largest_piece(rho - 0.12 * tissue_field < 1.0))
        found = [Finding(name=f"{name}, {when}", kind="lesion", shape="infiltrative", mask=m, spacing=spacing,
                         zone="pz", params={"seed": seed, "semi_axes_mm": semi, "angle_deg": angle})
                 for m, semi, when in zip(masks, (before, after), ("baseline", "follow-up"))]
        cases.append(GrowthCase(name, *found))
    return cases


def _zone_centre(labels, zone_code, spacing, rng):
    """A voxel deep inside a zone (at least half the zone's largest depth from its edge)."""
    zone = labels == zone_code
    idx = np.argwhere(zone)
    lo = idx.min(axis=0)
    box = tuple(slice(int(a), int(b) + 1) for a, b in zip(lo, idx.max(axis=0)))
    # padded so the edge of the box counts as outside the zone
    depth = ndimage.distance_transform_edt(np.pad(zone[box], 1), sampling=spacing)[1:-1, 1:-1, 1:-1]
    candidates = np.argwhere(depth >= 0.7 * depth.max())
    return lo + candidates[rng.integers(len(candidates))]


def _paste(shape, small, centre):
    """A full-grid mask with ``small`` centred at voxel ``centre`` (clipped at the edges)."""
    out = np.zeros(shape, bool)
    lo = np.asarray(centre) - np.asarray(small.shape) // 2
    dst, src = [], []
    for start, n, size in zip(lo, small.shape, shape):
        a, b = max(start, 0), min(start + n, size)
        dst.append(slice(int(a), int(b)))
        src.append(slice(int(a - start), int(b - start)))
    out[tuple(dst)] = small[tuple(src)]
    return out


def phantom_with_findings(seed, lesions=(), nodes=(), *, spacing=_DEFAULT_SPACING, noise=0.05, bias=0.25):
    """A prostate phantom (v1) with lesions in its zones and lymph nodes at the pelvic side walls.

    Each lesion is centred on a voxel deep inside its zone (PZ or TZ) and
    clipped to the gland. Each node is put in the fat beside the gland, on the
    slice where the gland is largest, alternately left and right; the third
    and fourth node go 22 mm in front of the first two, the fifth and sixth
    22 mm behind them. Lesions and nodes are painted with the appearance
    model's intermediate-signal ``"lesion"`` tissue (dark against the bright
    PZ and the fat) and the phantom is rendered again. The zone labels are
    unchanged (a lesion stays part of its zone).

    Parameters
    ----------
    seed : int
        Seed of the phantom (and of where the findings go).
    lesions, nodes : sequence of Finding
        From :func:`lesion` and :func:`lymph_node`, drawn at the same ``spacing``.
    spacing : tuple of 3 float
        Voxel size in mm.
    noise, bias : float
        As for :func:`medseg_edu.data.prostate_phantom`.

    Returns
    -------
    case : Case
        The rendered phantom; ``case.anatomy["lesion"]`` holds all findings.
    placed : list of Finding
        The findings in the same order (lesions, then nodes) with masks on the
        case grid (after clipping), so their truth is what was painted.
    """
    spacing = as_spacing(spacing, 3)
    seed = as_seed(seed)
    for finding in (*lesions, *nodes):
        if not np.allclose(finding.spacing, spacing):
            raise ValueError(f"{finding.name} was drawn at {finding.spacing} mm, the phantom is at {spacing} mm")
    base = prostate_phantom(seed, spacing=spacing, noise=noise, bias=bias)
    tissue = base.meta["tissue"].copy()
    rng = np.random.default_rng([seed, 17])
    gland = base.labels > 0
    placed = []
    for finding in lesions:
        code = 1 if finding.zone == "pz" else 2
        centre = _zone_centre(base.labels, code, spacing, rng)
        mask = _paste(gland.shape, finding.mask, centre) & gland
        tissue[mask] = TISSUES["lesion"]
        placed.append(replace(finding, mask=mask))
    xs = np.flatnonzero(gland.any(axis=(1, 2)))
    k = int(np.argmax(gland.sum(axis=(0, 1))))
    ys = np.flatnonzero(gland[:, :, k].any(axis=0))
    for index, finding in enumerate(nodes):
        side = -1 if index % 2 == 0 else 1
        edge = xs[0] if side < 0 else xs[-1]
        offset = (12.0 + finding.mask.shape[0] * spacing[0] / 2.0) / spacing[0]
        cx = int(round(edge + side * offset))
        row = index // 2   # further nodes on a side go 22 mm forwards, then backwards, ...
        dy = 22.0 * ((row + 1) // 2) * (1 if row % 2 else -1)
        cy = int(round(ys.mean() + dy / spacing[1]))
        mask = _paste(gland.shape, finding.mask, (cx, cy, k)) & ~gland
        tissue[mask] = TISSUES["lesion"]
        placed.append(replace(finding, mask=mask))
    image = render_mr(tissue, spacing, seed=seed + 7919, noise=noise, bias=bias)
    meta = {**base.meta, "tissue": tissue, "findings": [f.name for f in placed]}
    case = replace(base, image=image, anatomy=_AnatomyMasks(tissue), meta=meta, name=f"{base.name}_findings")
    return case, placed
