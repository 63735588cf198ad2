"""Run profiles: `full` is the real course, `smoke` is a tiny version of it for tests.

A notebook declares what each profile means in one call, so the same notebook serves a
learner (full), CI (smoke, via COURSE_PROFILE) and an instructor's papermill batch (any
parameter overridden).
"""

from __future__ import annotations

import os
from types import SimpleNamespace

PROFILES = ("full", "smoke")
ENV_VAR = "COURSE_PROFILE"


class ProfileError(ValueError):
    """A profile or parameter that the notebook cannot run with."""


def active_profile(explicit: str | None = None) -> str:
    """The profile to use: the notebook's own `profile` parameter, else $COURSE_PROFILE, else full."""
    source = "the notebook's `profile` parameter"
    name = explicit
    if name is None:
        name, source = os.environ.get(ENV_VAR) or "full", f"${ENV_VAR}"
    if name not in PROFILES:
        raise ProfileError(
            f"unknown profile {name!r} (from {source}); choose one of {', '.join(PROFILES)}"
        )
    return name


def _type_ok(value, default) -> bool:
    if default is None or value is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def resolve_profile(given: dict, *, full: dict, smoke: dict) -> SimpleNamespace:
    """Merge the notebook's parameters with the chosen profile's settings.

    `given` holds the parameters cell's values; `profile` among them picks the profile and
    any other value that is not None overrides that profile's setting of the same name.
    Everything is checked before the notebook does any work.
    """
    if set(full) != set(smoke):
        raise ProfileError(
            f"the full and smoke profiles must define the same settings; only in one: "
            f"{sorted(set(full) ^ set(smoke))}"
        )
    given = dict(given)
    name = active_profile(given.pop("profile", None))
    settings = dict(full if name == "full" else smoke)
    for key, value in given.items():
        if key in settings and value is not None:
            if not _type_ok(value, settings[key]):
                raise ProfileError(
                    f"parameter {key}={value!r} has type {type(value).__name__}, "
                    f"but this notebook expects {type(settings[key]).__name__} "
                    f"(the {name} profile uses {settings[key]!r})"
                )
            settings[key] = value
        elif key not in settings:
            settings[key] = value
    return SimpleNamespace(profile=name, **settings)
