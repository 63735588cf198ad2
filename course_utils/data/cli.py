"""`python -m course_utils data fetch|verify|where [mnist] [imdb]`: prepare a machine or a room.

* `where`  shows the cache dir, the mirrors, and for each file its size, checksum and status.
* `fetch`  gets every file (cache, then mirrors, then the web), verifies it, and parses it once,
           so that the first lesson does not wait.
* `verify` re-reads every cached file and checks it against the registry again.
"""

from __future__ import annotations

import argparse

from . import imdb, mnist
from .checks import verify_bytes
from .errors import DataError
from .locations import data_dir, local_dir, mirrors
from .registry import DATASETS, IMDB_FOLDER
from .sources import MARKER, cache_path, read_marker, write_marker


def _size(n) -> str:
    return f"{n:,} bytes" if n is not None else "any size"


def _mirror_status(relpath: str) -> list[str]:
    lines = []
    for base in mirrors():
        folder = local_dir(base)
        if folder is None:
            lines.append(f"      mirror {base}: remote, checked when fetching")
        else:
            path = folder / relpath
            state = f"present, {_size(path.stat().st_size)}" if path.exists() and path.is_file() else (
                "present (folder)" if path.is_dir() else "absent")
            lines.append(f"      mirror {folder}: {state}")
    return lines


def where(names) -> int:
    print(f"cache:   {data_dir()}  (set COURSE_DATA_DIR to move it)")
    shown = [str(local_dir(m) or m) for m in mirrors()]
    print(f"mirrors: {', '.join(shown) or 'none'}  (COURSE_DATA_MIRROR, searched in this order)")
    for name in names:
        print(f"\n{name}")
        for spec in DATASETS[name].values():
            path = cache_path(spec)
            check = f"sha256 {spec.sha256}" if spec.sha256 else f"reviews fingerprint {spec.fingerprint}"
            print(f"  {spec.name}  ({_size(spec.size)}, {check})")
            if path.is_file():
                facts = read_marker(path)
                digest = "sha256 matches" if spec.sha256 else f"sha256 {facts and facts.get('sha256')}"
                state = (f"verified, {digest}, from {facts.get('source')}" if facts
                         else "present, not verified yet (verified on first use)")
                print(f"      cache: {state}, {_size(path.stat().st_size)}")
            else:
                print("      cache: absent")
            print("\n".join(_mirror_status(spec.relpath)) or "      (no mirrors)")
        if name == "mnist":
            ready = (mnist.parsed_dir() / "x_train.npy").is_file()
            print(f"  parsed arrays: {mnist.parsed_dir().name}: {'ready' if ready else 'not built yet'}")
        else:
            print(f"  {IMDB_FOLDER}/ folder (read in place)")
            folder = data_dir() / "imdb" / IMDB_FOLDER
            print(f"      cache: {'present' if folder.is_dir() else 'absent'}")
            print("\n".join(_mirror_status(f"imdb/{IMDB_FOLDER}")) or "      (no mirrors)")
            table = imdb.parsed_path()
            ready = (table / "meta.npz").is_file()
            print(f"  parsed table: {table.name}: {'ready' if ready else 'not built yet'}")
    return 0


def fetch(names) -> int:
    status = 0
    for name in names:
        try:
            if name == "mnist":
                mnist.mnist_paths()
                mnist.load_mnist()
            else:
                imdb.prepare(archive_first=True)
            print(f"{name}: ready in {data_dir() / name}")
        except DataError as e:
            print(f"{name}: FAILED\n{e}")
            status = 1
    return status


def verify(names) -> int:
    status, checked = 0, 0
    for name in names:
        for spec in DATASETS[name].values():
            path = cache_path(spec)
            if not path.is_file():
                continue
            checked += 1
            try:
                facts = (verify_bytes(spec, path) if name == "mnist"
                         else imdb._archive_check({})(spec, path))
            except DataError as e:
                print(f"BAD  {path}: {e}\n     delete it and run: python -m course_utils data fetch {name}")
                marker = path.with_name(path.name + MARKER)
                if marker.exists():
                    marker.unlink()  # the next load verifies it again, and refuses it
                status = 1
                continue
            write_marker(path, facts, (read_marker(path) or {}).get("source", "verify"))
            print(f"ok   {path}  sha256 {facts['sha256']}")
    if not checked:
        print(f"no files cached in {data_dir()} for {', '.join(names)}; run: python -m course_utils data fetch")
    return status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["fetch", "verify", "where"])
    parser.add_argument("datasets", nargs="*", metavar="DATASET", help="mnist and/or imdb (default: both)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.datasets) - set(DATASETS))
    if unknown:
        parser.error(f"unknown dataset(s) {', '.join(unknown)}; choose from {', '.join(DATASETS)}")
    names = list(dict.fromkeys(args.datasets)) or list(DATASETS)
    return {"fetch": fetch, "verify": verify, "where": where}[args.action](names)
