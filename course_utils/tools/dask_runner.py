"""The batch runner's notebooks on an existing Dask cluster: `batch ... --scheduler tcp://HOST:PORT`.

Why Dask: lab machines and university clusters already run it (started by hand, or on Slurm/PBS
through dask-jobqueue; docs/CLUSTER.md), and it already does what a class-sized batch needs from
a cluster: a queue, workers that come and go, and a task rerun elsewhere when its worker is lost.
So the course submits one task per run and keeps everything else the local runner promises.

What travels: no shared filesystem is assumed. The notebook goes to a worker as bytes (its stored
outputs stripped: papermill recomputes them), and the executed notebook, its kernel's log and the
run's report come back as bytes and are written under the batch's folder on the submitting
machine, where batch.py collects them exactly as it does for local runs. Data is the worker's
business: its own cache, or the classroom mirror as an http:// URL in $COURSE_DATA_MIRROR.

On the worker a run executes as it does locally (execute.run_one): papermill in a child process
that cannot outlive the worker, with the kernel's stderr in the log.

Stopping and losing: Ctrl-C (or any error) in the command cancels the queued tasks and sets a
cluster-wide Event that running tasks poll once a second; they stop their notebook and return.
A worker lost mid-run (a crash, a killed job) is reported with the runs it was holding; the
scheduler gives those runs to another worker (it allows `distributed.scheduler.allowed-failures`
losses per task, 3 by default), and a run it gives up on fails with the reason, not the batch.
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
import time
import uuid
from pathlib import Path

from ..profiles import ProfileError
from .execute import Job, run_one

CONNECT_TIMEOUT_S = 5  # a scheduler that does not answer within this is reported, not waited for
WATCH_S = 1.0  # how often the command looks at the cluster's workers, and a task at the stop event
_ADDRESS = re.compile(r"^(tcp|tls)://[^\s/:]+(:\d{1,5})?$|^\[?[\w.:-]+\]?:\d{1,5}$")


class ClusterError(ProfileError):
    """A cluster that cannot be used (unreachable, no Dask installed, workers without the course)."""


def check_address(address: str) -> str:
    """`tcp://host:port`, `tls://host:port` or `host:port` (meaning tcp); anything else is refused."""
    address = address.strip()
    if not _ADDRESS.match(address):
        raise ClusterError(f"--scheduler takes the scheduler's address, like tcp://10.0.0.5:8786 "
                           f"(what `dask scheduler` prints as 'Scheduler at:'), got {address!r}")
    return address if "://" in address else f"tcp://{address}"


def connect(address: str, timeout: float = CONNECT_TIMEOUT_S):
    """A Client for the scheduler at `address`, or a ClusterError within `timeout` seconds."""
    address = check_address(address)
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError("--scheduler needs Dask's `distributed` package: pip install -r requirements.txt "
                           "(or pip install 'course_utils[cluster]')") from None
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(
            f"cannot reach the Dask scheduler at {address} within {timeout:g} s ({exc}). Is it running? "
            f"Start one with `dask scheduler` and workers with `dask worker {address}` (docs/CLUSTER.md), "
            f"and check the host, the port and the firewall between here and there.") from None


def _worker_facts() -> dict:
    """Runs on every worker before anything is submitted: can it run course notebooks?"""
    import course_utils

    facts = {"version": course_utils.__version__, "host": socket.gethostname()}
    try:
        import papermill  # noqa: F401
    except ImportError:
        facts["missing"] = "papermill"
    return facts


def check_workers(client, log) -> None:
    """Refuse a cluster whose workers cannot import course_utils or papermill, and say when none are up yet."""
    import course_utils

    try:
        facts = client.run(_worker_facts)
    except (ImportError, AttributeError) as exc:
        raise ClusterError(f"the cluster's workers cannot import the course ({type(exc).__name__}: {exc}); "
                           f"start them in the course's environment (docs/CLUSTER.md)") from None
    missing = sorted({f["missing"] for f in facts.values() if f.get("missing")})
    if missing:
        raise ClusterError(f"the cluster's workers lack {', '.join(missing)}: install the course's requirements "
                           f"there (docs/CLUSTER.md)")
    others = sorted({f["version"] for f in facts.values()} - {course_utils.__version__})
    if others:
        log(f"[batch] note: workers run course_utils {', '.join(others)}, this machine "
            f"{course_utils.__version__}; results may differ from a local run")
    if not facts:
        log("[batch] the scheduler has no workers yet; the runs wait for some (Ctrl-C to stop)")
    else:
        log(f"[batch] cluster: {len(facts)} worker(s) on {len({f['host'] for f in facts.values()})} machine(s)")


def _stripped(nb_path: str) -> bytes:
    """The notebook's bytes without stored outputs: smaller to send, and papermill recomputes them."""
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nbformat.writes(nb).encode("utf-8")


# -- on a worker ---------------------------------------------------------------------------------


def remote_execute(nb_bytes: bytes, name: str, inject: dict, env: dict, timeout, stop_event: str) -> dict:
    """One run, on a cluster's worker: write the notebook into a temporary folder, execute it like
    the local runner does, and return the report with the executed notebook and its log as bytes."""
    from distributed import Event, get_worker

    from ..device import physical_cores

    worker = get_worker()
    env = dict(env)
    if "COURSE_THREADS" not in env:  # the worker's own setting, else this machine's cores over its task slots
        env["COURSE_THREADS"] = os.environ.get("COURSE_THREADS") or str(
            max(1, physical_cores() // max(1, worker.state.nthreads)))
    stop = Event(stop_event)
    with tempfile.TemporaryDirectory(prefix="course-dask-") as tmp:
        src = Path(tmp) / name
        src.write_bytes(nb_bytes)
        out = Path(tmp) / "out" / name
        out.parent.mkdir()
        report = run_one(Job(name, str(src), str(out), inject, env, timeout), should_stop=stop.is_set,
                         poll_s=WATCH_S)
        log = out.with_suffix(".log")
        return {"report": report, "notebook": out.read_bytes() if out.is_file() else None,
                "log": log.read_bytes() if log.is_file() else b"", "worker": worker.address,
                "host": socket.gethostname()}


# -- in the command ------------------------------------------------------------------------------


def _failed(error: str) -> dict:
    return {"status": "failed", "error": error, "failed_cell": None, "seconds": 0.0}


def _outcome(fut) -> dict:
    """A finished future as the runner's result dict (the report and the bytes that came back)."""
    from distributed.scheduler import KilledWorker

    if fut.status == "finished":
        return fut.result()
    if fut.status == "cancelled":
        return {"report": _failed("the task was cancelled on the cluster (by another client, or the scheduler)")}
    exc = fut.exception()
    if isinstance(exc, KilledWorker):
        return {"report": _failed(f"the cluster lost every worker that ran this notebook and gave up on it "
                                  f"(KilledWorker); see the workers' logs, e.g. for memory: {str(exc)[:200]}")}
    text = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
    return {"report": _failed(f"the task failed on the worker: {text[:300]}")}


def run_jobs(jobs: list[Job], scheduler: str, on_done, log=print) -> None:
    """Execute `jobs` as tasks on the Dask cluster at `scheduler`; call on_done(job, report) as each
    finishes, after writing its executed notebook and log where the local runner would."""
    from distributed import Event

    client = connect(scheduler)
    stop_name = f"course-batch-stop-{uuid.uuid4().hex}"
    futures, stop = {}, None
    try:
        check_workers(client, log)
        stop = Event(stop_name, client=client)
        payload = {nb: _stripped(nb) for nb in {job.notebook for job in jobs}}
        for job in jobs:
            key = f"course-{job.key}-{uuid.uuid4().hex[:8]}"
            fut = client.submit(remote_execute, payload[job.notebook], Path(job.notebook).name, job.inject,
                                job.env, job.timeout, stop_name, key=key, pure=False)
            futures[fut] = job
        names = {fut.key: job.key for fut, job in futures.items()}
        workers, holding = set(client.nthreads()), {}
        pending = set(futures)
        while pending:  # poll: distributed.wait needs a default client, and this one is not
            for fut in [f for f in pending if f.done()]:
                pending.discard(fut)
                _deliver(futures[fut], _outcome(fut), on_done)
            workers, holding = _watch(client, workers, holding, names, log)
            if pending:
                time.sleep(WATCH_S / 4)
    finally:
        left = [f for f in futures if not f.done()]
        if left and stop is not None:
            try:
                stop.set()  # running tasks stop their notebooks; queued ones never start
                client.cancel(left)
            except Exception:  # the scheduler itself is gone: nothing left to stop there
                pass
        client.close()


def _deliver(job: Job, outcome: dict, on_done) -> None:
    report = outcome["report"] or _failed("stopped before it finished")
    if outcome.get("notebook") is not None:
        Path(job.output).write_bytes(outcome["notebook"])
    if outcome.get("log") is not None:
        Path(job.output).with_suffix(".log").write_bytes(outcome["log"])
    if outcome.get("host"):
        report["host"] = outcome["host"]
    on_done(job, report)


def _watch(client, workers: set, holding: dict, names: dict, log):
    """Report workers that joined or left; for a lost one, the runs it was executing."""
    try:
        now = set(client.nthreads())
        processing = client.processing()
    except Exception:  # a slow scheduler: look again next time
        return workers, holding
    for gone in sorted(workers - now):
        runs = [names[k] for k in holding.get(gone, ()) if k in names]
        log(f"[batch] worker {gone} left the cluster" + (
            f" while it held {', '.join(runs)}; the scheduler gives them to another worker" if runs else ""))
    for new in sorted(now - workers):
        log(f"[batch] worker {new} joined the cluster")
    return now, {w: list(keys) for w, keys in processing.items()}


def local_env() -> dict:
    """What the submitting machine passes on to remote kernels: only what the user set explicitly."""
    return {k: os.environ[k] for k in ("COURSE_THREADS",) if os.environ.get(k)}
