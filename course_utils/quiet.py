"""Import TensorFlow/Keras without the C++ start-up banner landing in a learner's cell.

TensorFlow prints its oneDNN notice to file descriptor 2 before its logging is configured,
so TF_CPP_MIN_LOG_LEVEL cannot hide it. We point fd 2 at /dev/null for the import only;
Python errors raised by the import still propagate normally.
"""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def _silenced_fd2():
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (some embedded interpreters)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_keras():
    """Return the `keras` module (TensorFlow backend), imported quietly the first time."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "keras" not in sys.modules:
        with _silenced_fd2():
            import tensorflow  # noqa: F401  (the noisy part)
            import keras  # noqa: F401
    return sys.modules["keras"]
