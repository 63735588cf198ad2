"""Chapter 07's pretraining as a module command: its recipes are the notebook's, and under torchrun
with two CPU processes (gloo) it trains the same curve as one process and writes one checkpoint."""

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.tools import pretrain

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "07_pretrain_finetune.ipynb"


def _literals(call: ast.Call) -> dict:
    """dict(a=1, b=...) -> {a: 1} for the values that are plain literals."""
    out = {}
    for kw in call.keywords:
        try:
            out[kw.arg] = ast.literal_eval(kw.value)
        except ValueError:
            pass
    return out


def notebook_profiles() -> dict:
    """The full= and smoke= dicts of the notebook's cu.resolve_profile(...) call, read with ast."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        src = "".join(cell["source"])
        if cell["cell_type"] == "code" and "resolve_profile(" in src:
            for node in ast.walk(ast.parse(src)):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "resolve_profile":
                    return {kw.arg: _literals(kw.value) for kw in node.keywords if isinstance(kw.value, ast.Call)}
    raise AssertionError("no resolve_profile call in chapter 07")


def test_recipes_are_the_notebooks():
    """A changed notebook profile must change the command too, or its checkpoint is never picked up."""
    profiles = notebook_profiles()
    for name, recipe in pretrain.RECIPES.items():
        assert {k: profiles[name][k] for k in recipe} == recipe, name


def test_bad_settings_are_refused_before_any_work(capsys):
    assert pretrain.main(["--profile", "smoke", "--n-head", "3"]) == 2
    assert "divisible by n_head=3" in capsys.readouterr().err
    assert pretrain.main(["--profile", "smoke", "--vocab-size", "-4"]) == 2
    from course_utils.__main__ import main as course_main  # the same command as `python -m course_utils pretrain`

    assert course_main(["pretrain", "--profile", "smoke", "--n-head", "3"]) == 2


def _pretrain(cache: Path, processes: int, *extra) -> str:
    tiny = ["--profile", "smoke", "--n-pretrain-tokens", "9600", "--cache-dir", str(cache), *extra]
    launcher = ([sys.executable, "-m", "course_utils.tools.pretrain"] if processes == 1 else
                [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
                 "-m", "course_utils.tools.pretrain"])
    env = {**os.environ, "PYTHONPATH": str(REPO), "COURSE_THREADS": "1", "COURSE_PROGRESS": "lines"}
    done = subprocess.run([*launcher, *tiny], cwd=REPO, env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_processes_train_the_same_curve_and_write_one_checkpoint(tmp_path):
    import numpy as np

    from course_utils import pretrained
    from course_utils.data import load_imdb

    load_imdb()  # through the data layer, as the notebook does: the cache, else the mirror (CI runs this test)

    one, two = tmp_path / "one", tmp_path / "two"
    printed = _pretrain(one, 1)
    assert "wrote" in printed
    two.mkdir()
    for f in [*one.glob("tokenizer-*.json"), *one.glob("ids-*.npz")]:  # the tokenizer made once
        shutil.copy(f, two / f.name)
    printed2 = _pretrain(two, 2)
    assert printed2.count("[pretrain] wrote") == 1, printed2  # rank 0 only

    pts = [sorted(d.glob(f"{pretrain.NAME}-*.pt")) for d in (one, two)]
    assert len(pts[0]) == len(pts[1]) == 1 and pts[0][0].name == pts[1][0].name  # one file, the same recipe
    manifests = [json.loads(p[0].with_suffix(".json").read_text()) for p in pts]
    for d, m in zip((one, two), manifests):  # each passes the notebook's verification
        assert pretrained.find(m["spec"], name=pretrain.NAME, cache_dir=d, use_mirrors=False) is not None
    f1, f2 = (m["facts"] for m in manifests)
    assert (f1["processes"], f2["processes"]) == (1, 2)
    assert len(f1["curve"]) == len(f2["curve"]) == 10  # 300 blocks in batches of 32 (2 x 16)
    np.testing.assert_allclose(f2["curve"], f1["curve"], atol=2e-3)
    assert f1["curve"][-1] < f1["curve"][0] - 0.2  # it learns (10 steps, mostly warm-up: about -0.3)
    assert abs(f1["val_loss"] - f2["val_loss"]) < 2e-3
    w1, w2 = (pretrained.load_state(p[0]) for p in pts)
    # Adam's normalised step (lr 3e-3) turns rounding in near-zero gradients into steps of either sign,
    # so single weights may differ by a few lr after 10 steps (measured: 0.008); the loss does not
    assert max(float((w1[k] - w2[k]).abs().max()) for k in w1) < 0.03

    # run again: the verified checkpoint is found, nothing is trained or rewritten
    stamp = pts[0][0].stat().st_mtime_ns
    assert "nothing to do" in _pretrain(one, 1)
    assert pts[0][0].stat().st_mtime_ns == stamp
