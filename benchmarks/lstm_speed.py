"""How fast does chapter 05's LSTM train: the course engine (cu.fit) against Keras fit, float32.

Same model on both sides, Embedding(20000, 128) -> LSTM(128) -> Dense(1) on the state after the
last real token; the same reviews (IMDb training reviews, the end of each kept, `maxlen` ids, padding
after the tokens), batch 128, Adam(1e-3), float32. Keras skips the padding with `mask_zero=True`;
PyTorch is run several ways that give the same function (padded + last real output, packed
sequences, length bucketing inside the batch) and with one or two threads. Each run trains `--batches` batches for two epochs; the second epoch's seconds are scaled
to chapter 05's 20,000-review epoch, so that one-off set-up costs are left out on both sides.

    flock /tmp/course-cpu.lock .venv/bin/python benchmarks/lstm_speed.py --write
    .venv/bin/python benchmarks/lstm_speed.py --batches 4 --maxlen 32      # a smoke run
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import course_utils as cu  # noqa: E402
from course_utils.models import ReviewLSTM  # noqa: E402
from course_utils.precision import cpu_has_native_bf16  # noqa: E402

RESULTS = Path(__file__).with_name("RESULTS.md")
START, END = "<!-- lstm_speed:start -->", "<!-- lstm_speed:end -->"
EPOCH_REVIEWS = 20_000  # chapter 05 trains on 20,000 reviews (5,000 held out for validation)
VOCAB = 20_000


class PackedLSTM(nn.Module):
    """The same model through pack_padded_sequence: the LSTM runs each review only up to its length."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, 128, padding_idx=0)
        self.lstm = nn.LSTM(128, 128, batch_first=True)
        self.head = nn.Linear(128, 1)

    def forward(self, ids):
        n = (ids != 0).sum(1).clamp(min=1).cpu()
        _, (h, _) = self.lstm(pack_padded_sequence(self.embedding(ids), n, batch_first=True, enforce_sorted=False))
        return self.head(h[0]).squeeze(-1)


def data(maxlen: int, n: int):
    reviews = cu.load_imdb(splits=("train",))
    corpus = cu.encode_corpus(reviews["text"].tolist(), np.ones(len(reviews), bool), size=VOCAB)
    rows = np.random.default_rng(0).permutation(len(reviews))[:n]
    return cu.pad_ids(corpus.ids.take(rows), maxlen, keep="end"), reviews["label"].to_numpy()[rows].astype(np.int64)


def run_torch(make, x, y, threads=2, amp=False):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = make()
    h = cu.fit(model, (x, y), epochs=2, batch_size=128, lr=1e-3, amp=amp, device="cpu", verbose=0)
    torch.set_num_threads(2)
    return h["seconds"].tolist(), float(h["train_acc"].iloc[-1])


def run_keras(x, y, mask=True):
    keras = cu.import_keras()
    cu.configure_threads()
    keras.utils.set_random_seed(0)
    L = keras.layers
    model = keras.Sequential([keras.Input((x.shape[1],), dtype="int32"), L.Embedding(VOCAB, 128, mask_zero=mask),
                              L.LSTM(128), L.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), metrics=["accuracy"],
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
    timer = cu.EpochTimer()
    hist = model.fit(x, y, batch_size=128, epochs=2, verbose=0, callbacks=[timer], shuffle=True)
    h = cu.history_from_keras(hist, timer)
    return h["seconds"].tolist(), float(h["train_acc"].iloc[-1])


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batches", type=int, default=16, help="batches of 128 per epoch (default 16; packed sequences take about 4 min of it)")
    ap.add_argument("--maxlen", type=int, default=200, help="ids per review (chapter 05's Keras length: 200)")
    ap.add_argument("--write", action="store_true", help=f"write the table into {RESULTS.name}")
    args = ap.parse_args(argv)

    cu.setup(seed=0, device="cpu", keras=True)
    cpu_bf16 = cpu_has_native_bf16()
    x, y = data(args.maxlen, args.batches * 128)
    last = lambda g: (lambda: ReviewLSTM(VOCAB, pool="last", groups=g))  # noqa: E731
    runs = [  # (name, function)
        ("Keras fit, mask_zero=True (the chapter's Keras model)", lambda: run_keras(x, y)),
        ("engine: padded, output at the last real token", lambda: run_torch(last(1), x, y)),
        ("engine: packed sequences", lambda: run_torch(PackedLSTM, x, y)),
        ("engine: bucketing inside the batch, 4 groups (chapter 05)", lambda: run_torch(last(4), x, y)),
        ("engine: bucketing inside the batch, 8 groups", lambda: run_torch(last(8), x, y)),
        ("engine: 4 groups, 1 thread", lambda: run_torch(last(4), x, y, threads=1)),
    ]
    if cpu_bf16:  # what chapter 05 trains in on such a CPU (amp="auto"); emulated bf16 elsewhere is slow
        runs.append(("engine: 4 groups, bfloat16 autocast (amp='auto' here)", lambda: run_torch(last(4), x, y, amp="bf16")))
    runs += [
        ("Keras fit, no mask (reads the padding: not the same function)", lambda: run_keras(x, y, mask=False)),
    ]
    scale = EPOCH_REVIEWS / len(x)
    load0 = os.getloadavg()[0]
    rows = []
    for name, fn in runs:
        seconds, acc = fn()
        rows.append((name, seconds, seconds[-1] * scale, acc))
        print(f"{name}: epochs {', '.join(f'{s:.1f}' for s in seconds)} s -> {seconds[-1] * scale:.1f} s per "
              f"20,000-review epoch", flush=True)
    load1 = os.getloadavg()[0]
    keras_epoch = rows[0][2]
    lines = [f"## Chapter 05's LSTM (`benchmarks/lstm_speed.py`)", "",
             f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on **{cpu_name()}**, {os.cpu_count()} cores, "
             f"torch {torch.__version__}, native bf16 instructions: {'yes' if cpu_bf16 else 'no'}; float32 unless a row "
             "says otherwise, under the shared CPU lock. Model Embedding(20000, 128) → "
             f"LSTM(128) → Dense(1) on the last real token; {len(x):,} IMDb training reviews ({args.batches} batches "
             f"of 128), {args.maxlen} ids each (end kept), Adam 1e-3, two epochs; the second epoch's seconds × "
             f"{scale:.2f} give a 20,000-review epoch (chapter 05's). Load average (1 min) {load0:.2f} before, "
             f"{load1:.2f} after.", "",
             "| run | seconds per epoch (measured) | s per 20,000-review epoch | vs Keras (mask) | train acc, epoch 2 |",
             "|---|---|---:|---:|---:|"]
    for name, seconds, epoch, acc in rows:
        lines.append(f"| {name} | {', '.join(f'{s:.1f}' for s in seconds)} | {epoch:.1f} | "
                     f"{epoch / keras_epoch:.2f}x | {acc:.3f} |")
    torch_rows = [r for r in rows if r[0].startswith("engine") and "bfloat16" not in r[0]]
    best = min(torch_rows, key=lambda r: r[2])
    chapter = next(r for r in rows if "(chapter 05)" in r[0])
    lines += ["", f"Reading it: the target is an engine epoch within 1.2x of Keras' (time ratio ≤ 1.2). "
              f"Chapter 05's form (4 groups) takes {chapter[2] / keras_epoch:.2f}x Keras' time; the fastest engine "
              f"run here in float32, *{best[0]}*, {best[2] / keras_epoch:.2f}x: target "
              + ("met." if chapter[2] / keras_epoch <= 1.2 else
                 f"missed by {chapter[2] / keras_epoch / 1.2:.2f}x for the chapter's form.")]
    bf16 = next((r for r in rows if "bfloat16" in r[0]), None)
    if bf16:
        lines += [f"In bfloat16 (what `amp='auto'` picks on this CPU, so what chapter 05 trains in here) the same form "
                  f"takes {bf16[2] / keras_epoch:.2f}x Keras' float32 time."]
    report = "\n".join(lines)
    print("\n" + report)
    if args.write:
        text = RESULTS.read_text(encoding="utf-8")
        block = f"{START}\n{report}\n{END}"
        if START in text:
            head, rest = text.split(START, 1)
            text = head + block + rest.split(END, 1)[1]
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
        RESULTS.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
