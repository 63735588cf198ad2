"""Chapter 07's GPT: parameter formula, causality, loss at init, generation, classifier, blocks, memory check."""

import math

import numpy as np
import pytest
import torch

import course_utils as cu
from course_utils import lm_data
from course_utils.gpt import GPT, GPTClassifier, GPTConfig, check_fits, lm_loss, n_params_formula
from course_utils.text import Ragged

SMALL = GPTConfig(vocab_size=97, block_size=16, n_layer=2, n_head=2, d_model=32)


@pytest.mark.parametrize("cfg", [SMALL, GPTConfig(vocab_size=4096, block_size=128, n_layer=4, n_head=4, d_model=128)])
def test_parameter_formula_equals_framework(cfg):
    assert n_params_formula(cfg) == sum(p.numel() for p in GPT(cfg).parameters())


def test_output_layer_is_tied():
    m = GPT(SMALL)
    assert not any(n.startswith("head") for n, _ in m.named_parameters())
    x = torch.randint(0, 97, (2, 5))
    assert torch.allclose(m(x), m.hidden(x) @ m.tok_emb.weight.T)


def test_causal_future_tokens_never_change_earlier_logits():
    torch.manual_seed(0)
    m = GPT(SMALL).eval()
    x = torch.randint(0, 97, (3, 12))
    x2 = x.clone()
    x2[:, 7:] = torch.randint(0, 97, (3, 5))
    with torch.no_grad():
        a, b = m(x), m(x2)
    assert torch.allclose(a[:, :7], b[:, :7], atol=1e-6)
    assert not torch.allclose(a[:, 7:], b[:, 7:])


def test_loss_at_init_is_near_ln_v():
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=1000, block_size=32, n_layer=2, n_head=2, d_model=32)
    x = torch.randint(0, 1000, (8, 32))
    with torch.no_grad():
        loss = lm_loss(GPT(cfg)(x), torch.randint(0, 1000, (8, 32))).item()
    assert abs(loss - math.log(1000)) < 0.05


def test_generate_shapes_top_k_and_temperature():
    torch.manual_seed(0)
    m = GPT(SMALL)
    start = torch.zeros(2, 3, dtype=torch.long)
    out = m.generate(start, 20, temperature=0.8, top_k=5, generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 23) and torch.equal(out[:, :3], start)
    greedy1 = m.generate(start, 6, top_k=1)
    greedy2 = m.generate(start, 6, top_k=1)
    assert torch.equal(greedy1, greedy2)  # top_k=1 is greedy decoding
    with torch.no_grad():
        assert greedy1[0, 3].item() == m(start)[0, -1].argmax().item()
    # top_k: every sampled token is among the k most likely at its step
    for _ in range(5):
        o = m.generate(start[:1], 1, top_k=3)
        with torch.no_grad():
            assert o[0, -1].item() in torch.topk(m(start[:1])[0, -1], 3).indices.tolist()
    with pytest.raises(ValueError, match="temperature"):
        m.generate(start, 1, temperature=0)
    with pytest.raises(ValueError, match="top_k"):
        m.generate(start, 1, top_k=0)


def test_context_longer_than_block_size_refused():
    with pytest.raises(ValueError, match="block_size=16"):
        GPT(SMALL)(torch.zeros(1, 17, dtype=torch.long))


@pytest.mark.parametrize("kw, match", [(dict(d_model=30, n_head=4), "divisible"), (dict(n_layer=0), "n_layer"),
                                       (dict(vocab_size=2.5), "vocab_size"), (dict(dropout=1.0), "dropout")])
def test_config_refuses_bad_values(kw, match):
    with pytest.raises(ValueError, match=match):
        GPTConfig(**kw)


def test_memory_estimate_refuses_what_cannot_fit():
    huge = GPTConfig(vocab_size=50_000, block_size=4096, n_layer=48, n_head=16, d_model=4096)
    with pytest.raises(MemoryError, match="lower batch_size"):
        check_fits(huge, 64, "cpu")
    assert check_fits(SMALL, 8, "cpu") > 0


def test_classifier_ignores_padding_and_trains_with_fit():
    torch.manual_seed(0)
    clf = GPTClassifier(GPT(SMALL)).eval()
    x = torch.tensor([[5, 6, 7, 0, 0], [5, 6, 7, 8, 9]])
    with torch.no_grad():
        a = clf(x)
        b = clf(x[:, :3])
    assert a.shape == (2,) and torch.allclose(a[0], b[0], atol=1e-6)
    xs = torch.randint(2, 97, (32, 16))
    ys = (xs[:, 0] > 48).long()
    h = cu.fit(clf, (xs, ys), epochs=2, batch_size=16, verbose=0, amp=False)
    assert list(h.columns[:3]) == ["epoch", "train_loss", "train_acc"]


def test_lm_pretraining_step_with_fit_lowers_the_loss():
    torch.manual_seed(0)
    stream = np.tile(np.arange(2, 20, dtype=np.int32), 200)  # a repeating pattern: learnable
    x, y = lm_data.make_blocks(stream, 16)
    m = GPT(SMALL)
    h = cu.fit(m, (x, y), epochs=3, batch_size=16, loss=lm_loss, lr=3e-3, verbose=0, amp=False)
    assert h["train_loss"].iloc[-1] < 0.5 * h["train_loss"].iloc[0]


def test_blocks_and_stream_shapes():
    ids = Ragged(np.array([5, 6, 7, 8, 9, 10], np.uint16), np.array([0, 2, 6]))
    s = lm_data.token_stream(ids, eot_id=1)
    assert s.tolist() == [5, 6, 1, 7, 8, 9, 10, 1]
    x, y = lm_data.make_blocks(s, 3)
    assert x.shape == (2, 3) and y.shape == (2, 3)
    assert x[0].tolist() == [5, 6, 1] and y[0].tolist() == [6, 1, 7] and x[1].tolist() == [7, 8, 9]
    xs, _ = lm_data.make_blocks(np.arange(1001), 10, n_tokens=200, seed=0)
    assert xs.shape == (20, 10) and len({int(r[0]) for r in xs}) == 20
    tr, va = lm_data.split_reviews(100, 0.1, seed=0)
    assert len(va) == 10 and not set(tr) & set(va) and len(tr) + len(va) == 100
    r = lm_data.review_ids(ids, 3)
    assert r.tolist() == [[5, 6, 0], [8, 9, 10]] and r.dtype == np.int64
    with pytest.raises(ValueError, match="too short"):
        lm_data.make_blocks(np.arange(3), 5)
