"""Getting files: cache, mirrors, a local HTTP server standing in for the web, and what goes wrong.

Every file here is made at test time in tmp_path; COURSE_DATA_DIR points at tmp_path so the
repository's real cache is never touched.
"""

import dataclasses
import hashlib
import http.server
import os
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from course_utils.data import DATASETS, imdb
from course_utils.data.errors import ChecksumError, DataUnavailableError
from course_utils.data.files import MARKER, FileSpec
from course_utils.data.locations import mirrors, split_mirrors
from course_utils.data.mnist import FILES as MNIST_FILES
from course_utils.data.mnist import parse_idx
from course_utils.data.sources import obtain
from course_utils.tools import data_cli as cli

PAYLOAD = bytes(range(256)) * 400  # 102,400 bytes
SPEC = FileSpec("mnist", "tiny.bin", len(PAYLOAD), hashlib.sha256(PAYLOAD).hexdigest())


def data_sandbox(tmp_path, monkeypatch, *, timeout="2", retries="2"):
    """An empty cache in tmp_path/cache, no mirror, quick timeouts and retries, no progress bars."""
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    monkeypatch.setenv("COURSE_DATA_TIMEOUT", timeout)
    monkeypatch.setenv("COURSE_DATA_RETRIES", retries)
    monkeypatch.setenv("COURSE_DATA_BACKOFF", "0.01")
    monkeypatch.setenv("COURSE_DATA_QUIET", "1")
    return tmp_path


@pytest.fixture(autouse=True)
def sandbox(tmp_path, monkeypatch):
    return data_sandbox(tmp_path, monkeypatch)


def offline(monkeypatch):
    """Point every canonical URL at a closed port on 127.0.0.1: no network, failing at once."""
    for name in ("mnist", "imdb"):
        dataset = DATASETS[name]
        monkeypatch.setattr(dataset, "files", tuple(
            dataclasses.replace(spec, urls=(closed_port_url(),) if spec.urls else ()) for spec in dataset.files))


def cache_files(tmp_path):
    folder = tmp_path / "cache"
    files = folder.rglob("*") if folder.exists() else ()
    return sorted(p.name for p in files if p.is_file() and p.name != ".fetch.lock")  # the lock file may stay


def closed_port_url(name="x"):
    """An address on 127.0.0.1 where nothing listens: connecting fails at once, like no network."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{name}"


class LocalServer:
    """http.server on 127.0.0.1 (port 0) in a thread, serving with `handler`; close() stops it."""

    def __init__(self, handler):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Server(LocalServer):
    """`routes` maps a path to a behaviour: ok, cut, stall, nolength, or missing (404)."""

    def __init__(self, routes):
        self.routes, self.hits = routes, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.hits.append(self.path)
                kind, body = server.routes.get(self.path, ("missing", b""))
                if kind == "missing":
                    self.send_error(404)
                    return
                self.send_response(200)
                if kind in ("ok", "cut"):
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if kind == "cut":  # announce everything, send half, hang up
                    self.wfile.write(body[: len(body) // 2])
                elif kind == "stall":
                    self.wfile.write(body[:10])
                    self.wfile.flush()
                    time.sleep(4)
                else:  # "ok", or "nolength": body cut short with no length announced
                    self.wfile.write(body)
                self.close_connection = True

        super().__init__(Handler)


@pytest.fixture
def server():
    servers = []

    def start(routes):
        servers.append(Server(routes))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


# --- the happy paths -----------------------------------------------------------------------

@pytest.mark.timeout(30)
def test_download_verifies_and_caches(server, sandbox):
    srv = server({"/tiny.bin": ("ok", PAYLOAD)})
    spec = dataclasses.replace(SPEC, urls=(srv.url + "/tiny.bin",))
    _, path, facts = obtain([spec])
    assert path.read_bytes() == PAYLOAD and facts["sha256"] == spec.sha256
    assert cache_files(sandbox) == ["tiny.bin", "tiny.bin" + MARKER]
    obtain([spec])  # second time: from the cache, no new request
    assert srv.hits == ["/tiny.bin"]


@pytest.mark.timeout(30)
def test_mirror_order_dir_then_http_then_canonical(server, sandbox, monkeypatch):
    srv = server({"/m/mnist/tiny.bin": ("ok", PAYLOAD)})
    empty = sandbox / "empty-mirror"
    empty.mkdir()
    monkeypatch.setenv("COURSE_DATA_MIRROR", os.pathsep.join([str(empty), srv.url + "/m"]))
    spec = dataclasses.replace(SPEC, urls=(closed_port_url(),))
    _, path, facts = obtain([spec])
    assert facts["source"] == srv.url + "/m/mnist/tiny.bin"


def test_split_mirrors_keeps_urls_whole():
    value = "/a/b:http://127.0.0.1:8000/m:file:///c/d:https://host/x"
    assert split_mirrors(value, ":") == ["/a/b", "http://127.0.0.1:8000/m", "file:///c/d", "https://host/x"]
    assert split_mirrors(r"C:\data;http://h:1/x", ";") == [r"C:\data", "http://h:1/x"]


def test_mirror_dirs_become_file_urls(sandbox, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(sandbox))
    assert mirrors() == [sandbox.resolve().as_uri()]


def test_file_put_in_cache_by_hand_is_verified_once(sandbox):
    target = sandbox / "cache" / "mnist" / "tiny.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(PAYLOAD)
    _, path, facts = obtain([SPEC])
    assert path == target.resolve() and facts["source"] == "found in cache"


# --- bad input -------------------------------------------------------------------------------

@pytest.mark.timeout(60)
def test_no_network_no_data_names_files_places_and_fix(sandbox, monkeypatch):
    """load_mnist and load_imdb fail fast with everything needed to fix it in the message."""
    import course_utils.data as data

    offline(monkeypatch)
    mirror = sandbox / "usb-stick"
    mirror.mkdir()
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    start = time.perf_counter()
    with pytest.raises(DataUnavailableError) as mnist_error:
        data.load_mnist()
    with pytest.raises(DataUnavailableError) as imdb_error:
        data.load_imdb()
    assert time.perf_counter() - start < 30
    message = str(mnist_error.value)
    for spec in MNIST_FILES.values():
        assert spec.name in message and f"{spec.size:,} bytes" in message and spec.sha256 in message
    for text in (str(sandbox / "cache" / "mnist"), str(mirror), "COURSE_DATA_MIRROR",
                 "python -m course_utils data fetch mnist", "127.0.0.1"):
        assert text in message
    message = str(imdb_error.value)
    for text in ("aclImdb_v1.tar.gz", "84,125,825 bytes", imdb.OFFICIAL.sha256,
                 imdb.REVIEWS_FINGERPRINT, "aclImdb/", "python -m course_utils data fetch imdb"):
        assert text in message
    assert not isinstance(mnist_error.value, ChecksumError)
    assert cache_files(sandbox) == []


@pytest.mark.timeout(30)
@pytest.mark.parametrize("damage", ["corrupt", "truncated"])
def test_bad_mirror_file_is_refused_and_never_cached(sandbox, monkeypatch, damage):
    mirror = sandbox / "mirror"
    (mirror / "mnist").mkdir(parents=True)
    bad = bytearray(PAYLOAD)
    if damage == "corrupt":
        bad[5000] ^= 0xFF
    else:
        bad = bad[:-1000]
    (mirror / "mnist" / "tiny.bin").write_bytes(bytes(bad))
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    with pytest.raises(ChecksumError, match="tiny.bin") as error:
        obtain([SPEC])
    assert ("sha256" if damage == "corrupt" else "101,400 bytes, expected 102,400") in str(error.value)
    assert cache_files(sandbox) == []


@pytest.mark.timeout(30)
def test_bad_mirror_then_good_server(server, sandbox, monkeypatch):
    """A corrupt mirror copy is skipped; the next source is tried and its good copy cached."""
    mirror = sandbox / "mirror"
    (mirror / "mnist").mkdir(parents=True)
    (mirror / "mnist" / "tiny.bin").write_bytes(PAYLOAD[::-1])
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    srv = server({"/tiny.bin": ("ok", PAYLOAD)})
    _, path, _ = obtain([dataclasses.replace(SPEC, urls=(srv.url + "/tiny.bin",))])
    assert path.read_bytes() == PAYLOAD


@pytest.mark.timeout(30)
def test_interrupted_download_is_retried_then_reported(server, sandbox):
    srv = server({"/tiny.bin": ("cut", PAYLOAD)})
    spec = dataclasses.replace(SPEC, urls=(srv.url + "/tiny.bin",))
    with pytest.raises(DataUnavailableError, match=r"gave up after 3 tries") as error:
        obtain([spec])
    assert "of 102,400 bytes" in str(error.value) or "transfer broke" in str(error.value)
    assert len(srv.hits) == 3
    assert cache_files(sandbox) == []  # no partial file, no temp file left behind


@pytest.mark.timeout(30)
def test_short_body_without_length_fails_the_checksum(server, sandbox):
    srv = server({"/tiny.bin": ("nolength", PAYLOAD[:50_000])})
    with pytest.raises(ChecksumError, match="truncated"):
        obtain([dataclasses.replace(SPEC, urls=(srv.url + "/tiny.bin",))])
    assert cache_files(sandbox) == []


@pytest.mark.timeout(30)
def test_stalled_server_times_out(server, sandbox, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_TIMEOUT", "0.5")
    monkeypatch.setenv("COURSE_DATA_RETRIES", "1")
    srv = server({"/tiny.bin": ("stall", PAYLOAD)})
    start = time.perf_counter()
    with pytest.raises(DataUnavailableError, match="went silent"):
        obtain([dataclasses.replace(SPEC, urls=(srv.url + "/tiny.bin",))])
    assert len(srv.hits) == 1  # a silent host is given up, not retried
    assert time.perf_counter() - start < 10 and cache_files(sandbox) == []


@pytest.mark.timeout(30)
def test_unreachable_host_is_not_retried_for_each_file(sandbox):
    url = closed_port_url("a")
    tried, dead = [], set()
    for name in ("a", "b"):
        spec = dataclasses.replace(SPEC, name=name, urls=(url.rsplit("/", 1)[0] + "/" + name,))
        with pytest.raises(DataUnavailableError):
            obtain([spec], tried=tried, dead_hosts=dead)
    assert any("skipped" in line for line in tried)


def test_corrupt_file_in_cache_is_refused(sandbox):
    target = sandbox / "cache" / "mnist" / "tiny.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(PAYLOAD[:-1] + b"!")
    with pytest.raises(ChecksumError, match="Delete it"):
        obtain([SPEC])


def test_idx_header_is_checked():
    good = bytes.fromhex("00000801") + (3).to_bytes(4, "big") + bytes([1, 2, 3])
    assert parse_idx(good, (3,)).tolist() == [1, 2, 3]
    with pytest.raises(ChecksumError, match="magic"):
        parse_idx(bytes.fromhex("00000803") + good[4:], (3,))
    with pytest.raises(ChecksumError, match="shape"):
        parse_idx(good, (4,))
    with pytest.raises(ChecksumError, match="data bytes"):
        parse_idx(good[:-1], (3,))
    with pytest.raises(ChecksumError, match="too short"):
        parse_idx(good[:5], (3,))
    image = bytes.fromhex("00000803") + b"".join(n.to_bytes(4, "big") for n in (1, 2, 2)) + bytes(4)
    assert parse_idx(image, (1, 2, 2)).dtype == np.uint8


# --- the command line ------------------------------------------------------------------------

def test_cli_where_lists_cache_mirrors_sizes_checksums(sandbox, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(sandbox))
    assert cli.main(["where"]) == 0
    out = capsys.readouterr().out
    assert str(sandbox / "cache") in out and str(sandbox) in out
    for spec in MNIST_FILES.values():
        assert spec.name in out and spec.sha256 in out
    assert "84,125,825 bytes" in out and imdb.REVIEWS_FINGERPRINT in out


@pytest.mark.timeout(60)
def test_cli_fetch_without_data_fails_clearly(sandbox, monkeypatch, capsys):
    offline(monkeypatch)
    assert cli.main(["fetch", "mnist"]) == 1
    assert "train-images-idx3-ubyte.gz" in capsys.readouterr().out


def test_cli_verify_flags_a_damaged_cache_file(sandbox, monkeypatch, capsys):
    spec = MNIST_FILES["test_labels"]
    target = sandbox / "cache" / "mnist" / spec.name
    target.parent.mkdir(parents=True)
    target.write_bytes(b"not the labels")
    Path(str(target) + MARKER).write_text("{}")
    assert cli.main(["verify", "mnist"]) == 1
    out = capsys.readouterr().out
    assert "BAD" in out and "python -m course_utils data fetch mnist" in out
    assert not Path(str(target) + MARKER).exists()


def test_cli_rejects_unknown_dataset(capsys):
    with pytest.raises(SystemExit):
        cli.main(["where", "cifar"])
