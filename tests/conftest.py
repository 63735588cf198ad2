"""Shared test settings: the smoke profile, quiet TensorFlow, and where the local mirror is."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_MIRROR = REPO.parent / "shared" / "datasets"

os.environ.setdefault("COURSE_PROFILE", "smoke")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def mirror_dir() -> Path:
    """The classroom mirror beside the checkout (../shared/datasets), as CI and developers have it."""
    if not SHARED_MIRROR.is_dir():
        pytest.fail(f"the local data mirror {SHARED_MIRROR} is missing; tests use it as a classroom mirror")
    return SHARED_MIRROR
