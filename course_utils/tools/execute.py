"""Execute notebooks with papermill, each in a worker process that cannot outlive its command.

Why a process per notebook, and why all this care: a notebook may crash its kernel, leak memory or
hang, and must not take the other runs or the command with it. But a worker must also never run
on without the command: killing a batch (kill -9, a closed terminal) used to leave a worker that
ran the remaining notebooks and then lingered for ever. So:

* each worker starts in its own session (process group), which the command stops as a group
  (SIGTERM, then SIGKILL) on Ctrl-C or any error, after noting the kernels it started;
* a worker watches its parent: Linux's PR_SET_PDEATHSIG delivers SIGTERM the moment the parent
  dies, and a thread polls os.getppid() every half second everywhere else. Either way it kills
  its kernel (papermill starts it as the worker's child, in a session of its own) and exits;
* the kernel's stderr goes to <output>.log, not the console.

    run_jobs([Job(...), ...], workers=2, on_done=callback)   # in the command
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .._files import atomic_write

POLL_S = 0.5  # how often a worker checks that its parent is alive
GRACE_S = 5.0  # how long stopped workers get to kill their kernels before SIGKILL


@dataclass
class Job:
    """One notebook to execute: papermill's inputs, plus `key` for the caller's bookkeeping."""

    key: str
    notebook: str
    output: str
    inject: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    timeout: int | None = None  # seconds per cell


# -- in the command ---------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, grandchildren...), from /proc, else from `ps`."""
    parent_of = {}
    if Path("/proc").is_dir():
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                    parent_of[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    pass
    else:
        out = subprocess.run(["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
        for line in out.splitlines():
            child, parent = line.split()
            parent_of[int(child)] = int(parent)
    found, frontier = [], [pid]
    while frontier:
        kids = [c for c, p in parent_of.items() if p in frontier and c not in found]
        found += kids
        frontier = kids
    return found


_SIGKILL = getattr(signal, "SIGKILL", signal.SIGTERM)  # Windows has no SIGKILL


def _kill(pids, sig=_SIGKILL) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _stop(live: dict) -> None:
    """Stop running workers and everything below them; a second Ctrl-C cannot interrupt this
    (in the main thread; elsewhere no Ctrl-C arrives)."""
    if not live:
        return
    # Only the main thread may touch signal handlers (the Dask runner calls this from a task's thread).
    main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        below = {p.pid: descendants(p.pid) for p in live}
        for p in live:
            try:
                if hasattr(os, "killpg"):
                    os.killpg(p.pid, signal.SIGTERM)  # the worker kills its kernel and exits
                else:
                    p.terminate()
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + GRACE_S
        while time.monotonic() < deadline and any(p.poll() is None for p in live):
            time.sleep(0.05)
        for p in live:
            _kill([p.pid, *below[p.pid]])
            p.wait()
    finally:
        if main:
            signal.signal(signal.SIGINT, old)


def run_jobs(jobs: list[Job], workers: int, on_done) -> None:
    """Execute `jobs`, `workers` at a time; call on_done(job, report) as each finishes.

    A report is {"status": "ok"|"failed", "error", "failed_cell", "seconds"}. On any exception,
    KeyboardInterrupt included, the running workers are stopped before it propagates.
    """
    pending, live = deque(jobs), {}
    with tempfile.TemporaryDirectory(prefix="course-run-") as tmp:
        try:
            while pending or live:
                while pending and len(live) < workers:
                    job = pending.popleft()
                    report = Path(tmp) / f"{len(live)}-{time.monotonic_ns()}.json"
                    live[_start(job, report)] = (job, report, time.perf_counter())
                for proc, (job, report, t0) in list(live.items()):
                    if proc.poll() is not None:
                        del live[proc]
                        on_done(job, _read_report(report, proc.returncode, time.perf_counter() - t0))
                time.sleep(0.05)
        finally:
            _stop(live)


def run_one(job: Job, should_stop=lambda: False, poll_s: float = POLL_S) -> dict | None:
    """Execute one job in its worker process, as run_jobs does, on whatever machine calls it (the
    Dask runner calls it on a cluster's worker). Returns the report, or None when should_stop()
    became true first: the worker and its kernel are then stopped before this returns."""
    with tempfile.TemporaryDirectory(prefix="course-run-") as tmp:
        report, live, t0 = Path(tmp) / "report.json", {}, time.perf_counter()
        try:
            proc = _start(job, report)
            live[proc] = job
            while proc.poll() is None:
                if should_stop():
                    return None
                time.sleep(poll_s)
            del live[proc]
            return _read_report(report, proc.returncode, time.perf_counter() - t0)
        finally:
            _stop(live)


def _start(job: Job, report: Path) -> subprocess.Popen:
    spec = json.dumps({**asdict(job), "report": str(report), "parent": os.getpid()}, default=repr)
    log = open(Path(job.output).with_suffix(".log"), "wb")
    with log:  # the worker keeps its own copy of the file descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "course_utils.tools.execute", spec],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env={**os.environ, **job.env},
            start_new_session=True,
        )


def _read_report(path: Path, returncode: int, seconds: float) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"status": "failed", "failed_cell": None, "seconds": round(seconds, 2),
                "error": f"the worker process died (exit code {returncode}); see the .log beside the notebook"}


# -- in the worker ----------------------------------------------------------------------------


def _exit_with_parent(parent: int) -> None:
    """Kill this worker's kernel and exit as soon as the command that started it is gone."""

    def die(*_):
        _kill(descendants(os.getpid()))
        os._exit(143)

    signal.signal(signal.SIGTERM, die)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def watch():
        while os.getppid() == parent:
            time.sleep(POLL_S)
        die()

    if os.getppid() != parent:  # the parent died before we were watching
        die()
    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def execute_here(notebook: str, output: str, inject: dict, timeout: int | None) -> dict:
    """Run one notebook with papermill in this process; reports, never raises."""
    import papermill as pm

    start = time.perf_counter()
    report = {"status": "ok", "error": "", "failed_cell": None}
    try:
        pm.execute_notebook(
            notebook, output, parameters=inject or None, kernel_name="python3",
            cwd=str(Path(notebook).parent), progress_bar=False, log_output=False, execution_timeout=timeout,
        )
    except pm.PapermillExecutionError as exc:
        lines = str(exc.evalue).strip().splitlines()
        report.update(status="failed", failed_cell=exc.exec_count,
                      error=f"{exc.ename}: {lines[0] if lines else ''}"[:300])
    except Exception as exc:  # a dead kernel, a cell timeout: report it, let the others carry on
        text = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
        report.update(status="failed", error=text[:300])
    report["seconds"] = round(time.perf_counter() - start, 2)
    return report


def _worker(spec: dict) -> int:
    _exit_with_parent(spec["parent"])
    report = execute_here(spec["notebook"], spec["output"], spec["inject"], spec["timeout"])
    atomic_write(spec["report"], json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(_worker(json.loads(sys.argv[1])))
