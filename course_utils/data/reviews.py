"""The IMDb review files (`aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`, `train/unsup`), read
from a tarball (streamed) or an extracted folder, together with their content fingerprint.

The fingerprint is the sha256 of a `sha256sum`-style listing ("<sha256>  <path>" per review,
sorted by path). It depends only on the review files, so the official tarball, an extracted
folder and any re-packed archive of it give the same value, whatever their tar headers or order.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from . import safetar
from .errors import ChecksumError

REVIEW = re.compile(r"aclImdb/(?:(train)/(pos|neg|unsup)|(test)/(pos|neg))/(\d+)_(\d+)\.txt")
LABELS = {"neg": 0, "pos": 1, "unsup": -1}


def is_review(path: str) -> bool:
    return REVIEW.fullmatch(path) is not None


def fingerprint(digests: dict[str, str]) -> str:
    """sha256 of the listing that `sort | xargs sha256sum` prints for these paths."""
    listing = "".join(f"{digests[path]}  {path}\n" for path in sorted(digests))
    return hashlib.sha256(listing.encode()).hexdigest()


@dataclass
class Reviews:
    """Records (split, label, rating, id, text) plus each file's sha256, keyed by path."""

    records: list = field(default_factory=list)
    digests: dict = field(default_factory=dict)

    def add(self, path: str, data: bytes) -> None:
        m = REVIEW.fullmatch(path)
        split, kind = (m[1], m[2]) if m[1] else (m[3], m[4])
        if kind == "unsup":
            split = "unsup"
        self.digests[path] = hashlib.sha256(data).hexdigest()
        self.records.append((split, LABELS[kind], int(m[6]), int(m[5]), data.decode("utf-8")))

    def fingerprint(self, prefix: str = "") -> str:
        """Fingerprint of all reviews, or of those whose path matches the regex `prefix`."""
        pattern = re.compile(prefix)
        return fingerprint({p: d for p, d in self.digests.items() if pattern.match(p)})


def scan_archive(archive: Path) -> Reviews:
    """Read the reviews from a tarball; a truncated or garbled one raises ChecksumError."""
    reviews = Reviews()
    try:
        for path, data in safetar.iter_files(archive, is_review):
            reviews.add(path, data)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, UnicodeDecodeError) as e:
        raise ChecksumError(f"{Path(archive).name}: unreadable archive ({type(e).__name__}: {e})") from None
    return reviews


def scan_folder(folder: Path) -> Reviews:
    """`folder` is the `aclImdb` directory itself."""
    reviews = Reviews()
    for sub in ("train/pos", "train/neg", "train/unsup", "test/pos", "test/neg"):
        with os.scandir(folder / sub) as entries:
            for entry in entries:
                path = f"aclImdb/{sub}/{entry.name}"
                if is_review(path) and entry.is_file(follow_symlinks=False):
                    with open(entry.path, "rb") as f:
                        data = f.read(safetar.MAX_MEMBER + 1)
                    if len(data) > safetar.MAX_MEMBER:
                        raise ChecksumError(f"{entry.path}: more than {safetar.MAX_MEMBER:,} bytes, not a review")
                    reviews.add(path, data)
    return reviews
