"""Reference checks for chapter 02's exercises (softmax, gradients, a linear layer, ReLU, He init, SGD).

Each check calls the learner's function on small arrays and raises Wrong (through the expect_*
helpers) with a message that says what is wrong, never the expected value. References are computed
here; the linear layer's gradients are also confirmed by finite differences (gradcheck.numerical_grad),
the same framework-free reference the chapter uses. `PLANTED` holds one typical wrong answer per
exercise: the test suite checks that each check rejects it with a message.
"""

from __future__ import annotations

import math

import numpy as np

from ..gradcheck import numerical_grad
from . import Wrong, expect, expect_choice, expect_close, call_learner as _call


def _softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


# 02.1 -- a softmax that does not overflow

def check_softmax(fn) -> None:
    small = np.array([[2.0, 1.0, 0.1], [0.0, 0.0, 0.0], [-1.0, 3.0, 0.5]])
    got = np.asarray(_call(fn, small.copy(), what="softmax(z)"), dtype=float)
    if got.shape == small.shape and np.allclose(got.sum(axis=0), 1) and not np.allclose(got.sum(axis=1), 1):
        raise Wrong("softmax(z) normalises each column; each row (one example's logits) must sum to 1 (axis=-1)")
    expect_close(got, _softmax(small), "softmax(z) for small logits")
    big = np.array([[1000.0, 999.0, 990.0], [-1000.0, -1001.0, -1002.0]])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        got = np.asarray(_call(fn, big.copy(), what="softmax(z)"), dtype=float)
    if got.shape == big.shape and not np.all(np.isfinite(got)):
        raise Wrong("softmax(z) gives NaN or inf for logits near ±1000: exp overflows (or every term underflows); "
                    "subtract each row's maximum before exp, it does not change the result")
    expect_close(got, _softmax(big), "softmax(z) for logits near ±1000")


# 02.2 -- the gradient of mean softmax cross-entropy with respect to the logits

def check_ce_grad(fn) -> None:
    rng = np.random.default_rng(21)
    Z, y = rng.normal(size=(6, 4)), np.array([0, 3, 1, 1, 2, 0])
    got = _call(fn, Z.copy(), y.copy(), what="ce_grad(Z, y)")
    right = (_softmax(Z) - np.eye(4)[y]) / len(y)
    a = np.asarray(got, dtype=float)
    if a.shape == right.shape and np.allclose(a, right * len(y)):
        raise Wrong("ce_grad(Z, y) is N times too large: the loss is the *mean* over the N examples, so divide by N")
    if a.shape == right.shape and np.allclose(a, -right):
        raise Wrong("ce_grad(Z, y) has the opposite sign: it is P − Y (probabilities minus one-hot), not Y − P")
    expect_close(got, right, "ce_grad(Z, y) for 6 examples and 4 classes")


# 02.3 -- a linear layer's backward pass

def check_linear_backward(fn) -> None:
    rng = np.random.default_rng(23)
    X, W, b = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=4)
    G = rng.normal(size=(5, 4))  # dL/dZ for L = sum(Z * G)
    got = _call(fn, X.copy(), W.copy(), G.copy(), what="linear_backward(X, W, dZ)")
    expect(isinstance(got, (tuple, list)) and len(got) == 3,
           "linear_backward should return three arrays: (dW, db, dX)")
    dW, db, dX = got
    loss = lambda X_, W_, b_: np.sum((X_ @ W_ + b_) * G)
    refs = {"dW": numerical_grad(lambda w: loss(X, w, b), W),
            "db": numerical_grad(lambda v: loss(X, W, v), b),
            "dX": numerical_grad(lambda x: loss(x, W, b), X)}
    if np.shape(db) == (5, 4):
        raise Wrong("db has one row per example: the bias is added to every row, so its gradient sums dZ over the rows")
    for name, mine in (("dW", dW), ("db", db), ("dX", dX)):
        expect_close(mine, refs[name], f"{name} (compared with finite differences)", rtol=1e-5, atol=1e-7)


# 02.4 -- ReLU's derivative, with the frameworks' value at 0

def check_relu_grad(fn) -> None:
    z = np.array([-2.0, -0.5, 0.0, 0.3, 4.0])
    got = np.asarray(_call(fn, z.copy(), what="relu_grad(z)"), dtype=float)
    expect(got.shape == z.shape, f"relu_grad(z) has shape {got.shape}, expected one value per element {z.shape}")
    if np.allclose(got, np.maximum(z, 0)):
        raise Wrong("relu_grad(z) returns ReLU(z) itself, not its derivative (1 where z > 0, else 0)")
    if np.allclose(got, (z >= 0).astype(float)):
        raise Wrong("relu_grad(0) is 1: ReLU has no derivative at 0, and PyTorch and TensorFlow use 0 there "
                    "(compare with > rather than >=)")
    expect_close(got, (z > 0).astype(float), "relu_grad(z) on [-2, -0.5, 0, 0.3, 4]")


# 02.5 -- He initialisation

def check_he_normal(fn) -> None:
    for fan_in, fan_out in ((784, 100), (100, 10)):
        W = np.asarray(_call(fn, fan_in, fan_out, np.random.default_rng(25), what="he_normal(fan_in, fan_out, rng)"),
                       dtype=float)
        if W.shape == (fan_out, fan_in) and fan_in != fan_out:
            raise Wrong(f"he_normal({fan_in}, {fan_out}) has shape {W.shape}: the chapter's W is (fan_in, fan_out), "
                        "so that X @ W works")
        expect(W.shape == (fan_in, fan_out), f"he_normal({fan_in}, {fan_out}) has shape {W.shape}, expected {(fan_in, fan_out)}")
        expect(abs(W.mean()) < 4 * math.sqrt(2 / fan_in / W.size) + 1e-12,
               f"he_normal({fan_in}, {fan_out}): the weights are not centred on 0 (mean {W.mean():.3g}); "
               "a ReLU network needs signed weights")
        ratio = W.var() / (2 / fan_in)
        if abs(ratio - 1) > 0.1:
            hint = ""
            if abs(ratio * 2 / fan_in - (2 / fan_in) ** 2) < 0.1 * (2 / fan_in) ** 2:
                hint = ": you passed the variance 2/fan_in where the standard deviation sqrt(2/fan_in) belongs"
            elif abs(ratio - 0.5) < 0.05:
                hint = ": that is 1/fan_in (LeCun/Xavier); ReLU zeroes half the units, so He doubles it"
            raise Wrong(f"he_normal({fan_in}, {fan_out}): the weights' variance is {ratio:.3g} times 2/fan_in{hint}")


# 02.6 -- one SGD step

def check_sgd_step(fn) -> None:
    rng = np.random.default_rng(26)
    params = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    grads = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    before = {k: v.copy() for k, v in params.items()}
    got = _call(fn, {k: v.copy() for k, v in params.items()}, {k: v.copy() for k, v in grads.items()}, 0.1,
                what="sgd_step(params, grads, lr)")
    expect(isinstance(got, dict) and set(got) == set(params),
           "sgd_step should return a dict with the same keys as params ('W' and 'b')")
    for k in params:
        step = np.asarray(got[k], dtype=float) - before[k]
        if np.allclose(step, 0.1 * grads[k]):
            raise Wrong(f"sgd_step moves {k} *up* the gradient: the loss grows; subtract lr * grad")
        if np.allclose(step, -grads[k]):
            raise Wrong(f"sgd_step ignores the learning rate for {k}")
        expect_close(got[k], before[k] - 0.1 * grads[k], f"the updated {k}")


# 02.7 -- parameter updates per epoch

def check_updates_per_epoch(fn) -> None:
    for n, batch in ((60000, 64), (54000, 128), (1000, 1000), (100, 32), (60000, 60000)):
        got = _call(fn, n, batch, what="updates_per_epoch(n, batch_size)")
        right = math.ceil(n / batch)
        if got == n // batch and got != right:
            raise Wrong(f"updates_per_epoch({n}, {batch}): the last, smaller batch also gives an update "
                        "(the chapter's loop does not drop it): round up")
        if got == n and batch > 1:
            raise Wrong(f"updates_per_epoch({n}, {batch}) counts examples, not batches")
        expect(got == right, f"updates_per_epoch({n}, {batch}) is {'too large' if got > right else 'too small'}")


# Quick questions (digests: course_utils.exercises.answer_digest)

Q1_DIGEST = "d7b7281ad89a"
Q2_DIGEST = "320354440bbb"
Q3_DIGEST = "c7393b98edd4"


def check_q1(answer) -> None:
    expect_choice(answer, "02.q1", Q1_DIGEST, hints={
        "a": "a softmax costs almost nothing next to the matrix products; speed is not the reason",
        "c": "with a softmax on the last layer, from_logits=True applies a second softmax: the loss can no longer "
             "reach 0 and the gradients shrink",
        "d": "integer labels are what *Sparse*CategoricalCrossentropy is about; from_logits is about the outputs"})


def check_q2(answer) -> None:
    expect_choice(answer, "02.q2", Q2_DIGEST, hints={
        "a": "once the test set chooses anything, its score is no longer an unbiased estimate: it has become a "
             "validation set",
        "c": "training accuracy keeps rising as the model memorises; it cannot tell when generalisation stops improving"})


def check_q3(answer) -> None:
    expect_choice(answer, "02.q3", Q3_DIGEST, hints={
        "a": "uniform [0, 1) weights average 0.5: they are large, not small (z1 averages about 50 on MNIST)",
        "c": "the images are scaled to [0, 1] in both cases; look at the weights' signs and what they do to z"})


PLANTED = {
    "02.1": lambda z: np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True),
    "02.2": lambda Z, y: _softmax(Z) - np.eye(Z.shape[1])[y],
    "02.3": lambda X, W, dZ: (dZ.T @ X, dZ.sum(axis=0), dZ @ W.T),
    "02.4": lambda z: (z >= 0).astype(float),
    "02.5": lambda fan_in, fan_out, rng: rng.normal(0.0, 2.0 / fan_in, size=(fan_in, fan_out)),
    "02.6": lambda params, grads, lr: {k: params[k] + lr * grads[k] for k in params},
    "02.7": lambda n, batch_size: n // batch_size,
    "02.q1": "c",
    "02.q2": "a",
    "02.q3": "a",
}
