"""Which input should the bundled U-Net see: one slice (2D), a slice and its neighbours (2.5D), or a block (3D)?

    python tools/compare_inputs.py [--steps 600] [--seeds 0 1] [--designs 2d 2.5d 3d]
    python tools/compare_inputs.py --report-only      # rewrite the section from benchmarks/compare_inputs/
    python tools/compare_inputs.py --bundle 2d_seed0  # that run's U-Net -> data/weights/v3 (weights version 3;
                                                      # a 2d-canal-at-apex run -> v4)
    python tools/compare_inputs.py --score-versions   # every version of the U-Net, FCN and dilated CNN on
                                                      # the held-out cases -> benchmarks/held_out_<name>.json

Short proxy runs of the same recipe family as `make pretrained` (the synth training bank plus
the phantom-v1 train split, end slices twice, randomise_batch, Adam with a cosine decay), one per
design and seed, each measured where the choice matters:

* on one phantom per held-out real expert shape in each of the two T2 styles no network was
  trained on (32 cases, `medseg_edu.methods.held_out`): Dice, volume error, apex and base recall,
  slices found;
* on the phantom-v1 test split (Dice: the classic notebooks' cases must stay easy);
* on the real T2 scans (no labels: how many masks are plausible, `methods.quality.plausibility`);
* and the CPU seconds per training step (what fits in the `make pretrained` budget).

Designs: ``2d`` a `nets.UNet` on single grid slices; ``2.5d`` the same U-Net with the slices
CONTEXT_STEP_MM below and above as two more input channels; ``3d`` a small anisotropic 3D U-Net
(3 x 3 x 3 convolutions, in-plane pooling only, width 8: about the CPU cost of the 2.5D width-16
U-Net per step) on blocks of 8 slices resampled to CONTEXT_STEP_MM, predicting all 8; ``2d-context``
the 2D design trained with context randomisation (:func:`flatten_surroundings`); ``2d-plain`` the
bundled v2 recipe (the synth bank alone, no repeated ends, a constant learning rate); ``2d-no-targets``
the 2D design on a bank without anal canal and sphincter (:func:`no_targets_below_the_apex`); ``2d-varied``
the 2D design on a bank whose lower pelvis varies, ``2d-target-apex`` on one whose apex can be rimmed and
ringed like a real one, ``2d-canal-at-apex`` on one whose anal canal lies level with the lower gland,
``2d-vesicles`` on that one with seminal vesicles drawn as big as real ones above the base
(:func:`bank_layout`, ``pelvis.LAYOUTS``); ``2d-instance-norm`` the ``2d-canal-at-apex`` design with
every BatchNorm of the U-Net replaced by an instance norm (:func:`with_instance_norm`: each slice's
features normalised by their own statistics, in training as at test time). The results
(JSON per run) go to --out, the summary table into the section "The choice of input" of
data/weights/TRAINING.md, which `make pretrained` keeps.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from medseg_edu import nets, seed_everything, weights
from medseg_edu import train as train_module
from medseg_edu.data import CONTEXT_STEP_MM, GRID, PIXEL_MM, from_grid, normalise, prostate_split, to_grid
from medseg_edu.data.synth import SynthSlices, phantom_v1_volumes, randomise_batch, synthetic_slices
from medseg_edu.masks import largest_component
from medseg_edu.methods import held_out
from medseg_edu.methods.deep import probability_volume
from medseg_edu.methods.interval import member_volumes
from medseg_edu.methods.quality import plausibility
from medseg_edu.metrics import dice
from medseg_edu.volumetry import volume_ml
from medseg_edu.train import dice_ce_loss, fit
from medseg_edu.weights import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
CHOICE = "## The choice of input: 2D, 2.5D or 3D"
BLOCK = 8  # slices per 3D block
DESIGNS = ("2d", "2.5d", "3d", "2d-context", "2d-plain", "2d-no-targets", "2d-varied", "2d-target-apex", "2d-canal-at-apex",
           "2d-vesicles", "2.5d-canal-at-apex", "2d-instance-norm", "2d-random-texture", "2d-vesicles-random-texture")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# --------------------------------------------------------------------------- the 3D candidate

def _block3(i, o):
    return nn.Sequential(nn.Conv3d(i, o, 3, padding=1, bias=False), nn.BatchNorm3d(o), nn.ReLU(inplace=True),
                         nn.Conv3d(o, o, 3, padding=1, bias=False), nn.BatchNorm3d(o), nn.ReLU(inplace=True))


class UNet3D(nn.Module):
    """Anisotropic 3D U-Net: 3 x 3 x 3 convolutions, pooling in-plane only (the slices are thick)."""

    def __init__(self, width=8, depth=3):
        super().__init__()
        ch = [width * 2 ** level for level in range(depth + 1)]
        self.down = nn.ModuleList([_block3(1 if level == 0 else ch[level - 1], ch[level]) for level in range(depth)])
        self.pool = nn.MaxPool3d((1, 2, 2))
        self.bottleneck = _block3(ch[depth - 1], ch[depth])
        self.up = nn.ModuleList([nn.ConvTranspose3d(ch[level + 1], ch[level], (1, 2, 2), stride=(1, 2, 2))
                                 for level in reversed(range(depth))])
        self.merge = nn.ModuleList([_block3(2 * ch[level], ch[level]) for level in reversed(range(depth))])
        self.head = nn.Conv3d(ch[0], 2, 1)

    def forward(self, x):
        skips = []
        for down in self.down:
            x = down(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for up, merge, skip in zip(self.up, self.merge, reversed(skips)):
            x = merge(torch.cat([skip, up(x)], 1))
        return self.head(x)


def _to_step(volume, slice_mm):
    """(z, H, W) slices -> slices CONTEXT_STEP_MM apart (linear interpolation)."""
    n = len(volume)
    position = np.arange(0, (n - 1) * slice_mm + 1e-6, CONTEXT_STEP_MM) / slice_mm
    below = np.minimum(np.floor(position).astype(int), n - 1)
    share = (position - below)[:, None, None]
    return ((1 - share) * volume[below] + share * volume[np.minimum(below + 1, n - 1)]).astype(np.float32)


def _from_step(volume, n, slice_mm):
    """Inverse of :func:`_to_step`: back onto ``n`` slices ``slice_mm`` apart."""
    position = np.arange(n) * slice_mm / CONTEXT_STEP_MM
    m = len(volume)
    below = np.minimum(np.floor(position).astype(int), m - 1)
    share = np.clip(position - below, 0, 1)[:, None, None]
    return ((1 - share) * volume[below] + share * volume[np.minimum(below + 1, m - 1)]).astype(np.float32)


class _Blocks(torch.utils.data.Dataset):
    """Blocks of BLOCK consecutive slices (CONTEXT_STEP_MM apart) reaching the gland, with their label maps.

    Every item is a fresh random block (``len`` is nominal): ``(image[BLOCK, H, W], labels[BLOCK, H, W])``.
    """

    def __init__(self, seed):
        data = synthetic_slices("train", progress=False)
        volumes = [(data["images"][data["volume"] == v].astype(np.float32), data["masks"][data["volume"] == v],
                    float(data["slice_mm"][data["volume"] == v][0])) for v in np.unique(data["volume"])]
        volumes += phantom_v1_volumes()
        self.volumes = []
        for image, mask, mm in volumes:
            image, mask = _to_step(image, mm), _to_step(mask.astype(np.float32), mm) >= 0.5
            if len(image) < BLOCK:
                pad = BLOCK - len(image)
                image = np.concatenate([image, np.repeat(image[-1:], pad, 0)])
                mask = np.concatenate([mask, np.repeat(mask[-1:], pad, 0)])
            self.volumes.append((image, mask))
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return 10 ** 6

    def __getitem__(self, i):
        image, mask = self.volumes[self.rng.integers(len(self.volumes))]
        present = np.flatnonzero(mask.any(axis=(1, 2)))
        lo = max(0, present[0] - BLOCK + 2) if len(present) else 0
        hi = min(len(image) - BLOCK, present[-1] - 1) if len(present) else len(image) - BLOCK
        start = int(self.rng.integers(lo, max(lo, hi) + 1))
        return (torch.from_numpy(image[start:start + BLOCK]),
                torch.from_numpy(mask[start:start + BLOCK].astype(np.int64)))


class _OnBlocks(nn.Module):
    """A 3D network fed ``(N, BLOCK, H, W)`` blocks the way ``fit`` hands over batches (slices as channels)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x[:, None])


@torch.no_grad()
def _probability_3d(model, image, spacing):
    """Gland probability of a scan from the 3D network, mirrored and plain averaged (as ``segment`` does)."""
    slices = to_grid(normalise(image), spacing)
    out = []
    for mirror in (False, True):
        grid = np.ascontiguousarray(slices[:, ::-1] if mirror else slices)
        block = torch.from_numpy(_to_step(grid, spacing[2]))[None]  # (1, slices, H, W): one block
        p = _from_step(torch.softmax(model(block), 1)[0, 1].numpy(), len(slices), spacing[2])
        out.append(p[:, ::-1] if mirror else p)
    return from_grid(np.ascontiguousarray((out[0] + out[1]) / 2), image.shape, spacing)


# --------------------------------------------------------------------------- context randomisation

def flatten_surroundings(images, targets, share=0.3):
    """After ``randomise_batch``: in ``share`` of the samples, replace everything outside a region by one grey.

    The region is the gland grown by 3-20 mm (a random disc of that size where a slice has no gland,
    so flat surroundings say nothing about what they hold); the grey is random, with a little noise.
    Meant to make the network judge the gland by its own look rather than by the anatomy round it
    (the version-3 U-Net's failure on a real scan, ``data/weights/v3/TRAINING.md``).
    """
    n, _, h, w = images.shape
    chosen = torch.rand(n) < share
    if not chosen.any():
        return images, targets
    keep = (targets[:, None] == 1).to(images.dtype)
    for i in torch.nonzero(~keep.flatten(1).any(1)).flatten():  # no gland: a disc somewhere
        yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        centre, radius = torch.randint(20, h - 20, (2,)), float(torch.randint(6, 20, ()))
        keep[i, 0] = (((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) < radius ** 2).to(images.dtype)
    grow = [int(torch.randint(3, 21, ()).item() / PIXEL_MM) for _ in range(n)]
    region = torch.stack([F.max_pool2d(keep[i:i + 1], 2 * g + 1, stride=1, padding=g)[0] for i, g in enumerate(grow)])
    grey = torch.rand(n, 1, 1, 1) * 1.2 - 0.1 + 0.03 * torch.randn_like(images)
    flat = chosen[:, None, None, None] & (region < 0.5)
    return torch.where(flat, grey, images), targets


def randomise_with_context(images, targets):
    return flatten_surroundings(*randomise_batch(images, targets))


# --------------------------------------------------------------------------- random texture (GIN)

def random_texture(images, targets, share=0.5, layers=4, width=2):
    """After ``randomise_batch``: in ``share`` of the samples, remap the image through a random shallow network.

    Global intensity non-linear augmentation (GIN, Ouyang et al., IEEE TMI 2022): a stack of ``layers``
    convolutions with freshly drawn Gaussian weights and shifts (1 x 1 or 3 x 3, ``width`` channels, leaky
    ReLUs between), applied to the centred image, gives each tissue a new brightness and a new local
    texture while every edge stays where it was; the result is mixed with the image by a random share
    and brought back to the image's own mean and spread. A network that must find the gland through such
    remappings cannot rely on the phantoms' particular grey levels - the shift a real scan brings.
    """
    n, channels, h, w = images.shape
    chosen = torch.rand(n) < share
    if not chosen.any():
        return images, targets
    x = images[chosen]
    m = len(x)
    mean, std = x.mean((1, 2, 3), keepdim=True), x.std((1, 2, 3), keepdim=True)

    def like_x(v):
        return (v - v.mean((1, 2, 3), keepdim=True)) / (v.std((1, 2, 3), keepdim=True) + 1e-6) * std + mean

    # centred, with random shifts: without them a network of convolutions and leaky ReLUs is linear on
    # the non-negative grey levels of one tissue, and would keep every tissue's brightness ratio
    out = (x - mean).reshape(1, m * channels, h, w)  # one group per sample: each gets its own random weights
    sizes = [channels] + [width] * (layers - 1) + [channels]
    for layer in range(layers):
        k = int(torch.randint(0, 2, ()).item()) * 2 + 1
        out = F.conv2d(out, torch.randn(m * sizes[layer + 1], sizes[layer], k, k, dtype=x.dtype), padding=k // 2,
                       groups=m)
        spread = out.reshape(m, -1).std(1).repeat_interleave(sizes[layer + 1])[None, :, None, None]
        out = out + spread * torch.randn(1, m * sizes[layer + 1], 1, 1, dtype=x.dtype)
        if layer < layers - 1:
            out = F.leaky_relu(out, 0.2)
    mix = torch.rand(m, 1, 1, 1, dtype=x.dtype)
    out = like_x(mix * like_x(out.reshape(m, channels, h, w)) + (1 - mix) * x)
    images = images.clone()
    images[chosen] = out
    return images, targets


def randomise_with_texture(images, targets):
    return random_texture(*randomise_batch(images, targets))


# --------------------------------------------------------------------------- a bank without the "targets"

@contextlib.contextmanager
def no_targets_below_the_apex():
    """Render the synth bank without the anal canal and the urethral sphincter (an ablation).

    Both are round rings drawn below the apex as "not gland"; on a real scan the lower gland is
    round and rimmed too. The painters still draw their random numbers (every other structure of a
    scene stays as it was); they paint nothing. The bank is cached under its own name.
    """
    from medseg_edu.data import pelvis, synth

    originals = pelvis._paint_anal_canal, pelvis._paint_sphincter, synth.SYNTH_VERSION

    def silent(painter):
        def paint_nothing(scene, *args):
            own = scene.paint
            scene.paint = lambda *a, **k: None
            try:
                return painter(scene, *args)
            finally:
                scene.paint = own
        return paint_nothing

    pelvis._paint_anal_canal, pelvis._paint_sphincter = silent(originals[0]), silent(originals[1])
    synth.SYNTH_VERSION = f"{originals[2]}-no-targets"
    try:
        yield
    finally:
        pelvis._paint_anal_canal, pelvis._paint_sphincter, synth.SYNTH_VERSION = originals


@contextlib.contextmanager
def bank_layout(layout):
    """Render the synth bank with the layout ``layout`` of ``pelvis.LAYOUTS`` (cached under its own name)."""
    from medseg_edu.data import synth

    originals = synth.SYNTH_LAYOUT, synth.SYNTH_VERSION
    synth.SYNTH_LAYOUT, synth.SYNTH_VERSION = layout, f"{originals[1]}-{layout}"
    try:
        yield
    finally:
        synth.SYNTH_LAYOUT, synth.SYNTH_VERSION = originals


def _bank_variant(design):
    if design == "2d-no-targets":
        return no_targets_below_the_apex()
    layout = {"2d-varied": "varied", "2d-target-apex": "target_apex", "2d-canal-at-apex": "canal_at_apex",
              "2d-vesicles": "canal_at_apex_vesicles", "2.5d-canal-at-apex": "canal_at_apex",
              "2d-instance-norm": "canal_at_apex", "2d-random-texture": "canal_at_apex",
              "2d-vesicles-random-texture": "canal_at_apex_vesicles"}.get(design)
    return bank_layout(layout) if layout else contextlib.nullcontext()


def with_instance_norm(model: nn.Module) -> nn.Module:
    """``model`` with every ``BatchNorm2d`` replaced, in place, by an ``InstanceNorm2d`` (learnt scale and shift).

    A BatchNorm layer normalises with the statistics of its training batches, kept as running means: a
    scan whose features are distributed otherwise (a real scan, for a network trained on phantoms) is
    normalised wrongly (``measure_labelled.py --adapt-batchnorm`` shows how much that moves the masks).
    An instance norm uses each slice's own statistics, in training and at test time alike.
    """
    for name, child in model.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(model, name, nn.InstanceNorm2d(child.num_features, affine=True))
        else:
            with_instance_norm(child)
    return model


# --------------------------------------------------------------------------- one run

def _real_scans():
    from medseg_edu.data import real_scans

    extra = os.environ.get("MEDSEG_EDU_EXTRA_REAL")  # e.g. ../shared/real_t2
    return real_scans(*([extra] if extra else []))


def _score(probability, cases) -> tuple[list, list]:
    """Score rows on the held-out cases and Dice on the phantom-v1 test split of ``probability(image, spacing)``."""
    def mask(image, spacing):
        return largest_component(probability(image, spacing) >= 0.5)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = [held_out.score(mask(c.image, c.spacing), c) for c in cases]
        v1 = [dice(mask(c.image, c.spacing), c.gland) for c in prostate_split("test")]
    return rows, v1


def run(design, seed, steps, out: Path, cases) -> dict:
    """Train one design with one seed, measure it; the result (also saved as JSON in ``out``)."""
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    seed_everything(seed)
    if design == "3d":
        net = UNet3D(width=8)
        model, train, val, batch = _OnBlocks(net), _Blocks(seed), None, 2
    else:
        context = 1 if design.startswith("2.5d") else 0
        model = nets.UNet(width=16, depth=3, in_channels=2 * context + 1)
        if design == "2d-instance-norm":
            with_instance_norm(model)
        plain = design == "2d-plain"  # the bundled v2 recipe: the synth bank only, every slice once
        with _bank_variant(design):
            train = SynthSlices("train", context=context, with_v1=not plain, end_repeats=0 if plain else 1,
                                progress=False)
            val, batch = SynthSlices("val", context=context, progress=False), 16
    checkpoint = out / f"{design}_seed{seed}_net.pt"  # its sidecar must not be the results JSON
    wall, cpu = time.perf_counter(), _cpu()
    layout = train_module.memory_format
    if design == "3d":  # channels-last is a 2D layout; the 3D network computes in the default one
        train_module.memory_format = lambda on: torch.contiguous_format
    try:
        augment = {"2d-context": randomise_with_context,
                   "2d-random-texture": randomise_with_texture,
                   "2d-vesicles-random-texture": randomise_with_texture}.get(design, randomise_batch)
        fit(model, train, val, max_steps=steps, batch_size=batch, lr=2e-3, augment=augment, seed=seed,
            checkpoint=checkpoint, progress=False, plot=False, val_every=max(50, steps // 10),
            lr_decay=None if design == "2d-plain" else "cosine")
    finally:
        train_module.memory_format = layout
    seconds, cpu_seconds = time.perf_counter() - wall, _cpu() - cpu
    load_checkpoint(model, checkpoint)
    model.eval()

    def probability(image, spacing):
        if design == "3d":
            return _probability_3d(model, image, spacing)
        return probability_volume(model, image, spacing, tta=True)

    rows, v1 = _score(probability, cases)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        real = []
        for name, vol in _real_scans():
            image = np.asarray(vol.array, np.float32)
            raw = probability(image, vol.spacing) >= 0.5
            real.append(dict(scan=name, **plausibility(largest_component(raw), vol.spacing, raw_mask=raw)))
    result = dict(design=design, seed=seed, steps=steps, seconds=seconds, cpu_seconds=cpu_seconds,
                  load=os.getloadavg()[0], rows=rows, v1_dice=v1, real=real)
    (out / f"{design}_seed{seed}.json").write_text(json.dumps(result, default=float, indent=1))
    return result


# --------------------------------------------------------------------------- weight versions 3-5, stored scores

#: How a kept run's batches were augmented, as its weights' sidecar records it (default "randomise_batch").
AUGMENTATION = {"2d-random-texture": "randomise_batch, then random_texture on half of each batch (tools/compare_inputs.py)"}

#: The runs that are kept as weight versions: design -> (version, folder, training data, why not the default).
CANDIDATES = {
    "2d": (3, weights.V3,
           "domain-randomised phantom-v2 slices of the synth bank v3 (96 scenes on 74 of the 92 real expert shapes, "
           "apex and base tapering into sphincter and bladder neck, partial volume) plus the phantom-v1 train "
           "split, end slices shown twice",
           "better than version 2 on held-out phantoms, but on real scans it leaves slices of the gland empty "
           "that version 2 finds (data/weights/TRAINING.md)"),
    "2d-canal-at-apex": (4, weights.V4,
                         "domain-randomised phantom-v2 slices of the synth bank v3 drawn with layout 'canal_at_apex' "
                         "(pelvis.LAYOUTS: the anal canal level with the lower gland, as in real pelvises) plus "
                         "the phantom-v1 train split, end slices shown twice",
                         "on real scans it marks the lower gland that version 3 leaves empty, but no labelled real "
                         "scan has measured it yet (data/weights/v4/TRAINING.md)"),
    "2d-random-texture": (5, weights.V5,
                          "version 4's data (the synth bank v3 drawn with layout 'canal_at_apex' plus the phantom-v1 "
                          "train split, end slices shown twice); after randomise_batch, half the slices of each batch "
                          "get random new tissue grey levels and textures from a freshly drawn shallow random network "
                          "(random_texture: GIN, Ouyang et al. 2022)",
                          "lower than version 4 on held-out phantoms on every seed; fuller masks on some real scans, "
                          "which only a labelled real scan can judge (data/weights/v5/TRAINING.md)"),
}


def bundle(run_name: str, out: Path, *, member: bool = False) -> Path:
    """A finished run's U-Net (``<out>/<run_name>_net.pt``) as the weight version of its design
    (:data:`CANDIDATES`), its sidecar the run's record.

    With ``member``, it becomes one more member of that version (``unet_seed<seed>.pt`` beside its
    ``unet.pt``, read by ``weights.load_members``): another seed of the same recipe, kept to show
    how far networks trained alike disagree on a scan.
    """
    result = json.loads((out / f"{run_name}.json").read_text())
    if result["design"] not in CANDIDATES:
        raise SystemExit(f"{run_name}: a {result['design']} run is not kept as a weight version "
                         f"(only {', '.join(CANDIDATES)})")
    version, folder, data, not_default = CANDIDATES[result["design"]]
    model = nets.UNet(width=16, depth=3)
    load_checkpoint(model, out / f"{run_name}_net.pt")
    with _bank_variant(result["design"]):
        val = SynthSlices("val", progress=False)
    record = dict(
        name="unet", version=version, recipe=dict(depth=3, width=16), steps=result["steps"], batch_size=16,
        lr=2e-3, lr_decay="cosine", augmentation=AUGMENTATION.get(result["design"], "randomise_batch"),
        with_v1=True, end_repeats=1, seed=result["seed"], data=data,
        seconds=round(result["seconds"], 1), cpu_seconds=round(result["cpu_seconds"], 1),
        val_dice=round(float(train_module.evaluate_dice(model, val)), 4), parameters=nets.count_parameters(model),
        made_by=f"python tools/compare_inputs.py --steps {result['steps']} --seeds {result['seed']} "
                f"--designs {result['design']}",
        not_default_because=not_default, date=time.strftime("%Y-%m-%d"))
    path = weights.weights_dir() / folder / (f"unet_seed{result['seed']}.pt" if member else "unet.pt")
    if member and weights.metadata("unet", version=version).get("seed") == result["seed"]:
        raise SystemExit(f"{run_name}: seed {result['seed']} is version {version}'s unet.pt already")
    weights.save_checkpoint(model, path, **record)
    return path


def score_versions(cases, names=("unet", "fcn", "dilated")) -> None:
    """Every weight version of each network on the held-out cases and the phantom-v1 test split.

    Stored as ``benchmarks/held_out_<name>.json`` (read by ``methods.held_out.stored_scores``, notebook 10).
    """
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    for name in names:
        stored = {}
        for version in sorted(weights.VERSIONS):
            try:
                model = weights.load(name, version=version, device="cpu")
            except FileNotFoundError:
                continue  # versions 3 and 4 are U-Nets only
            rows, v1 = _score(lambda image, spacing: probability_volume(model, image, spacing, tta=True), cases)
            stored[str(version)] = dict(rows=rows, v1_test_dice=v1, measured=time.strftime("%Y-%m-%d"))
            print(f"{name} version {version}:", {k: round(v, 3) for k, v in held_out.summarise(rows).items()},
                  flush=True)
        (ROOT / "benchmarks" / f"held_out_{name}.json").write_text(json.dumps(stored, default=float, indent=1) + "\n")


def score_members(cases, version=4) -> Path:
    """Each member of weight version ``version`` (``weights.load_members``) on the held-out cases.

    Stored as ``benchmarks/held_out_members.json``: per case the true volume, each member's volume and
    the volume of their mean probability (mL), and the members' spread (%), read by notebook 12 and
    the limit of ``quality``'s ``member_agreement`` check.
    """
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    models = weights.load_members("unet", version=version, device="cpu")
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for case in cases:
            got = member_volumes(case.image, case.spacing, models)
            rows.append(dict(case=case.name, true_ml=volume_ml(case.gland, case.spacing),
                             members_ml=got.volumes_ml.tolist(), ensemble_ml=got.ensemble_ml,
                             spread_percent=got.spread_percent))
    spreads = [r["spread_percent"] for r in rows]
    print(f"version {version}: {len(models)} members, spread on {len(rows)} held-out cases "
          f"{min(spreads):.1f}-{max(spreads):.1f} % (median {np.median(spreads):.1f} %)")
    seeds = [meta["seed"] for meta in weights.member_metadata("unet", version=version)]
    path = ROOT / "benchmarks" / "held_out_members.json"
    path.write_text(json.dumps(dict(version=version, seeds=seeds, rows=rows, measured=time.strftime("%Y-%m-%d")),
                               default=float, indent=1) + "\n")
    return path


# --------------------------------------------------------------------------- the report

def report(results) -> str:
    """The section of TRAINING.md: one row per design (mean over seeds, the seeds' range in brackets)."""
    def stat(values, digits=3):
        values = np.asarray(values, float)
        return f"{values.mean():.{digits}f}" + (f" ({values.min():.{digits}f}-{values.max():.{digits}f})"
                                               if len(values) > 1 else "")

    runs = sorted({(r["steps"], r["design"]) for r in results}, key=lambda k: (k[0], DESIGNS.index(k[1])))
    steps = sorted({r["steps"] for r in results})
    n_cases = len(results[0]["rows"])
    n_real = len(results[0]["real"])
    lines = [f"\nRuns of {' and '.join(map(str, steps))} steps (`tools/compare_inputs.py`: the recipe family of "
             "the bundled U-Net - synth bank plus phantom-v1 train split, end slices twice, `randomise_batch`, "
             "Adam 2e-3 with a cosine decay), one per design and seed, measured on one phantom per held-out real "
             f"shape in each of the two unseen T2 styles ({n_cases} cases: Dice, volume error, apex / base "
             "recall, slices found - see the evaluation below), on the phantom-v1 test split, and for "
             f"plausibility on {n_real} real scans. *2d*: `nets.UNet(width=16)` on single grid slices; *2.5d*: "
             f"the same with the slices {CONTEXT_STEP_MM:g} mm below and above as input channels; *3d*: an "
             "anisotropic 3D U-Net (3 x 3 x 3 convolutions, in-plane pooling, width 8) on blocks of "
             f"{BLOCK} slices resampled to {CONTEXT_STEP_MM:g} mm, batches of 2 blocks. Mean over the seeds, "
             "their range in brackets. CPU seconds per step were measured with other work on the machine.\n",
             "| design | steps | seeds | mean Dice | median abs. volume error | max abs. volume error | apex recall "
             "| base recall | slices found | phantom-v1 test Dice | plausible real masks | CPU s per step |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for n_steps, design in runs:
        own = [r for r in results if r["design"] == design and r["steps"] == n_steps]
        per_seed = lambda key: [np.mean([row[key] for row in r["rows"]]) for r in own]  # noqa: E731
        lines.append(
            f"| {design} | {n_steps} | {', '.join(str(r['seed']) for r in own)} | {stat(per_seed('dice'))} "
            f"| {stat([np.median(np.abs([row['volume_error_percent'] for row in r['rows']])) for r in own], 1)} % "
            f"| {stat([np.max(np.abs([row['volume_error_percent'] for row in r['rows']])) for r in own], 1)} % "
            f"| {stat(per_seed('apex_recall'))} | {stat(per_seed('base_recall'))} | {stat(per_seed('slices_found'))} "
            f"| {stat([np.mean(r['v1_dice']) for r in own])} "
            f"| {' / '.join(str(sum(p['plausible'] for p in r['real'])) for r in own)} of {n_real} "
            f"| {stat([r['cpu_seconds'] / r['steps'] for r in own], 2)} |")
    return "\n".join(lines) + "\n"


def write_section(text: str, training_md: Path) -> None:
    """Put ``text`` under the heading CHOICE of ``training_md``, replacing what was there."""
    old = training_md.read_text() if training_md.exists() else "# Bundled weights\n"
    if CHOICE in old:
        head, rest = old.split(CHOICE, 1)
        tail = rest.split("\n## ", 1)[1] if "\n## " in rest else ""
        old = head.rstrip("\n") + "\n" + (f"\n## {tail}" if tail else "")
    training_md.write_text(old.rstrip("\n") + f"\n\n{CHOICE}\n{text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--designs", nargs="+", default=["2d", "2.5d", "3d"], choices=DESIGNS)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "compare_inputs")
    parser.add_argument("--report-only", action="store_true", help="only rewrite the section from --out")
    parser.add_argument("--training-md", type=Path, default=weights.weights_dir() / "TRAINING.md")
    parser.add_argument("--bundle", metavar="RUN", help="make RUN's U-Net (e.g. 2d_seed0 in --out) the weight version of "
                        "its design (CANDIDATES: 2d -> 3, 2d-canal-at-apex -> 4, 2d-random-texture -> 5)")
    parser.add_argument("--member", action="store_true",
                        help="with --bundle: keep the run as one more seed of its version (unet_seed<seed>.pt)")
    parser.add_argument("--score-versions", nargs="*", metavar="NAME", choices=["unet", "fcn", "dilated"],
                        help="score every weight version of these networks (default: all three) on the held-out "
                             "cases: benchmarks/held_out_<name>.json")
    parser.add_argument("--score-members", action="store_true",
                        help="the U-Net members of weight version 4 on the held-out cases: "
                             "benchmarks/held_out_members.json")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.score_members:
        print("wrote", score_members(held_out.every_held_out_case()))
        return
    if args.bundle or args.score_versions is not None:
        if args.bundle:
            print("wrote", bundle(args.bundle, args.out, member=args.member))
        if args.score_versions is not None:
            score_versions(held_out.every_held_out_case(), args.score_versions or ("unet", "fcn", "dilated"))
        return
    if not args.report_only:
        cases = held_out.every_held_out_case()
        for design in args.designs:
            for seed in args.seeds:
                result = run(design, seed, args.steps, args.out, cases)
                print(design, seed, f"Dice {np.mean([r['dice'] for r in result['rows']]):.3f}", flush=True)
    results = [json.loads(p.read_text()) for p in sorted(args.out.glob("*_seed*.json"))
               if not p.stem.endswith("_net")]  # a checkpoint's sidecar is not a result
    text = report(results)
    print(text)
    write_section(text, args.training_md)


if __name__ == "__main__":
    main()
