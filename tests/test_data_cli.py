"""`python -m course_utils data fetch|verify|where` for IMDb, the one-table registry, and import hygiene.

Tiny IMDb-like archives are built at test time; one slow test runs the real mirror end to end.
"""

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import course_utils.data as data
from course_utils.data import DATASETS
from course_utils.data.dataset import Dataset
from course_utils.data.files import FileSpec
from course_utils.tools import data_cli as cli
from test_data_archives import REVIEWS, make_tar
from test_data_fetch import data_sandbox, offline

DATA_DIR = Path(data.__file__).parent


@pytest.fixture(autouse=True)
def sandbox(tmp_path, monkeypatch):
    offline(monkeypatch)
    return data_sandbox(tmp_path, monkeypatch, timeout="1")


@pytest.fixture
def tiny_mirror(sandbox, monkeypatch):
    from course_utils.data.reviews import scan_archive

    archive = make_tar(sandbox / "mirror" / "imdb" / "aclImdb_reviews.tar.gz", REVIEWS)
    monkeypatch.setattr(DATASETS["imdb"], "fingerprint", scan_archive(archive).fingerprint())
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(sandbox / "mirror"))
    return sandbox / "mirror"


def test_cli_fetch_and_verify_imdb(tiny_mirror, sandbox, capsys):
    assert cli.main(["fetch", "imdb"]) == 0
    assert "imdb: ready in" in capsys.readouterr().out
    assert (sandbox / "cache" / "imdb" / "aclImdb_reviews.tar.gz").is_file()
    assert cli.main(["verify", "imdb"]) == 0
    out = capsys.readouterr().out
    assert "ok   imdb/aclImdb_reviews.tar.gz" in out and "imdb: verified" in out
    report = data.status("imdb")
    assert report["state"] == "verified" and report["parsed"] == "verified"
    assert json.loads(json.dumps(report)) == report  # plain values, for the doctor
    assert cli.main(["where", "imdb"]) == 0
    out = capsys.readouterr().out
    assert "aclImdb_reviews.tar.gz" in out and "imdb/aclImdb/ (a folder, read in place)" in out


def test_cli_verify_imdb_flags_a_changed_archive(tiny_mirror, sandbox, capsys):
    data.fetch("imdb")
    archive = sandbox / "cache" / "imdb" / "aclImdb_reviews.tar.gz"
    make_tar(archive, {**REVIEWS, "test/pos/0_9.txt": "A classic!"})  # marker now stale
    assert cli.main(["verify", "imdb"]) == 1
    out = capsys.readouterr().out
    assert "BAD  imdb/aclImdb_reviews.tar.gz" in out and "reviews fingerprint" in out
    assert "fix: python -m course_utils data fetch imdb" in out
    data.fetch("imdb")  # the damaged copy is replaced from the mirror
    assert data.status("imdb")["state"] == "verified"


def test_cli_fetch_imdb_without_data_fails_clearly(sandbox, capsys):
    assert cli.main(["fetch", "imdb"]) == 1
    out = capsys.readouterr().out
    assert "imdb: FAILED" in out and "aclImdb_v1.tar.gz" in out and "84,125,825 bytes" in out
    assert data.status("imdb") == {**data.status("imdb"), "state": "missing", "parsed": "not built yet"}


def test_status_shape_for_every_dataset(sandbox):
    for name in DATASETS:
        report = data.status(name)
        assert report["dataset"] == name and report["state"] == "missing"
        assert set(report["files"]) == {spec.name for spec in DATASETS[name].files}
        assert report["fix"] == f"python -m course_utils data fetch {name}"
    with pytest.raises(data.DataError, match="unknown dataset"):
        data.status("cifar")


class Weights(Dataset):
    """A stand-in for chapter 07's pretrained weights: one file, parsed = the bytes themselves."""

    name = "weights"
    parsed_files = ("weights.bin",)

    def __init__(self, spec):
        self.files = (spec,)

    def build(self, for_fetch=False):
        return {"weights.bin": self.raw(for_fetch)[self.files[0].name].read_bytes()}

    def decode(self, blobs):
        return blobs["weights.bin"]


def test_a_third_artefact_is_one_class_and_one_registry_line(sandbox, monkeypatch, capsys):
    payload = b"\x00\x01" * 5000
    mirror = sandbox / "mirror"
    (mirror / "weights").mkdir(parents=True)
    (mirror / "weights" / "tiny.bin").write_bytes(payload)
    spec = FileSpec("weights", "tiny.bin", len(payload), hashlib.sha256(payload).hexdigest())
    monkeypatch.setitem(DATASETS, "weights", Weights(spec))
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    assert data.status("weights")["state"] == "missing"
    assert cli.main(["fetch", "weights"]) == 0 and cli.main(["verify", "weights"]) == 0
    assert DATASETS["weights"].load() == payload and data.status("weights")["state"] == "verified"
    assert cli.main(["where"]) == 0 and "tiny.bin" in capsys.readouterr().out


def test_no_dataset_names_in_the_control_flow():
    sources = [p for p in DATA_DIR.glob("*.py")] + [DATA_DIR.parent / "tools" / "data_cli.py"]
    for path in sources:
        text = path.read_text()
        assert not re.search(r"name\s*==\s*[\"']", text), path
        assert "REJECTED" not in text, path


def test_import_pulls_in_no_heavy_library():
    code = ("import sys, course_utils, course_utils.data\n"
            "print([m for m in ('torch', 'tensorflow', 'papermill', 'pandas') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_cli_fetch_and_verify_imdb_from_the_real_mirror(sandbox, monkeypatch, mirror_dir, capsys):
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror_dir))
    assert cli.main(["fetch", "imdb"]) == 0
    assert cli.main(["verify", "imdb"]) == 0
    out = capsys.readouterr().out
    assert "ok   imdb/aclImdb_reviews.tar.gz" in out and "imdb: verified" in out
    assert data.status("imdb")["parsed"] == "verified"
    assert len(data.load_imdb(splits="test")) == 25_000
