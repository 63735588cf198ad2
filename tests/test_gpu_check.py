"""benchmarks/gpu_check.py works before any GPU session: pack a tiny data folder, run it on the CPU."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"


@pytest.mark.slow
def test_gpu_check_dry_run_on_cpu(tmp_path, mirror_dir):
    env = {**os.environ, "COURSE_DATA_MIRROR": str(mirror_dir), "COURSE_PROGRESS": "off"}
    pack = tmp_path / "pack"
    done = subprocess.run([sys.executable, str(SCRIPT), "pack", str(pack), "--tiny"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in (pack / "mnist").iterdir())[0].endswith(".gz")
    env.pop("COURSE_DATA_MIRROR")  # the run must find everything in the pack, as on the GPU machine
    env["COURSE_DATA_DIR"] = str(tmp_path / "cache")
    done = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), str(pack), "--dry-run"],
                          env={**env, "OUT": str(tmp_path / "out"), "PYTHON": sys.executable},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = (tmp_path / "out" / "gpu_check.md").read_text()
    assert "DRY RUN" in table
    for row in ("04 CNN", "05 LSTM", "07 GPT"):
        assert table.count(row) == 2, table  # two precisions each


def test_gpu_check_refuses_a_folder_without_data(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "run", str(tmp_path), "--dry-run"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "pack" in done.stdout
