"""Reference checks for chapter 07's exercises (a BPE merge, the GPT's size, 6ND, the causal mask,
the KV cache, what pretraining is worth in labels).

Each check calls the learner's function on a few cases of its own and raises Wrong (through the
expect_* helpers) with a message that says what is wrong, never the expected value. References come
from the course's own code where it has them (bpe's pair counting and merge, gpt.n_params_formula),
so an exercise and the chapter can never disagree. Nothing here trains a model: every check runs on
tiny inputs in milliseconds. `PLANTED` holds one typical wrong answer per exercise; the test suite
checks that each check rejects it with a message.
"""

from __future__ import annotations

import numpy as np

from ..bpe import _merge_word, _pair_counts
from ..gpt import GPTConfig, n_params_formula
from . import Wrong, expect, expect_choice, expect_close, expect_equal, call_learner as _call


# 07.1 -- one BPE merge step

# Word counts chosen so that the most frequent pair is unique, differs from the pair found in most
# *distinct* words (counts ignored), and occurs twice inside one word.
BPE_CASES = (
    {("a", "b", "a", "b"): 6, ("c", "d"): 1, ("c", "d", "e"): 1, ("c", "d", "f"): 1, ("x", "c", "d"): 1},
    {("b", "a", "n", "a", "n", "a"): 4, ("a", "n", "d"): 1, ("c", "a", "n"): 1, ("p", "a", "n"): 1, ("x", "y"): 20},
)


def _best_pair(words, weighted=True):
    pairs = _pair_counts(words if weighted else {w: 1 for w in words})
    return min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def check_bpe_merge_step(fn) -> None:
    for case in BPE_CASES:
        got = _call(fn, dict(case), what="bpe_merge_step(words)")
        expect(isinstance(got, tuple) and len(got) == 2,
               "bpe_merge_step should return two things, (pair, new_words), as a tuple")
        pair, new_words = got
        right = _best_pair(case)
        expect(isinstance(pair, tuple) and len(pair) == 2, f"the pair should be a tuple of two symbols, not {pair!r}")
        if tuple(pair) != right and tuple(pair) == _best_pair(case, weighted=False):
            raise Wrong("the chosen pair is the one found in the most distinct words: weight each pair by how often "
                        "its word occurs (the counts in the dictionary)")
        expect_equal(tuple(pair), right, "the pair chosen to merge")
        expect(isinstance(new_words, dict), f"new_words should be a dict {{symbols: count}}, not {type(new_words).__name__}")
        expected = {_merge_word(w, right): n for w, n in case.items()}
        for w, n in case.items():
            once = list(w)
            for i in range(len(once) - 1):
                if (once[i], once[i + 1]) == right:
                    once[i:i + 2] = [once[i] + once[i + 1]]
                    break
            once = tuple(once)
            if once != expected[_merge_word(w, right)] and once in new_words and _merge_word(w, right) not in new_words:
                raise Wrong(f"in {''.join(w)!r} the pair occurs twice: merge every occurrence in a word, not only the first")
        expect_equal({tuple(k): v for k, v in new_words.items()}, expected, "the words after the merge")


# 07.2 -- the GPT's parameters by formula

GPT_CASES = ((4096, 128, 4, 128), (97, 16, 2, 32), (50257, 1024, 12, 768))


def check_gpt_params(fn) -> None:
    for V, T, L, d in GPT_CASES:
        got = _call(fn, V, T, L, d, what=f"gpt_params({V}, {T}, {L}, {d})")
        right = n_params_formula(GPTConfig(vocab_size=V, block_size=T, n_layer=L, n_head=1, d_model=d))
        call = f"gpt_params(V={V}, T={T}, L={L}, d={d})"
        diagnoses = {
            right + V * d: "counts the output layer as a second V x d matrix: it is tied to the token embedding (one matrix)",
            right + V * d + V: "counts the output layer (and a bias) separately: it is tied to the token embedding",
            right - T * d: "leaves out the position embeddings (one d-vector per context position)",
            right - 2 * d: "leaves out the final LayerNorm after the last block (a scale and a shift, d each)",
            right - L * 13 * d: "counts the weight matrices of each block but not its biases and LayerNorms (13d per block)",
            right - L * 4 * d: "leaves out the two LayerNorms of each block (a scale and a shift each)",
            right - L * 4 * d * d: "gives the MLP a hidden width of d; its hidden layer is 4d wide",
        }
        if isinstance(got, (int, np.integer)) and int(got) != right and int(got) in diagnoses:
            raise Wrong(f"{call} {diagnoses[int(got)]}")
        expect_equal(got, right, call)


# 07.3 -- pretraining time predicted with 6ND

TIME_CASES = ((4096, 4, 128, 2_500_000, 1.73e11), (512, 2, 32, 24_000, 5e10), (50257, 12, 768, 1e9, 3e14))


def check_pretrain_seconds(fn) -> None:
    for V, L, d, D, rate in TIME_CASES:
        got = _call(fn, V, L, d, D, rate, what="pretrain_seconds(V, L, d, D, flop_rate)")
        n_matmul = L * 12 * d * d + V * d
        right = 6 * n_matmul * D / rate
        call = f"pretrain_seconds(V={V}, L={L}, d={d}, D={D:,}, flop_rate={rate:.3g})"
        try:
            g = float(got)
        except (TypeError, ValueError):
            raise Wrong(f"{call} should return a number of seconds, not {type(got).__name__}") from None
        close = lambda x: np.isclose(g, x, rtol=1e-6)  # noqa: E731
        if close(right / 3):
            raise Wrong(f"{call} counts only the forward pass (2 FLOPs per weight per token); the backward pass costs "
                        "about twice the forward")
        if close(right * rate * rate) or close(6 * n_matmul * D * rate):
            raise Wrong(f"{call}: seconds are FLOPs divided by the FLOP rate (FLOP/s), not multiplied by it")
        if close(6 * L * 12 * d * d * D / rate):
            raise Wrong(f"{call} leaves out the tied output layer: it is a V x d matrix product for every token")
        full = n_params_formula(GPTConfig(vocab_size=V, block_size=1024, n_layer=L, n_head=1, d_model=d))
        if abs(g - 6 * full * D / rate) < abs(g - right) or close(6 * (n_matmul + L * 13 * d) * D / rate):
            raise Wrong(f"{call} uses every parameter for N; in 6ND, N counts the weights of matrix products only "
                        "(12d^2 per block and the tied output layer's Vd; embedding lookups, biases and LayerNorms "
                        "cost no multiplications worth counting)")
        expect_close(g, right, call, rtol=1e-6)


# 07.4 -- causal attention weights

def _causal_softmax(scores):
    T = scores.shape[-1]
    masked = np.where(np.tril(np.ones((T, T), dtype=bool)), scores, -np.inf)
    masked = masked - masked.max(axis=-1, keepdims=True)
    e = np.exp(masked)
    return e / e.sum(axis=-1, keepdims=True)


def check_causal_attention(fn) -> None:
    rng = np.random.default_rng(7)
    for shape in ((5, 5), (2, 3, 6, 6)):
        scores = rng.normal(size=shape) * 2
        got = _call(fn, scores.copy(), what="causal_attention(scores)")
        got = np.asarray(got.detach().cpu() if hasattr(got, "detach") else got, dtype=float)
        where = f"causal_attention(scores) for scores of shape {shape}"
        expect(got.shape == scores.shape, f"{where} has shape {got.shape}: the weights have the scores' shape")
        T = shape[-1]
        future = np.triu(np.ones((T, T), dtype=bool), 1)
        if np.allclose(got[..., np.tril(np.ones((T, T), dtype=bool), -1)], 0) and not np.allclose(got[..., future], 0):
            raise Wrong(f"{where}: the mask is transposed; token i may attend to tokens j <= i (itself and the past), "
                        "never to the future")
        if not np.allclose(got[..., future], 0, atol=1e-7):
            raise Wrong(f"{where}: some weights on future tokens (j > i) are not zero; mask them before the softmax")
        if np.allclose(np.diagonal(got, axis1=-2, axis2=-1), 0):
            raise Wrong(f"{where}: a token must also attend to itself (j = i); the mask hides only j > i")
        rows = got.sum(axis=-1)
        if not np.allclose(rows, 1, atol=1e-6):
            if np.allclose(got.sum(axis=-2), 1, atol=1e-6):
                raise Wrong(f"{where}: the softmax runs over the wrong axis; each row (one query) must sum to 1")
            raise Wrong(f"{where}: the rows do not sum to 1; mask the scores with -inf *before* the softmax, so "
                        "that the remaining weights are renormalised")
        expect_close(got, _causal_softmax(scores), where, rtol=1e-5, atol=1e-7)


# 07.5 -- the memory of a KV cache

KV_CASES = ((4, 4, 128, 128, 1, 4), (12, 12, 768, 1024, 8, 2), (2, 2, 32, 32, 3, 4))


def check_kv_cache_bytes(fn) -> None:
    for L, H, d, T, B, nbytes in KV_CASES:
        call = f"kv_cache_bytes(n_layer={L}, n_head={H}, d_model={d}, context={T}, batch={B}, bytes_per_value={nbytes})"
        got = _call(fn, L, H, d, T, B, nbytes, what="kv_cache_bytes(...)")
        right = 2 * L * T * d * B * nbytes
        if isinstance(got, (int, float, np.integer, np.floating)):
            if np.isclose(got, right / 2):
                raise Wrong(f"{call} caches one tensor per layer; keys *and* values are kept")
            if np.isclose(got, right * H):
                raise Wrong(f"{call} multiplies by the number of heads; the heads split d_model between them "
                            "(d_model / n_head values each), so they add nothing")
            if np.isclose(got, right / nbytes):
                raise Wrong(f"{call} counts values, not bytes: multiply by bytes_per_value")
            if np.isclose(got, right / L):
                raise Wrong(f"{call}: every layer has its own attention, so its own keys and values")
        expect_equal(got, right, call)


# 07.6 -- what pretraining is worth, per label budget

def _toy_results():
    """A results table shaped like section 5's: model, labels, seed, test_acc; seeds unequal in number."""
    rows = []
    acc = {("pretrained", 100): (0.71, 0.69, 0.74), ("scratch", 100): (0.58, 0.61, 0.55),
           ("LSTM", 100): (0.60, 0.52, 0.57), ("pretrained", 400): (0.80, 0.78), ("scratch", 400): (0.74, 0.69),
           ("LSTM", 400): (0.71, 0.70), ("pretrained", 2000): (0.85,)}
    for (model, n), values in acc.items():
        for seed, a in enumerate(values):
            rows.append({"model": model, "labels": n, "seed": seed, "test_acc": a, "val_acc": a + 0.01})
    import pandas as pd

    return pd.DataFrame(rows)


def check_gain_per_budget(fn) -> None:
    table = _toy_results()
    got = _call(fn, table.copy(), what="gain_per_budget(results)")
    if hasattr(got, "to_dict"):
        got = got.to_dict()
    expect(isinstance(got, dict), f"gain_per_budget should return a dict {{labels: gain}}, not {type(got).__name__}")
    got = {int(k): v for k, v in got.items()}
    mean = table.groupby(["model", "labels"])["test_acc"].mean()
    right = {n: float(mean["pretrained", n] - mean["scratch", n]) for n in (100, 400)}
    if 2000 in got:
        raise Wrong("gain_per_budget has a gain at 2,000 labels, where the from-scratch model was not trained: "
                    "keep only the budgets where both models ran")
    expect_equal(set(got), set(right), "the label budgets in gain_per_budget's answer")
    g = np.array([float(got[n]) for n in sorted(right)])
    r = np.array([right[n] for n in sorted(right)])
    best = table.groupby(["model", "labels"])["test_acc"].max()
    if np.allclose(g, [best["pretrained", n] - best["scratch", n] for n in sorted(right)]):
        raise Wrong("gain_per_budget compares the best seeds; compare the means over seeds (a lucky seed is not a result)")
    lstm = [mean["pretrained", n] - mean["LSTM", n] for n in sorted(right)]
    if np.allclose(g, lstm):
        raise Wrong("gain_per_budget compares against the LSTM; the question is the same GPT from scratch")
    if np.allclose(g, 100 * r):
        raise Wrong("gain_per_budget is in percentage points; return accuracy differences (fractions, like test_acc)")
    expect_close(g, r, "gain_per_budget's gains (in sorted order of the budgets)", rtol=1e-6)


# Quick questions (digests: course_utils.exercises.answer_digest)

Q1_DIGEST = "2d4b253246b5"
Q2_DIGEST = "3acbc96ccc51"
Q3_DIGEST = "92ab44544288"


def check_q1(answer) -> None:
    expect_choice(answer, "07.q1", Q1_DIGEST, hints={
        "a": "the position table grows by T x d: 128 x 128 = 16,384 more, small next to the others",
        "c": "one block adds 12d^2 + 13d, about 0.2 million at d = 128; compare with V x d",
        "d": "heads split d between them: W_Q, W_K, W_V and W_O keep their d x d shapes"})


def check_q2(answer) -> None:
    expect_choice(answer, "07.q2", Q2_DIGEST, hints={
        "a": "a loss of 0 would mean certainty about every next token, before any training",
        "c": "the cross-entropy is the negative log of a probability, not the vocabulary size",
        "d": "1/V is the probability of the right token; the loss is minus its logarithm"})


def check_q3(answer) -> None:
    expect_choice(answer, "07.q3", Q3_DIGEST, hints={
        "a": "positions 0-4 cannot attend to position 5: the causal mask hides the future from them",
        "c": "that is the mask read backwards: earlier positions never see later tokens",
        "d": "every later position attends to position 5 too, in every layer"})


PLANTED = {
    "07.1": lambda words: (max(_pair_counts({w: 1 for w in words}).items(), key=lambda kv: (kv[1], kv[0]))[0],
                           dict(words)),  # counts each word once
    "07.2": lambda V, T, L, d: 2 * V * d + T * d + L * (12 * d * d + 13 * d) + 2 * d,  # untied output layer
    "07.3": lambda V, L, d, D, rate: 2 * (L * 12 * d * d + V * d) * D / rate,  # forward pass only
    "07.4": lambda s: np.where(np.tril(np.ones(s.shape[-2:], dtype=bool)),
                               np.exp(s - s.max(-1, keepdims=True)) / np.exp(s - s.max(-1, keepdims=True)).sum(-1, keepdims=True),
                               0.0),  # masked after the softmax
    "07.5": lambda L, H, d, T, B, nbytes: L * T * d * B * nbytes,  # keys only
    "07.6": lambda r: (r.groupby(["model", "labels"])["test_acc"].max().unstack(0)
                       .pipe(lambda t: (t["pretrained"] - t["scratch"]).dropna().to_dict())),  # best seeds
    "07.q1": "c",
    "07.q2": "d",
    "07.q3": "a",
}
