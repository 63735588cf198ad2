"""Early stopping: end training when the validation score stops improving, keep the best weights.

Validation loss usually falls, bottoms out and rises again as a model starts to memorise its
training set (chapter 06). Waiting `patience` epochs past the best one and then going back to
the best weights gives the model from the bottom of that curve.
"""

from __future__ import annotations

from dataclasses import dataclass

MONITORS = ("val_loss", "val_acc", "train_loss", "train_acc")


@dataclass(frozen=True)
class EarlyStopping:
    patience: int = 3
    monitor: str = "val_loss"
    min_delta: float = 0.0  # an improvement smaller than this does not count
    restore_best: bool = True

    def __post_init__(self):
        if not isinstance(self.patience, int) or isinstance(self.patience, bool) or self.patience < 1:
            raise ValueError(f"early stopping patience must be an integer >= 1, got {self.patience!r}")
        if self.monitor not in MONITORS:
            raise ValueError(f"early stopping can monitor {MONITORS}, not {self.monitor!r}")
        if self.min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {self.min_delta!r}")

    @property
    def higher_is_better(self) -> bool:
        return self.monitor.endswith("acc")

    @classmethod
    def from_arg(cls, arg):
        """fit's early_stopping argument: None, a patience (int), a dict of fields, or an instance."""
        if arg is None or arg is False:
            return None
        if isinstance(arg, cls):
            return arg
        if isinstance(arg, int) and not isinstance(arg, bool):
            return cls(patience=arg)
        if isinstance(arg, dict):
            unknown = set(arg) - {"patience", "monitor", "min_delta", "restore_best"}
            if unknown:
                raise ValueError(f"unknown early_stopping settings {sorted(unknown)}")
            return cls(**arg)
        raise TypeError(f"early_stopping must be a patience (int), a dict or EarlyStopping, got {arg!r}")


class Tracker:
    """The running state of one fit: best score so far, its epoch and weights, epochs waited."""

    def __init__(self, rule: EarlyStopping):
        self.rule = rule
        self.best = None
        self.best_epoch = None
        self.best_state = None
        self.waited = 0

    def update(self, epoch: int, value: float, model) -> bool:
        """Record an epoch's score; True when training should stop."""
        sign = 1 if self.rule.higher_is_better else -1
        if self.best is None or sign * (value - self.best) > self.rule.min_delta:
            self.best, self.best_epoch, self.waited = value, epoch, 0
            if self.rule.restore_best:
                self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            return False
        self.waited += 1
        return self.waited >= self.rule.patience
