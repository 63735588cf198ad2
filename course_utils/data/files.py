"""What a file must be (size and sha256), and the marker that remembers it was checked.

A marker `<file>.verified.json` records the size, mtime and sha256 seen at verification, so a
later load can skip re-hashing. Markers are only an optimisation: when one cannot be written (a
read-only shared cache) the file is simply verified again next time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .._files import atomic_write, sha256_file
from .errors import ChecksumError
from .locations import data_dir

MARKER = ".verified.json"
UNKNOWN_SIZE_CAP = 1 << 30  # bytes accepted for a file of unknown size (an IMDb repack is 57 MB)


@dataclass(frozen=True)
class FileSpec:
    dataset: str  # also the sub-folder in the cache and in every mirror
    name: str  # the file name, the same everywhere
    size: int | None  # bytes; None where any repack is accepted
    sha256: str | None  # None where only the content fingerprint is checked
    urls: tuple[str, ...] = ()  # canonical download addresses, tried in order after the mirrors
    fingerprint: str | None = None  # content fingerprint (IMDb archives)

    @property
    def relpath(self) -> str:
        return f"{self.dataset}/{self.name}"

    @property
    def byte_cap(self) -> int:
        """The most bytes a download of this file may write before it is cut off."""
        return self.size or UNKNOWN_SIZE_CAP

    def describe(self) -> str:
        size = f"{self.size:,} bytes" if self.size else "any size"
        check = f"sha256 {self.sha256}" if self.sha256 else f"reviews fingerprint {self.fingerprint}"
        return f"{self.relpath} ({size}, {check})"


def cache_path(spec: FileSpec) -> Path:
    return data_dir() / spec.relpath


def verify_bytes(spec: FileSpec, path: Path) -> dict:
    """Check size (catches truncation cheaply) then sha256; return the facts for the marker."""
    size = Path(path).stat().st_size
    if spec.size is not None and size != spec.size:
        raise ChecksumError(f"{spec.name}: {size:,} bytes, expected {spec.size:,} (truncated or wrong file)")
    digest = sha256_file(path)
    if spec.sha256 is not None and digest != spec.sha256:
        raise ChecksumError(f"{spec.name}: sha256 {digest}, expected {spec.sha256} (corrupt or wrong file)")
    return {"size": size, "sha256": digest}


def _marker(path: Path) -> Path:
    return Path(str(path) + MARKER)


def read_marker(path: Path) -> dict | None:
    """The facts recorded when `path` was verified, if its size and mtime have not changed since."""
    try:
        facts = json.loads(_marker(path).read_text())
        stat = path.stat()
    except (OSError, ValueError):
        return None
    if not isinstance(facts, dict) or facts.get("size") != stat.st_size or facts.get("mtime_ns") != stat.st_mtime_ns:
        return None
    return facts


def write_marker(path: Path, facts: dict, source: str) -> dict:
    """Record the facts; returns them. A cache we cannot write to just goes without a marker."""
    stat = path.stat()
    facts = dict(facts, size=stat.st_size, mtime_ns=stat.st_mtime_ns, source=source)
    try:
        atomic_write(_marker(path), json.dumps(facts, indent=1).encode())
    except OSError:
        pass
    return facts


def drop_marker(path: Path) -> None:
    try:
        _marker(path).unlink()
    except OSError:
        pass
