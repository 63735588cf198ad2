"""Check a hand-derived gradient against a reference (autograd, GradientTape, finite differences).

Chapters 02 and 03 derive every gradient by hand and then ask: does it match? `compare_grads`
answers with one of three verdicts, in the spirit of the `cmp()` in karpathy's makemore part 4:

* ``exact``  every element is bit-for-bit equal,
* ``close``  not equal, but within ``atol + rtol * |reference|`` everywhere (rounding noise),
* ``wrong``  a real mistake (or a shape mismatch).

The result is a small record that prints as one line and turns into a table row, so a notebook
can check ten gradients and show them together. Verdicts are stable across machines; the size of
the rounding noise is not, so `line(stable=True)` leaves the number out for nbval-checked cells.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

VERDICTS = ("exact", "close", "wrong")


def to_numpy(x) -> np.ndarray:
    """A NumPy array from a NumPy array, a PyTorch tensor, a TensorFlow tensor/variable or a number."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach"):  # torch.Tensor
        return x.detach().cpu().numpy()
    if hasattr(x, "numpy"):  # tf.Tensor, tf.Variable, keras Variable
        return np.asarray(x.numpy())
    return np.asarray(x)


@dataclass(frozen=True)
class GradCheck:
    """The outcome of one comparison; `ok` is True for ``exact`` and ``close``."""

    name: str
    verdict: str
    max_abs_diff: float
    max_rel_diff: float
    shape: tuple
    atol: float
    rtol: float
    note: str = field(default="")

    @property
    def ok(self) -> bool:
        return self.verdict in ("exact", "close")

    def line(self, stable: bool = False) -> str:
        """One line for printing. stable=True: no float noise (same text on every machine)."""
        shape = "x".join(map(str, self.shape)) or "scalar"
        if stable:
            status = "ok   " if self.ok else "WRONG"
            text = f"{status} {self.name:<28} {shape:<10} within atol={self.atol:g}, rtol={self.rtol:g}"
            if not self.ok:
                text = f"{status} {self.name:<28} {shape:<10} NOT within atol={self.atol:g}, rtol={self.rtol:g}"
        else:
            text = f"{self.verdict:<5} {self.name:<28} {shape:<10} max|diff| = {self.max_abs_diff:.2e}"
        return text + (f"  ({self.note})" if self.note else "")

    def __str__(self) -> str:
        return self.line()

    def as_row(self) -> dict:
        """A dict for a pandas DataFrame (see `grad_table`)."""
        return {
            "name": self.name,
            "shape": self.shape,
            "verdict": self.verdict,
            "max_abs_diff": self.max_abs_diff,
            "max_rel_diff": self.max_rel_diff,
            "atol": self.atol,
            "rtol": self.rtol,
        }


def compare_grads(name: str, mine, reference, atol: float = 1e-8, rtol: float = 1e-6,
                  verbose: bool = False) -> GradCheck:
    """Compare a hand-derived array `mine` with `reference`; returns a `GradCheck`.

    `mine` and `reference` may be NumPy arrays, PyTorch or TensorFlow tensors. The defaults suit
    float64; for float32 use about atol=1e-6, rtol=1e-5. verbose=True also prints the line.
    """
    a = to_numpy(mine)
    b = to_numpy(reference)
    if a.shape != b.shape:
        result = GradCheck(name, "wrong", float("inf"), float("inf"), tuple(b.shape), atol, rtol,
                           note=f"shape {tuple(a.shape)} vs reference {tuple(b.shape)}")
    else:
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            diff = np.abs(a64 - b64)
        max_abs = float(diff.max()) if diff.size else 0.0
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            rel = diff / np.maximum(np.abs(b64), np.finfo(np.float64).tiny)
        max_rel = float(np.nanmax(rel)) if rel.size else 0.0
        if not np.all(np.isfinite(a64)):
            verdict = "wrong"
        elif np.array_equal(a, b):
            verdict = "exact"
        elif np.allclose(a64, b64, atol=atol, rtol=rtol):
            verdict = "close"
        else:
            verdict = "wrong"
        result = GradCheck(name, verdict, max_abs, max_rel, tuple(b.shape), atol, rtol)
    if verbose:
        print(result.line())
    return result


def grad_table(results, stable: bool = False):
    """A pandas DataFrame of several `GradCheck`s (stable=True drops the float-noise columns)."""
    import pandas as pd

    rows = [r.as_row() for r in results]
    frame = pd.DataFrame(rows)
    if stable and len(frame):
        frame["status"] = ["ok" if r.ok else "WRONG" for r in results]
        frame = frame[["name", "shape", "status", "atol", "rtol"]]
    return frame


def numerical_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences of a scalar function f at x (float64): a framework-free reference.

    Costs two calls of f per element of x, so use it on small arrays.
    """
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        up = float(f(x))
        x[i] = old - eps
        down = float(f(x))
        x[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad
