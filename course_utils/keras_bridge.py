"""Keras beside the PyTorch engine: the same history table, the same precision rules.

`history_from_keras` turns a Keras History into the DataFrame that `fit` returns (epoch,
train_loss, train_acc, val_loss, val_acc, lr, seconds), so plot_history can draw PyTorch and
Keras curves together and the runners collect both alike. Keras does not log epoch times or the
learning rate; add `EpochTimer()` to the callbacks to get them. TensorFlow is imported only when
a function here needs it.

Under a mixed policy, give the last layer dtype="float32" (e.g. Dense(10, dtype="float32")) so
that the softmax and the loss are computed in float32.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd

from .device import setup_tensorflow
from .quiet import import_keras
from .train.engine import COLUMNS
from .train.precision import choose_precision

_ACC_KEYS = ("accuracy", "acc", "sparse_categorical_accuracy", "binary_accuracy", "categorical_accuracy")
_POLICIES = {"bfloat16": "mixed_bfloat16", "float16": "mixed_float16", None: "float32"}


def history_from_keras(history, seconds=None) -> pd.DataFrame:
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

    frame = pd.DataFrame({
        "epoch": [e + 1 for e in getattr(history, "epoch", range(n))][:n],
        "train_loss": column("loss"),
        "train_acc": column(*_ACC_KEYS),
        "val_loss": column("val_loss"),
        "val_acc": column(*("val_" + k for k in _ACC_KEYS)),
        "lr": column("lr", "learning_rate", fallback=timer.lr if timer else None),
        "seconds": column("seconds", fallback=seconds),
    })
    return frame[COLUMNS]


def setup_keras(mixed_precision="auto") -> dict:
    """GPU memory growth and the mixed-precision policy for Keras, by the engine's rules.

    "auto": mixed_bfloat16 on GPUs with compute capability >= 8.0, mixed_float16 on older GPUs
    (Keras then scales the loss itself), float32 on the CPU. Returns {"gpus": n, "policy": name}.
    """
    keras = import_keras()
    gpus = setup_tensorflow()
    capability = None
    if gpus:
        import tensorflow as tf

        capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
    precision = choose_precision(mixed_precision, "cuda" if gpus else "cpu", capability)
    policy = _POLICIES[precision.dtype]
    keras.mixed_precision.set_global_policy(policy)
    return {"gpus": len(gpus), "policy": policy}


def _make_epoch_timer():
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
