import pytest

from course_utils.parameters import read_parameters, validate
from course_utils.profiles import ProfileError
from _nbmaker import make_notebook

PARAMS = '''profile: str | None = None  # full or smoke
seed: int = 0
epochs: int | None = None
lr: float = 0.001
augment: bool = False
name = "baseline"
'''


@pytest.fixture
def nb(tmp_path):
    return make_notebook(tmp_path / "nb.ipynb", PARAMS, "print(seed)")


def test_reads_defaults_and_types(nb):
    params = read_parameters(nb)
    assert params["seed"] == {"default": 0, "types": (int,)}
    assert params["epochs"]["types"] == (int, type(None))
    assert params["name"]["types"] == (str,)


def test_good_values_pass(nb):
    validate(nb, {"seed": 3, "epochs": None, "lr": 1, "augment": True, "profile": "smoke", "name": "x"})


@pytest.mark.parametrize(
    "values, message",
    [
        ({"epoch": 3}, "unknown parameter 'epoch'; this notebook takes: augment, epochs, lr, name, profile, seed"),
        ({"seed": "3"}, "seed='3' is str, expected int"),
        ({"augment": 1}, "augment=1 is int, expected bool"),
        ({"epochs": 1.5}, "expected int or None"),
        ({"profile": "fast"}, "unknown profile 'fast'"),
    ],
)
def test_bad_values_are_refused_with_the_fix(nb, values, message):
    with pytest.raises(ProfileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate(nb, values)


def test_parameters_cell_must_be_plain_literals(tmp_path):
    bad = make_notebook(tmp_path / "bad.ipynb", "import os\nseed = 0")
    with pytest.raises(ProfileError, match="only `name = literal`"):
        read_parameters(bad)
    computed = make_notebook(tmp_path / "computed.ipynb", "seed = 1 + 1")
    with pytest.raises(ProfileError, match="plain literal"):
        read_parameters(computed)
