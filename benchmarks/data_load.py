"""How long the data layer takes: first load (copy from a mirror, verify, parse) and cached load.

    python benchmarks/data_load.py            # prints a table and updates benchmarks/RESULTS.md

Each load runs in a fresh Python process against an empty temporary cache, so "first" really is
first; the mirror is $COURSE_DATA_MIRROR, else ../shared/datasets beside the checkout.
"""

import os
import platform
import subprocess
import sys
import tempfile
import time
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


def main() -> int:
    mirror = os.environ.get("COURSE_DATA_MIRROR") or str(REPO.parent / "shared" / "datasets")
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, COURSE_DATA_DIR=cache, COURSE_DATA_MIRROR=mirror, COURSE_DATA_QUIET="1")
        for kind in LOADS:
            first = timed_load(kind, env)
            cached = min(timed_load(kind, env) for _ in range(3))
            rows.append((kind, first, cached))
            print(f"{kind:6s} first {first:6.2f} s   cached {cached:5.2f} s (best of 3)", flush=True)
    load = os.getloadavg()[0]
    section = "\n".join([
        START,
        "## Data loading (`benchmarks/data_load.py`)",
        "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load average {load:.2f} at the end; mirror: a local folder; a fresh, empty cache. "
        "Seconds inside the process, imports excluded.",
        "",
        "| data | first load (copy, verify, parse) | cached load (best of 3) |",
        "|---|---:|---:|",
        *[f"| {kind} | {first:.2f} s | {cached:.2f} s |" for kind, first, cached in rows],
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
