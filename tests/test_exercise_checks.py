"""Every chapter's reference checks reject a typical wrong answer, with a message.

For each module course_utils/exercises/chNN.py: every `check_*` function is used by a check cell of
chapter NN's notebook, every exercise id checked there has a planted wrong answer in the module's
PLANTED, and the check, given that answer, fails through cu.check with a message that says something
(not "not attempted yet", not a crash of the check itself). The other direction, that every check
passes on the solutions, is proved by the executed notebooks' outputs (test_exercise_notebooks.py).
"""

from __future__ import annotations

import importlib
import json
import re
import time
from pathlib import Path

import pytest

from course_utils import exercises as ex

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(p.stem for p in (ROOT / "course_utils" / "exercises").glob("ch[0-9][0-9].py"))
# cu.check("07.3", lambda: ch07.check_pretrain_seconds(...)): the id, the module, the check's name
CHECK_CALL = re.compile(r"""check\(\s*["'](\d\d\.q?\d+)["']\s*,\s*lambda\s*:\s*(ch\d\d)\.(check_\w+)\(""")


def notebook_of(module: str) -> Path:
    found = sorted((ROOT / "notebooks").glob(f"{module[2:]}_*.ipynb"))
    assert len(found) == 1, f"{module}: expected one notebook notebooks/{module[2:]}_*.ipynb, found {found}"
    return found[0]


def check_calls(module: str) -> dict[str, str]:
    """{exercise id: check function name} from the chapter notebook's check cells."""
    nb = json.loads(notebook_of(module).read_text(encoding="utf-8"))
    calls = {}
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for eid, mod, name in CHECK_CALL.findall(src):
            assert mod == module, f"{eid} is checked with {mod}.{name} in {module}'s notebook"
            assert calls.setdefault(eid, name) == name, f"{eid} is checked by two functions"
    return calls


def test_there_are_exercise_modules():
    assert "ch07" in MODULES and "ch04" in MODULES


@pytest.mark.parametrize("module", MODULES)
def test_every_check_is_used_and_every_exercise_has_a_planted_answer(module):
    mod = importlib.import_module(f"course_utils.exercises.{module}")
    checks = {n for n in dir(mod) if n.startswith("check_") and callable(getattr(mod, n))}
    calls = check_calls(module)
    assert calls, f"notebook {notebook_of(module).name} has no cu.check(..., lambda: {module}.check_...) cells"
    assert all(eid.startswith(module[2:] + ".") for eid in calls), f"ids of another chapter: {sorted(calls)}"
    unused = checks - set(calls.values())
    assert not unused, f"{module} defines checks that no cell of its notebook calls: {sorted(unused)}"
    planted = getattr(mod, "PLANTED", None)
    assert isinstance(planted, dict), f"{module} has no PLANTED dict (one wrong answer per exercise id)"
    assert set(planted) == set(calls), (f"{module}.PLANTED does not cover the notebook's exercises: missing "
                                        f"{sorted(set(calls) - set(planted))}, extra {sorted(set(planted) - set(calls))}")
    n_code = sum(1 for e in calls if ".q" not in e)
    n_quiz = len(calls) - n_code
    assert 5 <= n_code <= 8 and 2 <= n_quiz <= 4, f"{module}: {n_code} exercises and {n_quiz} questions"


def _planted_cases():
    for module in MODULES:
        mod = importlib.import_module(f"course_utils.exercises.{module}")
        try:
            calls = check_calls(module)
        except AssertionError:
            continue
        for eid, name in sorted(calls.items()):
            if eid in getattr(mod, "PLANTED", {}):
                yield pytest.param(mod, eid, name, id=eid)


@pytest.mark.parametrize("mod, eid, name", list(_planted_cases()))
def test_each_check_rejects_its_planted_wrong_answer_with_a_message(mod, eid, name, monkeypatch):
    monkeypatch.setattr(ex, "_CHECKS", {})
    shown = []
    monkeypatch.setattr(ex, "_show", lambda bundle, line: shown.append(bundle[ex.MIME]))
    check, planted = getattr(mod, name), mod.PLANTED[eid]
    t0 = time.perf_counter()
    passed = ex.check(eid, lambda: check(planted))
    seconds = time.perf_counter() - t0
    message = shown[-1]["message"]
    assert not passed, f"{eid}: {name} accepted the planted wrong answer"
    assert message and message != ex.NOT_ATTEMPTED, f"{eid}: no message"
    assert not message.startswith("your code raised"), f"{eid}: the check crashed on a wrong answer: {message}"
    assert len(message.split()) >= 4, f"{eid}: the message says too little: {message!r}"
    assert seconds < 1.0, f"{eid}: the check took {seconds:.2f} s (should be well under a second)"
