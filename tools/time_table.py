#!/usr/bin/env python
"""Write the notebook timing table into README.md and the instructor guide.

Usage::

    python tools/time_table.py            # rewrite the tables
    python tools/time_table.py --check    # exit 1 if a file is out of date

The table (notebook | execute (s) | peak memory (MB) | learner time) is built
from two sources and nothing else:

- learner time: ``metadata.medseg_edu.learner_minutes`` of each notebook in
  ``notebooks/`` (the header's "Estimated time" is checked against it by
  ``tests/test_time_estimates.py``);
- execute seconds and peak memory: ``benchmarks/notebook_times.json``, which
  ``make run`` (``tools/run_notebooks.py --json``) writes.

It replaces the text between ``<!-- notebook-times:start -->`` and
``<!-- notebook-times:end -->`` in each target file, followed by a one-line
provenance sentence made from the JSON's ``machine`` record.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_notebooks import BUDGET_MB, BUDGET_SECONDS  # noqa: E402  (one budget, one place)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TIMES_JSON = ROOT / "benchmarks" / "notebook_times.json"
TARGETS = [ROOT / "README.md", ROOT / "docs" / "instructor_guide.md"]
START, END = "<!-- notebook-times:start -->", "<!-- notebook-times:end -->"
# File-name words that are acronyms or names, not plain lower-case words.
WORDS = {"cnn": "CNN", "fcn": "FCN", "unet": "U-Net"}


def display_name(filename: str) -> str:
    """``"06_unet.ipynb"`` -> ``"06 U-Net"``."""
    return " ".join(WORDS.get(word, word) for word in Path(filename).stem.split("_"))


def learner_minutes(notebooks_dir: Path = NOTEBOOKS) -> dict[str, int]:
    """Learner minutes per notebook file name, from the notebooks' metadata.

    Raises
    ------
    ValueError
        If a notebook has no ``metadata.medseg_edu.learner_minutes``: the
        metadata is the only source, so a gap is an error, not a blank cell.
    """
    minutes = {}
    for path in sorted(notebooks_dir.glob("[0-9][0-9]_*.ipynb")):
        meta = json.loads(path.read_text(encoding="utf-8"))["metadata"]
        value = meta.get("medseg_edu", {}).get("learner_minutes")
        if value is None:
            raise ValueError(f"{path.name}: no metadata.medseg_edu.learner_minutes")
        minutes[path.name] = value
    return minutes


def load_times(path: Path = TIMES_JSON) -> dict:
    """The measurements, or an empty placeholder when the file does not exist yet."""
    if not path.exists():
        return {"placeholder": True, "machine": {}, "notebooks": []}
    return json.loads(path.read_text(encoding="utf-8"))


def _number(value, fmt: str) -> str:
    ok = isinstance(value, (int, float)) and math.isfinite(value)
    return format(value, fmt) if ok else "–"


def _measured(row: dict, key: str, fmt: str, budget: float) -> str:
    cell = _number(row.get(key), fmt)
    if row.get("status") not in (None, "ok"):
        cell += f" ({row['status']})"
    elif cell != "–" and row[key] > budget:
        cell += " (over budget)"
    return cell


def provenance(times: dict) -> str:
    """One sentence: where and when the numbers were measured, and the budget."""
    budget = f"{BUDGET_SECONDS:g} s and {BUDGET_MB / 1024:g} GB per notebook"
    machine = times.get("machine") or {}
    if times.get("placeholder") or not machine:
        return ("No measurement recorded yet (`benchmarks/notebook_times.json` is a placeholder); "
                f"the budget is {budget} on 2 CPU cores. Run `make run`, then "
                "`python tools/time_table.py`; re-run `make run` on your own machine "
                "before a class.")
    dates = sorted({row["date"] for row in times.get("notebooks", []) if row.get("date")})
    if not dates:
        when = machine.get("date", "?")
    else:  # a subset run (NB=...) keeps older rows, possibly from another day
        when = dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
    threads = machine.get("omp_num_threads") or "unset"
    loads = sorted(row["load"] for row in times.get("notebooks", [])
                   if isinstance(row.get("load"), (int, float)) and math.isfinite(row["load"]))
    load = "" if not loads else (
        f" The 1-minute load average was {loads[0]:.1f}" + (f"-{loads[-1]:.1f}" if loads[-1] != loads[0] else "")
        + " when the notebooks started: wall seconds grow once it exceeds the CPUs (the kernels' CPU "
        "seconds are in `benchmarks/notebook_times.json`).")
    # `make run` sets OMP_NUM_THREADS=2; "unset" means tools/run_notebooks.py was run directly.
    how = "`make run`" if machine.get("omp_num_threads") else "`tools/run_notebooks.py` (what `make run` calls)"
    return (f"Measured by {how} on {machine.get('cpu') or 'an unknown CPU'} "
            f"({machine.get('cpu_count', '?')} CPUs, OMP_NUM_THREADS={threads}, "
            f"torch {machine.get('torch', '?')}) on {when}; the budget is {budget}.{load} "
            "Re-run `make run` on your own machine before a class.")


def render(notebooks_dir: Path = NOTEBOOKS, times_json: Path = TIMES_JSON) -> str:
    """The Markdown that belongs between the markers (without the markers)."""
    times = load_times(times_json)
    rows = {row["notebook"]: row for row in times.get("notebooks", [])}
    lines = ["| notebook | execute (s) | peak memory (MB) | learner time |",
             "|---|---:|---:|---:|"]
    for name, minutes in learner_minutes(notebooks_dir).items():
        row = rows.get(name, {})
        lines.append(f"| {display_name(name)} | {_measured(row, 'seconds', '.1f', BUDGET_SECONDS)} "
                     f"| {_measured(row, 'peak_mb', '.0f', BUDGET_MB)} | {minutes} min |")
    return "\n".join(lines) + "\n\n" + provenance(times)


def between_markers(text: str) -> str:
    """The text between the markers, stripped; ValueError if they are missing."""
    _, start, rest = text.partition(START)
    inner, end, _ = rest.partition(END)
    if not (start and end):
        raise ValueError(f"markers {START} ... {END} not found")
    return inner.strip()


def replace_block(text: str, block: str) -> str:
    """``text`` with the part between the markers replaced by ``block``."""
    between_markers(text)  # raises if the markers are missing
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{block}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if a file differs from what would be written")
    args = parser.parse_args(argv)
    block = render()
    stale = []
    for path in TARGETS:
        old = path.read_text(encoding="utf-8")
        new = replace_block(old, block)
        if new == old:
            continue
        if args.check:
            stale.append(path)
            rel = os.path.relpath(path, ROOT)
            sys.stdout.writelines(difflib.unified_diff(
                old.splitlines(True), new.splitlines(True), rel, rel + " (generated)"))
        else:
            path.write_text(new, encoding="utf-8")
            print(f"updated {os.path.relpath(path, ROOT)}")
    if stale:
        print(f"out of date: {', '.join(p.name for p in stale)}; run `python tools/time_table.py`",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
