"""Grade a class: run every student's notebook and collect the exercises' own checks into one table.

    python -m course_utils grade notebooks/07_pretrain_finetune.ipynb submissions/ --out grades/07

THIS EXECUTES YOUR STUDENTS' CODE. Each submitted notebook runs, top to bottom, in a kernel of its
own (a separate process, started and stopped by the batch runner) with a time limit per cell, under
your user account, with your files and your network. Run it in a container, a virtual machine or a
throwaway account. A notebook can also forge its check outputs (its code runs in the same kernel
as the checks): the grader is a feedback tool for a class, not a proctor.

How: the exercises expected are the `cu.check("NN.k", ...)` calls of the instructor's NOTEBOOK
(the committed notebook with the solutions). Every submission is executed through the batch
runner's one execution path (batch.execute_all: a worker process per notebook, its kernel killed
with it, a per-cell timeout, resume of finished runs, and a Dask cluster with --scheduler); the
executed copies are kept in DIR/runs/. Every check's result is read back from the executed
notebook's outputs (the MIME type `application/vnd.course-check+json` that cu.check publishes).

A submission that fails is a grade, never a crash of the grader: not valid JSON ("unreadable"), a
cell that raises ("crashed at cell [N]"), a loop that never ends ("timed out at cell [N]"), a
check cell deleted or changed ("missing"). The checks that ran before a crash keep their result.

Written to DIR: grades.csv (one row per student and exercise: passed 1/0 and the check's message),
totals.csv (one row per student: checks passed, out of how many, how the run ended) and
summary.png (the pass rate of every exercise). Run the same command again and the students whose
notebooks ran to the end and have not changed are not executed again (--force runs everyone).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .._files import atomic_writer
from ..exercises import MIME
from ..profiles import PROFILES, ProfileError
from . import notebooks
from .batch import INTERRUPTED, Run, execute_all, format_table, guarded, lock_out, prepare_out
from .exercises_cli import _CHECK_ID

DEFAULT_TIMEOUT = 300  # seconds per cell: a loop that never ends costs the class this much, once
WARNING = ("[grade] This runs your students' code: each notebook is executed in its own kernel (its own process) "
           "with a limit of {timeout} s per cell, under your account and with your files. Run it in a container "
           "or a throwaway account.")


class GradeError(ProfileError):
    """A grading job that cannot start (exit 2): no checks in the notebook, no submissions, bad options."""


# -- what is expected --------------------------------------------------------------------------


def expected_ids(nb_path) -> list[str]:
    """The exercise ids the instructor's notebook checks, in order of first appearance."""
    nb = notebooks.read_notebook(nb_path)
    ids = [m.group(1) for c in nb.cells if c.cell_type == "code" for m in _CHECK_ID.finditer(c.source)]
    if not ids:
        raise GradeError(f"{Path(nb_path).name} has no exercise checks (cells calling cu.check(\"NN.k\", ...)); "
                         "give the instructor's notebook of a chapter with exercises")
    return list(dict.fromkeys(ids))


# -- who submitted what ------------------------------------------------------------------------


@dataclass
class Submission:
    student: str
    path: Path
    unreadable: str = ""  # why the file is not a notebook ('' when it is one)
    inject: dict = field(default_factory=dict)


def find_submissions(paths, exclude: Path | None = None) -> list[Path]:
    """Notebook files from files and folders (a folder: every .ipynb below it, checkpoints left out)."""
    found = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(f for f in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in f.parts
                            and not (exclude and exclude in f.resolve().parents))
        elif p.is_file():
            found.append(p)
        else:
            raise GradeError(f"no such submission: {p}")
    found = list(dict.fromkeys(f.resolve() for f in found))
    if not found:
        raise GradeError("no notebooks among the submissions given")
    return found


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=+-]", "-", name).strip(".-") or "student"


def student_names(paths: list[Path]) -> list[str]:
    """A student's name is the file's stem, or its folder's name where the stems repeat
    (submissions/alice/07.ipynb, submissions/bob/07.ipynb); names must end up distinct."""
    stems = [p.stem for p in paths]
    names = [_safe(p.stem if stems.count(p.stem) == 1 else p.parent.name) for p in paths]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        clash = [str(p) for p, n in zip(paths, names) if n == dupes[0]]
        raise GradeError(f"two submissions would be graded as the same student {dupes[0]!r}: {', '.join(clash)}; "
                         "give each student's notebook its own file name or its own folder")
    return names


def read_submission(student: str, path: Path, profile: str | None) -> Submission:
    """Check that the file is a notebook (it is not executed if not); inject the profile if it takes one."""
    sub = Submission(student, path)
    try:
        json.loads(path.read_text(encoding="utf-8"))
        notebooks.read_notebook(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        sub.unreadable = f"not valid JSON ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"[:200]
        return sub
    except ProfileError as exc:
        sub.unreadable = str(exc)[:200]
        return sub
    try:
        if profile is not None and "profile" in notebooks.read_parameters(path):
            sub.inject = {"profile": profile}
    except ProfileError:
        pass  # no parameters cell (or an odd one): the profile still reaches the kernel as $COURSE_PROFILE
    return sub


# -- reading the results back ------------------------------------------------------------------


def checks_in(executed: Path) -> dict[str, tuple[bool, str]]:
    """{exercise: (passed, message)} from an executed notebook's outputs; the last check of an id wins."""
    try:
        nb = json.loads(executed.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found = {}
    for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        for out in cell.get("outputs", []) or []:
            data = out.get("data", {}) if isinstance(out, dict) else {}
            payload = data.get(MIME) if isinstance(data, dict) else None
            if isinstance(payload, dict) and "exercise" in payload:
                found[str(payload["exercise"])] = (payload.get("passed") is True, str(payload.get("message", "")))
    return found


def _failed_cell(executed: Path, report: dict):
    """The execution count of the cell the run stopped at: papermill's, else the last cell that started.
    After a timeout or a dead kernel papermill marks every cell 'completed', even the ones that never ran;
    only those that ran have a start_time."""
    if report.get("failed_cell") is not None:
        return report["failed_cell"]
    try:
        nb = json.loads(executed.read_text(encoding="utf-8"))
        started = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"
                   and c.get("metadata", {}).get("papermill", {}).get("start_time")]
        # a cell stopped before any output has no count yet; in a top-to-bottom run it is the n-th code cell run
        return (started[-1].get("execution_count") or len(started)) if started else None
    except (OSError, ValueError, AttributeError):
        return None


def outcome(report: dict, executed: Path, timeout: int) -> tuple[str, str]:
    """(status, why) of one run: ok, crashed, timed out; why names the cell and the error."""
    if report.get("status") == "ok":
        return "ok", ""
    error = report.get("error", "") or "the run failed"
    cell = _failed_cell(executed, report)
    at = f" at cell [{cell}]" if cell is not None else ""
    if "CellTimeoutError" in error or "timed out" in error.lower():
        return "timed out", f"timed out{at} (over {timeout} s)"
    return "crashed", f"crashed{at}: {error}"


def grade_rows(subs: list[Submission], reports: dict, ids: list[str], out: Path, timeout: int):
    """One row per student and exercise, and one total per student."""
    rows, totals = [], []
    for sub in subs:
        executed = out / "runs" / f"{sub.student}.ipynb"
        if sub.unreadable:
            status, why, results = "unreadable", f"unreadable: {sub.unreadable}", {}
        else:
            status, why = outcome(reports[sub.student], executed, timeout)
            results = checks_in(executed)
        for eid in ids:
            if eid in results:
                passed, message = results[eid]
            else:
                passed = False
                message = why or "missing: no check of this exercise ran (its check cell was deleted or changed)"
            rows.append({"student": sub.student, "exercise": eid, "passed": int(passed), "message": message})
        n = sum(r["passed"] for r in rows[-len(ids):])
        if status == "ok" and any(eid not in results for eid in ids):
            status = "missing checks"
        totals.append({"student": sub.student, "passed": n, "of": len(ids), "status": status,
                       "note": why, "notebook": str(sub.path)})
    return rows, totals


def write_csv(rows: list[dict], path: Path) -> None:
    with atomic_writer(path, "w") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def plot_pass_rates(rows: list[dict], ids: list[str], n_students: int, path: Path, title: str) -> None:
    """Horizontal bars: the share of students whose check of each exercise passed."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = [sum(r["passed"] for r in rows if r["exercise"] == eid) / n_students for eid in ids]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(ids) + 1.5))
    y = list(range(len(ids)))[::-1]
    ax.barh(y, [100 * r for r in rates], color="tab:green", alpha=0.8)
    ax.set_yticks(y, ids)
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"students whose check passed (%, of {n_students})")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -- the command -------------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m course_utils grade",
        description="Grade a class with the exercises' own checks. WARNING: this EXECUTES each student's "
                    "notebook (their code), each in its own kernel with a per-cell timeout, under your account: "
                    "run it in a container or a throwaway account. A notebook that crashes, loops, deletes its "
                    "checks or is not valid JSON is graded as failed, not a crash of the grader.")
    ap.add_argument("notebook", type=Path, help="the instructor's notebook (with solutions): it says which exercises exist")
    ap.add_argument("submissions", nargs="+", type=Path,
                    help="students' notebooks, or folders of them (student = file name, or folder name when the "
                         "file names repeat)")
    ap.add_argument("--out", type=Path, required=True, help="folder for runs/, grades.csv, totals.csv and summary.png")
    ap.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT,
                    help=f"seconds allowed per cell before the notebook is stopped (default {DEFAULT_TIMEOUT})")
    ap.add_argument("--workers", type=int, default=None, help="notebooks run at the same time (default 1)")
    ap.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                    help="run the notebooks as tasks on this Dask cluster instead of local workers")
    ap.add_argument("--profile", choices=PROFILES, default="smoke",
                    help="run profile (default smoke: the checks do not depend on it and it is much faster)")
    ap.add_argument("--force", action="store_true", help="execute every submission again, even finished ones")
    return guarded(_grade, ap.parse_args(argv), f"[grade] {INTERRUPTED}")


def _grade(args) -> int:
    if args.timeout < 1:
        raise GradeError("--timeout must be at least 1 second")
    if args.workers is not None and args.workers < 1:
        raise GradeError("--workers must be at least 1")
    print(WARNING.format(timeout=args.timeout), flush=True)
    ids = expected_ids(args.notebook)
    paths = find_submissions(args.submissions, exclude=args.out.resolve())
    names = student_names(paths)
    subs = [read_submission(n, p, args.profile) for n, p in zip(names, paths)]
    if args.scheduler is not None:
        from .dask_runner import check_address, connect

        args.scheduler = check_address(args.scheduler)
        connect(args.scheduler).close()  # an unreachable cluster is refused before anything runs
    out = prepare_out(args.out)
    lock = lock_out(out)  # noqa: F841 (held until the command ends)
    print(f"[grade] {args.notebook.name}: {len(ids)} exercise(s) ({', '.join(ids)}); {len(subs)} submission(s) "
          f"-> {out}")
    for sub in subs:
        if sub.unreadable:
            print(f"[grade] {sub.student}: not executed, {sub.unreadable}")
    runs = [Run(sub.path.stem, sub.student, {}, None, sub.inject, source=str(sub.path)) for sub in subs
            if not sub.unreadable]
    reports = {}
    if runs:
        done = execute_all(args.notebook.resolve(), runs, out, workers=args.workers or 1, profile=args.profile,
                           cell_timeout=args.timeout, force=args.force, scheduler=args.scheduler,
                           log=lambda line: print(line.replace("[batch]", "[grade]"), flush=True))
        reports = {run.id: rep for run, rep in zip(runs, done)}
    rows, totals = grade_rows(subs, reports, ids, out, args.timeout)
    write_csv(rows, out / "grades.csv")
    write_csv(totals, out / "totals.csv")
    plot_pass_rates(rows, ids, len(subs), out / "summary.png", f"{args.notebook.name}: {len(subs)} student(s)")
    body = [[t["student"], f"{t['passed']}/{t['of']}", t["status"], t["note"][:70]] for t in totals]
    print("\n" + format_table(["student", "passed", "run", "note"], body, right=(1,)))
    print(f"\n[grade] grades: {out / 'grades.csv'}; totals: {out / 'totals.csv'}; pass rate per exercise: "
          f"{out / 'summary.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
