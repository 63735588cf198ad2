"""fit, evaluate, predict: the one training loop behind every PyTorch model in the course.

Chapter 04 writes the plain loop by hand first (forward, loss, backward, step, over a DataLoader).
`fit` is that loop, plus what a course run needs around it:
- every argument is checked, and the model is run once on two samples, before the first step, so a
  mistake fails in seconds with a message that says what to change;
- the whole dataset sits on the device as tensors and a batch is one index_select (no per-sample
  Python); losses and accuracies are summed on the device and read once per epoch (no sync per batch);
- mixed precision where the hardware has it (course_utils.precision), said in the first line it prints;
- convolutional models stored channels-last, and ReLU + max-pool pairs run as one compiled pass, where
  that pays (train/layout.py, train/fusion.py): the same results, less memory traffic;
- a learning-rate schedule, gradient clipping, early stopping with the best weights restored,
  a checkpoint per epoch, and the same code under torchrun (train/distributed.py).
Seeding is not fit's job: `cu.setup(seed=...)` (or `cu.seed_everything`) before the call decides the
initial weights, the shuffling, dropout and augmentation alike.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from ..device import pick_device, prepare_cpu
from ..history import history_frame
from ..precision import autocast, grad_scaler, precision_for
from . import distributed
from .checkpoint import save_checkpoint
from .data import as_tensor, check_pair, ordered_batches, place, shuffled_batches, steps_per_epoch, take
from .early_stopping import EarlyStopping, Tracker
from .fusion import check_fuse, fuse_relu_pool, wants_fusion
from .layout import channels_last_grads, check_channels_last, set_layout, wants_channels_last
from .progress import Progress, resolve_mode
from .schedules import check_schedule, make_scheduler
from .task import check_labels, check_loss, infer_task

OPTIMIZERS = ("adam", "adamw", "sgd")


def fit(model, train_data, val_data=None, *, epochs, batch_size=128, lr=1e-3, optimizer=None,
        weight_decay=0.0, schedule=None, loss=None, transform=None, augment=None, grad_clip=None,
        early_stopping=None, amp="auto", device="auto", channels_last="auto", fuse="auto", checkpoint=None,
        verbose="auto"):
    """Train `model` on train_data=(x, y); returns the history, one row per epoch.

    Columns: epoch, train_loss, train_acc, val_loss, val_acc, lr (of the epoch's last step), seconds;
    history.attrs says the device and the precision used. The model is trained in place and left on
    the device; it must return logits.

    optimizer: None/"adam", "adamw", "sgd" (momentum 0.9), or a callable params -> torch optimizer.
    schedule: None, "onecycle", "cosine" (stepped per batch), or (optimizer, total_steps) -> scheduler.
    loss: None (cross-entropy for (N, C) outputs, binary cross-entropy for (N,) outputs), "mse", or a callable.
    transform: applied to every batch on the device before the model, e.g.
        `lambda x: x.float().div(255).unsqueeze(1)` keeps MNIST as uint8 on the device.
    augment: applied after `transform`, to training batches only.
    early_stopping: a patience, e.g. 3 (monitors val_loss), or dict(patience=, monitor=, min_delta=,
        restore_best=); the best weights are put back at the end.
    amp: "auto" (bf16 on Ampere+ GPUs, fp16 + GradScaler on older ones; on a CPU bf16 only where it
        has bf16 instructions), "bf16", "fp16", or False for plain float32.
    channels_last: "auto" stores a convolutional model's weights channels-last where that is faster
        (course_utils.train.layout), True or False to decide yourself.
    fuse: "auto" runs each ReLU + 2x2 max-pool pair of an nn.Sequential as one compiled pass on a CPU,
        for runs long enough to repay compiling (course_utils.train.fusion); same results, bit for bit.
    checkpoint: a path, written after every epoch and at the end (the returned model's weights).
    verbose: "auto", 0 silent, 1/"bar", 2/"lines" (see course_utils.train.progress).
    Under torchrun each process trains on its share of the data; batch_size is per process.
    """
    # 1. Check everything that can be checked without running the model.
    stop_rule, mode, (x, y), val = _check_fit_args(
        train_data, val_data, epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer,
        schedule=schedule, loss=loss, transform=transform, augment=augment, grad_clip=grad_clip,
        early_stopping=early_stopping, verbose=verbose)
    check_channels_last(channels_last)
    check_fuse(fuse)

    # 2. Where and how to compute: the device, the process group (under torchrun), the precision.
    ctx = distributed.setup(pick_device(device))
    dev = ctx.device
    precision = precision_for(amp, dev)
    if dev.type == "cpu":
        prepare_cpu()  # denormals flushed, freed memory kept for the next step (device.py)

    # 3. Run the model once on two samples: catches shape errors, picks the loss, checks the labels.
    model.to(dev)
    layout_on, layout_note = _choose_layout(model, x, transform, dev, channels_last, precision)
    task = infer_task(_probe(model, x, transform, dev), y, loss)
    if stop_rule and stop_rule.monitor.endswith("acc") and not task.with_acc:
        raise ValueError(f"early stopping monitors {stop_rule.monitor}, but no accuracy is computed for this loss")
    x, y = place(x, dev), place(task.labels(y), dev)
    if val is not None:
        check_labels(task, val[1], "val_data")
        val = (place(val[0], dev), place(task.labels(val[1]), dev))

    # 4. Optimizer, schedule, loss scaling; the same shuffle on every process.
    opt = _make_optimizer(optimizer, model, lr, weight_decay)
    steps = steps_per_epoch(len(x), batch_size, ctx.world)
    sched = make_scheduler(schedule, opt, opt.param_groups[0]["lr"], epochs * steps)
    scaler = grad_scaler(dev, precision)
    gen = torch.Generator().manual_seed(distributed.same_seed(int(torch.randint(2**62, (1,))), ctx))
    train_model = distributed.wrap(model, ctx)  # `model` itself under torchrun's gradient averaging

    # 5. Train, one epoch at a time. The model's hooks and fused layers last exactly as long as the loop.
    layout_hooks = channels_last_grads(model) if layout_on else []
    unfuse, fuse_note = fuse_relu_pool(model) if wants_fusion(fuse, model, dev, epochs * steps) else (None, "")
    progress = Progress(mode, epochs, steps, enabled=ctx.main)
    progress.note(f"fit: {len(x):,} samples on {dev} in {precision}{layout_note}{fuse_note}, {epochs} epoch(s) of "
                  f"{steps} steps" + (f" on each of {ctx.world} processes" if ctx.active else ""))
    tracker = Tracker(stop_rule) if stop_rule else None
    rows, stopped_early = [], False
    try:
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            progress.start_epoch(epoch)
            row = {"epoch": epoch}
            row.update(_train_epoch(train_model, model, (x, y), task, opt, sched, scaler, batch_size, gen,
                                    precision, transform, augment, grad_clip, progress, ctx))
            if val is not None:
                row.update(_evaluate_sums(model, val, task, batch_size, precision, transform, dev, ctx))
            row["seconds"] = time.perf_counter() - t0
            rows.append(row)
            progress.end_epoch(row)
            if checkpoint and ctx.main:
                save_checkpoint(checkpoint, model, opt, epoch=epoch, history=history_frame(rows).to_dict("list"))
            if tracker and tracker.update(epoch, row[stop_rule.monitor], model):
                stopped_early = True
                progress.note(f"early stopping after epoch {epoch}: no better {stop_rule.monitor} "
                              f"than {tracker.best:.4f} (epoch {tracker.best_epoch}) for {stop_rule.patience} epochs")
                break
    finally:
        progress.close()
        for hook in layout_hooks:
            hook.remove()
        if unfuse:
            unfuse()  # the model's own ReLU and MaxPool2d layers, back in place

    # 6. Put back the best weights, and report what was done.
    if tracker and tracker.best_state is not None and tracker.best_epoch != rows[-1]["epoch"]:
        model.load_state_dict(tracker.best_state)
        progress.note(f"restored the weights of epoch {tracker.best_epoch}")
        if checkpoint and ctx.main:
            save_checkpoint(checkpoint, model, opt, epoch=tracker.best_epoch, history=history_frame(rows).to_dict("list"))
    return history_frame(rows, framework="pytorch", device=str(dev), precision=str(precision),
                         world_size=ctx.world, best_epoch=tracker.best_epoch if tracker else None,
                         stopped_early=stopped_early)


def evaluate(model, data, *, batch_size=512, loss=None, device=None, transform=None, amp="auto") -> dict:
    """Loss and accuracy of `model` on data=(x, y), batched on the device: {"loss": ..., "acc": ...}.

    device None: where the model's parameters are. The model's train/eval mode is left as it was.
    """
    _positive_int(batch_size, "batch_size")
    check_loss(loss)
    x, y = check_pair(data, "data")
    dev = _model_device(model) if device is None else pick_device(device)
    model.to(dev)
    task = infer_task(_probe(model, x, transform, dev), y, loss)
    data = (place(x, dev), place(task.labels(y), dev))
    was_training = model.training
    try:
        sums = _evaluate_sums(model, data, task, batch_size, precision_for(amp, dev), transform, dev)
    finally:
        model.train(was_training)
    return {"loss": sums["val_loss"], "acc": sums["val_acc"]}


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


# ---- one epoch -------------------------------------------------------------------------------

def _train_epoch(train_model, model, data, task, opt, sched, scaler, batch_size, gen, precision,
                 transform, augment, grad_clip, progress, ctx) -> dict:
    """One pass over this process's share of the data; mean loss and accuracy over all processes."""
    x, y = data
    dev = ctx.device
    train_model.train()
    loss_sum = torch.zeros((), device=dev)
    correct = torch.zeros((), device=dev)
    seen, last_lr = 0, opt.param_groups[0]["lr"]
    batches = shuffled_batches(len(x), batch_size, gen, x.device, ctx.rank, ctx.world)
    show_every = max(1, len(batches) // 20)
    for i, idx in enumerate(batches):
        xb, yb = take(x, idx, dev), take(y, idx, dev)
        if transform is not None:
            xb = transform(xb)
        if augment is not None:
            xb = augment(xb)
        with autocast(dev, precision):
            out = train_model(xb)
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
    total = distributed.sum_all(torch.stack([loss_sum, correct, torch.tensor(float(seen), device=dev)]), ctx)
    return {"train_loss": float(total[0] / total[2]),
            "train_acc": float(total[1] / total[2]) if task.with_acc else math.nan,
            "lr": float(last_lr)}


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
    return {"val_loss": float(total[0]) / n, "val_acc": float(total[1]) / n if task.with_acc else math.nan}


# ---- checks, done before any training ----------------------------------------------------------

def _check_fit_args(train_data, val_data, *, epochs, batch_size, lr, optimizer, schedule, loss,
                    transform, augment, grad_clip, early_stopping, verbose):
    """Every check of fit's arguments that needs no model; returns what the loop uses."""
    _positive_int(epochs, "epochs")
    _positive_int(batch_size, "batch_size")
    _positive_number(lr, "lr")
    if grad_clip is not None:
        _positive_number(grad_clip, "grad_clip")
    check_schedule(schedule)
    check_loss(loss)
    if not (optimizer is None or optimizer in OPTIMIZERS or callable(optimizer)):
        raise ValueError(f"unknown optimizer {optimizer!r}; use {OPTIMIZERS} or a callable params -> optimizer")
    for f, name in ((transform, "transform"), (augment, "augment")):
        if f is not None and not callable(f):
            raise TypeError(f"{name} must be a callable applied to a batch on the device, got {type(f).__name__}")
    stop_rule = EarlyStopping.from_arg(early_stopping)
    if stop_rule and stop_rule.monitor.startswith("val_") and val_data is None:
        raise ValueError(f"early stopping monitors {stop_rule.monitor}, so fit needs val_data")
    mode = resolve_mode(verbose)
    train = check_pair(train_data, "train_data")
    val = check_pair(val_data, "val_data") if val_data is not None else None
    if val is not None and val[0].shape[1:] != train[0].shape[1:]:
        raise ValueError(f"val_data x has samples of shape {tuple(val[0].shape[1:])}, "
                         f"train_data x {tuple(train[0].shape[1:])}")
    return stop_rule, mode, train, val


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


def _choose_layout(model, x, transform, dev, choice, precision) -> tuple[bool, str]:
    """Put a convolutional model channels-last where that pays: (whether it is, a note for fit's first line)."""
    if not wants_channels_last(choice, model, dev, precision.dtype is not None):
        return False, ""
    set_layout(model, True)
    try:
        _probe(model, x, transform, dev)
    except ValueError as err:
        set_layout(model, False)  # the model's own code needs the default layout: train in that
        if choice is True:
            raise ValueError(f"channels_last=True, but {err} Pass channels_last=False.") from err
        return False, " (channels-last left off: the model fails with it)"
    return True, ", channels-last"


def _make_optimizer(optimizer, model, lr, weight_decay):
    params = list(model.parameters())
    # One fused kernel per step instead of a dozen per parameter group: measured 4-12% faster per step
    # on the chapter 04 CNN on a 2-core CPU (benchmarks/RESULTS.md); CPU and CUDA only, float weights.
    fused = {"fused": True} if params and all(
        p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params) else {}
    if optimizer is None or optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, **fused)
    if optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, **fused)
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    return optimizer(params)


def _model_device(model) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _positive_int(value, name) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _positive_number(value, name) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not value > 0 or not math.isfinite(value):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
