"""Profiles, and the one value checker that notebooks (resolve_profile) and the runners share."""

import pytest

from course_utils.profiles import (PROFILES, ProfileError, active_profile, check_parameter, parameter_problem,
                                   resolve_profile)

FULL = dict(epochs=10, lr=0.001, subset=60000, augment=True)
SMOKE = dict(epochs=1, lr=0.001, subset=500, augment=False)


def test_environment_variable_picks_the_profile(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    assert resolve_profile({"profile": None}, full=FULL, smoke=SMOKE).epochs == 1
    monkeypatch.delenv("COURSE_PROFILE")
    assert resolve_profile({"profile": None}, full=FULL, smoke=SMOKE).profile == "full"


def test_notebook_parameter_beats_environment(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    p = resolve_profile({"profile": "full", "epochs": 3}, full=FULL, smoke=SMOKE)
    assert (p.profile, p.epochs, p.subset) == ("full", 3, 60000)


def test_none_keeps_the_profile_value_and_int_is_a_valid_float():
    p = resolve_profile({"profile": "smoke", "epochs": None, "lr": 1}, full=FULL, smoke=SMOKE)
    assert p.epochs == 1 and p.lr == 1


@pytest.mark.parametrize("source", ["param", "env"])
def test_unknown_profile_is_refused(monkeypatch, source):
    if source == "env":
        monkeypatch.setenv("COURSE_PROFILE", "fast")
        given = {"profile": None}
    else:
        given = {"profile": "fast"}
    with pytest.raises(ProfileError, match="unknown profile 'fast'.*full, smoke"):
        resolve_profile(given, full=FULL, smoke=SMOKE)


@pytest.mark.parametrize("bad", [{"epochs": "10"}, {"epochs": 2.5}, {"augment": 1}, {"lr": "fast"}])
def test_wrong_types_are_refused(bad):
    with pytest.raises(ProfileError, match="expects"):
        resolve_profile({"profile": "full", **bad}, full=FULL, smoke=SMOKE)


def test_profiles_must_define_the_same_settings():
    with pytest.raises(ProfileError, match="same settings"):
        resolve_profile({}, full={"a": 1}, smoke={"b": 1})


def test_active_profile_default(monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    assert active_profile() == "full"


# -- the value conventions ------------------------------------------------------------------

GOOD = [("profile", "smoke"), ("seed", 0), ("seeds", "0,1,2"), ("seeds", "7"), ("device", "auto"),
        ("device", "cuda:1"), ("device", "mps"), ("epochs", 3), ("fw_epochs", 1), ("n_train", 500),
        ("batch_size", 64), ("cv_folds", 2), ("dropout", 0.0), ("dropout", 0.5), ("cv_dropouts", "0.2,0.5"),
        ("lr", 1), ("epochs", None), ("seeds", None), ("width", -1), ("remedy", "anything")]
BAD = [("profile", "fast", "unknown profile"), ("seed", -1, "non-negative"), ("seed", True, "non-negative"),
       ("seeds", "abc", "distinct non-negative"), ("seeds", "0,0", "distinct"), ("seeds", "1,-2", "distinct"),
       ("seeds", "", "distinct"), ("device", "gpu", "cuda:N"), ("device", "cuda:x", "cuda:N"),
       ("epochs", 0, "positive integer"), ("n_train", -5, "positive integer"), ("batch_size", 1.5, "positive"),
       ("keras_epochs", 0, "positive"), ("cv_folds", 1, "at least 2"), ("dropout", 1.0, r"\[0, 1\)"),
       ("dropout", -0.1, r"\[0, 1\)"), ("cv_dropouts", "0.2,1.5", "rates"), ("cv_dropouts", "x", "rates"),
       ("lr", 0, "positive")]


@pytest.mark.parametrize("name, value", GOOD)
def test_conventional_values_pass(name, value):
    assert parameter_problem(name, value) is None
    check_parameter(name, value)


@pytest.mark.parametrize("name, value, message", BAD)
def test_values_that_break_a_convention_are_refused(name, value, message):
    assert parameter_problem(name, value) is not None
    with pytest.raises(ProfileError, match=message):
        check_parameter(name, value)


@pytest.mark.parametrize("given, message", [
    ({"seeds": "abc"}, "seeds='abc'"), ({"seed": -1}, "seed=-1"), ({"device": "gpu"}, "device='gpu'"),
    ({"epochs": 0}, "epochs=0"), ({"dropout": 1.5}, "dropout=1.5"),
])
def test_resolve_profile_applies_the_same_checker(given, message):
    with pytest.raises(ProfileError, match=message):
        resolve_profile({"profile": "smoke", **given}, full=dict(epochs=3, seeds="0,1"), smoke=dict(epochs=1, seeds="0"))


def test_profiles_are_the_two_documented_ones():
    assert PROFILES == ("full", "smoke")
