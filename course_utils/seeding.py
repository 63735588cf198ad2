"""One call that makes a run repeatable across Python, NumPy, PyTorch and TensorFlow."""

from __future__ import annotations

import importlib.util
import os
import random

import numpy as np


def seed_everything(seed: int, *, tensorflow: bool | None = None) -> dict:
    """Seed every random number generator the course uses; returns what was seeded.

    TensorFlow is seeded when it is installed. It is slow to import, so pass
    tensorflow=False in a notebook that never uses it.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    os.environ["PYTHONHASHSEED"] = str(seed)  # inherited by subprocesses such as DataLoader workers
    random.seed(seed)
    np.random.seed(seed)
    seeded = ["python", "numpy"]
    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.manual_seed(seed)  # also seeds every CUDA device
        seeded.append("torch")
    if tensorflow is None:
        tensorflow = importlib.util.find_spec("tensorflow") is not None
    if tensorflow:
        from .frameworks import import_keras

        import_keras().utils.set_random_seed(seed)  # seeds Python, NumPy and the TensorFlow backend
        seeded.append("tensorflow")
    return {"seed": seed, "seeded": seeded}
