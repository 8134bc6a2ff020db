"""Pick the fastest available compute device (bottom layer: no project imports)."""

from __future__ import annotations


def device(verbose: bool = True):
    """Return the best available ``torch.device``: CUDA, then Apple MPS, then CPU.

    Parameters
    ----------
    verbose : bool
        Print which device was chosen and why, so learners know what they run on.

    Returns
    -------
    torch.device
    """
    import torch

    if torch.cuda.is_available():
        chosen, why = torch.device("cuda"), f"CUDA GPU: {torch.cuda.get_device_name(0)}"
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        chosen, why = torch.device("mps"), "Apple GPU (MPS)"
    else:
        chosen, why = torch.device("cpu"), (
            f"CPU with {torch.get_num_threads()} threads (no GPU found; everything here "
            "is sized to train on a CPU in minutes)"
        )
    if verbose:
        print(f"Using {why}.")
    return chosen


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch so a notebook gives the same numbers every run."""
    import random

    import numpy as np

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
