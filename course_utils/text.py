"""Raw review text to padded token ids (chapter 05, IMDb): clean, tokenize, count, encode, pad.

Why a regular expression and not Keras `TextVectorization`: both take about as long on the 50,000
labeled reviews (chapter 05 measures them side by side), but this one needs no TensorFlow for the
PyTorch path, every step is a line of Python the learner can read, and padding can keep either
the start or the *end* of a long review (TextVectorization only keeps the start).

Ids: 0 is padding, 1 is any word outside the vocabulary, 2.. are words, most frequent first.
A vocabulary of `size` ids therefore holds size - 2 words and fits `Embedding(size, ...)`.
Sequences are stored ragged (one flat id array plus offsets) so that any `maxlen` is a cheap
`pad_ids` away; the encoded corpus is cached as an .npz keyed by a hash of the texts and settings.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PAD, OOV = 0, 1
SPECIALS = ("<pad>", "<oov>")
# A word: letters/digits with an optional contraction ("don't", "it's"); "!" and "?" count too.
TOKEN_PATTERN = r"[a-z0-9]+(?:'[a-z]+)?|[!?]"
_TOKEN = re.compile(TOKEN_PATTERN)
TOKENIZER_VERSION = 1  # bump when clean() or TOKEN_PATTERN change: old caches are then ignored


def clean(text: str) -> str:
    """Lowercase and turn the reviews' HTML line breaks (`<br />`) into spaces."""
    return text.replace("<br />", " ").lower()


def tokenize(text: str) -> list[str]:
    """The tokens of one raw text: `tokenize("Great<br />film, isn't it?")` ->
    ['great', 'film', "isn't", 'it', '?']."""
    return _TOKEN.findall(clean(text))


def tokenize_all(texts) -> list[list[str]]:
    find = _TOKEN.findall
    return [find(t.replace("<br />", " ").lower()) for t in texts]


class Vocabulary:
    """Word <-> id. Built from training texts only, so nothing about the test set leaks in."""

    def __init__(self, words):
        self.words = list(SPECIALS) + [w for w in words if w not in SPECIALS]
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def build(cls, token_lists, size: int = 20_000) -> "Vocabulary":
        """The size - 2 most frequent tokens (ties broken alphabetically, so the result is stable)."""
        if size < 3:
            raise ValueError(f"a vocabulary needs room for padding, OOV and at least one word; got size={size}")
        counts = Counter(itertools.chain.from_iterable(token_lists))
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: size - 2]
        vocab = cls(w for w, _ in ranked)
        vocab.counts = dict(ranked)
        return vocab

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, tokens) -> list[int]:
        get = self.index.get
        return [get(t, OOV) for t in tokens]

    def decode(self, ids) -> str:
        return " ".join(self.words[i] for i in ids if i != PAD)


@dataclass
class Ragged:
    """Variable-length id sequences: sequence i is flat[offsets[i]:offsets[i+1]]."""

    flat: np.ndarray  # int32
    offsets: np.ndarray  # int64, len = n + 1

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __getitem__(self, i) -> np.ndarray:
        return self.flat[self.offsets[i] : self.offsets[i + 1]]

    def take(self, rows) -> "Ragged":
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        starts, lens = self.offsets[rows], self.lengths[rows]
        offsets = np.zeros(len(rows) + 1, np.int64)
        np.cumsum(lens, out=offsets[1:])
        # positions of every kept id in `flat`, without a Python loop over sequences
        pos = np.repeat(starts - offsets[:-1], lens) + np.arange(offsets[-1])
        return Ragged(self.flat[pos], offsets)


def encode(token_lists, vocab: Vocabulary) -> Ragged:
    """Every token list as ids, in one flat array (one dict lookup per token, no per-list arrays)."""
    lengths = np.fromiter(map(len, token_lists), np.int64, len(token_lists))
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    tokens = itertools.chain.from_iterable(token_lists)
    flat = np.fromiter(map(vocab.index.get, tokens, itertools.repeat(OOV)), np.int32, int(offsets[-1]))
    return Ragged(flat, offsets)


def pad_ids(seqs: Ragged, maxlen: int, keep: str = "end") -> np.ndarray:
    """An (n, maxlen) int32 array: each sequence cut to maxlen ids, left-aligned, zeros after it.

    keep="end" keeps the last maxlen ids of a long review (where reviewers tend to sum up),
    keep="start" the first. Padding goes after the ids, so a recurrent network reads every
    real token before any padding, and a sequence's length is the number of non-zero ids.
    """
    if keep not in ("start", "end"):
        raise ValueError(f"keep must be 'start' or 'end', got {keep!r}")
    if not isinstance(maxlen, (int, np.integer)) or maxlen < 1:
        raise ValueError(f"maxlen must be a positive integer, got {maxlen!r}")
    lengths = np.minimum(seqs.lengths, maxlen)
    starts = seqs.offsets[:-1] + (seqs.lengths - lengths if keep == "end" else 0)
    out = np.zeros((len(seqs), maxlen), np.int32)
    cols = np.arange(maxlen)
    mask = cols[None, :] < lengths[:, None]
    out[mask] = seqs.flat[(starts[:, None] + cols[None, :])[mask]]
    return out


def texts_to_ids(texts, vocab: Vocabulary, maxlen: int, keep: str = "end") -> np.ndarray:
    """Raw texts (e.g. what a learner types) to the padded ids a trained model takes."""
    return pad_ids(encode(tokenize_all(list(texts)), vocab), maxlen, keep)


@dataclass
class EncodedCorpus:
    """The output of `encode_corpus`: ids of every text, the vocabulary and how they were made."""

    ids: Ragged
    vocab: Vocabulary
    seconds: float  # time taken to build (tokenize + count + encode), or to load from the cache
    from_cache: bool
    path: Path | None


def _key(texts, train_mask, size: int) -> str:
    h = hashlib.sha256(f"v{TOKENIZER_VERSION}|{TOKEN_PATTERN}|size={size}|n={len(texts)}|".encode())
    h.update(np.packbits(np.asarray(train_mask, bool)).tobytes())
    h.update("\0".join(texts).encode("utf-8"))
    return h.hexdigest()[:16]


def encode_corpus(texts, train_mask, *, size: int = 20_000, cache_dir=None, refresh: bool = False) -> EncodedCorpus:
    """Tokenize all `texts`, build a `size`-id vocabulary from the rows where train_mask is True,
    and encode every text. The result is cached in `cache_dir` (default: the course data cache,
    folder imdb/) as tokens-<hash>.npz of int32 ids and the word list; no pickle."""
    texts = list(texts)
    train_mask = np.asarray(train_mask, bool)
    if len(train_mask) != len(texts):
        raise ValueError(f"train_mask has {len(train_mask)} entries for {len(texts)} texts")
    if cache_dir is None:
        from .data import data_dir

        cache_dir = data_dir() / "imdb"
    path = Path(cache_dir) / f"tokens-{_key(texts, train_mask, size)}.npz" if cache_dir is not False else None
    t0 = time.perf_counter()
    if path is not None and path.is_file() and not refresh:
        try:
            with np.load(path, allow_pickle=False) as z:
                ids = Ragged(z["flat"], z["offsets"])
                vocab = Vocabulary(z["words"][len(SPECIALS):].tolist())
            return EncodedCorpus(ids, vocab, time.perf_counter() - t0, True, path)
        except (OSError, ValueError, KeyError):
            pass  # unreadable cache: rebuild it
    tokens = tokenize_all(texts)
    vocab = Vocabulary.build(itertools.compress(tokens, train_mask), size)
    ids = encode(tokens, vocab)
    seconds = time.perf_counter() - t0
    if path is not None:
        from ._files import atomic_writer

        with atomic_writer(path) as f:
            np.savez(f, flat=ids.flat, offsets=ids.offsets, words=np.array(vocab.words))
    return EncodedCorpus(ids, vocab, seconds, False, path)
