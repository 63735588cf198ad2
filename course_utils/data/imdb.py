"""IMDb movie reviews (Maas et al., 2011) as one pandas DataFrame, in the official split.

Columns: `text` (the raw review), `label` (1 positive, 0 negative, -1 unlabeled), `rating`
(1-10, 0 for unlabeled), `split` ("train", "test", "unsup") and `id` (the number in the file
name). Rows are sorted by split (train, test, unsup), then label, then id, so every machine sees
the same order.

Reading 100,000 small files out of a tarball takes a while, so the parsed table is cached as an
UTF-8 file of all texts plus an .npz of offsets and columns (no pickle), named after the
content fingerprint and the parser version: a change to either gives a fresh cache.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from . import download
from .checks import sha256_file, verify_bytes
from .errors import ChecksumError, DataUnavailableError
from .locations import data_dir, local_dir, mirrors
from .registry import IMDB_FOLDER, IMDB_OFFICIAL, IMDB_REPACK, REVIEWS_FINGERPRINT
from .reviews import Reviews, scan_archive, scan_folder
from .sources import atomic_writer, cached, obtain, unavailable_message

PARSER_VERSION = 1
SPLITS = ("train", "test", "unsup")


def parsed_path(fingerprint: str | None = None) -> Path:
    """The folder of the parsed table: `text.utf8` (all reviews, back to back) and `meta.npz`."""
    fingerprint = fingerprint or REVIEWS_FINGERPRINT
    return data_dir() / "imdb" / f"reviews-{fingerprint[:16]}-v{PARSER_VERSION}"


def _save(reviews: Reviews, fingerprint: str) -> None:
    order = {name: i for i, name in enumerate(SPLITS)}
    records = sorted(reviews.records, key=lambda r: (order[r[0]], r[1], r[3]))
    texts = [r[4].encode("utf-8") for r in records]
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in texts], out=offsets[1:])
    folder = parsed_path(fingerprint)
    with atomic_writer(folder / "text.utf8") as f:
        f.write(b"".join(texts))
    with atomic_writer(folder / "meta.npz") as f:  # written last: its presence means "complete"
        np.savez(
            f,
            offsets=offsets,  # byte offsets of each review in text.utf8
            split=np.array([order[r[0]] for r in records], dtype=np.int8),
            label=np.array([r[1] for r in records], dtype=np.int8),
            rating=np.array([r[2] for r in records], dtype=np.int8),
            id=np.array([r[3] for r in records], dtype=np.int32),
            fingerprint=np.array(fingerprint),
            parser_version=np.array(PARSER_VERSION),
        )


def _load(folder: Path):
    """The cached table, or None if it is missing, incomplete or from another parser version."""
    import pandas as pd

    if not (folder / "meta.npz").is_file():
        return None
    try:
        with np.load(folder / "meta.npz", allow_pickle=False) as z:
            meta = {name: z[name] for name in z.files}
        raw = (folder / "text.utf8").read_bytes()
        bounds = meta["offsets"].tolist()
        if int(meta["parser_version"]) != PARSER_VERSION or bounds[-1] != len(raw):
            return None
        # Decoding review by review keeps the (mostly ASCII) texts compact and is fastest.
        text = [raw[a:b].decode("utf-8") for a, b in zip(bounds[:-1], bounds[1:])]
    except (OSError, ValueError, KeyError, UnicodeDecodeError):
        return None
    return pd.DataFrame({
        "text": text,
        "label": meta["label"].astype(np.int64),
        "rating": meta["rating"].astype(np.int64),
        "split": np.array(SPLITS, dtype=object)[meta["split"]],
        "id": meta["id"].astype(np.int64),
    })


def _archive_check(scans: dict):
    """Verify an archive: sha256 where the registry has one, the reviews fingerprint always.

    The reviews read while checking are kept in `scans`, so they are parsed only once.
    """

    def check(spec, path: Path) -> dict:
        facts = verify_bytes(spec, path) if spec.sha256 else {"sha256": sha256_file(path)}
        download.log(f"reading the reviews in {spec.name} (once; this takes a while)")
        reviews = scan_archive(path)
        found = reviews.fingerprint()
        if found != REVIEWS_FINGERPRINT:
            message = (f"{spec.name}: reviews fingerprint {found}, expected {REVIEWS_FINGERPRINT} "
                       f"({len(reviews.records):,} reviews; not the aclImdb v1 reviews)")
            if spec.sha256 is None:
                raise ChecksumError(message)
            warnings.warn(message + "; its sha256 is the official tarball's, so it is used")
        scans[found] = reviews
        return dict(facts, fingerprint=found)

    return check


def _folders() -> list[Path]:
    """aclImdb/ folders that may be read in place: in the cache, then in each local mirror."""
    bases = [data_dir()] + [local_dir(m) for m in mirrors() if local_dir(m)]
    return [base / "imdb" / IMDB_FOLDER for base in bases]


def _from_folder(folder: Path) -> tuple[Reviews, str]:
    download.log(f"reading the reviews in {folder} (once; this takes a while)")
    reviews = scan_folder(folder)
    found = reviews.fingerprint()
    if found != REVIEWS_FINGERPRINT:
        raise ChecksumError(f"reviews fingerprint {found}, expected {REVIEWS_FINGERPRINT} "
                            f"({len(reviews.records):,} reviews)")
    return reviews, found


def prepare(dead_hosts: set | None = None, archive_first: bool = False) -> str:
    """Make sure a parsed table is in the cache; return the fingerprint it is filed under.

    Looks, in order: an archive in the cache; an extracted aclImdb/ folder in the cache or a
    local mirror (read in place, nothing copied); an archive from a mirror, then the official
    tarball from Stanford. `archive_first` (used by `data fetch`) tries the archives before the
    folders, so that the cache ends up holding a verified archive.
    """
    if not archive_first and (parsed_path() / "meta.npz").is_file():
        return REVIEWS_FINGERPRINT
    scans: dict = {}
    check = _archive_check(scans)
    specs = [IMDB_OFFICIAL, IMDB_REPACK]
    tried: list[str] = []

    def from_archive(path: Path, facts: dict) -> str:
        found = facts.get("fingerprint") or REVIEWS_FINGERPRINT
        if not (parsed_path(found) / "meta.npz").is_file():
            _save(scans.get(found) or scan_archive(path), found)
        return found

    for spec in specs:
        hit = cached(spec, check)
        if hit:
            return from_archive(*hit)
    if archive_first:
        try:
            return from_archive(*obtain(specs, check, tried, dead_hosts)[1:])
        except DataUnavailableError:
            if any("REJECTED" in line for line in tried):
                raise
    for folder in _folders():
        if not folder.is_dir():
            tried.append(f"folder {folder}: not there")
            continue
        try:
            reviews, found = _from_folder(folder)
        except (ChecksumError, OSError, UnicodeDecodeError) as e:
            tried.append(f"folder {folder}: REJECTED, {e}")
            continue
        _save(reviews, found)
        return found
    if archive_first:
        raise DataUnavailableError(unavailable_message(specs, tried))
    return from_archive(*obtain(specs, check, tried, dead_hosts)[1:])


def load_imdb(splits=SPLITS):
    """Return the reviews of the given splits (default all three) as a DataFrame.

    `load_imdb(splits=("train", "test"))` leaves out the 50,000 unlabeled reviews. The first call
    reads and verifies the reviews (tens of seconds); later calls load the cached table.
    Raises DataUnavailableError, saying where to put the data, when none can be found.
    """
    splits = (splits,) if isinstance(splits, str) else tuple(splits)
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or not splits:
        raise ValueError(f"splits must be chosen from {SPLITS}, got {splits!r}")
    table = _load(parsed_path())
    if table is None:
        table = _load(parsed_path(prepare()))
    if table is None:
        raise DataUnavailableError(f"the parsed IMDb cache {parsed_path()} could not be read back")
    if set(splits) != set(SPLITS):
        table = table[table["split"].isin(splits)].reset_index(drop=True)
    return table
