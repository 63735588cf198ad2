"""Chapter 07's notebook refuses bad parameters before any work: unknown, ill-typed, or values it cannot use."""

import json
from pathlib import Path

import pytest

import course_utils as cu
from course_utils.tools import run

NB = Path(__file__).resolve().parents[1] / "notebooks" / "07_pretrain_finetune.ipynb"


def _cells():
    cells = json.loads(NB.read_text(encoding="utf-8"))["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    i = next(k for k, c in enumerate(code) if "parameters" in c.get("metadata", {}).get("tags", []))
    return "".join(code[i]["source"]), "".join(code[i + 1]["source"])


def _resolve(**overrides):
    params, resolve = _cells()
    ns = {}
    exec(params, ns)
    ns.update(overrides)
    exec(resolve, ns)
    return ns


def test_defaults_resolve_in_both_profiles():
    for profile in ("smoke", "full"):
        ns = _resolve(profile=profile)
        assert ns["P"].profile == profile and ns["BUDGETS"] == sorted(ns["BUDGETS"])
        assert ns["cfg"].vocab_size == ns["P"].vocab_size


@pytest.mark.parametrize("overrides, match", [
    (dict(label_budgets="5000,250"), "increasing integers"),
    (dict(label_budgets="ten"), "increasing integers"),
    (dict(label_budgets="250,40000"), "from 20 to 25,000"),
    (dict(scaling_widths="64"), None),
    (dict(pretrain="sometimes"), "'auto', 'never' or 'always'"),
    (dict(d_model=100, n_head=3), "divisible"),
    (dict(n_seeds=0), "positive integer"),
    (dict(d_model=12.5), "expects int"),
    (dict(vocab_size="4096"), "expects int"),
])
def test_bad_values_refused_with_what_to_change(overrides, match):
    if match is None:
        _resolve(profile="smoke", **overrides)
        return
    with pytest.raises((cu.ProfileError, ValueError), match=match):
        _resolve(profile="smoke", **overrides)


@pytest.mark.parametrize("args, message", [
    (["--param", "widths=32"], "unknown parameter 'widths'"),
    (["--param", "d_model=wide"], "d_model='wide' is str"),
    (["--param", "n_test=-5"], "must be a positive integer"),
])
def test_runner_refuses_before_any_kernel_starts(tmp_path, capsys, args, message):
    out = tmp_path / "never"
    assert run.main([str(NB), "--profile", "smoke", "--out", str(out), *args]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
