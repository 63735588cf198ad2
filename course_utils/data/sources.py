"""Find a verified copy of a registry file: the cache first, then each mirror, then the canonical URLs.

Every copy that arrives is verified while it is still a temporary file and moved into the cache
with `os.replace` (atomic), next to a small `<file>.verified.json` marker. A file found in the
cache without a marker (say, copied there by hand) is verified once before it is used.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import urlparse

from . import download
from .checks import verify_bytes
from .errors import ChecksumError, DataUnavailableError
from .locations import data_dir, mirrors
from .registry import FileSpec

MARKER = ".verified.json"
Verify = Callable[[FileSpec, Path], dict]  # raises ChecksumError; returns facts to record


def cache_path(spec: FileSpec) -> Path:
    return data_dir() / spec.relpath


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_readable(path: Path) -> None:
    """mkstemp files are private (0600); a cache file is as readable as any file the user writes."""
    os.chmod(path, 0o644 & ~_umask())


@contextmanager
def atomic_writer(path: Path):
    """A file object whose content appears at `path` only once it has been written completely."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".part-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        make_readable(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_atomic(path: Path, data: bytes) -> None:
    with atomic_writer(path) as f:
        f.write(data)


def read_marker(path: Path) -> dict | None:
    """The facts recorded when `path` was verified, if it has not changed since."""
    try:
        facts = json.loads(Path(str(path) + MARKER).read_text())
        stat = path.stat()
    except (OSError, ValueError):
        return None
    if facts.get("size") != stat.st_size or facts.get("mtime_ns") != stat.st_mtime_ns:
        return None
    return facts


def write_marker(path: Path, facts: dict, source: str) -> None:
    stat = path.stat()
    facts = dict(facts, size=stat.st_size, mtime_ns=stat.st_mtime_ns, source=source)
    write_atomic(Path(str(path) + MARKER), json.dumps(facts, indent=1).encode())


def cached(spec: FileSpec, verify: Verify = verify_bytes) -> tuple[Path, dict] | None:
    """The cached copy and its facts, verifying it first if nobody has yet."""
    path = cache_path(spec)
    if not path.is_file():
        return None
    facts = read_marker(path)
    if facts is None:
        try:
            facts = verify(spec, path)
        except ChecksumError as e:
            raise ChecksumError(f"{path} is in the cache but does not match the registry: {e}. "
                                "Delete it and fetch again.") from None
        write_marker(path, facts, "found in cache")
        facts = read_marker(path) or facts
    return path, facts


def _sweep(folder: Path, older_than_s: float = 6 * 3600) -> None:
    """Delete temporary files that a killed download left behind (old ones only: others may be live)."""
    now = time.time()
    for tmp in folder.glob(".part-*.tmp") if folder.is_dir() else ():
        try:
            if now - tmp.stat().st_mtime > older_than_s:
                tmp.unlink()
        except OSError:
            pass


def _candidates(specs: list[FileSpec]) -> Iterable[tuple[FileSpec, str]]:
    for base in mirrors():
        for spec in specs:
            yield spec, f"{base}/{spec.relpath}"
    for spec in specs:
        for url in spec.urls:
            yield spec, url


def obtain(specs: list[FileSpec], verify: Verify = verify_bytes, tried: list[str] | None = None,
           dead_hosts: set[str] | None = None) -> tuple[FileSpec, Path, dict]:
    """Return (spec, path in cache, facts) for the first of `specs` that can be had and verified.

    `tried` collects one line per place looked at, for the error message; `dead_hosts` remembers
    hosts that could not be reached, so that the other files skip them instead of waiting again.
    """
    tried = [] if tried is None else tried
    dead_hosts = set() if dead_hosts is None else dead_hosts
    for spec in specs:
        hit = cached(spec, verify)
        if hit:
            return spec, *hit
        tried.append(f"cache: {cache_path(spec)}: not there")
    corrupt = False
    _sweep(cache_path(specs[0]).parent)
    for spec, url in _candidates(specs):
        host = urlparse(url).netloc
        if host and host in dead_hosts:
            tried.append(f"{url}: skipped ({host} unreachable)")
            continue
        try:
            tmp = download.download(url, cache_path(spec).parent, desc=spec.name)
        except download.NotFound as e:
            tried.append(f"{url}: {e}")
            continue
        except download.Unreachable as e:
            dead_hosts.add(host)
            tried.append(f"{url}: {e}")
            continue
        except download.Interrupted as e:
            tried.append(f"{url}: {e}")
            continue
        try:
            facts = verify(spec, tmp)
        except ChecksumError as e:
            tmp.unlink()
            corrupt = True
            tried.append(f"{url}: REJECTED, {e}")
            download.log(f"rejected {url}: {e}")
            continue
        except BaseException:
            tmp.unlink()
            raise
        final = cache_path(spec)
        make_readable(tmp)
        os.replace(tmp, final)
        write_marker(final, facts, url)
        download.log(f"verified {spec.relpath} from {url}")
        return spec, final, read_marker(final) or facts
    if corrupt:
        rejected = [line for line in tried if "REJECTED" in line]
        raise ChecksumError("\n".join(["A copy was found but failed verification, so it was not used:",
                                       *rejected, "", unavailable_message(specs, tried)]))
    raise DataUnavailableError(unavailable_message(specs, tried))


def unavailable_message(specs: list[FileSpec], tried: list[str], dataset: str | None = None) -> str:
    """Say what is missing, where we looked, where to put it and which command fetches it."""
    dataset = dataset or specs[0].dataset
    mirror = os.environ.get("COURSE_DATA_MIRROR")
    lines = [f"No verified copy of the {dataset} data could be found or downloaded.",
             "Missing (any one of these will do):" if dataset == "imdb" else "Missing:"]
    lines += [f"  {spec.describe()}" for spec in specs]
    if dataset == "imdb":
        lines.append("  imdb/aclImdb/ (the extracted folder, in the cache or a local mirror; "
                     "checked by its reviews fingerprint)")
    lines += ["Looked in, in this order:"] + [f"  {line}" for line in tried]
    lines += [
        "To fix it, either:",
        f"  * put the file(s) in the cache: {data_dir() / dataset}/  (COURSE_DATA_DIR moves the cache), or",
        f"  * point COURSE_DATA_MIRROR at a folder or URL holding {dataset}/<file> "
        f"(now: {mirror or 'not set'}), or",
        "  * connect to the internet;",
        f"then run: python -m course_utils data fetch {dataset}",
    ]
    return "\n".join(lines)
