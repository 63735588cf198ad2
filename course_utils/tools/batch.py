"""The instructor's batch runner: one notebook over a grid of parameters and seeds, one table at the end.

    python -m course_utils batch notebooks/06_overfitting.ipynb \\
        --param remedy=baseline,dropout --param dropout=0.3,0.5 --seeds 0,1,2 \\
        --workers 2 --out runs/sweep --profile smoke

Three steps, in this order:

1. *Validate.* The grid (every combination of the `--param` values, times the seeds) is checked
   against the notebook's parameters cell (names, types, values) before anything runs; any problem
   stops the batch with exit code 2 and a list of every problem, and no run starts.
2. *Execute.* Each run executes in its own worker process (course_utils/tools/execute.py); the
   executed copy is kept as DIR/runs/<run-id>.ipynb, with a readable run id such as
   `dropout=0.3_remedy=dropout_seed=1`. A failing run is reported (its cell and error); the others
   carry on. Ctrl-C or a killed batch stops every worker and kernel.
3. *Collect.* What each run recorded with `cu.record` goes into DIR/results.csv (one row per run,
   the same columns as `python -m course_utils run` writes); a table of mean ± std over seeds per
   grid point is printed and plotted to DIR/summary.png.

Run the same command again and finished runs are skipped (resume): only failed, missing or stale
runs (the notebook or the settings changed since) execute again. `run` (run.py) is this runner
with no grid: it shares the plan, the execution, results.csv and the table printer.
"""

from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import itertools
import json
import math
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .._console import log as _stderr
from .._files import atomic_write, atomic_writer, sha256_file
from ..profiles import ENV_VAR, PROFILES, ProfileError
from . import notebooks
from .execute import Job, run_jobs

STATUS_SUFFIX = ".status.json"
INTERRUPTED = "interrupted: every running notebook was stopped; run the same command again to resume"


class BatchError(ProfileError):
    """A batch that cannot start: bad grid, unknown parameter, wrong type or value."""


# ---------------------------------------------------------------------------------------------
# 1. The grid
# ---------------------------------------------------------------------------------------------


def split_values(text: str) -> list[str]:
    """Split `a,b,c` on the commas that are not inside quotes or brackets: `"x,y",[1,2]` is two values."""
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def parse_value(raw: str):
    """A Python literal (`3`, `0.1`, `True`, `None`, `'a,b'`) where it is one, else the string itself."""
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return raw


def parse_grid(param_args: list[str], *, single: bool = False) -> dict[str, list]:
    """{name: [values]} from `--param name=v1,v2` options (a repeated name adds values).

    With single=True (the `run` command) each option is one value, commas included.
    """
    grid: dict[str, list] = {}
    for text in param_args:
        name, sep, raw = text.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise BatchError(f"--param takes name=value{'' if single else 's (v1,v2,...)'}, got {text!r}")
        parts = [raw.strip()] if single else split_values(raw)
        if any(p == "" for p in parts):
            raise BatchError(f"--param {text!r} has an empty value (quote it, '\"\"', to mean the empty string)")
        for value in map(parse_value, parts):
            if value not in grid.setdefault(name, []):
                grid[name].append(value)
    return grid


def parse_seeds(text: str | None) -> list[int]:
    if text is None or text.strip() == "":
        return []
    try:
        seeds = [int(s) for s in split_values(text)]
    except ValueError:
        raise BatchError(f"--seeds takes integers like 0,1,2, got {text!r}") from None
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise BatchError(f"--seeds must be distinct non-negative integers, got {text!r}")
    return seeds


def _fmt_value(value) -> str:
    return value if isinstance(value, str) else repr(value)


def run_id(params: dict, seed: int | None) -> str:
    """A readable id that depends only on the settings: names sorted, seed last.

    Characters that are unsafe in a file name are replaced, and a short hash of the exact settings
    is then appended so that two different settings can never share an id.
    """
    pairs = [f"{k}={_fmt_value(params[k])}" for k in sorted(params)]
    if seed is not None:
        pairs.append(f"seed={seed}")
    text = "_".join(pairs) or "default"
    safe = re.sub(r"[^A-Za-z0-9._=+-]", "-", text)
    if safe != text or len(safe) > 120:
        digest = hashlib.sha1(json.dumps([sorted(params.items(), key=str), seed], default=repr).encode()).hexdigest()[:6]
        safe = f"{safe[:110]}~{digest}"
    return safe


@dataclass
class Run:
    """One grid point with one seed, of one notebook."""

    notebook: str  # the notebook's stem
    id: str
    params: dict  # the swept parameters, without the seed
    seed: int | None
    inject: dict = field(default_factory=dict)  # everything papermill injects
    source: str | None = None  # the notebook this run executes, when not the batch's own (grade: a student's)


def seed_parameter(known: dict) -> tuple[str, type] | None:
    """Which parameter takes the seed: `seed` (int) if the notebook has it, else `seeds` (a str like '0,1,2')."""
    if "seed" in known:
        return "seed", int
    if "seeds" in known:
        return "seeds", str
    return None


def plan(nb_path, grid: dict[str, list], seeds: list[int], profile: str | None = None,
         *, inject_profile: bool = True) -> list[Run]:
    """Expand and validate the grid; raises BatchError naming every problem, before anything runs.

    `--param seed=1,2` is the same as `--seeds 1,2`, so a run has one seed column whichever way it
    was given. With inject_profile, `profile` is also passed to notebooks that declare it.
    """
    nb_path = Path(nb_path)
    known = notebooks.read_parameters(nb_path)
    grid = dict(grid)
    problems = []
    seed_param = seed_parameter(known)
    if "seed" in grid and seed_param and seed_param[0] == "seed":
        if seeds:
            problems.append("give the seeds either with --seeds or with --param seed=..., not both")
        else:
            given = grid.pop("seed")
            problems += [p for v in given for p in notebooks.problems(known, {"seed": v})]
            seeds = [v for v in given if isinstance(v, int) and not isinstance(v, bool) and v >= 0]
    if seeds and seed_param is None:
        problems.append(f"--seeds given but {nb_path.name} has no `seed` or `seeds` parameter")
    if seed_param and seed_param[0] in grid and seeds:
        problems.append(f"give the seeds either with --seeds or with --param {seed_param[0]}=..., not both")
    if profile is not None and "profile" in grid:
        problems.append(f"the profile is given twice: --profile {profile} and --param profile=...; give it once")
    for name, values in grid.items():  # each value on its own, so one message lists every bad value
        for value in values:
            problems += notebooks.problems(known, {name: value})
    if problems:
        raise BatchError(f"{nb_path.name}: nothing was run:\n  - " + "\n  - ".join(dict.fromkeys(problems)))

    names = list(grid)
    runs, seen = [], {}
    for combo in itertools.product(*(grid[n] for n in names)):
        params = dict(zip(names, combo))
        for seed in seeds or [None]:
            inject = dict(params)
            if seed is not None:
                inject[seed_param[0]] = seed if seed_param[1] is int else str(seed)
            if inject_profile and profile is not None and "profile" in known:
                inject["profile"] = profile
            rid = run_id(params, seed)
            if rid in seen:  # e.g. 1 and 1.0 given as two values
                raise BatchError(f"two grid points share the run id {rid!r}: {seen[rid]} and {params}")
            seen[rid] = params
            runs.append(Run(nb_path.stem, rid, params, seed, inject))
    return runs


# ---------------------------------------------------------------------------------------------
# 2. Execution, with resume
# ---------------------------------------------------------------------------------------------


def _status_path(runs_dir: Path, rid: str) -> Path:
    return runs_dir / f"{rid}{STATUS_SUFFIX}"


def previous_status(runs_dir: Path, run: Run, fingerprint: dict) -> tuple[dict | None, str]:
    """The stored report of a finished run, and why it must run again ('' when it need not)."""
    path = _status_path(runs_dir, run.id)
    if not path.exists():
        return None, "new"
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, "unreadable status"
    if status.get("status") != "ok":
        return status, "failed before"
    if not (runs_dir / f"{run.id}.ipynb").exists():
        return status, "executed notebook missing"
    if status.get("fingerprint") != fingerprint or status.get("inject") != json.loads(json.dumps(run.inject)):
        return status, "notebook or settings changed"
    return status, ""


def kernel_env(workers: int, profile: str | None) -> dict:
    """Math threads per kernel (cores / workers unless $COURSE_THREADS is set) and the profile."""
    from ..device import physical_cores

    env = {"COURSE_THREADS": os.environ.get("COURSE_THREADS") or str(max(1, physical_cores() // max(1, workers)))}
    if profile is not None:
        env[ENV_VAR] = profile
    return env


def failure_line(label: str, report: dict) -> str:
    where = f"cell [{report['failed_cell']}]: " if report.get("failed_cell") is not None else ""
    return f"FAILED {label}: {where}{report.get('error', '')}"


def execute_all(nb_path: Path, runs: list[Run], out: Path, *, workers: int, profile: str | None,
                cell_timeout: int | None = None, force: bool = False, log=print,
                scheduler: str | None = None) -> list[dict]:
    """Run what needs running (in parallel), skip what already finished; one report per run, in grid order.

    scheduler: None runs `workers` local worker processes; an address (tcp://HOST:PORT) runs each
    run as a task on that Dask cluster (dask_runner.py) and `workers` is the cluster's business.
    This is the one execution path of `batch` (and of any command that runs notebooks in bulk)."""
    runs_dir = out / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = {"notebook": sha256_file(nb_path), "profile": profile}
    own = {run.id: {"notebook": sha256_file(run.source), "profile": profile} for run in runs if run.source}
    if scheduler is None:
        env = kernel_env(workers, profile)
    else:  # the threads per kernel are decided on each worker, from its own cores
        from .dask_runner import local_env

        env = {**local_env(), **({ENV_VAR: profile} if profile is not None else {})}

    reports: dict[str, dict] = {}
    todo = []
    for run in runs:
        status, why = (None, "forced") if force else previous_status(runs_dir, run, own.get(run.id, fingerprint))
        if why:
            todo.append(run)
        else:
            reports[run.id] = dict(status, skipped=True)
    if reports:
        log(f"[batch] {len(reports)} of {len(runs)} runs already finished; skipping them (resume)")
    total = len(todo)
    if not total:
        return [reports[run.id] for run in runs]
    swept = any("profile" in run.params for run in todo)
    where = f"on the Dask cluster at {scheduler}" if scheduler else f"with {min(workers, total)} worker(s)"
    log(f"[batch] running {total} notebook(s) {where}, profile "
        f"{'as given by --param profile' if swept else profile or os.environ.get(ENV_VAR) or 'full (default)'}")
    by_id = {run.id: run for run in todo}

    def finish(job: Job, report: dict):
        run = by_id[job.key]
        report.update(run_id=run.id, params=run.params, seed=run.seed, inject=run.inject,
                      fingerprint=own.get(run.id, fingerprint), skipped=False)
        atomic_write(_status_path(runs_dir, run.id), json.dumps(report, indent=1, default=repr) + "\n")
        reports[run.id] = report
        line = f"[batch] {len(reports) - (len(runs) - total)}/{total} {report['status']:<6} {run.id} ({report['seconds']:.1f} s)"
        if report["status"] != "ok":
            line += f"\n        -> {failure_line(run.id, report).split(': ', 1)[1]}\n        -> see {job.output}"
        log(line)

    for run in todo:  # a stale status must not survive an interrupted rerun
        _status_path(runs_dir, run.id).unlink(missing_ok=True)
    # A swept `profile` also sets $COURSE_PROFILE, so that nothing in the kernel sees another label.
    jobs = [Job(run.id, run.source or str(nb_path), str(runs_dir / f"{run.id}.ipynb"), run.inject,
                {**env, ENV_VAR: run.params["profile"]} if run.params.get("profile") else env, cell_timeout)
            for run in todo]
    if scheduler is None:
        run_jobs(jobs, min(workers, total), finish)
    else:
        from . import dask_runner

        dask_runner.run_jobs(jobs, scheduler, finish, log)
    return [reports[run.id] for run in runs]


# ---------------------------------------------------------------------------------------------
# 3. Collection: results.csv and the tables (shared with `run`)
# ---------------------------------------------------------------------------------------------


def result_rows(runs: list[Run], reports: list[dict], outputs: list[Path]) -> list[dict]:
    """One row per run: the settings, the outcome and what the executed notebook recorded."""
    rows = []
    for run, rep, nb_out in zip(runs, reports, outputs):
        try:
            results = notebooks.read_results(nb_out) if Path(nb_out).exists() else {}
        except ProfileError:  # a run killed while papermill was writing
            results = {}
        rows.append({"notebook": run.notebook, "run_id": run.id, "params": run.params, "seed": run.seed,
                     "status": rep["status"], "seconds": rep.get("seconds"), "error": rep.get("error", ""),
                     "failed_cell": rep.get("failed_cell"), "results": results})
    return rows


def write_results_csv(rows: list[dict], path: Path) -> list[str]:
    """results.csv, the one layout of both commands: notebook, run_id, <params>, seed, status, seconds,
    error, failed_cell, <results> (`<name>_recorded` where a result shares a column's name).
    Returns the result names in order of first appearance."""
    params = list(dict.fromkeys(k for r in rows for k in r["params"]))
    results = list(dict.fromkeys(k for r in rows for k in r["results"]))
    fixed = ["seed", "status", "seconds", "error", "failed_cell"]
    taken = {"notebook", "run_id", *params, *fixed}  # a result named like a column gets a suffix
    with atomic_writer(path, "w") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["notebook", "run_id", *params, *fixed, *(f"{k}_recorded" if k in taken else k for k in results)])
        for r in rows:
            cells = [r["notebook"], r["run_id"], *(r["params"].get(k) for k in params), *(r[k] for k in fixed),
                     *(r["results"].get(k) for k in results)]
            out.writerow(["" if c is None else json.dumps(c) if isinstance(c, (list, dict)) else c for c in cells])
    return results


def format_table(header: list[str], rows: list[list[str]], right: tuple[int, ...] = ()) -> str:
    """A plain-text table: a header, a rule, one line per row; columns in `right` right-aligned."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]

    def line(cells):
        return "  ".join(f"{c:>{w}}" if i in right else f"{c:<{w}}" for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _mean_std(values: list[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return mean, std


def summarise(runs: list[Run], rows: list[dict], result_names: list[str]) -> list[dict]:
    """Mean and std (over seeds, successful runs only) of each numeric result, per grid point."""
    groups: dict[str, dict] = {}
    for run, row in zip(runs, rows):
        key = json.dumps(run.params, sort_keys=True, default=repr)
        g = groups.setdefault(key, {"params": run.params, "n": 0, "failed": 0, "values": {}})
        if row["status"] != "ok":
            g["failed"] += 1
            continue
        g["n"] += 1
        for name in result_names:
            value = row["results"].get(name)
            if _is_number(value):
                g["values"].setdefault(name, []).append(float(value))
    return [{"params": g["params"], "n": g["n"], "failed": g["failed"],
             "stats": {name: _mean_std(vals) for name, vals in g["values"].items()}} for g in groups.values()]


def _label(params: dict) -> str:
    return ", ".join(f"{k}={_fmt_value(v)}" for k, v in params.items()) or "(defaults)"


def print_summary(summary: list[dict], metrics: list[str], log=print) -> None:
    if not summary:
        return
    body = [[_label(s["params"]), str(s["n"]), str(s["failed"]),
             *(f"{s['stats'][m][0]:.4g} ± {s['stats'][m][1]:.2g}" if m in s["stats"] else "-" for m in metrics)]
            for s in summary]
    log("\n" + format_table(["grid point", "ok", "failed", *metrics], body, right=tuple(range(1, 3 + len(metrics)))))
    log("(mean ± std over seeds; std uses n-1; failed runs are left out)")


def plot_summary(summary: list[dict], metric: str, path: Path, title: str = "batch summary") -> bool:
    """Horizontal bars of one result per grid point with std error bars; False when nothing to plot."""
    points = [s for s in summary if metric in s["stats"]]
    if not points:
        return False
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{_label(s['params'])}  (n={s['n']})" for s in points]
    means = [s["stats"][metric][0] for s in points]
    stds = [s["stats"][metric][1] for s in points]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(points) + 1.4))
    y = list(range(len(points)))[::-1]
    ax.barh(y, means, xerr=stds, color="tab:blue", alpha=0.75, capsize=4)
    ax.set_yticks(y, labels)
    lo = min(m - s for m, s in zip(means, stds))
    hi = max(m + s for m, s in zip(means, stds))
    pad = (hi - lo) * 0.15 or abs(hi) * 0.05 or 1.0
    if lo > 0 and lo - pad > 0 and (hi - lo) < 0.5 * hi:
        ax.set_xlim(lo - pad, hi + pad)  # zoom in when the differences are small next to the values
    ax.set_xlabel(f"{metric} (mean ± std over seeds)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def prepare_out(out: Path) -> Path:
    """Create the output folder, or say clearly why it cannot be (a file of that name, no permission)."""
    out = out.resolve()
    if out.exists() and not out.is_dir():
        raise BatchError(f"--out {out} is a file; give a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(f"cannot create --out {out}: {exc.strerror or exc}") from None
    return out


def lock_out(out: Path):
    """Hold DIR/.lock while this command writes there: two commands on one folder would mix their runs.

    Returns the open lock file (keep it; the lock goes when it is closed or the process ends).
    """
    fh = open(out / ".lock", "a")
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        return fh
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise BatchError(f"another batch or run is writing to {out}; wait for it, or give another --out") from None
    return fh


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m course_utils batch",
        description="Run one notebook over a grid of parameters and seeds; collect one table and one plot.",
    )
    ap.add_argument("notebook", type=Path, help="the notebook to run, e.g. notebooks/06_overfitting.ipynb")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=V1,V2",
                    help="a parameter and the values to sweep (repeatable; values are Python literals, else strings)")
    ap.add_argument("--seeds", default=None, help="seeds to repeat every grid point with, e.g. 0,1,2")
    ap.add_argument("--workers", type=int, default=None, help="notebooks run at the same time (default 1; "
                    "with --scheduler the cluster's workers decide)")
    ap.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                    help="run each notebook as a task on this Dask cluster instead of local workers (docs/CLUSTER.md)")
    ap.add_argument("--out", type=Path, required=True, help="folder for runs/, results.csv and summary.png")
    ap.add_argument("--profile", choices=PROFILES, default=None,
                    help="run profile (default: $COURSE_PROFILE, else the notebook's default: full)")
    ap.add_argument("--metric", default=None, help="result to plot (default: the first numeric result)")
    ap.add_argument("--timeout", type=int, default=None, help="seconds allowed per cell")
    ap.add_argument("--force", action="store_true", help="rerun every run, even finished ones")
    ap.add_argument("--dry-run", action="store_true", help="validate and list the grid, run nothing")
    return guarded(_batch, ap.parse_args(argv), f"[batch] {INTERRUPTED}")


def guarded(command, args, interrupted: str) -> int:
    """Run a command: a user error is one line and exit 2, Ctrl-C one line and exit 130, never a traceback."""
    try:
        return command(args)
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _stderr(f"\n{interrupted}")
        return 130


def _batch(args) -> int:
    explicit = args.profile
    profile = explicit or os.environ.get(ENV_VAR) or None
    if args.workers is not None and args.workers < 1:
        raise BatchError("--workers must be at least 1")
    if args.scheduler is not None:
        from .dask_runner import check_address

        args.scheduler = check_address(args.scheduler)
        if args.workers is not None:
            print("[batch] note: --workers is ignored with --scheduler; the cluster's workers run the notebooks")
    workers = args.workers or 1
    if profile is not None and profile not in PROFILES:
        raise BatchError(f"unknown profile {profile!r} (from ${ENV_VAR}); choose one of {', '.join(PROFILES)}")
    grid = parse_grid(args.param)
    seeds = parse_seeds(args.seeds)
    runs = plan(args.notebook, grid, seeds, explicit if "profile" in grid else profile)

    nb_path = args.notebook.resolve()
    sizes = [f"{k}({len(v)})" for k, v in grid.items() if k != "seed"]
    n_seeds = len({r.seed for r in runs if r.seed is not None})
    print(f"[batch] {nb_path.name}: {len(runs)} run(s) = "
          + (" x ".join(sizes + ([f"seeds({n_seeds})"] if n_seeds else [])) or "defaults") + f" -> {args.out}")
    if args.dry_run:
        for run in runs:
            print(f"  {run.id}: {run.inject}")
        return 0

    if args.scheduler is not None:  # an unreachable cluster is refused before anything is written
        from .dask_runner import connect

        connect(args.scheduler).close()
    out = prepare_out(args.out)
    lock = lock_out(out)  # noqa: F841 (held until the command ends)
    atomic_write(out / "batch.json", json.dumps(
        {"notebook": str(nb_path), "grid": grid, "seeds": seeds, "profile": profile,
         "workers": workers, "scheduler": args.scheduler, "runs": [r.id for r in runs]}, indent=1, default=repr) + "\n")
    reports = execute_all(nb_path, runs, out, workers=workers, profile=profile,
                          cell_timeout=args.timeout, force=args.force, scheduler=args.scheduler)
    rows = result_rows(runs, reports, [out / "runs" / f"{r.id}.ipynb" for r in runs])
    result_names = write_results_csv(rows, out / "results.csv")
    summary = summarise(runs, rows, result_names)
    numeric = [m for m in result_names if any(m in s["stats"] for s in summary)]
    print_summary(summary, numeric)
    metric = args.metric or (numeric[0] if numeric else None)
    if args.metric and args.metric not in numeric:
        print(f"[batch] note: no run recorded a numeric {args.metric!r}; recorded: {', '.join(numeric) or 'none'}")
    plotted = metric is not None and plot_summary(summary, metric, out / "summary.png", f"{nb_path.name}: {metric}")

    failed = [(r["run_id"], rep) for r, rep in zip(rows, reports) if r["status"] != "ok"]
    for rid, rep in failed:
        print(f"[batch] {failure_line(rid, rep)}")
    print(f"[batch] {len(rows) - len(failed)} ok, {len(failed)} failed; results: {out / 'results.csv'}"
          + (f"; plot of {metric}: {out / 'summary.png'}" if plotted else ""))
    if failed:
        print("[batch] run the same command again to rerun only the failed runs")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
