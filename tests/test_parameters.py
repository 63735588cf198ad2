"""Reading a notebook's parameters cell (papermill's inspection, with a fallback) and checking values."""

import papermill
import pytest

from course_utils.profiles import ProfileError
from course_utils.tools.notebooks import NotebookError, problems, read_parameters, validate
from _nbmaker import make_notebook

PARAMS = '''profile: str | None = None  # full or smoke
seed: int = 0
epochs: int | None = None
lr: float = 0.001
augment: bool = False
name = "baseline"
seeds: "str" = "0,1"
k: Optional[int] = None
'''


@pytest.fixture
def nb(tmp_path):
    return make_notebook(tmp_path / "nb.ipynb", PARAMS, "print(seed)")


def test_reads_defaults_and_types(nb):
    params = read_parameters(nb)
    assert list(params) == ["profile", "seed", "epochs", "lr", "augment", "name", "seeds", "k"]
    assert params["seed"] == {"default": 0, "types": (int,)}
    assert params["profile"]["types"] == (str, type(None))
    assert params["epochs"]["types"] == (int, type(None))
    assert params["name"]["types"] == (str,)  # no annotation: the default's type
    assert params["seeds"]["types"] == (str,)  # a quoted annotation, as papermill reads it
    assert params["k"] == {"default": None, "types": (int, type(None))}


def test_papermill_alone_misses_the_course_s_optional_parameters(nb):
    """Why the fallback exists: papermill 2.x's pattern skips `x: int | None = ...` lines."""
    seen = papermill.inspect_notebook(str(nb))
    assert "seed" in seen and "epochs" not in seen and "profile" not in seen
    assert "epochs" in read_parameters(nb)


def test_good_values_pass(nb):
    validate(nb, {"seed": 3, "epochs": None, "lr": 1, "augment": True, "profile": "smoke", "name": "x", "seeds": "2,3"})


@pytest.mark.parametrize(
    "values, message",
    [
        ({"epoch": 3}, "unknown parameter 'epoch'; this notebook takes: augment, epochs, k, lr, name, profile, seed, seeds"),
        ({"seed": "3"}, "seed='3' is str, expected int"),
        ({"augment": 1}, "augment=1 is int, expected bool"),
        ({"augment": "true"}, "Python spells it True"),
        ({"epochs": 1.5}, "expected int or None"),
        ({"profile": "fast"}, "unknown profile 'fast'"),
        ({"seeds": "abc"}, "seeds='abc': seeds are distinct non-negative integers"),
        ({"seed": -2}, "seed=-2: a seed is a non-negative integer"),
        ({"epochs": 0}, "epochs=0: must be a positive integer"),
    ],
)
def test_bad_names_types_and_values_are_refused_with_the_fix(nb, values, message):
    with pytest.raises(ProfileError) as info:
        validate(nb, values)
    assert message in str(info.value)


def test_every_problem_is_listed_at_once(nb):
    found = problems(read_parameters(nb), {"epoch": 1, "seed": -1, "seeds": "x"})
    assert len(found) == 3


@pytest.mark.parametrize("source, message", [
    ("import os\nseed = 0", "only `name = literal`"),
    ("seed = 1 + 1", "plain literal"),
    ("seed = (", "not valid Python"),
])
def test_parameters_cell_must_be_plain_literals(tmp_path, source, message):
    bad = make_notebook(tmp_path / "bad.ipynb", source)
    with pytest.raises(NotebookError, match=message.replace("(", r"\(")):
        read_parameters(bad)


def test_a_file_that_is_not_a_notebook_is_refused(tmp_path):
    junk = tmp_path / "junk.ipynb"
    junk.write_text("this is not json")
    with pytest.raises(NotebookError, match="not a readable notebook"):
        read_parameters(junk)
    with pytest.raises(NotebookError, match="no such notebook"):
        read_parameters(tmp_path / "missing.ipynb")


@pytest.mark.parametrize("tagged", [0, 2])
def test_exactly_one_parameters_cell(tmp_path, tagged):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("seed = 0") for _ in range(2)]
    for cell in nb.cells[:tagged]:
        cell.metadata["tags"] = ["parameters"]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, str(path))
    with pytest.raises(NotebookError, match=f"exactly one cell tagged 'parameters', found {tagged}"):
        read_parameters(path)
