"""Checksums: is this file the one the registry describes?"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .errors import ChecksumError
from .registry import FileSpec


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_bytes(spec: FileSpec, path: Path) -> dict:
    """Check size (catches truncation cheaply) then sha256; return the facts for the cache marker."""
    size = Path(path).stat().st_size
    if spec.size is not None and size != spec.size:
        raise ChecksumError(f"{spec.name}: {size:,} bytes, expected {spec.size:,} (truncated or wrong file)")
    digest = sha256_file(path)
    if spec.sha256 is not None and digest != spec.sha256:
        raise ChecksumError(f"{spec.name}: sha256 {digest}, expected {spec.sha256} (corrupt or wrong file)")
    return {"size": size, "sha256": digest}
