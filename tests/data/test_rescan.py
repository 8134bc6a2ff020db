"""Rescans of a phantom patient (medseg_edu.data.rescan): the truth is identical, the images are not.

Also the stored atlas run on the test-retest cohort (benchmarks/retest_atlas.csv,
written by tools/retest_atlas.py), which notebook 12 reads.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from medseg_edu import volumetry
from medseg_edu.data import RESCAN_FOV_MM, RETEST_PATIENTS, rescan

ROOT = Path(__file__).resolve().parents[2]
ATLAS_CSV = ROOT / "benchmarks" / "retest_atlas.csv"
PATIENT = RETEST_PATIENTS[0]


@pytest.fixture(scope="module")
def sessions():
    return [rescan(PATIENT, s) for s in range(4)]


def test_same_anatomy_same_true_volume(sessions):
    true = {c.meta["true_volume_ml"] for c in sessions}
    thinner = rescan(PATIENT, 7, spacing=(0.625, 0.625, 3.0))
    assert len(true) == 1 and thinner.meta["true_volume_ml"] in true
    assert thinner.spacing == (0.625, 0.625, 3.0)


def test_images_and_positions_differ(sessions):
    first, second = sessions[:2]
    assert first.meta["shift_mm"] != second.meta["shift_mm"]
    assert first.meta["slice_offset_mm"] != second.meta["slice_offset_mm"]
    if first.image.shape == second.image.shape:
        assert not np.allclose(first.image, second.image)
    # the same voxel grid and pose but a new session still differs: new bias field and noise
    a = rescan(PATIENT, 1, shift_mm=0.0, rotation_deg=0.0)
    b = rescan(PATIENT, 2, shift_mm=0.0, rotation_deg=0.0)
    assert a.meta["shift_mm"] == (0.0, 0.0, 0.0) and a.meta["rotation_deg"] == (0.0, 0.0, 0.0)
    common = min(a.image.shape[2], b.image.shape[2])
    assert not np.allclose(a.image[..., :common], b.image[..., :common])


def test_truth_on_each_grid_is_the_true_volume_up_to_discretisation(sessions):
    """Measured: within 0.5 % for every session here, 0.1 % on average."""
    true = sessions[0].meta["true_volume_ml"]
    errors = np.array([100 * (c.gland_volume_ml / true - 1) for c in sessions])
    assert np.all(np.abs(errors) < 1.0), errors
    assert abs(errors.mean()) < 0.5
    labels = {tuple(np.unique(c.labels)) for c in sessions}
    assert labels == {(0, 1, 2)}                          # both zones survive the resampling


def test_deterministic_and_shaped_like_a_scan(sessions):
    again = rescan(PATIENT, 1)
    assert np.array_equal(again.image, sessions[1].image) and np.array_equal(again.labels, sessions[1].labels)
    c = sessions[0]
    assert c.image.dtype == np.float32 and c.labels.dtype == np.uint8
    assert c.image.shape[:2] == (round(RESCAN_FOV_MM / 0.625),) * 2
    assert c.image.shape[2] * c.spacing[2] >= 54.0
    assert np.allclose(np.diag(c.affine)[:3], c.spacing)
    # the slab holds the whole gland with room to spare
    present = np.flatnonzero(c.gland.any(axis=(0, 1)))
    assert present[0] >= 1 and present[-1] <= c.image.shape[2] - 2


def test_moves_stay_small(sessions):
    for c in sessions:
        assert np.all(np.abs(c.meta["shift_mm"]) <= 6.0)
        assert np.all(np.abs(c.meta["rotation_deg"]) <= 4.5)
        assert abs(c.meta["slice_offset_mm"]) <= c.spacing[2] / 2


@pytest.mark.parametrize("kwargs, message", [
    ({"seed": -1}, "seed"), ({"session": 1.5}, "session"), ({"spacing": (0.625, 0.625, 12.0)}, "spacing"),
    ({"shift_mm": 9.0}, "shift_mm"), ({"rotation_deg": -1.0}, "rotation_deg"), ({"noise": 2.0}, "noise"),
])
def test_bad_arguments_are_named(kwargs, message):
    arguments = {"seed": PATIENT, "session": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        rescan(arguments.pop("seed"), arguments.pop("session"), **arguments)


# --------------------------------------------------------------------------- the stored atlas run

def stored_rows():
    with ATLAS_CSV.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_stored_atlas_rows_cover_the_cohort():
    rows = stored_rows()
    assert sorted({int(r["patient"]) for r in rows}) == list(RETEST_PATIENTS)
    assert all({int(r["session"]) for r in rows if int(r["patient"]) == p} == {0, 1} for p in RETEST_PATIENTS)
    for row in rows[:4]:                                  # the first two patients, both sessions
        case = rescan(int(row["patient"]), int(row["session"]))
        assert float(row["true_volume_ml"]) == pytest.approx(case.meta["true_volume_ml"], abs=1e-3)
        assert float(row["grid_volume_ml"]) == pytest.approx(case.gland_volume_ml, abs=1e-3)


def test_stored_atlas_volume_is_what_the_atlas_gives_today():
    from medseg_edu.methods import atlas

    row = stored_rows()[0]
    case = rescan(int(row["patient"]), int(row["session"]))
    volume = volumetry.volume_ml(atlas.segment(case.image, case.spacing), case.spacing)
    assert volume == pytest.approx(float(row["atlas_ml"]), rel=0.01)   # registration sums vary a little by CPU
