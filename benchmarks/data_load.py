"""How long the data layer takes: first load (copy from a mirror, verify, parse) and cached load.

    python benchmarks/data_load.py            # prints a table and updates benchmarks/RESULTS.md
    python benchmarks/data_load.py --print    # prints only

Each load runs in a fresh Python process against an empty temporary cache, so "first" really is
first; the mirror is $COURSE_DATA_MIRROR, else ../shared/datasets beside the checkout.
"""

import os
import platform
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "RESULTS.md"
START, END = "<!-- data_load:start -->", "<!-- data_load:end -->"

LOADS = {
    "mnist": "(a, b), (c, d) = cu.load_mnist()",
    "imdb": "df = cu.load_imdb()",
}


def timed_load(kind: str, env: dict) -> float:
    """Seconds inside the process for one load (imports excluded, so only the data layer is timed)."""
    code = (
        "import time, pandas, numpy, course_utils as cu\n"
        f"t = time.perf_counter()\n{LOADS[kind]}\nprint(time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def parsed_check(kind: str, env: dict) -> tuple[float, float]:
    """(MB, seconds) of the sha256 check that every cached load does on the parsed files."""
    code = (
        "import hashlib, time\nfrom course_utils.data import DATASETS\n"
        f"d = DATASETS[{kind!r}]\nblobs = [(d.parsed_dir() / n).read_bytes() for n in d.parsed_files]\n"
        "t = time.perf_counter()\nfor b in blobs: hashlib.sha256(b).hexdigest()\n"
        "print(sum(map(len, blobs)) / 1e6, time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    mb, seconds = out.stdout.split()
    return float(mb), float(seconds)


def main() -> int:
    mirror = os.environ.get("COURSE_DATA_MIRROR") or str(REPO.parent / "shared" / "datasets")
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, COURSE_DATA_DIR=cache, COURSE_DATA_MIRROR=mirror, COURSE_DATA_QUIET="1")
        for kind in LOADS:
            first = timed_load(kind, env)
            cached = min(timed_load(kind, env) for _ in range(3))
            mb, check = min((parsed_check(kind, env) for _ in range(3)), key=lambda r: r[1])
            rows.append((kind, first, cached, mb, check))
            print(f"{kind:6s} first {first:6.2f} s   cached {cached:5.2f} s (best of 3), of which "
                  f"{check:.3f} s checking {mb:.0f} MB of parsed cache", flush=True)
    if "--print" in sys.argv[1:]:
        return 0
    load = os.getloadavg()[0]
    section = "\n".join([
        START,
        "## Data loading (`benchmarks/data_load.py`)",
        "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load average {load:.2f} at the end; mirror: a local folder; a fresh, empty cache. "
        "Seconds inside the process, imports excluded.",
        "",
        "| data | first load (copy, verify, parse) | cached load (best of 3) | of which: sha256 of the parsed cache |",
        "|---|---:|---:|---:|",
        *[f"| {kind} | {first:.2f} s | {cached:.2f} s | {check:.3f} s ({mb:.0f} MB) |"
          for kind, first, cached, mb, check in rows],
        END,
    ])
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if START in text:
        text = text[: text.index(START)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(text, encoding="utf-8")
    print(f"written to {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
