"""Copy one address (http://, https:// or file://) into a temporary file, with hard limits.

Mirrors and canonical servers go through this same code: a local mirror is just a file:// URL.
Every copy has an overall deadline and a byte cap derived from the registry size, so a server that
stalls, trickles or sends an endless body costs seconds, not hours or gigabytes. The temporary
file is held under an fcntl lock while it is written: the next fetch deletes the partial files
that a killed process left (their lock is gone) and leaves live ones alone.
"""

from __future__ import annotations

import http.client
import os
import socket
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from .._console import log, progress_mode
from .._files import PART_PREFIX
from .locations import backoff_s, retries, timeout_s

try:
    import fcntl
except ImportError:  # Windows: no locks, no sweep of other processes' partial files
    fcntl = None

CHUNK = 1 << 16
PARTIAL = PART_PREFIX + "download-"
MIN_RATE = 50_000  # bytes/s: the deadline allows a file this slow a link, plus one timeout


class NotFound(Exception):
    """The source answered, but does not have this file: try the next source."""


class Unreachable(Exception):
    """No connection, or the host went silent: skip its other files too, without waiting again."""


class Interrupted(Exception):
    """The transfer started but broke (cut off, server error): worth a retry."""


class TooLarge(Exception):
    """The source sent, or announced, more bytes than the file can have: a bad copy."""


def deadline_s(size: int | None) -> float:
    """Overall seconds allowed for one copy of a file of `size` bytes."""
    return timeout_s() + (size or 200_000_000) / MIN_RATE


def quiet() -> bool:
    return os.environ.get("COURSE_DATA_QUIET", "") not in ("", "0") or progress_mode() == "off"


def _open(url: str, timeout: float):
    request = urllib.request.Request(url, headers={"User-Agent": "course_utils-data"})
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code in (401, 403, 404, 410):
            raise NotFound(f"HTTP {e.code} {e.reason}") from None
        raise Interrupted(f"HTTP {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        if url.startswith("file:") or isinstance(e.reason, FileNotFoundError):
            raise NotFound("not there") from None
        if isinstance(e.reason, (TimeoutError, socket.timeout)):
            raise Unreachable(f"no answer within {timeout:g} s") from None
        raise Unreachable(f"cannot connect ({e.reason})") from None
    except (TimeoutError, socket.timeout):
        raise Unreachable(f"no answer within {timeout:g} s") from None
    except (http.client.HTTPException, OSError) as e:
        raise Interrupted(f"connection failed ({e!r})") from None


def _copy(url: str, out, cap: int, deadline: float, desc: str) -> int:
    """Stream the body into `out` within `cap` bytes and before `deadline` (time.monotonic)."""
    timeout = timeout_s()
    response = _open(url, timeout)
    with response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if total is not None and total > cap:
            raise TooLarge(f"announces {total:,} bytes, more than the {cap:,} expected")
        bar = None
        if progress_mode() == "bar" and not quiet():
            from tqdm.auto import tqdm

            bar = tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, leave=False)
        elif not quiet():
            log(f"copying {desc} from {url}" + (f" ({total:,} bytes)" if total else ""))
        done = 0
        read = getattr(response, "read1", response.read)  # read1: return what arrived, don't wait for more
        try:
            while True:
                if time.monotonic() > deadline:
                    raise Unreachable(f"too slow: {done:,} bytes in the time allowed; gave up on this host")
                try:
                    chunk = read(CHUNK)
                except (TimeoutError, socket.timeout):
                    raise Unreachable(f"went silent for {timeout:g} s after {done:,} bytes") from None
                except (http.client.HTTPException, OSError) as e:  # cut off, reset
                    raise Interrupted(f"transfer broke after {done:,} bytes ({type(e).__name__})") from None
                if not chunk:
                    break
                done += len(chunk)
                if done > cap:
                    raise TooLarge(f"sent more than the {cap:,} bytes expected")
                out.write(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    if total is not None and done != total:
        raise Interrupted(f"connection closed after {done:,} of {total:,} bytes")
    return done


def new_partial(dest_dir: Path):
    """A new, locked temporary file in `dest_dir`: (file object, path)."""
    fd, tmp = tempfile.mkstemp(prefix=PARTIAL, suffix=".tmp", dir=dest_dir)
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)
    return os.fdopen(fd, "wb"), Path(tmp)


def sweep(folder: Path) -> list[Path]:
    """Delete partial downloads nobody is writing any more (a killed fetch); return them."""
    removed = []
    if fcntl is None or not folder.is_dir():
        return removed
    for tmp in folder.glob(PARTIAL + "*.tmp"):
        try:
            with open(tmp, "rb") as f:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while its writer is alive
                tmp.unlink()
                removed.append(tmp)
        except OSError:
            pass
    return removed


def download(url: str, dest_dir: Path, desc: str = "", size: int | None = None, cap: int | None = None) -> Path:
    """Fetch `url` into a new temporary file inside `dest_dir` and return its path.

    Broken transfers are retried with exponential backoff; a silent or too slow host is not
    (Unreachable). The temporary file is deleted on every failure.
    """
    cap = cap or size or (1 << 30)
    tries, backoff = retries() + 1, backoff_s()  # both read now, so a typo is refused before any wait
    last = None
    for attempt in range(tries):
        out, tmp = new_partial(dest_dir)
        try:
            with out:
                _copy(url, out, cap, time.monotonic() + deadline_s(size), desc or url.rsplit("/", 1)[-1])
            return tmp
        except Interrupted as e:
            last = e
            tmp.unlink()
        except BaseException:
            tmp.unlink()
            raise
        if attempt + 1 < tries:
            delay = backoff * 2**attempt
            if not quiet():
                log(f"  {last}; retrying in {delay:g} s")
            time.sleep(delay)
    raise Interrupted(f"{last} (gave up after {tries} tries)")
