"""`python -m course_utils doctor`: a report a learner can paste, that never crashes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from course_utils.tools import doctor


@pytest.fixture
def report(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return doctor.collect(tensorflow=False)


def test_report_has_every_section(report):
    assert set(report) == {"versions", "device", "data", "settings", "hints"}
    v = report["versions"]
    for name in ("python", "course_utils", "torch", "tensorflow", "keras", "numpy", "pandas", "jupyterlab"):
        assert v[name] and v[name] != "not installed", name
    assert v["torch"].startswith(__import__("torch").__version__.split("+")[0])
    assert report["device"]["device"] in ("cpu", "cuda", "mps")
    assert report["device"]["mixed_precision"]
    assert report["device"]["colab"] is False
    s = report["settings"]
    assert s["profile"] == "smoke" and s["COURSE_PROFILE"] == "smoke"
    assert s["OMP_NUM_THREADS"] == "1" and s["physical_cores"] >= 1 and s["torch_threads"] >= 1
    assert {"mnist", "imdb", "cache"} <= set(report["data"])


def test_data_section_is_the_data_layers_own_status(tmp_path, monkeypatch):
    """One cache-status function answers the doctor, `data where` and `data verify` alike."""
    from course_utils import data

    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    report = doctor.data()
    assert report["cache"] == str(tmp_path.resolve())
    for name in data.DATASETS:
        assert report[name] == data.status(name)
        assert report[name]["state"] == "missing"


def test_hints_name_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COURSE_PROFILE", "fast")
    monkeypatch.setenv("OMP_NUM_THREADS", "999")
    hints = "\n".join(doctor.collect(tensorflow=False)["hints"])
    assert "mnist: missing; " in hints and "python -m course_utils data fetch" in hints
    assert "unknown profile 'fast'" in hints
    assert "OMP_NUM_THREADS=999" in hints


def test_a_broken_section_is_reported_not_raised(monkeypatch):
    def boom():
        raise RuntimeError("data layer exploded")

    monkeypatch.setattr(doctor, "data", boom)
    report = doctor.collect(tensorflow=False)
    assert report["data"] == {"error": "RuntimeError: data layer exploded"}
    assert any("data section failed" in h for h in report["hints"])
    assert "- error: RuntimeError: data layer exploded" in doctor.render(report)


def test_markdown_output(report):
    text = doctor.render(report)
    assert text.startswith("# course_utils doctor")
    for heading in ("## versions", "## device", "## data", "## settings", "## hints"):
        assert f"\n{heading}\n" in text
    assert "- torch: " in text and "- COURSE_PROFILE: smoke" in text


@pytest.mark.slow
def test_command_line_json():
    """The real entry point, as a learner runs it (with TensorFlow: the full report)."""
    out = subprocess.run([sys.executable, "-m", "course_utils", "doctor", "--json"],
                         capture_output=True, text=True, timeout=240, check=True).stdout
    report = json.loads(out)
    assert report["versions"]["tensorflow"] != "not installed"
    assert report["device"]["tf_gpus"] >= 0 and "error" not in report["device"]


def test_command_line_markdown(capsys):
    assert doctor.main(["--no-tensorflow"]) == 0
    assert capsys.readouterr().out.startswith("# course_utils doctor")
