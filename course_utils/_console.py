"""What the package prints, and where: one decision about live progress bars.

nbval fails a notebook that writes to stderr, and a progress bar in a log file is thousands of
carriage returns. So bars are drawn only where a person watches them live: a terminal, or a
notebook kernel that a person drives. Batch runs (papermill, nbval, CI) are recognised by $CI or
$COURSE_PROFILE (set by the runners and by scripts/test.sh) and get plain lines instead.
$COURSE_PROGRESS=bar|lines|off overrides the decision everywhere (downloads and training alike).
"""

from __future__ import annotations

import os
import sys

PROGRESS_MODES = ("off", "lines", "bar")


def in_kernel() -> bool:
    """True inside a Jupyter kernel."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def progress_mode() -> str:
    """'bar', 'lines' or 'off': how to show progress here (see the module docstring)."""
    forced = os.environ.get("COURSE_PROGRESS", "").lower()
    if forced in PROGRESS_MODES:
        return forced
    if os.environ.get("CI") or os.environ.get("COURSE_PROFILE"):
        return "lines"
    if in_kernel():
        return "bar"
    return "bar" if sys.stderr.isatty() else "lines"


def log(message: str) -> None:
    """A status line for the person running a command (stderr, flushed at once)."""
    print(message, file=sys.stderr, flush=True)
