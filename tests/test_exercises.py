"""The exercise API (cu.check and the expect_* helpers): each diagnosis, never the answer, never a raise."""

import numpy as np
import pytest
import torch

import course_utils as cu
from course_utils import exercises as ex

SECRET = 123.456  # an expected value no message may contain


@pytest.fixture(autouse=True)
def fresh_checks(monkeypatch):
    """Each test starts with no checks recorded and captures what check() would display."""
    monkeypatch.setattr(ex, "_CHECKS", {})
    shown = []
    monkeypatch.setattr(ex, "_show", lambda bundle, line: shown.append((bundle, line)))
    return shown


def outcome(test):
    """(passed, message) as check() publishes them."""
    shown = []
    ex._show, old = (lambda bundle, line: shown.append(bundle)), ex._show
    try:
        ok = cu.check("99.1", test)
    finally:
        ex._show = old
    payload = shown[-1][ex.MIME]
    assert payload["passed"] is bool(ok) and payload["exercise"] == "99.1"
    return bool(ok), payload["message"]


def message(test):
    ok, msg = outcome(test)
    assert not ok and msg, "the check should have failed with a message"
    assert "123.456" not in msg and "123.46" not in msg, f"the message reveals the answer: {msg}"
    return msg


def secret_array(shape=(3, 4)):
    return np.full(shape, SECRET) + np.arange(int(np.prod(shape))).reshape(shape)


# -- check() ----------------------------------------------------------------------------------------


def test_check_passes_and_publishes_one_line(fresh_checks):
    assert bool(cu.check("04.2", lambda: cu.expect_close(1.0, 1.0, "x"))) is True
    bundle, line = fresh_checks[-1]
    assert line == "✔ 04.2 passed" and bundle["text/plain"] == line
    assert bundle[ex.MIME] == {"exercise": "04.2", "passed": True, "message": ""}


def test_failed_check_line_carries_the_message(fresh_checks):
    assert bool(cu.check("04.3", lambda: cu.expect(False, "the loss should fall"))) is False
    bundle, line = fresh_checks[-1]
    assert line == "✘ 04.3: the loss should fall"
    assert bundle[ex.MIME] == {"exercise": "04.3", "passed": False, "message": "the loss should fall"}


def test_not_implemented_means_not_attempted():
    def stub():
        # YOUR CODE HERE
        raise NotImplementedError()

    assert outcome(lambda: cu.expect_close(stub(), SECRET, "x")) == (False, "not attempted yet")


def test_assertion_error_gives_its_message():
    def t():
        raise AssertionError("the two halves should match")  # what a plain `assert` in a check raises

    assert outcome(t) == (False, "the two halves should match")
    assert "no reason" in outcome(lambda: (_ for _ in ()).throw(AssertionError()))[1]


def test_other_exceptions_are_reported_briefly():
    msg = message(lambda: {}["key"] + 1)
    assert msg.startswith("your code raised KeyError")
    long = message(lambda: (_ for _ in ()).throw(ValueError("x" * 5000 + "\nsecond line")))
    assert long.startswith("your code raised ValueError") and len(long) <= 300 and "second line" not in long


@pytest.mark.parametrize("test", [None, 3, "not callable"])
def test_check_never_raises_even_when_misused(test):
    ok, msg = outcome(test)
    assert not ok and "function" in msg


def test_returning_false_fails_and_none_passes():
    assert outcome(lambda: False)[0] is False
    assert outcome(lambda: None)[0] is True


def test_summary_counts_distinct_ids_and_records(capsys):
    cu.check("05.1", lambda: None)
    cu.check("05.2", lambda: cu.expect(False, "no"))
    cu.check("05.2", lambda: None)  # redone: the last check of an id counts
    cu.check("05.q1", lambda: cu.expect(False, "no"))
    cu.exercise_summary()
    out = capsys.readouterr().out
    assert "2 of 3 checks passed in this notebook" in out and "05.q1" in out
    assert cu.recorded()["n_exercises"] == 3 and cu.recorded()["exercises_passed"] == 2


def test_outside_ipython_check_prints_the_line(monkeypatch, capsys):
    monkeypatch.undo()  # the real _show
    ex._CHECKS.clear()
    cu.check("06.1", lambda: None)
    assert capsys.readouterr().out.strip() == "✔ 06.1 passed"


# -- expect_close -----------------------------------------------------------------------------------


def test_close_accepts_numbers_arrays_tensors_and_lists():
    e = secret_array()
    for actual in (e.copy(), torch.tensor(e), torch.tensor(e, dtype=torch.float32), e.tolist(), e * (1 + 1e-6)):
        cu.expect_close(actual, e, "W")
    cu.expect_close(torch.tensor(2.5, requires_grad=True) * 1, 2.5, "loss")
    cu.expect_close(np.array([SECRET]), SECRET, "a one-element array for a number")


def test_close_shape():
    msg = message(lambda: cu.expect_close(np.zeros((3, 5)), secret_array((3, 4)), "W"))
    assert "shape (3, 5)" in msg and "(3, 4)" in msg and msg.startswith("W ")


def test_close_transposed():
    e = secret_array((3, 4))
    msg = message(lambda: cu.expect_close(e.T.copy(), e, "W"))
    assert "transposed" in msg and "(4, 3)" in msg and "(3, 4)" in msg


def test_close_sign():
    msg = message(lambda: cu.expect_close(-secret_array(), secret_array(), "the gradient"))
    assert "opposite sign" in msg
    assert "opposite sign" in message(lambda: cu.expect_close(-SECRET, SECRET, "b"))


def test_close_factor():
    msg = message(lambda: cu.expect_close(0.5 * secret_array(), secret_array(), "the gradient"))
    assert "constant factor" in msg and "0.5" in msg
    assert "2 times" in message(lambda: cu.expect_close(2 * SECRET, SECRET, "the loss"))


def test_close_but_not_within_tolerance_shows_the_largest_relative_error():
    msg = message(lambda: cu.expect_close(secret_array() + 0.1, secret_array(), "y"))
    assert "close but not within tolerance" in msg and "relative error" in msg


def test_close_nan_and_inf():
    a = secret_array()
    a[0, 1] = np.nan
    assert "NaN (1 of 12 values)" in message(lambda: cu.expect_close(a, secret_array(), "p"))
    assert "inf" in message(lambda: cu.expect_close(float("inf"), SECRET, "p"))


def test_close_not_numbers():
    assert "None" in message(lambda: cu.expect_close(None, SECRET, "p"))
    assert "number" in message(lambda: cu.expect_close("12", SECRET, "p"))
    assert "number" in message(lambda: cu.expect_close({"a": 1}, SECRET, "p"))


def test_close_plainly_wrong_values_say_where_not_what():
    e = secret_array()
    a = e.copy()
    a[1, 2] = 0.0
    msg = message(lambda: cu.expect_close(a, e, "W"))
    assert "1 of 12 values" in msg and "(1, 2)" in msg
    assert message(lambda: cu.expect_close(7.0, SECRET, "n")) == "n is too small"


# -- expect_equal -----------------------------------------------------------------------------------


def test_equal_passes_for_equal_things():
    cu.expect_equal(3, 3.0, "n")
    cu.expect_equal(np.arange(4), torch.arange(4), "ids")
    cu.expect_equal(["lo", "w"], ["lo", "w"], "pieces")
    cu.expect_equal({"a": 1}, {"a": 1}, "counts")


def test_equal_messages():
    assert "too large" in message(lambda: cu.expect_equal(200_000, 123_456, "N"))
    assert "opposite sign" in message(lambda: cu.expect_equal(-123_456, 123_456, "N"))
    assert "2 times" in message(lambda: cu.expect_equal(246_912, 123_456, "N"))
    assert "shape (2, 3)" in message(lambda: cu.expect_equal(np.zeros((2, 3)), np.zeros((3, 3)), "mask"))
    mask = np.tril(np.ones((3, 4)))
    assert "transposed" in message(lambda: cu.expect_equal(mask.T.copy(), mask, "mask"))
    msg = message(lambda: cu.expect_equal(np.ones((3, 3)), np.tril(np.ones((3, 3))), "mask"))
    assert "3 of 9 entries differ" in msg and "(0, 1)" in msg
    assert "3 items, expected 2" in message(lambda: cu.expect_equal(["a", "b", "c"], ["x", "y"], "merges"))
    assert "item 1" in message(lambda: cu.expect_equal(["a", "b"], ["a", "c"], "merges"))
    assert "should be a list, not str" in message(lambda: cu.expect_equal("ab", ["a", "b"], "merges"))
    assert "character 4" in message(lambda: cu.expect_equal("lowest", "lower", "word"))
    msg = message(lambda: cu.expect_equal({"a": 1, "zz": 2}, {"a": 2, "b": 1}, "counts"))
    assert "1 key(s) missing" in msg and "'zz'" in msg and "'b'" not in msg
    assert "None" in message(lambda: cu.expect_equal(None, 5, "n"))


# -- expect_choice ----------------------------------------------------------------------------------


def test_choice_uses_the_digest_and_normalises():
    digest = cu.answer_digest("07.q1", "b")
    assert len(digest) == 12 and "b" != digest
    for given in ("b", "B", " (b) ", "b."):
        cu.expect_choice(given, "07.q1", digest)
    assert cu.answer_digest("07.q2", "b") != digest  # the id is part of the digest


def test_choice_hint_and_plain_wrong():
    digest = cu.answer_digest("07.q1", "b")
    msg = message(lambda: cu.expect_choice("a", "07.q1", digest, hints={"A": "a counts pairs, not words"}))
    assert "a counts pairs" in msg
    msg = message(lambda: cu.expect_choice("c", "07.q1", digest, hints={"a": "x"}))
    assert "'c' is not right" in msg and "'b'" not in msg
    assert "no answer" in message(lambda: cu.expect_choice("  ", "07.q1", digest))


def test_the_result_of_a_check_shows_nothing_under_the_cell(fresh_checks):
    """The ✔/✘ line says the outcome; a check as a cell's last line must not add a bare True or False."""
    from IPython.core.formatters import DisplayFormatter

    for test in (lambda: None, lambda: cu.expect(False, "no")):
        result = cu.check("04.9", test)
        assert DisplayFormatter().format(result) == ({}, {})
        assert "passed=" in repr(result)
