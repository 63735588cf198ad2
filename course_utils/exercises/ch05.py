"""Reference checks for chapter 05's exercises (vocabulary, padding, the LSTM cell, metrics, bag of words).

Each check calls the learner's function on small cases, computes the reference here (not in the
notebook, so the check cell does not give the answer away) and raises Wrong with a message that says
what is wrong, never the expected value. `PLANTED` holds one typical wrong answer per exercise id;
the tests assert that each check rejects it with a message and passes the notebook's solution.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from . import Wrong, expect, expect_choice, expect_close, expect_equal, call_learner as _call


# 05.1 -- a vocabulary with padding and out-of-vocabulary ids

VOCAB_DOCS = [["the", "film", "was", "good"], ["the", "plot", "was", "not", "good"],
              ["a", "good", "film", "the", "end"], ["bad", "film", "bad", "plot"]]


def _vocab(token_lists, size):
    counts = Counter(t for tokens in token_lists for t in tokens)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: size - 2]
    return {"<pad>": 0, "<oov>": 1, **{w: i + 2 for i, (w, _) in enumerate(ranked)}}


def check_build_vocab(fn) -> None:
    for size in (6, 9):
        got = _call(fn, [list(d) for d in VOCAB_DOCS], size, what=f"build_vocab(docs, {size})")
        expect(isinstance(got, dict), f"build_vocab returned {type(got).__name__}; return a dict word -> id")
        right = _vocab(VOCAB_DOCS, size)
        expect(got.get("<pad>") == 0 and got.get("<oov>") == 1,
               "ids 0 and 1 are reserved: '<pad>' must map to 0 and '<oov>' to 1, words start at 2")
        if len(got) == size + 2:
            raise Wrong(f"build_vocab(docs, {size}) has {len(got)} entries: `size` counts the two special ids too, "
                        "so it keeps size - 2 words")
        expect_equal(len(got), len(right), f"the number of entries of build_vocab(docs, {size})")
        words = sorted((i, w) for w, i in got.items() if i >= 2)
        if [w for _, w in words] == sorted(w for w in right if right[w] >= 2):
            if got != right:
                raise Wrong("the words are in alphabetical order: rank them by count, most frequent first "
                            "(alphabetical order only breaks ties)")
        if set(got) == set(right) and got != right:
            raise Wrong(f"build_vocab(docs, {size}) keeps the right words but numbers them differently: the most "
                        "frequent word gets id 2, ties are broken alphabetically")
        expect(set(got) == set(right), f"build_vocab(docs, {size}) keeps the wrong words: count every token of "
                                       "every document and keep the most frequent ones")


# 05.2 -- encoding with the out-of-vocabulary id

ENC_VOCAB = {"<pad>": 0, "<oov>": 1, "the": 2, "film": 3, "good": 4, "bad": 5}


def check_encode(fn) -> None:
    tokens = ["the", "film", "was", "not", "good", "!"]
    got = _call(fn, list(tokens), dict(ENC_VOCAB), what="encode(tokens, vocab)")
    expect(got is not None and np.ndim(got) == 1, "encode should return one id per token, a flat list")
    got = [int(i) for i in got]
    if len(got) == sum(t in ENC_VOCAB for t in tokens):
        raise Wrong("encode drops the unknown words: map each of them to the OOV id 1, so the model still "
                    "knows that a word was there")
    expect_equal(len(got), len(tokens), "the number of ids encode returns (one per token)")
    if any(i == 0 for i in got):
        raise Wrong("encode gives an unknown word id 0: 0 is padding, unknown words get 1 (<oov>)")
    expect_equal(got, [ENC_VOCAB.get(t, 1) for t in tokens], "encode(tokens, vocab)")


# 05.3 -- padding and truncation

def _pad(seq, maxlen, keep):
    seq = list(seq)[-maxlen:] if keep == "end" else list(seq)[:maxlen]
    return seq + [0] * (maxlen - len(seq))


def check_pad(fn) -> None:
    seq = [7, 3, 9, 4, 12, 5]
    for maxlen, keep in ((4, "end"), (4, "start"), (9, "end"), (6, "start")):
        got = _call(fn, list(seq), maxlen, keep, what=f"pad(seq, {maxlen}, {keep!r})")
        got = [int(i) for i in np.asarray(got).ravel()]
        expect_equal(len(got), maxlen, f"the length of pad(seq, {maxlen}, {keep!r})")
        right = _pad(seq, maxlen, keep)
        if maxlen > len(seq) and got == [0] * (maxlen - len(seq)) + seq:
            raise Wrong("pad puts the zeros before the review; this chapter pads after it, so an LSTM reads "
                        "every real token first and the length is the number of non-zero ids")
        if maxlen < len(seq) and got == _pad(seq, maxlen, "start" if keep == "end" else "end"):
            raise Wrong(f"pad(seq, {maxlen}, keep={keep!r}) keeps the wrong part of a long review: "
                        "'end' keeps the last maxlen ids, 'start' the first")
        expect_equal(got, right, f"pad(seq, {maxlen}, {keep!r})")


# 05.4 -- one LSTM step by hand, against torch.nn.LSTMCell

def check_lstm_cell_step(fn) -> None:
    import torch

    torch.manual_seed(5)
    cell = torch.nn.LSTMCell(3, 4, dtype=torch.float64)
    x, h, c = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64), \
        torch.randn(2, 4, dtype=torch.float64)
    params = [p.detach().clone() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]
    got = _call(fn, x.clone(), h.clone(), c.clone(), *params, what="lstm_cell_step(x, h, c, ...)")
    expect(isinstance(got, (tuple, list)) and len(got) == 2, "lstm_cell_step should return the pair (h_new, c_new)")
    with torch.no_grad():
        h_ref, c_ref = cell(x, (h, c))
    h_got, c_got = (torch.as_tensor(v, dtype=torch.float64) for v in got)
    if h_got.shape == c_ref.shape and torch.allclose(h_got, c_ref) and torch.allclose(c_got, h_ref):
        raise Wrong("h_new and c_new are swapped: return (h_new, c_new)")
    if c_got.shape == c_ref.shape and not torch.allclose(c_got, c_ref):
        w_ih, w_hh, b_ih, b_hh = params
        gi, gf, gg, go = (x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, 1)
        for name, (i_, f_, g_) in (("i, g, f, o", (gi, gg, gf)), ("f, i, g, o", (gf, gi, gg)), ("i, f, o, g", (gi, gf, go))):
            if torch.allclose(c_got, torch.sigmoid(f_) * c + torch.sigmoid(i_) * torch.tanh(g_)):
                raise Wrong(f"c_new reads the four gate blocks in the order {name}; PyTorch stacks them as i, f, g, o")
        if torch.allclose(c_got, torch.sigmoid(gi) * torch.tanh(gg)):
            raise Wrong("c_new forgets the old cell state: c_new = f * c + i * g")
    expect_close(c_got, c_ref, "c_new (the cell state, shape (batch, H))", rtol=1e-6)
    expect_close(h_got, h_ref, "h_new = o * tanh(c_new)", rtol=1e-6)


# 05.5 -- parameters of an LSTM layer

def check_lstm_params(fn) -> None:
    for d, hid in ((128, 128), (300, 64), (10, 3)):
        got = _call(fn, d, hid, what=f"lstm_params({d}, {hid})")
        right = 4 * (hid * d + hid * hid + 2 * hid)
        if got == 4 * (hid * d + hid * hid + hid):
            raise Wrong(f"lstm_params({d}, {hid}) counts one bias vector per gate (Keras' layout); PyTorch's "
                        "nn.LSTM has two, bias_ih and bias_hh")
        if got == hid * d + hid * hid + 2 * hid:
            raise Wrong(f"lstm_params({d}, {hid}) counts one gate; an LSTM has four (i, f, g, o), each with its "
                        "own weights")
        if got == 4 * (hid * d + 2 * hid):
            raise Wrong(f"lstm_params({d}, {hid}) leaves out the recurrent weights U (H x H per gate)")
        expect_equal(got, right, f"lstm_params(input_size={d}, hidden_size={hid})")


# 05.6 -- accuracy, precision and recall

def check_binary_metrics(fn) -> None:
    y_true = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 1])
    y_pred = np.array([1, 1, 0, 0, 0, 0, 0, 1, 0, 1])   # tp 3, fp 1, fn 2, tn 4
    got = _call(fn, y_true.copy(), y_pred.copy(), what="binary_metrics(y_true, y_pred)")
    expect(isinstance(got, dict), "binary_metrics should return a dict with keys 'accuracy', 'precision', 'recall'")
    for key in ("accuracy", "precision", "recall"):
        expect(key in got, f"binary_metrics' dict has no key {key!r}")
    tp, fp, fn_ = 3, 1, 2
    prec, rec = tp / (tp + fp), tp / (tp + fn_)
    if np.isclose(float(got["precision"]), rec) and np.isclose(float(got["recall"]), prec):
        raise Wrong("precision and recall are swapped: precision = TP / (predicted positive), "
                    "recall = TP / (really positive)")
    expect_close(float(got["accuracy"]), float((y_true == y_pred).mean()), "accuracy")
    expect_close(float(got["precision"]), prec, "precision (of the reviews predicted positive, the share that are)")
    expect_close(float(got["recall"]), rec, "recall (of the positive reviews, the share found)")


# 05.7 -- a bag-of-words vector

def check_bag_of_words(fn) -> None:
    ids = np.array([4, 2, 7, 2, 1, 4, 2, 0, 0, 0])   # padded review: 0 is padding, 1 an unknown word
    got = np.asarray(_call(fn, ids.copy(), 9, what="bag_of_words(ids, 9)"), dtype=float)
    expect_equal(got.shape, (9,), "the shape of bag_of_words(ids, vocab_size=9)")
    right = np.bincount(ids, minlength=9).astype(float)
    right[0] = 0
    if got[0] == 3:
        raise Wrong("bag_of_words counts the padding: id 0 is not a word, its count must stay 0")
    if np.array_equal(got, (right > 0).astype(float)):
        raise Wrong("bag_of_words marks presence (0 or 1); count how often each id occurs")
    expect_close(got, right, "bag_of_words(ids, 9)")


# Quick questions (digests: course_utils.exercises.answer_digest)

Q1_DIGEST = "f3dd046d3aca"
Q2_DIGEST = "bc947d4d3bce"
Q3_DIGEST = "bf2a673a22d7"


def check_q1(answer) -> None:
    expect_choice(answer, "05.q1", Q1_DIGEST, hints={
        "a": "the counts are exactly what a bag of words keeps",
        "c": "unknown words all share id 1 and are counted like any other id"})


def check_q2(answer) -> None:
    expect_choice(answer, "05.q2", Q2_DIGEST, hints={
        "a": "after the last real token the LSTM keeps reading padding and its state keeps changing",
        "c": "the state at step 1 has read only the first token"})


def check_q3(answer) -> None:
    expect_choice(answer, "05.q3", Q3_DIGEST, hints={
        "b": "recall asks how many of the positive reviews were found: all of them",
        "c": "half of the reviews are negative, and all of them are called positive"})


def _planted_vocab(token_lists, size):       # ids start at 0: no room for padding and OOV
    counts = Counter(t for tokens in token_lists for t in tokens)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:size]
    return {w: i for i, (w, _) in enumerate(ranked)}


def _planted_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):   # gates read in the order i, g, f, o
    import torch

    i, g, f, o = (x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, 1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


PLANTED = {
    "05.1": _planted_vocab,
    "05.2": lambda tokens, vocab: [vocab[t] for t in tokens if t in vocab],
    "05.3": lambda seq, maxlen, keep: [0] * max(0, maxlen - len(seq)) + (seq[-maxlen:] if keep == "end" else seq[:maxlen]),
    "05.4": _planted_cell,
    "05.5": lambda d, h: 4 * (h * d + h * h + h),
    "05.6": lambda y, p: {"accuracy": (y == p).mean(), "precision": ((y == 1) & (p == 1)).sum() / (y == 1).sum(),
                          "recall": ((y == 1) & (p == 1)).sum() / (p == 1).sum()},
    "05.7": lambda ids, v: np.bincount(ids, minlength=v).astype(float),
    "05.q1": "a",
    "05.q2": "a",
    "05.q3": "c",
}

CHECKS = {"05.1": check_build_vocab, "05.2": check_encode, "05.3": check_pad, "05.4": check_lstm_cell_step,
          "05.5": check_lstm_params, "05.6": check_binary_metrics, "05.7": check_bag_of_words,
          "05.q1": check_q1, "05.q2": check_q2, "05.q3": check_q3}
