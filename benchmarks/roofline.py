"""An op-by-op roofline for the MNIST CNN: what the hardware allows for the ops PyTorch really runs.

The matmul-bound time (FLOPs / matmul rate) counts only arithmetic. But most ops of this CNN do
almost none: the ReLU, the max-pool, their backward passes and the casts only move the 26x26 maps
through memory. So each op of one training step (and of one evaluation batch) is timed at its
roofline, the larger of

    its FLOPs / the machine's matmul rate      and      the bytes it reads and writes / copy bandwidth,

and the step's bound is the sum (eager PyTorch runs one op after another). Bytes: every tensor an op
takes and returns, counted once (so an op that fuses nothing, and no cache reuse; views are free).
FLOPs: torch.utils.flop_counter's formulas (conv and matmul). The bound holds for these unfused ops;
a framework that fuses ops (Keras' conv + ReLU through oneDNN) moves fewer bytes and can beat it.

It also tries the fusion that would lower the bound, ReLU + max-pool through torch.compile.

    flock /tmp/course-cpu.lock .venv/bin/python benchmarks/roofline.py --write
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import flop_registry


def time_ms(fn, repeats: int = 30) -> float:
    """Best of `repeats` timings of fn(), after 5 warm-up calls, in milliseconds."""
    for _ in range(5):
        fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def copy_bandwidth(nbytes: int = 128 * 32 * 26 * 26 * 4) -> float:
    """Best copy rate in GB/s (bytes read + bytes written), on a buffer the size of the conv's maps."""
    src = torch.randn(nbytes // 4)
    dst = torch.empty_like(src)
    return 2 * nbytes / (time_ms(lambda: dst.copy_(src)) / 1e3) / 1e9


class OpCosts(TorchDispatchMode):
    """Records (op name, FLOPs, bytes moved) for every aten op run inside it."""

    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        returns = func._schema.returns
        if returns and returns[0].alias_info is not None and not returns[0].alias_info.is_write:
            return out  # a view: no data moves
        tensors = [t for t in tree_flatten((args, kwargs, out))[0] if isinstance(t, torch.Tensor)]
        moved = sum(t.numel() * t.element_size() for t in tensors)
        formula = flop_registry.get(func._overloadpacket)
        flops = formula(*args, **kwargs, out_val=out) if formula else 0
        self.ops.append((func._overloadpacket.__name__, flops, moved))
        return out


def step_ops(model: nn.Module, bf16: bool, batch: int = 128) -> tuple[list, list]:
    """The ops of one training step (forward, loss, backward, fused Adam) and of one evaluation batch."""
    model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    x, y = torch.rand(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
    train, evaluate = OpCosts(), OpCosts()
    for _ in range(2):  # the second step is the steady one: Adam's moments exist, grads are reused
        train.ops.clear()
        with train:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    with evaluate, torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        model(x)
    return train.ops, evaluate.ops


def op_seconds(flops: float, moved: float, rate_gflops: float, bandwidth_gbs: float) -> float:
    """One op's roofline: the slower of its arithmetic and its memory traffic."""
    return max(flops / (rate_gflops * 1e9), moved / (bandwidth_gbs * 1e9))


def bound_seconds(ops, rate_gflops: float, bandwidth_gbs: float) -> float:
    return sum(op_seconds(f, b, rate_gflops, bandwidth_gbs) for _, f, b in ops)


def epoch_bound(model: nn.Module, bf16: bool, rate_gflops: float, bandwidth_gbs: float,
                n_train: int = 60_000, n_test: int = 10_000, batch: int = 128) -> dict:
    """Seconds an epoch takes at best (op by op), and the step's bytes and FLOPs."""
    train, evaluate = step_ops(model, bf16, batch)
    step = bound_seconds(train, rate_gflops, bandwidth_gbs)
    ev = bound_seconds(evaluate, rate_gflops, bandwidth_gbs)
    return {"seconds": step * n_train / batch + ev * n_test / batch, "step_ms": step * 1e3,
            "step_mb": sum(b for *_, b in train) / 1e6, "step_gflop": sum(f for _, f, _ in train) / 1e9,
            "memory_share": sum(b / (bandwidth_gbs * 1e9) for _, f, b in train
                                if b / (bandwidth_gbs * 1e9) > f / (rate_gflops * 1e9)) / step}


def relu_pool_fusion() -> dict | str:
    """ReLU + max-pool on the conv's maps, eager vs torch.compile: the fusion the bound asks for, tried.

    Returns ms for each of: forward without autograd, forward that saves what backward needs, both passes;
    or why torch.compile did not run here."""
    maps = torch.randn(128, 32, 26, 26).to(memory_format=torch.channels_last)
    eager = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2))
    try:
        compiled = torch.compile(nn.Sequential(nn.ReLU(), nn.MaxPool2d(2)))
        with torch.no_grad():
            compiled(maps)
    except Exception as e:  # no C++ compiler, an unsupported platform
        return f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
    leaf = maps.clone().requires_grad_()
    out = {}
    for name, f in (("eager", eager), ("compiled", compiled)):
        grad = torch.ones(128, 32, 13, 13).to(memory_format=torch.channels_last)
        with torch.no_grad():
            out[name, "forward, no autograd"] = time_ms(lambda: f(maps))
        out[name, "forward for training"] = time_ms(lambda: f(leaf))
        out[name, "forward + backward"] = time_ms(lambda: f(leaf).backward(grad))
    return out


def render(bw, rate, rate16, steps, fusion, threads) -> str:
    from train_speed import machine

    info = machine()
    lines = ["## Op-by-op bound of one training step (`benchmarks/roofline.py`)", "",
             f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on **{info['cpu']}**, {threads} torch threads, "
             f"torch {info['torch']}; batch 128, channels-last, fused Adam. Copy bandwidth {bw:.1f} GB/s (a buffer the "
             f"size of the conv's output); matmul {rate:.0f} GFLOP/s fp32, {rate16:.0f} GFLOP/s bf16.", "",
             "| layer order, precision | MB moved per step | bound per step | three largest ops (MB, their bound) |",
             "|---|---:|---:|---|"]
    for label, by_op in steps:
        total_mb = sum(b for _, b, _ in by_op.values()) / 1e6
        bound = sum(t for *_, t in by_op.values()) * 1e3
        top = sorted(by_op.items(), key=lambda kv: -kv[1][2])[:3]
        lines.append(f"| {label} | {total_mb:.0f} | {bound:.2f} ms | "
                     + "; ".join(f"{n} {b / 1e6:.0f} MB, {t * 1e3:.2f} ms" for n, (_, b, t) in top) + " |")
    lines += ["", "ReLU + max-pool on the conv's maps (128 x 32 x 26 x 26, float32), eager against torch.compile, "
              "best of 30, ms:", ""]
    if isinstance(fusion, str):
        lines.append(f"torch.compile did not run here: {fusion}")
    else:
        kinds = ("forward, no autograd", "forward for training", "forward + backward")
        lines += ["| | " + " | ".join(kinds) + " |", "|---|" + "---:|" * len(kinds)]
        for name in ("eager", "compiled"):
            lines.append(f"| {name} | " + " | ".join(f"{fusion[name, k]:.2f}" for k in kinds) + " |")
        no_grad = fusion["eager", kinds[0]] / fusion["compiled", kinds[0]]
        train = fusion["eager", kinds[2]] / fusion["compiled", kinds[2]]
        slow_fwd = fusion["compiled", kinds[1]] / fusion["eager", kinds[1]]
        lines += ["", f"Fused by torch.compile, the two ops run {no_grad:.1f}x as fast as eager when nothing is saved "
                  f"for backward; for training (forward + backward) the compiled pair runs at {train:.2f}x eager's speed"
                  + (f": the compiled forward that also saves the pooling's argmax for backward takes {slow_fwd:.1f}x "
                     "eager's time." if slow_fwd > 1 else ".")]
    return "\n".join(lines)


def main(argv=None) -> int:
    import argparse

    from train_speed import cnn, matmul_gflops, write_section

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write", action="store_true", help="write the tables into RESULTS.md")
    args = ap.parse_args(argv)
    from course_utils.device import configure_threads

    threads = configure_threads()
    bw, rate, rate16 = copy_bandwidth(), matmul_gflops(), matmul_gflops(torch.bfloat16)
    steps = []
    for pool_first in (False, True):
        for bf16 in (False, True):
            train, _ = step_ops(cnn(pool_first), bf16)
            r = rate16 if bf16 else rate
            by_op = defaultdict(lambda: [0, 0, 0.0])
            for name, f, b in train:
                by_op[name][0] += f
                by_op[name][1] += b
                by_op[name][2] += op_seconds(f, b, r, bw)
            label = f"{'ReLU after pool' if pool_first else 'article order'}, {'bf16' if bf16 else 'float32'}"
            steps.append((label, dict(by_op)))
    report = render(bw, rate, rate16, steps, relu_pool_fusion(), threads)
    print(report)
    if args.write:
        write_section(report, "<!-- roofline:start -->", "<!-- roofline:end -->")
    return 0


if __name__ == "__main__":
    sys.exit(main())
