"""Reference checks for chapter 04's exercises (convolution, pooling, parameters, losses, metrics).

Each check calls the learner's function on a few cases and raises Wrong (through the expect_*
helpers) with a message that says what is wrong, never the expected value. The references are
computed here, not in the notebook, so that the check cell does not give the answer away.
`PLANTED` holds one typical wrong answer per exercise and question: tests check that each one fails
with a message and that the notebook's solutions pass.
"""

from __future__ import annotations

import math

import numpy as np

from . import Wrong, expect, expect_choice, expect_close, expect_equal, call_learner as _call


# 04.1 -- output size of a convolution or pooling layer

SIZE_CASES = ((28, 3, 1, 0), (13, 3, 1, 1), (32, 5, 2, 0), (7, 3, 2, 1), (28, 2, 2, 0), (10, 4, 3, 2))


def check_conv_output_size(fn) -> None:
    for n, k, s, p in SIZE_CASES:
        got = _call(fn, n, k, s, p, what=f"conv_output_size({n}, {k}, {s}, {p})")
        right = (n + 2 * p - k) // s + 1
        expect(isinstance(got, (int, np.integer)) or (isinstance(got, float) and got.is_integer()),
               f"conv_output_size({n}, {k}, stride={s}, padding={p}) returned {got!r}: a size is a whole number "
               "(round down, //)")
        if got == (n + 2 * p - k) / s + 1 and got != right:
            raise Wrong(f"conv_output_size({n}, {k}, stride={s}, padding={p}): a window that does not fit is "
                        "dropped, so the division must round down (//)")
        if got == n - k + 1 and got != right:
            raise Wrong(f"conv_output_size({n}, {k}, stride={s}, padding={p}): stride and padding are ignored")
        expect_equal(int(got), right, f"conv_output_size({n}, {k}, stride={s}, padding={p})")


# 04.2 -- cross-correlation by hand

def _xcorr(x, w):
    H, W = x.shape
    K, L = w.shape
    out = np.zeros((H - K + 1, W - L + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i:i + K, j:j + L] * w)
    return out


def check_xcorr2d(fn) -> None:
    rng = np.random.default_rng(4)
    x, w = rng.normal(size=(6, 7)), rng.normal(size=(3, 2))  # not square, not symmetric
    got = np.asarray(_call(fn, x.copy(), w.copy(), what="xcorr2d(x, w)"), dtype=float)
    right = _xcorr(x, w)
    if got.shape == right.shape and np.allclose(got, _xcorr(x, w[::-1, ::-1])):
        raise Wrong("xcorr2d flips the kernel: that is the textbook convolution; Conv2d slides w as it is")
    if got.shape == (x.shape[0] + w.shape[0] - 1, x.shape[1] + w.shape[1] - 1):
        raise Wrong(f"xcorr2d(x, w) has shape {got.shape}: that is a 'full' output with zero padding; "
                    "keep only the positions where the whole kernel lies on the image")
    expect_close(got, right, "xcorr2d(x, w) for x of shape (6, 7) and w of shape (3, 2)")


# 04.3 -- parameters of a convolutional layer

PARAM_CASES = ((1, 32, 3), (32, 64, 3), (3, 16, 5), (64, 10, 1))


def check_conv_params(fn) -> None:
    for c_in, c_out, k in PARAM_CASES:
        got = _call(fn, c_in, c_out, k, what=f"conv_params({c_in}, {c_out}, {k})")
        right = c_out * (c_in * k * k + 1)
        if got == c_out * c_in * k * k:
            raise Wrong(f"conv_params({c_in}, {c_out}, {k}) counts the weights but not the biases (one per filter)")
        if got == c_out * k * k + c_out and c_in > 1:
            raise Wrong(f"conv_params({c_in}, {c_out}, {k}): each filter has a k x k kernel for every input channel")
        expect_equal(got, right, f"conv_params(c_in={c_in}, c_out={c_out}, k={k})")


# 04.4 -- 2x2 max pooling by hand

def check_max_pool2(fn) -> None:
    rng = np.random.default_rng(5)
    for shape in ((4, 6), (5, 7)):
        y = rng.normal(size=shape)
        H, W = shape[0] // 2 * 2, shape[1] // 2 * 2
        right = y[:H, :W].reshape(H // 2, 2, W // 2, 2).max(axis=(1, 3))
        got = _call(fn, y.copy(), what="max_pool2(y)")
        if shape == (5, 7) and np.shape(got) == (3, 4):
            raise Wrong("max_pool2 of a 5x7 map: the frameworks drop the last odd row and column (no padding)")
        expect_close(got, right, f"max_pool2(y) for y of shape {shape}")


# 04.5 -- the loss floor of a double softmax

def check_double_softmax_floor(fn) -> None:
    for c in (10, 2, 100):
        got = _call(fn, c, what=f"double_softmax_floor({c})")
        if isinstance(got, (int, float)) and math.isclose(got, math.log(c), rel_tol=1e-6):
            raise Wrong(f"double_softmax_floor({c}) = ln C is the loss of a uniform guess; the floor belongs to "
                        "the *best* the first softmax can do: put all of its probability on the right class")
        expect_close(got, math.log(1 + (c - 1) / math.e), f"double_softmax_floor({c})", rtol=1e-6)


# 04.6 -- recall per class from a confusion matrix

def check_per_class_recall(fn) -> None:
    cm = np.array([[50, 2, 3, 0], [4, 40, 0, 6], [1, 0, 45, 4], [0, 7, 3, 30]])  # rows: true, columns: predicted
    got = np.asarray(_call(fn, cm.copy(), what="per_class_recall(cm)"), dtype=float)
    if got.shape == (4,) and np.allclose(got, np.diag(cm) / cm.sum(0)):
        raise Wrong("per_class_recall divides by the column sums: that is precision (of all predicted as k, "
                    "how many are k); recall divides by how many of class k there really are")
    if np.ndim(got) == 0:
        raise Wrong("per_class_recall returned one number; return one recall per class (a vector)")
    expect_close(got, np.diag(cm) / cm.sum(1), "per_class_recall(cm)")


# Quick questions (digests: course_utils.exercises.answer_digest)

Q1_DIGEST = "b308becc102a"
Q2_DIGEST = "861b553d86ca"


def check_q1(answer) -> None:
    expect_choice(answer, "04.q1", Q1_DIGEST, hints={
        "a": "the convolution has 32 x (3 x 3 x 1) + 32 = 320; count the dense layer after the flatten",
        "c": "the last layer has 64 x 10 + 10 = 650",
        "d": "pooling only takes maxima: it has no parameters at all"})


def check_q2(answer) -> None:
    expect_choice(answer, "04.q2", Q2_DIGEST, hints={
        "a": "ReLU does change values (negatives become 0); what matters is that it never swaps the order of two numbers",
        "c": "max pooling is not linear (max(a, b) + max(c, d) is not max(a + c, b + d) in general)"})


PLANTED = {
    "04.1": lambda n, k, stride=1, padding=0: n - k + 1,                       # stride and padding ignored
    "04.2": lambda x, w: np.array([[np.sum(x[i:i + w.shape[0], j:j + w.shape[1]] * w[::-1, ::-1])
                                    for j in range(x.shape[1] - w.shape[1] + 1)]
                                   for i in range(x.shape[0] - w.shape[0] + 1)]),  # the kernel flipped
    "04.3": lambda c_in, c_out, k: c_out * c_in * k * k,                       # no biases
    "04.4": lambda y: y[:y.shape[0] // 2 * 2, :y.shape[1] // 2 * 2].reshape(
        y.shape[0] // 2, 2, y.shape[1] // 2, 2).mean(axis=(1, 3)),               # average pooling
    "04.5": lambda c: math.log(c),                                             # the uniform guess
    "04.6": lambda cm: np.diag(cm) / cm.sum(axis=0),                           # precision, not recall
    "04.q1": "a",
    "04.q2": "c",
}
