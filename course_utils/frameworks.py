"""TensorFlow and Keras start-up, in one place: quiet, sharing the GPU, in the engine's precision.

TensorFlow prints its oneDNN notice to file descriptor 2 while it is imported, before its logging
is configured, so TF_CPP_MIN_LOG_LEVEL alone cannot hide it and nbval then fails the cell for
writing to stderr. `import_keras` points fd 2 at /dev/null for the import only (Python errors
still propagate). `setup_keras` lets TensorFlow grow its GPU memory as needed, so it can share one
GPU with PyTorch, and sets Keras' mixed-precision policy by the same rules as the PyTorch engine.
"""

from __future__ import annotations

import contextlib
import os
import sys

from .precision import choose_precision

# TensorFlow's C++ log lines (INFO, WARNING and its ERROR-level notices, such as one about boolean
# masks in chapter 05's LSTM) would land on stderr in a learner's cell. Python exceptions are
# raised as always. Set TF_CPP_MIN_LOG_LEVEL yourself (0 shows everything) to see them.
TF_LOG_LEVEL = "3"
_POLICIES = {"bfloat16": "mixed_bfloat16", "float16": "mixed_float16", None: "float32"}


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
    """The `keras` module (TensorFlow backend), imported quietly the first time."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", TF_LOG_LEVEL)
    if "keras" not in sys.modules or "tensorflow" not in sys.modules:
        with _silenced_fd2():
            import tensorflow  # noqa: F401  (the noisy part)
            import keras  # noqa: F401
    return sys.modules["keras"]


def setup_keras(mixed_precision=False) -> dict:
    """GPU memory growth and Keras' precision policy; returns {"gpus": n, "policy": name}.

    False (the default): float32, as the articles train and as the chapters' framework comparisons
    need. "auto" follows the PyTorch engine: mixed_bfloat16 on GPUs with compute capability >= 8.0,
    mixed_float16 on older GPUs (Keras then scales the loss itself), float32 on the CPU. Under a
    mixed policy, give the last layer dtype="float32" so that the softmax and the loss stay float32.
    """
    keras = import_keras()
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            pass  # the GPU is already initialised; growth must be set before its first use
    capability = None
    if gpus:
        capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
    # Keras' CPU kernels gain nothing from bf16 autocast, so "auto" keeps float32 on a CPU.
    precision = choose_precision(mixed_precision, "cuda" if gpus else "cpu", capability, cpu_bf16=False)
    policy = _POLICIES[precision.dtype]
    keras.mixed_precision.set_global_policy(policy)
    with _silenced_fd2():  # the first op starts TensorFlow's runtime, which logs to fd 2
        tf.constant(1.0) + 1.0
    return {"gpus": len(gpus), "policy": policy}
