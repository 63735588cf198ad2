"""Headline results that a notebook reports, readable back from papermill's output.

`record("test_acc", 0.991)` shows a short line under the cell and stores the value in the
cell's outputs under its own MIME type, so the executed .ipynb itself carries the results:
the runners read them back (course_utils/tools/notebooks.py, `read_results`), so a learner's
notebook needs nothing from the tools.
"""

from __future__ import annotations

import math
import numbers

MIME = "application/vnd.course-utils.result+json"
_RESULTS: dict = {}


def _plain(value):
    """Convert NumPy/torch scalars to JSON-able Python values; refuse anything else."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    raise TypeError(f"record() takes numbers, strings, booleans or lists of them, not {type(value).__name__}")


def record(name: str, value) -> None:
    """Report one headline result (shown under the cell, stored in the notebook's outputs)."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"result names must be identifiers like 'test_acc', got {name!r}")
    plain = _plain(value)
    _RESULTS[name] = plain
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return
    if get_ipython() is not None:
        shown = f"{plain:.4g}" if isinstance(plain, float) else repr(plain)
        display({MIME: {"name": name, "value": plain}, "text/plain": f"recorded {name} = {shown}"}, raw=True)


def recorded() -> dict:
    """Everything recorded so far in this kernel."""
    return dict(_RESULTS)

