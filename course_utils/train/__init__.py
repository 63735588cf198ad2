"""The course's PyTorch training engine: `fit`, `evaluate`, `predict` and checkpoints.

Modules, each small enough to read in one go: engine (the loop, start here), data (tensors on the
device, batches), task (loss and accuracy from the outputs), schedules, early_stopping, progress,
checkpoint, layout and fusion (speed on CPUs), and distributed (the same loop under torchrun).
Precision rules live one level up, in course_utils.precision, because Keras follows them too.
"""

from .checkpoint import load_checkpoint, save_checkpoint
from .early_stopping import EarlyStopping
from .engine import evaluate, fit, predict

__all__ = ["fit", "evaluate", "predict", "save_checkpoint", "load_checkpoint", "EarlyStopping"]
