"""Rendering many phantoms at once: :func:`on_every_core` (layer 2)."""

from __future__ import annotations

import os

__all__ = ["on_every_core", "usable_cores"]

#: More worker processes than this cost more memory than they save time.
MAX_WORKERS = 4


def usable_cores() -> int:
    """How many cores this process may run on (its CPU affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def on_every_core(function, jobs, *, desc: str = "rendering", progress: bool = False) -> list:
    """``[function(job) for job in jobs]``, computed by one process per core.

    For phantom rendering, which is numpy and SciPy on one core: each job must be seeded on
    its own (its seed in the job), so the results are those of the plain loop, in the same order,
    however many cores there are.

    Parameters
    ----------
    function : callable
        Defined at a module's top level (the worker processes import it by name).
    jobs : list
        One argument each; picklable.
    desc, progress : str, bool
        A tqdm progress bar with this label, if ``progress``.

    Returns
    -------
    list
        The results, in the order of ``jobs``.
    """
    from concurrent.futures import ProcessPoolExecutor

    from tqdm.auto import tqdm

    jobs = list(jobs)
    workers = max(1, min(usable_cores(), MAX_WORKERS, len(jobs)))
    if workers == 1:
        return [function(job) for job in tqdm(jobs, desc=desc, disable=not progress)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(tqdm(pool.map(function, jobs), total=len(jobs), desc=desc, disable=not progress))
