"""A class on a real JupyterHub, measured on this machine (`make classroom`).

Starts JupyterHub (with configurable-http-proxy) bound to 127.0.0.1 only, a
dummy authenticator and a local process spawner, then lets N simulated
learners do what a browser would: log in with the hub's login form, start
their server, open notebooks through the hub's proxy and run every code cell
through the Jupyter server API (a kernel session, execute requests on the
kernel websocket). All learners work at the same time. A sampler adds up the
memory (RSS) and CPU time of each learner's process tree: the single-user
server and its kernels.

    python tools/classroom.py --learners 3 [--notebooks 00 01 06]

Writes build/classroom/report.json and prints a table. Bounded: every HTTP
request and websocket read has a timeout, the run stops itself after
--time-limit seconds (20 min by default), and every process it started is
ended on the way out, also on Ctrl-C or an error. Exit code 0 only if every
learner ran every notebook without an error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

import psutil
import requests
import websocket

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "classroom"
TEMPLATE = ROOT / "tools" / "classroom_hub_config.py.in"
PROXY_COMMAND = OUT / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
DEFAULT_NOTEBOOKS = ("00", "01", "06")

REQUEST_TIMEOUT_S = 30      # any single HTTP request
CELL_TIMEOUT_S = 600        # one code cell (notebook 06 trains for ~30 s on 2 free cores, minutes on a busy one)
SPAWN_TIMEOUT_S = 180       # login to a server that answers
SAMPLE_EVERY_S = 0.5        # memory / CPU sampler period
TIME_LIMIT_S = 20 * 60      # the whole run


class RunAborted(RuntimeError):
    """The run hit its time limit or was asked to stop."""


# ---------------------------------------------------------------- pure parts

def is_loopback(host: str) -> bool:
    """True for a literal loopback address (127.0.0.0/8, ::1) or 'localhost'."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_loopback(url: str) -> str:
    """Return `url` unchanged, or raise ValueError if its host is not loopback."""
    host = urlsplit(url).hostname or ""
    if not is_loopback(host):
        raise ValueError(f"classroom: refusing a non-loopback address {url!r}")
    return url


def render_hub_config(template: str, *, proxy_port: int, hub_port: int, proxy_api_port: int,
                      run_dir: Path, home_root: Path, singleuser_command: Path,
                      proxy_command: Path, learner_environment: dict[str, str]) -> str:
    """Fill the jupyterhub_config template; every value is inserted as a Python literal."""
    for port in (proxy_port, hub_port, proxy_api_port):
        if not (isinstance(port, int) and 0 < port < 65536):
            raise ValueError(f"not a TCP port: {port!r}")
    return string.Template(template).substitute(
        proxy_port=proxy_port, hub_port=hub_port, proxy_api_port=proxy_api_port,
        run_dir=repr(str(run_dir)), home_root=repr(str(home_root)),
        singleuser_command=repr(str(singleuser_command)), proxy_command=repr(str(proxy_command)),
        learner_environment=repr(dict(learner_environment)))


def notebook_paths(prefixes, folder: Path = ROOT / "notebooks") -> list[Path]:
    """['00', '06'] -> the notebooks whose names start with those numbers, in that order."""
    found = []
    for prefix in prefixes:
        matches = sorted(folder.glob(f"{prefix}_*.ipynb"))
        if len(matches) != 1:
            raise ValueError(f"expected one notebook {prefix}_*.ipynb in {folder}, found {len(matches)}")
        found.append(matches[0])
    return found


def summarise(learners: list[dict]) -> dict:
    """Class-level numbers: how many ok, the slowest learner, the largest peak memory."""
    ok = [entry for entry in learners if entry["ok"]]
    slowest = max(learners, key=lambda e: e["total_seconds"], default=None)
    return {
        "learners_ok": len(ok),
        "learners": len(learners),
        "slowest_learner": slowest["name"] if slowest else None,
        "slowest_seconds": slowest["total_seconds"] if slowest else None,
        "max_peak_mb": max((e["peak_mb"] for e in learners), default=None),
        "mean_cpu_seconds": (round(sum(e["cpu_seconds"] for e in learners) / len(learners), 1)
                             if learners else None),
        "failures": [f"{e['name']}: {err}" for e in learners for err in e["errors"]],
    }


def format_table(report: dict) -> str:
    """The table `make classroom` prints: one row per learner, then the class summary."""
    notebooks = report["notebooks"]
    header = ["learner", "ok"] + [f"{nb[:2]} (s)" for nb in notebooks] + \
             ["total (s)", "peak MB", "CPU s"]
    rows = []
    for entry in report["learners"]:
        seconds = [entry["seconds"].get(nb) for nb in notebooks]
        rows.append([entry["name"], "yes" if entry["ok"] else "NO"]
                    + ["-" if s is None else f"{s:.1f}" for s in seconds]
                    + [f"{entry['total_seconds']:.1f}", f"{entry['peak_mb']:.0f}",
                       f"{entry['cpu_seconds']:.1f}"])
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]

    def line(cells):
        return "  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths)))

    summary = report["summary"]
    out = [line(header), line(["-" * w for w in widths])] + [line(r) for r in rows]
    out.append("")
    out.append(f"learners ok: {summary['learners_ok']}/{summary['learners']}")
    if summary["slowest_learner"] is not None:
        out.append(f"slowest learner: {summary['slowest_learner']} "
                   f"({summary['slowest_seconds']:.1f} s for all notebooks)")
        out.append(f"largest peak memory: {summary['max_peak_mb']:.0f} MB per learner "
                   f"(server + kernels); mean CPU time {summary['mean_cpu_seconds']:.1f} s per learner")
    hub = report.get("hub")
    if hub:
        out.append(f"hub + proxy: peak {hub['peak_mb']:.0f} MB, {hub['cpu_seconds']:.1f} CPU s")
    out.append("failures: " + ("none" if not summary["failures"] else ""))
    out.extend(f"  {failure}" for failure in summary["failures"])
    return "\n".join(out)


# ---------------------------------------------------------------- processes

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Watch(threading.Thread):
    """Samples the hub's process tree: per learner (their server and all its
    children) the peak of summed RSS and the CPU time of every process seen."""

    def __init__(self, hub: subprocess.Popen):
        super().__init__(daemon=True)
        self.hub = psutil.Process(hub.pid)
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.peak_mb: dict[str, float] = {}
        self.cpu_by_pid: dict[int, tuple[str, float]] = {}
        self.seen: dict[int, psutil.Process] = {}

    def owner(self, server: psutil.Process) -> str:
        try:
            return server.environ().get("JUPYTERHUB_USER") or "hub"
        except (psutil.Error, OSError):
            return "hub"

    def sample(self) -> None:
        trees: dict[str, list[psutil.Process]] = {"hub": [self.hub]}
        try:
            children = self.hub.children()
        except psutil.Error:
            return
        for child in children:
            try:
                trees.setdefault(self.owner(child), []).extend([child] + child.children(recursive=True))
            except psutil.Error:
                continue
        with self.lock:
            for name, procs in trees.items():
                rss = 0
                for proc in procs:
                    try:
                        rss += proc.memory_info().rss
                        times = proc.cpu_times()
                        cpu = times.user + times.system  # children are sampled themselves
                    except psutil.Error:
                        continue
                    self.seen[proc.pid] = proc
                    self.cpu_by_pid[proc.pid] = (name, cpu)
                self.peak_mb[name] = max(self.peak_mb.get(name, 0.0), rss / 2**20)

    def run(self) -> None:
        while not self.stop_event.wait(SAMPLE_EVERY_S):
            self.sample()

    def cpu_seconds(self, name: str) -> float:
        with self.lock:
            return sum(cpu for owner, cpu in self.cpu_by_pid.values() if owner == name)

    def listening_addresses(self) -> list[str]:
        """Every TCP address a process of this run listens on."""
        found = []
        for proc in [self.hub] + list(self.seen.values()):
            try:
                connections = proc.net_connections(kind="inet")
            except psutil.Error:
                continue
            found += [c.laddr.ip for c in connections if c.status == psutil.CONN_LISTEN]
        return found


def end_processes(hub: subprocess.Popen | None, watch: Watch | None) -> None:
    """SIGTERM the hub (it stops the servers and the proxy), then kill anything left."""
    leftovers = list(watch.seen.values()) if watch else []
    if hub is not None:
        try:
            leftovers += psutil.Process(hub.pid).children(recursive=True)
        except psutil.Error:
            pass
        if hub.poll() is None:
            hub.send_signal(signal.SIGTERM)
            try:
                hub.wait(timeout=30)
            except subprocess.TimeoutExpired:
                hub.kill()
                hub.wait(timeout=10)
    for proc in leftovers:
        try:
            if proc.is_running():
                proc.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs([p for p in leftovers if p.is_running()], timeout=10)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass


# ---------------------------------------------------------------- learners

class Learner(threading.Thread):
    """One simulated learner: log in, start a server, run the notebooks, stop."""

    def __init__(self, name: str, base_url: str, notebooks: list[str], deadline: float,
                 stop_event: threading.Event, cpu_seconds=lambda name: 0.0):
        super().__init__(name=name, daemon=True)
        self.user = name
        self.base = require_loopback(base_url).rstrip("/")
        self.notebooks = notebooks
        self.deadline = deadline
        self.stop_event = stop_event
        self.cpu_seconds = cpu_seconds  # the sampler's running total for this learner
        self.http = requests.Session()
        self.token = ""
        self.result = {"name": name, "ok": False, "seconds": {}, "login_seconds": None,
                       "cpu_seconds_by_notebook": {}, "cells": {}, "errors": []}

    # -- helpers
    def remaining(self, cap: float) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0 or self.stop_event.is_set():
            raise RunAborted("time limit reached" if left <= 0 else "stopped")
        return min(cap, left)

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        response = self.http.request(method, self.base + path, headers=headers,
                                     timeout=self.remaining(REQUEST_TIMEOUT_S), **kwargs)
        return response

    def user_api(self, path: str) -> str:
        return f"/user/{quote(self.user)}/api{path}"

    # -- steps
    def log_in(self) -> None:
        """The hub's HTML login form (with its XSRF field), then an API token for the notebooks."""
        page = self.request("GET", "/hub/login")
        page.raise_for_status()
        xsrf = self.http.cookies.get("_xsrf", "")
        response = self.request("POST", "/hub/login", data={
            "username": self.user, "password": "learner", "_xsrf": xsrf}, allow_redirects=False)
        if response.status_code != 302:
            raise RuntimeError(f"login answered {response.status_code}")
        # The hub's own page asks for a token the same way: cookie + X-XSRFToken header.
        response = self.request("POST", f"/hub/api/users/{quote(self.user)}/tokens",
                                headers={"X-XSRFToken": self.http.cookies.get("_xsrf", xsrf)},
                                json={"note": "classroom simulation", "expires_in": TIME_LIMIT_S})
        response.raise_for_status()
        self.token = response.json()["token"]

    def start_server(self) -> None:
        response = self.request("POST", f"/hub/api/users/{quote(self.user)}/server")
        if response.status_code not in (201, 202, 400):  # 400: already running
            raise RuntimeError(f"spawn answered {response.status_code}: {response.text[:200]}")
        limit = time.monotonic() + SPAWN_TIMEOUT_S
        while time.monotonic() < limit:
            model = self.request("GET", f"/hub/api/users/{quote(self.user)}").json()
            server = model.get("servers", {}).get("")
            if server and server.get("ready"):
                status = self.request("GET", self.user_api("/status"))
                if status.status_code == 200:
                    return
            time.sleep(1)
            self.remaining(1)
        raise RuntimeError(f"server not ready within {SPAWN_TIMEOUT_S} s")

    def run_notebook(self, path: str) -> None:
        """Open the notebook as JupyterLab does (contents + session) and run its code cells."""
        contents = self.request("GET", self.user_api(f"/contents/{quote(path)}"))
        contents.raise_for_status()
        cells = contents.json()["content"]["cells"]
        session = self.request("POST", self.user_api("/sessions"), json={
            "path": path, "name": Path(path).name, "type": "notebook", "kernel": {"name": "python3"}})
        session.raise_for_status()
        session = session.json()
        kernel_id = session["kernel"]["id"]
        ws_url = ("ws" + self.base[len("http"):] + self.user_api(f"/kernels/{kernel_id}/channels")
                  + f"?session_id={uuid.uuid4().hex}")
        connection = websocket.create_connection(
            require_loopback(ws_url), header=[f"Authorization: token {self.token}"],
            timeout=self.remaining(REQUEST_TIMEOUT_S))
        ran = 0
        try:
            self.execute(connection, "", kernel_info=True)
            for cell in cells:
                if cell["cell_type"] != "code":
                    continue
                source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                expects_error = "raises-exception" in cell.get("metadata", {}).get("tags", [])
                ran += 1
                try:
                    error = self.execute(connection, source)
                except RuntimeError as exc:
                    raise RuntimeError(f"{Path(path).name} code cell {ran}: {exc}") from None
                if error and not expects_error:
                    raise RuntimeError(f"{Path(path).name} code cell {ran}: {error}")
        finally:
            self.result["cells"][Path(path).name] = ran
            connection.close()
            # The learner closes the notebook: its kernel ends (as "Shut Down Kernel" would).
            try:
                self.request("DELETE", self.user_api(f"/sessions/{session['id']}"))
            except requests.RequestException:
                pass

    def execute(self, connection, code: str, kernel_info: bool = False) -> str | None:
        """Send one request on the shell channel; wait for its reply. Returns an error or None."""
        msg_id = uuid.uuid4().hex
        msg_type = "kernel_info_request" if kernel_info else "execute_request"
        content = {} if kernel_info else {"code": code, "silent": False, "store_history": True,
                                          "user_expressions": {}, "allow_stdin": False,
                                          "stop_on_error": True}
        connection.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": msg_type, "username": self.user,
                       "session": msg_id, "version": "5.3",
                       "date": dt.datetime.now(dt.timezone.utc).isoformat()},
            "parent_header": {}, "metadata": {}, "content": content, "channel": "shell",
            "buffers": []}))
        limit = time.monotonic() + CELL_TIMEOUT_S
        error = None
        while True:
            connection.settimeout(self.remaining(max(0.1, limit - time.monotonic())))
            try:
                message = json.loads(connection.recv())
            except websocket.WebSocketTimeoutException:
                if time.monotonic() >= limit:
                    raise RuntimeError(f"no reply within {CELL_TIMEOUT_S} s") from None
                continue
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "error":
                error = f"{message['content']['ename']}: {message['content']['evalue']}"[:300]
            if message["channel"] == "shell" and message["msg_type"].endswith("_reply"):
                if message["content"].get("status") == "error" and error is None:
                    error = message["content"].get("ename", "error")
                return error

    def stop_server(self) -> None:
        try:
            self.request("DELETE", f"/hub/api/users/{quote(self.user)}/server")
        except (requests.RequestException, RunAborted):
            pass

    def run(self) -> None:
        started = time.monotonic()
        try:
            self.log_in()
            self.start_server()
            self.result["login_seconds"] = round(time.monotonic() - started, 1)
            for path in self.notebooks:
                begin, cpu_before = time.monotonic(), self.cpu_seconds(self.user)
                self.run_notebook(path)
                self.result["seconds"][Path(path).name] = round(time.monotonic() - begin, 1)
                # The kernel's last sample is at most SAMPLE_EVERY_S old when it shuts down.
                self.result["cpu_seconds_by_notebook"][Path(path).name] = round(
                    self.cpu_seconds(self.user) - cpu_before, 1)
                print(f"classroom: {self.user} ran {Path(path).name} in "
                      f"{self.result['seconds'][Path(path).name]:.0f} s", flush=True)
            self.result["ok"] = True
        except Exception as exc:  # a learner's failure is a result, not a crash
            self.result["errors"].append(f"{type(exc).__name__}: {exc}"[:400])
        finally:
            self.result["total_seconds"] = round(time.monotonic() - started, 1)
            self.stop_server()


# ---------------------------------------------------------------- the run

def prepare_homes(home_root: Path, names: list[str], notebooks: list[Path]) -> None:
    """Each learner gets a fresh copy of the notebooks, as an nbgitpuller link would give."""
    if home_root.exists():
        shutil.rmtree(home_root)
    for name in names:
        folder = home_root / name / "notebooks"
        folder.mkdir(parents=True)
        for notebook in notebooks:
            shutil.copy2(notebook, folder / notebook.name)


def wait_for_hub(base: str, hub: subprocess.Popen, deadline: float, log: Path) -> None:
    limit = min(deadline, time.monotonic() + 120)
    while time.monotonic() < limit:
        if hub.poll() is not None:
            raise RuntimeError(f"JupyterHub exited at start (code {hub.returncode}); see {log}")
        try:
            if requests.get(base + "/hub/api/", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"JupyterHub did not answer within 120 s; see {log}")


def run_class(n_learners: int, notebook_prefixes, time_limit: float, threads: int) -> dict:
    deadline = time.monotonic() + time_limit
    notebooks = notebook_paths(notebook_prefixes)
    venv_bin = Path(sys.executable).parent
    singleuser = venv_bin / "jupyterhub-singleuser"
    for needed, how in ((singleuser, "pip install jupyterhub (make classroom does)"),
                        (PROXY_COMMAND, "npm install --prefix build/classroom/node configurable-http-proxy")):
        if not needed.exists():
            raise SystemExit(f"classroom: {needed} is missing; {how}")

    run_dir, home_root = OUT / "run", OUT / "home"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    names = [f"learner{i + 1}" for i in range(n_learners)]
    prepare_homes(home_root, names, notebooks)

    proxy_port, hub_port, proxy_api_port = free_port(), free_port(), free_port()
    learner_env = {"OMP_NUM_THREADS": str(threads), "OMP_WAIT_POLICY": "PASSIVE",
                   "MPLBACKEND": "module://matplotlib_inline.backend_inline",
                   "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    config = run_dir / "jupyterhub_config.py"
    config.write_text(render_hub_config(
        TEMPLATE.read_text(), proxy_port=proxy_port, hub_port=hub_port,
        proxy_api_port=proxy_api_port, run_dir=run_dir, home_root=home_root,
        singleuser_command=singleuser, proxy_command=PROXY_COMMAND, learner_environment=learner_env))
    base = require_loopback(f"http://127.0.0.1:{proxy_port}")

    env = {**os.environ, "CLASSROOM_DRIVER_TOKEN": secrets.token_hex(24),
           "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    log = OUT / "hub.log"
    hub = watch = None
    stop_event = threading.Event()
    learners: list[Learner] = []
    started = dt.datetime.now(dt.timezone.utc)
    load_before = os.getloadavg()
    try:
        with open(log, "w") as log_file:
            hub = subprocess.Popen([str(venv_bin / "jupyterhub"), "-f", str(config)], cwd=run_dir,
                                   stdout=log_file, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True)
        watch = Watch(hub)
        watch.start()
        wait_for_hub(base, hub, deadline, log)
        print(f"classroom: JupyterHub answers at {base}/hub/ ({n_learners} learners, "
              f"OMP_NUM_THREADS={threads} each)", flush=True)
        learners = [Learner(name, base, [f"notebooks/{nb.name}" for nb in notebooks], deadline,
                            stop_event, watch.cpu_seconds) for name in names]
        for learner in learners:
            learner.start()
        # Learners stop themselves at the deadline; one stuck in a request gets a minute more.
        for learner in learners:
            learner.join(timeout=max(0.0, deadline + 60 - time.monotonic()))
        for learner in learners:
            if learner.is_alive():
                learner.result["errors"].append(f"RunAborted: still running after the {time_limit:.0f} s limit")
                learner.result.setdefault("total_seconds", round(time_limit, 1))
        watch.sample()
        listening = sorted(set(watch.listening_addresses()))
    finally:
        stop_event.set()
        if watch:
            watch.stop_event.set()
        end_processes(hub, watch)
    bad = [ip for ip in listening if not is_loopback(ip)]
    if bad:
        raise RuntimeError(f"a process of this run listened on a non-loopback address: {bad}")

    entries = []
    for learner in learners:
        entry = dict(learner.result)
        entry["peak_mb"] = round(watch.peak_mb.get(learner.user, 0.0), 1)
        entry["cpu_seconds"] = round(watch.cpu_seconds(learner.user), 1)
        entries.append(entry)
    return {
        "date": started.isoformat(timespec="seconds"),
        "machine": {"cpu_count": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
                    "load_average_1min_before": round(load_before[0], 2),
                    "load_average_1min_after": round(os.getloadavg()[0], 2),
                    "omp_num_threads_per_learner": threads},
        "notebooks": [nb.name for nb in notebooks],
        "listening_addresses": listening,
        "hub": {"peak_mb": round(watch.peak_mb.get("hub", 0.0), 1),
                "cpu_seconds": round(watch.cpu_seconds("hub"), 1)},
        "learners": entries,
        "summary": summarise(entries),
    }


def interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=int(os.environ.get("LEARNERS", 4)))
    parser.add_argument("--notebooks", nargs="+", default=list(DEFAULT_NOTEBOOKS),
                        help="notebook numbers, e.g. 00 01 06")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("LEARNER_THREADS", 2)),
                        help="OMP_NUM_THREADS of each learner's kernels")
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT_S, help="seconds for the whole run")
    parser.add_argument("--report", type=Path, default=OUT / "report.json")
    args = parser.parse_args(argv)
    if not 1 <= args.learners <= 64:
        parser.error("--learners must be between 1 and 64")

    # Ctrl-C and SIGTERM unwind through run_class's `finally`, which ends every process.
    signal.signal(signal.SIGTERM, interrupt)
    OUT.mkdir(parents=True, exist_ok=True)
    report = run_class(args.learners, args.notebooks, args.time_limit, args.threads)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=1) + "\n")
    print(format_table(report))
    print(f"classroom: report in {args.report.relative_to(ROOT) if args.report.is_relative_to(ROOT) else args.report}")
    return 0 if report["summary"]["learners_ok"] == report["summary"]["learners"] else 1


if __name__ == "__main__":
    sys.exit(main())
