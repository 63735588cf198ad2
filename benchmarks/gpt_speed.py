"""Chapter 07's small GPT on this machine: training and inference tokens/s next to the FLOP-rate limit.

    flock /tmp/course-cpu.lock .venv/bin/python benchmarks/gpt_speed.py [--write] [--quick]

Measures, in one run: the fp32 (and bf16) matmul rate (1024 x 1024, best of 20), then through
`cu.fit` / `cu.predict` (the notebook's code path) with random token ids:
  * next-token pretraining (LM head included) at vocabularies 4,096 and 8,192;
  * classifier fine-tuning (body + one-logit head, no LM head) and forward-only evaluation;
each in float32 and in the engine's bf16 autocast. The "limit" column is the tokens/s the matmul
rate would allow for the model's FLOPs per token (6 N_matmul + attention; forward only: 2 N + ...),
so "share" says how much of the machine's matmul speed the whole training step achieves.
--write replaces this benchmark's section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import course_utils as cu  # noqa: E402
from train_speed import matmul_gflops  # noqa: E402  (this folder is on sys.path when run as a script)
from course_utils.gpt import GPT, GPTClassifier, GPTConfig, flops_per_token, lm_loss, n_params_formula  # noqa: E402

RESULTS = Path(__file__).with_name("RESULTS.md")
START, END = "<!-- gpt_speed:start -->", "<!-- gpt_speed:end -->"


def matmul_rate(dtype=torch.float32) -> float:
    """FLOP/s of an n x n matmul, the same measurement as train_speed.py's (best of several)."""
    return matmul_gflops(dtype) * 1e9


def lm_speed(cfg: GPTConfig, amp, n_blocks: int, batch: int) -> float:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, cfg.vocab_size, (n_blocks, cfg.block_size), generator=g)
    y = torch.randint(0, cfg.vocab_size, (n_blocks, cfg.block_size), generator=g)
    model = GPT(cfg)
    cu.fit(model, (x[:batch * 2], y[:batch * 2]), epochs=1, batch_size=batch, loss=lm_loss, amp=amp, verbose=0)  # warm-up
    h = cu.fit(model, (x, y), epochs=1, batch_size=batch, loss=lm_loss, amp=amp, verbose=0, lr=3e-4)
    return n_blocks * cfg.block_size / float(h["seconds"].iloc[-1])


def clf_speed(cfg: GPTConfig, amp, n_reviews: int, batch: int) -> tuple[float, float]:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(2, cfg.vocab_size, (n_reviews, cfg.block_size), generator=g)
    y = torch.randint(0, 2, (n_reviews,), generator=g)
    model = GPTClassifier(GPT(cfg))
    cu.fit(model, (x[:batch * 2], y[:batch * 2]), epochs=1, batch_size=batch, amp=amp, verbose=0)
    h = cu.fit(model, (x, y), epochs=1, batch_size=batch, amp=amp, verbose=0)
    train = n_reviews * cfg.block_size / float(h["seconds"].iloc[-1])
    cu.predict(model, x[:256], amp=amp)
    t0 = time.perf_counter()
    cu.predict(model, x, amp=amp, batch_size=256)
    infer = n_reviews * cfg.block_size / (time.perf_counter() - t0)
    return train, infer


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="replace this benchmark's section of RESULTS.md")
    ap.add_argument("--quick", action="store_true", help="fewer tokens per measurement (a rough check)")
    args = ap.parse_args(argv)
    cu.setup(seed=0, device="cpu", quiet=True)
    scale = 1 if not args.quick else 4
    load0 = os.getloadavg()[0]
    fp32_0 = matmul_rate()
    bf16 = matmul_rate(torch.bfloat16)
    rows = []
    for V in (4096, 8192):
        cfg = GPTConfig(vocab_size=V, block_size=128, n_layer=4, n_head=4, d_model=128)
        for amp in (False, "bf16"):
            tps = lm_speed(cfg, amp, n_blocks=240 // scale, batch=32)
            f = 3 * flops_per_token(cfg)
            rows.append(("pretrain (LM head)", V, n_params_formula(cfg), "fp32" if amp is False else "bf16", tps, f))
            print(rows[-1], flush=True)
    cfg = GPTConfig(vocab_size=4096, block_size=128, n_layer=4, n_head=4, d_model=128)
    for amp in (False, "bf16"):
        train, infer = clf_speed(cfg, amp, n_reviews=480 // scale, batch=32)
        f = flops_per_token(cfg, with_head=False)
        rows.append(("fine-tune (classifier)", 4096, n_params_formula(cfg), "fp32" if amp is False else "bf16", train, 3 * f))
        rows.append(("evaluate (forward only)", 4096, n_params_formula(cfg), "fp32" if amp is False else "bf16", infer, f))
        print(rows[-2:], flush=True)
    fp32_1 = matmul_rate()
    rate = (fp32_0 + fp32_1) / 2
    table = ["| step | vocabulary | parameters | precision | tokens/s | FLOPs/token | limit at fp32 matmul rate (tokens/s) | share |",
             "|---|---:|---:|---|---:|---:|---:|---:|"]
    for step, V, n, prec, tps, f in rows:
        table.append(f"| {step} | {V:,} | {n:,} | {prec} | {tps:,.0f} | {f / 1e6:.2f} M | {rate / f:,.0f} | {tps * f / rate:.0%} |")
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    text = "\n".join([
        START,
        "## Chapter 07's GPT (`benchmarks/gpt_speed.py`)",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on **{cpu}**, {torch.get_num_threads()} torch threads, "
        f"torch {torch.__version__}, under the shared CPU lock; width 128, 4 layers, 4 heads, context 128, batch 32, "
        f"random token ids, through `cu.fit` / `cu.predict`{' (--quick: few tokens, rough)' if args.quick else ''}.",
        f"Matmul rate (1024 x 1024, best of 20): fp32 {fp32_0 / 1e9:.0f} GFLOP/s before, {fp32_1 / 1e9:.0f} after; "
        f"bf16 {bf16 / 1e9:.0f} GFLOP/s. Load average (1 min) {load0:.2f} at the start, {os.getloadavg()[0]:.2f} at the end.",
        "",
        *table,
        "",
        "FLOPs/token: training 3 x forward, forward = 2 x (12 d^2 per layer + V d for the tied head) + 4 T d per layer "
        "(attention scores); `C = 6 N D` counts the same matmuls without the attention term. The limit assumes "
        "every FLOP ran at the fp32 1024 x 1024 matmul rate; the share is the rest of the story (small matrices, "
        "softmax, LayerNorm, GELU, the optimizer, Python).",
        END,
    ])
    print(text)
    if args.write:
        old = RESULTS.read_text(encoding="utf-8")
        if START in old:
            new = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda m: text, old, flags=re.S)
        else:
            new = old.rstrip("\n") + "\n\n" + text + "\n"
        from course_utils._files import atomic_write

        atomic_write(RESULTS, new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
