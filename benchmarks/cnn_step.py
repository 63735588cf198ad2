"""Two engine settings that change no result, measured on one training step of the article's MNIST CNN.

1. glibc's malloc keeping freed memory in the process (course_utils/cpu_memory.py): a process setting,
   so every configuration runs in its own subprocess, with and without it.
2. Flatten's gradient passed on channels-last (course_utils/train/layout.py, `channels_last_grads`).

Each cell: milliseconds per step (forward, backward, Adam), batch 128, channels-last, median of
5 timings of 40 steps after 5 warm-up steps, in a fresh process; the configurations alternate.

    flock /tmp/course-cpu.lock .venv/bin/python benchmarks/cnn_step.py --write
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- cnn_step:start -->", "<!-- cnn_step:end -->"
VARIANTS = [("article order (ReLU, then pool)", False, None), ("ReLU after pool", True, None),
            ("article order (ReLU, then pool)", False, "bf16"), ("ReLU after pool", True, "bf16")]


def measure(keep_memory: bool, hook: bool) -> list[float]:
    """In this process: ms per step for each of VARIANTS."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    sys.path.insert(0, str(ROOT))
    from course_utils.cpu_memory import keep_freed_memory
    from course_utils.device import flush_denormals, physical_cores
    from course_utils.train.layout import channels_last_grads

    torch.set_num_threads(physical_cores())  # not configure_threads: it would keep freed memory in every run
    flush_denormals()  # as fit does, in every configuration
    if keep_memory:
        assert keep_freed_memory(), "mallopt is not available here"
    x, y = torch.rand(128, 1, 28, 28), torch.randint(0, 10, (128,))
    out = []
    for _, pool_first, amp in VARIANTS:
        torch.manual_seed(0)
        act_pool = [nn.MaxPool2d(2), nn.ReLU()] if pool_first else [nn.ReLU(), nn.MaxPool2d(2)]
        model = nn.Sequential(nn.Conv2d(1, 32, 3), *act_pool, nn.Flatten(), nn.Linear(32 * 13 * 13, 64), nn.ReLU(),
                              nn.Linear(64, 10)).to(memory_format=torch.channels_last)
        hooks = channels_last_grads(model) if hook else []
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)

        def step():
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp == "bf16"):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        for _ in range(5):
            step()
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(40):
                step()
            times.append((time.perf_counter() - t0) / 40 * 1000)
        out.append(statistics.median(times))
        for h in hooks:
            h.remove()
    return out


CONFIGS = [(False, False), (True, False), (False, True), (True, True)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    ap.add_argument("--rounds", type=int, default=2, help="times each configuration runs (alternating)")
    ap.add_argument("--write", action="store_true", help="write the table into RESULTS.md")
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(measure(bool(args.child[0]), bool(args.child[1]))))
        return 0
    runs = {c: [] for c in CONFIGS}
    load0 = os.getloadavg()[0]
    for _ in range(args.rounds):
        for c in CONFIGS:
            done = subprocess.run([sys.executable, __file__, "--child", str(int(c[0])), str(int(c[1]))],
                                  capture_output=True, text=True, check=True)
            runs[c].append(json.loads(done.stdout.strip().splitlines()[-1]))
    best = {c: [min(r[i] for r in runs[c]) for i in range(len(VARIANTS))] for c in CONFIGS}
    report = render(best, args.rounds, load0, os.getloadavg()[0])
    print(report)
    if args.write:
        from train_speed import write_section  # beside this script

        write_section(report, START, END)
    return 0


def render(best, rounds, load0, load1) -> str:
    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from train_speed import machine  # the CPU's model name, as the other benchmarks write it

    name = machine()["cpu"]
    head = ["| configuration | " + " | ".join(f"{v} ({amp or 'float32'})" for v, _, amp in VARIANTS) + " |",
            "|---|" + "---:|" * len(VARIANTS)]
    label = {(False, False): "glibc defaults, Flatten as is", (True, False): "freed memory kept",
             (False, True): "Flatten's gradient channels-last", (True, True): "both (what fit does)"}
    rows = [f"| {label[c]} | " + " | ".join(f"{v:.1f} ms" for v in best[c]) + " |" for c in CONFIGS]
    base, both = best[(False, False)], best[(True, True)]
    gains = ", ".join(f"{v} ({amp or 'float32'}) {b / a:.2f}x" for (v, _, amp), b, a in zip(VARIANTS, base, both))
    return "\n".join([
        "## One training step of the MNIST CNN: malloc and layout (`benchmarks/cnn_step.py`)", "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on **{name}**, "
        f"{torch.get_num_threads()} torch threads, torch {torch.__version__}; batch 128, channels-last, fused Adam; "
        f"each cell the best of {rounds} fresh processes, each the median of 5 x 40 steps. "
        f"Load average (1 min) {load0:.2f} before, {load1:.2f} after.", "",
        *head, *rows, "",
        f"Speed-up of both settings together over the defaults: {gains}."])


if __name__ == "__main__":
    sys.exit(main())
