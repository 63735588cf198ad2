"""Plots return Figures; the Keras history comes out in the engine's columns."""

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

import course_utils as cu
from course_utils.plots import confusion_matrix

COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]


def history(shift=0.0):
    e = np.arange(1, 4)
    return pd.DataFrame(dict(epoch=e, train_loss=1 / e + shift, train_acc=1 - 0.5 / e, val_loss=1.2 / e + shift,
                             val_acc=1 - 0.6 / e, lr=1e-3, seconds=1.0))


def test_plot_history_one_or_many():
    fig = cu.plot_history(history())
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 2
    assert [ln.get_linestyle() for ln in fig.axes[0].lines] == ["--", "-"]  # train dashed, val solid
    fig = cu.plot_history({"baseline": history(), "dropout": history(0.1)}, metrics="loss", title="t")
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 4
    assert fig.axes[0].lines[0].get_color() == fig.axes[0].lines[1].get_color()


def test_plot_history_skips_missing_accuracy():
    h = history().assign(train_acc=np.nan, val_acc=np.nan)
    fig = cu.plot_history(h)
    assert len(fig.axes[1].lines) == 0


def test_plot_image_grid_layouts():
    imgs = torch.rand(10, 1, 28, 28)
    fig = cu.plot_image_grid(imgs, titles=[f"d{i}" for i in range(10)], ncols=4)
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 12  # 3 rows of 4
    assert fig.axes[0].get_title() == "d0"
    assert len(cu.plot_image_grid(np.zeros((3, 8, 8), np.uint8)).axes) == 3
    assert len(cu.plot_image_grid(np.zeros((2, 8, 8, 3))).axes) == 2


def test_confusion_matrix_counts_and_plot():
    y_true, y_pred = np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2])
    cm = confusion_matrix(y_true, y_pred)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    fig = cu.plot_confusion_matrix(y_true, y_pred, labels=["a", "b", "c"], normalize=True)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="only 2 labels"):
        cu.plot_confusion_matrix(y_true, y_pred, labels=["a", "b"])


def test_history_from_keras_tiny_model():
    keras = cu.import_keras()
    cu.seed_everything(0)
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    timer = cu.EpochTimer()
    hist = model.fit(x, y, validation_data=(x[:16], y[:16]), epochs=2, batch_size=16, verbose=0, callbacks=[timer])
    h = cu.history_from_keras(hist, timer)
    assert list(h.columns) == COLUMNS and h["epoch"].tolist() == [1, 2]
    assert h["train_loss"].tolist() == pytest.approx(hist.history["loss"])
    assert h["val_acc"].tolist() == pytest.approx(hist.history["val_accuracy"])
    assert h["lr"].tolist() == pytest.approx([1e-3, 1e-3]) and (h["seconds"] > 0).all()
    plain = cu.history_from_keras(hist.history)  # a bare dict works; the timer's columns were logged too
    assert plain["seconds"].notna().all()
    assert cu.history_from_keras({"loss": [1.0]})["val_acc"].isna().all()
    assert cu.setup_keras()["policy"] == "float32"  # CPU: no mixed precision by default
