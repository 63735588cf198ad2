"""Parsed caches (the arrays or tables a load returns), checked on every load like the raw files.

Parsing takes seconds to minutes, so its result is kept. A same-size bit flip or a truncated file
in that cache must not reach a learner: `manifest.json`, written last, records each file's size and
sha256, and `read` checks them (about 40 ms per 55 MB here). No manifest means "not built yet";
a mismatch raises `Damaged`, and the caller rebuilds from the verified raw files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .._files import atomic_write

MANIFEST = "manifest.json"


class Damaged(Exception):
    """The parsed cache exists but is not what was written."""


def read(folder: Path, names: tuple[str, ...]) -> dict[str, bytes] | None:
    """The verified bytes of each file, None when nothing was built yet; raises Damaged."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return None
    try:
        facts = json.loads(manifest.read_text())
        expected = {name: facts["files"][name] for name in names}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise Damaged(f"{manifest}: unreadable ({type(e).__name__})") from None
    blobs = {}
    for name, want in expected.items():
        path = folder / name
        try:
            data = path.read_bytes()
        except OSError as e:
            raise Damaged(f"{path}: {e.strerror or type(e).__name__}") from None
        if len(data) != want["size"]:
            raise Damaged(f"{path}: {len(data):,} bytes, {want['size']:,} were written")
        if hashlib.sha256(data).hexdigest() != want["sha256"]:
            raise Damaged(f"{path}: sha256 differs from the one recorded when it was written")
        blobs[name] = data
    return blobs


def write(folder: Path, blobs: dict[str, bytes], **facts) -> None:
    """Write the files, then the manifest; raises OSError (the caller decides whether it matters)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)  # a crash half-way leaves "not built", never "damaged"
    files = {}
    for name, data in blobs.items():
        atomic_write(folder / name, data)
        files[name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    atomic_write(folder / MANIFEST, json.dumps(dict(facts, files=files), indent=1).encode())


def state(folder: Path, names: tuple[str, ...]) -> tuple[str, str]:
    """('verified' | 'not built yet' | 'damaged', detail) after checking every byte."""
    try:
        found = read(folder, names)
    except Damaged as e:
        return "damaged", str(e)
    return ("not built yet", "") if found is None else ("verified", "")
