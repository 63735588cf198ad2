"""The instructor's grader: real student notebooks, real kernels, and a table that says who passed what.

Every way a submission can go wrong (a wrong answer, a crash, a loop that never ends, deleted check
cells, a file that is not JSON, an untouched learner version) must be a row of the CSV, never a crash
of the grader; and an instructor's mistake (no checks, no submissions) is one line and exit 2.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import pytest

from course_utils.tools import grade
from course_utils.tools.exercises_cli import learner_version

SOLUTION = '''def double(x):
    """Twice x."""
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION'''
CHECK1 = 'cu.check("99.1", lambda: cu.expect_equal(double(21), 42, "double(21)"))'
QUESTION = 'def q1():\n    ### BEGIN SOLUTION\n    return "b"\n    ### END SOLUTION'
CHECK2 = 'cu.check("99.q1", lambda: cu.expect_choice(q1(), "99.q1", cu.answer_digest("99.q1", "b")))'


def notebook(path: Path, *sources: str) -> Path:
    """A notebook of code cells (the course's kernel metadata, no parameters cell: students may delete it)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                   "language_info": {"name": "python"}}
    nb.cells = [nbformat.v4.new_markdown_cell("# exercises")] + [nbformat.v4.new_code_cell(s) for s in sources]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def instructor(path: Path) -> Path:
    return notebook(path, "import course_utils as cu", SOLUTION, CHECK1, QUESTION, CHECK2, "cu.exercise_summary()")


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def grades_by_student(out: Path) -> dict[str, dict[str, tuple[str, str]]]:
    table = {}
    for r in read_csv(out / "grades.csv"):
        table.setdefault(r["student"], {})[r["exercise"]] = (r["passed"], r["message"])
    return table


# -- without kernels ---------------------------------------------------------------------------


def test_expected_ids_come_from_the_instructor_notebook(tmp_path):
    nb = instructor(tmp_path / "i.ipynb")
    assert grade.expected_ids(nb) == ["99.1", "99.q1"]
    with pytest.raises(grade.GradeError, match="no exercise checks"):
        grade.expected_ids(notebook(tmp_path / "none.ipynb", "x = 1"))


def test_student_names_from_files_or_folders(tmp_path):
    a, b = tmp_path / "alice" / "07.ipynb", tmp_path / "bob" / "07.ipynb"
    assert grade.student_names([a, b]) == ["alice", "bob"]
    assert grade.student_names([tmp_path / "alice smith.ipynb", tmp_path / "bob.ipynb"]) == ["alice-smith", "bob"]
    with pytest.raises(grade.GradeError, match="same student 'x'"):
        grade.student_names([tmp_path / "x" / "07.ipynb", tmp_path / "y" / "x" / "07.ipynb"])


def test_folders_are_expanded_and_checkpoints_skipped(tmp_path):
    sub = tmp_path / "subs"
    for name in ("a.ipynb", "b.ipynb", ".ipynb_checkpoints/a-checkpoint.ipynb"):
        (sub / name).parent.mkdir(parents=True, exist_ok=True)
        (sub / name).write_text("{}")
    assert [p.name for p in grade.find_submissions([sub])] == ["a.ipynb", "b.ipynb"]


def test_check_results_are_read_from_outputs_and_the_last_one_wins(tmp_path):
    nb = nbformat.v4.new_notebook()
    out = lambda eid, ok, msg: nbformat.v4.new_output("display_data", data={  # noqa: E731
        grade.MIME: {"exercise": eid, "passed": ok, "message": msg}, "text/plain": "line"})
    cells = [nbformat.v4.new_code_cell("a"), nbformat.v4.new_code_cell("b"), nbformat.v4.new_markdown_cell("c")]
    cells[0].outputs = [out("99.1", False, "sign"), out("99.q1", False, "no")]
    cells[1].outputs = [out("99.1", True, "")]
    nb.cells = cells
    path = tmp_path / "e.ipynb"
    nbformat.write(nb, str(path))
    assert grade.checks_in(path) == {"99.1": (True, ""), "99.q1": (False, "no")}
    path.write_text("{not json")
    assert grade.checks_in(path) == {}


@pytest.mark.parametrize("argv, words", [
    (["--timeout", "0"], "--timeout must be at least 1"),
    (["--workers", "0"], "--workers must be at least 1"),
])
def test_bad_options_exit_2(tmp_path, capsys, argv, words):
    nb = instructor(tmp_path / "i.ipynb")
    assert grade.main([str(nb), str(nb), "--out", str(tmp_path / "o"), *argv]) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_user_errors_exit_2_with_one_line_and_write_nothing(tmp_path, capsys):
    nb = instructor(tmp_path / "i.ipynb")
    out = tmp_path / "o"
    assert grade.main([str(nb), str(tmp_path / "missing.ipynb"), "--out", str(out)]) == 2
    assert "no such submission" in capsys.readouterr().err
    plain = notebook(tmp_path / "plain.ipynb", "x = 1")
    assert grade.main([str(plain), str(nb), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no exercise checks" in err and "Traceback" not in err
    (tmp_path / "empty").mkdir()
    assert grade.main([str(nb), str(tmp_path / "empty"), "--out", str(out)]) == 2
    assert "no notebooks" in capsys.readouterr().err
    assert not out.exists()


def test_an_unreadable_submission_is_graded_without_a_kernel(tmp_path, capsys):
    nb = instructor(tmp_path / "i.ipynb")
    bad = tmp_path / "subs" / "frank.ipynb"
    bad.parent.mkdir()
    bad.write_text('{"cells": [', encoding="utf-8")
    out = tmp_path / "o"
    assert grade.main([str(nb), str(bad), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].startswith("[grade] This runs your students' code")
    rows = grades_by_student(out)["frank"]
    assert set(rows) == {"99.1", "99.q1"}
    assert all(p == "0" and m.startswith("unreadable: not valid JSON") for p, m in rows.values())
    total = read_csv(out / "totals.csv")[0]
    assert (total["passed"], total["of"], total["status"]) == ("0", "2", "unreadable")
    assert (out / "summary.png").stat().st_size > 1000


# -- a class, with real kernels ----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_class_is_graded_and_every_failure_is_a_grade(tmp_path, capsys):
    inst = instructor(tmp_path / "instructor.ipynb")
    subs = tmp_path / "subs"
    notebook(subs / "alice.ipynb", "import course_utils as cu", SOLUTION, CHECK1, QUESTION, CHECK2,
             "cu.exercise_summary()")
    notebook(subs / "bob.ipynb", "import course_utils as cu", SOLUTION.replace("2 * x", "x + x + 1"), CHECK1,
             QUESTION.replace('"b"', '"c"'), CHECK2)
    notebook(subs / "carol.ipynb", "import course_utils as cu", SOLUTION, CHECK1, "1 / 0", QUESTION, CHECK2)
    notebook(subs / "dave.ipynb", "import course_utils as cu", SOLUTION, "while True:\n    pass", CHECK1, QUESTION,
             CHECK2)
    notebook(subs / "eve.ipynb", "import course_utils as cu", SOLUTION, QUESTION, CHECK2)  # deleted check 99.1
    (subs / "frank.ipynb").write_text("this is not json", encoding="utf-8")
    learner = learner_version(nbformat.read(str(inst), 4))
    nbformat.write(learner, str(subs / "grace.ipynb"))
    out = tmp_path / "grades"
    TIMEOUT = 8  # per cell: dave's loop is stopped; a slow import on a busy 2-core CI machine is not
    argv = [str(inst), str(subs), "--out", str(out), "--timeout", str(TIMEOUT), "--workers", "2"]

    assert grade.main(argv) == 0  # failed students are grades, not a failure of the command
    printed = capsys.readouterr().out
    assert printed.splitlines()[0] == grade.WARNING.format(timeout=TIMEOUT)
    g = grades_by_student(out)
    assert set(g) == {"alice", "bob", "carol", "dave", "eve", "frank", "grace"}
    assert g["alice"] == {"99.1": ("1", ""), "99.q1": ("1", "")}
    assert g["bob"]["99.1"] == ("0", "double(21) is too large")
    assert g["bob"]["99.q1"][0] == "0" and "'c' is not right" in g["bob"]["99.q1"][1]
    # carol: the check before the crash counts; the one after it never ran
    assert g["carol"]["99.1"] == ("1", "")
    assert g["carol"]["99.q1"][0] == "0"
    assert g["carol"]["99.q1"][1].startswith("crashed at cell [") and "ZeroDivisionError" in g["carol"]["99.q1"][1]
    # dave loops for ever in the cell after his solution (execution count 3)
    assert all(p == "0" and m == f"timed out at cell [3] (over {TIMEOUT} s)" for p, m in g["dave"].values()), g["dave"]
    assert g["eve"]["99.1"][0] == "0" and g["eve"]["99.1"][1].startswith("missing")
    assert g["eve"]["99.q1"] == ("1", "")
    assert all(m.startswith("unreadable") for _, m in g["frank"].values())
    assert g["grace"] == {"99.1": ("0", "not attempted yet"), "99.q1": ("0", "not attempted yet")}

    totals = {t["student"]: t for t in read_csv(out / "totals.csv")}
    assert {s: (t["passed"], t["status"]) for s, t in totals.items()} == {
        "alice": ("2", "ok"), "bob": ("0", "ok"), "carol": ("1", "crashed"), "dave": ("0", "timed out"),
        "eve": ("1", "missing checks"), "frank": ("0", "unreadable"), "grace": ("0", "ok")}
    assert (out / "runs" / "dave.ipynb").exists() and (out / "summary.png").stat().st_size > 1000
    status = json.loads((out / "runs" / "alice.status.json").read_text())
    assert status["fingerprint"]["profile"] == "smoke"

    # Run again: the notebooks that ran to the end and did not change are not executed again (resume)
    stamp = (out / "runs" / "alice.ipynb").stat().st_mtime_ns
    (subs / "carol.ipynb").write_text((subs / "carol.ipynb").read_text().replace("1 / 0", "0 / 1"))
    (subs / "dave.ipynb").unlink()
    assert grade.main(argv) == 0
    printed = capsys.readouterr().out
    assert "4 of 5 runs already finished" in printed and "running 1 notebook" in printed
    assert (out / "runs" / "alice.ipynb").stat().st_mtime_ns == stamp
    g = grades_by_student(out)
    assert g["carol"] == {"99.1": ("1", ""), "99.q1": ("1", "")} and "dave" not in g
