"""Phantom v2 (real expert gland shapes in a realistic pelvis) and the domain-randomised training data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medseg_edu.data import gland_shapes, pelvis, prostate_phantom, synth
from medseg_edu.data.case import AnatomyMasks, centred_axes
from medseg_edu.data.pelvis import TISSUES_V2, prostate_phantom_v2

SMALL = dict(spacing=(1.0, 1.0, 3.6), shape=(150, 150, 22))


@pytest.mark.parametrize("shape_id", ["00", "18", "47"])
def test_place_gland_matches_the_requested_volume_and_keeps_the_zones(shape_id):
    axes = [(np.arange(n) - (n - 1) / 2) * s for n, s in zip((160, 160, 30), (0.7, 0.7, 3.0))]
    labels = gland_shapes.place_gland(shape_id, axes, (3.0, -4.0, 2.0), 55.0,
                                      rotate=gland_shapes.rotation(15, 5), rng=np.random.default_rng(0),
                                      warp_mm=3.0)
    volume = (labels > 0).sum() * 0.7 * 0.7 * 3.0 / 1000
    assert volume == pytest.approx(55.0, rel=0.02)
    zones = set(np.unique(labels).tolist())
    assert zones == ({0, 1} if shape_id == "18" else {0, 1, 2})  # prostate_18 has PZ only, as released


def test_phantom_v2_is_deterministic_and_volume_matched():
    a = prostate_phantom_v2(7, volume_ml=40.0, **SMALL)
    b = prostate_phantom_v2(7, volume_ml=40.0, **SMALL)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.labels, b.labels)
    assert a.gland_volume_ml == pytest.approx(40.0, rel=0.02)
    assert a.image.dtype == np.float32 and a.labels.dtype == np.uint8
    assert a.meta["version"] == 2 and a.meta["shape_id"] in gland_shapes.SHAPE_IDS
    assert a.meta["shape_id"] not in gland_shapes.EXCLUDED_SHAPES
    c = prostate_phantom_v2(8, volume_ml=40.0, **SMALL)
    assert not np.array_equal(a.labels, c.labels)


def test_phantom_v2_draws_the_pelvic_anatomy():
    case = prostate_phantom_v2(3, **SMALL, coil=False)
    for name in ("fat", "muscle", "bone", "bladder", "rectum", "seminal_vesicles", "nerve_bundles",
                 "venous_plexus", "capsule"):
        assert case.anatomy[name].any(), name
    assert not case.anatomy["coil"].any()
    assert not (case.anatomy["rectum"] & case.gland).any()
    tissue = case.meta["tissue"]
    # T2 contrast: urine brighter than the gland, muscle darker than fat
    img = case.image
    assert img[tissue == TISSUES_V2["urine"]].mean() > img[case.gland].mean()
    assert img[tissue == TISSUES_V2["muscle"]].mean() < img[tissue == TISSUES_V2["fat"]].mean()


def test_both_generations_share_one_anatomy_mapping_and_one_centred_grid():
    v1 = prostate_phantom(3, spacing=SMALL["spacing"], shape=SMALL["shape"])
    v2 = prostate_phantom_v2(3, **SMALL)
    for case, drawn_by in ((v1, "the phantom"), (v2, "phantom v2")):
        assert type(case.anatomy) is AnatomyMasks and list(case.anatomy)[0] == "body"
        assert repr(case.anatomy) == f"<anatomy masks: {', '.join(case.anatomy)}>"
        with pytest.raises(KeyError, match=f"no structure 'spleen'; {drawn_by} draws"):
            case.anatomy["spleen"]
        corner = case.affine @ [0, 0, 0, 1]
        assert np.allclose(corner[:3], [a[0] for a in centred_axes(case.image.shape, case.spacing)], atol=1e-4)
        assert np.allclose(case.affine @ [*((np.array(case.image.shape) - 1) / 2), 1], [0, 0, 0, 1])
    rectum = ("rectal_wall", "rectal_gas", "rectal_content", "anal_canal")
    assert np.array_equal(v2.anatomy["rectum"], np.isin(v2.meta["tissue"], [TISSUES_V2[t] for t in rectum]))
    assert "nerve_bundles" in v2.anatomy and "nerve_bundles" not in v1.anatomy


def test_endorectal_coil_variant_has_a_balloon_and_a_flare():
    case = prostate_phantom_v2(5, **SMALL, coil=True)
    assert case.anatomy["coil"].any()
    flare = pelvis.coil_flare(case.meta["tissue"], SMALL["spacing"], 2.0)
    assert flare.max() > 2.5 and flare.min() >= 1.0


def test_held_out_phantoms_use_only_held_out_shapes():
    ids = {prostate_phantom_v2(s, held_out=True, **SMALL).meta["shape_id"] for s in range(4)}
    assert ids <= set(gland_shapes.HELD_OUT_SHAPES)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="seed"):
        prostate_phantom_v2(-1)
    with pytest.raises(ValueError, match="spacing"):
        prostate_phantom_v2(1, spacing=(0.01, 1, 1))
    with pytest.raises(ValueError, match="volume_ml"):
        prostate_phantom_v2(1, volume_ml=5000, **SMALL)


def test_random_rendering_is_seeded_and_differs_from_t2():
    tissue, spacing, _ = pelvis.pelvic_scene(11, **SMALL)
    a, b = synth.render_random(tissue, spacing, seed=1), synth.render_random(tissue, spacing, seed=1)
    assert np.array_equal(a, b)
    c = synth.render_random(tissue, spacing, seed=2)
    assert not np.allclose(a, c)
    assert np.isfinite(a).all() and a.min() >= 0


def test_randomise_batch_moves_image_and_mask_together():
    torch.manual_seed(0)
    image = torch.zeros(8, 1, 96, 96)
    image[:, :, 30:60, 40:70] = 1.0
    mask = (image[:, 0] > 0.5).long()
    out, target = synth.randomise_batch(image, mask)
    assert out.shape == image.shape and target.shape == mask.shape and target.dtype == torch.long
    assert set(torch.unique(target).tolist()) <= {0, 1}
    for k in range(8):  # the bright square and its label stay on top of each other
        inside = out[k, 0][target[k] == 1].mean()
        outside = out[k, 0][target[k] == 0].mean()
        assert abs(float(inside - outside)) > 0.3
    labels = torch.ones(8, dtype=torch.long)  # patch labels: geometry is skipped
    assert torch.equal(synth.randomise_batch(image, labels)[1], labels)


def test_a_global_threshold_still_fails_on_phantom_v2():
    """The classic lesson of notebook 01 holds on the realistic phantom too (measured 0.13-0.22)."""
    from medseg_edu.methods import threshold
    from medseg_edu.metrics import dice

    case = prostate_phantom_v2(90000, held_out=True, spacing=(0.75, 0.75, 3.6), shape=(240, 240, 22))
    assert dice(threshold.segment(case.image, case.spacing), case.gland) < 0.5


def test_randomise_batch_moves_neighbouring_slices_alike():
    torch.manual_seed(0)
    image = torch.zeros(4, 3, 96, 96)
    image[:, :, 30:60, 40:70] = 1.0
    mask = (image[:, 1] > 0.5).long()
    out, target = synth.randomise_batch(image, mask)
    assert out.shape == image.shape
    # same input in every channel: the same geometry and contrast (only the noise differs)
    for c in (0, 2):
        assert float((out[:, c] - out[:, 1]).abs().mean()) < 0.1
        assert float(((out[:, c] > 0.5) == (out[:, 1] > 0.5)).float().mean()) > 0.97


def test_stacks_mean_the_same_on_3_and_4_mm_slices():
    """A 2.5D network sees neighbours CONTEXT_STEP_MM apart whatever the slice spacing."""
    from medseg_edu.data import CONTEXT_STEP_MM, stack_slices

    def scan(slice_mm, n):  # intensity rising 0.01 per mm from the feet up, on slices slice_mm apart
        z = np.arange(n) * slice_mm
        return np.broadcast_to((0.01 * z)[:, None, None], (n, 4, 4)).astype(np.float32), z

    thin, z3 = scan(3.0, 16)
    thick, z4 = scan(4.0, 12)
    a, b = stack_slices(thin, 3.0), stack_slices(thick, 4.0)
    assert a.shape == (16, 3, 4, 4) and b.shape == (12, 3, 4, 4)
    for stack, z in ((a, z3), (b, z4)):
        inner = (z >= CONTEXT_STEP_MM) & (z <= z[-1] - CONTEXT_STEP_MM)
        np.testing.assert_allclose(stack[inner, 0, 0, 0], 0.01 * (z[inner] - CONTEXT_STEP_MM), atol=1e-6)
        np.testing.assert_allclose(stack[inner, 1, 0, 0], 0.01 * z[inner], atol=1e-6)
        np.testing.assert_allclose(stack[inner, 2, 0, 0], 0.01 * (z[inner] + CONTEXT_STEP_MM), atol=1e-6)
    # at 12 mm (a slice of both scans) the two stacks are the same
    np.testing.assert_allclose(a[4], b[3], atol=1e-6)
    # beyond the first and the last slice the nearest one is repeated
    np.testing.assert_allclose(a[0, 0], a[0, 1]) and np.testing.assert_allclose(b[-1, 2], b[-1, 1])
    assert stack_slices(thin, 3.0, context=0).shape == (16, 1, 4, 4)
    with pytest.raises(ValueError, match="slice_mm"):
        stack_slices(thin, 0.0)


@pytest.fixture(scope="module")
def tapering():
    """A phantom on thin sub-slices: (case, its fine tissue map, sub-slices per slice)."""
    tissue, fine, params = pelvis.pelvic_scene(21, spacing=(0.8, 0.8, 4.0), shape=(180, 180, 20), volume_ml=45.0,
                                               subslices=None, coil=False)
    case = prostate_phantom_v2(21, spacing=(0.8, 0.8, 4.0), shape=(180, 180, 20), volume_ml=45.0, coil=False)
    return case, tissue, fine, params


def test_the_gland_tapers_into_sphincter_and_bladder_neck(tapering):
    case, tissue, fine, params = tapering
    T = TISSUES_V2
    assert params["subslices"] == 4 and fine[2] == pytest.approx(1.0)
    gland = np.isin(tissue, pelvis.GLAND_CODES)
    z = np.arange(tissue.shape[2]) * fine[2]
    present = np.flatnonzero(gland.any(axis=(0, 1)))
    bottom, top = present[0], present[-1]
    # below the apex: the urethral sphincter (dark muscle), no fat rim; above the base: the bladder neck
    assert (tissue[:, :, bottom - 4] == T["sphincter"]).any()
    assert (tissue[:, :, max(bottom - 12, 0):bottom] == T["sphincter"]).sum() > 200
    assert (tissue[:, :, top + 1:top + 6] == T["bladder_neck"]).any()
    # the capsule stops short of the ends; the gland's cross-section shrinks towards them
    weight = pelvis.end_weight(z, z[bottom], z[top])
    capsule = (tissue == T["capsule"]).any(axis=(0, 1))
    assert not capsule[weight >= 0.5].any() and capsule[weight == 0].any()
    area = gland.sum(axis=(0, 1))
    middle = area[(bottom + top) // 2]
    assert area[bottom] < 0.5 * middle and area[top] < middle


def test_thick_slices_are_averages_of_thin_ones_and_the_truth_is_their_majority(tapering):
    case, tissue, fine, params = tapering
    k = params["subslices"]
    labels = pelvis._zones(tissue)
    thick = pelvis.thick_labels(labels, k)
    assert thick.shape == case.labels.shape and np.array_equal(thick, case.labels)
    share = (labels > 0).reshape(*labels.shape[:2], -1, k).mean(axis=3)
    assert np.array_equal(case.gland, share >= 0.5)
    # partial volume: some thick voxels hold gland in only part of their sub-slices
    assert ((share > 0) & (share < 1)).sum() > 0.05 * case.gland.sum()
    assert case.gland_volume_ml == pytest.approx(45.0, rel=0.03)
    image = np.arange(2 * 2 * 8, dtype=np.float32).reshape(2, 2, 8)
    np.testing.assert_allclose(pelvis.average_slices(image, 4)[..., 0], image[..., :4].mean(axis=2))


def test_the_ends_lose_contrast(tapering):
    case, tissue, fine, params = tapering
    plain = np.ones(tissue.shape, np.float32)
    plain[np.isin(tissue, pelvis.GLAND_CODES)] = 3.0
    faded = pelvis.fade_gland_ends(plain, tissue, fine, 0.8)
    gland = np.isin(tissue, pelvis.GLAND_CODES)
    present = np.flatnonzero(gland.any(axis=(0, 1)))
    mean = [faded[:, :, k][gland[:, :, k]].mean() for k in present]
    assert mean[len(mean) // 2] == pytest.approx(3.0)  # mid-gland untouched
    assert mean[0] < 2.0 and mean[-1] < 2.0              # the ends move towards their surroundings (1)
    assert np.array_equal(pelvis.fade_gland_ends(plain, tissue, fine, 0.0), plain)


def test_styles_and_a_chosen_shape():
    case = prostate_phantom_v2(4, **SMALL, shape_id="ProstateDx-01-0005", style="low_contrast")
    assert case.meta["shape_id"] == "ProstateDx-01-0005" and case.meta["style"] == "low_contrast"
    with pytest.raises(ValueError, match="style"):
        prostate_phantom_v2(4, **SMALL, style="cartoon")
    with pytest.raises(ValueError, match="held-out"):
        prostate_phantom_v2(4, **SMALL, shape_id="00", held_out=True)


def test_randomise_batch_moves_a_block_of_label_maps_with_its_slices():
    torch.manual_seed(1)
    image = torch.zeros(3, 4, 96, 96)
    image[:, :, 30:60, 40:70] = 1.0
    labels = (image > 0.5).long()                      # one label map per slice of the block
    out, target = synth.randomise_batch(image, labels)
    assert target.shape == labels.shape and target.dtype == torch.long
    for k in range(4):
        inside = out[:, k][target[:, k] == 1].mean()
        outside = out[:, k][target[:, k] == 0].mean()
        assert abs(float(inside - outside)) > 0.3


def test_the_varied_layout_moves_the_lower_pelvis_and_rims_some_apices():
    """The training bank's layout: the anal canal starts well below the apex and some glands keep their
    capsule round the apex."""
    T = TISSUES_V2
    seen_rim = False
    for seed in range(6):
        tissue, fine, params = pelvis.pelvic_scene(seed, spacing=(0.8, 0.8, 4.0), shape=(180, 180, 22), volume_ml=40.0,
                                                   subslices=None, coil=False, layout="varied")
        z = np.arange(tissue.shape[2]) * fine[2]
        gland = np.isin(tissue, pelvis.GLAND_CODES)
        present = np.flatnonzero(gland.any(axis=(0, 1)))
        bottom, top = present[0], present[-1]
        canal = np.flatnonzero((tissue == T["anal_canal"]).any(axis=(0, 1)))
        assert len(canal) == 0 or z[canal[-1]] < z[bottom] - 3.0
        weight = pelvis.end_weight(z, z[bottom], z[top])
        capsule = (tissue == T["capsule"]).any(axis=(0, 1))
        seen_rim |= bool(capsule[(weight >= 0.5) & (z < z[(bottom + top) // 2])].any())
    assert seen_rim
    with pytest.raises(ValueError, match="layout"):
        pelvis.pelvic_scene(0, **SMALL, layout="tilted")


def test_the_vesicles_layout_draws_bigger_seminal_vesicles_from_lower_down():
    """Above the base real seminal vesicles fill the space between bladder and rectum; the training layout
    ``canal_at_apex_vesicles`` draws them so, every other layout as phantom v2 always has."""
    assert all(pelvis.LAYOUTS[name]["vesicle_size"] == 1.0 for name in ("v2", "varied", "target_apex", "canal_at_apex"))
    vesicle = TISSUES_V2["seminal_vesicle"]
    for seed in range(3):
        drawn = {}
        for layout in ("canal_at_apex", "canal_at_apex_vesicles"):
            tissue, fine, _ = pelvis.pelvic_scene(seed, spacing=(0.8, 0.8, 4.0), shape=(180, 180, 22),
                                                  volume_ml=40.0, subslices=None, coil=False, layout=layout)
            z = np.arange(tissue.shape[2]) * fine[2]
            top = z[np.flatnonzero(np.isin(tissue, pelvis.GLAND_CODES).any(axis=(0, 1)))[-1]]
            sacs = np.flatnonzero((tissue == vesicle).any(axis=(0, 1)))
            drawn[layout] = (np.count_nonzero(tissue == vesicle) * np.prod(fine) / 1000, z[sacs[0]] - top)
        assert drawn["canal_at_apex_vesicles"][0] > 1.5 * drawn["canal_at_apex"][0]   # mL of vesicle tissue
        assert drawn["canal_at_apex_vesicles"][1] <= drawn["canal_at_apex"][1] + 1.0  # starts no higher (mm)
