"""GPU check: the PyTorch paths of chapters 04, 05 and 07 on a GPU, in bf16 and in fp16 + GradScaler.

No GPU has run the course before this script. It trains, on the GPU, what the three chapters train
(04: the article's CNN with the chapter's final recipe; 05: the IMDb LSTM; 07: BPE tokenizer, GPT
pretraining, fine-tuning on 1,000 labels), once with amp="auto" (bf16 on Ampere and later) and once
with amp="fp16" (float16 with a GradScaler, the path a Colab T4 takes), checks each test accuracy
against the CPU figure recorded in the committed notebook, and writes a table of times.

The GPU machine has PyTorch, tokenizers, pandas and matplotlib, but no TensorFlow, no papermill and
no internet, and only 64 MiB travel with the working tree. So the data goes as one repacked folder,
made here from the course's data mirror (MNIST's four IDX files, 11.6 MB, and IMDb's labelled
train reviews plus 10,000 test reviews as gzipped JSON lines, about 20 MB; the 57 MB archive would
not fit beside MNIST):

    python benchmarks/gpu_check.py pack datasets/gpu_pack          # here (datasets/ is git-ignored)
    bash benchmarks/gpu_check.sh datasets/gpu_pack                 # there: carry=["datasets/gpu_pack"]
    python benchmarks/gpu_check.py run datasets/gpu_pack --dry-run # here, on the CPU: tiny, seconds

The 07 step pretrains on the train reviews only (the chapter adds the 50,000 unlabelled ones), so
its comparison with the chapter's figure is looser; the table says which tolerance each row used.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
REVIEWS = "imdb_reviews.jsonl.gz"
N_TEST_REVIEWS = 10_000


# ---- pack: on the course machine -----------------------------------------------------------------

def pack(out: Path, n_train: int | None = None, n_test: int = N_TEST_REVIEWS) -> Path:
    """Write MNIST's IDX files and a JSON-lines subset of IMDb into `out` (no pickle anywhere)."""
    import numpy as np

    import course_utils as cu
    from course_utils.data.locations import split_mirrors

    mirrors = [Path(m) for m in split_mirrors(os.environ.get("COURSE_DATA_MIRROR", "")) if Path(m).is_dir()]
    src = next((m / "mnist" for m in mirrors if (m / "mnist" / MNIST_FILES[0]).exists()), None)
    if src is None:
        raise SystemExit("pack needs the MNIST IDX files in a local mirror: source scripts/course_env.sh first")
    (out / "mnist").mkdir(parents=True, exist_ok=True)
    for name in MNIST_FILES:
        shutil.copyfile(src / name, out / "mnist" / name)
    reviews = cu.load_imdb(splits=("train", "test"))
    rng = np.random.default_rng(0)
    train = np.flatnonzero(reviews["split"].to_numpy() == "train")
    test = np.flatnonzero(reviews["split"].to_numpy() == "test")
    rows = np.concatenate([rng.permutation(train)[: n_train or len(train)], np.sort(rng.permutation(test)[:n_test])])
    with gzip.open(out / REVIEWS, "wt", encoding="utf-8") as f:
        for r in reviews.iloc[np.sort(rows)][["text", "label", "split"]].itertuples(index=False):
            f.write(json.dumps({"text": r.text, "label": int(r.label), "split": r.split}) + "\n")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"packed {out}: MNIST + {len(rows):,} IMDb reviews, {size / 2**20:.1f} MiB")
    return out


def read_reviews(folder: Path):
    import pandas as pd

    with gzip.open(folder / REVIEWS, "rt", encoding="utf-8") as f:
        return pd.DataFrame([json.loads(line) for line in f])


# ---- what the CPU runs recorded -----------------------------------------------------------------

def cpu_reference() -> dict:
    """Test accuracies recorded in the committed notebooks (read as JSON: no nbformat needed)."""
    mime = "application/vnd.course-utils.result+json"  # course_utils.results.MIME
    found = {}
    for nb in ("04_mnist_cnn", "05_imdb_lstm", "07_pretrain_finetune"):
        cells = json.loads((ROOT / "notebooks" / f"{nb}.ipynb").read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            for out in cell.get("outputs", []):
                item = out.get("data", {}).get(mime)
                if item is not None:
                    found[f"{nb[:2]}:{item['name']}"] = item["value"]
    return found


# ---- the three chapters' training paths --------------------------------------------------------

def chapter04(dev, amp, tiny):
    import numpy as np
    import torch
    from torch import nn

    import course_utils as cu

    (x, y), (xt, yt) = cu.load_mnist()
    if tiny:
        x, y, xt, yt = x[:1_000], y[:1_000], xt[:500], yt[:500]
    mean, std = float(x.mean() / 255), float(x.std() / 255)
    background = -mean / std
    norm = lambda b: (b.float().div(255).unsqueeze(1) - mean) / std  # noqa: E731
    aug = lambda b: cu.random_shift_rotate(b - background, max_shift=2, max_degrees=10) + background  # noqa: E731
    cu.seed_everything(0, tensorflow=False)
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten(),
                          nn.Linear(32 * 13 * 13, 64), nn.ReLU(), nn.Linear(64, 10))
    h = cu.fit(model, (x, y.astype(np.int64)), epochs=1 if tiny else 8, batch_size=128, lr=3e-3, schedule="onecycle",
               transform=norm, augment=aug, amp=amp, device=dev, verbose=0)
    acc = float((cu.predict(model, xt, transform=norm, amp=amp).argmax(1) == yt).mean())
    return acc, h


def chapter05(dev, amp, tiny, reviews):
    import numpy as np

    import course_utils as cu

    if tiny:
        reviews = reviews.groupby("split").head(400)
    is_train = (reviews["split"] == "train").to_numpy()
    corpus = cu.encode_corpus(reviews["text"].tolist(), is_train, size=20_000, cache_dir=False)
    x = cu.pad_ids(corpus.ids, 32 if tiny else 400, keep="end")
    y = reviews["label"].to_numpy().astype(np.int64)
    cu.seed_everything(0, tensorflow=False)
    model = cu.ReviewLSTM(vocab_size=len(corpus.vocab))
    h = cu.fit(model, (x[is_train], y[is_train]), epochs=1 if tiny else 3, batch_size=128, lr=4e-3,
               schedule="onecycle", grad_clip=1.0, amp=amp, device=dev, verbose=0)
    logits = cu.predict(model, x[~is_train], amp=amp).reshape(-1)   # one logit per review
    acc = float(((logits > 0) == y[~is_train]).mean())
    return acc, h


def chapter07(dev, amp, tiny, reviews):
    import numpy as np
    import torch

    import course_utils as cu
    from course_utils import bpe, lm_data

    if tiny:
        reviews = reviews.groupby("split").head(300)
    train = reviews[reviews["split"] == "train"].reset_index(drop=True)
    test = reviews[reviews["split"] == "test"].reset_index(drop=True)
    vocab, T = (512, 32) if tiny else (4096, 128)
    cache = Path(tempfile.mkdtemp(prefix="gpu_check_tok_"))
    tok, _ = bpe.train_tokenizer(train["text"].tolist(), vocab, cache_dir=cache)
    ids = bpe.encode_texts(tok, train["text"].tolist())
    x_lm, y_lm = lm_data.stream_blocks(ids, tok.token_to_id(bpe.EOT), T, 24_000 if tiny else 2_500_000, seed=0)
    cfg = cu.GPTConfig(vocab_size=vocab, block_size=T, n_layer=2 if tiny else 4, n_head=2 if tiny else 4,
                       d_model=32 if tiny else 128)
    cu.seed_everything(0, tensorflow=False)
    gpt = cu.GPT(cfg)
    t0 = time.perf_counter()
    cu.fit(gpt, (torch.from_numpy(x_lm), torch.from_numpy(y_lm)), epochs=1, batch_size=32, lr=3e-3, optimizer="adamw",
           weight_decay=0.01, schedule="onecycle", grad_clip=1.0, loss=cu.lm_loss, amp=amp, device=dev, verbose=0)
    pretrain_s = time.perf_counter() - t0
    n = 100 if tiny else 1_000
    pick = np.random.default_rng(0).permutation(len(train))[:n]
    x_ft = torch.from_numpy(lm_data.review_ids(ids.take(pick), T, keep="end"))
    y_ft = torch.from_numpy(train["label"].to_numpy()[pick].astype(np.int64))
    x_te = torch.from_numpy(lm_data.review_ids(bpe.encode_texts(tok, test["text"].tolist()[:5_000]), T, keep="end"))
    y_te = test["label"].to_numpy()[:5_000]
    cu.seed_everything(0, tensorflow=False)
    clf = cu.GPTClassifier(gpt, pad_id=0)
    h = cu.fit(clf, (x_ft, y_ft), epochs=1 if tiny else 3, batch_size=32, lr=5e-4, optimizer="adamw",
               weight_decay=0.01, schedule="onecycle", grad_clip=1.0, amp=amp, device=dev, verbose=0)
    logits = cu.predict(clf, x_te, amp=amp)
    acc = float(((logits.reshape(-1) > 0) == y_te).mean())  # one logit per review
    shutil.rmtree(cache, ignore_errors=True)
    h.attrs["pretrain_seconds"] = pretrain_s
    return acc, h


# (chapter, reference key in the committed notebook, tolerance): 04 and 05 retrace the chapter's own
# recipe (one seed against the mean over seeds); 07 pretrains on a third of the chapter's corpus.
CHECKS = (("04 CNN", "04:torch_test_acc_mean", 0.004), ("05 LSTM", "05:test_acc_mean", 0.015),
          ("07 GPT fine-tuned, 1,000 labels", "07:test_acc_pretrained_1000", 0.06))


def run(folder: Path, out: Path, dry_run: bool, device: str) -> int:
    os.environ["COURSE_DATA_MIRROR"] = str(folder.resolve())  # cu.load_mnist verifies the IDX files from here
    os.environ.setdefault("COURSE_DATA_DIR", tempfile.mkdtemp(prefix="gpu_check_data_"))
    os.environ.setdefault("COURSE_PROGRESS", "off")
    import pandas as pd
    import torch

    import course_utils as cu

    dev = cu.pick_device(device)
    if dev.type != "cuda" and not dry_run:
        print("no CUDA GPU here: use --dry-run for the CPU version, or run it on a GPU machine")
        return 2
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU (dry run)"
    amps = ["auto", "fp16"] if dev.type == "cuda" else ["auto", "bf16"]
    reference = cpu_reference()
    reviews = read_reviews(folder)
    print(f"gpu_check on {name}, torch {torch.__version__}, precisions {amps}, {'tiny' if dry_run else 'full'} sizes",
          flush=True)
    rows = []
    for amp in amps:
        for (label, key, tol), fn in zip(CHECKS, (chapter04, chapter05, chapter07)):
            t0 = time.perf_counter()
            acc, h = fn(dev, amp, dry_run) if fn is chapter04 else fn(dev, amp, dry_run, reviews)
            ref = reference.get(key)
            ok = None if dry_run or ref is None else abs(acc - ref) <= tol
            rows.append({"chapter": label, "amp": amp, "precision": h.attrs["precision"],
                         "epochs": len(h), "train s": round(float(h["seconds"].sum()), 1),
                         "s/epoch": round(float(h["seconds"].median()), 2),
                         "pretrain s": round(h.attrs.get("pretrain_seconds", math.nan), 1),
                         "total s": round(time.perf_counter() - t0, 1), "test acc": round(acc, 4),
                         "CPU ref": ref, "tolerance": tol, "ok": ok})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "gpu_check.csv", index=False)
    head = (f"GPU check, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, device: {name}, "
            f"torch {torch.__version__}{', DRY RUN (tiny sizes, accuracies not compared)' if dry_run else ''}\n\n")
    md = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    md += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
    (out / "gpu_check.md").write_text(head + "\n".join(md) + "\n", encoding="utf-8")  # no tabulate needed
    print("\n" + table.to_string(index=False))
    failed = [r for r in rows if r["ok"] is False]
    print(f"\nwritten {out / 'gpu_check.md'}; " + (f"{len(failed)} accuracy check(s) FAILED" if failed else "all checks passed"))
    return 1 if failed else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack", help="write the data folder that travels to the GPU machine")
    p.add_argument("folder", type=Path)
    p.add_argument("--tiny", action="store_true", help="a few hundred reviews (for the unit test)")
    r = sub.add_parser("run", help="train the three chapters' models and write the table")
    r.add_argument("folder", type=Path)
    r.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "gpu_check_out")))
    r.add_argument("--dry-run", action="store_true", help="tiny sizes on any device (the CPU here)")
    r.add_argument("--device", default="auto")
    args = ap.parse_args(argv)
    if args.cmd == "pack":
        pack(args.folder, n_train=500 if args.tiny else None, n_test=500 if args.tiny else N_TEST_REVIEWS)
        return 0
    if not (args.folder / REVIEWS).exists():
        print(f"{args.folder} holds no packed data: run `python benchmarks/gpu_check.py pack {args.folder}` first")
        return 2
    return run(args.folder, args.out, args.dry_run, args.device)


if __name__ == "__main__":
    sys.exit(main())
