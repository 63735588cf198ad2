"""scripts/course.py, the set-up and run entry point that needs no bash (Windows) and that the bash
scripts call: the commands it offers, the message an old Python gets, and what it would run on each
platform (dry runs: nothing is installed)."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "course.py"
sys.path.insert(0, str(SCRIPT.parent))
import course  # noqa: E402

WRAPPERS = {"ensure_env.sh": "setup", "lab.sh": "lab", "test.sh": "test", "run_course.sh": "run", "build_site.sh": "site"}


def _course(*args, python=sys.executable, env=None, timeout=60):
    env = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}
    return subprocess.run([python, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO)


def _dry(tmp_path, *args, platform="linux", machine="x86_64"):
    venv = str(tmp_path / "venv")
    proc = _course("--dry-run", "--platform", platform, "--machine", machine, "--venv", venv, *args,
                   env={"COURSE_TORCH_INDEX": None, "COURSE_PROFILE": None})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, venv


def _old_pythons() -> list[str]:
    """Real interpreters older than the minimum found on this machine (pyenv's, python3.10, ...)."""
    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[0]*/bin/python"))
                   + glob.glob(os.path.expanduser("~/.pyenv/versions/3.[6-9]*/bin/python")))
    for name in ("python3.10", "python3.9"):
        for d in os.environ.get("PATH", "").split(os.pathsep):
            p = os.path.join(d, name)
            if os.access(p, os.X_OK) and ".pyenv/shims" not in p:
                found.append(p)
    return found


def test_the_commands_are_listed_in_the_help():
    proc = _course("--help")
    assert proc.returncode == 0
    for command in course.COMMANDS:
        assert f"python scripts/course.py {command}" in proc.stdout
    assert set(course.COMMANDS) == {"setup", "lab", "test", "run", "site"}


def test_a_missing_or_unknown_command_is_refused_with_the_list():
    for args in ([], ["install"]):
        proc = _course(*args)
        assert proc.returncode == 2
        assert "setup, lab, test, run, site" in proc.stderr
    assert "unknown command 'install'" in proc.stderr


def test_options_before_the_command_are_the_scripts_the_rest_go_to_the_tool():
    assert course.split_argv(["--dry-run", "test", "-x", "--dry-run", "-m", "not slow"]) == (
        ["--dry-run"], "test", ["-x", "--dry-run", "-m", "not slow"])
    assert course.split_argv(["lab", "--port", "8890"]) == ([], "lab", ["--port", "8890"])
    proc = _course("--dry-run", "setup", "extra")
    assert proc.returncode == 2 and "setup takes no arguments" in proc.stderr


@pytest.mark.parametrize("platform", ["linux", "darwin", "win32"])
def test_an_old_python_gets_a_clear_message(platform):
    with pytest.raises(course.UserError) as exc:
        course.check_python((3, 10, 13, "final", 0), "/usr/bin/python3", platform)
    message = str(exc.value)
    assert "Python 3.10.13 (/usr/bin/python3)" in message and "needs Python 3.11 or newer" in message
    assert "numpy" in message  # why
    assert {"win32": "py -3.12 scripts\\course.py setup", "darwin": "brew install python@3.12",
            "linux": "python3.12 scripts/course.py setup"}[platform] in message  # what to do
    course.check_python((3, 11, 0), "python", platform)  # the minimum itself passes
    course.check_python((3, 13, 1), "python", platform)


def test_an_environment_made_earlier_with_an_old_python_says_to_delete_it():
    with pytest.raises(course.UserError, match=r"(?s)environment .*made earlier.* delete the folder"):
        course.check_python((3, 10, 4), "/x/.venv/bin/python", "linux", what="the environment /x/.venv (made earlier)",
                            first="delete the folder /x/.venv, then ")


@pytest.mark.parametrize("python", _old_pythons() or [pytest.param(None, marks=pytest.mark.skip("no Python < 3.11 here"))])
def test_a_real_old_python_is_refused_before_anything_happens(python, tmp_path):
    proc = _course("--venv", str(tmp_path / "venv"), "setup", python=python)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "needs Python 3.11 or newer" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "venv").exists()


def test_the_bash_wrapper_passes_an_old_python_on_with_its_message(tmp_path):
    old = _old_pythons()
    if not old:
        pytest.skip("no Python < 3.11 here")
    proc = subprocess.run(["bash", str(REPO / "scripts" / "ensure_env.sh")], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHON": old[-1], "COURSE_VENV": str(tmp_path / "venv")})
    assert proc.returncode == 2 and "needs Python 3.11 or newer" in proc.stderr
    assert not (tmp_path / "venv").exists()


def test_dry_run_setup_on_linux_x86_64_uses_the_cpu_torch_index(tmp_path):
    out, venv = _dry(tmp_path, "setup")
    assert f"-m venv {venv}" in out
    assert f"{venv}/bin/python -m pip install -q -r {REPO}/requirements.txt --extra-index-url {course.TORCH_CPU_INDEX}" in out
    assert f"{venv}/bin/python -m pip install -q --no-deps -e {REPO}" in out
    assert not Path(venv).exists()  # a dry run creates nothing


@pytest.mark.parametrize("platform,machine", [("darwin", "arm64"), ("win32", "amd64"), ("linux", "aarch64")])
def test_dry_run_setup_elsewhere_takes_pypis_torch(tmp_path, platform, machine):
    out, venv = _dry(tmp_path, "setup", platform=platform, machine=machine)
    assert "--extra-index-url" not in out and "PyPI's torch" in out
    if platform == "win32":
        assert "\\venv\\Scripts\\python.exe -m pip install" in out


def test_dry_run_test_runs_pytest_in_the_smoke_profile_with_the_arguments(tmp_path):
    out, venv = _dry(tmp_path, "test", "-x", "-m", "not slow")
    assert out.strip().splitlines()[-1] == f"+ {venv}/bin/python -m pytest -x -m 'not slow'"
    plan = course.Plan("linux", "x86_64", venv, True, sys.executable)
    saved = os.environ.pop("COURSE_PROFILE", None)
    try:
        assert course.command_line(plan, "test", [])[1]["COURSE_PROFILE"] == "smoke"
        assert "COURSE_PROFILE" not in course.command_line(plan, "lab", [])[1]
        os.environ["COURSE_PROFILE"] = "full"  # a profile the user chose is kept
        env = course.command_line(plan, "test", [])[1]
        assert env["COURSE_PROFILE"] == "full" and env["PATH"].split(os.pathsep)[0] == f"{venv}/bin"
    finally:
        os.environ.pop("COURSE_PROFILE", None)
        if saved is not None:
            os.environ["COURSE_PROFILE"] = saved


@pytest.mark.parametrize("command,expected", [
    ("lab", "-m jupyterlab --notebook-dir={repo}/notebooks"),
    ("run", "-m course_utils run --profile smoke 01"),
    ("site", "{repo}/site/build.py"),
])
def test_dry_run_of_each_command(tmp_path, command, expected):
    extra = ["--profile", "smoke", "01"] if command == "run" else []
    out, venv = _dry(tmp_path, command, *extra)
    assert expected.format(repo=REPO) in out.strip().splitlines()[-1]


@pytest.mark.parametrize("script,command", sorted(WRAPPERS.items()))
def test_the_bash_scripts_are_wrappers_of_course_py(script, command):
    text = (REPO / "scripts" / script).read_text()
    assert f'scripts/course.py" {command} "$@"' in text
    assert "pip install" not in text and "jupyter" not in text.split("\n", 3)[-1]


def test_ensure_env_is_quick_and_quiet_when_the_environment_is_current():
    proc = subprocess.run(["bash", str(REPO / "scripts" / "ensure_env.sh")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "installing" not in proc.stdout  # the stamp matches: nothing to install
    assert proc.stdout.strip().endswith("is ready: `python scripts/course.py lab` opens the course")


def test_ci_runs_the_readmes_test_command():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in readme and "python scripts/course.py test" in readme
    assert "bash scripts/test.sh" in ci
