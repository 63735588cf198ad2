#!/usr/bin/env python3
"""The course's commands, on Linux, macOS and Windows alike (no bash needed):

    python scripts/course.py setup         create or update .venv from the pins (requirements.txt)
    python scripts/course.py lab [ARGS]    open the course in JupyterLab (ARGS go to JupyterLab)
    python scripts/course.py test [ARGS]   unit tests + every notebook under nbval, smoke profile (ARGS go to pytest)
    python scripts/course.py run [ARGS]    execute every notebook in the full profile into runs/ (python -m course_utils run)
    python scripts/course.py site [ARGS]   build the course website into _build/site/ (site/build.py)

Options of this script go before the command (`python scripts/course.py --dry-run setup`); everything
after the command goes to the tool it runs. Every command but setup first makes sure the environment
is there and current. The bash scripts (scripts/ensure_env.sh, lab.sh, test.sh, run_course.sh,
build_site.sh) call this file, so both ways are one code path. Create the environment with the
Python you want the course to run on: `python3.12 scripts/course.py setup`.

Standard library only, and written for old interpreters too: an old Python gets a clear message
saying what it is and how to get 3.11 or newer, not a syntax error.
"""

from __future__ import print_function  # so that Python 2 reaches the version message below

import argparse
import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys

MIN_PYTHON = (3, 11)
# Why 3.11: the pinned numpy 2.4, pandas 3.1 and matplotlib 3.11 publish nothing for older Pythons,
# and keras 3.15 and ipykernel 7.4 declare Requires-Python >= 3.11 (checked with pip download
# --python-version 3.10). pyproject.toml says the same; tests/test_environment.py checks both.
WHY_MIN = "the pinned numpy 2.4, pandas 3.1, matplotlib 3.11, keras 3.15 and ipykernel 7.4 need it"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMANDS = ("setup", "lab", "test", "run", "site")


class UserError(Exception):
    """A problem the learner can fix; main() prints it and exits with code 2."""


def how_to_get_python(platform_name):
    """One line per platform on getting a Python >= MIN_PYTHON."""
    want = "%d.%d" % MIN_PYTHON
    if platform_name == "win32":
        return ("install Python %s or newer from https://www.python.org/downloads/ (or `winget install Python.Python.3.12`), "
                "then run `py -3.12 scripts\\course.py setup`" % want)
    if platform_name == "darwin":
        return ("install Python %s or newer (`brew install python@3.12`, or https://www.python.org/downloads/), "
                "then run `python3.12 scripts/course.py setup` (or `PYTHON=python3.12 bash scripts/ensure_env.sh`)" % want)
    return ("install Python %s or newer (Debian 12 and Ubuntu 24.04: `sudo apt install python3 python3-venv`; "
            "elsewhere pyenv, conda (`conda env create -f environment.yml`) or https://www.python.org/downloads/), "
            "then run `python3.12 scripts/course.py setup` (or `PYTHON=python3.12 bash scripts/ensure_env.sh`)" % want)


def check_python(version_info, executable, platform_name, what="this interpreter", first=""):
    """Refuse a Python older than MIN_PYTHON with a message that says what was found and what to do."""
    if tuple(version_info[:2]) >= tuple(MIN_PYTHON):
        return
    found = ".".join(str(v) for v in version_info[:3])
    raise UserError("%s is Python %s (%s), but the course needs Python %d.%d or newer: %s.\n  To fix it: %s%s."
                    % (what, found, executable, MIN_PYTHON[0], MIN_PYTHON[1], WHY_MIN, first, how_to_get_python(platform_name)))


class Plan(object):
    """Where things are for one platform, and how each command runs (or is only shown, with --dry-run)."""

    def __init__(self, platform_name, machine, venv, dry_run, python):
        self.platform = platform_name
        self.machine = machine
        self.venv = venv
        self.dry_run = dry_run
        self.python = python
        self.windows = platform_name == "win32"
        self.sep = "\\" if self.windows else "/"

    def join(self, *parts):
        return self.sep.join(parts)

    @property
    def bin_dir(self):
        return self.join(self.venv, "Scripts" if self.windows else "bin")

    @property
    def venv_python(self):
        return self.join(self.bin_dir, "python.exe" if self.windows else "python")

    @property
    def pip_python(self):
        """The venv's Python once it exists (its pip reads the same configuration), else this one."""
        return self.venv_python if os.path.isfile(self.venv_python) else self.python

    def show(self, cmd):
        line = subprocess.list2cmdline(cmd) if self.windows else " ".join(shlex.quote(c) for c in cmd)
        print("+ " + line, flush=True)

    def call(self, cmd, env=None):
        self.show(cmd)
        if self.dry_run:
            return 0
        return subprocess.call(cmd, cwd=ROOT, env=env)

    def check(self, cmd, what):
        rc = self.call(cmd)
        if rc != 0:
            raise UserError("%s failed (exit code %d); the messages above say why" % (what, rc))


def env_stamp():
    """What the installed environment was built from: the same digest scripts/ensure_env.sh always wrote."""
    h = hashlib.sha256()
    for name in ("requirements.txt", "pyproject.toml"):
        with open(os.path.join(ROOT, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def local_torch_wheel(pin, python):
    """A CPU wheel of torch==pin that pip's own configuration already offers (find-links), or None."""
    try:
        out = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    dirs = os.environ.get("PIP_FIND_LINKS", "").split()
    for line in out.splitlines():
        key, _, value = line.partition("=")
        if key.endswith("find-links"):
            dirs += value.strip().strip("'\"").split()
    for d in dirs:
        if os.path.isdir(d):
            for name in os.listdir(d):
                if name.startswith("torch-%s+cpu-" % pin) and name.endswith(".whl"):
                    return os.path.join(d, name)
    return None


def torch_pin():
    """The torch version requirements.txt pins for Linux x86-64 (the `+cpu` line), without the label."""
    with open(os.path.join(ROOT, "requirements.txt")) as f:
        for line in f:
            line = line.split("#")[0].strip()
            if line.startswith("torch==") and "+cpu" in line:
                return line.split("==")[1].split(";")[0].strip().split("+")[0]
    return None


def torch_index(plan):
    """The extra package index for PyTorch's CPU build, where one applies, and why (for the log).

    PyPI's torch for Linux x86-64 is the CUDA build (several GB); requirements.txt pins the CPU build,
    `torch==<version>+cpu`, for that platform by an environment marker, and only PyTorch's CPU index
    has it (about 200 MB). Windows and macOS wheels on PyPI are already CPU (or Apple-GPU) builds, so
    no index is added there. COURSE_TORCH_INDEX overrides: a URL (a mirror of that index), or `none`
    for pip's own configuration only (a local wheel folder, a proxy).
    """
    chosen = os.environ.get("COURSE_TORCH_INDEX")
    if chosen is not None:
        return (None, "COURSE_TORCH_INDEX=none") if chosen.strip().lower() in ("", "none") else (chosen, "COURSE_TORCH_INDEX")
    if plan.platform != "linux" or plan.machine not in ("x86_64", "amd64"):
        return None, "PyPI's torch for %s/%s is the right build" % (plan.platform, plan.machine)
    pin = torch_pin()
    wheel = local_torch_wheel(pin, plan.pip_python) if pin and not plan.dry_run else None
    if wheel:
        return None, "pip's configuration already offers the CPU build of torch %s (%s)" % (pin, wheel)
    return TORCH_CPU_INDEX, "the CPU build of torch on Linux x86-64, pinned in requirements.txt"


def venv_version(plan):
    out = subprocess.run([plan.venv_python, "-c", "import sys; print(list(sys.version_info[:3]))"],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise UserError("%s does not run (%s): delete the folder %s and run setup again"
                        % (plan.venv_python, out.stderr.strip()[-300:], plan.venv))
    return json.loads(out.stdout)


def setup(plan):
    """Create the venv if needed (with a Python that is new enough), install the pins when they changed."""
    stamp_file = plan.join(plan.venv, ".course-env-stamp")
    exists = os.path.isfile(plan.venv_python) and not plan.dry_run
    if exists:
        check_python(venv_version(plan), plan.venv_python, plan.platform,
                     what="the environment %s (made earlier)" % plan.venv, first="delete the folder %s, then " % plan.venv)
    else:
        check_python(sys.version_info, plan.python, plan.platform)
        print("[env] creating %s with Python %s" % (plan.venv, platform.python_version()), flush=True)
        rc = plan.call([plan.python, "-m", "venv", plan.venv])
        if rc != 0:
            hint = " (on Debian/Ubuntu: `sudo apt install python3-venv`)" if plan.platform == "linux" else ""
            raise UserError("could not create %s with %s%s" % (plan.venv, plan.python, hint))
    want = env_stamp()
    have = None
    if exists and os.path.isfile(stamp_file):
        with open(stamp_file) as f:
            have = f.read().strip()
    if have == want:
        return
    print("[env] installing the pinned packages into %s (the first time: a few minutes)" % plan.venv, flush=True)
    pip = [plan.venv_python, "-m", "pip", "install", "-q"]
    plan.check(pip + ["--upgrade", "pip"], "upgrading pip")
    index, why = torch_index(plan)
    extra = ["--extra-index-url", index] if index else []
    print("[env] torch: %s" % (("from %s: %s" % (index, why)) if index else why), flush=True)
    plan.check(pip + ["-r", os.path.join(ROOT, "requirements.txt")] + extra, "installing requirements.txt")
    plan.check(pip + ["--no-deps", "-e", ROOT], "installing course_utils")
    if not plan.dry_run:
        with open(stamp_file, "w") as f:
            f.write(want + "\n")


def course_env(plan, profile=None):
    """The settings every course command shares (scripts/course_env.sh sets the same for a shell)."""
    env = dict(os.environ)
    env["PATH"] = plan.bin_dir + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = plan.venv
    mirror = os.path.join(os.path.dirname(ROOT), "shared", "datasets")
    if not env.get("COURSE_DATA_MIRROR") and os.path.isdir(mirror):
        env["COURSE_DATA_MIRROR"] = mirror  # a classroom mirror beside the checkout; files are still verified
    if profile and not env.get("COURSE_PROFILE"):
        env["COURSE_PROFILE"] = profile
    return env


def command_line(plan, command, args):
    """The command that `command` runs inside the environment, and its environment."""
    py = plan.venv_python
    if command == "lab":
        cmd = [py, "-m", "jupyterlab", "--notebook-dir=" + os.path.join(ROOT, "notebooks")]
        if hasattr(os, "geteuid") and os.geteuid() == 0 and plan.platform != "win32":
            cmd.append("--allow-root")  # JupyterLab refuses root without it (containers)
        return cmd + args, course_env(plan)
    if command == "test":
        return [py, "-m", "pytest"] + args, course_env(plan, profile="smoke")
    if command == "run":
        return [py, "-m", "course_utils", "run"] + args, course_env(plan)
    if command == "site":
        return [py, os.path.join(ROOT, "site", "build.py")] + args, course_env(plan)
    raise UserError("unknown command %r" % command)


def split_argv(argv):
    """(this script's options, the command, the tool's arguments): the first word that is a command splits them."""
    for i, word in enumerate(argv):
        if word in COMMANDS:
            return argv[:i], word, argv[i + 1:]
    return argv, None, []


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if sys.version_info[:2] < (3, 7):  # too old even for this script's argparse and subprocess calls
        try:
            check_python(sys.version_info, sys.executable, sys.platform)
        except UserError as exc:
            print("error: %s" % exc, file=sys.stderr)
            return 2
    parser = argparse.ArgumentParser(prog="python scripts/course.py", usage="%%(prog)s [OPTIONS] {%s} [ARGS...]" % ",".join(COMMANDS),
                                     description=__doc__.split("\n\n")[0], allow_abbrev=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.split("\n")[2:8]))
    parser.add_argument("--dry-run", action="store_true",
                        help="print the commands instead of running them (as on a machine with no .venv yet)")
    parser.add_argument("--platform", default=sys.platform, choices=("linux", "darwin", "win32"),
                        help="plan for another platform (with --dry-run; for tests)")
    parser.add_argument("--machine", default=platform.machine().lower(), help="CPU architecture to plan for (with --dry-run)")
    parser.add_argument("--venv", default=os.environ.get("COURSE_VENV") or os.path.join(ROOT, ".venv"),
                        help="where the environment lives (default .venv, or $COURSE_VENV)")
    options, command, rest = split_argv(argv)
    args, unknown = parser.parse_known_args(options)
    if command is None:
        words = [w for w in unknown if not w.startswith("-")]
        parser.error("%ssay which command: %s" % ("unknown command %r; " % words[0] if words else "", ", ".join(COMMANDS)))
    if unknown:
        parser.error("unrecognized options before the command: %s" % " ".join(unknown))
    if command == "setup" and rest:
        parser.error("setup takes no arguments: %s" % " ".join(rest))
    if args.platform != sys.platform and not args.dry_run:
        parser.error("--platform %s only plans (add --dry-run); this machine is %s" % (args.platform, sys.platform))
    venv = args.venv if args.platform == sys.platform else args.venv.replace("/", "\\" if args.platform == "win32" else "/")
    plan = Plan(args.platform, args.machine.lower(), venv, args.dry_run, sys.executable)
    try:
        setup(plan)
        if command == "setup":
            if not args.dry_run:
                print("[env] %s is ready: `python scripts/course.py lab` opens the course" % plan.venv)
            return 0
        cmd, env = command_line(plan, command, rest)
        plan.show(cmd)
        if args.dry_run:
            return 0
        os.chdir(ROOT)
        if plan.windows:  # no exec on Windows: wait for the child, and let Ctrl-C reach it alone
            proc = subprocess.Popen(cmd, env=env)
            while True:
                try:
                    return proc.wait()
                except KeyboardInterrupt:
                    continue
        sys.stdout.flush()
        os.execve(cmd[0], cmd, env)  # POSIX: become the command, as the bash scripts' `exec` did
    except UserError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
