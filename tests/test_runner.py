"""`python -m course_utils run`: the batch runner with no grid (same plan, execution and results.csv).

The end-to-end tests execute tiny notebooks written into tmp_path (no torch); each starts a kernel.
"""

import csv

import nbformat
import pytest

from course_utils.__main__ import main as cli_main
from course_utils.profiles import ProfileError
from course_utils.tools import batch, run
from _nbmaker import make_notebook

PARAMS = "profile: str | None = None\nseed: int = 0\nfail: bool = False\nx: int = 1\n"
BODY = (
    "import os\nimport course_utils as cu\n"
    "P = cu.resolve_profile(dict(profile=profile, seed=seed), full=dict(n=10), smoke=dict(n=2))\n"
    "cu.record('n', P.n)\ncu.record('seed', seed)\ncu.record('env_profile', os.environ.get('COURSE_PROFILE'))\n"
    "assert not fail, 'asked to fail'\n"
)


def read_csv(path):
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def nb(tmp_path):
    return make_notebook(tmp_path / "07_tiny.ipynb", PARAMS, BODY)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_runs_a_notebook_and_collects_its_results(nb, tmp_path, capsys):
    out = tmp_path / "out"
    assert run.main([str(nb), "--profile", "smoke", "--param", "seed=5", "--out", str(out)]) == 0
    [row] = read_csv(out / "results.csv")
    assert row["notebook"] == "07_tiny" and row["run_id"] == "seed=5" and row["status"] == "ok"
    assert (row["seed"], row["n"], row["env_profile"], row["error"]) == ("5", "2", "smoke", "")
    assert (out / nb.name).exists()
    table = capsys.readouterr().out.splitlines()
    assert any(line.split()[:2] == ["07_tiny", "ok"] and "n=2" in line for line in table)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_failing_notebook_is_reported_not_raised(nb, tmp_path, capsys):
    out = tmp_path / "out"
    assert run.main([str(nb), "--profile", "smoke", "--param", "fail=True", "--out", str(out)]) == 1
    text = capsys.readouterr().out
    assert "FAILED 07_tiny: cell [3]: AssertionError: asked to fail" in text  # [2] is papermill's injected cell
    [row] = read_csv(out / "results.csv")
    assert (row["status"], row["failed_cell"], row["fail"]) == ("failed", "3", "True")
    assert (row["seed"], row["seed_recorded"]) == ("", "0")  # a result named like a column keeps both


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_run_and_batch_write_the_same_results_csv(nb, tmp_path):
    assert run.main([str(nb), "--profile", "smoke", "--param", "x=2", "--param", "seed=1",
                     "--out", str(tmp_path / "r")]) == 0
    assert batch.main([str(nb), "--profile", "smoke", "--param", "x=2", "--seeds", "1",
                       "--out", str(tmp_path / "b")]) == 0
    by_run, by_batch = read_csv(tmp_path / "r" / "results.csv"), read_csv(tmp_path / "b" / "results.csv")
    header = ["notebook", "run_id", "x", "seed", "status", "seconds", "error", "failed_cell", "n", "seed_recorded",
              "env_profile"]
    assert list(by_run[0]) == list(by_batch[0]) == header
    for rows in (by_run, by_batch):
        rows[0].pop("seconds")
    assert by_run == by_batch
    assert by_run[0]["run_id"] == "x=2_seed=1" and by_run[0]["seed"] == "1"


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_in_place_replaces_the_notebook_with_a_clean_executed_copy(tmp_path):
    nb = make_notebook(tmp_path / "08_inplace.ipynb", "seed: int = 0", "import course_utils as cu\ncu.record('twice', 2 * seed)",
                       "print('hello')")
    assert run.main([str(nb), "--profile", "smoke", "--in-place", "--out", str(tmp_path / "out")]) == 0
    done = nbformat.read(str(nb), as_version=4)
    nbformat.validate(done)
    code = [c for c in done.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == [1, 2, 3]  # no injected-parameters cell
    assert code[2].outputs[0]["text"] == "hello\n"
    assert "papermill" not in done.metadata
    assert all("papermill" not in c.metadata and "execution" not in c.metadata for c in done.cells)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".part-")]


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_in_place_leaves_a_failing_notebook_untouched(nb, tmp_path):
    failing = make_notebook(tmp_path / "09_fails.ipynb", "seed: int = 0", "raise RuntimeError('no')")
    before = failing.read_bytes()
    assert run.main([str(failing), "--in-place", "--out", str(tmp_path / "out")]) == 1
    assert failing.read_bytes() == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["--profile", "turbo"], "unknown profile 'turbo'"),
        (["--param", "seeds=1"], "unknown parameter 'seeds'"),
        (["--param", "seed=zero"], "seed='zero' is str, expected int"),
        (["--param", "seed=-1"], "seed=-1: a seed is a non-negative integer"),
        (["--param", "oops"], "--param takes name=value"),
        (["--in-place", "--param", "seed=1"], "--in-place keeps the notebook's own parameter values"),
    ],
)
def test_bad_arguments_stop_before_anything_runs(nb, tmp_path, capsys, args, message):
    out = tmp_path / "never"
    assert run.main([str(nb), "--out", str(out), *args]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_unknown_notebook_name_lists_the_course():
    with pytest.raises(ProfileError, match="01_background"):
        run.find_notebooks(["99"])


def test_one_table_printer_aligns_columns():
    text = batch.format_table(["a", "long header"], [["xyz", "1"], ["q", "22"]], right=(1,))
    assert text.splitlines() == ["a    long header", "---  -----------", "xyz            1", "q             22"]


def test_cli_lists_commands_and_refuses_unknown(capsys):
    assert cli_main([]) == 0
    assert "batch" in capsys.readouterr().out
    assert cli_main(["explode"]) == 2
