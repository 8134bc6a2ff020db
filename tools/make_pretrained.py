"""Re-create the bundled network weights in data/weights/ from the phantom train split.

    python tools/make_pretrained.py [--only unet fcn ...] [--steps N | --steps-scale 0.5]

Every network is trained with medseg_edu.train.fit on SliceDataset("train"),
validated on SliceDataset("val"), seeded, with a fixed step budget. The
settings, the seconds taken and the validation Dice go into each weight's JSON
sidecar and into data/weights/TRAINING.md. Takes about 25 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import time
from pathlib import Path

import torch

from medseg_edu import nets, seed_everything
from medseg_edu.data import PatchDataset, SliceDataset
from medseg_edu.train import fit, flip_augment

OUT = Path(__file__).resolve().parents[1] / "data" / "weights"

# name: (architecture, constructor arguments, steps, batch size, learning rate, data)
RECIPES = {
    "unet": (nets.UNet, dict(width=16, depth=3), 1200, 16, 2e-3, "slices"),
    "fcn": (nets.FCN, dict(width=16, depth=3), 1000, 16, 2e-3, "slices"),
    "dilated": (nets.DilatedNet, dict(width=24, dilations=(1, 1, 2, 4, 8, 16, 1, 1)), 1000, 16, 2e-3, "slices"),
    "patch_cnn": (nets.PatchCNN, dict(patch_size=33, width=16), 2000, 64, 1e-3, "patches"),
}


def train_one(name: str, steps_scale: float = 1.0, steps_override: int | None = None) -> dict:
    architecture, kwargs, steps, batch, lr, data = RECIPES[name]
    steps = steps_override or max(10, int(steps * steps_scale))
    seed_everything(0)
    model = architecture(**kwargs)
    if data == "slices":
        train, val = SliceDataset("train"), SliceDataset("val")
        augment = flip_augment
    else:
        train = PatchDataset("train", patch_size=kwargs["patch_size"], n_patches=60000, seed=0)
        val = PatchDataset("val", patch_size=kwargs["patch_size"], n_patches=6000, seed=1)
        augment = None
    start = time.perf_counter()
    history = fit(model, train, val, max_steps=steps, batch_size=batch, lr=lr, augment=augment,
                  seed=0, checkpoint=OUT / f"{name}.pt", progress=True, plot=False,
                  val_every=max(50, steps // 10))
    seconds = time.perf_counter() - start
    # (the sidecar already holds the architecture and all its constructor arguments)
    record = dict(name=name, recipe=kwargs, steps=steps,
                  batch_size=batch, lr=lr, augmentation="flip_augment" if augment else "none",
                  data=f"{data} of the phantom train split (validation: val split)",
                  seconds=round(seconds, 1), val_dice=round(float(history.best_val_dice), 4),
                  parameters=nets.count_parameters(model), torch=torch.__version__,
                  machine=f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
                  date=datetime.date.today().isoformat())
    sidecar = OUT / f"{name}.json"
    meta = json.loads(sidecar.read_text())
    meta.update(record)
    sidecar.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    print(f"{name}: val Dice {record['val_dice']:.3f} after {steps} steps in {seconds:.0f} s", flush=True)
    return record


def write_record() -> None:
    rows = []
    for name in RECIPES:
        sidecar = OUT / f"{name}.json"
        if sidecar.exists():
            m = json.loads(sidecar.read_text())
            size_kb = (OUT / f"{name}.pt").stat().st_size / 1024
            rows.append(f"| {name} | {m['architecture']}({', '.join(f'{k}={v}' for k, v in m.get('recipe', m['kwargs']).items())}) "
                        f"| {m['parameters']:,} | {size_kb:.0f} KB | {m['steps']} x {m['batch_size']} | {m['lr']} "
                        f"| {m['augmentation']} | {m['seconds']:.0f} s | {m['val_dice']:.3f} | {m['date']} |")
    (OUT / "TRAINING.md").write_text(
        "# Bundled weights: how they were trained\n\n"
        "Made by `make pretrained` (tools/make_pretrained.py) from the phantom train split "
        "(40 cases), validated on the val split (10 cases); 2D axial slices on the 1.25 mm, "
        "96 x 96 network grid. Seeded; CPU; torch " + torch.__version__ + ". Validation Dice is the "
        "pooled gland Dice on the val slices (pixel accuracy-balanced patches for the patch CNN).\n\n"
        "| name | architecture | parameters | file | steps x batch | lr | augmentation | time | val Dice | date |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(RECIPES), help="train only these")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="step budget for every network trained (a quick test)")
    budget.add_argument("--steps-scale", type=float, default=1.0, help="scale every recipe's step budget")
    args = parser.parse_args()
    if args.steps is not None and args.steps < 1:
        parser.error("--steps must be a positive number of optimisation steps")
    OUT.mkdir(parents=True, exist_ok=True)
    for name in args.only or RECIPES:
        train_one(name, args.steps_scale, args.steps)
    write_record()


if __name__ == "__main__":
    main()
