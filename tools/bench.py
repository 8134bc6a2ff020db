#!/usr/bin/env python
"""The method showdown and the notebook profile -> benchmarks/RESULTS.md (``make bench``).

Usage::

    python tools/bench.py [--methods threshold,unet] [--cases 20] [--skip-notebooks]
                          [--merge] [--out benchmarks]

1. Every method of ``medseg_edu.methods.METHODS`` segments the first N cases
   of the phantom test split (default all 20) through its common entry point
   ``medseg_edu.methods.get(name).segment(image, spacing)``, plus the
   ellipsoid formula as a volume-only row. Per case: Dice, HD95 (mm), volume
   error (%) and seconds; written to ``<out>/results.csv``.
2. Every notebook runs headless with ``tools/run_notebooks.py --markdown``
   (seconds and peak memory, against the 60 s / 1.5 GB budget).
3. ``<out>/RESULTS.md`` gets a table per method, a table per notebook and
   the machine (CPU, cores, threads, torch version, date).

This takes minutes (the patch CNN is slow by design, the atlas method
registers several atlases per case); it is not part of ``make test``.
With ``--skip-notebooks`` the notebook table of an existing RESULTS.md is
kept. ``--report-only`` rebuilds RESULTS.md from an existing results.csv
(no method runs). With ``--merge`` the rows of the methods run now replace theirs in an
existing results.csv and the other methods' rows are kept (e.g. to re-run
one method after re-training its weights).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_HEADING = "## Notebooks: time and peak memory"


def machine() -> dict:
    """CPU model, core count, thread setting and library versions of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = f"{os.getloadavg()[0]:.1f}"
    except (AttributeError, OSError):
        load = "n/a"
    info = {"cpu": cpu, "cores": os.cpu_count(), "threads": os.environ.get("OMP_NUM_THREADS", "unset"),
            "load": load,
            "python": platform.python_version(), "platform": platform.platform(terse=True),
            "date": _dt.date.today().isoformat()}
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        info["torch"] = "not installed"
    import numpy

    info["numpy"] = numpy.__version__
    return info


def results_markdown(summary, machine_info, *, n_cases, notebooks_md=None, csv_name="results.csv") -> str:
    """The whole RESULTS.md text from a method summary and an optional notebook table."""
    from medseg_edu import showdown

    m = machine_info
    parts = [
        "# Benchmarks",
        "",
        "Made by `make bench` (`tools/bench.py`); do not edit by hand. Educational software on "
        "synthetic phantoms - not for clinical use.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores visible, OMP_NUM_THREADS={m['threads']}"
        + (f" (torch uses {m['torch_threads']} threads)" if "torch_threads" in m else "")
        + f"; Python {m['python']}, torch {m['torch']}, numpy {m['numpy']}; {m['platform']}. "
        + (f"Load average when the run began: {m['load']} (seconds grow with other work on the "
           "machine). " if m.get("load") not in (None, "n/a") else "")
        + f"Date: {m['date']}.",
        "",
        "## Methods on the phantom test split",
        "",
        f"{n_cases} test cases (`prostate_split('test')`, volumes and spacings drawn like MSD Task05). "
        "Each method runs through `medseg_edu.methods.get(name).segment(image, spacing)` with its "
        "defaults (the deep methods with the bundled weights in `data/weights/`). Dice and HD95 are "
        "for the whole gland against the known truth; volume error is signed, in % of the true "
        "volume; seconds are the wall time of `segment` per case (CPU). `ellipsoid` is a volume-only "
        "row: the ellipsoid formula on diameters measured from the *true* mask (perfect callipers), "
        f"so it has no Dice or HD95. Per-case numbers: `{csv_name}`.",
        "",
        showdown.markdown_table(summary),
    ]
    fewer = [f"{s['method']} ({s['cases']})" for s in summary if s["cases"] < n_cases]
    if fewer:
        parts += [f"Run on the first cases only, to bound the run time (`--limit`): {', '.join(fewer)}. "
                  "Their means are over those cases; seconds per case are measured all the same.", ""]
    ranked = showdown.ranking(summary)
    if ranked:
        parts += ["Ranking by mean Dice: " + ", ".join(f"{name} ({d:.2f})" for name, d in ranked) + ".", ""]
    parts += [NOTEBOOK_HEADING, ""]
    parts += [notebooks_md.strip() if notebooks_md else "Not measured in this run (`--skip-notebooks`).", ""]
    return "\n".join(parts)


def merge_rows(old, new):
    """Rows of ``new`` replace the rows of the same methods in ``old``; sorted by case, then method."""
    from medseg_edu import methods, showdown

    replaced = {r["method"] for r in new}
    rows = [r for r in old if r["method"] not in replaced] + list(new)
    order = {name: i for i, name in enumerate((*methods.METHODS, showdown.ELLIPSOID))}
    return sorted(rows, key=lambda r: (r["case"], order.get(r["method"], len(order))))


def previous_notebook_table(path: Path) -> str | None:
    """The notebook section of an existing RESULTS.md, to keep it with --skip-notebooks."""
    if not path.exists():
        return None
    text = path.read_text()
    if NOTEBOOK_HEADING not in text:
        return None
    section = text.split(NOTEBOOK_HEADING, 1)[1].strip()
    if section.startswith("Not measured"):
        return None
    return section


def profile_notebooks(notebooks) -> str:
    """Run the notebooks headless and return run_notebooks.py's Markdown table."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "notebooks.md"
        cmd = [sys.executable, str(ROOT / "tools" / "run_notebooks.py"), "--markdown", str(out),
               *map(str, notebooks)]
        subprocess.run(cmd, cwd=ROOT)  # a failing notebook is reported in the table, not fatal here
        if not out.exists():
            return "The notebook runner produced no table (see the console output of `make bench`)."
        return out.read_text()


def main(argv=None) -> int:
    from medseg_edu import showdown

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", help="comma-separated method names (default: all)")
    parser.add_argument("--cases", type=int, default=20, help="first N test cases (default 20)")
    parser.add_argument("--skip-notebooks", action="store_true", help="do not run the notebooks")
    parser.add_argument("--limit", action="append", default=[], metavar="METHOD=N",
                        help="run METHOD on the first N cases only (repeatable), e.g. patch_cnn=5")
    parser.add_argument("--report-only", action="store_true",
                        help="run no method: rebuild RESULTS.md from the existing results.csv")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other methods' rows of an existing results.csv")
    parser.add_argument("--out", type=Path, default=showdown.BENCHMARK_DIR, help="output folder")
    args = parser.parse_args(argv)

    from medseg_edu import methods, showdown
    from medseg_edu.data import prostate_split

    names = tuple(n.strip() for n in args.methods.split(",") if n.strip()) if args.methods else methods.METHODS
    unknown = [n for n in names if n not in methods.METHODS]
    if unknown:
        parser.error(f"unknown method(s) {unknown}; choose from {', '.join(methods.METHODS)}")
    limits = {}
    for item in args.limit:
        name, _, n = item.partition("=")
        if name not in methods.METHODS or not n.isdigit() or int(n) < 1:
            parser.error(f"--limit wants METHOD=N with a known method and N >= 1, got {item!r}")
        limits[name] = int(n)
    test = prostate_split("test")
    if not 1 <= args.cases <= len(test):
        parser.error(f"--cases must be between 1 and {len(test)}, got {args.cases}")

    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    info = machine()
    sidecar = args.out / "machine.json"   # the machine the methods ran on, for --report-only
    if args.report_only:
        rows = showdown.read_csv(args.out / "results.csv")
        if sidecar.exists():
            info = json.loads(sidecar.read_text())
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        sidecar.write_text(json.dumps(info, indent=1) + "\n")
        old = showdown.read_csv(args.out / "results.csv") if args.merge and (args.out / "results.csv").exists() else []
        save = lambda so_far: showdown.write_csv(merge_rows(old, so_far), args.out / "results.csv")  # noqa: E731
        rows = merge_rows(old, showdown.run(test[:args.cases], names, limits=limits, log=log, on_case=save))
    csv_path = showdown.write_csv(rows, args.out / "results.csv")
    summary = showdown.summarise(rows)
    print(showdown.markdown_table(summary))

    results = args.out / "RESULTS.md"
    if args.skip_notebooks:
        notebooks_md = previous_notebook_table(results)
    else:
        notebooks_md = profile_notebooks(sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    results.write_text(results_markdown(summary, info, n_cases=len({r["case"] for r in rows}), notebooks_md=notebooks_md,
                                        csv_name=csv_path.name))
    print(f"wrote {results.relative_to(ROOT) if results.is_relative_to(ROOT) else results} "
          f"and {csv_path.name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
