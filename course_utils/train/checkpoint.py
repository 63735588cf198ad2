"""Saving and loading trained weights, safely.

A checkpoint holds state_dicts (tensors) and plain numbers, never pickled Python objects, so it
is loaded with torch.load(..., weights_only=True): a file from someone else cannot run code on
your machine. The file is written next to its final name and then renamed, so an interrupted
save never leaves a half-written checkpoint behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"model": unwrap(model).state_dict(), "meta": meta}
    if optimizer is not None:
        payload["optimizer"] = optimizer.state_dict()
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


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
