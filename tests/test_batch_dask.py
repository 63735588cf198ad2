"""batch --scheduler: a REAL Dask scheduler and two worker processes on 127.0.0.1, no mocks.

The cluster is started once for the module (random free ports, its own folder) and torn down
even when a test fails. Workers run without a nanny, so killing one kills it for good: that is how
a lost worker is made. The notebooks are tiny (no torch) and written at test time; a marker file
that a run writes when it starts tells the test which kernel is running, and where.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from course_utils.tools import batch, dask_runner  # noqa: E402
from course_utils.tools.execute import descendants  # noqa: E402
from _nbmaker import make_notebook  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "COURSE_THREADS": "1", "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}


def _kill_tree(proc: subprocess.Popen) -> None:
    for pid in [*descendants(proc.pid), proc.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    proc.wait(timeout=10)


class Cluster:
    """A scheduler and its workers, as subprocesses; `stop` kills every one of them (and below)."""

    def __init__(self, folder: Path):
        self.folder, self.workers, self.n = folder, [], 0
        info = folder / "scheduler.json"
        self.scheduler = subprocess.Popen(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(info)], cwd=folder, env=_env(), start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=open(folder / "scheduler.log", "wb"))
        deadline = time.monotonic() + 30
        while not info.exists() and time.monotonic() < deadline:
            assert self.scheduler.poll() is None, (folder / "scheduler.log").read_text()[-2000:]
            time.sleep(0.1)
        self.address = json.loads(info.read_text())["address"]

    def start_worker(self) -> subprocess.Popen:
        self.n += 1
        proc = subprocess.Popen(
            [str(DASK), "worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
             "--host", "127.0.0.1", "--name", f"w{self.n}", "--local-directory", str(self.folder / f"w{self.n}")],
            cwd=self.folder, env=_env(), start_new_session=True, stdout=subprocess.DEVNULL,
            stderr=open(self.folder / f"worker{self.n}.log", "wb"))
        self.workers.append(proc)
        return proc

    def ensure_workers(self, n: int = 2, timeout: float = 60) -> None:
        """Exactly `n` live workers registered with the scheduler (replacing killed ones)."""
        self.workers = [w for w in self.workers if w.poll() is None]
        while len(self.workers) < n:
            self.start_worker()
        client = dask_runner.connect(self.address)
        try:
            deadline = time.monotonic() + timeout
            while len(client.nthreads()) != n:
                assert time.monotonic() < deadline, f"workers did not register: {client.nthreads()}"
                time.sleep(0.2)
        finally:
            client.close()

    def worker_running(self, pid: int) -> subprocess.Popen:
        """The worker process with `pid` (a kernel) among its descendants."""
        for w in self.workers:
            if pid in descendants(w.pid):
                return w
        raise AssertionError(f"no worker runs process {pid}")

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            _kill_tree(proc)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("dask-cluster"))
    try:
        c.ensure_workers(2)
        yield c
    finally:
        c.stop()


def grid_notebook(path: Path) -> Path:
    """x, seed; fails for x == 3; with `hold`, writes a marker `<marker_dir>/<x>-<seed>-<pid>` and sleeps."""
    return make_notebook(
        path,
        'x: int = 1\nseed: int = 0\nhold: float = 0.0\nmarker_dir: str = ""',
        "import os, time\nimport course_utils as cu",
        "if hold:\n"
        "    open(os.path.join(marker_dir, f'{x}-{seed}-{os.getpid()}'), 'w').close()\n"
        "    time.sleep(hold)",
        "if x == 3:\n    raise ValueError(f'planned failure for x={x}')",
        "cu.record('score', x * 10 + seed)\ncu.record('threads', os.environ.get('COURSE_THREADS'))",
    )


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def wait_for_marker(folder: Path, timeout: float = 60) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(folder.glob("*-*-*"))
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError("no run started within the timeout")


def batch_process(argv: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "course_utils", "batch", *argv], cwd=cwd, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


# -- refused before anything runs ------------------------------------------------------------


@pytest.mark.timeout(30)
def test_unreachable_scheduler_is_a_clear_error_within_seconds(tmp_path, capsys):
    import socket

    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    nb = grid_notebook(tmp_path / "t.ipynb")
    t0 = time.monotonic()
    rc = batch.main([str(nb), "--param", "x=1,2", "--out", str(tmp_path / "out"),
                     "--scheduler", f"tcp://127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert rc == 2 and time.monotonic() - t0 < dask_runner.CONNECT_TIMEOUT_S + 5
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in err and "dask scheduler" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.timeout(30)
def test_bad_address_and_bad_grid_are_refused_without_connecting(tmp_path, capsys):
    nb = grid_notebook(tmp_path / "t.ipynb")
    assert batch.main([str(nb), "--out", str(tmp_path / "o"), "--scheduler", "http://x y"]) == 2
    assert "--scheduler takes the scheduler's address" in capsys.readouterr().err
    # the grid is validated first: a bad value is reported even though no scheduler listens there
    assert batch.main([str(nb), "--param", "x=abc", "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "parameter x='abc' is str, expected int" in err and "cannot reach" not in err
    assert dask_runner.check_address("10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    assert not (tmp_path / "o").exists()


# -- on the cluster ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_grid_on_two_workers_with_a_failure_a_lost_worker_and_resume(cluster, tmp_path, monkeypatch):
    """x=1,2,3 x seeds 0,1: x=3 fails in its cell; the x=2 seed=0 run holds 8 s, and the worker
    running it is killed: the scheduler reruns it on the other worker and nothing else is lost."""
    cluster.ensure_workers(2)
    nb = grid_notebook(tmp_path / "t.ipynb")
    markers = tmp_path / "markers"
    markers.mkdir()
    out = tmp_path / "out"
    argv = [str(nb), "--param", "x=1,2,3", "--seeds", "0,1", "--out", str(out), "--profile", "smoke",
            "--scheduler", cluster.address]
    # one grid point with a hold: a separate batch folder is not needed, the parameter is in the grid
    proc = batch_process(argv[:2] + ["x=2", "--param", "hold=8.0", "--param", f"marker_dir={str(markers)!r}",
                                     "--seeds", "0", "--out", str(tmp_path / "held"), "--scheduler", cluster.address],
                         tmp_path)
    try:
        marker = wait_for_marker(markers)
        kernel = int(marker.name.split("-")[2])
        victim = cluster.worker_running(kernel)
        victim.kill()
        victim.wait(timeout=10)
        printed, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, printed
    assert "left the cluster while it held hold=8.0_marker_dir=" in printed, printed
    rows = read_csv(tmp_path / "held" / "results.csv")
    assert [r["status"] for r in rows] == ["ok"] and rows[0]["score"] == "20"
    assert len(list(markers.iterdir())) == 2  # it started twice: once on each worker
    assert not alive(kernel)  # the lost worker's kernel went with it

    # the main grid, on the one worker left plus a fresh one; the submitter's COURSE_THREADS travels
    cluster.ensure_workers(2)
    monkeypatch.setenv("COURSE_THREADS", "1")
    rc = batch.main(argv)
    assert rc == 1
    rows = {r["run_id"]: r for r in read_csv(out / "results.csv")}
    assert len(rows) == 6
    failed = {rid for rid, r in rows.items() if r["status"] == "failed"}
    assert failed == {"x=3_seed=0", "x=3_seed=1"}
    bad = rows["x=3_seed=0"]
    assert bad["error"] == "ValueError: planned failure for x=3" and bad["failed_cell"] == "5"
    ok = sorted(float(r["score"]) for r in rows.values() if r["status"] == "ok")
    assert ok == [10.0, 11.0, 20.0, 21.0]
    # a kernel gets its worker's cores / task slots, unless the submitter set COURSE_THREADS (here: 1)
    assert {r["threads"] for r in rows.values() if r["status"] == "ok"} == {"1"}
    for rid in rows:  # the executed notebooks and logs came back over the wire
        assert (out / "runs" / f"{rid}.ipynb").stat().st_size > 1000
        assert (out / "runs" / f"{rid}.log").exists()
    assert (out / "summary.png").stat().st_size > 1000
    status = json.loads((out / "runs" / "x=1_seed=0.status.json").read_text())
    assert status["fingerprint"]["profile"] == "smoke" and status["host"]

    # rerun: only the failed runs execute again (and fail again: the cause is in the notebook)
    stamps = {rid: (out / "runs" / f"{rid}.ipynb").stat().st_mtime_ns for rid in rows}
    assert batch.main(argv) == 1
    for rid, stamp in stamps.items():
        assert ((out / "runs" / f"{rid}.ipynb").stat().st_mtime_ns != stamp) == (rid in failed)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_ctrl_c_cancels_the_clusters_tasks(cluster, tmp_path):
    cluster.ensure_workers(2)
    nb = grid_notebook(tmp_path / "t.ipynb")
    markers = tmp_path / "markers"
    markers.mkdir()
    proc = batch_process([str(nb), "--param", "x=1,2,4,5", "--param", "hold=60.0", "--param",
                          f"marker_dir={str(markers)!r}", "--out", str(tmp_path / "out"),
                          "--scheduler", cluster.address], tmp_path)
    try:
        kernel = int(wait_for_marker(markers).name.split("-")[2])
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        printed, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, printed
    assert "interrupted" in printed
    deadline = time.monotonic() + 15
    while alive(kernel) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(kernel), "the running notebook's kernel kept running on the worker"
    # nothing else starts later, and the workers are still there for the next batch
    time.sleep(3)
    assert len(list(markers.iterdir())) <= 2
    assert all(w.poll() is None for w in cluster.workers)
    client = dask_runner.connect(cluster.address)
    try:
        assert not any(client.processing().values())
    finally:
        client.close()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_grader_on_the_cluster(cluster, tmp_path):
    """grade --scheduler: each student's own notebook goes to a worker; a crash is a grade."""
    from test_grade import CHECK1, CHECK2, QUESTION, SOLUTION, grades_by_student, instructor, notebook

    from course_utils.tools import grade

    cluster.ensure_workers(2)
    subs = tmp_path / "subs"
    notebook(subs / "alice.ipynb", "import course_utils as cu", SOLUTION, CHECK1, QUESTION, CHECK2)
    notebook(subs / "carol.ipynb", "import course_utils as cu", SOLUTION, CHECK1, "1 / 0", QUESTION, CHECK2)
    out = tmp_path / "grades"
    argv = [str(instructor(tmp_path / "i.ipynb")), str(subs), "--out", str(out), "--timeout", "30",
            "--scheduler", cluster.address]
    assert grade.main(argv) == 0
    g = grades_by_student(out)
    assert g["alice"] == {"99.1": ("1", ""), "99.q1": ("1", "")}
    assert g["carol"]["99.1"] == ("1", "") and "ZeroDivisionError" in g["carol"]["99.q1"][1]
