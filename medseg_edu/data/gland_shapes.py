"""Real prostate shapes: 92 expert label maps (MSD Task05 and NCI-ISBI 2013), re-posed and resized.

Phantom v2 (:mod:`medseg_edu.data.pelvis`) does not invent a gland: it takes
one of the real expert label maps bundled in ``data/`` - the 32 MSD Task05
maps in ``msd_labels/`` (3 T, CC-BY-SA 4.0) and the 60 NCI-ISBI 2013 maps in
``isbi_labels/`` (30 at 3 T, 30 at 1.5 T with an endorectal coil, which
flattens the gland; CC BY 3.0; see data/README.md) - deforms it smoothly,
tilts and turns it like a real patient's gland, rescales it to the requested
volume and samples it on the scan's voxel grid. The real shapes bring what
formulas miss: lobes, asymmetry, the tapering apex, the flattened posterior
surface, a TZ that grows with the gland.

Every map is read the same way (:func:`label_map`): canonical RAS axes,
values 0 background, 1 peripheral zone, 2 central gland, stray specks beside
the gland dropped. Shapes are split once and for all: :data:`TRAIN_SHAPES`
are the ones the bundled networks learn from, :data:`HELD_OUT_SHAPES` are
never trained on and give the validation and test phantoms, and the two maps
of :data:`EXCLUDED_SHAPES` are used for nothing (the reason is recorded).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import ndimage

from .._bundled import data_dir
from .. import volumetry

#: The 32 MSD Task05 training cases (``data/msd_labels/prostate_NN.nii.gz``).
MSD_SHAPES = ("00", "01", "02", "04", "06", "07", "10", "13", "14", "16", "17", "18", "20", "21", "24",
              "25", "28", "29", "31", "32", "34", "35", "37", "38", "39", "40", "41", "42", "43", "44",
              "46", "47")
#: The 30 NCI-ISBI 2013 cases at 3 T without an endorectal coil (``data/isbi_labels/``).
ISBI_3T_SHAPES = tuple(f"Prostate3T-01-{i:04d}" for i in range(1, 31))
#: The 30 NCI-ISBI 2013 cases at 1.5 T with an endorectal coil (the gland is flattened by it).
ISBI_DX_SHAPES = tuple(f"ProstateDx-01-{i:04d}" for i in (
    1, 5, 6, 11, 13, 14, 19, 21, 23, 28, 35, 38, 42, 43, 44, 52, 54, 55, 56, 58, 59, 60, 63, 71, 73, 74, 75, 76,
    80, 82))
#: Every shape id, 92 in all: MSD ids are the case numbers ("00"), ISBI ids the TCIA case names.
SHAPE_IDS = MSD_SHAPES + ISBI_3T_SHAPES + ISBI_DX_SHAPES
#: Maps not used at all, with the reason.
EXCLUDED_SHAPES = {
    "Prostate3T-01-0017": "313 mL, twice the largest other ISBI gland and implausible for this cohort: "
                          "probably mislabelled",
    "ProstateDx-01-0055": "TCIA reported a size mismatch between this label map and its DICOM series, so "
                          "its voxel spacing (hence its shape) is not trustworthy",
}
#: Every expert gland fit for use: all but the excluded two (90 of 92).
USABLE_SHAPES = tuple(s for s in SHAPE_IDS if s not in EXCLUDED_SHAPES)
#: Shapes never shown to a network: validation and test phantoms are drawn from them. The six MSD
#: shapes held out since phantom v2, five 3 T and five 1.5 T endorectal-coil ISBI shapes spread over
#: the volume range (3 T: 17-112 mL; 1.5 T: 19-97 mL).
HELD_OUT_SHAPES = ("01", "10", "20", "29", "38", "44",
                   "Prostate3T-01-0003", "Prostate3T-01-0007", "Prostate3T-01-0013", "Prostate3T-01-0020",
                   "Prostate3T-01-0026",
                   "ProstateDx-01-0005", "ProstateDx-01-0014", "ProstateDx-01-0043", "ProstateDx-01-0063",
                   "ProstateDx-01-0075")
#: Shapes the bundled networks are trained on (ProstateDx-01-0019 among them: after its four 1-2 voxel
#: specks are dropped it is one piece, a coil-flattened gland with a blunt apex - kept out of the
#: held-out set, so its odd apex does not enter the apex measurements).
TRAIN_SHAPES = tuple(s for s in USABLE_SHAPES if s not in HELD_OUT_SHAPES)

#: Pieces of a label map smaller than this share of the whole gland are stray specks and are dropped.
SPECK_SHARE = 0.01
_MARGIN = 4  # voxels of background kept around the gland
_SMOOTH_MM = (1.2, 1.2, 1.6)  # the expert contours are drawn on 3-4 mm slices: round off the steps


def label_dir() -> Path:
    """The folder of the MSD expert label maps: :func:`medseg_edu.data.msd_label_dir`."""
    from .real import msd_label_dir

    return msd_label_dir()


def isbi_label_dir() -> Path:
    """The folder of the bundled NCI-ISBI 2013 expert label maps (``data/isbi_labels``, or its
    ``$MEDSEG_EDU_DATA`` override: :func:`medseg_edu._bundled.data_dir`)."""
    return data_dir("isbi_labels")


def source(shape_id: str) -> str:
    """Where a shape comes from: ``"MSD 3T"``, ``"ISBI 3T"`` or ``"ISBI 1.5T coil"``."""
    if shape_id in MSD_SHAPES:
        return "MSD 3T"
    if shape_id in ISBI_3T_SHAPES:
        return "ISBI 3T"
    if shape_id in ISBI_DX_SHAPES:
        return "ISBI 1.5T coil"
    raise ValueError(f"unknown gland shape {shape_id!r}; the ids are in gland_shapes.SHAPE_IDS "
                     f"(e.g. '00', 'Prostate3T-01-0001', 'ProstateDx-01-0001')")


def _path(shape_id: str) -> Path:
    if source(shape_id) == "MSD 3T":
        return label_dir() / f"prostate_{shape_id}.nii.gz"
    folder = isbi_label_dir()
    plain = folder / f"{shape_id}.nrrd"
    corrected = folder / f"{shape_id}_correctedLabels.nrrd"  # TCIA's corrected map of case 0006
    return corrected if corrected.is_file() else plain


def _drop_specks(labels: np.ndarray) -> np.ndarray:
    """``labels`` with every piece (26-connected) smaller than :data:`SPECK_SHARE` of the gland set to 0."""
    pieces, n = ndimage.label(labels > 0, structure=np.ones((3, 3, 3), bool))
    if n <= 1:
        return labels
    sizes = np.bincount(pieces.ravel())[1:]
    small = np.flatnonzero(sizes < SPECK_SHARE * sizes.sum()) + 1
    return np.where(np.isin(pieces, small), 0, labels).astype(np.uint8)


@lru_cache(maxsize=None)
def label_map(shape_id: str):
    """One expert label map as released, read the same way for every source.

    Parameters
    ----------
    shape_id : str
        One of :data:`SHAPE_IDS`.

    Returns
    -------
    labels : numpy.ndarray, uint8, (x, y, z)
        Canonical RAS axes (towards the patient's right, anterior, superior: what
        ``nibabel.as_closest_canonical`` gives), 0 background, 1 peripheral zone, 2 central gland (MSD: transition zone;
        ISBI: transition + central zone); pieces smaller than :data:`SPECK_SHARE` of the
        gland dropped; cropped to the gland's bounding box with a margin of 4 voxels.
        Read-only (cached).
    spacing : tuple of 3 float
        Voxel size in mm.
    """
    path = _path(shape_id)
    if not path.is_file():
        raise FileNotFoundError(f"expert label map {path} is missing; it ships in the repository's "
                                f"data/{path.parent.name}/ folder (clone the repository to get it)")
    # Read here, not with io.read_scan: that rounds voxel sizes to 1e-5 mm, and these exact sizes
    # define every phantom and training bank rendered so far.
    if path.suffix == ".nrrd":
        import SimpleITK as sitk

        image = sitk.DICOMOrient(sitk.ReadImage(str(path)), "LPS")  # index axes along L, P, S
        labels = sitk.GetArrayFromImage(image).transpose(2, 1, 0)[::-1, ::-1, :]  # (z,y,x) LPS -> (x,y,z) RAS
        spacing = tuple(float(s) for s in image.GetSpacing())
    else:
        import nibabel as nib

        image = nib.as_closest_canonical(nib.load(str(path)))
        labels = np.asarray(image.dataobj)
        spacing = tuple(float(z) for z in image.header.get_zooms()[:3])
    hits = [np.flatnonzero(np.asarray(labels).any(axis=tuple(a for a in range(3) if a != axis))) for axis in range(3)]
    box = tuple(slice(max(h[0] - _MARGIN, 0), h[-1] + _MARGIN + 1) for h in hits)
    labels = _drop_specks(np.ascontiguousarray(labels[box]).astype(np.uint8))
    labels.setflags(write=False)
    return labels, spacing


def _gland_box(labels) -> np.ndarray:
    """The gland (non-zero voxels, specks dropped) cropped to its bounding box."""
    gland = _drop_specks(np.asarray(labels > 0, np.uint8)) > 0
    if not gland.any():
        return gland
    hits = [np.flatnonzero(gland.any(axis=tuple(a for a in range(3) if a != axis))) for axis in range(3)]
    return gland[tuple(slice(h[0], h[-1] + 1) for h in hits)]


def expert_shape_of(labels, spacing, *, tolerance_mm: float = 0.01) -> str | None:
    """Which of the 92 expert label maps a label map is, whatever its file is called; None if none.

    A labelled real scan may come from MSD Task05 or NCI-ISBI 2013, whose outlines the training
    phantoms borrow: its image is new to the networks but its outline is not. This finds out
    from the voxels: the gland (non-zero voxels, specks dropped as :func:`label_map` drops them),
    cropped to its box, must equal a map's voxel for voxel, at the same voxel size.

    Parameters
    ----------
    labels : array (x, y, z)
        A label map on its scan's grid, in canonical RAS axes (as :func:`medseg_edu.io.read_scan`
        reads it); any non-zero value is gland.
    spacing : tuple of 3 float
        Its voxel size in mm.
    tolerance_mm : float
        How far the two voxel sizes may differ (file formats store them to different precision).

    Returns
    -------
    str or None
        The shape id (one of :data:`SHAPE_IDS`).
    """
    mine = _gland_box(np.asarray(labels))
    for shape_id in SHAPE_IDS:
        theirs, their_spacing = label_map(shape_id)
        if np.allclose(their_spacing, spacing, rtol=0, atol=tolerance_mm):
            theirs = _gland_box(theirs)
            if theirs.shape == mine.shape and np.array_equal(theirs, mine):
                return shape_id
    return None


def craniocaudal_extent_mm(shape_id: str) -> float:
    """Cranio-caudal extent (mm) of an expert gland: labelled slices times the slice spacing."""
    labels, spacing = label_map(shape_id)
    return float(np.count_nonzero((labels > 0).any(axis=(0, 1))) * spacing[2])


@lru_cache(maxsize=None)
def _shape(shape_id: str):
    """(zone probabilities (2, x, y, z) float32, spacing, centre in voxels, reach in mm) of one label map."""
    labels, spacing = label_map(shape_id)
    sigma = [s / d for s, d in zip(_SMOOTH_MM, spacing)]
    zones = np.stack([ndimage.gaussian_filter((labels == k).astype(np.float32), sigma, mode="constant")
                      for k in (1, 2)])
    centre = np.argwhere(labels > 0).mean(0)
    # Linear interpolation reaches 0.5 only within one voxel of a voxel that is >= 0.5: nothing farther
    # from the centre than this (mm) can become gland, however the shape is posed.
    inside = np.argwhere(zones.sum(axis=0) >= 0.5)
    reach_mm = float(np.linalg.norm((inside - centre) * spacing, axis=1).max() + np.linalg.norm(spacing))
    return zones, spacing, centre, reach_mm


def shape_volume_ml(shape_id: str) -> float:
    """Whole-gland volume (mL) of an expert label map on its own voxel grid."""
    zones, spacing, _, _ = _shape(shape_id)
    return volumetry.volume_ml((zones[0] + zones[1]) >= 0.5, spacing)


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
        One of :data:`SHAPE_IDS` (an MSD Task05 case id or an NCI-ISBI case name).
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
    zones, spacing, centre, reach_mm = _shape(shape_id)
    target = shape_volume_ml(shape_id) if volume_ml is None else float(volume_ml)
    if not 1.0 <= target <= 600.0:
        raise ValueError(f"volume_ml must be a gland volume in mL between 1 and 600, got {volume_ml!r}")
    scale = (target / shape_volume_ml(shape_id)) ** (1 / 3)
    out = np.zeros(tuple(len(a) for a in grid_axes), np.uint8)
    # The warp is drawn on a generous box (its size fixes the random field: same seed, same gland) ...
    src_extent = np.array(zones.shape[1:]) * np.array(spacing)
    field_box = _box_around(grid_axes, centre_mm, 0.75 * np.linalg.norm(src_extent) * scale * max(stretch)
                            + warp_mm + 5.0)
    if min(out[field_box].shape, default=0) == 0:
        return out
    field = _warp_field(grid_axes, field_box, warp_mm, rng)
    grid_spacing = [a[1] - a[0] if len(a) > 1 else 1.0 for a in grid_axes]
    room = 1.1  # ... but only the voxels that the gland, up to 10 % larger than first guessed, can reach are sampled
    while True:
        box = _box_around(grid_axes, centre_mm, reach_mm * scale * room * max(stretch) + warp_mm + 1.0, field_box)
        local = _gland_frame(grid_axes, box, field_box, field, centre_mm, rotate, mirror)
        largest = scale * room
        for _ in range(8):
            src = (local / (scale * np.asarray(stretch)[:, None])) / np.array(spacing)[:, None] + centre[:, None]
            pz, tz = (ndimage.map_coordinates(z, src, order=1, mode="constant", cval=0.0) for z in zones)
            gland = (pz + tz) >= 0.5
            measured = volumetry.voxels_to_ml(gland.sum(), grid_spacing)
            if measured > 0 and abs(measured / target - 1.0) <= tolerance:
                break
            scale *= (target / measured) ** (1 / 3) if measured > 0 else 1.5
            if scale > largest:  # the gland would outgrow the sampled box: sample a larger one
                break
        if scale <= largest or box == field_box:
            out[box] = np.where(gland, np.where(tz > pz, 2, 1), 0).astype(np.uint8).reshape(out[box].shape)
            return out
        room *= 1.5


def _box_around(grid_axes, centre_mm, half_mm, within=None):
    """Index box of the grid voxels less than ``half_mm`` from ``centre_mm`` along each axis (inside ``within``)."""
    box = tuple(slice(*np.searchsorted(a, [c - half_mm, c + half_mm])) for a, c in zip(grid_axes, centre_mm))
    if within is not None:
        box = tuple(slice(max(b.start, w.start), min(max(b.stop, b.start), w.stop)) for b, w in zip(box, within))
    return box


def _warp_field(grid_axes, box, warp_mm, rng):
    """Smooth random displacement (mm, 3 x box shape) of the voxels in ``box``; ``None`` without a warp."""
    if warp_mm <= 0:
        return None
    from .deform import random_displacement

    axes = [a[s] for a, s in zip(grid_axes, box)]
    box_spacing = np.array([float(a[1] - a[0]) if len(a) > 1 else 1.0 for a in axes])
    field = random_displacement(tuple(len(a) for a in axes), tuple(box_spacing), magnitude_mm=warp_mm,
                                smoothness_mm=12.0, seed=int(rng.integers(2**31)) if rng is not None else 0)
    return field * box_spacing[:, None, None, None]


def _gland_frame(grid_axes, box, field_box, field, centre_mm, rotate, mirror):
    """Positions (mm, 3 x n) of the voxels in ``box`` in the gland's own frame: warped, turned back, mirrored."""
    axes = [a[s] - c for a, s, c in zip(grid_axes, box, centre_mm)]
    points = np.stack(np.meshgrid(*axes, indexing="ij"), axis=0)
    if field is not None:
        points += field[(slice(None),) + tuple(slice(b.start - f.start, b.stop - f.start)
                                               for b, f in zip(box, field_box))]
    flip = np.diag([-1.0 if mirror else 1.0, 1.0, 1.0])
    return flip @ np.asarray(rotate).T @ points.reshape(3, -1)
