"""Copy one address (http://, https:// or file://) into a temporary file, patiently and visibly.

Mirrors and canonical servers go through this same code: a local mirror is just a file:// URL.
The caller verifies the temporary file and only then moves it into the cache, so a body cut off
half-way (or a corrupt mirror file) is never mistaken for a good one.
"""

from __future__ import annotations

import http.client
import os
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

CHUNK = 1 << 20


class NotFound(Exception):
    """The source answered, but does not have this file: try the next source."""


class Unreachable(Exception):
    """No connection to the host at all: skip its other files too, without retrying."""


class Interrupted(Exception):
    """The transfer started but failed (cut off, timed out, server error): worth a retry."""


def timeout_s() -> float:
    """Seconds to wait for a connection or for the next bytes (not for the whole file)."""
    return float(os.environ.get("COURSE_DATA_TIMEOUT", "20"))


def retries() -> int:
    """Extra tries after the first one, for transfers that were interrupted."""
    return int(os.environ.get("COURSE_DATA_RETRIES", "2"))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _show_bar() -> bool:
    """A live bar in a terminal or a notebook; one plain line per file in CI, logs, or with
    COURSE_DATA_QUIET=1."""
    if os.environ.get("CI") or os.environ.get("COURSE_DATA_QUIET"):
        return False
    return sys.stderr.isatty() or "ipykernel" in sys.modules


class _NoBar:
    def __init__(self, *args, **kwargs):
        pass

    def update(self, n):
        pass

    def close(self):
        pass


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
        raise Unreachable(f"cannot connect ({e.reason})") from None
    except (TimeoutError, socket.timeout):
        raise Unreachable(f"no answer within {timeout:g} s") from None
    except (http.client.HTTPException, OSError) as e:
        raise Interrupted(f"connection failed ({e!r})") from None


def _copy(url: str, out, timeout: float, desc: str) -> int:
    """Stream the body into `out`; raise Interrupted unless every announced byte arrived."""
    response = _open(url, timeout)
    with response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        bar = None
        if _show_bar():
            from tqdm.auto import tqdm

            bar = tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, leave=False)
        else:
            log(f"copying {desc} from {url}" + (f" ({total:,} bytes)" if total else ""))
        bar = bar or _NoBar()
        done = 0
        try:
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (http.client.HTTPException, OSError) as e:  # cut off, reset, read timeout
                    raise Interrupted(f"transfer broke after {done:,} bytes ({type(e).__name__})") from None
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                bar.update(len(chunk))
        finally:
            bar.close()
    if total is not None and done != total:
        raise Interrupted(f"connection closed after {done:,} of {total:,} bytes")
    return done


def download(url: str, dest_dir: Path, desc: str = "") -> Path:
    """Fetch `url` into a new temporary file inside `dest_dir` and return its path.

    Interrupted transfers are retried with exponential backoff (1 s, 2 s, ...). The temporary file
    is deleted on every failure, so no partial file is left behind to be mistaken for data.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    timeout, tries, last = timeout_s(), retries() + 1, None
    for attempt in range(tries):
        fd, tmp = tempfile.mkstemp(prefix=".part-", suffix=".tmp", dir=dest_dir)
        try:
            with os.fdopen(fd, "wb") as out:
                _copy(url, out, timeout, desc or url.rsplit("/", 1)[-1])
            return Path(tmp)
        except Interrupted as e:
            last = e
        except BaseException:
            os.unlink(tmp)
            raise
        os.unlink(tmp)
        if attempt + 1 < tries:
            delay = float(os.environ.get("COURSE_DATA_BACKOFF", "1")) * 2**attempt
            log(f"  {last}; retrying in {delay:g} s")
            time.sleep(delay)
    raise Interrupted(f"{last} (gave up after {tries} tries)")
