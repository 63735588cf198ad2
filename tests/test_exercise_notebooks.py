"""Both directions of the exercises, on the real chapters.

With the solutions (the committed notebooks, executed in the full profile): every exercise checked
in a notebook has a check output, and every check output passed. Without them (the learner version,
`exercises --learner`): the notebook still runs to the end in the smoke profile, and every check
says "not attempted yet". The second is measured through the grader itself, so that `grade` is also
exercised on every real chapter (one smoke run per chapter with exercises).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import nbformat
import pytest

from course_utils.exercises import MIME, NOT_ATTEMPTED
from course_utils.tools import grade
from course_utils.tools.exercises_cli import has_exercises, learner_version

ROOT = Path(__file__).resolve().parents[1]
WITH_EXERCISES = [p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) if has_exercises(p)]


def test_chapter_07_has_exercises():
    assert any(p.name.startswith("07_") for p in WITH_EXERCISES)


def check_outputs(nb) -> list[dict]:
    return [o["data"][MIME] for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
            if MIME in o.get("data", {})]


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=[p.stem for p in WITH_EXERCISES])
def test_every_check_passes_with_the_solutions(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    results = check_outputs(nb)
    expected = grade.expected_ids(path)
    assert results, f"{path.name} has exercises but no check outputs: execute it"
    assert [r["exercise"] for r in results if r["exercise"] in expected], "no expected check ran"
    missing = sorted(set(expected) - {r["exercise"] for r in results})
    assert not missing, f"{path.name}: checks without an output (re-execute the notebook): {missing}"
    failed = [f"{r['exercise']}: {r['message']}" for r in results if not r["passed"]]
    assert not failed, f"{path.name}: checks that fail on the solutions: {failed}"
    summary = [o for c in nb["cells"] if c["cell_type"] == "code" and "exercise_summary" in "".join(c["source"])
               for o in c.get("outputs", []) if o.get("output_type") == "stream"]
    assert summary, f"{path.name}: the section should end with cu.exercise_summary()"
    text = "".join(summary[0]["text"])
    m = re.search(r"(\d+) of (\d+) checks passed", text)
    assert m and m.group(1) == m.group(2) == str(len(expected)), text


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("path", WITH_EXERCISES, ids=[p.stem for p in WITH_EXERCISES])
def test_the_learner_version_runs_to_the_end_and_nothing_is_attempted(path, tmp_path, capsys):
    learner = tmp_path / "learner" / path.name
    learner.parent.mkdir()
    nbformat.write(learner_version(nbformat.read(str(path), 4), path.name), str(learner))
    out = tmp_path / "graded"
    assert grade.main([str(path), str(learner), "--out", str(out), "--profile", "smoke", "--timeout", "600"]) == 0
    capsys.readouterr()
    with open(out / "totals.csv", newline="", encoding="utf-8") as fh:
        (total,) = list(csv.DictReader(fh))
    assert total["status"] == "ok", f"the learner version of {path.name} did not run to the end: {total['note']}"
    with open(out / "grades.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["exercise"] for r in rows] == grade.expected_ids(path)
    wrong = [f"{r['exercise']}: {r['message']}" for r in rows if (r["passed"], r["message"]) != ("0", NOT_ATTEMPTED)]
    assert not wrong, f"{path.name}, learner version: checks that did not say '{NOT_ATTEMPTED}': {wrong}"
