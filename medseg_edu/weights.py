"""The bundled networks and the checkpoint format: recipes, files, sidecars, loading (layer 3).

The one owner of the pretrained weights in ``data/weights/`` and of the files a network is
saved in, as torchvision keeps its models and their weights side by side::

    net = medseg_edu.weights.load("unet")           # a fresh nn.Module, eval mode, on the CPU
    medseg_edu.weights.metadata("unet")["val_dice"]  # what the sidecar recorded
    medseg_edu.weights.save_checkpoint(net, "mine.pt", note="fine-tuned")   # mine.pt + mine.json
    medseg_edu.weights.load_checkpoint(net, "mine.pt")                      # checked, then loaded

A checkpoint is two files: ``<name>.pt``, the weights (a ``state_dict``, read with
``torch.load(..., weights_only=True)``), and ``<name>.json`` beside it, the *sidecar*: the
architecture and its constructor arguments (``architecture``, ``kwargs``), ``torch``, and
whatever the caller adds. The bundled sidecars also record the training run (``settings``,
``steps``, ``batch_size``, ``lr``, ``augmentation``, ``data``, ``seconds``, ``val_dice``), the
``recipe`` arguments, ``parameters``, ``machine`` and ``date``. :func:`load` and
:func:`load_checkpoint` share one sidecar reader, one architecture check and one weights
reader, so a damaged or mismatched file gets the same message either way.

Training is not done here: :func:`medseg_edu.train.train_bundled` re-creates a bundled
network from its :data:`RECIPES` entry (``make pretrained`` runs ``tools/make_pretrained.py``,
which calls it for every name), and :func:`medseg_edu.train.fit` saves through
:func:`save_checkpoint`. This module imports neither.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import nets
from ._bundled import bundled
from ._device import resolve

__all__ = ["NAMES", "ARCHITECTURES", "Recipe", "RECIPES", "VERSIONS", "WeightsFileError", "weights_dir", "files",
           "metadata", "load", "load_members", "member_metadata", "save_checkpoint", "load_checkpoint"]

#: The bundled networks, in the order the notebooks teach them.
NAMES = ("patch_cnn", "fcn", "unet", "dilated")
#: Architecture name (as a sidecar's ``architecture`` records it) -> its ``nn.Module`` class.
ARCHITECTURES = {"PatchCNN": nets.PatchCNN, "FCN": nets.FCN, "UNet": nets.UNet, "DilatedNet": nets.DilatedNet}


@dataclass(frozen=True)
class Recipe:
    """How one bundled network is trained by :func:`medseg_edu.train.train_bundled`.

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
#: The folder of the v3 candidate: a U-Net trained on the synth bank v3, better than the bundled one on
#: held-out phantoms but not on real scans, so not the default; kept so notebook 10 can show the difference.
V3 = "v3"
#: The folder of the v4 candidate: version 3's recipe on the synth bank v3 drawn with its anal canal level
#: with the lower gland (layout "canal_at_apex"); on real scans it marks the lower gland again, but two
#: more seeds of its run do less, so it is not the default. Those two seeds are kept beside it as its
#: members (``unet_seed1.pt``, ``unet_seed2.pt``; :func:`load_members`).
V4 = "v4"
#: The folder of the v5 candidate: version 4's recipe and bank, with every tissue given random new grey
#: levels and textures in half of each batch (GIN); lower than version 4 on held-out phantoms, fuller
#: masks on some real scans. Kept, with its seeds 1 and 2 as members, so that a labelled real scan can
#: decide between them (``tools/measure_labelled.py``).
V5 = "v5"
#: The weight versions :func:`load` knows: version -> (sub-folder of :func:`weights_dir`, what it is).
VERSIONS = {
    1: (V1, "trained on phantom v1 only"),
    2: ("", "the bundled weights: domain randomisation on phantom v2"),
    3: (V3, "a single U-Net candidate ('unet') trained on the synth bank v3"),
    4: (V4, "a single U-Net candidate ('unet') trained on the synth bank v3 with layout 'canal_at_apex'"),
    5: (V5, "a single U-Net candidate ('unet'): version 4's recipe with random textures (GIN)"),
}


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


#: How long ``make pretrained`` takes on 2 CPU cores from an empty cache, rounded up from the slowest of the
#: measured runs on the same kind of machine (``benchmarks/make_pretrained_runs.json``: 44 min on 2026-12-05,
#: 56, 44 and 41.5 on 2026-12-06 - training alone took 31, 43, 35 and 32 min, the last with two networks
#: side by side); the README quotes it (tests/test_weights.py).
RETRAIN_MINUTES = 56


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


def _read_weights(model: torch.nn.Module, path: Path, map_location="cpu") -> None:
    """Put the weights file ``path`` into ``model``: damaged files and wrong sizes get a clear error.

    ``torch.load(..., weights_only=True)`` reads only tensors, never pickled code.
    """
    _check_weights_file(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, EOFError, RuntimeError, zipfile.BadZipFile) as err:
        # torch's own message would advise weights_only=False: wrong for a damaged file, unsafe in general
        raise _damaged(path, f"cannot be read as PyTorch weights ({type(err).__name__}): it is corrupt "
                             "or not a weights file") from None
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        expected = _describe(type(model).__name__, getattr(model, "hparams", {}))
        raise ValueError(f"The weights in {path} do not fit {expected} "
                         f"(different architecture or sizes): {error}") from None


def _describe(architecture: str, kwargs) -> str:
    """``"UNet(depth=3, width=16)"``: an architecture and its constructor arguments, sorted as a sidecar keeps them."""
    args = ", ".join(f"{k}={v!r}" for k, v in sorted(_jsonable(kwargs or {}).items()))
    return f"{architecture}({args})"


def _check_fits(meta: dict, architecture: str, kwargs, path: Path) -> None:
    """Refuse a sidecar ``meta`` that describes another network than ``architecture(**kwargs)``.

    The one architecture check, for :func:`load` and :func:`load_checkpoint` alike. A sidecar
    without an ``architecture`` (or without ``kwargs``), and ``kwargs=None`` (a model without
    ``hparams``), leave that part unchecked: the weights' sizes are still checked on loading.
    """
    if not meta.get("architecture"):
        return
    saved = _describe(meta["architecture"], meta.get("kwargs"))
    other_sizes = "kwargs" in meta and kwargs is not None and _jsonable(kwargs) != meta["kwargs"]
    if meta["architecture"] != architecture or other_sizes:
        raise ValueError(f"{path} holds weights for {saved}, but the model is {_describe(architecture, kwargs)}. "
                         f"Build the model as {saved} to load them, or re-create the weights "
                         "(`make pretrained` for the bundled networks).")


def _version_dir(version) -> Path:
    if version not in VERSIONS:
        choices = "; ".join(f"{v}: {what}" for v, (_, what) in VERSIONS.items())
        raise ValueError(f"version must be one of {sorted(VERSIONS)} ({choices}), got {version!r}")
    return weights_dir() / VERSIONS[version][0]


def metadata(name: str, folder=None, *, version: int = 2) -> dict:
    """The sidecar ``<name>.json`` of a bundled network: how it was built and trained.

    ``folder`` (a folder of your own) takes precedence over ``version`` (see :func:`load`).
    Raises ``FileNotFoundError`` (hint: ``make pretrained``) when the weights or the sidecar are missing,
    :class:`WeightsFileError` when the sidecar is empty, cut short or a Git LFS pointer.
    """
    path, sidecar = files(name, folder if folder is not None else _version_dir(version))
    if not path.is_file() or not sidecar.is_file():
        if folder is None and version != 2:  # the kept versions are not re-made by `make pretrained`
            raise FileNotFoundError(f"no version-{version} weights for {name!r} at {path}: version {version} is "
                                    f"{VERSIONS[version][1]}; use version=2 for the bundled networks")
        raise _missing(name, path)
    return _read_sidecar(sidecar)


def load(name: str, *, device=None, version: int = 2) -> torch.nn.Module:
    """A freshly built bundled network ``name`` (see :data:`NAMES`) with its weights, in eval mode.

    Every call builds a new model, so training or moving the one you got changes no other.
    The architecture and its arguments come from the sidecar ``<name>.json`` beside the
    weights ``<name>.pt`` in :func:`weights_dir`; the files are read and checked exactly as
    :func:`load_checkpoint` reads and checks them.

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
        3: a U-Net candidate trained on the synth bank v3 (``"unet"`` only, in
        ``<weights_dir>/v3``): better than version 2 on held-out phantoms, not on real
        scans, hence not the default (notebook 10, ``data/weights/TRAINING.md``).
        4: a U-Net candidate trained on that bank with its anal canal level with the lower
        gland (``"unet"`` only, in ``<weights_dir>/v4``, ``data/weights/v4/TRAINING.md``); two
        more seeds of its recipe are kept beside it (:func:`load_members`).

    Raises
    ------
    ValueError
        For an unknown ``name``, a sidecar that names another architecture than the recipe's,
        or weights of other sizes than the sidecar's arguments.
    FileNotFoundError
        When the weights or their sidecar are missing (hint: ``make pretrained``).
    WeightsFileError
        When the weights or the sidecar are empty, cut short, corrupt or a Git LFS pointer
        (the message names the file and how to get a good copy).
    """
    meta = metadata(name, version=version)
    path, _ = files(name, _version_dir(version))
    return _built(name, path, meta, device)


def _built(name, path, meta, device):
    architecture = _recipe(name).architecture
    kwargs = meta.get("kwargs", {})
    _check_fits(meta, architecture.__name__, kwargs, path)
    model = architecture(**kwargs)
    _read_weights(model, path)
    model.eval()
    return model.to(resolve(device))


def load_members(name: str = "unet", *, version: int = 4, device=None) -> list[torch.nn.Module]:
    """Every network kept for weight version ``version`` of ``name``: the version's own, then its other seeds.

    A version may keep more runs of its recipe that differ only in their seed
    (``<name>_seed<k>.pt`` and ``.json`` beside ``<name>.pt``; version 4 keeps seeds 1 and 2
    beside its seed 0). Networks trained alike agree on scans like their training data and can
    disagree widely on others: the spread of their volumes is a warning
    (:func:`medseg_edu.methods.interval.member_volumes`, notebook 12).

    Parameters
    ----------
    name : str
        A network of :data:`NAMES` (only ``"unet"`` has members).
    version : int
        A weight version of :data:`VERSIONS` (4 and 5 have members).
    device : str or torch.device, optional
        As for :func:`load`.

    Returns
    -------
    list of torch.nn.Module
        ``load(name, version=version)`` first, then the other seeds in seed order; each in eval mode.

    Raises
    ------
    ValueError
        When the version keeps no other seed of ``name`` (a single network has no spread), and
        for everything :func:`load` refuses.
    """
    first = load(name, device=device, version=version)
    return [first] + [_built(name, p, _read_sidecar(_sidecar_of(p)), device) for p in _member_files(name, version)]


def member_metadata(name: str = "unet", *, version: int = 4) -> list[dict]:
    """The sidecars of :func:`load_members`' networks, in the same order (each has its ``seed``).

    Raises
    ------
    ValueError
        As :func:`load_members`, when the version keeps no other seed of ``name``.
    """
    first = metadata(name, version=version)
    return [first] + [_read_sidecar(_sidecar_of(p)) for p in _member_files(name, version)]


def _member_files(name, version) -> list[Path]:
    """``<name>_seed<k>.pt`` of a version, in seed order (seed 10 after seed 2); refused when there is none."""
    folder = _version_dir(version)
    others = sorted(folder.glob(f"{name}_seed*.pt"), key=lambda p: int(p.stem.rsplit("seed", 1)[1]))
    if not others:
        with_members = [v for v in VERSIONS if any(_version_dir(v).glob("*_seed*.pt"))]
        raise ValueError(f"weight version {version} keeps no other seed of {name!r} (no {name}_seed*.pt in "
                         f"{folder}); versions with members: {with_members or 'none'}")
    return others


# --------------------------------------------------------------------------- any checkpoint

def _sidecar_of(path: Path) -> Path:
    """``unet.pt`` -> ``unet.json``; a ``.json`` weights name is refused (the sidecar has it)."""
    if path.suffix == ".json":
        raise ValueError(f"Use a weights file name such as 'unet.pt', not {path.name!r}: "
                         "the .json name is taken by the metadata sidecar.")
    return path.with_suffix(".json")


def _jsonable(value):
    """``value`` with NaN as ``None``, tuples as lists and anything else unknown as its ``str``."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def save_checkpoint(model: torch.nn.Module, path, **meta) -> Path:
    """Save ``model.state_dict()`` to ``path`` and ``meta`` to ``path`` with ``.json``.

    The sidecar also records the architecture name and its constructor
    arguments (``model.hparams``), so :func:`load_checkpoint` can refuse
    weights meant for another network. Returns the weights path.
    """
    path = Path(path)
    sidecar = _sidecar_of(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    torch.save(state, path)
    info = dict(architecture=type(model).__name__,
                kwargs=dict(getattr(model, "hparams", {})),
                torch=torch.__version__)
    info.update(meta)
    sidecar.write_text(json.dumps(_jsonable(info), indent=2, sort_keys=True) + "\n")
    return path


def load_checkpoint(model: torch.nn.Module, path, map_location="cpu") -> dict:
    """Load weights saved by :func:`save_checkpoint` into ``model``; return the metadata.

    Uses ``torch.load(..., weights_only=True)``: only tensors are read, never
    arbitrary pickled code. Raises ``FileNotFoundError`` if the file is
    missing, ``ValueError`` if it belongs to another architecture or other sizes,
    and :class:`WeightsFileError` if the weights or the sidecar are damaged. A
    checkpoint without a sidecar loads (its sizes are still checked) with ``{}``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No checkpoint at {path}. Run `make pretrained` to recreate the bundled weights, "
            "or train a network with fit(..., checkpoint=path).")
    sidecar = _sidecar_of(path)
    meta = _read_sidecar(sidecar) if sidecar.is_file() else {}
    _check_fits(meta, type(model).__name__, getattr(model, "hparams", None), path)
    _read_weights(model, path, map_location)
    return meta
