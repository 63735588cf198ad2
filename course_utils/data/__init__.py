"""The course's data layer: verified MNIST and IMDb, from a cache, a classroom mirror or the web.

    (x_train, y_train), (x_test, y_test) = load_mnist()
    reviews = load_imdb()            # a DataFrame: text, label, rating, split, id
    status("mnist")                  # what the cache holds, checked, as plain values
    fetch("imdb")                    # fetch, verify and parse once (the CLI and Colab use this)

`registry.DATASETS` lists every dataset, `dataset.Dataset` is the interface each one implements,
`locations.py` reads COURSE_DATA_DIR, COURSE_DATA_MIRROR and the download settings.
"""

from __future__ import annotations

from pathlib import Path

from .errors import ChecksumError, DataError, DataUnavailableError, UnsafeArchiveError
from .imdb import SPLITS
from .locations import data_dir, mirrors
from .registry import DATASETS


def load_mnist():
    """Return `(x_train, y_train), (x_test, y_test)`: uint8 arrays of shape (N, 28, 28) and (N,).

    Files come from the cache, then COURSE_DATA_MIRROR, then the canonical servers, and are
    verified by sha256 before use. Raises DataUnavailableError (saying where to put the files)
    when none can be had.
    """
    return DATASETS["mnist"].load()


def load_imdb(splits=SPLITS):
    """Return the reviews of the given splits (default all three) as a DataFrame.

    Columns: text, label (1 positive, 0 negative, -1 unlabeled), rating, split, id.
    `load_imdb(splits=("train", "test"))` leaves out the 50,000 unlabeled reviews. The first call
    reads and verifies the reviews (tens of seconds); later calls load the cached table.
    Raises DataUnavailableError, saying where to put the data, when none can be found.
    """
    splits = (splits,) if isinstance(splits, str) else tuple(splits)
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or not splits:
        raise ValueError(f"splits must be chosen from {SPLITS}, got {splits!r}")
    return DATASETS["imdb"].load(splits=splits)


def _dataset(name: str):
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    return DATASETS[name]


def status(name: str) -> dict:
    """{"dataset", "state", "files", "parsed", "fix", ...}: every byte checked, nothing written."""
    return _dataset(name).status()


def verify(name: str) -> dict:
    """Like `status`, and records markers for the files that pass (what `data verify` runs)."""
    return _dataset(name).status(record=True)


def fetch(name: str) -> Path:
    """Fetch, verify and parse `name` once; returns its cache folder."""
    return _dataset(name).fetch()


__all__ = ["load_mnist", "load_imdb", "status", "verify", "fetch", "data_dir", "mirrors", "DATASETS",
           "DataError", "DataUnavailableError", "ChecksumError", "UnsafeArchiveError"]
