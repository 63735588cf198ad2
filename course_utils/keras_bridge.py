"""Keras beside the PyTorch engine: the same history table, so both can be plotted and collected alike.

`history_from_keras` turns a Keras History into the DataFrame that `cu.fit` returns (the columns
of course_utils.history). Keras does not log epoch times or the learning rate; add
`EpochTimer()` to the callbacks to get them. TensorFlow is imported only when EpochTimer is first
used. Keras' start-up (quiet import, GPU memory growth, precision policy) is
course_utils.frameworks.setup_keras, which `cu.setup(keras=True)` calls.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np

from .history import COLUMNS, history_frame

_ACC_KEYS = ("accuracy", "acc", "sparse_categorical_accuracy", "binary_accuracy", "categorical_accuracy")


def history_from_keras(history, seconds=None):
    """A Keras History (or its .history dict) as fit's DataFrame; seconds: a list or an EpochTimer."""
    logs = history.history if hasattr(history, "history") else dict(history)
    if "loss" not in logs:
        raise ValueError(f"not a Keras training history: no 'loss' among {sorted(logs)}")
    n = len(logs["loss"])
    timer = seconds if hasattr(seconds, "seconds") and hasattr(seconds, "lr") else None
    if timer is not None:
        seconds = timer.seconds

    def column(*keys, fallback=None):
        for key in keys:
            if key in logs:
                return [float(v) for v in logs[key]]
        if fallback is not None and len(fallback) >= n:
            return [float(v) for v in fallback[-n:]]
        return [math.nan] * n

    columns = {
        "epoch": [e + 1 for e in getattr(history, "epoch", range(n))][:n],
        "train_loss": column("loss"),
        "train_acc": column(*_ACC_KEYS),
        "val_loss": column("val_loss"),
        "val_acc": column(*("val_" + k for k in _ACC_KEYS)),
        "lr": column("lr", "learning_rate", fallback=timer.lr if timer else None),
        "seconds": column("seconds", fallback=seconds),
    }
    rows = [{c: columns[c][i] for c in COLUMNS} for i in range(n)]
    return history_frame(rows, framework="keras", precision=_keras_policy())


def _keras_policy() -> str:
    keras = sys.modules.get("keras")
    if keras is None:
        return "unknown"
    policy = keras.mixed_precision.global_policy().name
    return {"mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}.get(policy, policy)


def _make_epoch_timer():
    from .frameworks import import_keras

    keras = import_keras()

    class EpochTimer(keras.callbacks.Callback):
        """Records each epoch's wall time and learning rate (in .seconds, .lr and in the logs)."""

        def __init__(self):
            super().__init__()
            self.seconds, self.lr = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self._t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._t0)
            self.lr.append(float(np.asarray(self.model.optimizer.learning_rate)))
            if logs is not None:
                logs["seconds"], logs["lr"] = self.seconds[-1], self.lr[-1]

    return EpochTimer


def __getattr__(name):
    if name == "EpochTimer":  # built on first use, so that importing this module stays light
        cls = _make_epoch_timer()
        globals()["EpochTimer"] = cls
        return cls
    raise AttributeError(name)
