"""Find a verified copy of a registry file: the cache first, then each mirror, then the canonical URLs.

Every copy that arrives is verified while it is still a temporary file and only then moved into
the cache (`os.replace`, atomic). Copies that fail verification, or are unsafe archives, are
skipped and the search goes on; they come back as (source, reason, kind) in the error's
`.rejected` as (source, reason, kind) with kind "checksum", "unsafe" or "too large", and the
message names each one.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import urlparse

from .._console import log
from .._files import make_readable
from . import download
from .errors import ChecksumError, DataError, DataUnavailableError, UnsafeArchiveError
from .files import FileSpec, cache_path, drop_marker, read_marker, sha256_file, verify_bytes, write_marker
from .locations import data_dir, filesystem_error, mirrors

try:
    import fcntl
except ImportError:
    fcntl = None

Verify = Callable[[FileSpec, Path], dict]  # raises ChecksumError / UnsafeArchiveError; returns facts


def cached(spec: FileSpec, verify: Verify = verify_bytes, discard_bad: bool = False) -> tuple[Path, dict] | None:
    """The cached copy and its facts, verifying it first if its marker is missing or stale.

    A cached copy that fails verification is refused with the fix, or deleted when `discard_bad`
    (what `data fetch` does, after re-hashing even marked files, before fetching a good copy).
    """
    path = cache_path(spec)
    if not path.is_file():
        return None
    facts = read_marker(path)
    if facts is not None and discard_bad and sha256_file(path) != facts.get("sha256"):
        facts = None  # `data fetch` re-hashes: bit rot keeps size and mtime, and the marker with them
    if facts is None:
        try:
            facts = verify(spec, path)
        except ChecksumError as e:
            if discard_bad:
                log(f"deleting the damaged cached copy {path}: {e}")
                path.unlink()
                drop_marker(path)
                return None
            raise ChecksumError(f"{path} is in the cache but does not match the registry: {e}. Delete it "
                                f"and run: python -m course_utils data fetch {spec.dataset}") from None
        facts = write_marker(path, facts, "found in cache")
    return path, facts


@contextmanager
def fetching(dataset: str):
    """Held while a dataset is fetched. The first fetcher in sweeps the partial files of killed ones."""
    folder = data_dir() / dataset
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise filesystem_error(e, "creating the cache folder") from None
    handle = None
    if fcntl is not None:
        try:
            handle = open(folder / ".fetch.lock", "a")
        except OSError:
            handle = None  # a read-only cache: nothing will be written, nothing to sweep
    try:
        if handle is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                for tmp in download.sweep(folder):  # nobody else is fetching
                    log(f"removed {tmp.name}, left by a fetch that was killed")
            except OSError:
                pass  # someone else is fetching: their partial files are live
            fcntl.flock(handle, fcntl.LOCK_SH)
        yield
    finally:
        if handle is not None:
            handle.close()


_session: list[set] = []  # hosts that failed during the current `one_fetch()` block


@contextmanager
def one_fetch():
    """Within this block (one `data fetch` of several datasets) a host that failed stays skipped."""
    _session.append(set())
    try:
        yield
    finally:
        _session.pop()


def dead_hosts() -> set:
    """The set of failed hosts to share between the files of one fetch."""
    return _session[-1] if _session else set()


def _candidates(specs: list[FileSpec]) -> Iterable[tuple[FileSpec, str]]:
    for base in mirrors():
        for spec in specs:
            yield spec, f"{base}/{spec.relpath}"
    for spec in specs:
        for url in spec.urls:
            yield spec, url


def _install(spec: FileSpec, tmp: Path) -> Path:
    final = cache_path(spec)
    try:
        make_readable(tmp)
        os.replace(tmp, final)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise filesystem_error(e, "moving a verified copy into") from None
    return final


def obtain(specs: list[FileSpec], verify: Verify = verify_bytes, tried: list[str] | None = None,
           dead_hosts: set[str] | None = None, discard_bad: bool = False) -> tuple[FileSpec, Path, dict]:
    """Return (spec, path in cache, facts) for the first of `specs` that can be had and verified.

    `tried` collects one line per place looked at, for the error message; `dead_hosts` remembers
    hosts that were unreachable or went silent, so the other files skip them instead of waiting.
    """
    tried = [] if tried is None else tried
    dead_hosts = set() if dead_hosts is None else dead_hosts
    for spec in specs:
        hit = cached(spec, verify, discard_bad)
        if hit:
            return spec, *hit
        tried.append(f"cache: {cache_path(spec)}: not there")
    rejected: list[tuple[str, str]] = []
    dest = cache_path(specs[0]).parent
    for spec, url in _candidates(specs):
        host = urlparse(url).netloc
        if host and host in dead_hosts:
            tried.append(f"{url}: skipped ({host} failed earlier in this fetch)")
            continue
        try:
            dest.mkdir(parents=True, exist_ok=True)
            tmp = download.download(url, dest, desc=spec.name, size=spec.size, cap=spec.byte_cap)
        except (download.NotFound, download.Interrupted) as e:
            tried.append(f"{url}: {e}")
            continue
        except download.Unreachable as e:
            dead_hosts.add(host)
            tried.append(f"{url}: {e}")
            continue
        except download.TooLarge as e:
            rejected.append((url, f"{spec.name}: {e}", "too large"))
            tried.append(f"{url}: refused, {e}")
            continue
        except OSError as e:
            raise filesystem_error(e, "writing a download into") from None
        try:
            facts = verify(spec, tmp)
        except (ChecksumError, UnsafeArchiveError) as e:
            tmp.unlink()
            rejected.append((url, str(e), "unsafe" if isinstance(e, UnsafeArchiveError) else "checksum"))
            tried.append(f"{url}: refused, {e}")
            log(f"refused {url}: {e}")
            continue
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        final = _install(spec, tmp)
        log(f"verified {spec.relpath} from {url}")
        return spec, final, write_marker(final, facts, url)
    raise refusal(specs, tried, rejected)


def refusal(specs: list[FileSpec], tried: list[str], rejected: list, extra: tuple[str, ...] = ()) -> DataError:
    """The error for 'no good copy anywhere': which kind depends on what was refused on the way."""
    message = unavailable_message(specs, tried, extra)
    if not rejected:
        return DataUnavailableError(message)
    lines = ["Copies were found but refused, so none was used:"]
    lines += [f"  {source}: {reason}" for source, reason, _ in rejected]
    cls = UnsafeArchiveError if all(kind == "unsafe" for *_, kind in rejected) else ChecksumError
    return cls("\n".join(lines + ["", message]), rejected)


def unavailable_message(specs: list[FileSpec], tried: list[str], extra: tuple[str, ...] = ()) -> str:
    """Say what is missing, where we looked, where to put it and which command fetches it."""
    dataset = specs[0].dataset
    mirror = os.environ.get("COURSE_DATA_MIRROR")
    lines = [f"No verified copy of the {dataset} data could be found or downloaded.",
             "Missing (any one of these will do):" if len(specs) > 1 or extra else "Missing:"]
    lines += [f"  {spec.describe()}" for spec in specs] + [f"  {line}" for line in extra]
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
