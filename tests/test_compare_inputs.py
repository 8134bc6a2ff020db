"""The pure parts of tools/compare_inputs.py: which bank a design trains on, which runs become weight versions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import compare_inputs  # noqa: E402
from medseg_edu import weights  # noqa: E402
from medseg_edu.data import pelvis, synth  # noqa: E402

RUNS = ROOT / "benchmarks" / "compare_inputs"


def stored_run(design: str, seed: int = 0) -> dict:
    """One stored compare_inputs run (benchmarks/compare_inputs/<design>_seed<seed>.json)."""
    return json.loads((RUNS / f"{design}_seed{seed}.json").read_text())


def stored_runs() -> list[dict]:
    """Every stored compare_inputs run, in file-name order."""
    return [json.loads(p.read_text()) for p in sorted(RUNS.glob("*.json"))]


@pytest.mark.parametrize("design, layout", [("2d-varied", "varied"), ("2d-target-apex", "target_apex"),
                                            ("2d-canal-at-apex", "canal_at_apex"),
                                            ("2d-vesicles", "canal_at_apex_vesicles"),
                                            ("2.5d-canal-at-apex", "canal_at_apex"),
                                            ("2d-instance-norm", "canal_at_apex")])
def test_a_layout_design_renders_its_own_bank_and_restores_the_default(design, layout):
    before = synth.SYNTH_LAYOUT, synth.SYNTH_VERSION
    with compare_inputs._bank_variant(design):
        assert synth.SYNTH_LAYOUT == layout and layout in pelvis.LAYOUTS
        assert synth.SYNTH_VERSION != before[1]  # cached under its own name, never over the default bank
    assert (synth.SYNTH_LAYOUT, synth.SYNTH_VERSION) == before
    with compare_inputs._bank_variant("2d"):
        assert (synth.SYNTH_LAYOUT, synth.SYNTH_VERSION) == before


def test_only_the_kept_designs_become_weight_versions(tmp_path):
    assert {d: v[:2] for d, v in compare_inputs.CANDIDATES.items()} == {"2d": (3, weights.V3),
                                                                         "2d-canal-at-apex": (4, weights.V4),
                                                                         "2d-random-texture": (5, weights.V5)}
    assert all(version in weights.VERSIONS for version, *_ in compare_inputs.CANDIDATES.values())
    (tmp_path / "2d-varied_seed0.json").write_text(json.dumps({"design": "2d-varied"}))
    with pytest.raises(SystemExit, match="not kept as a weight version"):
        compare_inputs.bundle("2d-varied_seed0", tmp_path)


def test_version_5_is_the_three_stored_random_texture_runs():
    """The bundled version 5 and its members are the stored 2d-random-texture runs, augmentation recorded."""
    members = weights.member_metadata("unet", version=5)
    assert [m["seed"] for m in members] == [0, 1, 2]
    for meta in members:
        run = stored_run("2d-random-texture", meta["seed"])
        assert (meta["steps"], meta["seconds"]) == (run["steps"], round(run["seconds"], 1))
        assert "random_texture" in meta["augmentation"] and meta["version"] == 5
    assert weights.metadata("unet", version=5)["augmentation"] != weights.metadata("unet", version=4)["augmentation"]


def test_version_5_training_md_is_the_stored_runs():
    """v5/TRAINING.md's tables and counts are those of the six stored runs of versions 4's and 5's recipes."""
    from medseg_edu.agreement import spread_percent
    from medseg_edu.methods import held_out

    text = (ROOT / "data" / "weights" / weights.V5 / "TRAINING.md").read_text()
    words = " ".join(text.split())
    runs = {(design, seed): stored_run(design, seed)
            for design in ("2d-canal-at-apex", "2d-random-texture") for seed in (0, 1, 2)}
    for (design, seed), r in runs.items():
        s = held_out.summarise(r["rows"])
        label = "version 4's recipe" if design == "2d-canal-at-apex" else "version 5's recipe (GIN)"
        assert (f"| {label}, seed {seed} | {s['dice']:.3f} | {s['median_abs_volume_error_percent']:.1f} / "
                f"{s['max_abs_volume_error_percent']:.1f} % | {s['apex_recall']:.2f} | {s['base_recall']:.2f} | "
                f"{np.mean(r['v1_dice']):.3f} | {sum(q['plausible'] for q in r['real'])} of 6 |") in text
    volumes, spreads = {}, {}
    for design in ("2d-canal-at-apex", "2d-random-texture"):
        real = [runs[design, seed]["real"] for seed in (0, 1, 2)]
        for i, q in enumerate(real[0]):
            volumes[design, q["scan"]] = " / ".join(f"{r[i]['volume_ml']:.1f}{'*' if r[i]['plausible'] else ''}"
                                                    for r in real)
            spreads[design, q["scan"]] = spread_percent([r[i]["volume_ml"] for r in real])
    scans = [q["scan"] for q in runs["2d-canal-at-apex", 0]["real"]]
    for scan in scans:
        assert (f"| {scan} | {volumes['2d-canal-at-apex', scan]} | {spreads['2d-canal-at-apex', scan]:.0f} % | "
                f"{volumes['2d-random-texture', scan]} | {spreads['2d-random-texture', scan]:.0f} % |") in text
    agree = sum(spreads["2d-random-texture", s] < spreads["2d-canal-at-apex", s] for s in scans)
    means = {key: np.mean([runs[key[0], seed]["real"][scans.index(key[1])]["volume_ml"] for seed in (0, 1, 2)])
             for key in spreads}
    fuller = sum(means["2d-random-texture", s] > means["2d-canal-at-apex", s] for s in scans)
    assert (agree, fuller) == (4, 5)
    assert "agree better than version 4's on four of the six, and their mean volume is larger on five" in words
    assert (f"Prostate3T-03-0001: {means['2d-random-texture', 'Prostate3T-03-0001']:.1f} against "
            f"{means['2d-canal-at-apex', 'Prostate3T-03-0001']:.1f} mL") in words
    seconds = [runs["2d-random-texture", seed]["seconds"] for seed in (0, 1, 2)]
    assert "{:.0f}, {:.0f} and {:.0f} s wall".format(*seconds) in words
    # the three seeds' mean probability, as tools/measure_labelled.py stored it
    held = json.loads((ROOT / "benchmarks" / "held_out_candidates.json").read_text())["held_out"]
    real = json.loads((ROOT / "benchmarks" / "real_plausibility.json").read_text())
    means = {v: held_out.summarise([r for r in held if r["candidate"] == f"version {v}, three seeds' mean"])
             for v in (4, 5)}
    stored = held_out.stored_scores("unet")
    for v in (4, 5):  # its single networks score as --score-versions stored them
        assert held_out.summarise([r for r in held if r["candidate"] == f"version {v}"]) == pytest.approx(
            held_out.summarise(stored[v]["rows"]))
    plausible = {v: sum(r["plausible"] for r in real["unlabelled"]
                        if r["candidate"] == f"version {v}, three seeds' mean") for v in (4, 5)}
    v1 = np.mean([r["dice"] for r in real["phantom_v1"] if r["candidate"] == "version 5, three seeds' mean"])
    assert (f"held-out Dice {means[5]['dice']:.3f}, worst volume error {means[5]['max_abs_volume_error_percent']:.1f} % "
            f"(version 4's three seeds' mean: {means[4]['dice']:.3f}, {means[4]['max_abs_volume_error_percent']:.1f} %), "
            f"phantom-v1 test Dice {v1:.3f}; {plausible[5]} of the 6 real masks plausible (version 4's: {plausible[4]})"
            ) in words


def test_instance_norm_replaces_every_batchnorm_and_normalises_each_slice_alone():
    import torch

    from medseg_edu import nets

    torch.manual_seed(0)
    model = compare_inputs.with_instance_norm(nets.UNet(width=8, depth=2))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    norms = [m for m in model.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    assert len(norms) == 2 * (2 * 2 + 1) and all(m.affine for m in norms)  # two per double convolution
    model.eval()
    one, other = torch.randn(1, 1, 32, 32), 5.0 * torch.randn(1, 1, 32, 32) + 3.0
    with torch.no_grad():  # a slice's prediction does not depend on the other slices of its batch
        alone = model(one)
        together = model(torch.cat([one, other]))[:1]
    assert torch.allclose(alone, together, atol=1e-5)


def test_training_md_has_the_rows_the_stored_runs_give():
    """The table of TRAINING.md's section CHOICE is compare_inputs' report of benchmarks/compare_inputs/."""
    results = stored_runs()
    rows = [line for line in compare_inputs.report(results).splitlines() if line.startswith("| ")]
    training = (ROOT / "data" / "weights" / "TRAINING.md").read_text().splitlines()
    for row in rows[2:]:
        assert row in training, row.split(" | ")[0]


def test_random_texture_remaps_tissues_is_local_and_keeps_labels_mean_and_spread():
    import torch

    torch.manual_seed(0)
    images = torch.zeros(6, 1, 64, 64)
    images[:, :, 12:52, 12:52] = 1.0
    images[:, :, 26:38, 26:38] = 0.5  # three tissues, no noise: ground, a bright square, a grey core
    targets = (images[:, 0] > 0.2).long()
    out, kept = compare_inputs.random_texture(images.clone(), targets.clone(), share=1.0)
    assert torch.equal(kept, targets)
    assert torch.allclose(out.mean((1, 2, 3)), images.mean((1, 2, 3)), atol=1e-4)
    assert torch.allclose(out.std((1, 2, 3)), images.std((1, 2, 3)), atol=1e-3)
    ground, square, core = (out[:, 0, 4:8, 16:48], out[:, 0, 16:22, 16:48], out[:, 0, 30:34, 30:34])
    # the core's grey between ground and square: 0.5 before, and after any linear change of contrast
    relative = (core.mean((1, 2)) - ground.mean((1, 2))) / (square.mean((1, 2)) - ground.mean((1, 2)))
    assert ((relative - 0.5).abs() > 0.05).sum() >= 2
    # four convolutions of at most 3 x 3 see 4 pixels round a pixel: further from an edge, a tissue
    # stays one grey (a new one), so every edge stays where it was
    for tissue in (ground, square, core):
        assert tissue.flatten(1).std(1).max() < 1e-4
    untouched, _ = compare_inputs.random_texture(images.clone(), targets, share=0.0)
    assert torch.equal(untouched, images)


def test_training_md_quotes_the_stored_random_texture_runs():
    """TRAINING.md's and README's sentences on *2d-random-texture* are its three stored runs' numbers, beside
    version 4's recipe (*2d-canal-at-apex*, three seeds)."""
    from medseg_edu.methods import held_out

    textures = [stored_run("2d-random-texture", s) for s in (0, 1, 2)]
    canals = [stored_run("2d-canal-at-apex", s) for s in (0, 1, 2)]
    training = " ".join((ROOT / "data" / "weights" / "TRAINING.md").read_text().split())
    readme = " ".join((ROOT / "README.md").read_text().split())
    gin_dice = [held_out.summarise(r["rows"])["dice"] for r in textures]
    canal_dice = [held_out.summarise(r["rows"])["dice"] for r in canals]
    assert max(gin_dice) < min(canal_dice)                              # "worse ... on every seed"
    assert f"Dice {np.mean(gin_dice):.3f} against {np.mean(canal_dice):.3f}, {min(gin_dice):.3f}-{max(gin_dice):.3f} " \
           f"against {min(canal_dice):.3f}-{max(canal_dice):.3f}" in training
    assert f"(Dice {np.mean(gin_dice):.3f} against {np.mean(canal_dice):.3f})" in readme
    v1 = [np.mean([np.mean(r["v1_dice"]) for r in runs]) for runs in (textures, canals)]
    assert f"phantom-v1 test Dice {v1[0]:.3f} against {v1[1]:.3f}" in training
    texture, canal = textures[0], canals[0]
    volumes = {q["scan"]: (q["volume_ml"], other["volume_ml"]) for q, other in zip(texture["real"], canal["real"])}
    for scan in ("Prostate3T-03-0001", "Prostate3T-03-0004", "Prostate3T-03-0003", "Prostate3T-03-0005"):
        mine_ml, theirs_ml = volumes[scan]
        assert mine_ml > theirs_ml and f"{mine_ml:.1f} against {theirs_ml:.1f}" in training, scan
    plausible = [sum(q["plausible"] for q in r["real"]) for r in textures]
    assert f"{plausible[0]} of 6 plausible" in training
    assert f"{plausible[1]} and {plausible[2]} of 6 plausible" in training
    assert f"({min(plausible)} to {max(plausible)} of 6 plausible" in readme
    for scan in ("Prostate3T-03-0001", "Prostate3T-03-0002"):
        ml = [next(q["volume_ml"] for q in r["real"] if q["scan"] == scan) for r in textures]
        assert f"{scan} {min(ml):.1f}-{max(ml):.1f} mL" in training, scan


def test_training_md_quotes_the_stored_vesicles_with_random_texture_runs():
    """TRAINING.md's sentences on *2d-vesicles-random-texture* are its two stored runs' numbers."""
    from medseg_edu.methods import held_out

    by_design = {}
    for r in stored_runs():
        by_design.setdefault(r["design"], []).append(r)

    def mean(design, key):
        return np.mean([held_out.summarise(r["rows"])[key] for r in by_design[design]])

    training = " ".join((ROOT / "data" / "weights" / "TRAINING.md").read_text().split())
    both = "2d-vesicles-random-texture"
    assert f"GIN's equal (Dice {mean(both, 'dice'):.3f} against {mean('2d-random-texture', 'dice'):.3f})" in training
    assert (f"({mean(both, 'base_recall'):.2f} against {mean('2d-random-texture', 'base_recall'):.2f} and "
            f"{mean('2d-vesicles', 'base_recall'):.2f})") in training
    found = {design: mean(design, "slices_found") for design in by_design}
    assert max(found, key=found.get) == both and f"of any design ({found[both]:.3f})" in training
    seed0, seed1 = ({q["scan"]: q for q in r["real"]} for r in sorted(by_design[both], key=lambda r: r["seed"]))
    for scan in ("Prostate3T-03-0001", "Prostate3T-03-0004"):
        assert f"{scan} {seed0[scan]['volume_ml']:.1f} mL over {seed0[scan]['extent_mm']:.0f} mm" in training
    first = seed1["Prostate3T-03-0001"]
    assert (f"Prostate3T-03-0001 {first['volume_ml']:.1f} mL, with {first['outside_percent']:.0f} % of the mask "
            "outside") in training
    counts = [sum(q["plausible"] for q in seeds.values()) for seeds in (seed0, seed1)]
    assert "{} and {} of 6 plausible. Not kept.".format(*counts) in training
