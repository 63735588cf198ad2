"""The environment's pins: one set in requirements.txt and environment.yml, platform differences as
environment markers, the Python requirement stated once and true, and light installs kept light."""

import re
import sys
import tomllib
from importlib.metadata import metadata, version
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import course  # noqa: E402  (scripts/course.py: the set-up entry point)

# What pip sees on each platform the README promises (sys_platform, platform_machine).
PLATFORMS = {
    "linux-x86_64": {"sys_platform": "linux", "platform_machine": "x86_64"},
    "linux-aarch64": {"sys_platform": "linux", "platform_machine": "aarch64"},
    "macos-arm64": {"sys_platform": "darwin", "platform_machine": "arm64"},
    "macos-x86_64": {"sys_platform": "darwin", "platform_machine": "x86_64"},
    "windows-amd64": {"sys_platform": "win32", "platform_machine": "AMD64"},
}


def _requirements(lines):
    """The pinned requirements (pip options and comments left out)."""
    reqs = []
    for line in lines:
        line = line.split(" #")[0].strip()
        if line and not line.startswith(("#", "-")):
            reqs.append(Requirement(line))
    return reqs


def _key(req):
    return (req.name.lower(), str(req.specifier), str(req.marker or ""))


def _requirements_txt():
    return _requirements((REPO / "requirements.txt").read_text().splitlines())


def _environment_yml():
    return yaml.safe_load((REPO / "environment.yml").read_text())


def _for_platform(reqs, name):
    env = {"python_version": "3.11", "python_full_version": "3.11.0", "os_name": "nt" if "windows" in name else "posix",
           "implementation_name": "cpython", "platform_system": "", "platform_release": "", "platform_version": "",
           "platform_python_implementation": "CPython", "extra": "", **PLATFORMS[name]}
    return [r for r in reqs if r.marker is None or r.marker.evaluate(env)]


def _here(reqs):
    """The requirements that apply on this machine."""
    return [r for r in reqs if r.marker is None or r.marker.evaluate()]


def test_requirements_and_environment_yml_agree():
    pip_section = next(d["pip"] for d in _environment_yml()["dependencies"] if isinstance(d, dict))
    assert sorted(map(_key, _requirements_txt())) == sorted(map(_key, _requirements(pip_section)))
    names = {r.name.lower() for r in _requirements_txt()}
    assert {"torch", "tensorflow", "tensorflow-cpu", "keras", "jupyterlab", "nbval", "papermill", "pandas"} <= names
    # conda's pip gets PyTorch's CPU index for the `+cpu` pin, as scripts/course.py setup gives it to pip
    assert f"--extra-index-url {course.TORCH_CPU_INDEX}" in pip_section


@pytest.mark.parametrize("name", sorted(PLATFORMS))
def test_each_platform_gets_exactly_one_build_of_torch_and_tensorflow(name):
    chosen = _for_platform(_requirements_txt(), name)
    torch = [r for r in chosen if r.name == "torch"]
    tf = [r for r in chosen if r.name in ("tensorflow", "tensorflow-cpu")]
    assert len(torch) == 1 and len(tf) == 1, (name, torch, tf)
    pinned = [r for r in chosen if str(r.specifier).startswith("==")]
    assert len(pinned) == len(chosen), f"{name}: every requirement is pinned with =="
    if name == "linux-x86_64":  # PyPI's builds there are the CUDA ones: the CPU builds are pinned instead
        assert str(torch[0].specifier).endswith("+cpu") and tf[0].name == "tensorflow-cpu"
    else:
        assert "+" not in str(torch[0].specifier) and tf[0].name == "tensorflow"
    assert len({r.name for r in chosen}) == len(chosen), f"{name}: a package is pinned twice"


def test_installed_versions_match_the_pins():
    for req in _here(_requirements_txt()):
        pinned = str(req.specifier).removeprefix("==")
        assert version(req.name).split("+")[0] == pinned.split("+")[0], req.name


def _minimum(spec: str) -> tuple[int, int]:
    """The oldest Python 3.x that a Requires-Python specifier admits."""
    return next((3, minor) for minor in range(6, 40) if SpecifierSet(spec).contains(f"3.{minor}.0"))


def test_python_requirement_is_stated_once_and_true():
    stated = _minimum(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"])
    # true: it is the highest minimum among the pinned packages installed here
    needed = max(_minimum(spec) for r in _here(_requirements_txt())
                 if (spec := metadata(r.name).get("Requires-Python")))
    assert stated == needed, f"pyproject says Python >= {stated}, the pins need >= {needed}"
    # the same everywhere it is used: the set-up script, conda, the README
    assert tuple(course.MIN_PYTHON) == stated
    deps = _environment_yml()["dependencies"]
    assert f"python={stated[0]}.{stated[1]}" in deps
    readme = (REPO / "README.md").read_text()
    assert f"Python {stated[0]}.{stated[1]} or newer" in readme
    older = f"{stated[0]}.{stated[1] - 1}"
    assert not re.search(rf"(Python|≥|>=)\s*{re.escape(older)}\b|{re.escape(older)} works", readme), \
        f"the README still mentions Python {older}"


def test_package_does_not_pull_torch_or_tensorflow():
    """On Colab, installing course_utils must not replace the runtime's own torch/TensorFlow."""
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    hard = " ".join(meta["dependencies"]).lower()
    assert "torch" not in hard and "tensorflow" not in hard and "keras" not in hard
