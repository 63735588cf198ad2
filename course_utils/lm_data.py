"""Reviews as language-model training data (chapter 07): a token stream cut into fixed-length blocks.

Next-token prediction needs no labels: the reviews are joined into one stream, each followed by an
<|endoftext|> token, and cut into blocks of T + 1 tokens; a block gives the input x = block[:-1] and
the target y = block[1:] (the same tokens shifted by one), T predictions at once thanks to the
causal mask. Validation must be text the model never trained on, so whole *reviews* are held out
before the stream is built (blocks cut from the same review would leak). The training blocks are
a random subset sized to the token budget: `cu.fit` then runs one epoch over exactly that budget.
"""

from __future__ import annotations

import numpy as np

from .text import Ragged, pad_ids


def split_reviews(n_reviews: int, val_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers (train, validation) of a random split of whole reviews; both sorted."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction!r}")
    perm = np.random.default_rng(seed).permutation(n_reviews)
    n_val = max(1, int(round(val_fraction * n_reviews)))
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def token_stream(ids: Ragged, eot_id: int) -> np.ndarray:
    """All sequences joined, each followed by eot_id: one flat int32 array."""
    lengths = ids.lengths
    stream = np.empty(len(ids.flat) + len(ids), np.int32)
    ends = np.cumsum(lengths + 1) - 1  # position of each review's <|endoftext|>
    stream[ends] = eot_id
    keep = np.ones(len(stream), bool)
    keep[ends] = False
    stream[keep] = ids.flat
    return stream


def make_blocks(stream: np.ndarray, block_size: int, n_tokens: int | None = None, seed: int = 0):
    """(x, y) int64 arrays of shape (n, block_size) from non-overlapping windows of block_size + 1
    tokens (consecutive windows share their boundary token). n_tokens: keep a random subset of
    windows holding about that many target tokens (None: all)."""
    if not isinstance(block_size, (int, np.integer)) or block_size < 1:
        raise ValueError(f"block_size must be a positive integer, got {block_size!r}")
    n = (len(stream) - 1) // block_size
    if n < 1:
        raise ValueError(f"a stream of {len(stream)} tokens is too short for one block of {block_size} + 1")
    starts = np.arange(n) * block_size
    if n_tokens is not None:
        want = max(1, int(n_tokens) // block_size)
        if want < n:
            starts = np.sort(np.random.default_rng(seed).choice(starts, want, replace=False))
    windows = stream[starts[:, None] + np.arange(block_size + 1)[None, :]].astype(np.int64)
    return windows[:, :-1], windows[:, 1:]


def stream_blocks(ids: Ragged, eot_id: int, block_size: int, n_tokens: int | None = None, seed: int = 0):
    """`make_blocks(token_stream(ids, eot_id), ...)`: the usual path from encoded reviews to (x, y)."""
    return make_blocks(token_stream(ids, eot_id), block_size, n_tokens, seed)


def review_ids(ids: Ragged, maxlen: int, keep: str = "end") -> np.ndarray:
    """(n, maxlen) int64 ids for classification: each review cut to maxlen tokens (its end kept by
    default, where reviewers sum up), padding id 0 after it (chapter 05's `pad_ids`)."""
    return pad_ids(ids, maxlen, keep).astype(np.int64)
