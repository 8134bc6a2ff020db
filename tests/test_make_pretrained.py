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


def test_networks_trained_side_by_side_are_those_trained_alone(tmp_path, monkeypatch):
    """Two at a time in worker processes, on their share of the cores: the same weights, to the bit, as
    one training after the other in this process on as many threads."""
    import torch

    from medseg_edu import train
    from medseg_edu.data import parallel, synth

    # a two-scene bank stands in for the recipe's bank (built in seconds, cached by its size); the
    # forked workers see this patch, spawned ones would not
    monkeypatch.setattr(synth, "BANKS", {k: (first, 2, n_random, *rest)
                                         for k, (first, _, n_random, *rest) in synth.BANKS.items()})
    names = ["patch_cnn", "fcn"]
    metas = make_pretrained.train_side_by_side(names, steps=3, out=tmp_path / "side", start="fork")
    assert [m["name"] for m in metas] == ["fcn", "patch_cnn"]  # the longer one first
    _, threads_each = make_pretrained.side_by_side_plan(len(names), parallel.usable_cores())
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(threads_each)
        for name in names:
            train.train_bundled(name, steps=3, out=tmp_path / "alone", progress=False)
    finally:
        torch.set_num_threads(threads)
    for meta in metas:
        assert f"torch threads {threads_each}," in meta["machine"]
        side, alone = (torch.load(tmp_path / folder / f"{meta['name']}.pt", weights_only=True)
                       for folder in ("side", "alone"))
        assert side.keys() == alone.keys()
        assert all(torch.equal(side[k], alone[k]) for k in side), meta["name"]


def test_two_networks_share_the_cores_on_a_cpu_and_take_turns_on_a_gpu():
    plan = make_pretrained.side_by_side_plan
    assert plan(4, cores=2) == (2, 1)
    assert plan(4, cores=8) == (2, 4)
    assert plan(4, cores=1) == (1, 1)
    assert plan(1, cores=2) == (1, 2)
    assert plan(4, cores=2, on_cpu=False)[0] == 1


def test_every_network_has_a_training_cost_to_order_by():
    assert set(make_pretrained.TRAINING_COST) == set(weights.NAMES)
    assert max(make_pretrained.TRAINING_COST, key=make_pretrained.TRAINING_COST.get) == "unet"


def test_training_md_quotes_the_spread_between_two_runs_as_measured():
    """TRAINING.md's "How far one run can be trusted" compares the two evaluated runs of the same recipe."""
    import json

    runs = [run for run in json.loads((ROOT / "benchmarks" / "make_pretrained_runs.json").read_text())["runs"]
            if "evaluation" in run]
    assert len(runs) == 2
    (first, second), (unet1, unet2) = runs, (run["evaluation"]["unet"] for run in runs)
    text = (ROOT / "data" / "weights" / "TRAINING.md").read_text()
    paragraph = text.split("**How far one run can be trusted.**", 1)[1].split("\n\n", 1)[0]
    paragraph = " ".join(paragraph.split())
    assert f"({first['val_dice']['unet']:.3f} and {second['val_dice']['unet']:.3f})" in paragraph
    for key in ("held_out_dice", "apex_recall", "phantom_v1_test_dice"):
        assert f"{unet1[key]:.3f} against {unet2[key]:.3f}" in paragraph, key
    worst = "held_out_max_abs_volume_error_percent"
    assert f"{unet1[worst]:.1f} against {unet2[worst]:.1f} %" in paragraph
    assert f"{unet1['Prostate3T-03-0001_ml']:.1f} against {unet2['Prostate3T-03-0001_ml']:.1f} mL" in paragraph
    dilated = [run["evaluation"]["dilated"]["phantom_v1_test_dice"] for run in runs]
    assert f"{dilated[0]:.3f} against {dilated[1]:.3f}" in paragraph


@pytest.mark.parametrize("argv, message", [
    (["--steps", "0"], "--steps must be a positive number"),
    (["--steps-scale", "0"], "--steps-scale must be a positive number"),    # fit() refused it after a 5-min bank
    (["--steps-scale", "nan"], "--steps-scale must be a positive number"),
    (["--out", "/proc/medseg-edu-cannot-be-here"], "cannot write the weights into --out"),
])
def test_bad_arguments_are_refused_before_anything_runs(argv, message, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["make_pretrained.py", *argv, "--no-evaluate"])
    monkeypatch.setattr(make_pretrained, "train_side_by_side", lambda *a, **k: pytest.fail("training started"))
    with pytest.raises(SystemExit) as stop:
        make_pretrained.main()
    assert stop.value.code == 2 and message in capsys.readouterr().err
