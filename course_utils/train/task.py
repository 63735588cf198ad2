"""What the model's outputs mean: the loss to use and how to count a correct prediction.

Models return logits. (N, C) outputs with integer labels are C-way classification (softmax
cross-entropy); (N,) or (N, 1) outputs with 0/1 labels are binary (sigmoid + binary
cross-entropy, which is numerically safer than a sigmoid layer followed by BCE). Labels are
checked here, before any training, because a label of 10 for a 10-class model only fails deep
inside the loss with an unhelpful CUDA assert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

LOSSES = ("cross_entropy", "bce", "mse")
_LOSS_ALIASES = {"ce": "cross_entropy", "crossentropy": "cross_entropy", "bce_with_logits": "bce"}


@dataclass
class Task:
    kind: str  # "multiclass", "binary" or "custom"
    loss_fn: Callable
    with_acc: bool
    classes: int | None = None

    def labels(self, y: torch.Tensor) -> torch.Tensor:
        """Labels in the dtype the loss wants (int64 class ids, float 0/1 targets)."""
        if self.kind == "multiclass":
            return y.reshape(-1).long()
        if self.kind == "binary":
            return y.reshape(-1).float()
        return y

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean loss over the batch, computed in float32 even under autocast."""
        out = out.float()
        if self.kind == "binary":
            out = out.reshape(-1)
        return self.loss_fn(out, y)

    def correct(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Number of correct predictions in the batch (a tensor, so no device sync)."""
        if out.ndim == 2 and out.shape[1] > 1:
            return (out.argmax(1) == y.reshape(-1)).sum()
        return ((out.reshape(-1) > 0) == (y.reshape(-1) > 0.5)).sum()


def check_loss(loss) -> None:
    if loss is None or callable(loss) or _LOSS_ALIASES.get(loss, loss) in LOSSES:
        return
    raise ValueError(f"unknown loss {loss!r}; use None (chosen from the outputs), {LOSSES} or a callable")


def infer_task(out: torch.Tensor, y: torch.Tensor, loss=None) -> Task:
    """Pick loss and accuracy from a probe output `out` and all labels `y`; check the labels."""
    binary_shape = out.ndim == 1 or (out.ndim == 2 and out.shape[1] == 1)
    multi_shape = out.ndim == 2 and out.shape[1] > 1
    want_acc = True  # accuracy is computed wherever it means something (classification)
    check_loss(loss)
    name = _LOSS_ALIASES.get(loss, loss) if isinstance(loss, str) else loss
    if callable(name):
        return Task("custom", name, want_acc and (multi_shape or binary_shape), out.shape[-1] if multi_shape else None)
    if name == "mse":
        return Task("custom", F.mse_loss, False)
    if name == "cross_entropy" or (name is None and multi_shape):
        if not multi_shape:
            raise ValueError(f"cross-entropy needs outputs of shape (N, classes); the model gives {tuple(out.shape)}")
        _check_class_ids(y, out.shape[1])
        return Task("multiclass", F.cross_entropy, want_acc, out.shape[1])
    if name == "bce" or (name is None and binary_shape):
        if not binary_shape:
            raise ValueError(f"binary cross-entropy needs outputs of shape (N,) or (N, 1); the model gives {tuple(out.shape)}")
        _check_binary(y)
        return Task("binary", F.binary_cross_entropy_with_logits, want_acc)
    raise ValueError(
        f"cannot choose a loss for model outputs of shape {tuple(out.shape)}; the engine expects "
        "(N, classes) logits or (N,)/(N, 1) binary logits, or pass loss=..."
    )


def check_labels(task: Task, y: torch.Tensor, what: str) -> None:
    """The same checks for validation or test labels, against a task chosen from training data."""
    if task.kind == "multiclass":
        _check_class_ids(y, task.classes, what)
    elif task.kind == "binary":
        _check_binary(y, what)


def _check_class_ids(y: torch.Tensor, classes: int, what: str = "train_data") -> None:
    if y.ndim > 1 and not (y.ndim == 2 and y.shape[1] == 1):
        raise ValueError(
            f"{what}: labels must be class ids of shape (N,), got shape {tuple(y.shape)}"
            " (one-hot labels? use y.argmax(1))"
        )
    if y.dtype.is_floating_point or y.dtype == torch.bool:
        raise ValueError(f"{what}: class labels must be integers, got {y.dtype}")
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= classes:
        raise ValueError(
            f"{what}: labels must lie in [0, {classes - 1}] for a model with {classes} outputs, "
            f"found values from {lo} to {hi}"
        )


def _check_binary(y: torch.Tensor, what: str = "train_data") -> None:
    if y.ndim > 1 and not (y.ndim == 2 and y.shape[1] == 1):
        raise ValueError(f"{what}: binary labels must have shape (N,) or (N, 1), got {tuple(y.shape)}")
    values = torch.unique(y.float())
    if not bool(((values == 0) | (values == 1)).all()):
        raise ValueError(
            f"{what}: a model with one output expects 0/1 labels, found {values[:5].tolist()}"
            " (for C classes, give the model C outputs)"
        )
