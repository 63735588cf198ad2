"""The training history table that every framework in the course returns: one row per epoch.

The PyTorch engine (`cu.fit`) and the Keras bridge (`cu.history_from_keras`) both give a DataFrame
with these columns, so `plot_history` draws them side by side and the runners collect both alike.
Its `attrs` say how the run was made: device, precision, and the framework.
"""

from __future__ import annotations

COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]


def history_frame(rows, **attrs):
    """A history DataFrame from a list of per-epoch dicts (missing columns become NaN)."""
    import pandas as pd

    frame = pd.DataFrame(list(rows), columns=COLUMNS).astype({"epoch": int})
    frame.attrs.update(attrs)
    return frame
