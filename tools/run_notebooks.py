#!/usr/bin/env python
"""Execute notebooks headless and report wall time and peak kernel memory.

Usage::

    python tools/run_notebooks.py [--inplace] [--timeout 600] [--strict] [--cells N]
                                  [--markdown OUT.md] [--json OUT.json] NB [NB ...]

Each notebook runs top to bottom with nbclient in its own child process
(``python tools/run_notebooks.py --one NB``) started from this same
interpreter, with the notebook's folder as working directory. The kernel is
``python3``; jupyter_client replaces a kernelspec's bare ``python`` with
``sys.executable``, so the kernel is this venv's ipykernel (checked at run
time: the kernel's command line must start with ``sys.executable``).

Peak memory
    Primary method: ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` in the
    child process after the kernel has shut down. jupyter_client's local
    provisioner ``wait()``s on the kernel process, so the kernel is reaped and
    its high-water RSS is accounted to the child (verified per run: the
    kernel pid must no longer be waitable). This is exact for the kernel
    process itself and cannot miss a short spike.
    Cross-check / fallback: a thread samples the summed RSS of the child's
    whole process tree (the kernel and anything it spawned) every 0.05 s with
    psutil. If the kernel was not reaped, or its own subprocesses used more
    than the kernel alone, the psutil figure is reported and the row is
    marked ``*`` (method ``psutil``).

Budget: 60 s and 1536 MB (1.5 GB) per notebook on 2 CPU cores. Rows over
budget are flagged ``OVER``. The exit status is non-zero if any notebook
fails, and with ``--strict`` also if any is over budget.

``--json OUT.json`` stores the rows (notebook file name, seconds,
cpu_seconds, load (the 1-minute load average when the notebook started),
peak_mb, status, date) and a ``machine`` record (CPU model, CPU count,
OMP_NUM_THREADS, torch version, date). An existing file is merged by
notebook name, so a subset run (``NB=... make run``) only replaces its own
rows. ``make run`` writes ``benchmarks/notebook_times.json``, from which
``tools/time_table.py`` renders the tables in README.md and the instructor
guide.

``--cells N`` prints, after each notebook, its N slowest code cells with wall
and kernel CPU seconds (psutil, before and after each cell): where to look
when a notebook is over budget.

``--inplace`` writes the executed notebook (outputs stored, no timing
metadata) back to its file - this is what gets committed. A notebook that
fails is not written back.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BUDGET_SECONDS = 60.0
BUDGET_MB = 1536.0
SAMPLE_INTERVAL = 0.05


# --------------------------------------------------------------------------
# child: run a single notebook
# --------------------------------------------------------------------------
class _TreeSampler(threading.Thread):
    """Sample the summed RSS of this process's descendants (not itself)."""

    def __init__(self, interval: float = SAMPLE_INTERVAL):
        super().__init__(daemon=True)
        self.interval = interval
        self.peak_bytes = 0
        self.first_child_pid: int | None = None
        self.first_child_cmdline: list[str] | None = None
        self._stop_event = threading.Event()

    def run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop_event.is_set():
            total = 0
            try:
                children = me.children(recursive=True)
            except psutil.Error:
                children = []
            for proc in children:
                try:
                    total += proc.memory_info().rss
                    if self.first_child_pid is None and proc.ppid() == me.pid:
                        self.first_child_pid = proc.pid
                        self.first_child_cmdline = proc.cmdline()
                except psutil.Error:
                    pass
            self.peak_bytes = max(self.peak_bytes, total)
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def _maxrss_children_mb() -> float:
    import resource

    value = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return value / (1024 * 1024) if sys.platform == "darwin" else value / 1024


def _cpu_children_seconds() -> float:
    """User + system CPU seconds of this process's reaped children (the kernel and its subprocesses)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):  # not available on this platform
        return None


def _kernel_was_reaped(pid: int | None) -> bool:
    """True if ``pid`` (a child of ours) has been waited for, i.e. its usage is accounted."""
    if pid is None:
        return False
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True  # already reaped by jupyter_client
    return done == pid  # we reaped it just now: accounted as well


def _kernel_cpu(client) -> float:
    """CPU seconds (user + system, its own and its reaped children's) of the client's kernel so far."""
    import psutil

    try:
        t = psutil.Process(client.km.provisioner.process.pid).cpu_times()
        return t.user + t.system + t.children_user + t.children_system
    except Exception:  # no kernel yet or it has gone
        return float("nan")


class _CellClock:
    """Wall and kernel CPU seconds of every code cell (``--cells``: where a notebook's time goes).

    The kernel's CPU time (user + system, its own and its reaped children's) is read with
    psutil before and after each cell, so a busy machine inflates the wall column but
    hardly the CPU column.
    """

    def __init__(self, client):
        self.client = client
        self.rows: list[dict] = []
        self._start: tuple[float, float] | None = None

    def before(self, cell, cell_index, **_):
        self._start = (time.perf_counter(), _kernel_cpu(self.client))

    def after(self, cell, cell_index, **_):
        if self._start is None:
            return
        wall, cpu = self._start
        first = next((line for line in cell.source.splitlines() if line.strip()), "")
        self.rows.append({"cell": cell_index, "seconds": round(time.perf_counter() - wall, 2),
                          "cpu_seconds": round(_kernel_cpu(self.client) - cpu, 2), "first_line": first[:70]})


class _Nudger:
    """Wake a kernel that sits idle while a cell waits for its reply.

    With ipykernel 6.31 / pyzmq 27 the kernel now and then misses the wake-up
    for an ``execute_request`` that has already reached its shell socket: the
    kernel sits idle, the client waits for a reply that never comes (seen for
    240-600 s; nbclient's cell timeout would end it much later). A message from
    a new connection wakes it, and the kernel then reads both. So while a cell
    runs, every ``every`` seconds in which the kernel used next to no CPU (under
    0.05 s: idle threads tick), this sends a ``kernel_info_request`` over a
    connection of its own, which also takes the reply. A nudge costs nothing
    when the kernel is merely waiting; the number sent is reported as ``nudges``.
    """

    def __init__(self, client, every: float = 10.0):
        self.client, self.every, self.sent = client, every, 0
        self._task = None

    async def _watch(self):
        import asyncio

        last = _kernel_cpu(self.client)
        while True:
            await asyncio.sleep(self.every)
            now = _kernel_cpu(self.client)
            if now - last < 0.05:  # next to no CPU in `every` seconds: a lost wake-up, or a sleeping cell
                await asyncio.to_thread(self._nudge)
                self.sent += 1
            last = now

    def _nudge(self):
        """A ``kernel_info_request`` over a connection of its own (one on the client's own shell
        socket does not wake the kernel: seen here)."""
        from jupyter_client import BlockingKernelClient

        kc = BlockingKernelClient()
        kc.load_connection_info(self.client.km.get_connection_info())
        kc.start_channels(iopub=False, stdin=False, hb=False, control=False)
        try:
            kc.kernel_info()
            kc.get_shell_msg(timeout=5)
        except Exception:  # no reply within 5 s: the kernel is busy after all, which is fine
            pass
        finally:
            kc.stop_channels()

    def start(self, **_):
        import asyncio

        self._task = asyncio.get_running_loop().create_task(self._watch())

    def stop(self, **_):
        if self._task is not None:
            self._task.cancel()
            self._task = None


def _poll_in_slices() -> None:
    """Make the client notice a message that has already arrived (the other half of :class:`_Nudger`).

    The same lost wake-up happens on the client's side: the kernel has run every cell (its
    execution count says so) while nbclient still waits in one long ``poll`` of its shell
    socket for the reply. Here every wait is cut into 1 s polls, each followed by a direct
    look at the socket's ``EVENTS``, which finds a message the event loop was never told
    about. (A patch of jupyter_client's async channel, in this tool's child process only.)
    """
    import zmq
    from jupyter_client.channels import AsyncZMQSocketChannel

    async def get_msg(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            wait_ms = 1000 if left is None else int(1000 * max(0.0, min(1.0, left)))
            if await self.socket.poll(wait_ms) or self.socket.get(zmq.EVENTS) & zmq.POLLIN:
                return await self._recv()
            if left is not None and left <= 1.0:
                raise Empty

    from queue import Empty

    AsyncZMQSocketChannel.get_msg = get_msg


def format_cells(row: dict, top: int) -> str:
    """The ``top`` slowest cells of one notebook's run (``--cells``)."""
    cells = sorted(row.get("cells", []), key=lambda c: -c["seconds"])[:top]
    lines = [f"{Path(row['notebook']).name}: the {len(cells)} slowest cells "
             f"(wall s / kernel CPU s)"]
    lines += [f"  [{c['cell']:3d}] {c['seconds']:6.1f} {c['cpu_seconds']:6.1f}  {c['first_line']}"
              for c in cells]
    return "\n".join(lines)


def run_one(path: Path, timeout: int, inplace: bool, cells: bool = False) -> dict:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    _poll_in_slices()
    path = path.resolve()
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,  # no per-cell timestamps in committed notebooks
        resources={"metadata": {"path": str(path.parent)}},
    )
    clock = _CellClock(client) if cells else None
    nudger = _Nudger(client)

    def before(**kwargs):
        if clock:
            clock.before(**kwargs)
        nudger.start()

    def after(**kwargs):
        nudger.stop()
        if clock:
            clock.after(**kwargs)

    client.on_cell_execute, client.on_cell_executed = before, after
    sampler = _TreeSampler()
    sampler.start()
    status, detail = "ok", ""
    load_before = _load_average()
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as error:
        status = "error"
        detail = (getattr(error, "ename", "") + ": " + getattr(error, "evalue", "")).strip(": ")
        detail = detail or str(error).strip().splitlines()[-1]
    except CellTimeoutError as error:
        status, detail = "timeout", str(error).strip().splitlines()[0]
    except Exception as error:  # kernel died, could not start, ...
        status, detail = "error", f"{type(error).__name__}: {error}"
    seconds = time.perf_counter() - start
    sampler.stop()

    kernel_cmd = sampler.first_child_cmdline or []
    same_python = bool(kernel_cmd) and kernel_cmd[0] == sys.executable
    rusage_mb = _maxrss_children_mb()
    reaped = _kernel_was_reaped(sampler.first_child_pid)
    cpu_seconds = _cpu_children_seconds() if reaped else float("nan")
    psutil_mb = sampler.peak_bytes / (1024 * 1024)
    if reaped and rusage_mb > 0 and rusage_mb >= 0.98 * psutil_mb:
        peak_mb, method = rusage_mb, "getrusage"
    else:
        peak_mb, method = psutil_mb, "psutil"

    if inplace and status == "ok":
        nbformat.write(nb, path)
    return {
        "notebook": str(path),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "load_before": load_before,
        "load_after": _load_average(),
        "peak_mb": round(peak_mb, 1),
        "method": method,
        "rusage_mb": round(rusage_mb, 1),
        "psutil_mb": round(psutil_mb, 1),
        "kernel_reaped": reaped,
        "kernel_cmd": kernel_cmd[:3],
        "kernel_is_this_python": same_python,
        "status": status,
        "detail": detail,
        "cells": clock.rows if clock else [],
        "nudges": nudger.sent,
    }


# --------------------------------------------------------------------------
# parent: one child process per notebook, then the table
# --------------------------------------------------------------------------
def run_in_child(path: Path, timeout: int, inplace: bool, cells: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--one", str(path.resolve()),
               "--timeout", str(timeout), "--result-json", str(out)]
        if inplace:
            cmd.append("--inplace")
        if cells:
            cmd.append("--cells-in-child")
        proc = subprocess.run(cmd, cwd=path.resolve().parent)
        if out.exists():
            return json.loads(out.read_text())
    return {"notebook": str(path), "seconds": float("nan"), "peak_mb": float("nan"),
            "method": "-", "status": "error", "detail": f"runner exited with code {proc.returncode}"}


def over_budget(row: dict) -> bool:
    return row["seconds"] > BUDGET_SECONDS or row["peak_mb"] > BUDGET_MB


def format_table(rows: list[dict], markdown: bool = False) -> str:
    header = ["notebook", "seconds", "CPU s", "load", "peak MB", "status"]
    lines = []
    for row in rows:
        status = row["status"]
        if status != "ok" and row.get("detail"):
            status += f" ({row['detail'][:60]})"
        if row.get("nudges"):
            status += f" ({row['nudges']} nudge{'s' if row['nudges'] > 1 else ''})"
        if over_budget(row):
            status += " OVER"
        mark = "*" if row.get("method") == "psutil" else ""
        cpu = row.get("cpu_seconds")
        load = [x for x in (row.get("load_before"), row.get("load_after")) if x is not None]
        lines.append([Path(row["notebook"]).name, f"{row['seconds']:.1f}",
                      "-" if cpu is None or not math.isfinite(cpu) else f"{cpu:.1f}",
                      "-".join(f"{x:.1f}" for x in load) or "-",
                      f"{row['peak_mb']:.0f}{mark}", status])
    note = (f"Budget: {BUDGET_SECONDS:.0f} s and {BUDGET_MB:.0f} MB per notebook. "
            "Peak MB = the kernel's peak RSS from getrusage(RUSAGE_CHILDREN) after it was "
            "reaped; * = summed RSS of the kernel's process tree sampled every 0.05 s "
            "(psutil), used when that was larger or the kernel was not reaped. CPU s = user + "
            "system seconds of the kernel (and its subprocesses); load = 1-minute load average "
            "before-after: wall seconds inflate when it exceeds the CPUs.")
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    note += f" OMP_NUM_THREADS={threads}, {os.cpu_count()} CPUs visible."
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|---|---:|---:|---:|---:|---|"]
        out += ["| " + " | ".join(cells) + " |" for cells in lines]
        return "\n".join(out) + "\n\n" + note + "\n"
    widths = [max(len(h), *(len(r[i]) for r in lines)) if lines else len(h)
              for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:{'<' if i in (0, 5) else '>'}{w}}}" for i, w in enumerate(widths))
    out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*cells) for cells in lines]
    return "\n".join(out) + "\n" + note


def machine_record() -> dict:
    """CPU model, CPU count, threads, torch version and date of this run."""
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:  # not Linux
        pass
    try:  # the version without importing torch (seconds) in the parent
        from importlib.metadata import version
        torch = version("torch")
    except Exception:
        torch = None
    return {"cpu": cpu, "cpu_count": os.cpu_count(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "torch": torch,
            "date": datetime.date.today().isoformat()}


def write_json(rows: list[dict], path: Path) -> None:
    """Merge ``rows`` into the JSON file at ``path`` by notebook name (see module doc)."""
    def finite(value):  # NaN (runner crashed) is not valid JSON
        return value if isinstance(value, (int, float)) and math.isfinite(value) else None

    machine = machine_record()
    old = json.loads(path.read_text()) if path.exists() else {}
    merged = {row["notebook"]: row for row in old.get("notebooks", [])}
    before = {k: old.get("machine", {}).get(k) for k in ("cpu", "cpu_count", "omp_num_threads")}
    kept = set(merged) - {Path(r["notebook"]).name for r in rows}
    if kept and not old.get("placeholder") and before != {k: machine[k] for k in before}:
        print(f"warning: {path} keeps {len(kept)} row(s) measured on another machine "
              f"({before})", file=sys.stderr)
    for row in rows:
        name = Path(row["notebook"]).name
        merged[name] = {"notebook": name, "seconds": finite(row["seconds"]),
                        "cpu_seconds": finite(row.get("cpu_seconds")),
                        "load": finite(row.get("load_before")),
                        "peak_mb": finite(row["peak_mb"]), "status": row["status"],
                        "date": machine["date"]}
    data = {"machine": machine, "notebooks": [merged[k] for k in sorted(merged)]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {path}; `python tools/time_table.py` puts it into README.md and the "
          "instructor guide", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--inplace", action="store_true", help="save executed notebooks back")
    parser.add_argument("--timeout", type=int, default=600, help="per-cell timeout in seconds")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    parser.add_argument("--json", type=Path,
                        help="merge seconds, peak MB and status into this JSON file")
    parser.add_argument("--strict", action="store_true", help="fail when a notebook is over budget")
    parser.add_argument("--cells", type=int, default=0, metavar="N",
                        help="also print each notebook's N slowest cells (wall and kernel CPU s)")
    parser.add_argument("--cells-in-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result-json", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.one is not None:  # child mode
        result = run_one(args.one, args.timeout, args.inplace, cells=args.cells_in_child)
        if args.result_json:
            args.result_json.write_text(json.dumps(result))
        else:
            print(json.dumps(result, indent=1))
        return 0 if result["status"] == "ok" else 1

    if not args.notebooks:
        parser.error("no notebooks given")
    rows = []
    for nb in args.notebooks:
        if not nb.exists():
            print(f"skip: {nb} does not exist", file=sys.stderr)
            continue
        print(f"running {nb} ...", file=sys.stderr, flush=True)
        row = run_in_child(nb, args.timeout, args.inplace, cells=args.cells > 0)
        if args.cells:
            print(format_cells(row, args.cells), file=sys.stderr, flush=True)
        if row.get("kernel_cmd") and not row.get("kernel_is_this_python"):
            print(f"warning: kernel ran {row['kernel_cmd'][0]!r}, not {sys.executable!r}",
                  file=sys.stderr)
        rows.append(row)
    if not rows:
        print("no notebooks to run", file=sys.stderr)
        return 1
    print(format_table(rows))
    if args.markdown:
        args.markdown.write_text(format_table(rows, markdown=True))
    if args.json:
        write_json(rows, args.json)
    failed = [r for r in rows if r["status"] != "ok"]
    over = [r for r in rows if over_budget(r)]
    if failed:
        print(f"{len(failed)} notebook(s) failed", file=sys.stderr)
        return 1
    if over:
        print(f"{len(over)} notebook(s) over budget", file=sys.stderr)
        if args.strict:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
