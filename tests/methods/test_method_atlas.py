"""Registration-based segmentation (medseg_edu.methods.atlas)."""

from __future__ import annotations

import numpy as np
import pytest

from medseg_edu.data import prostate_phantom, prostate_split
from medseg_edu.methods import atlas, registration, get
from medseg_edu.metrics import dice


def test_registered_as_a_method():
    assert get("atlas") is atlas


@pytest.fixture(scope="module")
def test_case():
    return prostate_split("test")[3]


def test_defaults_on_a_test_case(test_case):
    mask = atlas.segment(test_case.image, test_case.spacing)
    assert mask.shape == test_case.image.shape and mask.dtype == bool
    assert dice(mask, test_case.gland) > 0.6


def test_affine_recovers_a_known_shift():
    """A moving image shifted by 6 mm along x is registered back (theta's translation ~ 6 mm)."""
    case = prostate_phantom(11, volume_ml=50.0)
    values, inside = registration.to_common(case.image, case.spacing)
    fixed = registration.normalise_inside(values, inside)
    shift_mm = 6.0
    moving = np.roll(fixed, -int(shift_mm / registration.GRID_MM), axis=0)  # content moved 6 mm to -x
    reg = registration.register_affine(registration.as_tensor(fixed), registration.as_tensor(moving), registration.as_tensor(inside),
                                iterations=(60,), factors=(2,))
    # fixed point p looks up the moving image at p - 6 mm
    assert reg.theta[0, 3].item() * registration.HALF_WIDTH_MM == pytest.approx(-shift_mm, abs=1.5)
    assert reg.losses[-1] < reg.losses[0]


def test_identity_registration_keeps_labels(test_case):
    gland, _ = registration.to_common(test_case.gland, test_case.spacing)
    reg = registration.Registration(registration.identity_theta())
    back = registration.warp_to_target(gland, reg, test_case.image.shape, test_case.spacing) >= 0.5
    assert dice(back, test_case.gland) > 0.9


def test_majority_vote():
    stack = np.zeros((4, 2, 2, 1), bool)
    stack[:3, 0, 0] = True
    stack[:2, 1, 1] = True  # a 2-2 tie is not a majority
    vote = atlas.majority_vote(stack)
    assert vote[0, 0, 0] and not vote[1, 1, 0] and vote.dtype == bool
    with pytest.raises(ValueError):
        atlas.majority_vote(np.zeros((0, 3, 3), bool))


@pytest.mark.parametrize("image, spacing, match", [
    (np.zeros((10, 10)), (1, 1, 1), "3D"),
    (np.full((10, 10, 4), np.nan), (1, 1, 1), "NaN"),
    (np.zeros((10, 10, 4)), (1, 1), "spacing"),
    (np.zeros((10, 10, 4)), (1, 0, 1), "spacing"),
])
def test_bad_input(image, spacing, match):
    with pytest.raises(ValueError, match=match):
        atlas.segment(image, spacing)


def test_bad_options(test_case):
    with pytest.raises(ValueError, match="n_atlases"):
        atlas.segment(test_case.image, test_case.spacing, n_atlases=0)
    with pytest.raises(ValueError, match="empty"):
        atlas.segment(test_case.image, test_case.spacing, atlases=[])
    with pytest.raises(TypeError, match="atlases"):
        atlas.segment(test_case.image, test_case.spacing, atlases=[np.zeros((4, 4, 4))])


def test_custom_atlas_is_used(test_case):
    """One case as its own atlas: registration is the identity, the labels come back."""
    mask = atlas.segment(test_case.image, test_case.spacing, atlases=[test_case], n_atlases=1, deformable=False)
    assert dice(mask, test_case.gland) > 0.85


# --------------------------------------------------------------------------- the stored run on a real scan

def test_stored_real_mask_is_what_the_atlas_gives_today():
    """Notebook 10 reads tools/real_atlas.py's stored mask: it must still be the atlas's answer."""
    from medseg_edu.data import REAL_SCANS, real_scan

    vol = real_scan(REAL_SCANS[0])
    stored = atlas.stored_real_mask(REAL_SCANS[0])
    assert stored.shape == vol.array.shape and stored.dtype == bool and stored.any()
    live = atlas.segment(vol.array.astype(np.float32), vol.spacing)
    assert dice(live, stored) > 0.97          # registration sums vary a little by CPU
    assert np.count_nonzero(live) == pytest.approx(np.count_nonzero(stored), rel=0.03)


def test_stored_real_mask_names_what_is_missing(tmp_path, monkeypatch):
    with pytest.raises(KeyError, match="no stored atlas mask for 'ProstateX-0000'.*Prostate3T-03-0001"):
        atlas.stored_real_mask("ProstateX-0000")
    monkeypatch.setattr(atlas, "STORED_REAL_MASKS", tmp_path / "absent.npz")
    with pytest.raises(FileNotFoundError, match="tools/real_atlas.py"):
        atlas.stored_real_mask("Prostate3T-03-0001")


def test_registration_takes_grid_tensors_and_says_how_to_make_them():
    case = prostate_phantom(3, shape=(96, 96, 12))
    values, inside = registration.to_common(case.image, case.spacing)
    fixed = registration.as_tensor(values)
    with pytest.raises(TypeError, match=r"moving must be a torch tensor .* got ndarray: use as_tensor\(to_common"):
        registration.register_affine(fixed, values, iterations=(1,), factors=(4,))
    with pytest.raises(ValueError, match="tensors of one shape"):
        registration.register_affine(fixed, fixed[..., :10], iterations=(1,), factors=(4,))
    reg = registration.register_affine(fixed, fixed, iterations=(1,), factors=(4,))
    with pytest.raises(TypeError, match="weight must be a torch tensor"):
        registration.register_deformable(fixed, fixed, reg, inside, iterations=1)


def test_ncc_loss_names_mismatched_images_and_an_even_window():
    """A learner calls ncc_loss in notebook 03's exercise; torch's own message was
    'Sizes of tensors must match except in dimension 1' (shapes) or a broadcast error (even window)."""
    import torch

    fixed = torch.rand(1, 1, 8, 10, 12)
    weight = torch.ones_like(fixed)
    with pytest.raises(ValueError, match=r"fixed, warped and weight must be \(1, 1, z, y, x\) tensors of one shape.*"
                                         r"'warped': \(1, 1, 8, 10, 11\)"):
        registration.ncc_loss(fixed, fixed[..., :11], weight)
    with pytest.raises(TypeError, match="warped must be a torch tensor"):
        registration.ncc_loss(fixed, fixed.numpy(), weight)
    with pytest.raises(ValueError, match="window must be an odd number of grid points"):
        registration.ncc_loss(fixed, fixed, weight, window=4)
    assert float(registration.ncc_loss(fixed, fixed, weight, window=5)) < 0.01   # identical images: about 0
