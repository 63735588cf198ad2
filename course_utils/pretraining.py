"""Chapter 07's pretraining step: its data, the recipe that names its checkpoint, one training pass.

The notebook calls these functions, and so does the instructor's command that pretrains outside
the notebook (`torchrun ... -m course_utils.tools.pretrain`). One code path means one recipe: a
checkpoint made by either is found by the other, because both build the same `recipe` dict, and
the dict's hash is the checkpoint's file name (course_utils/pretrained.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from . import bpe, lm_data
from .device import device_report
from .gpt import lm_loss
from .seeding import seed_everything
from .train import distributed, fit

VAL_FRACTION = 0.02  # share of the pretraining reviews held out, whole, for validation


def pretraining_texts(reviews, n_texts: int | None = None) -> list[str]:
    """The unlabeled and the labeled training reviews (never the test reviews); n_texts: a fixed random subset."""
    rows = np.flatnonzero(reviews["split"].isin(["unsup", "train"]).to_numpy())
    if n_texts is not None:  # the smoke profile
        rows = np.sort(np.random.default_rng(0).permutation(rows)[:n_texts])
    return reviews["text"].to_numpy()[rows].tolist()


@dataclass
class LMData:
    """Next-token blocks: x holds T tokens, y the same tokens shifted by one."""

    x: torch.Tensor
    y: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    n_stream: int        # tokens in the training reviews' stream (<|endoftext|> included)
    n_train_reviews: int
    n_val_reviews: int
    ids_cached: bool     # the encoded reviews came from the cache


def lm_blocks(tok, tok_info: dict, texts: list[str], block_size: int, n_tokens: int, n_val_tokens: int,
              seed: int = 0, cache_dir=None) -> LMData:
    """Encode the reviews, hold out whole reviews for validation, cut both streams into blocks."""
    ids, cached = bpe.encode_cached(tok, tok_info["sha256"], texts, cache_dir=cache_dir)
    train_rows, val_rows = lm_data.split_reviews(len(ids), VAL_FRACTION, seed=0)
    eot = tok.token_to_id(bpe.EOT)
    x, y = lm_data.stream_blocks(ids.take(train_rows), eot, block_size, n_tokens, seed=seed)
    x_val, y_val = lm_data.stream_blocks(ids.take(val_rows), eot, block_size, n_val_tokens, seed=0)
    n_stream = int(ids.take(train_rows).lengths.sum() + len(train_rows))
    return LMData(*(torch.from_numpy(a) for a in (x, y, x_val, y_val)), n_stream=n_stream,
                  n_train_reviews=len(train_rows), n_val_reviews=len(val_rows), ids_cached=cached)


def recipe(cfg, tok_info: dict, texts: list[str], tokens: int, batch_size: int, lr: float, seed: int) -> dict:
    """What makes the weights what they are: change any of it and the checkpoint's name changes."""
    return {"model": cfg.to_dict(), "tokenizer_sha256": tok_info["sha256"], "data_sha256": bpe.texts_fingerprint(texts),
            "val_fraction": VAL_FRACTION, "tokens": int(tokens), "batch_size": batch_size, "lr": lr, "seed": seed,
            "schedule": "onecycle", "optimizer": "adamw", "weight_decay": 0.01}


class StepLosses:
    """A next-token loss that also keeps every training step's value (fit calls it on each batch)."""

    def __init__(self):
        self.steps = []

    def __call__(self, out, y):
        loss = lm_loss(out, y)
        if torch.is_grad_enabled():
            self.steps.append(loss.detach())
        return loss


def pretrain_pass(model, train, val, *, batch_size: int, lr: float, seed: int, device, ctx=None,
                  verbose="auto") -> dict:
    """One epoch over the training blocks with the recipe's optimizer and schedule; returns the facts
    the checkpoint's manifest keeps (loss curve, time, speed, machine).

    ctx: under torchrun (course_utils/train/distributed.py), the recipe's batch is split over the
    processes and the loss curve is averaged over them, so it is the one-process curve.
    """
    ctx = ctx or distributed.DistContext(device=torch.device(device))
    seed_everything(seed, tensorflow=False)
    rec = StepLosses()
    t0 = time.perf_counter()
    hist = fit(model, train, val, epochs=1, batch_size=batch_size // ctx.world, lr=lr, optimizer="adamw",
               weight_decay=0.01, schedule="onecycle", grad_clip=1.0, loss=rec, device=device, verbose=verbose)
    seconds = time.perf_counter() - t0
    curve = (distributed.sum_all(torch.stack(rec.steps).float(), ctx) / ctx.world).cpu().numpy()
    every = max(1, len(curve) // 200)  # keep about 200 points of the curve
    tokens = int(train[0].numel())
    return {"val_loss": float(hist["val_loss"].iloc[-1]), "seconds": seconds, "tokens": tokens,
            "tokens_per_s": tokens / seconds, "precision": hist.attrs.get("precision", ""),
            "device": str(device), "machine": device_report(str(device))["device_name"], "processes": ctx.world,
            "curve_every": every, "batch_size": batch_size, "curve": [round(float(v), 4) for v in curve[::every]]}
