"""Run the course: execute notebooks with papermill and print one table of what they recorded.

    python -m course_utils run                       # every notebook, full profile, into runs/
    python -m course_utils run --profile smoke 01_background
    python -m course_utils run --profile full --in-place notebooks/04_mnist_cnn.ipynb   # for authors

Parameters and the profile are checked against each notebook's parameters cell before
anything runs, so a typo costs a second, not a half-hour run.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from .batch import execute_one, parse_value
from .parameters import validate
from .profiles import ENV_VAR, PROFILES, ProfileError
from .results import read_results

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"


def find_notebooks(names=()) -> list[Path]:
    """Course notebooks by path, file name or prefix (`04`, `04_mnist_cnn`); all of them by default."""
    every = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return every
    chosen = []
    for name in names:
        path = Path(name)
        if path.suffix == ".ipynb" and path.exists():
            chosen.append(path.resolve())
            continue
        hits = [nb for nb in every if nb.stem == name or nb.stem.startswith(name)]
        if len(hits) != 1:
            known = ", ".join(nb.stem for nb in every)
            raise ProfileError(f"no single notebook matches {name!r}; the course has: {known}")
        chosen.append(hits[0])
    return chosen


def parse_param(text: str):
    """`name=value` with value read as a Python literal (`3`, `0.1`, `True`), else kept as a string."""
    name, sep, raw = text.partition("=")
    if not sep or not name.isidentifier():
        raise ProfileError(f"--param takes name=value, got {text!r}")
    return name, parse_value(raw)


def _clean(nb_path: Path) -> None:
    """Drop papermill's per-cell timing metadata so an in-place run leaves a readable diff."""
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    nb.get("metadata", {}).pop("papermill", None)
    for cell in nb["cells"]:
        for key in ("papermill", "execution"):
            cell.get("metadata", {}).pop(key, None)
    nb_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def execute(nb: Path, output: Path, parameters: dict, timeout: int | None) -> dict:
    """Execute one notebook (the batch runner's way: kernel chatter goes to a .log beside it)."""
    report = execute_one(str(nb), str(output), parameters, {}, timeout)
    error = report["error"]
    if report["failed_cell"] is not None:
        error = f"cell {report['failed_cell']}: {error}"
    results = read_results(output) if output.exists() else {}
    return {"notebook": nb.stem, "status": report["status"], "seconds": round(report["seconds"], 1),
            "error": error, "results": results}


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def print_table(rows: list[dict]) -> None:
    width = max([len(r["notebook"]) for r in rows] + [8])
    print(f"\n{'notebook':<{width}}  {'status':<6}  {'seconds':>7}  results")
    print(f"{'-' * width}  {'-' * 6}  {'-' * 7}  {'-' * 40}")
    for r in rows:
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in r["results"].items()) or "-"
        print(f"{r['notebook']:<{width}}  {r['status']:<6}  {r['seconds']:>7.1f}  {shown}")
        if r["error"]:
            print(f"{'':<{width}}  -> {r['error']}")


def write_csv(rows: list[dict], path: Path) -> None:
    """One row per recorded result (long format), so notebooks with different results share a table."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["notebook", "status", "seconds", "result", "value"])
        for r in rows:
            items = list(r["results"].items()) or [("", "")]
            for name, value in items:
                out.writerow([r["notebook"], r["status"], r["seconds"], name, json.dumps(value) if name else ""])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m course_utils run", description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", help="paths, names or number prefixes; default: every notebook")
    ap.add_argument("--profile", default=os.environ.get(ENV_VAR) or "full", help="full (default) or smoke")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="papermill parameter (repeatable)")
    ap.add_argument("--out", type=Path, default=None, help="folder for executed copies (default runs/<time>-<profile>)")
    ap.add_argument("--in-place", action="store_true", help="authors: replace each notebook with its executed copy if it succeeds")
    ap.add_argument("--timeout", type=int, default=None, help="seconds allowed per cell")
    args = ap.parse_args(argv)

    try:
        if args.profile not in PROFILES:
            raise ProfileError(f"unknown profile {args.profile!r}; choose one of {', '.join(PROFILES)}")
        notebooks = find_notebooks(args.notebooks)
        params = dict(parse_param(p) for p in args.param)
        for nb in notebooks:
            validate(nb, params)
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not notebooks:
        print("error: no notebooks found in notebooks/", file=sys.stderr)
        return 2

    out = args.out or REPO / "runs" / f"{datetime.now():%Y%m%d-%H%M%S}-{args.profile}"
    out.mkdir(parents=True, exist_ok=True)
    os.environ[ENV_VAR] = args.profile  # the kernels inherit it
    rows = []
    for nb in notebooks:
        print(f"[run] {nb.stem} ({args.profile}) ...", flush=True)
        target = out / nb.name
        row = execute(nb, target, params, args.timeout)
        print(f"[run] {nb.stem}: {row['status']} in {row['seconds']:.1f} s", flush=True)
        if args.in_place and row["status"] == "ok":
            _clean(target)
            with tempfile.NamedTemporaryFile("wb", dir=nb.parent, delete=False, suffix=".ipynb") as tmp:
                tmp.write(target.read_bytes())
            os.chmod(tmp.name, 0o644)
            os.replace(tmp.name, nb)
        rows.append(row)
    print_table(rows)
    write_csv(rows, out / "results.csv")
    print(f"\nexecuted notebooks and results.csv are in {out}")
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
