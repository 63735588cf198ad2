"""Run the course: execute notebooks with papermill and print one table of what they recorded.

    python -m course_utils run                       # every notebook, full profile, into runs/
    python -m course_utils run --profile smoke 01_background
    python -m course_utils run --profile full --in-place notebooks/04_mnist_cnn.ipynb   # for authors

This is the batch runner (batch.py) with no grid: each notebook is one run, planned, validated
(names, types and values, before any kernel starts), executed in a worker process and collected
by the same code, into the same results.csv layout and the same kind of table.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path

from .._console import log
from ..profiles import ENV_VAR, PROFILES, ProfileError
from . import notebooks
from .batch import INTERRUPTED, failure_line, guarded, format_table, kernel_env, lock_out, parse_grid, plan, \
    prepare_out, result_rows, write_results_csv
from .execute import Job, run_jobs

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"


def find_notebooks(names=()) -> list[Path]:
    """Course notebooks by path, file name or prefix (`04`, `04_mnist_cnn`); all of them by default."""
    every = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        if not every:
            raise ProfileError(f"no notebooks found in {NOTEBOOKS}")
        return every
    chosen = []
    for name in names:
        path = Path(name)
        if path.suffix == ".ipynb":
            if not path.is_file():
                raise ProfileError(f"no such notebook: {path}")
            chosen.append(path.resolve())
            continue
        hits = [nb for nb in every if nb.stem == name or nb.stem.startswith(name)]
        if len(hits) != 1:
            known = ", ".join(nb.stem for nb in every)
            raise ProfileError(f"no single notebook matches {name!r}; the course has: {known}")
        chosen.append(hits[0])
    return chosen


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def print_table(rows: list[dict]) -> None:
    body = [[r["notebook"], r["status"], f"{r['seconds'] or 0:.1f}",
             ", ".join(f"{k}={_fmt(v)}" for k, v in r["results"].items()) or "-"] for r in rows]
    print("\n" + format_table(["notebook", "status", "seconds", "results"], body, right=(2,)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m course_utils run", description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", help="paths, names or number prefixes; default: every notebook")
    ap.add_argument("--profile", default=None, help="full or smoke (default: $COURSE_PROFILE, else full)")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="papermill parameter (repeatable)")
    ap.add_argument("--out", type=Path, default=None, help="folder for executed copies (default runs/<time>-<profile>)")
    ap.add_argument("--in-place", action="store_true", help="authors: replace each notebook with its executed copy if it succeeds")
    ap.add_argument("--timeout", type=int, default=None, help="seconds allowed per cell")
    return guarded(_run, ap.parse_args(argv), f"[run] {INTERRUPTED.split('; ')[0]}")


def _run(args) -> int:
    params = parse_grid(args.param, single=True)
    if "profile" in params and args.profile is not None:
        raise ProfileError(f"the profile is given twice: --profile {args.profile} and --param profile=...; give it once")
    profile = args.profile or params.get("profile", [None])[0] or os.environ.get(ENV_VAR) or "full"
    if profile not in PROFILES:
        raise ProfileError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    if args.in_place and params:
        raise ProfileError("--in-place keeps the notebook's own parameter values; leave out --param")
    notebooks_ = find_notebooks(args.notebooks)
    # The profile reaches kernels as $COURSE_PROFILE (and as a parameter only if given as --param profile=...):
    # an injected cell would end up in --in-place notebooks.
    runs = [plan(nb, params, [], None if "profile" in params else profile, inject_profile=False)[0] for nb in notebooks_]
    out = prepare_out(args.out or REPO / "runs" / f"{datetime.now():%Y%m%d-%H%M%S}-{profile}")
    lock = lock_out(out)  # noqa: F841 (held until the command ends)
    outputs = {run.notebook: out / f"{run.notebook}.ipynb" for run in runs}

    reports = {}

    def done(job: Job, report: dict):
        reports[job.key] = report
        log(f"[run] {job.key}: {report['status']} in {report['seconds']:.1f} s")
        if report["status"] == "ok" and args.in_place:
            notebooks.write_clean(job.output, job.notebook)

    for nb, run in zip(notebooks_, runs):
        log(f"[run] {run.notebook} ({profile}) ...")
        run_jobs([Job(run.notebook, str(nb), str(outputs[run.notebook]), run.inject,
                      kernel_env(1, profile), args.timeout)], 1, done)
    rows = result_rows(runs, [reports[r.notebook] for r in runs], [outputs[r.notebook] for r in runs])
    write_results_csv(rows, out / "results.csv")
    print_table(rows)
    for row in rows:
        if row["status"] != "ok":
            print(f"[run] {failure_line(row['notebook'], reports[row['notebook']])}")
    print(f"\nexecuted notebooks and results.csv are in {out}")
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
