"""The bundled networks: how each was trained, where its files live, how it loads (layer 3).

The one owner of the pretrained weights in ``data/weights/``::

    net = medseg_edu.weights.load("unet")           # a fresh nn.Module, eval mode, on the CPU
    medseg_edu.weights.metadata("unet")["val_dice"]  # what the sidecar recorded

Each network ``name`` of :data:`NAMES` is two files in :func:`weights_dir`:
``<name>.pt``, the weights (a ``state_dict``, read with ``torch.load(...,
weights_only=True)``), and ``<name>.json`` beside it, the *sidecar*: the
architecture and its constructor arguments (``architecture``, ``kwargs``), the
training run (``settings``, ``steps``, ``batch_size``, ``lr``, ``augmentation``,
``data``, ``seconds``, ``val_dice``), the ``recipe`` arguments, ``parameters``,
``torch``, ``machine`` and ``date``. :func:`train` re-creates both from the
:data:`RECIPES` (``make pretrained`` runs ``tools/make_pretrained.py``, which
calls it for every name).
"""

from __future__ import annotations

import datetime
import json
import os
import pickle
import platform
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import nets
from ._bundled import bundled
from ._device import resolve, seed_everything
from .data import PatchDataset, SliceDataset
from .train import fit, flip_augment, load_checkpoint

__all__ = ["NAMES", "ARCHITECTURES", "Recipe", "RECIPES", "WeightsFileError", "weights_dir", "files", "metadata",
           "load", "train"]

#: The bundled networks, in the order the notebooks teach them.
NAMES = ("patch_cnn", "fcn", "unet", "dilated")
#: Architecture name (as a sidecar's ``architecture`` records it) -> its ``nn.Module`` class.
ARCHITECTURES = {"PatchCNN": nets.PatchCNN, "FCN": nets.FCN, "UNet": nets.UNet, "DilatedNet": nets.DilatedNet}


@dataclass(frozen=True)
class Recipe:
    """How one bundled network is trained by :func:`train`.

    ``architecture(**kwargs)`` is built after ``seed_everything(0)`` and trained with
    :func:`medseg_edu.train.fit` for ``steps`` Adam steps of ``batch_size`` at learning rate
    ``lr`` on ``data``:

    * ``"synth"``: the domain-randomised slices of :mod:`medseg_edu.data.synth` (phantom-v2
      scenes around real expert gland shapes, a T2 rendering and random-contrast renderings
      of each) with :func:`~medseg_edu.data.synth.randomise_batch` on every batch, validated
      on the held-out shapes in an unseen T2 style. This is how the bundled weights (v2) are made.
    * ``"synth_patches"``: 60,000 train / 6,000 val patches (:class:`~medseg_edu.data.PatchDataset`)
      cut from those slices, with the intensity part of ``randomise_batch``.
    * ``"slices"`` / ``"patches"``: the v1 recipe, phantom-v1 train split with flips
      (:class:`~medseg_edu.data.SliceDataset`) or its patches; the v1 weights in
      ``data/weights/v1`` were made this way.
    """

    architecture: type
    kwargs: dict = field(default_factory=dict)
    steps: int = 1000
    batch_size: int = 16
    lr: float = 2e-3
    data: str = "slices"


RECIPES = {
    "patch_cnn": Recipe(nets.PatchCNN, dict(patch_size=33, width=16), 2000, 64, 1e-3, "synth_patches"),
    "fcn": Recipe(nets.FCN, dict(width=16, depth=3), 2000, 16, 2e-3, "synth"),
    "unet": Recipe(nets.UNet, dict(width=16, depth=3), 3000, 16, 2e-3, "synth"),
    "dilated": Recipe(nets.DilatedNet, dict(width=24, dilations=(1, 1, 2, 4, 8, 16, 1, 1)), 1600, 16, 2e-3,
                      "synth"),
}
#: The folder of the v1 weights (phantom-v1 only, flips): kept so notebook 10 can show the domain gap.
V1 = "v1"


def weights_dir() -> Path:
    """``$MEDSEG_EDU_WEIGHTS`` or the repository's ``data/weights`` folder."""
    override = os.environ.get("MEDSEG_EDU_WEIGHTS")
    return Path(override) if override else bundled("data", "weights")


def _recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ValueError(f"unknown network {name!r}; bundled weights exist for {NAMES}")
    return RECIPES[name]


def files(name: str, folder=None) -> tuple[Path, Path]:
    """``(weights, sidecar)``: the paths ``<name>.pt`` and ``<name>.json`` in ``folder``.

    ``folder`` defaults to :func:`weights_dir`. Raises ``ValueError`` for a name not in :data:`NAMES`.
    """
    _recipe(name)
    folder = Path(folder) if folder is not None else weights_dir()
    return folder / f"{name}.pt", folder / f"{name}.json"


#: How long ``make pretrained`` took for the bundled weights on 2 CPU cores (the sidecars' training seconds, 1442 s,
#: plus 2.5 min to render the bank); the README quotes the same figure (tests/test_weights.py).
RETRAIN_MINUTES = 27


def _missing(name: str, path: Path) -> FileNotFoundError:
    return FileNotFoundError(f"no bundled weights for {name!r} at {path}: run `make pretrained` "
                             f"(re-trains them, about {RETRAIN_MINUTES} min on 2 CPU cores) or point MEDSEG_EDU_WEIGHTS at a folder that has them")


class WeightsFileError(ValueError):
    """A weights file or its sidecar exists but is damaged: empty, cut short, or a Git LFS pointer.

    The message names the file, what is wrong with it and how to get a good copy
    (``git lfs pull``, ``make pretrained`` or ``MEDSEG_EDU_WEIGHTS``).
    """


#: The first line of a Git LFS pointer file (what a clone without ``git lfs`` holds instead of the file).
_LFS_POINTER = b"version https://git-lfs"
_FIXES = ("Get a good copy: `git lfs pull` in the repository if it keeps the weights in Git LFS, "
          f"`make pretrained` to re-train them (about {RETRAIN_MINUTES} min on 2 CPU cores), or point MEDSEG_EDU_WEIGHTS "
          "at a folder that holds intact <name>.pt and <name>.json files")


def _damaged(path: Path, problem: str) -> WeightsFileError:
    return WeightsFileError(f"{path} {problem}. {_FIXES}")


def _check_not_pointer_or_empty(path: Path, head: bytes, size: int) -> None:
    if size == 0:
        raise _damaged(path, "is empty (0 bytes): the copy or download was interrupted")
    if head.startswith(_LFS_POINTER):
        raise _damaged(path, f"is a Git LFS pointer ({size} bytes of text), not the file itself: the "
                             "repository was cloned without Git LFS")


def _read_sidecar(sidecar: Path) -> dict:
    """The sidecar's JSON, or a :class:`WeightsFileError` saying why it cannot be read."""
    raw = sidecar.read_bytes()
    _check_not_pointer_or_empty(sidecar, raw[:64], len(raw))
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        where = f" (line {err.lineno}, column {err.colno})" if isinstance(err, json.JSONDecodeError) else ""
        raise _damaged(sidecar, f"is not valid JSON{where}: it is cut short or corrupt ({len(raw)} bytes)") from None
    if not isinstance(meta, dict):
        raise _damaged(sidecar, f"holds a JSON {type(meta).__name__}, not the sidecar's object of fields")
    return meta


def _check_weights_file(path: Path) -> None:
    """Refuse an empty, LFS-pointer or cut-short ``.pt`` before torch reads it."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(64)
    _check_not_pointer_or_empty(path, head, size)
    # torch.save writes a zip archive; its directory is at the end, so a cut file has none.
    if not head.startswith(b"PK\x03\x04"):
        return  # not torch's zip format: torch.load below says whether it can read it
    if not zipfile.is_zipfile(path):
        raise _damaged(path, f"is cut short ({size} bytes, and the zip directory that ends a complete "
                             "PyTorch file is missing): the copy or download was interrupted")
    try:  # every tensor's CRC-32: torch itself would load flipped bytes without a word
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        bad = f"? ({type(err).__name__})"
    if bad is not None:
        raise _damaged(path, f"is corrupt: its part {bad} fails its checksum")


def metadata(name: str, folder=None) -> dict:
    """The sidecar ``<name>.json`` of a bundled network: how it was built and trained.

    Raises ``FileNotFoundError`` (hint: ``make pretrained``) when the weights or the sidecar are missing,
    :class:`WeightsFileError` when the sidecar is empty, cut short or a Git LFS pointer.
    """
    path, sidecar = files(name, folder)
    if not path.is_file() or not sidecar.is_file():
        raise _missing(name, path)
    return _read_sidecar(sidecar)


def load(name: str, *, device=None, version: int = 2) -> torch.nn.Module:
    """A freshly built bundled network ``name`` (see :data:`NAMES`) with its weights, in eval mode.

    Every call builds a new model, so training or moving the one you got changes no other.
    The architecture and its arguments come from the sidecar ``<name>.json`` beside the
    weights ``<name>.pt`` in :func:`weights_dir`.

    Parameters
    ----------
    name : str
        ``"patch_cnn"``, ``"fcn"``, ``"unet"`` or ``"dilated"``.
    device : str or torch.device, optional
        Where to put the model; default ``medseg_edu.device()``, the fastest this machine has (the
        package's one rule for ``device=None``, :func:`medseg_edu._device.resolve`).
    version : int
        2 (default): the bundled weights, trained with domain randomisation on phantom v2.
        1: the first weights, trained on phantom v1 only (kept in ``<weights_dir>/v1`` to
        show what such a network does on a real scan, notebook 10).

    Raises
    ------
    ValueError
        For an unknown ``name``, or a sidecar that names another architecture than the recipe's.
    FileNotFoundError
        When the weights or their sidecar are missing (hint: ``make pretrained``).
    WeightsFileError
        When the weights or the sidecar are empty, cut short, corrupt or a Git LFS pointer
        (the message names the file and how to get a good copy).
    """
    recipe = _recipe(name)
    if version not in (1, 2):
        raise ValueError(f"version must be 1 (phantom-v1 weights) or 2 (domain-randomised), got {version!r}")
    folder = weights_dir() / V1 if version == 1 else weights_dir()
    meta = metadata(name, folder)
    path, sidecar = files(name, folder)
    architecture = ARCHITECTURES.get(meta.get("architecture"))
    if architecture is not recipe.architecture:
        raise ValueError(f"{sidecar} describes a {meta.get('architecture')!r} network, but {name!r} is a "
                         f"{recipe.architecture.__name__}: re-create it with `make pretrained`")
    model = architecture(**meta.get("kwargs", {}))
    _check_weights_file(path)
    try:
        load_checkpoint(model, path)
    except (pickle.UnpicklingError, EOFError, RuntimeError, zipfile.BadZipFile) as err:
        # torch's own message would advise weights_only=False: wrong for a damaged file, unsafe in general
        raise _damaged(path, f"cannot be read as PyTorch weights ({type(err).__name__}): it is corrupt "
                             "or not a weights file") from None
    model.eval()
    return model.to(resolve(device))


def _datasets(recipe: Recipe):
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


def train(name: str, *, steps: int | None = None, steps_scale: float = 1.0, out=None) -> dict:
    """Train the bundled network ``name`` from its :data:`RECIPES` entry; write ``<name>.pt`` and ``.json``.

    Seeded (``seed_everything(0)`` before the network is built, ``fit(seed=0)``), validated every
    ``max(50, steps // 10)`` steps; the weights with the best validation Dice are saved, and the
    sidecar is written once, with the run's record (the keys listed in the module docstring).

    Parameters
    ----------
    name : str
        One of :data:`NAMES`.
    steps : int, optional
        Step budget instead of the recipe's (a quick test).
    steps_scale : float
        Otherwise, the recipe's budget times this (at least 10 steps).
    out : path, optional
        Folder for the two files; default :func:`weights_dir`.

    Returns
    -------
    dict
        The sidecar as written.
    """
    recipe = _recipe(name)
    steps = steps or max(10, int(recipe.steps * steps_scale))
    folder = Path(out) if out is not None else weights_dir()
    path, _ = files(name, folder)
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
        augment=augment, seed=0, checkpoint=path, metadata=record, progress=True, plot=False,
        val_every=max(50, steps // 10))
    return metadata(name, folder)
