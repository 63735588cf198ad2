"""Where data lives: the cache directory and the local mirrors, both set by environment variables.

* `COURSE_DATA_DIR`: the cache. Default: `<checkout>/datasets/` when running from a clone of the
  course, else `~/.cache/course_utils/datasets`.
* `COURSE_DATA_MIRROR`: classroom mirrors (a USB stick, a LAN share), laid out like the cache
  (`mnist/<file>`, `imdb/<file>`). One or more directories, `file://` or `http(s)://` URLs,
  separated by `os.pathsep` (":" on Linux/macOS, where the ":" inside a URL is understood).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

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
        if current and re.fullmatch(r"(https?|file)", current) and piece.startswith("//"):
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
        else:
            bases.append(Path(entry).expanduser().resolve().as_uri())
    return bases


def local_dir(base_url: str) -> Path | None:
    """The directory behind a file:// mirror, or None for a remote one."""
    if base_url.startswith("file://"):
        from urllib.request import url2pathname
        from urllib.parse import urlparse

        return Path(url2pathname(urlparse(base_url).path))
    return None
