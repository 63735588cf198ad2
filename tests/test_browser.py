"""A learner's first minutes, in a real browser: JupyterLab opens each chapter, Run All runs every
cell in the smoke profile, and no cell shows an error.

JupyterLab runs on 127.0.0.1 with a random token, a temporary runtime/config/settings dir and a
copy of each notebook (so that autosave never touches the committed file). Headless Chromium is
Debian's, driven by Selenium (tests/_browser.py). A screenshot per chapter goes to test-artifacts/.
A failure names the notebook and the cell: its number among the code cells, its id and first line.

Which notebooks: $COURSE_BROWSER_NOTEBOOKS (names in notebooks/ or paths, separated by spaces),
default every chapter. Time limit for Run All of one notebook: $COURSE_BROWSER_TIMEOUT seconds
(default 300).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from _browser import ARTIFACTS, ROOT, chrome as _chrome, require_browser, wait as _wait

CHAPTERS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NOTEBOOKS = os.environ.get("COURSE_BROWSER_NOTEBOOKS", "").split() or CHAPTERS
RUN_TIMEOUT = float(os.environ.get("COURSE_BROWSER_TIMEOUT", "300"))
STDERR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'

pytestmark = [pytest.mark.timeout(int(RUN_TIMEOUT) + 240), pytest.mark.slow]  # JupyterLab and a real browser


@pytest.fixture(scope="module")
def browser_ready():
    require_browser()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str, timeout: float = 5):
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (loopback only)
        return json.loads(r.read().decode())


@pytest.fixture(scope="module")
def lab(browser_ready, tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 in the smoke profile; yields (base_url, token, workdir)."""
    tmp = tmp_path_factory.mktemp("lab")
    work = tmp / "notebooks"
    work.mkdir()
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    env.update(
        COURSE_PROFILE="smoke",
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "lab-workspaces"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    env.pop("MPLBACKEND", None)  # inline plots, as a learner sees them
    # No news or update pop-ups: the machine may be offline, and a learner's first look is the notebook.
    settings = tmp / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    # Every cell in the page's DOM: with the default windowing a long notebook attaches some cells late, and
    # the test once counted 27 of chapter 06's 51 code cells.
    tracker = tmp / "lab-settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    log = open(tmp / "jupyterlab.log", "w")
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # CI and containers run as root
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with {server.returncode}:\n{(tmp / 'jupyterlab.log').read_text()[-3000:]}")
            try:
                _get_json(f"{base}/api/status?token={token}")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer within 120 s:\n{(tmp / 'jupyterlab.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield base, token, work, tmp
    finally:
        try:  # stop kernels and server cleanly, then make sure the whole process group is gone
            req = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
            urllib.request.urlopen(req, timeout=5)  # noqa: S310
            server.wait(timeout=20)
        except Exception:  # noqa: BLE001
            pass
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        log.close()


@pytest.fixture
def chrome(browser_ready, tmp_path):
    with _chrome(tmp_path) as driver:
        yield driver


def _notebook_path(spec: str) -> Path:
    path = Path(spec)
    if not path.is_absolute():
        path = ROOT / "notebooks" / spec
    if not path.is_file():
        pytest.fail(f"notebook {path} not found (set COURSE_BROWSER_NOTEBOOKS to one that exists)")
    return path


# JavaScript run in the page: the state of every code cell, as a learner sees it.
CELLS_JS = """
const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
if (!nb) return null;
const cells = Array.from(nb.querySelectorAll('.jp-Cell.jp-CodeCell'));
return cells.map(c => {
  const p = c.querySelector('.jp-InputArea-prompt');
  return {prompt: p ? p.textContent.trim() : '',
          errors: c.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]').length,
          stderr: Array.from(c.querySelectorAll('%s')).map(e => e.textContent).join('\\n'),
          empty: !c.querySelector('.jp-InputArea-editor') ? false :
                 c.querySelector('.jp-InputArea-editor').textContent.trim() === ''};
});
""" % STDERR_OUTPUT

KERNEL_STATUS_JS = """
const el = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
return el ? el.getAttribute('data-status') : null;
"""


ACCEPT_DIALOG_JS = """
const b = document.querySelector('.jp-Dialog .jp-Dialog-button.jp-mod-accept');
if (b) { b.click(); return true; } return false;
"""
STATUS_BAR_JS = "const s = document.querySelector('.jp-StatusBar-Widget'); return s ? s.innerText : '';"


def _kernel_ready(driver, base, token, name) -> bool:
    """The server runs an idle kernel for the notebook and the page is connected to it."""
    if driver.execute_script(ACCEPT_DIALOG_JS):  # a "Select Kernel" dialog: take the default, as a learner would
        return False
    sessions = _get_json(f"{base}/api/sessions?token={token}")
    kernel = next((s["kernel"] for s in sessions if s.get("path", "").endswith(name)), None)
    return (kernel is not None and kernel.get("execution_state") == "idle"
            and driver.execute_script(KERNEL_STATUS_JS) == "idle"
            and "Idle" in driver.execute_script(STATUS_BAR_JS))


def _click_menu(driver, menu: str, label: str):
    """Click menu → label in JupyterLab's menu bar, as a learner does."""
    from selenium.webdriver.common.by import By

    items = driver.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-item")
    item = next((i for i in items if i.text.strip() == menu), None)
    assert item is not None, f"no {menu!r} menu in JupyterLab's menu bar ({[i.text for i in items]})"
    item.click()

    def entry():
        for e in driver.find_elements(By.CSS_SELECTOR, ".lm-Menu-item"):
            labels = e.find_elements(By.CSS_SELECTOR, ".lm-Menu-itemLabel")
            if labels and labels[0].text.strip() == label:
                return e
        return None

    _wait(f"the menu entry {menu} → {label}", entry, 10).click()


def _code_cells(path: Path) -> list:
    """The notebook's non-empty code cells, in the order the page shows them."""
    nb = nbformat.read(path, as_version=4)
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def _describe(path: Path, index: int) -> str:
    """'code cell 7 (id 'train', first line ...)': enough to find the cell in the notebook."""
    cells = _code_cells(path)
    if index >= len(cells):
        return f"code cell {index + 1}"
    cell = cells[index]
    first = next(line for line in cell.source.splitlines() if line.strip())
    return f"code cell {index + 1} (id {cell.get('id', '?')!r}, first line {first.strip()[:80]!r})"


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else ""


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_run_all_cells_in_jupyterlab(lab, chrome, notebook):
    base, token, work, tmp = lab
    source = _notebook_path(notebook)
    shutil.copy(source, work / source.name)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"browser_{source.stem}.png"
    t0 = time.monotonic()
    chrome.get(f"{base}/lab/tree/{source.name}?token={token}")
    try:
        _wait("the notebook to open", lambda: chrome.execute_script(CELLS_JS), 120)
        _wait("the kernel to start and connect", lambda: _kernel_ready(chrome, base, token, source.name), 180)
        opened = time.monotonic() - t0

        _click_menu(chrome, "Run", "Run All Cells")
        # Run All marks every queued cell [*]. Done: the kernel is idle and no [*] is left, for 2 s
        # in a row (the kernel is briefly idle between cells; an error stops Run All early).
        def done():
            cells = chrome.execute_script(CELLS_JS) or []
            idle = chrome.execute_script(KERNEL_STATUS_JS) == "idle"
            running = any(c["prompt"] == "[*]:" for c in cells)
            return cells if idle and not running else None

        def settled():
            first = done()
            if not first:
                return None
            time.sleep(2)
            second = done()
            return second if second == first else None

        time.sleep(1)
        try:
            cells = _wait(f"Run All in {source.name}", settled, RUN_TIMEOUT, poll=1)
        except TimeoutError:
            code = [c for c in chrome.execute_script(CELLS_JS) or [] if not c["empty"]]
            running = next((i for i, c in enumerate(code) if c["prompt"] == "[*]:"), None)
            where = _describe(source, running) if running is not None else "no cell marked [*]"
            pytest.fail(f"{source.name}: Run All did not finish within {RUN_TIMEOUT:.0f} s; still running: {where} "
                        f"(see {shot}; $COURSE_BROWSER_TIMEOUT sets the limit)")
        ran = time.monotonic() - t0 - opened
    finally:
        chrome.save_screenshot(str(shot))
        shutil.copy(tmp / "jupyterlab.log", ARTIFACTS / "browser_jupyterlab.log")
        try:  # free the kernel for the next notebook
            for session in _get_json(f"{base}/api/sessions?token={token}"):
                req = urllib.request.Request(f"{base}/api/sessions/{session['id']}?token={token}", method="DELETE")
                urllib.request.urlopen(req, timeout=30).close()  # noqa: S310
        except OSError as exc:
            print(f"[browser] could not shut the kernel down: {exc}")
    print(f"\n[browser] {source.name}: opened in {opened:.1f} s, ran all cells in {ran:.1f} s; screenshot {shot}")

    code = [c for c in cells if not c["empty"]]
    assert len(code) == len(_code_cells(source)), \
        f"{source.name}: the page shows {len(code)} code cells, the notebook has {len(_code_cells(source))}"
    # JupyterLab shows an error output as stderr text with the traceback; check both forms.
    errors = [f"{_describe(source, i)}: {_last_line(c['stderr']) or 'an error output'}" for i, c in enumerate(code)
              if c["errors"] or "Traceback" in c["stderr"]]
    not_run = [_describe(source, i) for i, c in enumerate(code) if not c["prompt"].strip("[]: ").isdigit()]
    assert not errors, f"{source.name}: a cell shows an error: " + "; ".join(errors) + f" (see {shot})"
    assert not not_run, f"{source.name}: not executed (Run All stopped before it): {not_run[0]}" + \
        (f" and {len(not_run) - 1} more" if len(not_run) > 1 else "") + f" (see {shot})"
    counts = [int(c["prompt"].strip("[]: ")) for c in code]
    assert counts == sorted(counts), f"{source.name}: cells ran out of order: {counts}"
    assert os.path.getsize(shot) > 10_000, "the screenshot is empty"
