"""Pick the compute device and the training budget that goes with it (bottom layer: no project imports).

Two environment variables let a teacher, a test or CI choose instead of the machine:

``MEDSEG_EDU_DEVICE``
    ``cpu``, ``cuda``, ``cuda:1`` or ``mps``: use this device (an error if it is
    not there). Unset or ``auto``: the fastest one found.
``MEDSEG_EDU_BUDGET``
    ``cpu`` or ``accelerator``: which of a notebook's two step budgets
    :func:`step_budget` returns. Unset: the accelerator budget on a GPU, the CPU
    budget on the CPU. Tests set ``accelerator`` on a CPU to run the GPU branch.
"""

from __future__ import annotations

import os

DEVICE_VARIABLE = "MEDSEG_EDU_DEVICE"
BUDGET_VARIABLE = "MEDSEG_EDU_BUDGET"


def _mps_available(torch) -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def _describe(chosen, torch) -> str:
    if chosen.type == "cuda":
        return f"CUDA GPU: {torch.cuda.get_device_name(chosen)}"
    if chosen.type == "mps":
        return "Apple GPU (MPS)"
    return (f"CPU with {torch.get_num_threads()} threads (everything here is sized to train on a CPU "
            "in minutes)")


def _requested_device(torch):
    """The device named by ``$MEDSEG_EDU_DEVICE``, or None when the machine should choose."""
    wanted = os.environ.get(DEVICE_VARIABLE, "").strip().lower()
    if wanted in ("", "auto"):
        return None
    try:
        chosen = torch.device(wanted)
    except RuntimeError:
        raise ValueError(f"${DEVICE_VARIABLE}={wanted!r} is not a device name; use cpu, cuda, cuda:N, mps or auto") from None
    present = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": _mps_available(torch)}.get(chosen.type, False)
    if chosen.type == "cuda" and present and chosen.index is not None:
        present = chosen.index < torch.cuda.device_count()
    if not present:
        raise RuntimeError(f"${DEVICE_VARIABLE}={wanted!r} asks for a device this machine does not have; "
                           "unset it (or set it to auto) to use the best one found")
    return chosen


def device(verbose: bool = True):
    """Return the ``torch.device`` to compute on: ``$MEDSEG_EDU_DEVICE``, else CUDA, Apple MPS, CPU.

    Parameters
    ----------
    verbose : bool
        Print which device was chosen, so learners know what they run on.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError, RuntimeError
        If ``$MEDSEG_EDU_DEVICE`` names no device, or one this machine lacks.
    """
    import torch

    chosen = _requested_device(torch)
    if chosen is None:
        if torch.cuda.is_available():
            chosen = torch.device("cuda")
        elif _mps_available(torch):
            chosen = torch.device("mps")
        else:
            chosen = torch.device("cpu")
    if verbose:
        print(f"Using {_describe(chosen, torch)}.")
    return chosen



def resolve(requested=None):
    """The one rule for every ``device=`` argument of the package: ``requested`` when given, else :func:`device`.

    So ``device=None`` always means the fastest device this machine has (``$MEDSEG_EDU_DEVICE``,
    then CUDA, Apple MPS, the CPU) - for loading weights, training, evaluating and inference alike.

    Returns
    -------
    torch.device
    """
    import torch

    return torch.device(requested) if requested is not None else device(verbose=False)


def memory_format(on):
    """The tensor layout to compute in on device ``on``: channels-last on the CPU, else the default.

    Channels-last makes the CPU convolutions 1.5-2x faster; GPUs do as well or better with the
    default layout. Training (``medseg_edu.train.fit``) and inference
    (``medseg_edu.methods.deep.predict_proba``) both use it, so they run the same kernels.
    """
    import torch

    return torch.channels_last if torch.device(on).type == "cpu" else torch.contiguous_format

def step_budget(cpu: int, accelerator: int, on=None) -> int:
    """How many training steps a notebook takes: ``cpu`` on a CPU, ``accelerator`` on a GPU.

    Parameters
    ----------
    cpu, accelerator : int
        The two budgets. The checked results of a notebook must hold for both.
    on : torch.device, optional
        The device training runs on (default: :func:`device`, quietly).

    Returns
    -------
    int
        ``$MEDSEG_EDU_BUDGET`` (``cpu`` or ``accelerator``) decides when set.
    """
    forced = os.environ.get(BUDGET_VARIABLE, "").strip().lower()
    if forced not in ("", "cpu", "accelerator"):
        raise ValueError(f"${BUDGET_VARIABLE}={forced!r}: use cpu or accelerator (or leave it unset)")
    if forced:
        return accelerator if forced == "accelerator" else cpu
    kind = (on if on is not None else device(verbose=False)).type
    return cpu if kind == "cpu" else accelerator


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch so a notebook gives the same numbers every run.

    ``seed`` is a whole number from 0 to 2**32 - 1 (NumPy's range); anything else is refused
    with that said, rather than with NumPy's "Cannot cast scalar from dtype" message.
    """
    import random

    import numpy as np

    from ._checks import as_seed

    seed = as_seed(seed)   # a Python int: Python's random refuses NumPy integers
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:  # the numpy-only notebooks do not need torch
        return
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    # Deterministic mode would also fill every new tensor with NaN (a debugging aid that
    # costs ~25 % of CPU training time); seeded results stay exact without it.
    torch.utils.deterministic.fill_uninitialized_memory = False
