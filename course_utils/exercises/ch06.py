"""Reference checks for chapter 06's exercises (penalties, dropout, early stopping, k-fold, AdamW).

Each check calls the learner's function on a few cases and raises Wrong (through the expect_*
helpers) with a message that says what is wrong, never the expected value. The references are
computed here, so the check cell does not give the answer away. `PLANTED` holds, for every
exercise, a plausible wrong answer that its check must reject (tests/test_exercise_checks.py).
"""

from __future__ import annotations

import math

import numpy as np

from . import Wrong, expect, expect_choice, expect_close, expect_equal, call_learner as _call


def _pair(got, what: str):
    expect(isinstance(got, (tuple, list)) and len(got) == 2, f"{what} should return a pair (two values)")
    return got


# 06.1 -- the L2 penalty and its gradient

def check_l2_penalty(fn) -> None:
    rng = np.random.default_rng(61)
    for shape, lam in (((5,), 0.1), ((3, 4), 1e-3), ((2, 2, 3), 2.0)):
        w = rng.normal(size=shape)
        what = f"l2_penalty(w of shape {shape}, lam={lam:g})"
        penalty, grad = _pair(_call(fn, w.copy(), lam, what=what), what)
        right_p, right_g = 0.5 * lam * np.sum(w * w), lam * w
        if np.ndim(penalty) != 0:
            raise Wrong(f"{what}: the penalty is one number (a sum over all weights), not an array")
        if math.isclose(float(penalty), lam * np.sum(np.abs(w)), rel_tol=1e-6):
            raise Wrong(f"{what}: the penalty sums |w|: that is L1; L2 sums the squares")
        if math.isclose(float(penalty), 2 * right_p, rel_tol=1e-6):
            raise Wrong(f"{what}: the penalty is twice too large: the course's L2 term is λ/2·Σw², "
                        "the 1/2 that makes its gradient exactly λw")
        expect_close(penalty, right_p, f"the penalty of {what}")
        if np.shape(grad) == w.shape and np.allclose(grad, lam * np.sign(w)):
            raise Wrong(f"{what}: the gradient is λ·sign(w), the L1 gradient; differentiate λ/2·w² instead")
        expect_close(grad, right_g, f"the gradient of {what}")


# 06.2 -- inverted dropout

def check_inverted_dropout(fn) -> None:
    import torch

    n = 200_000
    x = torch.full((n,), 2.0)
    for p in (0.2, 0.5, 0.7):
        g = torch.Generator().manual_seed(62)
        what = f"inverted_dropout(x, p={p}, training=True)"
        out = _call(fn, x.clone(), p, True, g, what=what)
        expect(isinstance(out, torch.Tensor), f"{what} should return a tensor, not {type(out).__name__}")
        expect(tuple(out.shape) == tuple(x.shape), f"{what} has shape {tuple(out.shape)}, expected {tuple(x.shape)}")
        out = out.double()
        zeros = float((out == 0).double().mean())
        sd = math.sqrt(p * (1 - p) / n)
        if abs(zeros - (1 - p)) < 5 * sd and abs(p - 0.5) > 0.05:
            raise Wrong(f"{what}: about a fraction 1−p of the units are zeroed; p is the probability of "
                        "dropping a unit, not of keeping it")
        expect(abs(zeros - p) < 5 * sd, f"{what}: the fraction of zeroed units is not close to p")
        kept = out[out != 0]
        if torch.allclose(kept, torch.full_like(kept, 2.0)):
            raise Wrong(f"{what}: the kept units are not scaled, so the output's mean is (1−p) times the "
                        "input's; inverted dropout divides the kept units by 1−p while training")
        if torch.allclose(kept, torch.full_like(kept, 2.0 * (1 - p))):
            raise Wrong(f"{what}: the kept units are multiplied by 1−p; inverted dropout divides them by it")
        expect(torch.allclose(kept, torch.full_like(kept, 2.0 / (1 - p)), rtol=1e-5),
               f"{what}: the kept units do not all equal x/(1−p)")
        mean_sd = 2.0 * math.sqrt(p / (1 - p) / n)
        expect(abs(float(out.mean()) - 2.0) < 5 * mean_sd, f"{what}: the mean of the output is not the mean of the input")
    g = torch.Generator().manual_seed(62)
    y = torch.randn(1000, generator=g)
    for p in (0.5, 0.0):
        out = _call(fn, y.clone(), p, False, g, what="inverted_dropout(x, p, training=False)")
        expect(isinstance(out, torch.Tensor), "inverted_dropout(..., training=False) should return a tensor")
        if p and torch.allclose(out.double(), y.double() * (1 - p)):
            raise Wrong("inverted_dropout(x, p=0.5, training=False) scales by 1−p at evaluation: that is the "
                        "original dropout; inverted dropout scaled while training, so evaluation is the identity")
        expect(torch.equal(out, y), f"inverted_dropout(x, p={p}, training=False) must return x unchanged")
    out = _call(fn, y.clone(), 0.0, True, g, what="inverted_dropout(x, p=0.0, training=True)")
    expect(torch.allclose(out.double(), y.double()), "inverted_dropout(x, p=0.0, training=True) must return x unchanged")


# 06.3 -- early stopping's patience rule

STOP_CASES = (  # (validation losses, patience)
    ([0.9, 0.7, 0.6, 0.62, 0.65, 0.61, 0.7, 0.8, 0.55], 3),
    ([0.9, 0.7, 0.6, 0.62, 0.65, 0.61, 0.7, 0.8, 0.55], 4),
    ([1.0, 0.8, 0.8, 0.8, 0.7, 0.9], 2),    # equal is not better
    ([1.0, 0.9, 0.8, 0.7], 2),              # never stops early
    ([0.5, 0.6, 0.7, 0.4], 1),
)


def _early_stop(losses, patience):
    best, best_epoch, waited = math.inf, 0, 0
    for epoch, value in enumerate(losses, start=1):
        if value < best:
            best, best_epoch, waited = value, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return best_epoch, epoch
    return best_epoch, len(losses)


def check_early_stopping(fn) -> None:
    for losses, patience in STOP_CASES:
        what = f"early_stopping({losses}, patience={patience})"
        best, stop = _pair(_call(fn, list(losses), patience, what=what), what)
        right_best, right_stop = _early_stop(losses, patience)
        if (best, stop) == (right_best - 1, right_stop - 1):
            raise Wrong(f"{what}: epochs are numbered from 1 (as in cu.fit's history), not from 0")
        if stop == right_stop + 1:
            raise Wrong(f"{what} stops one epoch late: stop at the epoch that completes `patience` epochs "
                        "without improvement")
        if stop == right_stop - 1:
            raise Wrong(f"{what} stops one epoch early: wait `patience` epochs without improvement, counting "
                        "from the epoch after the best one")
        expect_equal(stop, right_stop, f"the stopping epoch of {what}")
        if best == int(np.argmin(losses)) + 1 and best != right_best:
            raise Wrong(f"{what}: the best epoch is taken over the whole curve, including epochs that were "
                        "never trained because training had stopped")
        expect_equal(best, right_best, f"the best epoch of {what}")


# 06.4 -- k-fold split indices without leakage

def check_kfold_indices(fn) -> None:
    for n, k in ((20, 5), (23, 4), (10, 2)):
        what = f"kfold_indices({n}, {k}, seed=0)"
        folds = _call(fn, n, k, 0, what=what)
        expect(isinstance(folds, (list, tuple)), f"{what} should return a list of (train, held_out) pairs")
        expect(len(folds) == k, f"{what} returned {len(folds)} pairs; one pair per fold, k in all")
        seen = []
        for i, pair in enumerate(folds):
            tr, va = (np.asarray(a).ravel() for a in _pair(pair, f"pair {i} of {what}"))
            expect(np.issubdtype(tr.dtype, np.integer) and np.issubdtype(va.dtype, np.integer),
                   f"{what}, fold {i}: indices should be integers")
            if set(tr) & set(va):
                raise Wrong(f"{what}, fold {i}: {len(set(tr) & set(va))} index(es) are both trained on and "
                            "held out: leakage, the held-out score would be too optimistic")
            expect(len(set(tr)) == len(tr) and len(set(va)) == len(va), f"{what}, fold {i}: an index appears twice")
            expect(set(tr) | set(va) == set(range(n)),
                   f"{what}, fold {i}: training and held-out indices together must be all of 0..n−1")
            seen.extend(va.tolist())
        expect(sorted(seen) == list(range(n)), f"{what}: every index must be held out exactly once over the k folds")
        sizes = [len(np.asarray(p[1]).ravel()) for p in folds]
        expect(max(sizes) - min(sizes) <= 1, f"{what}: held-out folds have sizes {sorted(sizes)}; they should "
               "differ by at most one")
        if all(np.array_equal(np.sort(np.asarray(p[1]).ravel()),
                              np.arange(min(np.asarray(p[1]).ravel()), max(np.asarray(p[1]).ravel()) + 1))
               for p in folds):
            raise Wrong(f"{what}: every held-out fold is a contiguous block of 0..n−1; shuffle the indices "
                        "first with the seed (data sorted by class would give folds of one class)")
    a = [np.asarray(p[1]).ravel().tolist() for p in _call(fn, 30, 3, 7, what="kfold_indices(30, 3, seed=7)")]
    b = [np.asarray(p[1]).ravel().tolist() for p in _call(fn, 30, 3, 7, what="kfold_indices(30, 3, seed=7)")]
    expect(a == b, "kfold_indices(30, 3, seed=7) gives different folds on two calls: draw the permutation from "
           "a generator seeded with `seed`")


# 06.5 -- the one-standard-error rule

ONE_SE_CASES = (  # (values, ascending = more regularised; fold scores, one row per value)
    ([0.2, 0.5, 0.7], [[0.88, 0.84, 0.91, 0.86, 0.89], [0.87, 0.83, 0.90, 0.86, 0.88],
                       [0.86, 0.82, 0.88, 0.85, 0.86]]),
    ([0.1, 0.3, 0.5, 0.7], [[0.90, 0.92, 0.91, 0.93], [0.93, 0.94, 0.93, 0.94],
                            [0.92, 0.91, 0.93, 0.92], [0.85, 0.86, 0.84, 0.86]]),
    ([1e-4, 1e-3, 1e-2], [[0.80, 0.70, 0.90], [0.81, 0.71, 0.88], [0.60, 0.62, 0.61]]),
)


def _one_se(values, scores, *, spread="se", ddof=1):
    scores = np.asarray(scores, dtype=float)
    means = scores.mean(axis=1)
    best = int(np.argmax(means))
    sd = scores[best].std(ddof=ddof)
    bar = means[best] - (sd / math.sqrt(scores.shape[1]) if spread == "se" else sd)
    return max(v for v, m in zip(values, means) if m >= bar)


def check_one_se_pick(fn) -> None:
    for values, scores in ONE_SE_CASES:
        what = f"one_se_pick({values}, fold_scores of shape {np.shape(scores)})"
        got = _call(fn, list(values), np.array(scores), what=what)
        right = _one_se(values, scores)
        if got not in values:
            raise Wrong(f"{what} returned {got!r}, which is not one of the candidate values")
        means = np.mean(scores, axis=1)
        if got == values[int(np.argmax(means))] and got != right:
            raise Wrong(f"{what} picks the best mean; the rule picks the most regularised value whose mean "
                        "is within one standard error of the best")
        if got == _one_se(values, scores, spread="sd") and got != right:
            raise Wrong(f"{what} allows a whole standard deviation; the standard error of a mean of k scores "
                        "is the standard deviation divided by √k")
        if got == _one_se(values, scores, ddof=0) and got != right:
            raise Wrong(f"{what}: use the sample standard deviation (ddof=1) of the best value's fold scores")
        if got == min(v for v, m in zip(values, means) if m >= means.max() - np.std(scores[int(np.argmax(means))], ddof=1)
                      / math.sqrt(len(scores[0]))) and got != right:
            raise Wrong(f"{what} picks the least regularised value within the bar; the rule prefers the most "
                        "regularised (the largest value) when the experiment cannot tell them apart")
        expect_equal(got, right, f"the value picked by {what}")


# 06.6 -- Adam with L2 in the gradient vs AdamW's decoupled decay, on one parameter

def _adam(w0, grad_fn, steps, lr, lam, decoupled, betas=(0.9, 0.999), eps=1e-8, *, bias_correction=True,
          decay_rate=None):
    """Adam + L2 (decoupled=False) or AdamW (True) on one weight. The keywords make the two slips the
    check recognises: bias_correction=False, and decay_rate=λ-per-step for a decay that forgets lr."""
    w, m, v = float(w0), 0.0, 0.0
    b1, b2 = betas
    for t in range(1, steps + 1):
        g = grad_fn(w)
        if decoupled:
            w -= (lr * lam if decay_rate is None else decay_rate) * w
        else:
            g += lam * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        if bias_correction:
            w -= lr * (m / (1 - b1 ** t)) / (math.sqrt(v / (1 - b2 ** t)) + eps)
        else:
            w -= lr * m / (math.sqrt(v) + eps)
    return w


ADAM_CASES = ((1.0, 1.0, 0.1), (1.0, 100.0, 0.1), (-2.0, 0.01, 0.5))  # (w0, gradient scale, lam)


def check_adam_one_param(fn) -> None:
    steps, lr = 50, 0.05
    for w0, scale, lam in ADAM_CASES:
        grad_fn = (lambda s: lambda w: s * (w - 3.0))(scale)  # the data loss s/2·(w − 3)²
        got, right = {}, {}
        for decoupled in (False, True):
            what = f"adam_one_param(w0={w0}, grad of {scale:g}/2·(w−3)², lam={lam}, decoupled={decoupled})"
            got[decoupled] = _call(fn, w0, grad_fn, steps, lr, lam, decoupled, what=what)
            right[decoupled] = _adam(w0, grad_fn, steps, lr, lam, decoupled)
            expect(np.ndim(got[decoupled]) == 0, f"{what} should return the final weight, one number")
        close = lambda a, b: math.isclose(float(a), b, rel_tol=1e-6, abs_tol=1e-9)  # noqa: E731
        if close(got[True], right[False]) and not close(right[True], right[False]):
            raise Wrong("with decoupled=True your step still adds λw to the gradient (Adam + L2); AdamW "
                        "shrinks the weight directly, by lr·λ·w, outside Adam's scaling")
        if close(got[False], right[True]) and not close(right[True], right[False]):
            raise Wrong("with decoupled=False your step decays the weight directly: that is AdamW; Adam + L2 "
                        "adds λw to the gradient before the moments are updated")
        if close(got[True], _adam(w0, grad_fn, steps, lr, lam, True, decay_rate=lam)):
            raise Wrong("the decoupled decay is lr·λ·w per step; yours forgets the learning rate")
        if close(got[False], _adam(w0, grad_fn, steps, lr, lam, False, bias_correction=False)):
            raise Wrong("Adam's moments start at zero: divide m by 1 − β1^t and v by 1 − β2^t "
                        "(bias correction, t counted from 1)")
        for decoupled in (False, True):
            expect_close(got[decoupled], right[decoupled],
                         f"the final weight with decoupled={decoupled} (w0={w0}, gradient scale {scale:g}, λ={lam})",
                         rtol=1e-6)


# Quick questions (digests: course_utils.exercises.answer_digest)

Q1_DIGEST = "a970fe91b6d5"
Q2_DIGEST = "d557918634a6"
Q3_DIGEST = "debd9681909f"


def check_q1(answer) -> None:
    expect_choice(answer, "06.q1", Q1_DIGEST, hints={
        "a": "2,000 validation digits measure an accuracy to about ±0.007; the loss moved far more than noise",
        "c": "underfitting shows as a low training accuracy; the baseline fits its training digits perfectly",
        "d": "nothing is broken: accuracy counts only the top class, the loss also charges for confidence"})


def check_q2(answer) -> None:
    expect_choice(answer, "06.q2", Q2_DIGEST, hints={
        "a": "another regulariser holds the model back further; the numbers say it is already held back",
        "b": "a gap of 0.03 is small; overfitting shows as a high training accuracy with a large gap",
        "d": "less data makes memorising easier, not fitting better"})


def check_q3(answer) -> None:
    expect_choice(answer, "06.q3", Q3_DIGEST, hints={
        "b": "a difference smaller than the standard error is within the noise of this experiment",
        "c": "cross-validation measures; it does not change how the chosen model is trained",
        "d": "the test set stays untouched until the very end, or it stops being an unbiased check"})


# Plausible wrong answers, one per exercise: each check must reject its own (tests/test_exercise_checks.py).

def _planted_dropout(x, p, training, generator=None):
    import torch

    if not training:
        return x
    return x * (torch.rand(x.shape, generator=generator) >= p)  # forgets to divide by 1 − p


def _planted_early_stopping(val_losses, patience):
    best = int(np.argmin(val_losses)) + 1                     # the best over the whole curve
    return best, min(len(val_losses), best + patience)


def _planted_kfold(n, k, seed):
    perm = np.random.default_rng(seed).permutation(n)
    return [(np.arange(n), fold) for fold in np.array_split(perm, k)]  # trains on the held-out fold too


def _planted_one_se(values, fold_scores):
    return values[int(np.argmax(np.mean(fold_scores, axis=1)))]  # just the best mean


def _planted_adam(w0, grad_fn, steps, lr, lam, decoupled, betas=(0.9, 0.999), eps=1e-8):
    return _adam(w0, grad_fn, steps, lr, lam, False, betas, eps)  # ignores `decoupled`


PLANTED = {
    "06.1": lambda w, lam: (lam * np.sum(w ** 2), 2 * lam * w),  # forgets the 1/2
    "06.2": _planted_dropout,
    "06.3": _planted_early_stopping,
    "06.4": _planted_kfold,
    "06.5": _planted_one_se,
    "06.6": _planted_adam,
    "06.q1": "a",
    "06.q2": "a",
    "06.q3": "b",
}
