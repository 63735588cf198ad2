"""Run profiles, and the one set of rules every parameter value must obey.

`full` is the real course, `smoke` a tiny version of it for tests. A notebook declares what each
profile means in one call, so the same notebook serves a learner (full), CI (smoke, via
COURSE_PROFILE) and an instructor's papermill batch (any parameter overridden).

The value rules (`check_parameter`) live here, in the learner-facing package, because two places
need them: `resolve_profile` inside the notebook, and the runners in course_utils/tools before any
kernel starts. One function, so the two can never disagree.
"""

from __future__ import annotations

import os
import re
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


# -- the course-wide value conventions, by parameter name --------------------------------------

_DEVICE = re.compile(r"(auto|cpu|mps|cuda(:\d+)?)")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _int_list(text) -> list[int] | None:
    """'0,1,2' -> [0, 1, 2]; None when it is not a comma list of non-negative integers."""
    parts = [p.strip() for p in str(text).split(",")]
    return [int(p) for p in parts] if all(p.isdigit() for p in parts) else None


def _rates(text) -> bool:
    try:
        return all(0 <= float(p) < 1 for p in str(text).split(","))
    except ValueError:
        return False


def _positive_int_name(name: str) -> bool:
    return name in ("epochs", "batch_size") or name.startswith("n_") or name.endswith("_epochs")


def parameter_problem(name: str, value) -> str | None:
    """What is wrong with `name=value` under the course's conventions, or None when nothing is.

    None always passes: it means "the profile's value". Names without a convention pass too.
    """
    if value is None:
        return None
    bad = f"parameter {name}={value!r}"
    if name == "profile":
        return None if value in PROFILES else f"unknown profile {value!r}; choose one of {', '.join(PROFILES)}"
    if name == "seed":
        return None if _is_int(value) and value >= 0 else f"{bad}: a seed is a non-negative integer"
    if name == "seeds":
        seeds = _int_list(value) if isinstance(value, str) else None
        if not seeds or len(set(seeds)) != len(seeds):
            return f"{bad}: seeds are distinct non-negative integers separated by commas, like '0,1,2'"
        return None
    if name == "device":
        if isinstance(value, str) and _DEVICE.fullmatch(value):
            return None
        return f"{bad}: choose auto, cpu, cuda, cuda:N or mps"
    if _positive_int_name(name):
        return None if _is_int(value) and value > 0 else f"{bad}: must be a positive integer"
    if name.endswith("_folds"):
        return None if _is_int(value) and value >= 2 else f"{bad}: k-fold cross-validation needs at least 2 folds"
    if name == "dropout" or name.endswith(("_dropout", "_rate")):
        return None if _is_real(value) and 0 <= value < 1 else f"{bad}: a rate lies in [0, 1)"
    if name.endswith("_dropouts"):
        return None if isinstance(value, str) and _rates(value) else f"{bad}: rates in [0, 1) separated by commas"
    if name == "lr":
        return None if _is_real(value) and value > 0 else f"{bad}: a learning rate is positive"
    return None


def check_parameter(name: str, value) -> None:
    """Raise ProfileError if `name=value` breaks a course convention (see `parameter_problem`)."""
    problem = parameter_problem(name, value)
    if problem:
        raise ProfileError(problem)


# -- profiles ----------------------------------------------------------------------------------


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
    Everything is checked (types, then `check_parameter`) before the notebook does any work.
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
    for key, value in settings.items():
        check_parameter(key, value)
    return SimpleNamespace(profile=name, **settings)
