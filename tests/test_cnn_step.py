"""benchmarks/cnn_step.py: one child process measures every variant; the report names what it compares."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "cnn_step.py"


def test_report_has_one_row_per_configuration_and_the_speed_ups(load_benchmark):
    cs = load_benchmark("cnn_step")
    best = {c: [20.0 - 5 * i, 10.0, 8.0, 6.0] for i, c in enumerate(cs.CONFIGS)}
    text = cs.render(best, 2, 0.5, 0.6)
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + len(cs.CONFIGS)  # header + one row per configuration
    assert "both (what fit does) | 5.0 ms" in text
    assert "(float32) 4.00x" in text  # 20 ms with the defaults / 5 ms with both


@pytest.mark.slow
def test_a_child_process_times_every_variant_with_both_settings():
    done = subprocess.run([sys.executable, str(SCRIPT), "--child", "1", "1"], capture_output=True, text=True,
                          timeout=300, check=True)
    ms = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(ms) == 4 and all(0 < m < 5_000 for m in ms)
