"""Wall time of one smoke grid: the local batch runner with 1 and 2 workers against 1 and 2 local
Dask workers (a scheduler and `dask worker` processes on 127.0.0.1), on the same machine, in one run.

    flock /tmp/course-cpu.lock .venv/bin/python benchmarks/dask_grid.py [NOTEBOOK] [--seeds 0,1,2,3]

Every configuration runs the same grid from an empty output folder (--force), so each time is
the whole batch: validation, kernels, collection. The Dask times include connecting and sending
the notebook, not starting the cluster (an instructor starts that once for many batches).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")


def batch(nb, seeds, out, extra) -> float:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "course_utils", "batch", nb, "--seeds", seeds, "--profile", "smoke",
                           "--out", str(out), "--force", *extra], cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"batch failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds


def cluster(folder: Path, n: int):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    info = folder / "scheduler.json"
    procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(info)], cwd=folder, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    while not info.exists():
        time.sleep(0.1)
    address = json.loads(info.read_text())["address"]
    for i in range(n):
        procs.append(subprocess.Popen([str(DASK), "worker", address, "--nthreads", "1", "--no-dashboard",
                                       "--host", "127.0.0.1", "--local-directory", str(folder / f"w{i}")],
                                      cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    from distributed import Client

    with Client(address, timeout=30) as c:
        c.wait_for_workers(n, timeout=120)
    return address, procs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook", nargs="?", default="notebooks/02_mlp_math.ipynb")
    ap.add_argument("--seeds", default="0,1,2,3")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="dask-grid-") as tmp:
        tmp = Path(tmp)
        for n in (1, 2):
            rows.append((f"local runner, --workers {n}", batch(args.notebook, args.seeds, tmp / f"local{n}",
                                                             ["--workers", str(n)])))
        for n in (1, 2):
            folder = tmp / f"cluster{n}"
            folder.mkdir()
            address, procs = cluster(folder, n)
            try:
                rows.append((f"Dask, {n} local worker(s)", batch(args.notebook, args.seeds, tmp / f"dask{n}",
                                                                ["--scheduler", address])))
            finally:
                for p in reversed(procs):
                    p.terminate()
                for p in procs:
                    p.wait(timeout=30)
    runs = len(args.seeds.split(","))
    print(f"{args.notebook}, smoke profile, {runs} runs (seeds {args.seeds}):")
    for name, s in rows:
        print(f"  {name:<28} {s:6.1f} s")


if __name__ == "__main__":
    main()
