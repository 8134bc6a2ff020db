"""End-to-end check that the notebooks' widgets work in a real browser.

nbval never renders a widget, so this script starts JupyterLab from the
project's venv on a free localhost port, opens notebooks in headless
Chromium (Debian's, driven by Playwright), runs all cells, moves sliders and
asserts that the explorer's printed text and its figure change. Screenshots
before and after each move go to build/e2e/.

    python tools/e2e.py [--keep-open]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "e2e"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook tab in front
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class StepFailed(RuntimeError):
    """One step of the browser test did not happen."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_lab(workdir: Path, port: int, token: str) -> subprocess.Popen:
    jupyter = Path(sys.executable).with_name("jupyter")
    cmd = [str(jupyter), "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={workdir}",
           "--ServerApp.disable_check_xsrf=True", "--allow-root", "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=", "--LabServerApp.extension_manager=readonly"]
    log = open(OUT / "jupyterlab.log", "w")
    # Render every cell (JupyterLab 4 otherwise only renders cells in view) and skip the news prompt.
    settings = OUT / "lab-settings"
    for plugin, values in {"@jupyterlab/notebook-extension/tracker": '{"windowingMode": "none"}',
                           "@jupyterlab/apputils-extension/notification": '{"fetchNews": "false"}'}.items():
        target = settings / (plugin + ".jupyterlab-settings")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(values)
    env = {**os.environ, "OMP_NUM_THREADS": "2", "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTER_CONFIG_DIR": str(OUT / "jupyter-config")}
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise StepFailed(f"JupyterLab exited at start (code {proc.returncode}); see {OUT / 'jupyterlab.log'}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.5)
    raise StepFailed(f"JupyterLab did not listen on port {port} within 90 s; see {OUT / 'jupyterlab.log'}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)


def step(message: str) -> None:
    print(f"e2e: {message}", flush=True)


def open_and_run_all(page, base: str, notebook: str, timeout_s: float) -> None:
    step(f"opening {notebook}")
    page.goto(f"{base}/lab/tree/{notebook}?reset", wait_until="domcontentloaded")
    page.wait_for_selector(f"{PANEL} .jp-Cell", timeout=60_000)
    _wait_idle(page, 120)
    step("running all cells")
    page.locator(f"{PANEL} .jp-Cell").first.click()
    page.keyboard.press("Escape")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    time.sleep(2)
    _wait_idle(page, timeout_s)
    errors = page.locator(f"{PANEL} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'] >> text=Traceback")
    if errors.count():
        raise StepFailed(f"{notebook}: a cell raised an error in the browser run")


def _wait_idle(page, timeout_s: float) -> None:
    """Wait until the kernel has started and every cell has an execution count or none queued."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        busy = page.evaluate("""() => {
            const app = window.jupyterapp; if (!app) return true;
            const w = app.shell.currentWidget; if (!w || !w.sessionContext) return true;
            const k = w.sessionContext.session && w.sessionContext.session.kernel;
            if (!k) return true;
            const queued = document.querySelectorAll('.jp-InputArea-prompt');
            for (const p of queued) { if (p.textContent.includes('[*]')) return true; }
            return k.status !== 'idle';
        }""")
        if not busy:
            return
        time.sleep(1.0)
    raise StepFailed(f"the kernel was still busy after {timeout_s:.0f} s")


def explorer_with_text(page, needle: str):
    """The first live explorer (.widget-vbox) whose output mentions ``needle``."""
    boxes = page.locator(f"{PANEL} .jp-OutputArea-output .widget-vbox")
    for i in range(boxes.count()):
        box = boxes.nth(i)
        if needle.lower() in box.inner_text().lower():
            return box
    raise StepFailed(f"no live explorer whose output mentions {needle!r} (widgets did not render?)")


def set_slider(box, description: str, value) -> None:
    """Type a new value into the slider's readout (as a learner can) and press Enter."""
    slider = box.locator(".widget-slider", has=box.page.locator(f"label:text-is('{description}')")).first
    if not slider.count():
        raise StepFailed(f"no slider labelled {description!r} in the explorer")
    readout = slider.locator(".widget-readout")
    readout.click()
    readout.press("Control+a")
    readout.type(str(value))
    readout.press("Enter")


def output_state(box):
    """Text and figure data of an explorer's output area."""
    text = box.locator(".widget-output").inner_text()
    images = box.locator(".widget-output img")
    src = images.first.get_attribute("src") if images.count() else ""
    return text, src


def wait_for_change(box, before, timeout_s: float = 60.0, need_text=True):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        after = output_state(box)
        if (after[0] != before[0] or not need_text) and after[1] and after[1] != before[1]:
            time.sleep(2.0)  # let the new figure finish painting before the screenshot
            return output_state(box)
        time.sleep(0.5)
    return output_state(box)


def check_threshold_slider(page, base):
    open_and_run_all(page, base, "01_thresholding.ipynb", timeout_s=300)
    box = explorer_with_text(page, "Dice")
    box.scroll_into_view_if_needed()
    time.sleep(2)
    before = output_state(box)
    page.screenshot(path=str(OUT / "01_threshold_before.png"))
    box.screenshot(path=str(OUT / "01_threshold_explorer_before.png"))
    current = float(box.locator(".widget-slider .widget-readout").first.inner_text())
    slider_label = box.locator(".widget-slider label").first.inner_text().strip()
    new_value = round(current * 0.6 + 40, 1)
    step(f"moving the '{slider_label}' slider from {current:g} to {new_value:g}")
    set_slider(box, slider_label, new_value)
    after = wait_for_change(box, before)
    box.screenshot(path=str(OUT / "01_threshold_explorer_after.png"))
    page.screenshot(path=str(OUT / "01_threshold_after.png"))
    if after[0] == before[0]:
        raise StepFailed(f"the explorer's text did not change after moving the slider: {before[0]!r}")
    if not after[1] or after[1] == before[1]:
        raise StepFailed("the explorer's figure did not change after moving the slider")
    step(f"text before: {' | '.join(before[0].split(chr(10))[:2])}")
    step(f"text after : {' | '.join(after[0].split(chr(10))[:2])}")


def check_slice_viewer(page, base):
    open_and_run_all(page, base, "00_start_here.ipynb", timeout_s=180)
    box = explorer_with_text(page, "slice")
    box.scroll_into_view_if_needed()
    time.sleep(2)
    before = output_state(box)
    box.screenshot(path=str(OUT / "00_slice_viewer_before.png"))
    current = int(box.locator(".widget-slider .widget-readout").first.inner_text())
    new_value = max(0, current - 4)
    step(f"moving the slice slider from {current} to {new_value}")
    set_slider(box, "slice", new_value)
    after = wait_for_change(box, before, need_text=False)
    box.screenshot(path=str(OUT / "00_slice_viewer_after.png"))
    if not after[1] or after[1] == before[1]:
        raise StepFailed("the slice viewer did not redraw its figure after moving its slider")
    step("the slice viewer redrew its figure")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-open", action="store_true", help="leave JupyterLab running (debugging)")
    parser.add_argument("--only", choices=["threshold", "slices"], help="run one check only")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    # Work on copies: JupyterLab autosaves, and the committed notebooks must not change.
    workdir = OUT / "notebooks"
    shutil.rmtree(workdir, ignore_errors=True)
    shutil.copytree(ROOT / "notebooks", workdir)
    port, token = free_port(), secrets.token_hex(16)
    lab = start_lab(workdir, port, token)
    base = f"http://127.0.0.1:{port}"
    failures = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(f"{base}/lab?token={token}", wait_until="domcontentloaded")
            checks = {"threshold": check_threshold_slider, "slices": check_slice_viewer}
            for name, check in checks.items():
                if args.only and name != args.only:
                    continue
                try:
                    check(page, base)
                    step(f"{check.__name__}: passed")
                except Exception as error:  # report every failing step, then fail
                    page.screenshot(path=str(OUT / f"{check.__name__}_failure.png"))
                    failures.append(f"{check.__name__}: {error}")
                    step(f"{check.__name__}: FAILED: {error}")
            browser.close()
    finally:
        if not args.keep_open:
            stop(lab)
    if failures:
        print("e2e FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    print(f"e2e: all browser checks passed; screenshots in {OUT.relative_to(ROOT)}/")
    ran = 1 if args.only else 2
    print(f"{ran} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
