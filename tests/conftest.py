"""Shared test settings: the smoke profile, where the local mirror is, how to load a benchmark script."""

import importlib.util
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_MIRROR = REPO.parent / "shared" / "datasets"

os.environ.setdefault("COURSE_PROFILE", "smoke")


@pytest.fixture(scope="session")
def mirror_dir() -> Path:
    """The classroom mirror beside the checkout (../shared/datasets), as CI and developers have it."""
    if not SHARED_MIRROR.is_dir():
        pytest.fail(f"the local data mirror {SHARED_MIRROR} is missing; tests use it as a classroom mirror")
    return SHARED_MIRROR


@pytest.fixture(scope="session")
def load_benchmark():
    """load_benchmark("train_speed"): a script of benchmarks/ as a module (the folder is not a package)."""
    def load(name):
        spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


def pytest_collection_modifyitems(config, items):
    """Every notebook cell run by nbval counts as slow: the quick loop is `-m "not slow"`."""
    for item in items:
        if str(item.fspath).endswith(".ipynb"):
            item.add_marker(pytest.mark.slow)
