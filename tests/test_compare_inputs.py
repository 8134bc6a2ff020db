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
                                                                         "2d-canal-at-apex": (4, weights.V4)}
    assert all(version in weights.VERSIONS for version, *_ in compare_inputs.CANDIDATES.values())
    (tmp_path / "2d-varied_seed0.json").write_text(json.dumps({"design": "2d-varied"}))
    with pytest.raises(SystemExit, match="not kept as a weight version"):
        compare_inputs.bundle("2d-varied_seed0", tmp_path)


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
    results = [json.loads(p.read_text()) for p in sorted((ROOT / "benchmarks" / "compare_inputs").glob("*.json"))]
    rows = [line for line in compare_inputs.report(results).splitlines() if line.startswith("| ")]
    training = (ROOT / "data" / "weights" / "TRAINING.md").read_text().splitlines()
    for row in rows[2:]:
        assert row in training, row.split(" | ")[0]


def test_random_texture_keeps_labels_edges_and_each_image_s_mean_and_spread():
    import torch

    torch.manual_seed(0)
    images = torch.zeros(6, 1, 32, 32)
    images[:, :, 8:24, 8:24] = 1.0  # a bright square: its edges must stay where they were
    images += 0.05 * torch.randn_like(images)
    targets = torch.zeros(6, 32, 32, dtype=torch.long)
    targets[:, 8:24, 8:24] = 1
    out, kept = compare_inputs.random_texture(images.clone(), targets.clone(), share=1.0)
    assert torch.equal(kept, targets)
    assert not torch.allclose(out, images, atol=1e-2)  # remapped
    assert torch.allclose(out.mean((1, 2, 3)), images.mean((1, 2, 3)), atol=1e-4)
    assert torch.allclose(out.std((1, 2, 3)), images.std((1, 2, 3)), atol=1e-3)
    inside, outside = out[:, 0, 10:22, 10:22].mean((1, 2)), out[:, 0, :6, :].mean((1, 2))
    assert ((inside - outside).abs() > 0.1 * images.std()).all()  # the square still differs from the rest
    untouched, _ = compare_inputs.random_texture(images.clone(), targets, share=0.0)
    assert torch.equal(untouched, images)


def test_training_md_quotes_the_stored_random_texture_runs():
    """TRAINING.md's sentences on *2d-random-texture* are its stored runs' numbers, beside version 4's seeds."""
    def runs(design):
        return [json.loads(p.read_text()) for p in sorted((ROOT / "benchmarks" / "compare_inputs").glob(f"{design}_seed*.json"))]

    def outside(design):
        return ", ".join(f"{np.median([q['outside_percent'] for q in r['real']]):.1f}" for r in runs(design))

    training = " ".join((ROOT / "data" / "weights" / "TRAINING.md").read_text().split())
    texture, canal = runs("2d-random-texture"), runs("2d-canal-at-apex")
    assert len(texture) == 2 and len(canal) == 3
    mine, theirs = outside("2d-random-texture").rsplit(", ", 1), outside("2d-canal-at-apex").rsplit(", ", 1)
    assert (f"(median over the six scans {mine[0]} and {mine[1]} % for the two seeds, against "
            f"{theirs[0]} and {theirs[1]} % for version 4's three)") in training
    plausible = " and ".join(str(sum(q["plausible"] for q in r["real"])) for r in texture)
    assert f"{plausible} of 6 masks plausible" in training
