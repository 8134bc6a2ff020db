"""tools/measure_labelled.py: the done-when measurement of issue 22 on labelled scans, run on a phantom pair."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import measure_labelled  # noqa: E402
from medseg_edu.data import load_labelled_scan, prostate_phantom  # noqa: E402
from medseg_edu.io import Volume, save_volume  # noqa: E402


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    case = prostate_phantom(3)
    folder = tmp_path_factory.mktemp("labelled")
    image = save_volume(Volume(case.image, case.spacing, case.affine), folder / "case_t2.nii.gz")
    label = save_volume(Volume(case.labels, case.spacing, case.affine), folder / "case_label.nii.gz")
    return case, image, label


def test_a_pair_reads_back_as_the_case_it_was(pair):
    case, image, label = pair
    read = load_labelled_scan(image, label)
    assert read.name == "case_t2" and read.spacing == pytest.approx(case.spacing)
    assert np.array_equal(read.gland, case.gland) and "case_label.nii.gz" in read.meta["source"]


def test_a_label_map_on_another_grid_or_empty_is_refused_by_name(pair, tmp_path):
    case, image, _ = pair
    shifted = case.affine.copy()
    shifted[0, 3] += 5.0
    moved = save_volume(Volume(case.labels, case.spacing, shifted), tmp_path / "moved.nii.gz")
    with pytest.raises(ValueError, match="Geometry mismatch: label .*moved.nii.gz"):
        load_labelled_scan(image, moved)
    empty = save_volume(Volume(np.zeros_like(case.labels), case.spacing, case.affine), tmp_path / "empty.nii.gz")
    with pytest.raises(ValueError, match="empty.nii.gz' marks no gland"):
        load_labelled_scan(image, empty)


def test_every_candidate_is_measured_and_judged_on_msd_and_on_pairs(pair, tmp_path, capsys, write_task05):
    _, image, label = pair
    msd = prostate_phantom(2, spacing=(1.25, 1.25, 4.0), shape=(96, 96, 16))
    root = write_task05(tmp_path, {"prostate_00": (msd.image, None, msd.labels, msd.affine)})
    assert measure_labelled.main(["--msd", str(root), "--pair", str(image), str(label),
                                  "--json", str(tmp_path / "out.json")]) == 0
    printed = capsys.readouterr().out
    rows = json.loads((tmp_path / "out.json").read_text())["rows"]
    assert list(dict.fromkeys(r["case"] for r in rows)) == ["case_t2", "prostate_00"]
    candidates = list(dict.fromkeys(r["candidate"] for r in rows))
    assert candidates == ["version 2 (default)", "version 3", "version 4", "version 4, seed 1", "version 4, seed 2",
                          "version 4, three seeds' mean"]
    assert "Verdicts on 2 labelled scans (" in printed
    # prostate_00 is a training shape of the phantoms, the pair's file name none
    assert {r["case"]: r["outline_trained_on"] for r in rows} == {"case_t2": False, "prostate_00": True}
    assert "Verdicts on 1 labelled scans whose outline no network trained on" in printed
    assert all(r["dice"] > 0.85 for r in rows)  # a phantom like the ones they trained on
    for candidate in candidates:
        assert f"| {candidate} |" in printed
    assert "ellipsoid formula on the expert outline's diameters" in printed


def test_the_verdicts_follow_the_three_limits():
    def row(candidate, dice, error, found):
        return dict(candidate=candidate, dice=dice, volume_error_percent=error, slices_found=found,
                    apex_recall=1.0, base_recall=1.0)

    rows = [row("good", 0.90, -8.0, 1.0), row("good", 0.86, 9.5, 1.0),
            row("low", 0.80, -3.0, 1.0), row("low", 0.88, 2.0, 1.0),
            row("short", 0.95, -12.0, 1.0), row("short", 0.95, 1.0, 0.9)]
    got = measure_labelled.verdicts(rows)
    assert [got["good"][k] for k in ("mean_dice_ok", "volume_error_ok", "slices_ok")] == [True, True, True]
    assert [got["low"][k] for k in ("mean_dice_ok", "volume_error_ok", "slices_ok")] == [False, True, True]
    assert [got["short"][k] for k in ("mean_dice_ok", "volume_error_ok", "slices_ok")] == [True, False, False]


@pytest.mark.parametrize("name, seen", [("prostate_00", True), ("prostate_01", False), ("Prostate3T-01-0003", False),
                                        ("ProstateDx-01-0001", True), ("Prostate3T-01-0017", False),
                                        ("hospital_case_7", False)])
def test_which_outlines_the_phantoms_borrowed(name, seen):
    assert measure_labelled.outline_trained_on(name) is seen


def test_without_scans_it_says_what_to_give():
    with pytest.raises(SystemExit):
        measure_labelled.main([])
