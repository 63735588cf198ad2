"""Where data lives and how patiently to fetch it: every setting the data layer reads from the environment.

* `COURSE_DATA_DIR`: the cache. Default: `<checkout>/datasets/` when running from a clone of the
  course, else `~/.cache/course_utils/datasets`.
* `COURSE_DATA_MIRROR`: classroom mirrors (a USB stick, a LAN share), laid out like the cache
  (`mnist/<file>`, `imdb/<file>`). One or more directories, `file://` or `http(s)://` URLs,
  separated by `os.pathsep` (":" on Linux/macOS, where the ":" inside a URL is understood).
* `COURSE_DATA_TIMEOUT` (s), `COURSE_DATA_RETRIES`, `COURSE_DATA_BACKOFF` (s): checked here, so a
  typo is refused with the variable's name instead of a bare ValueError deep in a download.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from .errors import DataError

_CHECKOUT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """The cache directory (created on demand)."""
    env = os.environ.get("COURSE_DATA_DIR")
    if env:
        path = Path(env).expanduser()
    elif (_CHECKOUT / "datasets" / "README.md").is_file() and (_CHECKOUT / "course_utils").is_dir():
        path = _CHECKOUT / "datasets"
    else:
        path = Path.home() / ".cache" / "course_utils" / "datasets"
    return path.resolve()


def split_mirrors(value: str, sep: str = os.pathsep) -> list[str]:
    """Split a COURSE_DATA_MIRROR value; with sep ":" keep `http://host:8000/x` in one piece."""
    if sep != ":":
        return [part for part in value.split(sep) if part]
    # Split at every ":" except the one after a URL scheme and the one before a port number.
    entries, current = [], ""
    for piece in value.split(":"):
        if current and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]+", current) and piece.startswith("//"):
            current += ":" + piece  # scheme separator
        elif re.match(r"^(https?)://[^/]*$", current) and re.match(r"^\d+(/|$)", piece):
            current += ":" + piece  # host:port
        else:
            if current:
                entries.append(current)
            current = piece
    if current:
        entries.append(current)
    return entries


def mirrors() -> list[str]:
    """The mirrors from COURSE_DATA_MIRROR, each as a base URL (local directories become file://)."""
    bases = []
    for entry in split_mirrors(os.environ.get("COURSE_DATA_MIRROR", "")):
        if re.match(r"^(https?|file)://", entry):
            bases.append(entry.rstrip("/"))
        elif re.match(r"^[A-Za-z][A-Za-z0-9+.-]+://", entry):
            raise DataError(f"COURSE_DATA_MIRROR entry {entry!r}: only folders, file://, http:// and "
                            "https:// are understood, e.g. COURSE_DATA_MIRROR=/media/usb/datasets")
        else:
            bases.append(Path(entry).expanduser().resolve().as_uri())
    return bases


def local_dir(base_url: str) -> Path | None:
    """The directory behind a file:// mirror, or None for a remote one."""
    if base_url.startswith("file://"):
        from urllib.parse import urlparse
        from urllib.request import url2pathname

        return Path(url2pathname(urlparse(base_url).path))
    return None


def _setting(var: str, default: str, kind, low: float, example: str):
    value = os.environ.get(var, "").strip() or default
    try:
        number = kind(value)
    except ValueError:
        number = None
    if number is None or not math.isfinite(number) or number < low:
        raise DataError(f"{var}={value!r} is not valid: expected {'a whole number' if kind is int else 'a number'}"
                        f" >= {low:g}, for example {var}={example}")
    return number


def timeout_s() -> float:
    """Seconds to wait for a connection or for the next bytes; a host silent this long is given up."""
    return _setting("COURSE_DATA_TIMEOUT", "10", float, 0.05, "10")


def retries() -> int:
    """Extra tries after the first one, for transfers that were cut off half-way."""
    return _setting("COURSE_DATA_RETRIES", "2", int, 0, "2")


def backoff_s() -> float:
    """Wait before the first retry (doubled each time)."""
    return _setting("COURSE_DATA_BACKOFF", "1", float, 0, "1")


def filesystem_error(exc: OSError, doing: str = "using") -> DataError:
    """A filesystem failure (read-only, full disk, a file where a folder should be) in the course's words."""
    where = exc.filename or "the data cache"
    reason = exc.strerror or type(exc).__name__
    env = os.environ.get("COURSE_DATA_DIR")
    return DataError(
        f"{doing} {where} failed: {reason} ({type(exc).__name__}).\n"
        f"The data cache is {data_dir()} (COURSE_DATA_DIR={env or 'not set'}). Free some space, "
        "make it writable, or set COURSE_DATA_DIR to a folder you can write, then run again.")
