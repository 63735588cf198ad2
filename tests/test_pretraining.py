"""Chapter 07's pretraining step (course_utils/pretraining.py), shared by the notebook and the torchrun command."""

import numpy as np
import pandas as pd
import torch

from course_utils import bpe, pretrained, pretraining
from course_utils.gpt import GPT, GPTConfig

WORDS = "the a film movie plot actor great dull long short funny sad good bad was is and but".split()


def _reviews(n=120, seed=0):
    rng = np.random.default_rng(seed)
    text = [" ".join(rng.choice(WORDS, rng.integers(8, 40))) + "." for _ in range(n)]
    split = np.array(["unsup", "train", "test"])[np.arange(n) % 3]
    return pd.DataFrame({"text": text, "split": split, "label": np.arange(n) % 2})


def test_texts_are_unsup_and_train_never_test():
    reviews = _reviews()
    texts = pretraining.pretraining_texts(reviews)
    assert texts == reviews["text"][reviews["split"] != "test"].tolist()
    subset = pretraining.pretraining_texts(reviews, 10)
    assert len(subset) == 10 and set(subset) <= set(texts)
    assert subset == pretraining.pretraining_texts(reviews, 10)  # a fixed subset, not a fresh draw


def test_blocks_hold_out_whole_reviews(tmp_path):
    texts = pretraining.pretraining_texts(_reviews())
    tok, info = bpe.train_tokenizer(texts, 280, cache_dir=tmp_path)
    lm = pretraining.lm_blocks(tok, info, texts, block_size=8, n_tokens=200, n_val_tokens=40, cache_dir=tmp_path)
    assert lm.n_train_reviews + lm.n_val_reviews == len(texts) and lm.n_val_reviews == round(0.02 * len(texts))
    assert lm.x.shape == (25, 8) and lm.x_val.shape == (5, 8) and lm.x.dtype == torch.int64
    assert torch.equal(lm.x[:, 1:], lm.y[:, :-1])  # the target is the input shifted by one
    assert not lm.ids_cached
    again = pretraining.lm_blocks(tok, info, texts, block_size=8, n_tokens=200, n_val_tokens=40, cache_dir=tmp_path)
    assert again.ids_cached and torch.equal(again.x, lm.x)


def test_recipe_key_is_stable():
    """The recipe's hash is every checkpoint's file name: a change here orphans every file on a classroom mirror."""
    cfg = GPTConfig(vocab_size=4096, block_size=128, n_layer=4, n_head=4, d_model=128)
    spec = pretraining.recipe(cfg, {"sha256": "0" * 64}, ["a review", "another"], tokens=2_499_968, batch_size=32,
                              lr=3e-3, seed=0)
    assert pretrained.spec_key(spec) == "8314b561c952"  # the notebook's own dict before it moved here gave the same
    for change in (dict(tokens=100), dict(lr=1e-3), dict(seed=1), dict(batch_size=16)):
        args = dict(tokens=2_499_968, batch_size=32, lr=3e-3, seed=0) | change
        other = pretraining.recipe(cfg, {"sha256": "0" * 64}, ["a review", "another"], **args)
        assert pretrained.spec_key(other) != pretrained.spec_key(spec), change
    other_texts = pretraining.recipe(cfg, {"sha256": "0" * 64}, ["a review"], tokens=2_499_968, batch_size=32,
                                     lr=3e-3, seed=0)
    assert pretrained.spec_key(other_texts) != pretrained.spec_key(spec)


def test_pretrain_pass_learns_and_reports(tmp_path):
    texts = pretraining.pretraining_texts(_reviews(300))
    tok, info = bpe.train_tokenizer(texts, 280, cache_dir=tmp_path)
    lm = pretraining.lm_blocks(tok, info, texts, block_size=16, n_tokens=4_000, n_val_tokens=160, cache_dir=tmp_path)
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=280, block_size=16, n_layer=1, n_head=2, d_model=32))
    facts = pretraining.pretrain_pass(model, (lm.x, lm.y), (lm.x_val, lm.y_val), batch_size=8, lr=3e-3, seed=0,
                                      device="cpu", verbose=0)
    assert facts["tokens"] == lm.x.numel() and facts["processes"] == 1 and facts["batch_size"] == 8
    assert len(facts["curve"]) == -(-len(lm.x) // 8)  # one point per step (fewer than 200 steps)
    assert facts["curve"][-1] < facts["curve"][0] - 1.0  # a small vocabulary of repeated words is learned fast
    assert facts["val_loss"] < np.log(280) - 1.0
