"""IMDb archives: the content fingerprint, the safe tar reader, and load_imdb on a tiny fake aclImdb.

The tiny archives are built at test time; the fingerprint the loader expects is swapped for the
tiny one, so the whole path (mirror -> verify -> cache -> parse -> DataFrame) runs in a second.
"""

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from course_utils.data import DATASETS, imdb, load_imdb, safetar
from course_utils.data.files import FileSpec
from course_utils.data.errors import ChecksumError, UnsafeArchiveError
from course_utils.data.reviews import scan_archive, scan_folder

REVIEWS = {
    "train/pos/1_10.txt": "Loved it.<br /><br />Twice.",
    "train/pos/0_7.txt": "Amélie-level charm ☃ 🎬",
    "train/neg/0_1.txt": "Dull.",
    "train/neg/3_4.txt": "Not great, not awful.",
    "test/pos/0_9.txt": "A classic.",
    "test/neg/2_2.txt": "Two hours I will not get back.",
    "train/unsup/0_0.txt": "Saw it on a plane.",
    "train/unsup/12_0.txt": "No opinion.",
}
EXTRAS = {"README": "not a review", "train/labeledBow.feat": "0:1 1:2", "train/urls_pos.txt": "http://x"}


@pytest.fixture(autouse=True)
def sandbox(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_DATA_QUIET", "1")
    monkeypatch.setenv("COURSE_DATA_TIMEOUT", "2")
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    monkeypatch.setattr(DATASETS["imdb"], "files", (
        FileSpec("imdb", "aclImdb_v1.tar.gz", 1, "0" * 64), imdb.REPACK))  # no canonical URL: stay offline
    return tmp_path


def make_folder(root: Path, reviews=REVIEWS, extras=EXTRAS) -> Path:
    for rel, text in {**reviews, **extras}.items():
        path = root / "aclImdb" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
    return root / "aclImdb"


def make_tar(path: Path, members: dict, prefix="aclImdb/", reverse=False, mtime=0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for rel in sorted(members, reverse=reverse):
            data = members[rel].encode()
            info = tarfile.TarInfo(prefix + rel)
            info.size, info.mtime = len(data), mtime
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def tiny_fingerprint(tmp_path, monkeypatch):
    found = scan_folder(make_folder(tmp_path / "reference")).fingerprint()
    monkeypatch.setattr(DATASETS["imdb"], "fingerprint", found)
    return found


# --- the fingerprint -------------------------------------------------------------------------

def test_fingerprint_ignores_packing_and_extra_files(tmp_path):
    folder = make_folder(tmp_path / "f")
    official_like = make_tar(tmp_path / "a.tar.gz", {**REVIEWS, **EXTRAS}, mtime=1309000000)
    repack = make_tar(tmp_path / "b.tar.gz", REVIEWS, prefix="./aclImdb/", reverse=True)
    values = {scan_folder(folder).fingerprint(), scan_archive(official_like).fingerprint(),
              scan_archive(repack).fingerprint()}
    assert len(values) == 1
    changed = make_tar(tmp_path / "c.tar.gz", {**REVIEWS, "test/pos/0_9.txt": "A classic!"})
    assert scan_archive(changed).fingerprint() not in values


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="needs coreutils sha256sum")
def test_fingerprint_equals_the_documented_shell_pipeline(tmp_path):
    make_folder(tmp_path)
    pipeline = ("LC_ALL=C find aclImdb -type f | LC_ALL=C sort"
                " | grep -E '^aclImdb/(train/(pos|neg|unsup)|test/(pos|neg))/[0-9]+_[0-9]+\\.txt$'"
                " | xargs sha256sum | sha256sum")
    shell = subprocess.run(pipeline, shell=True, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert shell.stdout.split()[0] == scan_folder(tmp_path / "aclImdb").fingerprint()


# --- unsafe archives -------------------------------------------------------------------------

def evil_tar(path: Path, kind: str) -> Path:
    with tarfile.open(path, "w") as tar:
        ok = tarfile.TarInfo("aclImdb/train/pos/0_9.txt")
        ok.size = 2
        tar.addfile(ok, io.BytesIO(b"ok"))
        info = tarfile.TarInfo({"dotdot": "aclImdb/../../evil.txt", "absolute": "/tmp/evil.txt"}.get(kind, "aclImdb/x"))
        if kind == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        elif kind == "hardlink":
            info.type, info.linkname = tarfile.LNKTYPE, "../../outside"
        elif kind == "device":
            info.type = tarfile.CHRTYPE
        else:
            info.size = 4
        tar.addfile(info, io.BytesIO(b"evil") if info.isfile() else None)
    return path


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink", "hardlink", "device"])
def test_unsafe_members_are_refused(tmp_path, kind):
    archive = evil_tar(tmp_path / "evil.tar", kind)
    with pytest.raises(UnsafeArchiveError):
        list(safetar.iter_files(archive, lambda name: True))
    with pytest.raises(UnsafeArchiveError):
        safetar.extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path.parent / "evil.txt").exists()


def test_safe_extract_unpacks_plain_files(tmp_path):
    archive = make_tar(tmp_path / "ok.tar.gz", REVIEWS)
    safetar.extract(archive, tmp_path / "out")
    assert (tmp_path / "out/aclImdb/train/pos/0_7.txt").read_text() == REVIEWS["train/pos/0_7.txt"]


def test_unsafe_repack_in_mirror_never_enters_the_cache(sandbox, monkeypatch, tiny_fingerprint):
    mirror = sandbox / "mirror"
    (mirror / "imdb").mkdir(parents=True)
    evil_tar(mirror / "imdb" / "aclImdb_reviews.tar.gz", "dotdot")
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    with pytest.raises(UnsafeArchiveError):
        load_imdb()
    assert not any((sandbox / "cache").rglob("*.tar.gz")) and not any((sandbox / "cache").rglob("*.tmp"))


# --- load_imdb end to end on the tiny data ---------------------------------------------------

def check_table(df):
    assert list(df.columns) == ["text", "label", "rating", "split", "id"]
    assert list(zip(df.split, df.label, df.id)) == [
        ("train", 0, 0), ("train", 0, 3), ("train", 1, 0), ("train", 1, 1),
        ("test", 0, 2), ("test", 1, 0), ("unsup", -1, 0), ("unsup", -1, 12)]
    assert df.rating.tolist() == [1, 4, 7, 10, 2, 9, 0, 0]
    assert df.text[2] == "Amélie-level charm ☃ 🎬"
    assert all(str(df[c].dtype) == "int64" for c in ("label", "rating", "id"))


@pytest.mark.parametrize("source", ["repack", "folder"])
def test_load_imdb_from_a_mirror(sandbox, monkeypatch, tiny_fingerprint, source):
    mirror = sandbox / "mirror"
    if source == "repack":
        make_tar(mirror / "imdb" / "aclImdb_reviews.tar.gz", REVIEWS, reverse=True)
    else:
        make_folder(mirror / "imdb")
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    check_table(load_imdb())
    cached_archive = sandbox / "cache" / "imdb" / "aclImdb_reviews.tar.gz"
    assert cached_archive.exists() == (source == "repack")  # a folder is read in place
    shutil.rmtree(mirror)  # the second load needs nothing but the cache
    check_table(load_imdb())
    labeled = load_imdb(splits=("train", "test"))
    assert len(labeled) == 6 and set(labeled.split) == {"train", "test"}
    assert load_imdb(splits="unsup").id.tolist() == [0, 12]


def test_corrupt_repack_is_refused_and_not_cached(sandbox, monkeypatch, tiny_fingerprint):
    mirror = sandbox / "mirror"
    make_tar(mirror / "imdb" / "aclImdb_reviews.tar.gz", {**REVIEWS, "train/neg/0_1.txt": "Dull!"})
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    with pytest.raises(ChecksumError, match="reviews fingerprint"):
        load_imdb()
    assert not (sandbox / "cache" / "imdb" / "aclImdb_reviews.tar.gz").exists()


def test_truncated_repack_is_refused(sandbox, monkeypatch, tiny_fingerprint):
    mirror = sandbox / "mirror"
    archive = make_tar(mirror / "imdb" / "aclImdb_reviews.tar.gz", REVIEWS)
    archive.write_bytes(archive.read_bytes()[:-40])
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    with pytest.raises(ChecksumError, match="unreadable archive|reviews fingerprint"):
        load_imdb()
    assert not (sandbox / "cache" / "imdb" / "aclImdb_reviews.tar.gz").exists()
