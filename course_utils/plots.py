"""The three plots the model chapters keep drawing: learning curves, image grids, confusion matrices.

Each returns its matplotlib Figure, already closed in pyplot: a notebook then shows it exactly
once, as the cell's value (put the call last in the cell, or use display(fig)), instead of twice
(once by pyplot, once as the value). A script saves it with fig.savefig(...).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

_LABELS = {"loss": "loss", "acc": "accuracy"}


def plot_history(histories, metrics=("loss", "acc"), title: str | None = None):
    """Learning curves: one panel per metric, training dashed, validation solid.

    histories: one history DataFrame (from fit or history_from_keras) or a dict {label: DataFrame},
    e.g. {"baseline": h1, "dropout": h2} or {"PyTorch": h_torch, "Keras": h_keras}.
    """
    if not isinstance(histories, dict):
        histories = {"": histories}
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, metric in zip(axes[0], metrics):
        for i, (label, h) in enumerate(histories.items()):
            color = colors[i % len(colors)]
            for split, style in (("train", "--"), ("val", "-")):
                column = f"{split}_{metric}"
                if column in h and h[column].notna().any():
                    name = f"{label} {split}".strip()
                    ax.plot(h["epoch"], h[column], style, color=color, marker="o", markersize=3, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(_LABELS.get(metric, metric))
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return _done(fig)


def plot_image_grid(images, titles=None, ncols: int = 8, cmap: str = "gray", size: float = 1.3):
    """A grid of images (N, H, W), (N, 1, H, W) or (N, H, W, 3), with optional titles (e.g. 'pred 3, true 5')."""
    images = _numpy(images)
    if images.ndim == 4 and images.shape[1] in (1, 3) and images.shape[-1] not in (1, 3):
        images = images.transpose(0, 2, 3, 1)  # channels first -> channels last
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.3 * nrows if titles is not None else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap=cmap if images[i].ndim == 2 else None)
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize="small")
    return _done(fig)


def confusion_matrix(y_true, y_pred, n_classes: int | None = None) -> np.ndarray:
    """Counts[i, j]: how many samples of true class i were predicted as class j."""
    y_true, y_pred = _numpy(y_true).astype(int).ravel(), _numpy(y_pred).astype(int).ravel()
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}")
    if len(y_true) and min(y_true.min(), y_pred.min()) < 0:
        raise ValueError("class ids must be >= 0")
    top = int(max(y_true.max(), y_pred.max())) + 1 if len(y_true) else 0
    if n_classes is not None and top > n_classes:
        raise ValueError(f"found class id {top - 1}, but only {n_classes} labels were given")
    n = n_classes or top
    return np.bincount(y_true * n + y_pred, minlength=n * n).reshape(n, n)


def plot_confusion_matrix(y_true, y_pred, labels=None, normalize: bool = False, title: str | None = None):
    """The confusion matrix as a heat map with the counts (or row fractions) written in each cell."""
    n = len(labels) if labels is not None else None
    counts = confusion_matrix(y_true, y_pred, n)
    n = counts.shape[0]
    labels = list(labels) if labels is not None else list(range(n))
    shown = counts / np.maximum(counts.sum(1, keepdims=True), 1) if normalize else counts
    fig, ax = plt.subplots(figsize=(0.55 * n + 2.5, 0.55 * n + 2))
    im = ax.imshow(shown, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_xticks(range(n), labels)
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = shown.max() if shown.size else 0
    for i in range(n):
        for j in range(n):
            text = f"{shown[i, j]:.2f}" if normalize else str(counts[i, j])
            ax.text(j, i, text, ha="center", va="center", fontsize="x-small",
                    color="white" if shown[i, j] > top / 2 else "black")
    if title:
        ax.set_title(title)
    return _done(fig)


def _done(fig):
    fig.tight_layout()
    plt.close(fig)  # shown once, as the returned value (see the module docstring)
    return fig


def _numpy(a) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a)
