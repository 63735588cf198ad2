"""Learning-rate schedules, stepped once per batch.

"onecycle" warms up to `lr` and anneals far below it (Smith & Topin, 2018): it usually reaches a
given accuracy in fewer epochs than a constant rate. "cosine" starts at `lr` and follows half a
cosine down to zero. Both know the total number of steps, so they end exactly with training.
"""

from __future__ import annotations

import math

SCHEDULES = (None, "constant", "onecycle", "cosine")


def check_schedule(schedule) -> None:
    """Refuse an unknown schedule before any training starts."""
    if schedule in SCHEDULES or callable(schedule):
        return
    raise ValueError(
        f"unknown schedule {schedule!r}; use one of 'onecycle', 'cosine', None, "
        "or a callable (optimizer, total_steps) -> torch LR scheduler"
    )


def make_scheduler(schedule, optimizer, lr: float, total_steps: int):
    """A torch LR scheduler whose step() is called after every batch, or None."""
    import torch

    if schedule in (None, "constant"):
        return None
    if callable(schedule):
        return schedule(optimizer, total_steps)
    if schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=max(total_steps, 2))
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps))
    )
