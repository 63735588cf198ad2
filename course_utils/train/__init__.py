"""The course's PyTorch training engine: `fit`, `evaluate`, `predict` and checkpoints.

Modules, each small enough to read in one go: engine (the loop), data (tensors on the device,
batches), task (loss and accuracy from the outputs), precision (mixed precision), schedules,
early_stopping, progress, checkpoint. Multi-process training lives in course_utils.distributed.
"""

from .checkpoint import load_checkpoint, save_checkpoint
from .early_stopping import EarlyStopping
from .engine import evaluate, fit, predict
from .precision import choose_precision

__all__ = ["fit", "evaluate", "predict", "save_checkpoint", "load_checkpoint", "EarlyStopping", "choose_precision"]
