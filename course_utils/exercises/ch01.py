"""Reference checks for chapter 01's exercises (parameter counts, training cost, memory, KV cache, scaling).

Each check calls the learner's function on a few cases and raises Wrong (through the expect_*
helpers) with a message that says what is wrong, never the expected value. The typical slips of
this chapter are a missing factor (2 for keys *and* values, 3 for the backward pass, 4 for the LSTM's
gates, 20 tokens per parameter), a forgotten term (gradients, biases, position embeddings) or a unit
(hours for days, values for bytes); the checks look for each before they say "too large/small".
`PLANTED` holds one plausible wrong answer per exercise: tests/ check that each fails with a message.
"""

from __future__ import annotations

import math

import numpy as np

from . import Wrong, expect, expect_choice, expect_close, expect_equal, call_learner as _call


def _is(got, value) -> bool:
    """got equals value up to float rounding (the learner may return floats for counts)."""
    try:
        return math.isclose(float(got), float(value), rel_tol=1e-9)
    except (TypeError, ValueError):
        return False


# 01.1 -- parameters of the chapter's GPT from its configuration

GPT_CASES = ((4096, 128, 4, 128), (97, 16, 2, 32), (50257, 1024, 12, 768))


def _gpt_params(V, T, L, d):
    return V * d + T * d + L * (12 * d * d + 13 * d) + 2 * d


def check_gpt_params(fn) -> None:
    for V, T, L, d in GPT_CASES:
        what = f"gpt_params(V={V}, T={T}, L={L}, d={d})"
        got = _call(fn, V, T, L, d, what=what)
        right = _gpt_params(V, T, L, d)
        if _is(got, right + V * d):
            raise Wrong(f"{what} counts a separate output layer (V x d): this GPT ties it to the token "
                        "embedding, so it adds no parameters")
        if _is(got, right - T * d):
            raise Wrong(f"{what} leaves out the position embeddings (one d-vector per position)")
        if _is(got, right - 2 * d):
            raise Wrong(f"{what} leaves out the final LayerNorm after the last block")
        if _is(got, V * d + T * d + L * 12 * d * d) or _is(got, V * d + T * d + L * 12 * d * d + 2 * d):
            raise Wrong(f"{what} counts the weight matrices only: add the biases and the LayerNorms' scales "
                        "and shifts (13 d per block)")
        if _is(got, right - L * 8 * d * d - L * 5 * d):
            raise Wrong(f"{what} leaves out the blocks' MLPs (d -> 4d -> d)")
        expect_equal(got, right, what)


# 01.2 -- training time from C = 6 N D

TIME_CASES = ((175e9, 300e9, 1024, 312e12, 0.4), (7e9, 2e12, 8, 312e12, 0.4), (1.334e6, 5e7, 1, 1.7e11, 1.0))


def check_train_days(fn) -> None:
    for N, D, n, peak, u in TIME_CASES:
        what = f"train_days(N={N:.4g}, D={D:.4g}, n_gpus={n}, peak={peak:.3g}, utilisation={u})"
        got = _call(fn, N, D, n, peak, u, what=what)
        right = 6 * N * D / (n * peak * u) / 86400
        expect(got is not None, f"{what} is None: did the function forget to return it?")
        if _is(got, right / 3):
            raise Wrong(f"{what} counts only the forward pass (2N FLOPs per token); training adds the "
                        "backward pass: 6N per token")
        if _is(got, right * 24):
            raise Wrong(f"{what} is in hours: divide by 24 more")
        if _is(got, right * 86400):
            raise Wrong(f"{what} is in seconds: a day has 86,400")
        if u != 1.0 and _is(got, right * u):
            raise Wrong(f"{what} assumes the peak rate: divide by the utilisation too")
        if n != 1 and _is(got, right * n):
            raise Wrong(f"{what} runs on one GPU: the n GPUs share the work")
        expect_close(got, right, what, rtol=1e-6)


# 01.3 -- the compute-optimal model for a budget (Chinchilla)

def check_compute_optimal(fn) -> None:
    for C in (3.15e23, 5.88e23, 1e21):
        what = f"compute_optimal({C:.3g})"
        got = _call(fn, C, what=what)
        expect(isinstance(got, (tuple, list)) and len(got) == 2, f"{what} should return two numbers, (N, D)")
        n_got, d_got = (float(v) for v in got)
        N = math.sqrt(C / 120)
        D = 20 * N
        if _is(n_got, D) and _is(d_got, N):
            raise Wrong(f"{what} returns (D, N): put the parameters first, then the tokens")
        if _is(n_got, d_got):
            raise Wrong(f"{what} gives as many tokens as parameters: compute-optimal is about 20 tokens per parameter")
        if _is(n_got * d_got, C):
            raise Wrong(f"{what}: N x D should use up C = 6 N D, the 6 is missing")
        expect(_is(6 * n_got * d_got, C), f"{what}: 6 N D does not add up to the budget C")
        expect_close(d_got / n_got, 20, f"{what}: the ratio D / N", rtol=1e-6)
        expect_close(n_got, N, f"{what}: N", rtol=1e-6)


# 01.4 -- weights, gradients and optimizer state in float32

OPT_STATES = {"sgd": 0, "momentum": 1, "adam": 2}


def check_training_bytes(fn) -> None:
    for N in (1_334_016, 7e9):
        for opt, k in sorted(OPT_STATES.items(), key=lambda item: -item[1]):  # adam first: its slips differ
            what = f"training_bytes({N:.4g}, {opt!r})"
            got = _call(fn, N, opt, what=what)
            right = 4 * N * (2 + k)
            if k and _is(got, 4 * N * (1 + k)):
                raise Wrong(f"{what} leaves out the gradients: backward writes one float per parameter")
            if _is(got, 4 * N * 2) and k:
                raise Wrong(f"{what} leaves out the optimizer's state ({opt} keeps {k} float(s) per parameter)")
            if _is(got, N * (2 + k)):
                raise Wrong(f"{what} counts numbers, not bytes: a float32 takes 4 bytes")
            if _is(got, right / 2**30) or _is(got, right / 1e9):
                raise Wrong(f"{what} is in GiB or GB: return bytes")
            expect_equal(got, right, what)


# 01.5 -- the KV cache

KV_CASES = ((4, 128, 128, 1, 4), (32, 4096, 4096, 1, 2), (96, 12288, 2048, 8, 2))


def check_kv_cache_bytes(fn) -> None:
    for L, d, T, B, b in KV_CASES:
        what = f"kv_cache_bytes(n_layer={L}, d_model={d}, n_tokens={T}, batch_size={B}, bytes_per_value={b})"
        got = _call(fn, L, d, T, B, b, what=what)
        right = 2 * L * d * T * B * b
        if b != 2 and _is(got, right / b):
            raise Wrong(f"{what} counts values, not bytes: multiply by bytes_per_value")
        if _is(got, right / 2):
            raise Wrong(f"{what} stores only the keys (or only the values): the cache keeps both, per layer")
        if B != 1 and _is(got, right / B):
            raise Wrong(f"{what} ignores the batch: every sequence has its own cache")
        if _is(got, right / L):
            raise Wrong(f"{what} counts one layer: every layer caches its own keys and values")
        if _is(got, right * T):
            raise Wrong(f"{what} grows with the square of the tokens: the cache holds one key and one value per token")
        expect_equal(got, right, what)


# 01.6 -- a power-law fit (a scaling law)

def check_fit_power_law(fn) -> None:
    x = np.logspace(6, 10, 9)
    for a, alpha, noise in ((406.4, 0.34, 0.0), (2.5, 0.076, 0.02)):
        rng = np.random.default_rng(1)
        y = a * x ** -alpha * np.exp(noise * rng.normal(size=x.size))
        got = _call(fn, x.copy(), y.copy(), what="fit_power_law(x, y)")
        expect(isinstance(got, (tuple, list)) and len(got) == 2, "fit_power_law should return two numbers, (a, alpha)")
        a_got, alpha_got = (float(v) for v in got)
        slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
        if math.isclose(a_got, slope, rel_tol=1e-3) and math.isclose(alpha_got, intercept, rel_tol=1e-3):
            raise Wrong("fit_power_law returns the (slope, intercept) of the log-log line: alpha is minus the "
                        "slope, and a is exp(intercept)")
        if math.isclose(alpha_got, slope, rel_tol=1e-3):
            raise Wrong("fit_power_law: alpha has the wrong sign (y = a x^(-alpha) falls, so alpha > 0)")
        if math.isclose(a_got, intercept, rel_tol=1e-3):
            raise Wrong("fit_power_law returns log(a): a is exp(intercept)")
        expect_close(alpha_got, -slope, "alpha", rtol=1e-3)
        expect_close(a_got, math.exp(intercept), "a", rtol=1e-3)


# 01.7 -- an LSTM's parameters

LSTM_CASES = ((128, 128), (300, 64), (16, 256))


def check_lstm_params(fn) -> None:
    for x, h in LSTM_CASES:
        for two in (False, True):
            what = f"lstm_params(x={x}, h={h}, two_biases={two})"
            got = _call(fn, x, h, two, what=what)
            right = 4 * (h * x + h * h + (2 if two else 1) * h)
            if _is(got, right / 4):
                raise Wrong(f"{what} counts one gate: an LSTM has four (input, forget, cell, output)")
            if _is(got, right - 4 * h * h):
                raise Wrong(f"{what} leaves out the recurrent matrices (h x h per gate, applied to h_(t-1))")
            if _is(got, 4 * (h * x + h * h + (1 if two else 2) * h)):
                raise Wrong(f"{what}: PyTorch keeps two bias vectors per gate (b_ih and b_hh), Keras one; "
                            "two_biases says which")
            if _is(got, right - 4 * (2 if two else 1) * h):
                raise Wrong(f"{what} leaves out the biases")
            expect_equal(got, right, what)


# Quick questions (digests: course_utils.exercises.answer_digest)

Q1_DIGEST = "2643805bdfe9"
Q2_DIGEST = "1dd8bfd5f651"
Q3_DIGEST = "6c1bc91ed32c"


def check_q1(answer) -> None:
    expect_choice(answer, "01.q1", Q1_DIGEST, hints={
        "a": "divide the tokens (300 B) by the parameters (175 B): the ratio is above 1",
        "c": "20 is Chinchilla's compute-optimal ratio; GPT-3 saw far fewer tokens per parameter",
        "d": "300 B is the number of tokens, not tokens per parameter"})


def check_q2(answer) -> None:
    expect_choice(answer, "01.q2", Q2_DIGEST, hints={
        "a": "the float32 master weights and Adam's two float32 moments stay: add 2 + 2 + 4 + 4 + 4",
        "c": "only the working copies of the weights and gradients shrink to 2 bytes; the rest stays float32",
        "d": "the float32 gradient is replaced by a 2-byte one, so the extra 2-byte weight copy is paid for"})


def check_q3(answer) -> None:
    expect_choice(answer, "01.q3", Q3_DIGEST, hints={
        "a": "every token keeps its own key and value vectors in every layer",
        "c": "the attention *scores* grow with the square of the context; the cache holds one key and one "
             "value per token",
        "d": "the cache holds d_model-wide vectors per layer and token; the vocabulary only sizes the "
             "embedding and the output layer"})


# Plausible wrong answers, one per exercise (tests/ check that each check rejects its own with a message)

PLANTED = {
    "01.1": lambda V, T, L, d: V * d + T * d + L * (12 * d * d + 13 * d) + 2 * d + V * d,  # untied output layer
    "01.2": lambda N, D, n, peak, u: 2 * N * D / (n * peak * u) / 86400,                  # forward pass only
    "01.3": lambda C: (math.sqrt(C / 6), math.sqrt(C / 6)),                               # one token per parameter
    "01.4": lambda N, opt: 4 * N * (1 + OPT_STATES[opt]),                                 # no gradients
    "01.5": lambda L, d, T, B=1, b=2: L * d * T * B * b,                                  # keys only
    "01.6": lambda x, y: tuple(np.polyfit(np.log(x), np.log(y), 1)),                     # raw log-log line
    "01.7": lambda x, h, two=False: 4 * (h * x + (2 if two else 1) * h),                  # no recurrent matrix
    "01.q1": "c",
    "01.q2": "a",
    "01.q3": "c",
}

CHECKS = {
    "01.1": check_gpt_params, "01.2": check_train_days, "01.3": check_compute_optimal,
    "01.4": check_training_bytes, "01.5": check_kv_cache_bytes, "01.6": check_fit_power_law,
    "01.7": check_lstm_params, "01.q1": check_q1, "01.q2": check_q2, "01.q3": check_q3,
}
