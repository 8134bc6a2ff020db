"""The held-out scores notebook 10 prints: summarised right, stored for every U-Net version, reproducible."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from medseg_edu import agreement, weights
from medseg_edu.masks import largest_component
from medseg_edu.methods import held_out
from medseg_edu.methods import quality
from medseg_edu.methods.deep import probability_volume
from medseg_edu.methods.interval import member_volumes


def _row(dice, error, apex=1.0, base=1.0, found=1.0):
    return dict(dice=dice, volume_error_percent=error, apex_recall=apex, base_recall=base, slices_found=found)


def test_summarise_takes_means_and_the_absolute_volume_errors():
    rows = [_row(0.9, -20.0, apex=0.5), _row(0.8, 5.0, base=0.0), _row(0.7, 10.0)]
    s = held_out.summarise(rows)
    assert s["cases"] == 3 and s["dice"] == pytest.approx(0.8)
    assert s["median_abs_volume_error_percent"] == pytest.approx(10.0)   # |-20| counts as 20
    assert s["max_abs_volume_error_percent"] == pytest.approx(20.0)
    assert s["apex_recall"] == pytest.approx(2.5 / 3) and s["base_recall"] == pytest.approx(2 / 3)


def test_every_unet_version_is_stored_on_the_same_cases():
    stored = held_out.stored_scores("unet")
    assert set(stored) == set(weights.VERSIONS)
    keys = [[(r["shape_id"], r["style"]) for r in entry["rows"]] for entry in stored.values()]
    assert all(k == keys[0] for k in keys) and len(keys[0]) == 2 * 16
    assert all(len(entry["v1_test_dice"]) == 20 for entry in stored.values())


def test_stored_scores_say_how_to_make_them(tmp_path, monkeypatch):
    monkeypatch.setattr(held_out, "bundled", lambda *parts: tmp_path.joinpath(*parts))
    with pytest.raises(FileNotFoundError, match="--score-versions"):
        held_out.stored_scores("unet")


@pytest.mark.parametrize("version", [2, 3, 4])
def test_a_stored_row_is_what_the_network_does_now(version, first_held_out_case):
    """Re-score the first held-out case: the stored table is not stale for the bundled files."""
    case = first_held_out_case  # the first case only: the same seed and style
    model = weights.load("unet", version=version, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mask = largest_component(probability_volume(model, case.image, case.spacing, tta=True) >= 0.5)
    row, stored = held_out.score(mask, case), held_out.stored_scores("unet")[version]["rows"][0]
    assert (row["shape_id"], row["style"]) == (stored["shape_id"], stored["style"])
    for key in ("dice", "apex_recall", "base_recall"):
        assert row[key] == pytest.approx(stored[key], abs=0.01), key
    assert row["volume_error_percent"] == pytest.approx(stored["volume_error_percent"], abs=1.0)


def test_the_stored_member_volumes_are_three_seeds_on_the_same_cases():
    stored = held_out.stored_member_volumes()
    assert stored["version"] == 4 and stored["seeds"] == [0, 1, 2]
    from medseg_edu.data.gland_shapes import HELD_OUT_SHAPES

    n = len(HELD_OUT_SHAPES)   # the cases of --score-versions: seeds 70000... and 71000... (names only)
    assert [r["case"] for r in stored["rows"]] == [f"phantom_v2_{first + i}" for first in (70000, 71000)
                                                    for i in range(n)]
    for row in stored["rows"]:
        assert len(row["members_ml"]) == 3
        assert row["spread_percent"] == pytest.approx(agreement.spread_percent(row["members_ml"]))
    # the quality report's limit lies above every held-out phantom's spread
    assert max(r["spread_percent"] for r in stored["rows"]) < quality.MAX_MEMBER_SPREAD_PERCENT


def test_a_stored_member_row_is_what_the_members_do_now(first_held_out_case):
    case = first_held_out_case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = member_volumes(case.image, case.spacing)
    stored = held_out.stored_member_volumes()["rows"][0]
    assert stored["case"] == case.name
    assert got.volumes_ml == pytest.approx(stored["members_ml"], rel=0.01)
    assert got.ensemble_ml == pytest.approx(stored["ensemble_ml"], rel=0.01)


@pytest.mark.slow
def test_every_held_out_case_is_each_shape_in_both_styles():
    from medseg_edu.data.gland_shapes import HELD_OUT_SHAPES

    first, second = held_out.every_held_out_case(shapes=HELD_OUT_SHAPES[:1])  # 1 of the 16 shapes: the same seeds
    assert first.meta["shape_id"] == second.meta["shape_id"] == HELD_OUT_SHAPES[0]
    assert (first.meta["style"], second.meta["style"]) == held_out.HELD_OUT_STYLES
    stored = held_out.stored_scores("unet")[2]["rows"]  # measured on all 32: the first case and the 17th
    for case, row in ((first, stored[0]), (second, stored[16])):
        assert (case.meta["shape_id"], case.meta["style"]) == (row["shape_id"], row["style"])
        assert case.spacing[2] == pytest.approx(row["slice_mm"])  # the same seed draws the same slice spacing
