"""Reference checks for chapter 03's exercises (attention, masks, heads, cost, first loss, positions).

Each check calls the learner's function on small NumPy arrays and raises Wrong (through the expect_*
helpers) with a message that says what is wrong, never the expected value. `PLANTED` holds one typical
wrong answer per exercise: the test suite checks that each check rejects it with a message.
"""

from __future__ import annotations

import math

import numpy as np

from . import Wrong, expect, expect_choice, expect_close, expect_equal, call_learner as _call


def _softmax(s, axis=-1):
    s = s - s.max(axis=axis, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=axis, keepdims=True)


def _sdpa(Q, K, V, scale=True, axis=-1):
    S = Q @ K.T / (math.sqrt(Q.shape[-1]) if scale else 1.0)
    return _softmax(S, axis=axis) @ V


# 03.1 -- scaled dot-product attention

def check_sdpa(fn) -> None:
    rng = np.random.default_rng(31)
    Q, K, V = rng.normal(size=(4, 9)), rng.normal(size=(5, 9)), rng.normal(size=(5, 2))
    got = np.asarray(_call(fn, Q.copy(), K.copy(), V.copy(), what="sdpa(Q, K, V)"), dtype=float)
    if got.shape == (4, 5):
        raise Wrong("sdpa returned the (n, m) attention weights; return the outputs A @ V, one row per query")
    if got.shape == (4, 2):
        if np.allclose(got, _sdpa(Q, K, V, scale=False)):
            raise Wrong("sdpa leaves out the division of the scores by sqrt(d_k)")
        if np.allclose(got, _sdpa(Q, K, V, axis=0)) if Q.shape[0] == K.shape[0] else False:
            raise Wrong("sdpa normalises each column; the softmax runs over each row (a query's weights over the keys)")
    expect_close(got, _sdpa(Q, K, V), "sdpa(Q, K, V) for Q (4, 9), K (5, 9), V (5, 2)")
    with np.errstate(over="ignore", invalid="ignore"):
        big = np.asarray(_call(fn, 100 * Q, 100 * K, V.copy(), what="sdpa(Q, K, V)"), dtype=float)
    if big.shape == (4, 2) and not np.all(np.isfinite(big)):
        raise Wrong("sdpa gives NaN or inf for large scores: subtract each row's maximum before exp")
    expect_close(big, _sdpa(100 * Q, 100 * K, V), "sdpa(Q, K, V) with large scores")


# 03.2 -- the causal mask

def check_causal_mask(fn) -> None:
    for n in (1, 4, 6):
        got = np.asarray(_call(fn, n, what="causal_mask(n)"))
        right = np.tril(np.ones((n, n), dtype=bool))
        expect(got.shape == (n, n), f"causal_mask({n}) has shape {got.shape}, expected ({n}, {n})")
        expect(got.dtype == bool or set(np.unique(got)) <= {0, 1},
               f"causal_mask({n}) should hold True/False (or 1/0), one per (query, key) pair")
        got = got.astype(bool)
        if n > 1 and np.array_equal(got, right.T):
            raise Wrong(f"causal_mask({n}) is the upper triangle: query i would attend to later tokens (the future)")
        if n > 1 and np.array_equal(got, ~right):
            raise Wrong(f"causal_mask({n}) is inverted: True must mean 'may attend'")
        if np.array_equal(got, np.tril(np.ones((n, n), dtype=bool), -1)):
            raise Wrong(f"causal_mask({n}) leaves out the diagonal: a token may attend to itself")
        expect_equal(got, right, f"causal_mask({n})")


# 03.3 -- softmax with -inf for the masked scores

def check_masked_softmax(fn) -> None:
    rng = np.random.default_rng(33)
    s = rng.normal(size=(4, 5)) * 3
    s[0, 0] = 800.0  # large: a softmax without the max subtraction overflows
    mask = np.tril(np.ones((4, 5), dtype=bool)) & (np.arange(5) < 4)
    with np.errstate(over="ignore", invalid="ignore"):
        got = np.asarray(_call(fn, s.copy(), mask.copy(), what="masked_softmax(s, mask)"), dtype=float)
    right = _softmax(np.where(mask, s, -np.inf))
    expect(got.shape == right.shape, f"masked_softmax returned shape {got.shape}, expected {right.shape}")
    if not np.all(np.isfinite(got)):
        raise Wrong("masked_softmax gives NaN or inf: subtract each row's maximum (of the kept scores) before exp")
    if np.any(got[~mask] != 0):
        raise Wrong("masked entries get some weight: set their scores to -inf *before* the softmax "
                    "(a score of 0 is not excluded)")
    if not np.allclose(got.sum(axis=-1), 1):
        raise Wrong("the rows do not sum to 1: were the masked weights zeroed *after* the softmax? "
                    "Mask the scores before it, so the kept weights share all the probability")
    expect_close(got, right, "masked_softmax(s, mask)")


# 03.4 -- splitting and merging heads

def check_heads(pair) -> None:
    expect(isinstance(pair, (tuple, list)) and len(pair) == 2, "heads() should return two functions: (split_heads_, merge_heads_)")
    split, merge = pair
    Y = np.arange(6 * 8, dtype=float).reshape(6, 8)
    right = Y.reshape(6, 2, 4).transpose(1, 0, 2)
    got = np.asarray(_call(split, Y.copy(), 2, what="split_heads_(Y, h)"), dtype=float)
    expect(got.shape == right.shape, f"split_heads_(Y, 2) for Y (6, 8) has shape {got.shape}, expected (h, n, d_k) = {right.shape}")
    if np.array_equal(got, Y.reshape(2, 6, 4)):
        raise Wrong("split_heads_ reshapes straight to (h, n, d_k): that mixes rows of different tokens into a head; "
                    "reshape to (n, h, d_k) first, then swap the first two axes")
    expect_equal(got, right, "split_heads_(Y, 2): head i must hold columns i*d_k ... (i+1)*d_k - 1 of every token")
    back = np.asarray(_call(merge, right.copy(), what="merge_heads_(Z)"), dtype=float)
    expect(back.shape == Y.shape, f"merge_heads_ of a (2, 6, 4) array has shape {back.shape}, expected (n, h*d_k) = {Y.shape}")
    expect_equal(back, Y, "merge_heads_(split_heads_(Y)) should give Y back")


# 03.5 -- FLOPs and memory of one head

def check_attention_cost(fn) -> None:
    for n, d in ((128, 64), (1024, 64), (4096, 128), (1, 8)):
        got = _call(fn, n, d, what="attention_cost(n, d)")
        expect(isinstance(got, (tuple, list)) and len(got) == 2, "attention_cost should return two numbers: (flops, weights)")
        flops, weights = got
        if flops == 2 * n * n * d and n > 1:
            raise Wrong(f"attention_cost({n}, {d}): the flops count one product, or count a multiply-add as 1; "
                        "there are two products (QK^T and AV) of n*n*d multiply-adds each, 2 flops per multiply-add")
        if flops == 4 * n * d * d and n != d:
            raise Wrong(f"attention_cost({n}, {d}): n and d are swapped; Q K^T is (n x d) times (d x n)")
        expect_equal(flops, 4 * n * n * d, f"the flops of attention_cost({n}, {d})")
        expect_equal(weights, n * n, f"the number of attention weights of attention_cost({n}, {d})")


# 03.6 -- the first loss of a fresh model

def check_initial_loss(fn) -> None:
    for V, sigma in ((1000, 0.58), (50257, 0.16), (10, 1.0), (4096, 0.0)):
        got = _call(fn, V, sigma, what="initial_loss(V, sigma)")
        right = math.log(V) + sigma ** 2 / 2
        if sigma > 0 and isinstance(got, (int, float)) and math.isclose(got, math.log(V), rel_tol=1e-9):
            raise Wrong(f"initial_loss({V}, {sigma}) ignores the spread of the logits: random logits are confidently wrong")
        if sigma > 0 and isinstance(got, (int, float)) and math.isclose(got, math.log(V) + sigma ** 2, rel_tol=1e-9):
            raise Wrong(f"initial_loss({V}, {sigma}): the excess is half of sigma^2 (E[e^z] = e^(sigma^2/2))")
        if isinstance(got, (int, float)) and math.isclose(got, math.log10(V) + sigma ** 2 / 2, rel_tol=1e-9):
            raise Wrong(f"initial_loss({V}, {sigma}) uses log10; the cross-entropy uses the natural logarithm")
        expect_close(got, right, f"initial_loss({V}, {sigma})", rtol=1e-6)


# 03.7 -- sinusoidal positional encoding

def _pe(n, d):
    pos = np.arange(n)[:, None]
    freq = 10000.0 ** (np.arange(0, d, 2) / d)
    pe = np.zeros((n, d))
    pe[:, 0::2], pe[:, 1::2] = np.sin(pos / freq), np.cos(pos / freq)
    return pe


def check_sinusoidal_pe(fn) -> None:
    n, d = 7, 8
    got = np.asarray(_call(fn, n, d, what="sinusoidal_pe(n, d)"), dtype=float)
    right = _pe(n, d)
    expect(got.shape == right.shape, f"sinusoidal_pe({n}, {d}) has shape {got.shape}, expected (n, d) = {right.shape}")
    if np.allclose(got[:, 0::2], right[:, 1::2]) and np.allclose(got[:, 1::2], right[:, 0::2]):
        raise Wrong("sine and cosine are swapped: the even columns (2i) take the sine")
    if np.allclose(got[0], 0):
        raise Wrong("position 0 is all zeros: its odd columns hold cos(0) = 1")
    expect_close(got, right, f"sinusoidal_pe({n}, {d})")


# Quick questions (digests: course_utils.exercises.answer_digest)

Q1_DIGEST = "153836f9cc87"
Q2_DIGEST = "e940f4e23ffe"
Q3_DIGEST = "998902a22c07"


def check_q1(answer) -> None:
    expect_choice(answer, "03.q1", Q1_DIGEST, hints={
        "a": "the softmax already makes the weights sum to 1, whatever the scale of the scores",
        "c": "one division costs as much as it saves; the reason is the spread of the scores"})


def check_q2(answer) -> None:
    expect_choice(answer, "03.q2", Q2_DIGEST, hints={
        "a": "4n²d is the count of the n² term alone; at 64 tokens the fixed and linear costs are a large part of the time "
             "(section 8's table)",
        "c": "section 8's table shows the time growing at every length"})


def check_q3(answer) -> None:
    expect_choice(answer, "03.q3", Q3_DIGEST, hints={
        "a": "a model with no opinion starts at ln V = 6.91; section 9 shows how far above it random logits put it",
        "c": "a trained model's loss is lower than ln V, not higher"})


PLANTED = {
    "03.1": lambda Q, K, V: _sdpa(Q, K, V, scale=False),
    "03.2": lambda n: np.triu(np.ones((n, n), dtype=bool)),
    "03.3": lambda s, mask: _softmax(s) * mask,
    "03.4": (lambda Y, h: Y.reshape(h, Y.shape[0], Y.shape[1] // h),
             lambda Z: Z.transpose(1, 0, 2).reshape(Z.shape[1], -1)),
    "03.5": lambda n, d: (2 * n * n * d, n * n),
    "03.6": lambda V, sigma: math.log(V),
    "03.7": lambda n, d: np.concatenate([_pe(n, d)[:, 1::2, None], _pe(n, d)[:, 0::2, None]], axis=2).reshape(n, d),
    "03.q1": "a",
    "03.q2": "a",
    "03.q3": "a",
}
