"""`python -m course_utils data fetch|verify|where [DATASET...]`: prepare a machine or a room.

* `where`  shows the cache dir, the mirrors, and for each file its size, checksum and state.
* `fetch`  gets every file (cache, then mirrors, then the web), verifies it, and parses it once,
           so that the first lesson does not wait. Damaged cached copies are replaced.
* `verify` re-reads every cached file, raw and parsed, and checks it again.

All three report through `course_utils.data.status`, the one account of what the cache holds.
"""

from __future__ import annotations

import argparse

from ..data import DATASETS, DataError, data_dir, fetch, mirrors, status, verify
from ..data.files import cache_path
from ..data.locations import local_dir
from ..data.sources import one_fetch


def _size(n) -> str:
    return f"{n:,} bytes" if n is not None else "any size"


def _mirror_lines(relpath: str) -> list[str]:
    lines = []
    for base in mirrors():
        folder = local_dir(base)
        if folder is None:
            lines.append(f"      mirror {base}: remote, checked when fetching")
            continue
        path = folder / relpath
        state = (f"present, {_size(path.stat().st_size)}" if path.is_file()
                 else "present (folder)" if path.is_dir() else "absent")
        lines.append(f"      mirror {folder}: {state}")
    return lines


def _report(name: str, report: dict) -> None:
    details = report["details"]
    for spec in DATASETS[name].files:
        check = f"sha256 {spec.sha256}" if spec.sha256 else f"reviews fingerprint {spec.fingerprint}"
        print(f"  {spec.name}  ({_size(spec.size)}, {check})")
        state = report["files"][spec.name]
        print(f"      cache: {state}" + (f", {_size(cache_path(spec).stat().st_size)}" if state != "missing" else "")
              + (f" ({details[spec.name]})" if spec.name in details else ""))
        print("\n".join(_mirror_lines(spec.relpath)) or "      (no mirrors)")
    for relpath in DATASETS[name].also_accepted:
        folder = data_dir() / relpath
        print(f"  {relpath}/ (a folder, read in place)\n      cache: {'present' if folder.is_dir() else 'absent'}")
        print("\n".join(_mirror_lines(relpath)) or "      (no mirrors)")
    print(f"  parsed cache {report['parsed_dir']}: {report['parsed']}"
          + (f" ({details['parsed']})" if "parsed" in details else ""))
    print(f"  => {report['state']}" + (f"; fix: {report['fix']}" if report["fix"] else ""))


def cmd_where(names) -> int:
    print(f"cache:   {data_dir()}  (set COURSE_DATA_DIR to move it)")
    shown = [str(local_dir(m) or m) for m in mirrors()]
    print(f"mirrors: {', '.join(shown) or 'none'}  (COURSE_DATA_MIRROR, searched in this order)")
    for name in names:
        print(f"\n{name}")
        _report(name, status(name))
    return 0


def cmd_verify(names) -> int:
    rc = 0
    for name in names:
        report = verify(name)
        for file, state in report["files"].items():
            if state == "damaged":
                print(f"BAD  {name}/{file}: {report['details'].get(file, '')}")
            elif state != "missing":
                print(f"ok   {name}/{file}: {state}")
        if report["parsed"] == "damaged":
            print(f"BAD  {report['parsed_dir']}: {report['details'].get('parsed', '')}")
        elif report["parsed"] == "verified":
            print(f"ok   {report['parsed_dir']}: verified")
        print(f"{name}: {report['state']}" + (f"; fix: {report['fix']}" if report["fix"] else ""))
        rc |= report["state"] in ("damaged", "missing")
    return int(rc)


def cmd_fetch(names) -> int:
    rc = 0
    with one_fetch():  # a mirror that stalled for MNIST is not waited on again for IMDb
        for name in names:
            try:
                print(f"{name}: ready in {fetch(name)}")
            except DataError as e:
                print(f"{name}: FAILED\n{e}")
                rc = 1
    return rc


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["fetch", "verify", "where"])
    parser.add_argument("datasets", nargs="*", metavar="DATASET", help=f"{' and/or '.join(DATASETS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.datasets) - set(DATASETS))
    if unknown:
        parser.error(f"unknown dataset(s) {', '.join(unknown)}; choose from {', '.join(DATASETS)}")
    names = list(dict.fromkeys(args.datasets)) or list(DATASETS)
    try:
        return {"fetch": cmd_fetch, "verify": cmd_verify, "where": cmd_where}[args.action](names)
    except DataError as e:
        print(f"data {args.action}: {e}")
        return 1
