import pytest

from course_utils.profiles import ProfileError, active_profile, resolve_profile

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
