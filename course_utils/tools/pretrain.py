"""Chapter 07's pretraining outside the notebook, on one process or many: `torchrun` starts it.

    python -m course_utils pretrain --profile full                           # one process
    torchrun --standalone --nproc_per_node=4 -m course_utils.tools.pretrain --profile full
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv-endpoint=HOST:29500 -m course_utils.tools.pretrain

Why: pretraining is the one slow step of chapter 07. An instructor runs it once, on whatever the
department has (several GPUs, several nodes, or a many-core CPU with gloo), and puts the two files
it writes on the classroom mirror; every student's notebook then finds them, verifies them against
their manifest and skips the step (course_utils/pretrained.py).

It writes exactly the checkpoint the notebook looks for: the notebook and this command build the
data, the recipe `spec` and the training pass with the same functions (course_utils/pretraining.py),
hence the same file name <data_dir>/gpt/imdb-gpt-<key>.pt and its manifest. The profiles' values below are
the notebook's (tests/test_pretrain_cli.py compares them with the notebook's parameters cell).

Under torchrun, `cu.fit` trains with DistributedDataParallel (course_utils/train/distributed.py).
The recipe's batch of `batch_size` blocks is split over the N processes (batch_size / N each), and
process r takes every N-th block of each epoch's shuffled order, so the N halves of a step are the
recipe's one batch and the averaged gradient is the one-process gradient: the loss curve is the
same up to rounding, and so is the checkpoint. (When the number of blocks is not a multiple of N,
the last n mod N blocks of the shuffled order are left out: at most N - 1 of the recipe's blocks.)
Rank 0 prepares the data first (the others then read its cache), trains like the others, and is
the only one that writes.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..profiles import PROFILES, ProfileError, resolve_profile

NAME = "imdb-gpt"  # the checkpoint's name in the notebook
# The notebook's profiles, the settings pretraining uses (the parameters cell of 07_pretrain_finetune).
RECIPES = {
    "full": dict(vocab_size=4096, d_model=128, n_layer=4, n_head=4, block_size=128, n_pretrain_tokens=2_500_000,
                 n_pretrain_texts=None, n_val_tokens=100_000, batch_size=32, lr=3e-3),
    "smoke": dict(vocab_size=512, d_model=32, n_layer=2, n_head=2, block_size=32, n_pretrain_tokens=24_000,
                  n_pretrain_texts=1_500, n_val_tokens=4_000, batch_size=32, lr=3e-3),
}
OVERRIDES = ("vocab_size", "d_model", "n_layer", "n_head", "block_size", "n_pretrain_tokens")  # notebook parameters


def pretraining_data(P, cache_dir=None) -> dict:
    """The notebook's sections 1 and 4: pretraining reviews, BPE tokenizer, training and validation blocks."""
    from .. import bpe, pretraining
    from ..data import load_imdb

    texts = pretraining.pretraining_texts(load_imdb(), P.n_pretrain_texts)
    tok, tok_info = bpe.train_tokenizer(texts, P.vocab_size, cache_dir=cache_dir)
    lm = pretraining.lm_blocks(tok, tok_info, texts, P.block_size, P.n_pretrain_tokens, P.n_val_tokens,
                               seed=P.seed, cache_dir=cache_dir)
    return {"lm": lm, "tok_info": tok_info, "texts": texts}


def recipe(P, cfg, data) -> dict:
    """The notebook's `spec`: what names (and verifies) the checkpoint."""
    from .. import pretraining

    return pretraining.recipe(cfg, data["tok_info"], data["texts"], data["lm"].x.numel(), P.batch_size, P.lr, P.seed)


def pretrain(P, cfg, data, ctx) -> tuple:
    """The notebook's pretraining pass on this process's share; returns (model, facts)."""
    from .. import pretraining
    from ..gpt import GPT
    from ..seeding import seed_everything

    seed_everything(P.seed, tensorflow=False)
    model = GPT(cfg)  # the same initial weights on every process (DDP also broadcasts rank 0's)
    lm = data["lm"]
    facts = pretraining.pretrain_pass(model, (lm.x, lm.y), (lm.x_val, lm.y_val), batch_size=P.batch_size, lr=P.lr,
                                      seed=P.seed, device=ctx.device, ctx=ctx, verbose="auto" if ctx.main else 0)
    return model, facts


def _args(argv):
    ap = argparse.ArgumentParser(prog="python -m course_utils pretrain  (N processes: torchrun ... -m course_utils.tools.pretrain)",
                                 description="Pretrain chapter 07's GPT and write the checkpoint the notebook picks up.")
    ap.add_argument("--profile", choices=PROFILES, default=None, help="the notebook's profile (default: "
                    "$COURSE_PROFILE, else full)")
    ap.add_argument("--seed", type=int, default=0)
    for name in OVERRIDES:
        ap.add_argument(f"--{name.replace('_', '-')}", dest=name, type=int, default=None,
                        help="the notebook's parameter of that name (default: the profile's)")
    ap.add_argument("--device", default="auto", help="auto, cpu, cuda (under torchrun: one GPU per process)")
    ap.add_argument("--pretrain", choices=("auto", "always"), default="auto",
                    help="auto: do nothing when the cache already holds this recipe's weights; always: train again")
    ap.add_argument("--cache-dir", default=None, help="where the tokenizer, ids and weights go (default: <data_dir>/gpt, "
                    "where the notebook looks)")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = _args(argv)
    try:
        given = {"profile": args.profile, "seed": args.seed, "device": args.device,
                 **{k: getattr(args, k) for k in OVERRIDES}}
        P = resolve_profile(given, full=RECIPES["full"], smoke=RECIPES["smoke"])
        from ..gpt import GPTConfig

        cfg = GPTConfig(vocab_size=P.vocab_size, block_size=P.block_size, n_layer=P.n_layer, n_head=P.n_head,
                        d_model=P.d_model)
    except (ProfileError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return run(P, cfg, args.pretrain, args.cache_dir)


def run(P, cfg, policy: str, cache_dir=None) -> int:
    import torch.distributed as dist

    from .. import pretrained
    from ..device import configure_threads, pick_device
    from ..train import distributed

    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    threads = configure_threads(int(os.environ.get("COURSE_THREADS", 0)) or None)
    if local > 1 and not os.environ.get("COURSE_THREADS"):  # the machine's cores shared by its processes
        threads = configure_threads(max(1, threads // local))
    ctx = distributed.setup(pick_device(P.device))  # joins torchrun's process group; fit finds it joined
    if P.batch_size % ctx.world:
        if ctx.main:
            print(f"error: the recipe's batch of {P.batch_size} blocks cannot be split over {ctx.world} processes; "
                  f"use a number of processes that divides it", file=sys.stderr)
        return 2
    say = print if ctx.main else (lambda *a, **k: None)
    if ctx.main:  # the first to tokenize fills the cache; the others read it
        data = pretraining_data(P, cache_dir)
    if ctx.active:
        dist.barrier()
    if not ctx.main:
        data = pretraining_data(P, cache_dir)
    spec = recipe(P, cfg, data)
    weights, _ = pretrained.file_names(NAME, spec)
    found = None
    if ctx.main and policy == "auto":
        found = pretrained.find(spec, name=NAME, cache_dir=cache_dir)
    decision = [found is not None]
    if ctx.active:
        dist.broadcast_object_list(decision, src=0)
    if decision[0]:
        say(f"[pretrain] the cache already holds this recipe's verified weights ({found.source}): "
            f"{found.path}; nothing to do (--pretrain always trains again)")
        return 0
    say(f"[pretrain] profile {P.profile}: {cfg.n_layer} layers, d={cfg.d_model}, {cfg.vocab_size:,} ids; "
        f"{spec['tokens']:,} tokens in batches of {P.batch_size} blocks"
        + (f" = {ctx.world} processes x {P.batch_size // ctx.world}" if ctx.active else "")
        + f" on {ctx.device}, {threads} thread(s) per process")
    model, facts = pretrain(P, cfg, data, ctx)
    if ctx.main:
        path = pretrained.save(model.state_dict(), spec, name=NAME, facts=facts, cache_dir=cache_dir)
        say(f"[pretrain] validation loss {facts['val_loss']:.3f} after {facts['seconds']:.0f} s "
            f"({facts['tokens_per_s']:,.0f} tokens/s, {facts['precision']})")
        say(f"[pretrain] wrote {path} and {path.with_suffix('.json').name}; the notebook (same profile and "
            f"parameters) picks them up from this cache, or from a classroom mirror's gpt/ folder")
        assert path.name == weights
    return 0


if __name__ == "__main__":
    sys.exit(main())
