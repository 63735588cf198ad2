"""Shared test settings: the smoke profile, and where the local mirror is."""

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


def pytest_collection_modifyitems(config, items):
    """Every notebook cell run by nbval counts as slow: the quick loop is `-m "not slow"`."""
    for item in items:
        if str(item.fspath).endswith(".ipynb"):
            item.add_marker(pytest.mark.slow)
