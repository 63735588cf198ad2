"""Colab: badges agree with the one configured repository, the set-up cell is the same everywhere
and does nothing outside Colab, and the training engine picks fp16 + GradScaler on a T4."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from course_utils import colab
from course_utils.tools import colab_cells

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _nb(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _tiny_notebook(title="# A chapter"):
    return {
        "cells": [
            {"cell_type": "markdown", "id": "t", "metadata": {}, "source": [title + "\n", "\n", "Intro."]},
            {"cell_type": "code", "execution_count": 1, "id": "p", "metadata": {"tags": ["parameters"]},
             "outputs": [], "source": ["seed: int = 0"]},
            {"cell_type": "markdown", "id": "s", "metadata": {}, "source": ["## A section"]},
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    }


# --- the committed notebooks and README --------------------------------------------------------
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_has_its_badge_and_the_setup_cell(path):
    nb = _nb(path)
    first = nb["cells"][0]
    assert first["cell_type"] == "markdown", f"{path.name}: the first cell should be the Colab badge"
    links = [link for cell in nb["cells"] if cell["cell_type"] == "markdown" for link in colab_cells.badge_links(colab_cells._source(cell))]
    assert links == [colab_cells.colab_url(path.name)], (
        f"{path.name}: expected exactly one Colab badge, pointing to {colab_cells.colab_url(path.name)}; found {links}. "
        "Run `python -m course_utils.colab --update`."
    )
    assert colab_cells.badge_links(colab_cells._source(first)) == links
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and colab_cells._source(code[0]) == colab_cells.setup_cell_source(colab_cells.datasets_used(nb)), (
        f"{path.name}: the first code cell must be the Colab set-up cell; run `python -m course_utils.colab --update`"
    )


def test_everything_is_up_to_date_with_the_configured_repository():
    changed = colab_cells.update(ROOT, write=False)
    assert not changed, f"out of date: {changed}; run `python -m course_utils.colab --update`"


def test_readme_badges_agree_with_the_configured_repository():
    assert (ROOT / "README.md").is_file(), "README.md is missing"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = colab_cells.badge_links(readme)
    assert sorted(links) == sorted(colab_cells.colab_url(p.name) for p in NOTEBOOKS), (
        "README.md: every notebook needs one badge pointing to the configured repository; "
        "run `python -m course_utils.colab --update`"
    )


# --- the update tool, on copies -------------------------------------------------------------------
def test_update_inserts_badge_and_setup_cell_and_is_idempotent(tmp_path):
    (tmp_path / "notebooks").mkdir()
    for name in ("01_a.ipynb", "02_b.ipynb"):
        (tmp_path / "notebooks" / name).write_text(json.dumps(_tiny_notebook(f"# Chapter {name[:2]}")), encoding="utf-8")
    (tmp_path / "README.md").write_text(f"# Course\n\n{colab_cells.README_BEGIN}\nold\n{colab_cells.README_END}\n\nmore\n", encoding="utf-8")

    assert colab_cells.main(["--check", "--root", str(tmp_path)]) == 1
    assert sorted(colab_cells.update(tmp_path)) == ["README.md", "notebooks/01_a.ipynb", "notebooks/02_b.ipynb"]
    assert colab_cells.update(tmp_path) == []  # a second run changes nothing
    assert colab_cells.main(["--check", "--root", str(tmp_path)]) == 0

    nb = _nb(tmp_path / "notebooks" / "01_a.ipynb")
    kinds = [(c["cell_type"], c.get("id")) for c in nb["cells"]]
    assert kinds == [("markdown", "colab-badge"), ("markdown", "t"), ("code", "colab-setup"), ("code", "p"), ("markdown", "s")]
    assert colab_cells.badge_links("".join(nb["cells"][0]["source"])) == [colab_cells.colab_url("01_a.ipynb")]
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# Course\n\n") and readme.endswith("\n\nmore\n") and "old" not in readme
    assert "| Chapter 02 |" in readme and colab_cells.colab_url("02_b.ipynb") in readme


def test_update_follows_a_change_of_repository(tmp_path, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_a.ipynb").write_text(json.dumps(_tiny_notebook()), encoding="utf-8")
    (tmp_path / "README.md").write_text(f"{colab_cells.README_BEGIN}\n{colab_cells.README_END}\n", encoding="utf-8")
    colab_cells.update(tmp_path)
    monkeypatch.setattr(colab_cells, "REPO", "https://github.com/someone/fork.git")
    monkeypatch.setattr(colab_cells, "BRANCH", "v2")
    assert sorted(colab_cells.update(tmp_path)) == ["README.md", "notebooks/01_a.ipynb"]
    text = (tmp_path / "notebooks" / "01_a.ipynb").read_text(encoding="utf-8")
    assert "github/someone/fork/blob/v2/notebooks/01_a.ipynb" in text
    import course_utils

    assert f"git+https://github.com/someone/fork@v{course_utils.__version__}" in text  # the release, not the branch
    assert "large-models-course" not in text
    nb = _nb(tmp_path / "notebooks" / "01_a.ipynb")
    assert sum(c.get("id") in ("colab-badge", "colab-setup") for c in nb["cells"]) == 2  # replaced, not added


def test_update_keeps_outputs_of_an_unchanged_setup_cell(tmp_path):
    (tmp_path / "notebooks").mkdir()
    nb = colab_cells.refresh_notebook(_tiny_notebook(), "01_a.ipynb")
    setup = next(c for c in nb["cells"] if c.get("id") == "colab-setup")
    setup["execution_count"] = 1
    (tmp_path / "notebooks" / "01_a.ipynb").write_text(colab_cells.dumps(nb), encoding="utf-8")
    (tmp_path / "README.md").write_text(colab_cells.readme_block([tmp_path / "notebooks" / "01_a.ipynb"]), encoding="utf-8")
    assert colab_cells.update(tmp_path) == []


def test_update_refuses_a_readme_without_markers(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "README.md").write_text("# Course\n", encoding="utf-8")
    assert colab_cells.main(["--update", "--root", str(tmp_path)]) == 1
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "# Course\n"


def test_bad_repository_setting_is_refused(monkeypatch):
    monkeypatch.setattr(colab_cells, "REPO", "gitlab.com/x/y")
    with pytest.raises(ValueError, match="github.com/<org>/<repo>"):
        colab_cells.colab_url("01_background.ipynb")


# --- the set-up cell -------------------------------------------------------------------------------
def _not_colab(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)


def _run_setup_cell(monkeypatch, source):
    """Run the set-up cell as IPython would, with get_ipython() forbidden (no %pip outside Colab)."""
    from IPython.core.inputtransformer2 import TransformerManager

    code = TransformerManager().transform_cell(source)

    def forbidden(*args, **kwargs):
        raise AssertionError("the set-up cell did something outside Colab")

    exec(compile(code, "<setup cell>", "exec"), {"get_ipython": forbidden})
    return code


def test_setup_cell_does_nothing_outside_colab(monkeypatch, capsys):
    """The cell, as IPython would run it, neither installs nor sets anything up here."""
    _not_colab(monkeypatch)
    monkeypatch.delitem(sys.modules, "course_utils.colab")
    code = _run_setup_cell(monkeypatch, colab_cells.setup_cell_source(["mnist"]))
    assert "run_line_magic('pip', 'install -q \"course_utils @ git+https://github.com/" in code
    assert "course_utils.colab" not in sys.modules
    assert capsys.readouterr() == ("", "")


def test_setup_cell_without_course_utils_says_what_to_run(monkeypatch):
    _not_colab(monkeypatch)
    monkeypatch.setitem(sys.modules, "course_utils", None)  # makes `import course_utils` fail
    with pytest.raises(ModuleNotFoundError) as info:
        _run_setup_cell(monkeypatch, colab_cells.setup_cell_source())
    message = str(info.value)
    assert sys.executable in message and "bash scripts/lab.sh" in message
    assert f"{sys.executable} -m pip install -r requirements.txt -e ." in message


def test_setup_cell_pins_the_release_and_names_the_notebooks_data():
    import course_utils

    source = colab_cells.setup_cell_source(["imdb"])
    assert f"@v{course_utils.__version__}\"" in source
    assert f"setup(datasets=['imdb'], version='{course_utils.__version__}')" in source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_each_notebook_fetches_only_what_it_loads(path):
    nb = _nb(path)
    used = colab_cells.datasets_used(nb)
    code = "\n".join(colab_cells._source(c) for c in nb["cells"] if c["cell_type"] == "code")
    for name in ("mnist", "imdb"):
        assert (name in used) == (f"load_{name}(" in code)


def test_datasets_used_ignores_the_setup_cell_and_unknown_loaders():
    nb = _tiny_notebook()
    nb["cells"].append({"cell_type": "code", "id": "x", "metadata": {}, "outputs": [], "execution_count": None,
                        "source": ["x = cu.load_mnist(subset=10)\nm = keras.models.load_model('a.keras')"]})
    assert colab_cells.datasets_used(nb) == ["mnist"]
    nb = colab_cells.refresh_notebook(nb, "01_a.ipynb")
    assert colab_cells.datasets_used(nb) == ["mnist"]


def test_setup_is_a_no_op_outside_colab(monkeypatch, capsys):
    _not_colab(monkeypatch)
    monkeypatch.setattr(colab, "_fetch", lambda datasets: pytest.fail("fetched data outside Colab"))
    assert colab.on_colab() is False
    assert colab.setup() is None
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("how", ["module", "env"])
def test_colab_is_detected(monkeypatch, how):
    _not_colab(monkeypatch)
    if how == "module":
        monkeypatch.setitem(sys.modules, "google.colab", object())
    else:
        monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20261101")
    assert colab.on_colab() is True


def test_setup_on_a_cpu_colab_fetches_data_and_names_the_menu_path(monkeypatch, capsys):
    import torch

    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20261101")
    calls = []
    monkeypatch.setattr(colab, "_fetch", lambda datasets: calls.append(datasets) or {"mnist": "ready"})
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    result = colab.setup(datasets=["mnist"])
    out = capsys.readouterr().out
    assert calls == [["mnist"]] and result["data"] == {"mnist": "ready"} and result["device"] == "cpu"
    assert "No GPU" in out
    assert "Runtime → Change runtime type → Hardware accelerator → T4 GPU" in out
    assert "estimate" in out


def test_setup_on_a_t4_reports_fp16_with_gradient_scaling(monkeypatch, capsys):
    import torch

    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20261101")
    monkeypatch.setattr(colab, "_fetch", lambda datasets: {})
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: "Tesla T4")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda i=0: (7, 5))
    result = colab.setup()
    out = capsys.readouterr().out
    assert result["device"] == "cuda" and result["precision"] == "float16 + GradScaler"
    assert "Tesla T4, compute capability 7.5" in out
    assert "float16 + GradScaler" in out and "No GPU" not in out


def test_setup_fetches_nothing_for_a_chapter_without_data_and_warns_on_another_version(monkeypatch, capsys):
    import torch

    import course_utils

    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20261101")
    calls = []
    monkeypatch.setattr(colab, "_fetch", lambda datasets: calls.append(list(datasets)) or {})
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    result = colab.setup(datasets=[], version=course_utils.__version__)
    assert calls == [[]] and result["version_ok"] is True
    assert "written for course_utils" not in capsys.readouterr().out
    result = colab.setup(datasets=[], version="0.0.1")
    out = capsys.readouterr().out
    assert result["version_ok"] is False
    assert f"written for course_utils 0.0.1, but {course_utils.__version__} is installed" in out


# --- mixed precision: the engine's decision for a T4 and for newer GPUs ---------------------------
@pytest.mark.parametrize("capability, dtype, scaler", [
    ((7, 5), "float16", True),    # T4 (Colab's free GPU): no fast bf16
    ((7, 0), "float16", True),    # V100
    ((8, 0), "bfloat16", False),  # A100
    ((8, 6), "bfloat16", False),  # RTX 30xx / A10
    ((8, 9), "bfloat16", False),  # L4 (Ada)
    ((9, 0), "bfloat16", False),  # H100 (Hopper)
])
def test_engine_precision_by_compute_capability(capability, dtype, scaler):
    from course_utils.precision import Precision, choose_precision

    assert choose_precision("auto", "cuda", capability) == Precision(dtype, scaler=scaler)


def test_t4_refuses_bf16_and_cpu_stays_float32():
    from course_utils.precision import Precision, choose_precision

    with pytest.raises(ValueError, match="no fast bfloat16"):
        choose_precision("bf16", "cuda", (7, 5))
    assert choose_precision("auto", "cpu") == Precision(None)


def test_grad_scaler_is_made_for_fp16_only():
    from course_utils.precision import Precision, grad_scaler

    import torch

    assert grad_scaler("cpu", Precision("bfloat16")) is None
    assert grad_scaler("cpu", Precision(None)) is None
    scaler = grad_scaler("cpu", Precision("float16", scaler=True))  # what a T4 gets, made on any machine
    assert isinstance(scaler, torch.amp.GradScaler) and scaler.is_enabled()
