"""The 92 real expert gland shapes (MSD Task05 + NCI-ISBI 2013) behind phantom v2: one loader, one split."""

from __future__ import annotations

import numpy as np
import pytest

from medseg_edu.data import gland_shapes as g


def test_92_shapes_from_three_sources():
    assert len(g.SHAPE_IDS) == 92 == len(set(g.SHAPE_IDS))
    assert (len(g.MSD_SHAPES), len(g.ISBI_3T_SHAPES), len(g.ISBI_DX_SHAPES)) == (32, 30, 30)
    assert {g.source(s) for s in g.SHAPE_IDS} == {"MSD 3T", "ISBI 3T", "ISBI 1.5T coil"}
    with pytest.raises(ValueError, match="unknown gland shape 'prostate_99'"):
        g.source("prostate_99")


def test_the_split_is_disjoint_and_complete():
    train, held, excluded = set(g.TRAIN_SHAPES), set(g.HELD_OUT_SHAPES), set(g.EXCLUDED_SHAPES)
    assert not train & held and not train & excluded and not held & excluded
    assert train | held | excluded == set(g.SHAPE_IDS)
    # the six MSD shapes held out since phantom v2 stay held out; both ISBI kinds are held out too
    assert {"01", "10", "20", "29", "38", "44"} <= held
    assert {g.source(s) for s in held} == {"MSD 3T", "ISBI 3T", "ISBI 1.5T coil"}
    assert set(g.EXCLUDED_SHAPES) == {"Prostate3T-01-0017", "ProstateDx-01-0055"}
    assert all(len(reason) > 20 for reason in g.EXCLUDED_SHAPES.values())


@pytest.mark.parametrize("shape_id", ["00", "Prostate3T-01-0001", "ProstateDx-01-0006", "ProstateDx-01-0082"])
def test_every_source_reads_alike(shape_id):
    labels, spacing = g.label_map(shape_id)
    assert labels.dtype == np.uint8 and labels.ndim == 3 and not labels.flags.writeable
    assert set(np.unique(labels).tolist()) == {0, 1, 2}
    assert len(spacing) == 3 and 0.3 < spacing[0] < 1.0 and 2.5 < spacing[2] < 4.1
    # canonical RAS: the peripheral zone lies behind (lower y than) the central gland, on every source
    pz, cg = (np.argwhere(labels == k).mean(0) for k in (1, 2))
    assert pz[1] < cg[1]


def test_specks_are_dropped():
    """Five ISBI 1.5 T maps carry 1-2 voxel specks beside the gland; ProstateDx-01-0019 four of them."""
    from scipy import ndimage

    for shape_id in ("ProstateDx-01-0006", "ProstateDx-01-0021", "ProstateDx-01-0035", "ProstateDx-01-0058",
                     "ProstateDx-01-0082", "ProstateDx-01-0019"):
        labels, _ = g.label_map(shape_id)
        _, pieces = ndimage.label(labels > 0, structure=np.ones((3, 3, 3), bool))
        assert pieces == 1, shape_id
    speckled = np.zeros((20, 20, 5), np.uint8)
    speckled[5:15, 5:15, 1:4] = 2
    speckled[0, 0, 0] = 1
    cleaned = g._drop_specks(speckled)
    assert cleaned[0, 0, 0] == 0 and np.array_equal(cleaned[5:15, 5:15, 1:4], speckled[5:15, 5:15, 1:4])


def test_volumes_and_extents_are_those_of_real_glands():
    volumes = {s: g.shape_volume_ml(s) for s in g.SHAPE_IDS}
    usable = [v for s, v in volumes.items() if s not in g.EXCLUDED_SHAPES]
    assert 15 < min(usable) and max(usable) < 320  # MSD 16-315 mL, ISBI 17-132 mL
    assert volumes["Prostate3T-01-0017"] == pytest.approx(313, abs=2)  # why it is excluded
    extents = [g.craniocaudal_extent_mm(s) for s in g.ISBI_DX_SHAPES if s not in g.EXCLUDED_SHAPES]
    assert 26 <= min(extents) and max(extents) <= 61


def test_a_missing_file_is_named(monkeypatch, tmp_path):
    g.label_map.cache_clear()
    monkeypatch.setattr(g, "isbi_label_dir", lambda: tmp_path)
    try:
        with pytest.raises(FileNotFoundError, match="isbi_labels|Prostate3T-01-0002"):
            g.label_map("Prostate3T-01-0002")
    finally:
        g.label_map.cache_clear()


@pytest.mark.parametrize("volume_ml, warp_mm", [(25.0, 2.0), (140.0, 3.5), (60.0, 0.0)])
def test_sampling_only_where_the_gland_can_reach_changes_nothing(monkeypatch, volume_ml, warp_mm):
    """place_gland samples a tight box around the gland; sampling the whole warp box must give the same map."""
    axes = [np.arange(-70.0, 70.0, 0.7), np.arange(-70.0, 70.0, 0.7), np.arange(-45.0, 45.0, 1.2)]
    pose = dict(rotate=g.rotation(15.0, -6.0, 4.0), mirror=True, stretch=(1.05, 0.92, 1.08), warp_mm=warp_mm)
    tight = g.place_gland("Prostate3T-01-0007", axes, (3.0, -2.0, 1.0), volume_ml,
                          rng=np.random.default_rng(5), **pose)
    box_around = g._box_around
    monkeypatch.setattr(g, "_box_around", lambda grid, centre, half, within=None:
                        within if within is not None else box_around(grid, centre, half))
    whole = g.place_gland("Prostate3T-01-0007", axes, (3.0, -2.0, 1.0), volume_ml,
                          rng=np.random.default_rng(5), **pose)
    assert tight.any() and np.array_equal(tight, whole)


def test_every_expert_map_is_recognised_from_its_voxels_as_any_reader_gives_them():
    from medseg_edu.io import read_scan

    for shape_id in g.SHAPE_IDS:
        volume = read_scan(g._path(shape_id))  # the file itself, uncropped, specks and all
        assert g.expert_shape_of(volume.array, volume.spacing) == shape_id
    labels, spacing = g.label_map("00")
    nicked = labels.copy()
    nicked[tuple(np.argwhere(labels > 0)[0])] = 0
    assert g.expert_shape_of(nicked, spacing) is None  # one voxel off: another outline
    assert g.expert_shape_of(labels, (spacing[0], spacing[1], spacing[2] + 0.5)) is None  # other voxels
    assert g.expert_shape_of(np.zeros((4, 4, 4)), spacing) is None
