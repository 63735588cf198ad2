"""fit, evaluate, predict: the one training loop behind every PyTorch model in the course.

The loop is the textbook one (forward, loss, backward, step) with three choices that make it fast:
the whole dataset sits on the device as tensors and a batch is one index_select (no per-sample
Python); losses and accuracies are summed on the device and read once per epoch (no sync per
batch); mixed precision is used where the hardware has it. Every argument is checked, and the
model is run once on two samples, before the first step, so mistakes fail in seconds with a
message that says what to change.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import torch

from .. import distributed
from ..device import pick_device
from .checkpoint import save_checkpoint
from .data import as_tensor, check_pair, ordered_batches, place, shuffled_batches, take
from .early_stopping import EarlyStopping, Tracker
from .precision import autocast, grad_scaler, precision_for
from .progress import Progress, resolve_mode
from .schedules import check_schedule, make_scheduler
from .task import check_labels, check_loss, check_metrics, infer_task

COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]
OPTIMIZERS = ("adam", "adamw", "sgd")


def fit(model, train_data, val_data=None, *, epochs, batch_size=128, optimizer=None, lr=1e-3,
        weight_decay=0.0, loss=None, metrics=("acc",), device="auto", seed=None, schedule=None,
        grad_clip=None, early_stopping=None, amp="auto", compile=False, transform=None,
        augment=None, checkpoint=None, verbose="auto", eval_batch_size=None) -> pd.DataFrame:
    """Train `model` on train_data=(x, y); returns the history, one row per epoch.

    Columns: epoch, train_loss, train_acc, val_loss, val_acc, lr (of the epoch's last step), seconds.
    The model is trained in place and left on the device; it must return logits.

    optimizer: None/"adam", "adamw", "sgd" (momentum 0.9), a torch optimizer (its own lr is then
        used), or a callable params -> optimizer.
    transform: callable applied to every batch on the device before the model, e.g.
        `lambda x: x.float().div(255).unsqueeze(1)` keeps MNIST as uint8 on the device.
    augment: callable applied after `transform`, to training batches only.
    schedule: None, "onecycle", "cosine" (stepped per batch), or (optimizer, total_steps) -> scheduler.
    early_stopping: a patience, e.g. 3 (monitors val_loss), or dict(patience=, monitor=, min_delta=,
        restore_best=); the best weights are put back at the end.
    amp: "auto" (bf16 on Ampere+ GPUs, fp16 + GradScaler on older ones; on a CPU bf16 only where it
        has bf16 instructions), "bf16", "fp16", or False for plain float32.
    checkpoint: a path, written after every epoch and at the end (the returned model's weights).
    verbose: "auto", 0 silent, 1/"bar", 2/"lines" (see course_utils.train.progress).
    seed: seeds the shuffling, dropout and augmentation; None draws from torch's global generator.
    Under torchrun each process trains on its share of the data; batch_size is per process.
    """
    # 1. Check everything that can be checked without touching the model.
    _positive_int(epochs, "epochs")
    _positive_int(batch_size, "batch_size")
    _positive_int(eval_batch_size or batch_size, "eval_batch_size")
    _positive_number(lr, "lr")
    if grad_clip is not None:
        _positive_number(grad_clip, "grad_clip")
    if seed is not None:
        _non_negative_int(seed, "seed")
    check_schedule(schedule)
    check_loss(loss)
    metrics = check_metrics(metrics)
    _check_optimizer(optimizer)
    _check_callable(transform, "transform")
    _check_callable(augment, "augment")
    stop_rule = EarlyStopping.from_arg(early_stopping)
    if stop_rule and stop_rule.monitor.startswith("val_") and val_data is None:
        raise ValueError(f"early stopping monitors {stop_rule.monitor}, so fit needs val_data")
    mode = resolve_mode(verbose)
    x, y = check_pair(train_data, "train_data")
    val = check_pair(val_data, "val_data") if val_data is not None else None
    if val is not None and val[0].shape[1:] != x.shape[1:]:
        raise ValueError(f"val_data x has samples of shape {tuple(val[0].shape[1:])}, train_data x {tuple(x.shape[1:])}")

    # 2. Hardware: device, process group (under torchrun), precision.
    ctx = distributed.setup(pick_device(device))
    dev = ctx.device
    precision = precision_for(amp, dev)

    # 3. Run the model once on two samples: catches shape errors, picks the loss, checks labels.
    model.to(dev)
    task = infer_task(_probe(model, x, transform, dev), y, loss, metrics)
    if stop_rule and stop_rule.monitor.endswith("acc") and not task.with_acc:
        raise ValueError(f"early stopping monitors {stop_rule.monitor}, but no accuracy is computed for this loss")
    y = task.labels(y)
    if val is not None:
        check_labels(task, val[1], "val_data")
        val = (place(val[0], dev), place(task.labels(val[1]), dev))
    x, y = place(x, dev), place(y, dev)

    # 4. Optimizer, schedule, wrappers.
    opt = _make_optimizer(optimizer, model, lr, weight_decay)
    steps = math.ceil((len(x) // ctx.world if ctx.active else len(x)) / batch_size)
    sched = make_scheduler(schedule, opt, opt.param_groups[0]["lr"], epochs * steps)
    scaler = grad_scaler(dev, precision)
    base = torch.compile(model, mode=compile if isinstance(compile, str) else None) if compile else model
    net = distributed.wrap(base, ctx)
    if seed is not None:
        torch.manual_seed(seed + ctx.rank)  # dropout and augmentation differ between processes
    shuffle_seed = distributed.same_seed(seed if seed is not None else int(torch.randint(2**62, (1,))), ctx)
    gen = torch.Generator().manual_seed(shuffle_seed)

    # 5. Train.
    tracker = Tracker(stop_rule) if stop_rule else None
    progress = Progress(mode, epochs, steps, enabled=ctx.main)
    show_every = max(1, steps // 20)
    rows, stopped_early = [], False
    try:
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            progress.start_epoch(epoch)
            net.train()
            loss_sum = torch.zeros((), device=dev)
            correct = torch.zeros((), device=dev)
            seen = 0
            for i, idx in enumerate(shuffled_batches(len(x), batch_size, gen, x.device, ctx.rank, ctx.world)):
                xb, yb = take(x, idx, dev), take(y, idx, dev)
                if transform is not None:
                    xb = transform(xb)
                if augment is not None:
                    xb = augment(xb)
                with autocast(dev, precision):
                    out = net(xb)
                batch_loss = task.loss(out, yb)
                _step(batch_loss, opt, scaler, grad_clip, model)
                last_lr = opt.param_groups[0]["lr"]  # the rate this step used
                if sched is not None:
                    sched.step()
                loss_sum += batch_loss.detach() * len(idx)
                if task.with_acc:
                    correct += task.correct(out.detach(), yb)
                seen += len(idx)
                progress.step(batch_loss.item() if progress.mode == "bar" and i % show_every == 0 else None)
            train = distributed.sum_all(torch.stack([loss_sum, correct, torch.tensor(float(seen), device=dev)]), ctx)
            row = {"epoch": epoch, "train_loss": float(train[0] / train[2]),
                   "train_acc": float(train[1] / train[2]) if task.with_acc else math.nan}
            if val is not None:
                v = _evaluate_sums(base, val, task, eval_batch_size or batch_size, precision, transform, dev, ctx)
                row.update(val_loss=v["loss"], val_acc=v["acc"])
            row.update(lr=float(last_lr), seconds=time.perf_counter() - t0)
            rows.append(row)
            progress.end_epoch(row)
            if checkpoint and ctx.main:
                save_checkpoint(checkpoint, model, opt, epoch=epoch, history=_frame(rows).to_dict("list"))
            if tracker and tracker.update(epoch, row[stop_rule.monitor], model):
                stopped_early = True
                progress.note(f"early stopping after epoch {epoch}: no better {stop_rule.monitor} "
                              f"than {tracker.best:.4f} (epoch {tracker.best_epoch}) for {stop_rule.patience} epochs")
                break
    finally:
        progress.close()

    # 6. Put back the best weights, and report what was done.
    if tracker and tracker.best_state is not None and tracker.best_epoch != rows[-1]["epoch"]:
        model.load_state_dict(tracker.best_state)
        progress.note(f"restored the weights of epoch {tracker.best_epoch}")
        if checkpoint and ctx.main:
            save_checkpoint(checkpoint, model, opt, epoch=tracker.best_epoch, history=_frame(rows).to_dict("list"))
    history = _frame(rows)
    history.attrs.update(device=str(dev), precision=str(precision), world_size=ctx.world,
                         best_epoch=tracker.best_epoch if tracker else None, stopped_early=stopped_early)
    return history


def evaluate(model, data, *, batch_size=512, loss=None, metrics=("acc",), device=None,
             transform=None, amp="auto") -> dict:
    """Loss and accuracy of `model` on data=(x, y), batched on the device: {"loss": ..., "acc": ...}.

    device None: where the model's parameters are. The model's train/eval mode is left as it was.
    """
    _positive_int(batch_size, "batch_size")
    check_loss(loss)
    metrics = check_metrics(metrics)
    x, y = check_pair(data, "data")
    dev = _model_device(model) if device is None else pick_device(device)
    model.to(dev)
    task = infer_task(_probe(model, x, transform, dev), y, loss, metrics)
    data = (place(x, dev), place(task.labels(y), dev))
    was_training = model.training
    try:
        return _evaluate_sums(model, data, task, batch_size, precision_for(amp, dev), transform, dev)
    finally:
        model.train(was_training)


def predict(model, x, *, batch_size=512, device=None, transform=None, amp="auto") -> np.ndarray:
    """The model's raw outputs (logits) for every row of x, as a float32 NumPy array.

    Class ids: predict(...).argmax(1); binary: predict(...) > 0. The model's mode is restored.
    """
    _positive_int(batch_size, "batch_size")
    x = as_tensor(x, "x")
    dev = _model_device(model) if device is None else pick_device(device)
    model.to(dev)
    x = place(x, dev)
    precision = precision_for(amp, dev)
    was_training = model.training
    model.eval()
    outs = []
    try:
        with torch.inference_mode():
            for idx in ordered_batches(len(x), batch_size, x.device):
                xb = take(x, idx, dev)
                if transform is not None:
                    xb = transform(xb)
                with autocast(dev, precision):
                    outs.append(model(xb).float())
    finally:
        model.train(was_training)
    return torch.cat(outs).cpu().numpy()


# ---- the pieces -----------------------------------------------------------------------------

def _step(batch_loss, opt, scaler, grad_clip, model) -> None:
    """Backward pass and optimizer step, with loss scaling (fp16) and gradient clipping."""
    opt.zero_grad(set_to_none=True)
    if scaler is None:
        batch_loss.backward()
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        opt.step()
        return
    scaler.scale(batch_loss).backward()
    if grad_clip is not None:
        scaler.unscale_(opt)  # clip the true gradients, not the scaled ones
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    scaler.step(opt)  # skipped when the scaled gradients overflowed
    scaler.update()


@torch.no_grad()
def _evaluate_sums(model, data, task, batch_size, precision, transform, dev, ctx=None) -> dict:
    """Mean loss and accuracy over data (this process's share of it, summed over processes)."""
    ctx = ctx or distributed.DistContext(device=dev)
    x, y = data
    model.eval()
    loss_sum = torch.zeros((), device=dev)
    correct = torch.zeros((), device=dev)
    seen = 0
    for idx in ordered_batches(len(x), batch_size, x.device, ctx.rank, ctx.world):
        xb, yb = take(x, idx, dev), take(y, idx, dev)
        if transform is not None:
            xb = transform(xb)
        with autocast(dev, precision):
            out = model(xb)
        loss_sum += task.loss(out, yb) * len(idx)
        if task.with_acc:
            correct += task.correct(out, yb)
        seen += len(idx)
    total = distributed.sum_all(torch.stack([loss_sum, correct, torch.tensor(float(seen), device=dev)]), ctx)
    n = float(total[2])
    return {"loss": float(total[0]) / n, "acc": float(total[1]) / n if task.with_acc else math.nan}


def _probe(model, x, transform, dev):
    """Run the model on two samples in eval mode; a clear error if it cannot."""
    xb = x[:2].to(dev)
    was_training = model.training
    model.eval()
    try:
        if transform is not None:
            xb = transform(xb)
        with torch.no_grad():
            out = model(xb)
    except Exception as err:
        hint = ""
        if x.dtype == torch.uint8 and transform is None:
            hint = " x is uint8: pass e.g. transform=lambda x: x.float().div(255) (and .unsqueeze(1) for a channel axis)."
        raise ValueError(
            f"the model cannot run on the inputs: a batch of shape {tuple(xb.shape)} and dtype {xb.dtype} "
            f"gave {type(err).__name__}: {err}.{hint}"
        ) from err
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"the model must return one tensor of logits, it returned {type(out).__name__}")
    if out.ndim == 0 or out.shape[0] != xb.shape[0]:
        raise ValueError(f"the model must return one row per sample; for 2 samples it gave shape {tuple(out.shape)}")
    return out


def _make_optimizer(optimizer, model, lr, weight_decay):
    params = model.parameters()
    if optimizer is None or optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    return optimizer(params)


def _check_optimizer(optimizer) -> None:
    if optimizer is None or optimizer in OPTIMIZERS or isinstance(optimizer, torch.optim.Optimizer) or callable(optimizer):
        return
    raise ValueError(f"unknown optimizer {optimizer!r}; use {OPTIMIZERS}, a torch optimizer or a callable")


def _check_callable(f, name) -> None:
    if f is not None and not callable(f):
        raise TypeError(f"{name} must be a callable applied to a batch on the device, got {type(f).__name__}")


def _model_device(model) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _frame(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype({"epoch": int})


def _positive_int(value, name) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _non_negative_int(value, name) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


def _positive_number(value, name) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not value > 0 or not math.isfinite(value):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
