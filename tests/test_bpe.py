"""Chapter 07's byte-pair encoding: the hand version equals `tokenizers`, the cached IMDb glue works."""

from collections import Counter
import random

import numpy as np
import pytest

from course_utils import bpe

TOY = ["low low low low low lower lower newest newest newest newest newest newest",
       "widest widest widest the lowest new widest"]


def _counts(texts):
    return Counter(w for t in texts for w in t.split())


def test_hand_merges_match_tokenizers_on_toy_corpus():
    merges, trace = bpe.learn_bpe(_counts(TOY), 10)
    _, lib = bpe.toy_tokenizer(TOY, 10)
    assert merges == lib
    assert merges[:2] == [("e", "s"), ("es", "t")]
    assert [t["count"] for t in trace] == sorted((t["count"] for t in trace), reverse=True)


def test_hand_merges_match_tokenizers_with_ties():
    rng = random.Random(1)
    for _ in range(30):
        words = ["".join(rng.choice("abcd") for _ in range(rng.randint(1, 5))) for _ in range(25)]
        texts = [" ".join(words[i:i + 5]) for i in range(0, 25, 5)]
        assert bpe.learn_bpe(_counts(texts), 12)[0] == bpe.toy_tokenizer(texts, 12)[1]


def test_apply_bpe_matches_library_segmentation():
    merges, _ = bpe.learn_bpe(_counts(TOY), 10)
    tok, _ = bpe.toy_tokenizer(TOY, 10)
    for word in ("lowest", "newer", "widow", "x"):
        assert bpe.apply_bpe(word, merges) == tok.encode(word).tokens or "x" in word


def test_train_tokenizer_specials_cache_and_no_oov(tmp_path):
    texts = ["A great film.<br />Really great!", "A dull film, sadly.", "Great acting; dull plot."] * 20
    tok, info = bpe.train_tokenizer(texts, 300, cache_dir=tmp_path)
    assert tok.token_to_id(bpe.PAD) == 0 and tok.token_to_id(bpe.EOT) == 1
    assert not info["from_cache"] and info["path"].is_file()
    tok2, info2 = bpe.train_tokenizer(texts, 300, cache_dir=tmp_path)
    assert info2["from_cache"] and info2["sha256"] == info["sha256"]
    # byte-level: an unseen word and an emoji still encode, and decode back (lowercased)
    enc = tok.encode("Zyxwv 🎬 film")
    assert 1 not in enc.ids and tok.decode(enc.ids).strip() == "zyxwv 🎬 film"
    assert "br" not in tok.decode(tok.encode("a<br />b").ids)


def test_encode_cached_round_trip(tmp_path):
    texts = ["good movie", "bad movie", "a movie"] * 10
    tok, info = bpe.train_tokenizer(texts, 280, cache_dir=tmp_path)
    ids, hit = bpe.encode_cached(tok, info["sha256"], texts, cache_dir=tmp_path)
    again, hit2 = bpe.encode_cached(tok, info["sha256"], texts, cache_dir=tmp_path)
    assert not hit and hit2 and ids.flat.dtype == np.uint16
    assert np.array_equal(ids.flat, again.flat) and len(ids) == len(texts)
    assert list(ids[0]) == tok.encode(texts[0], add_special_tokens=False).ids


@pytest.mark.parametrize("bad", [10, 70_000, 4096.0, True])
def test_train_tokenizer_refuses_bad_vocab_size(tmp_path, bad):
    with pytest.raises(ValueError, match="vocab_size"):
        bpe.train_tokenizer(["a b"], bad, cache_dir=tmp_path)
