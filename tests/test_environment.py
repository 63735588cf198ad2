"""The pins in requirements.txt and environment.yml must agree, and light installs must stay light."""

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _pins(lines):
    pins = {}
    for line in lines:
        line = line.split("#")[0].strip()
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def test_requirements_and_environment_yml_agree():
    req = _pins((REPO / "requirements.txt").read_text().splitlines())
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert req == _pins(pip_section)
    assert {"torch", "tensorflow-cpu", "keras", "jupyterlab", "nbval", "papermill", "matplotlib", "pandas", "tqdm"} <= set(req)


def test_installed_versions_match_the_pins():
    req = _pins((REPO / "requirements.txt").read_text().splitlines())
    for name, pinned in req.items():
        assert version(name).split("+")[0] == pinned, name


def test_package_does_not_pull_torch_or_tensorflow():
    """On Colab, installing course_utils must not replace the runtime's own torch/TensorFlow."""
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    hard = " ".join(meta["dependencies"]).lower()
    assert "torch" not in hard and "tensorflow" not in hard and "keras" not in hard
    assert meta["requires-python"] == ">=3.10"
