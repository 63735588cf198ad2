"""Saving and loading trained weights, safely.

A checkpoint holds state_dicts (tensors) and plain numbers, never pickled Python objects, so it
is loaded with torch.load(..., weights_only=True): a file from someone else cannot run code on
your machine. The file is written next to its final name and then renamed, so an interrupted
save never leaves a half-written checkpoint behind.
"""

from __future__ import annotations

import numbers
from pathlib import Path

import numpy as np
import torch

from .._files import atomic_writer

_WRAPPER_PREFIXES = ("module.", "_orig_mod.")  # added by DistributedDataParallel / torch.compile


def unwrap(model):
    """The user's model inside DistributedDataParallel or torch.compile wrappers."""
    while True:
        if hasattr(model, "_orig_mod"):
            model = model._orig_mod
        elif hasattr(model, "module") and isinstance(model.module, torch.nn.Module):
            model = model.module
        else:
            return model


def save_checkpoint(path, model, optimizer=None, **meta) -> Path:
    """Write the model's (and optionally the optimizer's) state to `path`; `meta`: plain values.

    Example: save_checkpoint("runs/cnn.pt", model, epoch=5, history=history.to_dict("list")).
    """
    payload = {"model": unwrap(model).state_dict(), "meta": _plain(meta, "meta")}
    if optimizer is not None:
        payload["optimizer"] = optimizer.state_dict()
    with atomic_writer(path) as f:
        torch.save(payload, f)
    return Path(path)


def _plain(value, where: str):
    """Meta values as plain Python (NumPy scalars and arrays converted), so weights_only loads them."""
    if isinstance(value, dict):
        return {str(k): _plain(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist(), where)
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, str, numbers.Number, torch.Tensor)):
        return value
    raise TypeError(f"checkpoint {where} is a {type(value).__name__}; store numbers, strings, lists "
                    "or dicts of them (a checkpoint holds no pickled objects)")


def load_checkpoint(path, model, optimizer=None, *, map_location="cpu", strict: bool = True) -> dict:
    """Load weights saved by save_checkpoint into `model` (and `optimizer`); returns the meta dict.

    Only tensors and plain values are accepted (weights_only=True). A bare state_dict saved with
    torch.save(model.state_dict(), path) loads too.
    """
    payload = torch.load(Path(path), map_location=map_location, weights_only=True)
    state = payload["model"] if isinstance(payload, dict) and "model" in payload else payload
    state = {_strip(k): v for k, v in state.items()}
    unwrap(model).load_state_dict(state, strict=strict)
    if optimizer is not None:
        if "optimizer" not in payload:
            raise KeyError(f"{path} holds no optimizer state")
        optimizer.load_state_dict(payload["optimizer"])
    return dict(payload.get("meta", {})) if isinstance(payload, dict) else {}


def _strip(key: str) -> str:
    for prefix in _WRAPPER_PREFIXES:
        while key.startswith(prefix):
            key = key[len(prefix):]
    return key
