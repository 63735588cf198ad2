import csv

import pytest

from course_utils import runner
from course_utils.__main__ import main as cli_main
from _nbmaker import make_notebook

PARAMS = "profile: str | None = None\nseed: int = 0\nfail: bool = False\n"
BODY = (
    "import os\nimport course_utils as cu\n"
    "P = cu.resolve_profile(dict(profile=profile, seed=seed), full=dict(n=10), smoke=dict(n=2))\n"
    "cu.record('n', P.n)\ncu.record('seed', seed)\ncu.record('env_profile', os.environ.get('COURSE_PROFILE'))\n"
    "assert not fail, 'asked to fail'\n"
)


@pytest.fixture
def nb(tmp_path):
    return make_notebook(tmp_path / "07_tiny.ipynb", PARAMS, BODY)


@pytest.mark.timeout(180)
def test_runs_a_notebook_and_collects_its_results(nb, tmp_path, capsys):
    out = tmp_path / "out"
    assert runner.main([str(nb), "--profile", "smoke", "--param", "seed=5", "--out", str(out)]) == 0
    rows = list(csv.DictReader((out / "results.csv").open()))
    got = {r["result"]: r["value"] for r in rows}
    assert got == {"n": "2", "seed": "5", "env_profile": '"smoke"'}
    assert (out / nb.name).exists()
    table = capsys.readouterr().out
    assert "07_tiny" in table and "ok" in table and "n=2" in table


@pytest.mark.timeout(180)
def test_a_failing_notebook_is_reported_not_raised(nb, tmp_path, capsys):
    out = tmp_path / "out"
    assert runner.main([str(nb), "--profile", "smoke", "--param", "fail=True", "--out", str(out)]) == 1
    text = capsys.readouterr().out
    assert "failed" in text and "AssertionError: asked to fail" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["--profile", "turbo"], "unknown profile 'turbo'"),
        (["--param", "seeds=1"], "unknown parameter 'seeds'"),
        (["--param", "seed=zero"], "seed='zero' is str, expected int"),
        (["--param", "oops"], "--param takes name=value"),
    ],
)
def test_bad_arguments_stop_before_anything_runs(nb, tmp_path, capsys, args, message):
    out = tmp_path / "never"
    assert runner.main([str(nb), "--out", str(out), *args]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_unknown_notebook_name_lists_the_course():
    with pytest.raises(Exception, match="01_background"):
        runner.find_notebooks(["99"])


def test_cli_lists_commands_and_refuses_unknown(capsys):
    assert cli_main([]) == 0
    assert "data" in capsys.readouterr().out
    assert cli_main(["explode"]) == 2
