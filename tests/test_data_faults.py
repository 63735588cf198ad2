"""The data layer's fault cases (issue 14), each one made here, on this machine: damaged caches,
servers that stall or never stop, decompression bombs, filesystem failures, bad settings and bad
mirrors. docs/FAULTS.md ("## Data") lists them with their outcome.

Servers are http.server on 127.0.0.1; every cache lives in tmp_path. Tests run as root here, so a
read-only mount or a full disk is simulated by making the system call fail with EROFS or ENOSPC
at the point where the real fault would hit; each test says which fault it stands for.
"""

import dataclasses
import errno
import gzip
import http.server
import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import course_utils.data as data
from course_utils.data import DATASETS, download, imdb, safetar
from course_utils.data.errors import ChecksumError, DataError, DataUnavailableError, UnsafeArchiveError
from course_utils.data.files import MARKER, FileSpec
from course_utils.data.sources import obtain
from course_utils.tools import data_cli as cli
from test_data_archives import REVIEWS, make_folder, make_tar
from test_data_fetch import PAYLOAD, SPEC, LocalServer, closed_port_url, data_sandbox, offline

MNIST = DATASETS["mnist"]


@pytest.fixture(autouse=True)
def sandbox(tmp_path, monkeypatch):
    offline(monkeypatch)
    return data_sandbox(tmp_path, monkeypatch, timeout="1", retries="1")


@pytest.fixture
def mnist_mirror(monkeypatch, mirror_dir):
    """The real MNIST files from the classroom mirror (13 MB, parsed in about a second)."""
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror_dir))
    return mirror_dir


@pytest.fixture
def tiny_imdb(sandbox, monkeypatch):
    """A tiny IMDb repack in a mirror, with the fingerprint the loader expects swapped for its own."""
    from course_utils.data.reviews import scan_folder

    found = scan_folder(make_folder(sandbox / "reference")).fingerprint()
    monkeypatch.setattr(DATASETS["imdb"], "fingerprint", found)
    monkeypatch.setattr(DATASETS["imdb"], "files", (FileSpec("imdb", "aclImdb_v1.tar.gz", 1, "0" * 64), imdb.REPACK))
    mirror = sandbox / "mirror"
    make_tar(mirror / "imdb" / "aclImdb_reviews.tar.gz", REVIEWS)
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    return mirror


def flip_byte(path: Path, offset: int, value: int | None = None) -> None:
    """Change one byte in place, keeping size and mtime: bit rot as a later stat sees it."""
    stat = path.stat()
    raw = bytearray(path.read_bytes())
    raw[offset] = value if value is not None else raw[offset] ^ 0xFF
    path.write_bytes(bytes(raw))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


# --- 1. damaged caches ---------------------------------------------------------------------

def test_changed_byte_in_parsed_mnist_is_rebuilt_not_returned(mnist_mirror):
    (_, y_train), _ = data.load_mnist()
    target = MNIST.parsed_dir() / "y_train.npy"
    flip_byte(target, target.stat().st_size - 1, 17)  # the last label becomes 17, same size
    assert data.status("mnist")["parsed"] == "damaged" and data.status("mnist")["state"] == "damaged"
    assert cli.main(["verify", "mnist"]) == 1
    (_, again), _ = data.load_mnist()
    assert again.max() <= 9 and np.array_equal(again, y_train)
    assert data.status("mnist")["state"] == "verified" and data.status("mnist")["parsed"] == "verified"


@pytest.mark.parametrize("name", ["x_train.npy", "manifest.json"])
def test_zero_byte_parsed_file_is_rebuilt(mnist_mirror, name):
    data.load_mnist()
    (MNIST.parsed_dir() / name).write_bytes(b"")
    (x_train, _), _ = data.load_mnist()
    assert x_train.shape == (60_000, 28, 28)


def test_truncated_parsed_imdb_text_is_reported_and_rebuilt(tiny_imdb, capsys):
    first = data.load_imdb()
    text = DATASETS["imdb"].parsed_dir() / "text.utf8"
    text.write_bytes(text.read_bytes()[:-7])
    report = data.status("imdb")
    assert report["state"] == "damaged" and report["parsed"] == "damaged" and "text.utf8" in report["details"]["parsed"]
    assert report["fix"].startswith("python -m course_utils data fetch imdb")
    assert cli.main(["verify", "imdb"]) == 1 and "BAD" in capsys.readouterr().out
    assert data.load_imdb().equals(first)  # rebuilt from the verified raw archive
    assert data.status("imdb")["state"] == "verified"


@pytest.mark.parametrize("name", ["meta.npz", "text.utf8"])
def test_zero_byte_parsed_imdb_file_is_rebuilt(tiny_imdb, name):
    first = data.load_imdb()
    (DATASETS["imdb"].parsed_dir() / name).write_bytes(b"")
    assert data.load_imdb().equals(first)


def test_bit_rot_in_raw_file_names_the_file_and_fetch_repairs_it(mnist_mirror):
    data.fetch("mnist")
    shutil.rmtree(MNIST.parsed_dir())
    raw = data.data_dir() / "mnist" / "train-labels-idx1-ubyte.gz"
    flip_byte(raw, 1000)  # size and mtime unchanged: the marker still matches
    with pytest.raises(ChecksumError) as error:
        data.load_mnist()
    assert str(raw) in str(error.value) and "python -m course_utils data fetch mnist" in str(error.value)
    assert data.status("mnist")["files"]["train-labels-idx1-ubyte.gz"] == "damaged"
    data.fetch("mnist")  # replaces the damaged file from the mirror
    assert data.status("mnist")["state"] == "verified"


def test_bit_rot_in_a_cached_imdb_archive_names_it(tiny_imdb, sandbox):
    data.fetch("imdb")
    shutil.rmtree(DATASETS["imdb"].parsed_dir())
    archive = sandbox / "cache" / "imdb" / "aclImdb_reviews.tar.gz"
    flip_byte(archive, archive.stat().st_size // 2)
    with pytest.raises(ChecksumError) as error:
        data.load_imdb()
    assert str(archive) in str(error.value) and "python -m course_utils data fetch imdb" in str(error.value)
    data.fetch("imdb")
    assert data.status("imdb")["state"] == "verified"


# --- 2. servers that stall, trickle or never stop -------------------------------------------

class Misbehaving(LocalServer):
    """127.0.0.1 server: 'stall' sends headers then nothing, 'trickle' one byte every 0.2 s,
    'endless' an unlimited body with no length."""

    def __init__(self, kind):
        self.hits = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                owner.hits.append(self.path)
                self.send_response(200)
                if kind == "trickle":
                    self.send_header("Content-Length", str(len(PAYLOAD)))
                self.end_headers()
                self.wfile.flush()
                try:
                    if kind == "stall":
                        time.sleep(40)  # longer than any timeout: a real stall never ends
                    while kind == "trickle":
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        time.sleep(0.2)
                    block = bytes(1 << 16)
                    while kind == "endless":
                        self.wfile.write(block)
                except OSError:
                    pass

        super().__init__(Handler)


@pytest.fixture
def misbehaving():
    servers = []
    yield lambda kind: servers.append(Misbehaving(kind)) or servers[-1]
    for s in servers:
        s.close()


@pytest.mark.timeout(60)
@pytest.mark.slow
def test_every_mirror_stalls_ends_fast_with_the_course_error(misbehaving, sandbox, monkeypatch):
    a, b = misbehaving("stall"), misbehaving("stall")
    monkeypatch.setenv("COURSE_DATA_MIRROR", f"{a.url}/m{os.pathsep}{b.url}/m")
    start = time.perf_counter()
    with pytest.raises(DataUnavailableError) as error:
        data.load_mnist()
    elapsed = time.perf_counter() - start
    assert len(a.hits) == 1 and len(b.hits) == 1  # each silent host waited on once, not per file
    assert elapsed < 2 * 1 + 3, elapsed  # two timeouts of 1 s, plus slack
    message = str(error.value)
    for spec in MNIST.files:
        assert spec.name in message and f"{spec.size:,} bytes" in message and spec.sha256 in message
    assert "went silent" in message and "python -m course_utils data fetch mnist" in message
    assert str(sandbox / "cache" / "mnist") in message


@pytest.mark.timeout(60)
def test_data_fetch_of_both_datasets_waits_on_a_stalled_mirror_once(misbehaving, sandbox, monkeypatch, capsys):
    srv = misbehaving("stall")
    monkeypatch.setenv("COURSE_DATA_MIRROR", f"{srv.url}/m")
    start = time.perf_counter()
    assert cli.main(["fetch"]) == 1
    assert len(srv.hits) == 1 and time.perf_counter() - start < 1 + 3
    out = capsys.readouterr().out
    assert "mnist: FAILED" in out and "imdb: FAILED" in out


@pytest.mark.timeout(30)
@pytest.mark.slow
def test_trickling_server_hits_the_overall_deadline(misbehaving, sandbox):
    srv = misbehaving("trickle")
    start = time.perf_counter()
    with pytest.raises(DataUnavailableError, match="too slow"):
        obtain([dataclasses.replace(SPEC, urls=(srv.url + "/tiny.bin",))])
    # deadline = timeout (1 s) + 102,400 bytes at 50 kB/s (2 s)
    assert time.perf_counter() - start < download.deadline_s(SPEC.size) + 2
    assert not any((sandbox / "cache").rglob("*.tmp"))


@pytest.mark.timeout(30)
def test_endless_body_stops_at_the_registry_size(misbehaving, sandbox):
    srv = misbehaving("endless")
    small = FileSpec("mnist", "t10k-labels-idx1-ubyte.gz", 4_542, "0" * 64, (srv.url + "/x",))
    written = []
    real_partial = download.new_partial

    class Counting:  # counts what the download writes to disk
        def __init__(self, f):
            self.f, self.n = f, 0
            written.append(self)

        def write(self, b):
            self.n += len(b)
            return self.f.write(b)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def spy(dest):
        out, tmp = real_partial(dest)
        return Counting(out), tmp

    download.new_partial, saved = spy, download.new_partial
    try:
        with pytest.raises(ChecksumError, match="sent more than the 4,542 bytes") as error:
            obtain([small])
    finally:
        download.new_partial = saved
    assert written and all(out.n <= 4_542 for out in written)
    assert error.value.rejected and error.value.rejected[0][2] == "too large"


def test_unknown_size_gets_a_fixed_cap():
    assert imdb.REPACK.byte_cap == 1 << 30 and MNIST.files[0].byte_cap == MNIST.files[0].size


# --- 3. decompression bomb -----------------------------------------------------------------

def gzip_bomb(path: Path, member_size: int = 1 << 30) -> Path:
    """A .tar.gz holding one review of `member_size` zero bytes, written streaming (about 1 MB)."""
    info = tarfile.TarInfo("aclImdb/train/pos/0_9.txt")
    info.size = member_size
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9) as gz:
        gz.write(info.tobuf(format=tarfile.GNU_FORMAT))
        block = bytes(1 << 20)
        for _ in range(member_size // len(block)):
            gz.write(block)
        gz.write(bytes(1024))  # end of archive
    return path


@pytest.mark.timeout(120)
@pytest.mark.slow
def test_decompression_bomb_is_refused_with_bounded_memory(tiny_imdb, sandbox):
    bomb = gzip_bomb(sandbox / "mirror" / "imdb" / "aclImdb_reviews.tar.gz")
    assert bomb.stat().st_size < 2 << 20
    tracemalloc.start()
    try:
        with pytest.raises(UnsafeArchiveError, match="1,073,741,824 bytes") as error:
            data.load_imdb()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20, f"peak {peak:,} bytes"
    assert "aclImdb_reviews.tar.gz" in str(error.value) and str(tiny_imdb) in str(error.value)
    assert not any((sandbox / "cache").rglob("*.tar.gz"))


def test_archive_unpacking_to_too_much_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(safetar, "MAX_TOTAL", 50_000)
    members = {f"train/pos/{i}_9.txt": "y" * 9_000 for i in range(10)}
    archive = make_tar(tmp_path / "many.tar.gz", members)
    with pytest.raises(UnsafeArchiveError, match="unpacks to more than 50,000"):
        list(safetar.iter_files(archive, lambda name: True, max_total=safetar.MAX_TOTAL))


# --- 4. filesystem failures ----------------------------------------------------------------

def test_a_file_where_the_cache_folder_should_be(sandbox, monkeypatch, mnist_mirror):
    blocker = sandbox / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("COURSE_DATA_DIR", str(blocker))
    with pytest.raises(DataError) as error:
        data.load_mnist()
    assert not isinstance(error.value, OSError)
    assert str(blocker) in str(error.value) and "COURSE_DATA_DIR" in str(error.value)
    with pytest.raises(DataError, match="a file where the cache folder should be"):
        data.status("mnist")


def _fail(err, real=None, when=lambda *a: True):
    def fake(*args, **kwargs):
        if when(*args):
            raise OSError(err, os.strerror(err), str(args[0]) if args else None)
        return real(*args, **kwargs)

    return fake


def test_read_only_cache_of_valid_files_loads(sandbox, mirror_dir, monkeypatch):
    """Stands for a read-only shared cache (an NFS share, a read-only bind mount): no file can be
    created in it, so no marker, no parsed cache; the valid raw files are verified and used."""
    folder = sandbox / "cache" / "mnist"
    folder.mkdir(parents=True)
    for spec in MNIST.files:
        shutil.copy(mirror_dir / "mnist" / spec.name, folder / spec.name)
    monkeypatch.setattr(tempfile, "mkstemp", _fail(errno.EROFS))
    (x_train, y_train), _ = data.load_mnist()
    assert x_train.shape == (60_000, 28, 28) and y_train.max() == 9
    assert not list(folder.glob("*" + MARKER)) and not list(folder.rglob("*.npy"))  # nothing written
    assert data.status("mnist")["state"] == "verified"
    assert cli.main(["verify", "mnist"]) == 0  # verify on a read-only mount: ok, no traceback


def test_full_disk_while_installing_a_download(sandbox, mnist_mirror, monkeypatch):
    """Stands for ENOSPC when the verified copy is moved into the cache."""
    monkeypatch.setattr(os, "replace", _fail(errno.ENOSPC))
    with pytest.raises(DataError) as error:
        data.load_mnist()
    message = str(error.value)
    assert "No space left on device" in message and "COURSE_DATA_DIR" in message and str(sandbox / "cache") in message
    assert not any((sandbox / "cache").rglob("*.tmp"))


def test_full_disk_while_saving_the_parsed_cache_still_loads(sandbox, mnist_mirror, monkeypatch):
    """Stands for ENOSPC when writing the 55 MB of parsed arrays: the load goes on from memory."""
    real = os.replace
    monkeypatch.setattr(os, "replace", _fail(errno.ENOSPC, real, when=lambda src, dst: "parsed-" in str(dst)))
    (x_train, _), _ = data.load_mnist()
    assert x_train.shape == (60_000, 28, 28)
    assert data.status("mnist")["parsed"] == "not built yet"


def test_partial_files_of_a_killed_fetch_are_swept_live_ones_kept(sandbox, mnist_mirror):
    folder = sandbox / "cache" / "mnist"
    folder.mkdir(parents=True)
    code = ("import sys, time; from pathlib import Path; from course_utils.data import download\n"
            "out, tmp = download.new_partial(Path(sys.argv[1])); out.write(b'x' * 1000); out.flush()\n"
            "print(tmp, flush=True); time.sleep(60)")
    killed = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True)
    dead_partial = Path(killed.stdout.readline().strip())
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    live_out, live_partial = download.new_partial(folder)  # a concurrent fetch still writing
    try:
        assert dead_partial.exists()
        data.fetch("mnist")
        assert not dead_partial.exists() and live_partial.exists()
    finally:
        live_out.close()
        killed.stdout.close()


# --- 5. settings and mirrors ---------------------------------------------------------------

@pytest.mark.parametrize("var, value", [("COURSE_DATA_TIMEOUT", "ten"), ("COURSE_DATA_TIMEOUT", "-1"),
                                        ("COURSE_DATA_TIMEOUT", "nan"), ("COURSE_DATA_RETRIES", "1.5"),
                                        ("COURSE_DATA_BACKOFF", "soon")])
def test_bad_settings_are_refused_by_name(sandbox, monkeypatch, var, value, capsys):
    srv_spec = dataclasses.replace(SPEC, urls=(closed_port_url(),))
    monkeypatch.setenv(var, value)
    with pytest.raises(DataError, match=f"{var}={value!r} is not valid.*for example {var}="):
        obtain([srv_spec])
    assert cli.main(["fetch", "mnist"]) == 1 and var in capsys.readouterr().out


def test_unknown_mirror_scheme_is_refused(monkeypatch):
    monkeypatch.setenv("COURSE_DATA_MIRROR", "ftp://lab/datasets")
    with pytest.raises(DataError, match="COURSE_DATA_MIRROR entry 'ftp://lab/datasets'"):
        data.mirrors()


def _evil(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("aclImdb/../../evil.txt")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    return path


def test_malicious_archive_in_first_mirror_falls_through_to_a_good_one(tiny_imdb, sandbox, monkeypatch):
    bad = sandbox / "bad-mirror"
    _evil(bad / "imdb" / "aclImdb_reviews.tar.gz")
    monkeypatch.setenv("COURSE_DATA_MIRROR", f"{bad}{os.pathsep}{tiny_imdb}")
    assert len(data.load_imdb()) == len(REVIEWS)


def test_malicious_archive_alone_is_named_with_its_mirror(tiny_imdb, sandbox, monkeypatch):
    bad = sandbox / "bad-mirror"
    _evil(bad / "imdb" / "aclImdb_reviews.tar.gz")
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(bad))
    with pytest.raises(UnsafeArchiveError) as error:
        data.load_imdb()
    message = str(error.value)
    assert "aclImdb_reviews.tar.gz" in message and str(bad) in message and "evil.txt" in message
    assert [kind for *_, kind in error.value.rejected] == ["unsafe"]
