"""Exercises that check themselves: one call per exercise, a helpful message, never the answer.

A chapter's exercise is a function the learner completes (the solution sits between
`### BEGIN SOLUTION` and `### END SOLUTION`) and a check cell right under it:

    cu.check("04.2", lambda: ch04.check_conv_output(my_conv))

`check` runs the test, prints one line (`✔ 04.2 passed` or `✘ 04.2: <what is wrong>`) and stores
the outcome in the cell's outputs under its own MIME type, so an instructor's grader can read every
result back from an executed notebook (course_utils/tools/grade.py). It never raises: a failed or
unfinished exercise must not stop the cells after it. The reference checks of each chapter live in
`course_utils/exercises/chNN.py`; they raise `Wrong` through the `expect_*` helpers below, whose
messages say what is wrong (shape, sign, a constant factor, transposed, close but not exact, NaN)
without showing the expected value. docs/EXERCISES.md explains the whole scheme.
"""

from __future__ import annotations

import hashlib
import math
import numbers

from ..results import record

MIME = "application/vnd.course-check+json"
NOT_ATTEMPTED = "not attempted yet"
_MAX_MESSAGE = 300
_CHECKS: dict[str, bool] = {}  # exercise id -> passed, for exercise_summary (the last check of an id wins)


class Wrong(Exception):
    """Raised by a check when the learner's answer is wrong; its message says what is wrong."""


def expect(condition, message: str) -> None:
    """Raise Wrong(message) unless `condition` holds."""
    if not condition:
        raise Wrong(message)


def call_learner(fn, *args, what: str, **kwargs):
    """Call the learner's function; `what` names the call in messages, e.g. "conv_out(5, 3)".
    The usual slip, passing the function's result instead of the function, gets its own message."""
    expect(callable(fn), f"pass your function itself (e.g. {what.split('(')[0]}), not the result of calling it")
    return fn(*args, **kwargs)


# -- running one check ----------------------------------------------------------------------------


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _outcome(test) -> tuple[bool, str]:
    """(passed, message) of one test; every exception becomes a message."""
    try:
        returned = test()
    except NotImplementedError:
        return False, NOT_ATTEMPTED
    except (Wrong, AssertionError) as exc:
        return False, _short(str(exc)) or "the check failed (it gave no reason)"
    except Exception as exc:  # the learner's code (or a check) crashed: say how, briefly
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return False, _short(f"your code raised {type(exc).__name__}" + (f": {first}" if first else ""))
    if returned is False:
        return False, "not right yet (this check gives no details)"
    return True, ""


class CheckResult:
    """What `check` returns: true when the exercise passed, so `if cu.check(...):` can go on.

    It shows nothing when it is the last value of a cell: the ✔/✘ line above it already says the
    outcome, and a bare `True` under it would be an output that nothing explains.
    """

    def __init__(self, passed: bool):
        self.passed = bool(passed)

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"CheckResult(passed={self.passed})"

    def _ipython_display_(self) -> None:  # IPython calls this instead of printing the repr
        pass


def check(exercise_id: str, test) -> CheckResult:
    """Run `test()` (no arguments) for one exercise, show one line, publish the outcome; never raises.

    A NotImplementedError means "not attempted yet"; Wrong or AssertionError give their message; any
    other exception is reported as "your code raised ...". The result is true if the check passed.
    """
    exercise_id = str(exercise_id)
    if not callable(test):
        passed, message = False, f"check({exercise_id!r}, ...) needs a function to call, like lambda: ..."
    else:
        passed, message = _outcome(test)
    _CHECKS[exercise_id] = passed
    line = f"✔ {exercise_id} passed" if passed else f"✘ {exercise_id}: {message}"
    _show({MIME: {"exercise": exercise_id, "passed": passed, "message": message}, "text/plain": line}, line)
    return CheckResult(passed)


def _show(bundle: dict, line: str) -> None:
    """Display the bundle in a notebook (its text/plain is the printed line), else print the line."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(bundle, raw=True)
    else:
        print(line)


def exercise_summary() -> None:
    """Print 'k of n checks passed in this notebook' and record n_exercises and exercises_passed."""
    n, k = len(_CHECKS), sum(_CHECKS.values())
    todo = [eid for eid, ok in _CHECKS.items() if not ok]
    print(f"{k} of {n} checks passed in this notebook" + (f"; still to do: {', '.join(todo)}" if todo else ""))
    record("n_exercises", n)
    record("exercises_passed", k)


# -- multiple-choice questions --------------------------------------------------------------------


def _normalise(answer) -> str:
    text = " ".join(str(answer).strip().lower().split()).rstrip(".").strip()
    if len(text) > 2 and text[0] == "(" and text[-1] == ")":
        text = text[1:-1].strip()
    return text


def answer_digest(question_id: str, answer) -> str:
    """A short sha256 of the question id and the normalised answer (authors compute it once)."""
    return hashlib.sha256(f"{question_id}\n{_normalise(answer)}".encode()).hexdigest()[:12]


def expect_choice(answer, question_id: str, digest: str, hints: dict | None = None) -> None:
    """Check a multiple-choice answer against its digest, so the check cell does not show the answer.

    `hints` maps a wrong choice to the feedback shown when it is chosen.
    """
    if answer is None or _normalise(answer) == "":
        raise Wrong("no answer given: return one of the choices, like \"b\"")
    if answer_digest(question_id, answer) == digest:
        return
    for choice, hint in (hints or {}).items():
        if _normalise(choice) == _normalise(answer):
            raise Wrong(f"{_normalise(answer)!r} is not right: {hint}")
    raise Wrong(f"{_normalise(answer)!r} is not right; reread the section and try another choice")


# -- numbers and arrays ---------------------------------------------------------------------------


def _as_array(value, what: str):
    """A float NumPy array from a number, a NumPy array, a torch tensor or a (nested) list; else Wrong."""
    import numpy as np

    if value is None:
        raise Wrong(f"{what} is None: did the function forget to return it?")
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor, without importing torch
        value = value.detach().cpu()
        if hasattr(value, "is_floating_point") and value.is_floating_point():
            value = value.float()
        value = value.numpy()
    elif hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # a TensorFlow tensor
        try:
            value = value.numpy()
        except Exception:
            pass
    try:
        arr = np.asarray(value)
    except Exception:
        arr = None
    if arr is None or arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise Wrong(f"{what} should be a number or an array of numbers, not {type(value).__name__}")
    if np.iscomplexobj(arr):
        raise Wrong(f"{what} has complex values; a real number or array is expected")
    return arr.astype(np.float64)


def _nice_factor(k: float) -> bool:
    """A factor a learner would recognise: 2, 10, 1/2, 0.25, 100... (any factor is 'a factor' of one number)."""
    for x in (abs(k), 1 / abs(k) if k else 0.0):
        if x >= 1.5 and (abs(x - round(x)) <= 1e-3 * x and round(x) <= 1024):
            return True
        if x >= 1.5 and abs(math.log10(x) - round(math.log10(x))) < 1e-4:
            return True
    return False


def _factor(a, e):
    """The least-squares k with a ≈ k·e, or None when e is all zeros."""
    import numpy as np

    denom = float(np.sum(e * e))
    return None if denom == 0 else float(np.sum(a * e)) / denom


def _scalar_direction(a: float, e: float, what: str) -> str:
    return f"{what} is too {'large' if a > e else 'small'}"


def expect_close(actual, expected, what: str, rtol: float = 1e-4, atol: float = 1e-6) -> None:
    """Raise Wrong unless `actual` matches `expected` within tolerance; the message says how it differs.

    Works for numbers, NumPy arrays and torch tensors. Diagnoses, in this order: not numbers, wrong
    shape (transposed said so), NaN or inf, then (when not close) opposite sign, a constant factor,
    close but outside the tolerance (largest relative error shown), or simply wrong values.
    """
    import numpy as np

    a, e = _as_array(actual, what), _as_array(expected, "the expected value")
    if a.shape != e.shape:
        if a.size == 1 and e.size == 1:
            a, e = a.reshape(()), e.reshape(())
        elif a.ndim == 2 and a.shape == e.shape[::-1]:
            if np.allclose(a.T, e, rtol=rtol, atol=atol, equal_nan=True):
                raise Wrong(f"{what} is transposed: shape {a.shape}, expected {e.shape}")
            raise Wrong(f"{what} has shape {a.shape}, expected {e.shape} (transposed?)")
        else:
            raise Wrong(f"{what} has shape {a.shape}, expected {e.shape}")
    bad = ~np.isfinite(a) & np.isfinite(e)
    if bad.any():
        kinds = " and ".join(n for n, m in (("NaN", np.isnan(a) & bad), ("inf", np.isinf(a) & bad)) if m.any())
        where = f" ({int(bad.sum())} of {a.size} values)" if a.size > 1 else ""
        raise Wrong(f"{what} contains {kinds}{where}: look for a division by zero, log(0) or an overflow")
    if np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
        return
    scale = np.abs(e) + atol
    rel = np.abs(a - e) / scale
    rel = np.where(np.isfinite(rel), rel, 0.0)
    worst = float(rel.max())
    if np.allclose(-a, e, rtol=max(rtol, 1e-3), atol=atol):
        raise Wrong(f"{what} has the opposite sign")
    k = _factor(a, e)
    if k is not None and abs(k - 1) > 1e-3 and np.allclose(a, k * e, rtol=1e-3, atol=atol) \
            and (a.size > 2 or _nice_factor(k)):
        raise Wrong(f"{what} is off by a constant factor: it is ≈ {k:.3g} times the right value")
    if worst < 0.05:
        raise Wrong(f"{what} is close but not within tolerance: largest relative error {worst:.2g} "
                    f"(allowed {rtol:g}); look for a rounding step, a float16 cast or an epsilon")
    if a.size == 1:
        raise Wrong(_scalar_direction(float(a), float(e), what))
    wrong = ~np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    first = tuple(int(i) for i in np.argwhere(wrong)[0])
    raise Wrong(f"{what} has the right shape but {int(wrong.sum())} of {a.size} values are wrong "
                f"(the first at index {first if len(first) != 1 else first[0]})")


def _is_arraylike(x) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype")


def expect_equal(actual, expected, what: str) -> None:
    """Raise Wrong unless `actual == expected` exactly; the message says how it differs, not the answer.

    Arrays and tensors are compared element by element (shape first); numbers by value (3 == 3.0);
    strings, lists, tuples, sets and dicts by content, with the first difference located.
    """
    import numpy as np

    if _is_arraylike(expected) or _is_arraylike(actual):
        if _is_arraylike(expected) and not (_is_arraylike(actual) or isinstance(actual, (list, tuple, numbers.Number))):
            raise Wrong(f"{what} should be an array, not {type(actual).__name__}")
        a, e = _as_array(actual, what), _as_array(expected, "the expected value")
        if a.shape != e.shape:
            if a.ndim == 2 and a.shape == e.shape[::-1] and np.array_equal(a.T, e):
                raise Wrong(f"{what} is transposed: shape {a.shape}, expected {e.shape}")
            raise Wrong(f"{what} has shape {a.shape}, expected {e.shape}")
        wrong = a != e
        if wrong.any():
            if a.size == 1:
                raise Wrong(_scalar_direction(float(a.reshape(())), float(e.reshape(())), what))
            first = tuple(int(i) for i in np.argwhere(wrong)[0])
            raise Wrong(f"{what}: {int(wrong.sum())} of {a.size} entries differ "
                        f"(the first at index {first if len(first) != 1 else first[0]})")
        return
    if isinstance(expected, numbers.Number) and not isinstance(expected, bool):
        if actual is None:
            raise Wrong(f"{what} is None: did the function forget to return it?")
        if hasattr(actual, "item") and getattr(actual, "ndim", 1) == 0:
            actual = actual.item()
        if not isinstance(actual, numbers.Number) or isinstance(actual, bool):
            raise Wrong(f"{what} should be a number, not {type(actual).__name__}")
        if actual == expected:
            return
        if isinstance(actual, numbers.Real) and isinstance(expected, numbers.Real):
            a, e = float(actual), float(expected)
            if e != 0 and a == -e:
                raise Wrong(f"{what} has the opposite sign")
            if e != 0 and a != 0 and _nice_factor(a / e):
                raise Wrong(f"{what} is off by a constant factor: it is ≈ {a / e:.3g} times the right value")
            if math.isclose(a, e, rel_tol=1e-6):
                raise Wrong(f"{what} is very close but not exact (a rounding step?)")
            raise Wrong(_scalar_direction(a, e, what))
        raise Wrong(f"{what} is not right")
    if actual == expected:
        return
    if expected is not None and actual is None:
        raise Wrong(f"{what} is None: did the function forget to return it?")
    if type(actual) is not type(expected) and not (isinstance(actual, type(expected)) or isinstance(expected, type(actual))):
        raise Wrong(f"{what} should be a {type(expected).__name__}, not {type(actual).__name__}")
    if isinstance(expected, str):
        n = next((i for i, (x, y) in enumerate(zip(actual, expected)) if x != y), min(len(actual), len(expected)))
        size = "" if len(actual) == len(expected) else f" and it is {'longer' if len(actual) > len(expected) else 'shorter'} than expected"
        raise Wrong(f"{what} differs from character {n} on ({actual[n:n + 20]!r}...){size}")
    if isinstance(expected, dict):
        missing = [k for k in expected if k not in actual]
        extra = [k for k in actual if k not in expected]
        changed = [k for k in expected if k in actual and actual[k] != expected[k]]
        parts = []
        if missing:
            parts.append(f"{len(missing)} key(s) missing")
        if extra:
            parts.append(f"{len(extra)} unexpected key(s), e.g. {extra[0]!r}")
        if changed:
            parts.append(f"{len(changed)} value(s) wrong, e.g. under {changed[0]!r}")
        raise Wrong(f"{what}: " + "; ".join(parts))
    if isinstance(expected, (set, frozenset)):
        extra = [x for x in actual if x not in expected]
        raise Wrong(f"{what}: {len(expected - set(actual))} item(s) missing"
                    + (f", {len(extra)} unexpected, e.g. {sorted(extra, key=repr)[0]!r}" if extra else ""))
    if isinstance(expected, (list, tuple)):
        if len(actual) != len(expected):
            raise Wrong(f"{what} has {len(actual)} items, expected {len(expected)}")
        n = next(i for i, (x, y) in enumerate(zip(actual, expected)) if x != y)
        raise Wrong(f"{what} differs from item {n} on (yours: {actual[n]!r})")
    raise Wrong(f"{what} is not right")
