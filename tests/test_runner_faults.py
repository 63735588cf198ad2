"""Issue 14, the runners' part: each test makes the fault, then checks what happens.

Killing a batch (SIGKILL or Ctrl-C) must leave no worker or kernel behind; every user error exits 2
with a one-line message before any kernel starts. Processes are found through /proc (Linux).
"""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course_utils.tools import batch, run
from course_utils.tools.execute import descendants
from _nbmaker import make_notebook

REPO = Path(__file__).resolve().parents[1]
linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")  # a zombie has exited


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def wait_for(predicate, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def start_slow_batch(tmp_path, n_runs=3, workers=2):
    """A batch of notebooks that sleep, started as a command; returns it once its kernels are running."""
    nb = make_notebook(tmp_path / "slow.ipynb", "x: int = 0", "import time\ntime.sleep(120)")
    err = open(tmp_path / "stderr.txt", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "course_utils", "batch", str(nb), "--param", f"x={','.join(map(str, range(n_runs)))}",
         "--workers", str(workers), "--out", str(tmp_path / "out"), "--profile", "smoke"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL,
    )

    def kernels_up():
        tree = descendants(proc.pid)
        kernels = [p for p in tree if "ipykernel" in cmdline(p)]
        return tree if len(kernels) == workers else None

    tree = wait_for(kernels_up, 90)
    assert tree, f"the batch's kernels never started; stderr: {(tmp_path / 'stderr.txt').read_text()}"
    return proc, tree


@linux_only
@pytest.mark.slow
@pytest.mark.timeout(150)
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killing_a_batch_leaves_no_process_behind(tmp_path, sig):
    proc, tree = start_slow_batch(tmp_path)
    assert len(tree) >= 4  # two workers, two kernels
    proc.send_signal(sig)
    proc.wait()
    survivors = wait_for(lambda: not [p for p in tree if alive(p)] or None, 15)
    assert survivors, f"still running 15 s after {sig.name}: {[cmdline(p) for p in tree if alive(p)]}"
    time.sleep(1.5)  # and nothing went on to start the third run
    assert not (tmp_path / "out" / "runs" / "x=2.log").exists()


@linux_only
@pytest.mark.slow
@pytest.mark.timeout(150)
def test_ctrl_c_stops_everything_with_one_line_and_exit_130(tmp_path):
    proc, tree = start_slow_batch(tmp_path)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    err = (tmp_path / "stderr.txt").read_text()
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and all(line.startswith("[batch] ") for line in lines), err
    assert lines[-1] == "[batch] interrupted: every running notebook was stopped; run the same command again to resume"
    survivors = wait_for(lambda: not [p for p in tree if alive(p)] or None, 10)
    assert survivors, f"still running after Ctrl-C: {[cmdline(p) for p in tree if alive(p)]}"


@linux_only
@pytest.mark.slow
@pytest.mark.timeout(150)
def test_a_worker_killed_mid_run_fails_that_run_only_and_its_kernel_exits(tmp_path, capsys):
    pid_file = tmp_path / "kernel.pid"
    nb = make_notebook(tmp_path / "k.ipynb", "x: int = 0",
                       "import os, signal, time, course_utils as cu\n"
                       f"if x == 1:\n    open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
                       "    os.kill(os.getppid(), signal.SIGKILL)  # the kernel's parent is its worker\n"
                       "    time.sleep(60)\n"
                       "cu.record('x', x)")
    rc = batch.main([str(nb), "--param", "x=0,1,2", "--out", str(tmp_path / "out"), "--profile", "smoke"])
    printed = capsys.readouterr().out
    assert rc == 1
    assert "FAILED x=1: the worker process died (exit code -9)" in printed and "2 ok, 1 failed" in printed
    kernel = int(pid_file.read_text())
    assert wait_for(lambda: not alive(kernel), 15), "the orphaned kernel kept running"


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_cell_over_the_timeout_fails_its_run_with_a_message(tmp_path, capsys):
    nb = make_notebook(tmp_path / "hang.ipynb", "x: int = 0", "import time\ntime.sleep(60)")
    t0 = time.monotonic()
    assert run.main([str(nb), "--timeout", "2", "--out", str(tmp_path / "out")]) == 1
    assert time.monotonic() - t0 < 40
    assert "FAILED hang: CellTimeoutError" in capsys.readouterr().out


def test_two_commands_on_one_out_folder_are_refused(tmp_path, capsys):
    import fcntl

    nb = make_notebook(tmp_path / "t.ipynb", "x: int = 0", "raise SystemExit('must not run')")
    (tmp_path / "o").mkdir()
    with open(tmp_path / "o" / ".lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert batch.main([str(nb), "--out", str(tmp_path / "o")]) == 2
        assert run.main([str(nb), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.count("another batch or run is writing to") == 2
    assert not (tmp_path / "o" / "runs").exists()


# -- user errors: exit 2 with a message, before any kernel starts -------------------------------


@pytest.fixture
def nb(tmp_path):
    return make_notebook(tmp_path / "t.ipynb", "profile: str | None = None\nseed: int = 0\nseeds: str | None = None",
                         "raise SystemExit('this notebook must never run in these tests')")


@pytest.mark.parametrize("command", ["run", "batch"])
def test_conflicting_profiles_are_refused(nb, tmp_path, capsys, command):
    main = run.main if command == "run" else batch.main
    assert main([str(nb), "--profile", "smoke", "--param", "profile=full", "--out", str(tmp_path / "o")]) == 2
    assert "the profile is given twice" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["run", "batch"])
@pytest.mark.parametrize("value, message", [
    ("seeds=abc", "seeds='abc': seeds are distinct non-negative integers"),
    ("seeds='1,1'", "seeds='1,1'"),
    ("seed=-3", "seed=-3: a seed is a non-negative integer"),
])
def test_bad_values_are_refused_before_any_kernel_starts(nb, tmp_path, capsys, command, value, message):
    main = run.main if command == "run" else batch.main
    assert main([str(nb), "--param", value, "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["run", "batch"])
@pytest.mark.parametrize("content", ["{not json", '{"cells": 3}', ""])
def test_a_malformed_notebook_is_a_message_and_exit_2(tmp_path, capsys, command, content):
    bad = tmp_path / "bad.ipynb"
    bad.write_text(content)
    main = run.main if command == "run" else batch.main
    assert main([str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: bad.ipynb is not a readable notebook") and "Traceback" not in err


@pytest.mark.parametrize("command", ["run", "batch"])
def test_an_out_that_is_a_file_is_a_message_and_exit_2(nb, tmp_path, capsys, command):
    (tmp_path / "o").write_text("a file")
    main = run.main if command == "run" else batch.main
    assert main([str(nb), "--out", str(tmp_path / "o")]) == 2
    assert "is a file; give a folder" in capsys.readouterr().err


def test_the_command_line_itself_exits_2_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    done = subprocess.run([sys.executable, "-m", "course_utils", "run", str(bad), "--out", str(tmp_path / "o")],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("error: bad.ipynb")


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_profile_given_as_a_parameter_is_the_profile_the_kernel_sees(tmp_path, monkeypatch):
    """$COURSE_PROFILE=smoke with --param profile=full must not run full under a smoke label."""
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    nb = make_notebook(tmp_path / "p.ipynb", "profile: str | None = None",
                       "import os, course_utils as cu\ncu.record('param', profile)\n"
                       "cu.record('env', os.environ['COURSE_PROFILE'])")
    assert batch.main([str(nb), "--param", "profile=full", "--out", str(tmp_path / "b")]) == 0
    assert run.main([str(nb), "--param", "profile=full", "--out", str(tmp_path / "r")]) == 0
    import csv
    for folder in ("b", "r"):
        [row] = csv.DictReader(open(tmp_path / folder / "results.csv"))
        assert (row["profile"], row["env"]) == ("full", "full")
