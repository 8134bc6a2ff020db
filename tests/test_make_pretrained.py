"""tools/make_pretrained.py: a run with --out into a new folder can evaluate what it trained."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import make_pretrained  # noqa: E402
from medseg_edu import weights  # noqa: E402


def test_the_version_1_weights_are_set_beside_a_new_out_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("MEDSEG_EDU_WEIGHTS", raising=False)
    source = weights.weights_dir()
    copied = make_pretrained.reference_weights_beside(tmp_path, source)
    assert copied == tmp_path / weights.V1
    monkeypatch.setenv("MEDSEG_EDU_WEIGHTS", str(tmp_path))  # as main() does before the evaluation
    for name in ("unet", "fcn", "dilated", "patch_cnn"):
        assert weights.metadata(name, version=1) == weights.metadata(name, folder=source / weights.V1)
        weights.load(name, version=1)
    assert make_pretrained.reference_weights_beside(tmp_path, source) is None  # already there: left alone


def test_the_bundled_folder_is_left_as_it_is(monkeypatch):
    monkeypatch.delenv("MEDSEG_EDU_WEIGHTS", raising=False)
    bundled = weights.weights_dir()
    assert make_pretrained.reference_weights_beside(bundled, bundled) is None


def test_training_md_has_the_held_out_table_of_the_stored_rows():
    """The held-out table make pretrained writes, built from the stored rows of the bundled weights, is
    TRAINING.md's (the U-Net v2 row re-measured by tests/methods/test_held_out.py)."""
    from medseg_edu.methods import held_out

    stored = {(name, label): held_out.summarise(held_out.stored_scores(name)[version]["rows"])
              for name in ("unet", "dilated", "fcn") for label, version in (("v1", 1), ("v2", 2))}
    lines = make_pretrained.held_out_lines(stored)
    training = (ROOT / "data" / "weights" / "TRAINING.md").read_text()
    assert "\n".join(lines) in training
    assert sum(line.startswith("| unet | v") for line in lines) == 2 and "The 32 cases" in lines[0]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["dilated", "fcn"])
def test_a_held_out_row_of_segment_is_the_stored_one(name, first_held_out_case):
    """held_out_v2 scores each network's segment(); the stored rows came from its probability (mirrored, 0.5,
    largest piece). They agree on the first case."""
    import importlib
    import warnings

    from medseg_edu.methods import held_out

    case = first_held_out_case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mask = importlib.import_module(f"medseg_edu.methods.{name}").segment(case.image, case.spacing)
    row, stored = held_out.score(mask, case), held_out.stored_scores(name)[2]["rows"][0]
    assert row["dice"] == pytest.approx(stored["dice"], abs=0.005)
    assert row["volume_error_percent"] == pytest.approx(stored["volume_error_percent"], abs=0.5)
