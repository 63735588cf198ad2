"""fit under `torchrun --nproc_per_node=2` on the CPU (gloo): shards, all-reduced metrics, rank 0 only."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import hashlib, json, os, sys
    import torch
    from torch import nn
    import course_utils as cu

    out, rank = sys.argv[1], int(os.environ["RANK"])
    torch.manual_seed(0)  # the same data on every process
    x = torch.randn(1000, 20)
    y = (x @ torch.randn(20, 3)).argmax(1)
    torch.manual_seed(100 + rank)  # different starting weights: DDP must copy rank 0's
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 3))
    h = cu.fit(model, (x[:800], y[:800]), (x[800:], y[800:]), epochs=3, batch_size=50, lr=1e-2,
               checkpoint=os.path.join(out, "ckpt.pt"), verbose=2)
    state = b"".join(v.numpy().tobytes() for v in model.state_dict().values())
    result = dict(history=h.drop(columns="seconds").to_dict("list"), world=h.attrs["world_size"],
                  digest=hashlib.sha256(state).hexdigest(), alone=cu.evaluate(model, (x[800:], y[800:])))
    with open(os.path.join(out, f"rank{rank}.json"), "w") as fh:
        json.dump(result, fh)
""")


@pytest.mark.slow
def test_fit_under_torchrun_two_cpu_processes(tmp_path):
    script = tmp_path / "train_ddp.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script), str(tmp_path)],
        capture_output=True, text=True, timeout=150, env=env, cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["world"] == r1["world"] == 2
    assert r0["history"] == r1["history"]  # metrics were summed over both processes
    assert r0["digest"] == r1["digest"]  # both copies of the model ended identical
    h = r0["history"]
    assert h["train_loss"][-1] < h["train_loss"][0] and h["val_acc"][-1] > 0.6
    # the sharded, all-reduced validation equals one process evaluating all 200 samples
    assert abs(h["val_loss"][-1] - r0["alone"]["loss"]) < 1e-5 and h["val_acc"][-1] == r0["alone"]["acc"]
    epoch_lines = [ln for ln in run.stdout.splitlines() if ln.startswith("epoch ")]
    assert len(epoch_lines) == 3, run.stdout  # printed by rank 0 only
    assert (tmp_path / "ckpt.pt").is_file()
