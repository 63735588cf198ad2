"""Progress while training: bars for a person watching, one plain line per epoch for a log.

Whether bars can be shown is decided once for the whole package, in course_utils._console
(a terminal or a person's notebook: bars; papermill, nbval, CI: lines; $COURSE_PROGRESS overrides).
Lines go to stdout: nbval fails a notebook that writes to stderr. In a notebook without
ipywidgets the bar falls back to lines, since tqdm's text bar there would be a wall of text.
"""

from __future__ import annotations

import math
import sys

from .._console import PROGRESS_MODES as MODES
from .._console import in_kernel as _in_kernel
from .._console import progress_mode


def resolve_mode(verbose="auto") -> str:
    """'off', 'lines' or 'bar' from verbose (Keras-like: 0 off, 1 bar, 2 lines) and the environment."""
    named = {0: "off", False: "off", 1: "bar", True: "bar", 2: "lines"}
    if verbose in MODES:
        return verbose
    if verbose in named and not isinstance(verbose, float):
        return named[verbose]
    if verbose != "auto":
        raise ValueError(f"verbose={verbose!r}: use 'auto', 0 (silent), 1 or 'bar', 2 or 'lines'")
    mode = progress_mode()
    if mode == "bar" and _in_kernel() and not _has_widgets():
        return "lines"
    return mode


def _has_widgets() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def format_row(row: dict, epochs: int) -> str:
    """One short line: 'epoch  3/10  loss 0.1234  acc 0.9650 | val_loss ... | 4.2 s'."""
    parts = [f"epoch {row['epoch']:>{len(str(epochs))}}/{epochs}"]
    for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
        value = row.get(key)
        if value is not None and not math.isnan(value):
            parts.append(f"{key} {value:.4f}")
    parts.append(f"lr {row['lr']:.2e}")
    parts.append(f"{row['seconds']:.1f} s")
    return "  ".join(parts)


class Progress:
    """Shows training progress in the chosen mode; silent on every process but the first."""

    def __init__(self, mode: str, epochs: int, steps: int, enabled: bool = True):
        self.mode = mode if enabled else "off"
        self.epochs, self.steps = epochs, steps
        self.outer = self.inner = None
        if self.mode == "bar":
            self._tqdm = _tqdm_class()
            self.outer = self._tqdm(total=epochs, desc="epochs", unit="epoch", **_stdout())

    def start_epoch(self, epoch: int) -> None:
        if self.mode == "bar":
            self.inner = self._tqdm(total=self.steps, desc=f"epoch {epoch}", unit="batch", leave=False, **_stdout())

    def step(self, loss=None) -> None:
        """One batch done; `loss` (a float) is shown now and then."""
        if self.inner is not None:
            self.inner.update(1)
            if loss is not None:
                self.inner.set_postfix(loss=f"{loss:.4f}", refresh=False)

    def end_epoch(self, row: dict) -> None:
        if self.mode == "lines":
            print(format_row(row, self.epochs), flush=True)
        elif self.mode == "bar":
            self.inner.close()
            shown = {k.replace("train_", ""): f"{v:.4f}" for k, v in row.items()
                     if k in ("train_loss", "train_acc", "val_loss", "val_acc") and not math.isnan(v)}
            self.outer.set_postfix(shown, refresh=False)
            self.outer.update(1)

    def note(self, text: str) -> None:
        """A one-off message (early stopping, restored weights) in the same channel."""
        if self.mode == "lines":
            print(text, flush=True)
        elif self.mode == "bar":
            self.outer.write(text, file=sys.stdout)

    def close(self) -> None:
        for bar in (self.inner, self.outer):
            if bar is not None:
                bar.close()


def _tqdm_class():
    if _in_kernel():
        from tqdm.auto import tqdm  # the notebook widget (ipywidgets checked in resolve_mode)
    else:
        from tqdm import tqdm
    return tqdm


def _stdout() -> dict:
    return {} if _in_kernel() else {"file": sys.stdout, "dynamic_ncols": True}
