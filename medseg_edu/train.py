"""Training loop and loss for :mod:`medseg_edu.nets`, and the training of the bundled networks.

One function, :func:`fit`, trains any of the course networks under a time,
step or epoch budget, shows a progress bar and a live loss / validation-Dice
curve in a notebook, and returns a :class:`History`. Everything is seeded, so
the same call gives the same numbers on the same machine. :func:`train_bundled`
re-creates a bundled network from its :data:`medseg_edu.weights.RECIPES` entry
(what ``make pretrained`` runs).

Layer 3 of the package: it imports ``_device``, ``metrics`` (validation Dice),
``data`` (the recipes' training sets) and :mod:`medseg_edu.weights`, the owner of
the checkpoint format (``fit(..., checkpoint=path)`` saves with
:func:`medseg_edu.weights.save_checkpoint`; ``weights`` never imports this module).
Inference on numpy batches is :func:`medseg_edu.methods.deep.predict_proba`.
"""

from __future__ import annotations

import copy
import datetime
import math
import os
import platform
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._device import memory_format, resolve, seed_everything
from . import metrics, nets, weights
from .data import PatchDataset, SliceDataset

__all__ = [
    "History",
    "dice_ce_loss",
    "fit",
    "evaluate_dice",
    "flip_augment",
    "train_bundled",
]


# --------------------------------------------------------------------------- loss

def _one_hot(target: torch.Tensor, n_classes: int) -> torch.Tensor:
    """``(N, ...)`` class indices -> ``(N, n_classes, ...)`` float one-hot."""
    return F.one_hot(target, n_classes).movedim(-1, 1).to(torch.float32)


def dice_ce_loss(logits: torch.Tensor, target: torch.Tensor, dice_weight: float = 1.0,
                 eps: float = 1.0) -> torch.Tensor:
    """Cross-entropy + ``dice_weight * (1 - soft Dice)`` of the foreground classes.

    Cross-entropy grades every pixel on its own; the soft Dice term grades
    the overlap of the whole structure, which keeps a small organ from being
    drowned by the background. The soft Dice uses softmax probabilities (so
    it has a gradient), pooled over the batch, averaged over classes 1..C-1.

    Works for segmentation (``logits (N, C, H, W)``, ``target (N, H, W)``)
    and for patch classification (``logits (N, C)``, ``target (N,)``).
    """
    target = target.long()
    ce = F.cross_entropy(logits, target)
    if dice_weight == 0:
        return ce
    n_classes = logits.shape[1]
    probs = torch.softmax(logits, dim=1)[:, 1:]
    truth = _one_hot(target, n_classes)[:, 1:]
    dims = [0] + list(range(2, logits.ndim))  # everything but the class axis
    intersection = (probs * truth).sum(dims)
    total = probs.sum(dims) + truth.sum(dims)
    soft_dice = (2 * intersection + eps) / (total + eps)
    return ce + dice_weight * (1 - soft_dice.mean())


# --------------------------------------------------------------------------- history

@dataclass
class History:
    """What :func:`fit` did: the training curve and the validation scores.

    ``steps``/``losses``: loss of every optimisation step; ``val_steps``/
    ``val_dice``: mean foreground Dice on the validation data at those steps;
    ``seconds``: wall time of the whole run; ``best_val_dice``: the best
    validation Dice (``nan`` without validation data); ``device``: where it
    ran; ``stopped_by``: which budget ended the run.
    """

    steps: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    val_steps: list = field(default_factory=list)
    val_dice: list = field(default_factory=list)
    seconds: float = 0.0
    best_val_dice: float = float("nan")
    device: str = "cpu"
    epochs: float = 0.0
    stopped_by: str = ""

    @property
    def final_val_dice(self) -> float:
        return self.val_dice[-1] if self.val_dice else float("nan")

    def plot(self, ax=None):
        """Loss per step (left axis) and validation Dice (right axis); returns ``ax``."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8.5, 3.8))
        ax.clear()
        if self.losses:
            ax.plot(self.steps, self.losses, color="tab:blue", lw=0.8, alpha=0.35)
            window = max(1, len(self.losses) // 20)
            if window > 1:
                kernel = np.ones(window) / window
                smooth = np.convolve(self.losses, kernel, mode="valid")
                ax.plot(self.steps[window - 1:], smooth, color="tab:blue", lw=1.5,
                        label="training loss")
            else:
                ax.lines[-1].set_label("training loss")
        ax.set_xlabel("step")
        ax.set_ylabel("loss", color="tab:blue")
        ax.set_ylim(bottom=0)
        # a twin axis for the Dice, reused when the figure is redrawn
        twin = getattr(ax, "_medseg_twin", None)
        if twin is None:
            twin = ax.twinx()
            ax._medseg_twin = twin
        twin.clear()  # clearing resets the twin's axis to the left side: put it back
        twin.yaxis.tick_right()
        twin.yaxis.set_label_position("right")
        if self.val_dice:
            twin.plot(self.val_steps, self.val_dice, "o-", color="tab:orange", ms=3,
                      label="validation Dice")
        twin.set_ylim(0, 1)
        twin.set_ylabel("validation Dice", color="tab:orange")
        best = "" if math.isnan(self.best_val_dice) else f", best val Dice {self.best_val_dice:.3f}"
        ax.set_title(f"{len(self.steps)} steps in {self.seconds:.0f} s on {self.device}{best}",
                     fontsize=10)
        return ax


# --------------------------------------------------------------------------- evaluation

@torch.no_grad()
def evaluate_dice(model: nn.Module, data, batch_size: int = 32, device=None) -> float:
    """Mean foreground Dice of ``model``'s hard predictions (argmax) on a dataset.

    Each class's Dice (:func:`medseg_edu.metrics.dice`) is taken over the whole
    dataset at once (so empty slices do not count as failures), then averaged over
    the classes 1..C-1 that occur in the prediction or the truth.
    """
    if len(data) == 0:
        return float("nan")
    was_training = model.training
    images, targets = next(iter(torch.utils.data.DataLoader(data, batch_size=len(data), shuffle=False)))
    probabilities = nets.class_probabilities(model, images.numpy(), batch_size=batch_size, device=device)
    model.train(was_training)
    n_classes = probabilities.shape[1]
    pred, truth = probabilities.argmax(1), targets.long().numpy()
    scores = [metrics.dice(pred == c, truth == c) for c in range(1, n_classes)
              if (pred == c).any() or (truth == c).any()]
    return float(np.mean(scores)) if scores else 1.0


# --------------------------------------------------------------------------- live plot

def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()  # a kernel (Jupyter, Colab, VS Code) has one; terminal IPython not
    return shell is not None and getattr(shell, "kernel", None) is not None


class _LivePlot:
    """A figure redrawn in place in a notebook (no-op elsewhere)."""

    def __init__(self, enabled: bool, every: float):
        self.enabled = enabled and _in_notebook()
        self.every, self.last, self.handle = every, -math.inf, None
        if self.enabled:
            import matplotlib.pyplot as plt
            from IPython.display import display

            self.fig, self.ax = plt.subplots(figsize=(8.5, 3.8))
            plt.close(self.fig)  # shown only through the display handle below
            self.handle = display(self.fig, display_id=True)

    def update(self, history: History, force: bool = False) -> None:
        now = time.perf_counter()
        if self.enabled and (force or now - self.last >= self.every):
            history.plot(self.ax)
            self.fig.tight_layout()
            self.handle.update(self.fig)
            self.last = now

    def close(self) -> None:
        if self.enabled:
            from IPython.display import HTML

            self.handle.update(HTML(""))  # the final static figure replaces it


def _show_final(history: History) -> None:
    """Draw the final curve as a plain figure (kept in executed notebooks)."""
    import matplotlib
    import matplotlib.pyplot as plt

    ax = history.plot()
    ax.figure.tight_layout()
    if _in_notebook():
        from IPython.display import display

        display(ax.figure)
        plt.close(ax.figure)
    elif "agg" not in matplotlib.get_backend().lower():
        plt.show()
    else:
        plt.close(ax.figure)


# --------------------------------------------------------------------------- fit: the steps
#
# fit() at the bottom of this section is the training loop; each function here is one
# step of it, in the order the loop uses them.

def _check_arguments(train_data, epochs, max_seconds, max_steps, lr_decay) -> None:
    """Refuse a missing or non-positive budget, empty training data, an unknown ``lr_decay``."""
    if epochs is None and max_seconds is None and max_steps is None:
        raise ValueError("fit() needs a budget: give epochs=, max_seconds= and/or max_steps= "
                         "(training stops at whichever comes first).")
    for name, value in (("epochs", epochs), ("max_seconds", max_seconds),
                        ("max_steps", max_steps)):
        if value is not None and not value > 0:
            raise ValueError(f"{name} must be positive; got {value!r}.")
    if len(train_data) == 0:
        raise ValueError("train_data is empty.")
    if lr_decay not in (None, "cosine"):
        raise ValueError(f"lr_decay must be None or 'cosine'; got {lr_decay!r}.")


def _make_loader(train_data, batch_size: int, seed: int) -> torch.utils.data.DataLoader:
    """Shuffled mini-batches, in an order fixed by ``seed`` (its own generator)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(
        train_data, batch_size=batch_size, shuffle=True, num_workers=0, generator=generator,
        drop_last=len(train_data) > batch_size)  # no tiny last batch for BatchNorm


def _step_budget(steps_per_epoch: int, epochs, max_steps):
    """The number of steps the run may take, or ``None`` with only a time budget."""
    epoch_steps = None if epochs is None else math.ceil(epochs * steps_per_epoch)
    limits = [s for s in (max_steps, epoch_steps) if s is not None]
    return min(limits) if limits else None


def _validation_interval(val_every, steps_per_epoch: int) -> int:
    """``val_every``, by default once per epoch or every 50 steps, whichever is sooner."""
    if val_every is None:
        val_every = min(steps_per_epoch, 50)
    return max(1, int(val_every))


def _make_optimiser(model: nn.Module, lr: float, lr_decay, total_steps):
    """Adam at ``lr`` and, for ``lr_decay="cosine"``, its schedule (else ``None``)."""
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = None
    if lr_decay == "cosine":
        if total_steps is None:
            raise ValueError("lr_decay='cosine' needs a step budget: give max_steps= or epochs=.")
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=total_steps)
    return optimiser, schedule


def _train_step(model, images, targets, optimiser, schedule, loss, augment, device,
                layout, step: int) -> float:
    """Optimisation step number ``step`` on one mini-batch; returns its loss.

    Raises FloatingPointError, before the weights change, when the loss is NaN or infinite:
    one such step turns every weight into NaN, and training would go on for its whole budget
    with a curve of ``nan`` and a network that marks nothing.
    """
    images = images.to(device, torch.float32)
    targets = targets.to(device).long()
    if augment is not None:
        images, targets = augment(images, targets)
    images = images.contiguous(memory_format=layout)
    optimiser.zero_grad(set_to_none=True)
    batch_loss = loss(model(images), targets)
    batch_loss.backward()
    value = float(batch_loss.detach())   # waits for the device once per step, after the backward pass is queued
    if not math.isfinite(value):
        raise FloatingPointError(
            f"the training loss is {value} at step {step}; training stopped, the model keeps the weights it had "
            f"before this step. Usual causes: a learning rate too high for this network (lr="
            f"{optimiser.param_groups[0]['lr']:g}), or a loss that takes the log of 0 or divides by 0 "
            "(add a small epsilon, or use torch.nn.functional.cross_entropy on the logits)")
    optimiser.step()
    if schedule is not None:
        schedule.step()
    return value


class _Validator:
    """Scores the model on the validation data every ``every`` steps and after the last.

    Each score goes into the :class:`History`; with ``keep_best`` a copy of the weights
    with the best score so far is kept in ``best_state`` (for the checkpoint).
    """

    def __init__(self, model, data, every: int, batch_size: int, device, history: History,
                 bar, keep_best: bool):
        self.model, self.data, self.every, self.batch_size = model, data, every, batch_size
        self.device, self.history, self.bar, self.keep_best = device, history, bar, keep_best
        self.best_state = None

    def due(self, step: int) -> bool:
        return self.data is not None and step % self.every == 0

    def __call__(self, step: int) -> None:
        history = self.history
        score = evaluate_dice(self.model, self.data, batch_size=self.batch_size,
                              device=self.device)
        history.val_steps.append(step)
        history.val_dice.append(score)
        if math.isnan(history.best_val_dice) or score > history.best_val_dice:
            history.best_val_dice = score
            if self.keep_best:
                self.best_state = copy.deepcopy(self.model.state_dict())
        self.bar.set_postfix(loss=f"{history.losses[-1]:.3f}", val_dice=f"{score:.3f}")

    def final(self, step: int) -> None:
        """Score the final weights, unless the last validation was at this very step."""
        if self.data is not None and (not self.history.val_steps
                                      or self.history.val_steps[-1] != step):
            self(step)


def _stop_reason(step: int, seconds: float, steps_per_epoch: int, max_steps, max_seconds,
                 epochs):
    """The name of the budget that has run out (``"max_steps"`` ...), or ``None``."""
    if max_steps is not None and step >= max_steps:
        return "max_steps"
    if max_seconds is not None and seconds >= max_seconds:
        return "max_seconds"
    if epochs is not None and step >= epochs * steps_per_epoch:
        return "epochs"
    return None


def _save(model: nn.Module, path, best_state, history: History, metadata, *, steps, lr,
          batch_size, seed, augment, loss) -> None:
    """Save the best weights (the last ones without validation) with their sidecar.

    The sidecar records the best validation Dice and the settings of the run, then
    ``metadata``; the model itself keeps its last weights.
    """
    final_state = copy.deepcopy(model.state_dict())  # state_dict() is a view
    if best_state is not None:
        model.load_state_dict(best_state)
    meta = dict(val_dice=history.best_val_dice,
                settings=dict(steps=steps, seconds=round(history.seconds, 1), lr=lr,
                              batch_size=batch_size, seed=seed, device=history.device,
                              augment=getattr(augment, "__name__", None),
                              loss=getattr(loss, "__name__", str(loss)),
                              saved="best validation Dice" if best_state is not None
                              else "last"))
    if metadata is not None:
        meta.update(metadata(history) if callable(metadata) else metadata)
    weights.save_checkpoint(model, path, **meta)
    if best_state is not None:
        model.load_state_dict(final_state)


def _show_curve(live: _LivePlot, history: History, plot: bool) -> None:
    """Redraw the live curve one last time, then draw the final one as a plain figure."""
    live.update(history, force=True)
    live.close()
    if plot:
        _show_final(history)


# --------------------------------------------------------------------------- fit

def fit(model: nn.Module, train_data, val_data=None, *, epochs=None, max_seconds=None,
        max_steps=None, batch_size: int = 16, lr: float = 2e-3, loss=dice_ce_loss,
        augment=None, device=None, seed: int = 0, checkpoint=None, metadata=None,
        progress: bool = True, plot: bool = True, plot_every: float = 5.0,
        val_every: int | None = None, lr_decay: str | None = None) -> History:
    """Train ``model`` with Adam until the first budget runs out; return a :class:`History`.

    Parameters
    ----------
    model : the network (trained in place, left with its *last* weights).
    train_data, val_data : torch ``Dataset`` s of ``(image[C, H, W] float32, target)``,
        where ``target`` is a long ``[H, W]`` label map (segmentation) or a scalar
        class (patch classification).
    epochs, max_seconds, max_steps : budget; training stops at whichever comes first.
        At least one must be given.
    batch_size, lr : mini-batch size and Adam learning rate.
    loss : ``loss(logits, targets) -> scalar tensor`` (default :func:`dice_ce_loss`).
    augment : optional ``augment(images, targets) -> (images, targets)`` applied to each
        training batch on the device (e.g. :func:`flip_augment`).
    device : default ``medseg_edu.device()`` (CUDA, then Apple MPS, then CPU).
    seed : seeds Python/NumPy/torch and the shuffling, so runs repeat exactly.
        (The model's initial weights come from when it was built: call
        ``seed_everything`` before building it too.)
    checkpoint : path; the weights with the best validation Dice (or the last ones,
        without validation data) are saved there with :func:`medseg_edu.weights.save_checkpoint`
        (reload them with :func:`medseg_edu.weights.load_checkpoint`), their JSON
        sidecar (written once, at the end) recording ``val_dice`` and the ``settings`` of the run.
    metadata : dict, or a function ``metadata(history) -> dict``, optional
        More entries for that sidecar (they win over the ones above). A function is called
        once training has ended, for what is only known then (the time taken, the score).
    progress : show a tqdm progress bar.
    plot, plot_every : in a notebook, a live curve redrawn every ``plot_every`` seconds;
        the final curve is drawn once more as a plain figure at the end.
    val_every : validate every this many steps (default: once per epoch, or every 50
        steps when an epoch is longer) and always after the last step.
    lr_decay : ``"cosine"`` lowers the learning rate from ``lr`` to 0 along a half cosine over
        the step budget (needs ``max_steps`` or ``epochs``). The last steps then only polish,
        so a short run ends in a settled state instead of wherever its last jump left it.

    Raises
    ------
    ValueError
        For a missing or non-positive budget, empty training data, an unknown ``lr_decay``.
    FloatingPointError
        When a training loss is NaN or infinite (the message names the step and the learning
        rate); the model keeps the weights it had before that step.
    """
    _check_arguments(train_data, epochs, max_seconds, max_steps, lr_decay)
    from tqdm.auto import tqdm

    # set up: device, seeds, data, optimiser, history, progress bar, validation
    start = time.perf_counter()
    dev = resolve(device)
    seed_everything(seed)
    loader = _make_loader(train_data, batch_size, seed)
    steps_per_epoch = len(loader)
    total_steps = _step_budget(steps_per_epoch, epochs, max_steps)  # None: only max_seconds
    val_every = _validation_interval(val_every, steps_per_epoch)
    layout = memory_format(dev)
    model.to(dev, memory_format=layout)  # back to the default layout at the end
    model.train()
    optimiser, schedule = _make_optimiser(model, lr, lr_decay, total_steps)
    history = History(device=str(dev))
    live = _LivePlot(plot, plot_every)
    bar = tqdm(total=total_steps, disable=not progress, desc=f"training on {dev}",
               unit="step", leave=True)
    validate = _Validator(model, val_data, val_every, 2 * batch_size, dev, history, bar,
                          keep_best=checkpoint is not None)

    # the loop: step, maybe validate, stop once a budget has run out
    step, stopped_by = 0, None
    try:
        while stopped_by is None:  # one pass over the shuffled data per loop
            for images, targets in loader:
                batch_loss = _train_step(model, images, targets, optimiser, schedule, loss,
                                         augment, dev, layout, step + 1)
                step += 1
                history.steps.append(step)
                history.losses.append(batch_loss)
                bar.update(1)
                if validate.due(step):
                    validate(step)
                elif step % 10 == 0:
                    bar.set_postfix(loss=f"{batch_loss:.3f}")
                history.seconds = time.perf_counter() - start
                live.update(history)
                stopped_by = _stop_reason(step, history.seconds, steps_per_epoch,
                                          max_steps, max_seconds, epochs)
                if stopped_by is not None:
                    break
        validate.final(step)  # always score the final weights
    finally:
        bar.close()
        model.eval()
        model.to(memory_format=torch.contiguous_format)

    # finish: the summary, the checkpoint, the final curve
    history.epochs = step / steps_per_epoch
    history.stopped_by = stopped_by
    history.seconds = time.perf_counter() - start
    if checkpoint is not None:
        _save(model, checkpoint, validate.best_state, history, metadata, steps=step, lr=lr,
              batch_size=batch_size, seed=seed, augment=augment, loss=loss)
    _show_curve(live, history, plot)
    return history


# --------------------------------------------------------------------------- augmentation

def flip_augment(images: torch.Tensor, targets: torch.Tensor):
    """Random left-right flips and a small intensity scaling, per sample.

    Half the samples are mirrored along the patient's left-right axis (array
    axis 0 of an axial slice, i.e. dim 2 of ``(N, C, X, Y)``); each image is
    multiplied by a factor in [0.9, 1.1]. Uses the torch global RNG, so
    ``seed_everything`` (done by :func:`fit`) makes it repeatable. Label maps
    are flipped with their images; scalar targets (patch centres) are unchanged.
    """
    n = images.shape[0]
    flip = torch.rand(n, device=images.device) < 0.5
    scale = 0.9 + 0.2 * torch.rand(n, 1, 1, 1, device=images.device, dtype=images.dtype)
    images = torch.where(flip[:, None, None, None], images.flip(2), images) * scale
    if targets.ndim == 3:
        targets = torch.where(flip[:, None, None], targets.flip(1), targets)
    return images, targets


# --------------------------------------------------------------------------- the bundled networks

def _datasets(recipe: weights.Recipe):
    """``(train, val, augment)`` for a recipe's data kind."""
    from .data.synth import SynthSlices, randomise_batch, synthetic_slices

    if recipe.data == "synth":
        return SynthSlices("train"), SynthSlices("val"), randomise_batch
    if recipe.data == "synth_patches":
        size = recipe.kwargs["patch_size"]
        return (PatchDataset(patch_size=size, n_patches=60000, seed=0, slices=synthetic_slices("train")),
                PatchDataset(patch_size=size, n_patches=6000, seed=1, slices=synthetic_slices("val")),
                randomise_batch)
    if recipe.data == "slices":
        return SliceDataset("train"), SliceDataset("val"), flip_augment
    if recipe.data == "patches":
        size = recipe.kwargs["patch_size"]
        return (PatchDataset("train", patch_size=size, n_patches=60000, seed=0),
                PatchDataset("val", patch_size=size, n_patches=6000, seed=1), None)
    raise ValueError(f"unknown recipe data {recipe.data!r}; use 'slices' or 'patches'")


_DATA_NOTES = {
    "synth": "domain-randomised phantom-v2 slices (data.synth 'train' bank; validation: held-out expert "
             "shapes in an unseen T2 style)",
    "synth_patches": "patches of the domain-randomised phantom-v2 slices (validation: held-out shapes)",
    "slices": "slices of the phantom train split (validation: val split)",
    "patches": "patches of the phantom train split (validation: val split)",
}


def _machine() -> str:
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")


def train_bundled(name: str, *, steps: int | None = None, steps_scale: float = 1.0, out=None,
                  progress: bool = True) -> dict:
    """Train the bundled network ``name`` from its recipe; write ``<name>.pt`` and ``<name>.json``.

    The recipe is :data:`medseg_edu.weights.RECIPES` ``[name]``. Seeded (``seed_everything(0)``
    before the network is built, ``fit(seed=0)``), validated every ``max(50, steps // 10)`` steps;
    the weights with the best validation Dice are saved, and the sidecar is written once, with
    the run's record (the keys listed in the :mod:`medseg_edu.weights` docstring).

    Parameters
    ----------
    name : str
        One of :data:`medseg_edu.weights.NAMES`.
    steps : int, optional
        Step budget instead of the recipe's (a quick test).
    steps_scale : float
        Otherwise, the recipe's budget times this (at least 10 steps).
    out : path, optional
        Folder for the two files; default :func:`medseg_edu.weights.weights_dir`.
    progress : bool
        Show a progress bar (off where several networks train at once).

    Returns
    -------
    dict
        The sidecar as written.
    """
    path, _ = weights.files(name, out)  # refuses an unknown name
    recipe = weights.RECIPES[name]
    steps = steps or max(10, int(recipe.steps * steps_scale))
    seed_everything(0)
    model = recipe.architecture(**recipe.kwargs)
    train_data, val_data, augment = _datasets(recipe)

    def record(history) -> dict:  # what the sidecar says beyond fit's own entries
        return dict(name=name, recipe=recipe.kwargs, steps=steps, batch_size=recipe.batch_size, lr=recipe.lr,
                    augmentation=getattr(augment, "__name__", "none"),
                    data=_DATA_NOTES[recipe.data],
                    seconds=round(history.seconds, 1), val_dice=round(float(history.best_val_dice), 4),
                    parameters=nets.count_parameters(model), torch=torch.__version__, machine=_machine(),
                    date=datetime.date.today().isoformat())

    fit(model, train_data, val_data, max_steps=steps, batch_size=recipe.batch_size, lr=recipe.lr,
        augment=augment, seed=0, checkpoint=path, metadata=record, progress=progress, plot=False,
        val_every=max(50, steps // 10))
    return weights.metadata(name, path.parent)
