"""Google Colab, the learner's side: what the first code cell of every notebook does there.

The cell (written by the maintainers' tool, course_utils/tools/colab_cells.py) installs nothing
outside Colab. On Colab it installs, with %pip, the release of course_utils the notebook was written
with (course_utils depends on neither torch nor TensorFlow, so Colab's own builds stay), then calls
`setup()`: check that the installed version is the notebook's, fetch the data this notebook uses
with progress bars, and say whether a GPU is there and what the training engine uses on it (float16
with gradient scaling on a T4, bfloat16 on Ampere and newer), or how to get one.
"""

from __future__ import annotations

import os
import sys

MENU_PATH = "Runtime → Change runtime type → Hardware accelerator → T4 GPU → Save"
# What a CPU-only runtime costs. Stated as an estimate: replace it with measured numbers from
# benchmarks/RESULTS.md once they exist for a Colab CPU runtime and a T4.
CPU_COST = (
    "Without a GPU every notebook still runs, on Colab's 2-core CPU: chapters 01-03 take about as "
    "long as with one, but the training in chapters 04-06 is slower, by an estimated factor of "
    "several (minutes instead of seconds per epoch for the CNN and the LSTM)."
)


# --- Colab detection and set-up ------------------------------------------------------------------
def on_colab() -> bool:
    """True inside a Google Colab runtime (its kernel imports google.colab and sets COLAB_RELEASE_TAG)."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def no_gpu_message() -> str:
    return (
        "No GPU in this Colab runtime: the notebooks will run on the CPU.\n"
        f"To use Colab's free GPU: {MENU_PATH}; then run the notebook again from the top "
        "(changing the runtime restarts it, so this cell runs again).\n" + CPU_COST
    )


def _fetch(datasets) -> dict:
    """Fetch and verify each dataset now, in this cell, so that its progress bars show here."""
    from .data import DataError, fetch

    states = {}
    for name in datasets:
        try:
            fetch(name)
            states[name] = "ready"
        except DataError as exc:  # said, not raised: each notebook fetches what it needs when it loads it
            print(f"could not fetch {name} now ({exc}); the notebook will try again when it loads it")
            states[name] = "failed"
    return states


def version_warning(expected: str | None) -> str | None:
    """A sentence when the installed course_utils is not the release the notebook was written with."""
    from . import __version__

    if expected is None or expected == __version__:
        return None
    return (
        f"This notebook was written for course_utils {expected}, but {__version__} is installed: some cells "
        f"may not match. Runtime → Disconnect and delete runtime, then run the notebook again from the top."
    )


def setup(fetch_data: bool = True, datasets=None, version: str | None = None) -> dict | None:
    """The Colab set-up: check the version, fetch the data, report the GPU. Outside Colab: nothing, None.

    `datasets` names the datasets this notebook loads (the set-up cell lists them); None means all.
    """
    if not on_colab():
        return None
    from .data import DATASETS
    from .device import describe, device_report

    warning = version_warning(version)
    if warning:
        print(warning)
    names = list(DATASETS) if datasets is None else list(datasets)
    result = {"data": _fetch(names) if fetch_data else None, "version_ok": warning is None}
    report = device_report()
    if report.get("device", "cpu").startswith("cuda"):
        print(f"GPU found: {describe(report)}")
    else:
        print(no_gpu_message())
    result["device"] = report.get("device", "cpu")
    result["precision"] = report.get("mixed_precision")
    return result
