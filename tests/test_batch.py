"""The batch runner: grid parsing, validation before anything runs, parallel runs, failures, resume.

The end-to-end tests execute a tiny notebook written into tmp_path (no torch), so they take
seconds; kernels start in separate processes, hence the generous timeouts.
"""

import csv
import json
from pathlib import Path

import pytest

from course_utils.tools import batch
from _nbmaker import make_notebook

REPO = Path(__file__).resolve().parents[1]
NB06 = REPO / "notebooks" / "06_overfitting.ipynb"


def grid_notebook(path: Path) -> Path:
    """Parameters x, scale, tag, seed; fails in its second code cell while a marker file exists."""
    return make_notebook(
        path,
        'x: int = 1\nscale: float = 1.0\ntag: str = "a"\nfail_marker: str = ""\nseed: int = 0',
        "import os\nimport course_utils as cu",
        "if fail_marker and os.path.exists(fail_marker) and x == 2 and seed == 1:\n"
        "    raise ValueError(f'planned failure for x={x}')",
        "cu.record('score', x * scale + seed)\ncu.record('tag_seen', tag)",
    )


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# -- the grid -------------------------------------------------------------------------------


def test_values_are_literals_else_strings_and_quotes_keep_commas():
    grid = batch.parse_grid(["l2=0,1e-3", "augment=True,False", "name=abc,'x,y'", "n=None,500", "l2=1e-3"])
    assert grid == {"l2": [0, 1e-3], "augment": [True, False], "name": ["abc", "x,y"], "n": [None, 500]}
    assert batch.split_values('"a,b",[1,2],c') == ['"a,b"', "[1,2]", "c"]
    assert batch.parse_seeds("0, 1,2") == [0, 1, 2]
    for bad in (["noequals"], ["x="], ["x=1,,2"]):
        with pytest.raises(batch.BatchError):
            batch.parse_grid(bad)
    with pytest.raises(batch.BatchError):
        batch.parse_seeds("0,a")


def test_run_ids_are_readable_stable_and_safe():
    assert batch.run_id({"tag": "b", "x": 2}, 1) == "tag=b_x=2_seed=1"
    assert batch.run_id({"x": 2, "tag": "b"}, 1) == "tag=b_x=2_seed=1"  # order of --param does not matter
    assert batch.run_id({}, None) == "default"
    odd = batch.run_id({"path": "a/b c"}, 0)
    assert "/" not in odd and " " not in odd and odd == batch.run_id({"path": "a/b c"}, 0)
    assert odd != batch.run_id({"path": "a-b-c"}, 0)  # the hash keeps sanitised ids apart


def test_plan_expands_the_cartesian_product_times_seeds(tmp_path):
    nb = grid_notebook(tmp_path / "t.ipynb")
    runs = batch.plan(nb, {"x": [1, 2], "tag": ["a", "b"]}, [0, 1, 2], profile="smoke")
    assert len(runs) == 12 and len({r.id for r in runs}) == 12
    assert runs[0].inject == {"x": 1, "tag": "a", "seed": 0}  # no `profile` parameter: only the env var


def test_seed_given_as_a_param_is_the_same_as_seeds(tmp_path):
    nb = grid_notebook(tmp_path / "t.ipynb")
    by_param = batch.plan(nb, {"x": [1], "seed": [0, 1]}, [])
    by_seeds = batch.plan(nb, {"x": [1]}, [0, 1])
    assert [(r.id, r.params, r.seed, r.inject) for r in by_param] == [(r.id, r.params, r.seed, r.inject) for r in by_seeds]
    assert [r.id for r in by_param] == ["x=1_seed=0", "x=1_seed=1"]
    with pytest.raises(batch.BatchError, match="not both"):
        batch.plan(nb, {"seed": [0]}, [1])


def test_profile_is_injected_only_into_notebooks_that_declare_it(tmp_path):
    with_profile = make_notebook(tmp_path / "p.ipynb", "profile: str | None = None\nseed: int = 0")
    assert batch.plan(with_profile, {}, [3], "smoke")[0].inject == {"seed": 3, "profile": "smoke"}
    assert batch.plan(with_profile, {}, [3], "smoke", inject_profile=False)[0].inject == {"seed": 3}
    with pytest.raises(batch.BatchError, match="the profile is given twice"):
        batch.plan(with_profile, {"profile": ["full"]}, [], "smoke")


# -- validation refuses before anything runs -----------------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "param, message",
    [
        ("epochz=1,2", "unknown parameter 'epochz'"),
        ("x=1,abc", "parameter x='abc' is str, expected int"),
        ("scale=0.5,True", "parameter scale=True is bool, expected float"),
        ("seed=0,-1", "seed=-1: a seed is a non-negative integer"),
    ],
)
def test_bad_grid_is_refused_and_nothing_runs(tmp_path, capsys, param, message):
    nb = grid_notebook(tmp_path / "t.ipynb")
    out = tmp_path / "out"
    rc = batch.main([str(nb), "--param", param, "--seeds", "0,1", "--workers", "2", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err and "nothing was run" in err
    assert not out.exists()


@pytest.mark.timeout(30)
def test_bool_parameter_given_lowercase_true_gets_a_hint(tmp_path, capsys):
    path = make_notebook(tmp_path / "b.ipynb", "augment: bool = False\nseed: int = 0")
    rc = batch.main([str(path), "--param", "augment=true", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2 and "expected bool" in err and "Python spells it True" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.timeout(30)
def test_seeds_without_a_seed_parameter_and_bad_profile_are_refused(tmp_path, capsys):
    path = make_notebook(tmp_path / "n.ipynb", "x: int = 1")
    assert batch.main([str(path), "--seeds", "0,1", "--out", str(tmp_path / "o")]) == 2
    assert "no `seed` or `seeds` parameter" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse refuses an unknown profile
        batch.main([str(path), "--profile", "huge", "--out", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists()


# -- end to end: parallel runs, one failure, then a resumed batch ----------------------------


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_end_to_end_with_a_failure_then_resume(tmp_path, capsys):
    nb = grid_notebook(tmp_path / "t.ipynb")
    marker = tmp_path / "fail-now"
    marker.touch()
    out = tmp_path / "out"
    argv = [str(nb), "--param", "x=1,2", "--param", f"fail_marker={str(marker)!r}", "--seeds", "0,1",
            "--workers", "2", "--out", str(out), "--profile", "smoke"]

    rc = batch.main(argv)
    printed = capsys.readouterr().out
    assert rc == 1  # one run failed, the other three still ran
    rows = {r["run_id"]: r for r in read_csv(out / "results.csv")}
    assert len(rows) == 4
    failed = [r for r in rows.values() if r["status"] == "failed"]
    assert len(failed) == 1
    bad = failed[0]
    assert bad["x"] == "2" and bad["seed"] == "1"
    # execution count 4: papermill's injected-parameters cell runs right after the parameters cell
    assert bad["error"] == "ValueError: planned failure for x=2" and bad["failed_cell"] == "4"
    assert "FAILED" in printed and "cell [4]: ValueError: planned failure for x=2" in printed
    ok = [r for r in rows.values() if r["status"] == "ok"]
    assert sorted(float(r["score"]) for r in ok) == [1.0, 2.0, 2.0]  # x*scale + seed
    assert all(r["tag_seen"] == "a" for r in ok)
    for rid in rows:
        assert (out / "runs" / f"{rid}.ipynb").exists()
    assert (out / "summary.png").stat().st_size > 1000
    # the summary table: one line per grid point, mean ± std over the seeds that succeeded
    assert "1.5 ± 0.71" in printed  # x=1: scores 1 and 2

    # the profile reached the kernel through the environment
    status = json.loads((out / "runs" / f"{bad['run_id']}.status.json").read_text())
    assert status["fingerprint"]["profile"] == "smoke"

    # second pass: the cause is gone; only the failed run executes again
    marker.unlink()
    stamps = {rid: (out / "runs" / f"{rid}.ipynb").stat().st_mtime_ns for rid in rows}
    rc = batch.main(argv)
    printed = capsys.readouterr().out
    assert rc == 0
    assert "3 of 4 runs already finished" in printed and "running 1 notebook" in printed
    for rid, stamp in stamps.items():
        changed = (out / "runs" / f"{rid}.ipynb").stat().st_mtime_ns != stamp
        assert changed == (rid == bad["run_id"])
    rows = read_csv(out / "results.csv")
    assert [r["status"] for r in rows] == ["ok"] * 4
    assert sorted(float(r["score"]) for r in rows) == [1.0, 2.0, 2.0, 3.0]

    # third pass: a changed notebook makes every run stale
    nb.write_text(nb.read_text().replace("'tag_seen', tag", "'tag_seen', tag + '!'"))
    assert batch.main(argv + ["--workers", "2"]) == 0
    printed = capsys.readouterr().out
    assert "running 4 notebook" in printed
    assert {r["tag_seen"] for r in read_csv(out / "results.csv")} == {"a!"}


@pytest.mark.timeout(60)
def test_dry_run_lists_the_grid_and_runs_nothing(tmp_path, capsys):
    nb = grid_notebook(tmp_path / "t.ipynb")
    out = tmp_path / "out"
    assert batch.main([str(nb), "--param", "x=1,2", "--seeds", "0,1,2", "--out", str(out), "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "6 run(s)" in printed and "x=2_seed=2" in printed
    assert not out.exists()


# -- chapter 06: the instructor's grid validates without running ----------------------------


@pytest.mark.timeout(30)
@pytest.mark.skipif(not NB06.exists(), reason="notebooks/06_overfitting.ipynb not written yet")
def test_chapter_06_grid_validates_without_running(tmp_path, capsys):
    out = tmp_path / "out"
    argv = [str(NB06), "--param", "remedy=baseline,l2,dropout", "--param", "l2=1e-4,1e-3",
            "--param", "n_train=500,None", "--seeds", "0,1,2", "--out", str(out), "--profile", "smoke", "--dry-run"]
    assert batch.main(argv) == 0
    printed = capsys.readouterr().out
    assert "36 run(s)" in printed
    assert batch.main(argv[:-1] + ["--param", "dropout=half", "--dry-run"]) == 2
    assert "dropout='half' is str, expected float" in capsys.readouterr().err
    assert not out.exists()
