"""Unit tests for course_utils.gradcheck (the gradient comparison of chapters 02 and 03)."""

import numpy as np
import pytest

import course_utils as cu
from course_utils.gradcheck import GradCheck, compare_grads, grad_table, numerical_grad, to_numpy


def test_exact_close_wrong():
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    assert compare_grads("same", a, a.copy()).verdict == "exact"
    noisy = a + 1e-12
    r = compare_grads("noise", noisy, a)
    assert r.verdict == "close" and r.ok
    assert 0 < r.max_abs_diff < 1e-11
    bad = a.copy()
    bad[1, 2] += 0.5
    r = compare_grads("bad", bad, a)
    assert r.verdict == "wrong" and not r.ok
    assert r.max_abs_diff == pytest.approx(0.5)


def test_tolerances_are_respected():
    a = np.ones(4)
    assert compare_grads("x", a + 1e-4, a, atol=1e-3, rtol=0).verdict == "close"
    assert compare_grads("x", a + 1e-4, a, atol=1e-6, rtol=0).verdict == "wrong"
    assert compare_grads("x", a + 1e-4, a, atol=0, rtol=1e-3).verdict == "close"


def test_shape_mismatch_is_wrong_not_broadcast():
    r = compare_grads("w", np.zeros((3, 1)), np.zeros(3))
    assert r.verdict == "wrong"
    assert "shape" in r.note
    assert "WRONG" in r.line(stable=True)


def test_nan_is_wrong():
    a = np.zeros(3)
    b = a.copy()
    b[0] = np.nan
    assert compare_grads("nan", b, a, atol=1.0).verdict == "wrong"


def test_stable_line_has_no_float_noise():
    a = np.linspace(0, 1, 5)
    r1 = compare_grads("g", a + 1e-13, a)
    r2 = compare_grads("g", a + 3e-14, a)
    assert r1.line(stable=True) == r2.line(stable=True)
    assert r1.line() != r2.line()  # the plain line shows the difference
    assert "max|diff|" in str(r1)


def test_accepts_torch_and_tensorflow_tensors():
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    assert np.array_equal(to_numpy(t * 1), np.array([1.0, 2.0], dtype=np.float32))
    assert compare_grads("torch", t * 1, np.array([1.0, 2.0], dtype=np.float32)).verdict == "exact"
    tf = pytest.importorskip("tensorflow")
    v = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        s = tf.reduce_sum(v ** 2)
    grad = tape.gradient(s, v)  # a tf.Tensor, as chapter 02 passes it
    assert np.array_equal(to_numpy(grad), np.array([2.0, 4.0], dtype=np.float32))
    assert compare_grads("tf", grad, np.array([2.0, 4.0])).ok
    assert compare_grads("tf vs torch", grad, torch.tensor([2.0, 4.0])).verdict == "exact"
    assert compare_grads("tf wrong", grad, np.array([2.0, 4.5])).verdict == "wrong"


def test_numerical_grad_matches_analytic():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    num = numerical_grad(lambda v: np.sum(np.tanh(v) ** 2), x)
    exact = 2 * np.tanh(x) * (1 - np.tanh(x) ** 2)
    assert compare_grads("tanh^2", num, exact, atol=1e-8, rtol=1e-6).ok
    assert np.array_equal(x, rng.__class__(np.random.PCG64(0)).normal(size=(3, 4)))  # x untouched


def test_table_and_exports():
    rs = [compare_grads("a", np.ones(2), np.ones(2)), compare_grads("b", np.ones(2), np.zeros(2))]
    t = grad_table(rs)
    assert list(t["verdict"]) == ["exact", "wrong"]
    assert list(grad_table(rs, stable=True)["status"]) == ["ok", "WRONG"]
    assert cu.compare_grads is compare_grads
    assert cu.GradCheck is GradCheck
