"""Writing files so that a reader never sees half of one: the one atomic-write helper of the package.

The content goes to a temporary file in the same folder, which is renamed over the final name only
once it is complete (`os.replace` is atomic on one filesystem). A crash, Ctrl-C or a full disk
leaves the old file, or none, never a torn one. Caches, checkpoints, run reports and notebooks
rewritten in place all go through here.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

PART_PREFIX = ".part-"  # temporary files start with this; the data layer sweeps leftovers


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_readable(path) -> None:
    """mkstemp files are private (0600); give the final file the mode any file the user writes gets."""
    os.chmod(path, 0o644 & ~_umask())


@contextmanager
def atomic_writer(path, mode: str = "wb"):
    """A file object whose content appears at `path` only once the `with` block ends without error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=PART_PREFIX, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
        make_readable(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def sha256_file(path) -> str:
    """The file's sha256, read in 1 MiB blocks (a 130 MB cache never sits in memory twice)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write(path, data: bytes | str) -> Path:
    """Write bytes or text (UTF-8) to `path` atomically; returns the path."""
    with atomic_writer(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return Path(path)
