#!/usr/bin/env python
"""Which notebooks the portable and accelerator-budget runs re-execute, from the notebooks' metadata.

Usage::

    python tools/notebook_sets.py portable   # checked outputs from inference, optimisation or training
    python tools/notebook_sets.py budget     # ... from training whose step count comes from step_budget
    python tools/notebook_sets.py --table    # every notebook and what its checked outputs come from

Every notebook states in ``metadata.medseg_edu.checked_outputs_from`` where the text of its
checked cells (``nbval-check-output``) comes from:

``arithmetic``
    integer counts, formulas and seeded NumPy draws: the same bits on every CPU, thread count
    and device. Run once, by ``make test``.
``inference``
    a forward pass of the bundled networks: floating-point sums in an order that depends on
    the CPU's kernels and the thread count.
``optimisation``
    an iterative fit (a registration, a snake, a classifier): small differences in the sums
    can move where it stops.
``training``
    a network trained in the notebook: the differences grow with every step.

Everything but ``arithmetic`` is re-run by ``make test-other-cpus`` (another CPU's kernels and
thread count); ``training`` notebooks whose code asks ``step_budget`` for their steps are re-run
by ``make test-accelerator-budget`` too, since a GPU would train them for longer. A training
notebook that does not call ``step_budget`` trains the same number of steps everywhere.

Only the standard library is used, so ``make`` can call it with any Python 3.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
KEY = "checked_outputs_from"
ORIGINS = ("arithmetic", "inference", "optimisation", "training")
RERUN_ON_OTHER_CPUS = ("inference", "optimisation", "training")


def notebook_paths(folder: Path = NOTEBOOKS) -> list[Path]:
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def checked_outputs_from(path: Path) -> str:
    """The notebook's declared origin of its checked outputs.

    Raises
    ------
    ValueError
        If the metadata key is missing or holds something other than one of ``ORIGINS``.
    """
    meta = json.loads(Path(path).read_text(encoding="utf-8"))["metadata"].get("medseg_edu", {})
    origin = meta.get(KEY)
    if origin not in ORIGINS:
        raise ValueError(f"{Path(path).name}: metadata.medseg_edu.{KEY} is {origin!r}; "
                         f"expected one of {', '.join(ORIGINS)} (see docs/DEVELOPING.md)")
    return origin


def code_source(path: Path) -> str:
    """All code cells of a notebook, joined."""
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def portable(paths: list[Path]) -> list[Path]:
    """The notebooks whose checked outputs depend on the CPU's arithmetic."""
    return [p for p in paths if checked_outputs_from(p) in RERUN_ON_OTHER_CPUS]


def budget(paths: list[Path]) -> list[Path]:
    """The training notebooks whose step count comes from ``step_budget``."""
    return [p for p in paths if checked_outputs_from(p) == "training" and "step_budget(" in code_source(p)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("which", nargs="?", choices=("portable", "budget"))
    parser.add_argument("--table", action="store_true", help="list every notebook and its origin")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/NN_*.ipynb")
    args = parser.parse_args(argv)
    paths = args.notebooks or notebook_paths()
    try:
        if args.table or not args.which:
            for p in paths:
                print(f"{p.name:36s} {checked_outputs_from(p)}")
            return 0
        chosen = portable(paths) if args.which == "portable" else budget(paths)
    except ValueError as error:
        print(f"notebook_sets: {error}", file=sys.stderr)
        return 1
    print(" ".join(str(p.relative_to(ROOT)) if p.is_absolute() else str(p) for p in chosen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
