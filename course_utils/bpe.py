"""Byte-pair encoding (chapter 07): by hand on a toy corpus, then Hugging Face `tokenizers` on IMDb.

Why subwords: chapter 05's word vocabulary maps every word it has not seen to one <oov> id, so a
rare name or a typo carries no information. BPE starts from single symbols and repeatedly glues
the most frequent adjacent pair into a new symbol, so frequent words end up as one token and rare
words as a few pieces; nothing is ever out of vocabulary.

`learn_bpe` is the algorithm in a dozen lines, for teaching (it records every merge). The library
(Rust, fast enough for 75,000 reviews in seconds) does the same; `toy_tokenizer` sets it up so
that its merges can be compared with the hand version one for one. `train_tokenizer` trains the
real one on the pretraining texts and caches it keyed by a fingerprint of the texts and settings.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import numpy as np

from ._files import atomic_write, atomic_writer
from .pretrained import cache_root
from .text import Ragged

PAD, EOT = "<pad>", "<|endoftext|>"  # ids 0 and 1 of every tokenizer trained here
SPECIALS = (PAD, EOT)
BPE_VERSION = 1  # bump when the normalisation or pre-tokenisation below changes


# ---- the algorithm, by hand ---------------------------------------------------------------------

def _pair_counts(words: dict[tuple, int]) -> Counter:
    pairs = Counter()
    for symbols, n in words.items():
        for a, b in zip(symbols, symbols[1:]):
            pairs[a, b] += n
    return pairs


def _merge_word(symbols: tuple, pair: tuple) -> tuple:
    out, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            out.append(symbols[i] + symbols[i + 1])
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return tuple(out)


def learn_bpe(word_counts: dict[str, int], n_merges: int):
    """Learn up to `n_merges` merges from {word: count}; returns (merges, trace).

    Start: every word is a tuple of its characters; the vocabulary is the sorted alphabet. Each
    step: count adjacent pairs (weighted by word frequency), merge the most frequent pair
    everywhere. Ties go to the pair whose symbols come first in the vocabulary (earlier ids),
    the rule `tokenizers` uses too. trace: one dict per merge (pair, count, new symbol, words after).
    """
    words = {tuple(w): n for w, n in word_counts.items()}
    vocab = sorted({c for w in words for c in w})
    ids = {s: i for i, s in enumerate(vocab)}
    merges, trace = [], []
    for _ in range(n_merges):
        pairs = _pair_counts(words)
        if not pairs:
            break
        pair, count = min(pairs.items(), key=lambda kv: (-kv[1], ids[kv[0][0]], ids[kv[0][1]]))
        words = {_merge_word(w, pair): n for w, n in words.items()}
        new = pair[0] + pair[1]
        if new not in ids:
            ids[new] = len(vocab)
            vocab.append(new)
        merges.append(pair)
        trace.append({"pair": pair, "count": count, "new symbol": new,
                      "words": " ".join(" ".join(w) for w in words)})
    return merges, trace


def apply_bpe(word: str, merges) -> list[str]:
    """Split a new word with learnt merges, applied in the order they were learnt."""
    rank = {tuple(m): i for i, m in enumerate(merges)}
    symbols = tuple(word)
    while len(symbols) > 1:
        pairs = [(rank.get(p, len(rank)), p) for p in zip(symbols, symbols[1:])]
        best_rank, best = min(pairs)
        if best_rank == len(rank):
            break
        symbols = _merge_word(symbols, best)
    return list(symbols)


# ---- the library --------------------------------------------------------------------------------

def toy_tokenizer(texts, n_merges: int):
    """`tokenizers` BPE with the hand version's settings (split on whitespace, no normalisation,
    the corpus's own alphabet); returns (tokenizer, merges as pairs)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    alphabet = sorted({c for t in texts for c in t if not c.isspace()})
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.BpeTrainer(vocab_size=len(alphabet) + n_merges, show_progress=False,
                                  initial_alphabet=alphabet, min_frequency=1)
    tok.train_from_iterator(texts, trainer)
    return tok, merges_of(tok)


def merges_of(tok) -> list[tuple[str, str]]:
    """A trained BPE tokenizer's merges, in order, as (left, right) pairs."""
    merges = json.loads(tok.to_str())["model"]["merges"]
    return [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in merges]


def _real_tokenizer():
    """The IMDb tokenizer's pipeline: `<br />` -> space, lowercase, GPT-2's byte-level pieces."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.Sequence([normalizers.Replace("<br />", " "), normalizers.NFKC(),
                                           normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    return tok


def texts_fingerprint(texts) -> str:
    """sha256 of the texts (their order included): names what a tokenizer or model was trained on."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def tokenizer_key(texts_sha: str, vocab_size: int) -> str:
    spec = f"bpe-v{BPE_VERSION}|vocab={vocab_size}|texts={texts_sha}"
    return hashlib.sha256(spec.encode()).hexdigest()[:12]


def train_tokenizer(texts, vocab_size: int = 4096, *, cache_dir=None, refresh: bool = False):
    """A byte-level BPE tokenizer with `vocab_size` ids (0 = <pad>, 1 = <|endoftext|>), trained on
    `texts` (never pass test reviews here), cached as gpt/tokenizer-<key>.json.

    Returns (tokenizer, info) with info = {"key", "path", "from_cache", "sha256"}; sha256 is the
    hash of the tokenizer's JSON, which a pretrained model's manifest records.
    """
    from tokenizers import Tokenizer, pre_tokenizers, trainers

    if not isinstance(vocab_size, int) or isinstance(vocab_size, bool) or not 258 < vocab_size <= 65_535:
        raise ValueError(f"vocab_size must be an integer in 259..65535 (the 256 bytes, 2 specials and "
                         f"at least one merge; ids are stored as uint16), got {vocab_size!r}")
    texts = list(texts)
    key = tokenizer_key(texts_fingerprint(texts), vocab_size)
    path = cache_root(cache_dir) / f"tokenizer-{key}.json"
    if path.is_file() and not refresh:
        text = path.read_text(encoding="utf-8")
        return Tokenizer.from_str(text), {"key": key, "path": path, "from_cache": True, "sha256": _sha(text)}
    tok = _real_tokenizer()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIALS), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer, length=len(texts))
    text = tok.to_str()
    atomic_write(path, text)
    return tok, {"key": key, "path": path, "from_cache": False, "sha256": _sha(text)}


def encode_texts(tok, texts, batch: int = 5_000) -> Ragged:
    """Token ids of every text (no specials added), one flat uint16 array with offsets."""
    texts = list(texts)
    lengths, parts = [], []
    for i in range(0, len(texts), batch):
        for enc in tok.encode_batch(texts[i:i + batch], add_special_tokens=False):
            parts.append(np.asarray(enc.ids, np.uint16))
            lengths.append(len(enc.ids))
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.concatenate(parts) if parts else np.zeros(0, np.uint16)
    return Ragged(flat, offsets)


def encode_cached(tok, tok_sha: str, texts, *, cache_dir=None) -> tuple[Ragged, bool]:
    """`encode_texts`, cached as gpt/ids-<key>.npz keyed by the tokenizer's and the texts' hashes."""
    texts = list(texts)
    key = hashlib.sha256(f"{tok_sha}|{texts_fingerprint(texts)}".encode()).hexdigest()[:12]
    path = cache_root(cache_dir) / f"ids-{key}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                return Ragged(z["flat"], z["offsets"]), True
        except (OSError, ValueError, KeyError):
            pass  # unreadable: encode again
    ids = encode_texts(tok, texts)
    with atomic_writer(path) as f:
        np.savez(f, flat=ids.flat, offsets=ids.offsets)
    return ids, False


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
