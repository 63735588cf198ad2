"""IMDb movie reviews (Maas et al., 2011) as one pandas DataFrame, in the official split.

Columns: `text` (the raw review), `label` (1 positive, 0 negative, -1 unlabeled), `rating`
(1-10, 0 for unlabeled), `split` ("train", "test", "unsup") and `id` (the number in the file
name). Rows are sorted by split (train, test, unsup), then label, then id, so every machine sees
the same order.

The reviews arrive as the official tarball (checked by sha256), any repack of it, or an extracted
`aclImdb/` folder (both checked by a content fingerprint, see `reviews.py`). Reading 100,000 small
files takes a while, so the parsed table is cached as one UTF-8 file of all texts plus an .npz of
offsets and columns (no pickle), checked on load like every parsed cache (`parsed.py`).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .._console import log
from .dataset import Dataset
from .errors import ChecksumError, DataUnavailableError, UnsafeArchiveError
from .files import FileSpec, drop_marker, sha256_file, verify_bytes
from .locations import data_dir, local_dir, mirrors
from .reviews import Reviews, scan_archive, scan_folder
from .sources import cached, dead_hosts, obtain, refusal

SPLITS = ("train", "test", "unsup")
# Content fingerprint: sha256 of the `sha256sum` listing of the 100,000 review files, sorted by
# path, i.e. in a shell inside the folder that holds aclImdb/:
#   LC_ALL=C find aclImdb -type f | LC_ALL=C sort \
#     | grep -E '^aclImdb/(train/(pos|neg|unsup)|test/(pos|neg))/[0-9]+_[0-9]+\.txt$' \
#     | xargs sha256sum | sha256sum
# Only the reviews count: the official tarball also holds labeledBow.feat and other files that
# a repack or a copied folder may lack, and the loader reads nothing else.
REVIEWS_FINGERPRINT = "b00cc6bf6ff859b1ff34cb4995d0dfa5a4eb7f74aceb2238f6d502669203838b"
# Published in shared/datasets/SOURCES.md for the 50,000 labeled reviews only (train|test, pos|neg).
LABELED_FINGERPRINT = "b155ae18c4016500d64b7ea091f3f04c4ea9e702ab3bdb2b4aa0effbd4da11c6"

OFFICIAL = FileSpec("imdb", "aclImdb_v1.tar.gz", 84_125_825,
                    "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
                    urls=("https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",),
                    fingerprint=REVIEWS_FINGERPRINT)
# Any tarball of the extracted folder (e.g. the course's offline mirror) is accepted by content.
REPACK = FileSpec("imdb", "aclImdb_reviews.tar.gz", None, None, fingerprint=REVIEWS_FINGERPRINT)
FOLDER = "aclImdb"  # an extracted folder, read in place from the cache or a local mirror


class IMDB(Dataset):
    name = "imdb"
    parsed_files = ("text.utf8", "meta.npz")
    parser_version = 2  # 2: parsed files under a checked manifest
    also_accepted = (f"imdb/{FOLDER}",)

    def __init__(self):
        self.files = (OFFICIAL, REPACK)
        self.fingerprint = REVIEWS_FINGERPRINT
        self._scan: Reviews | None = None  # reviews read while verifying, so they are parsed once

    def parsed_dir(self) -> Path:
        return data_dir() / "imdb" / f"reviews-{self.fingerprint[:16]}-v{self.parser_version}"

    def usable(self, files: dict[str, str]) -> bool:
        return "verified" in files.values()  # any one archive will do

    def forget(self) -> None:
        self._scan = None

    def check_file(self, spec: FileSpec, path: Path) -> dict:
        """sha256 where the registry has one, the reviews fingerprint always."""
        facts = verify_bytes(spec, path) if spec.sha256 else {"size": path.stat().st_size, "sha256": sha256_file(path)}
        log(f"reading the reviews in {spec.name} (once; this takes a while)")
        reviews = scan_archive(path)
        found = reviews.fingerprint()
        if found != self.fingerprint:
            message = (f"{spec.name}: reviews fingerprint {found}, expected {self.fingerprint} "
                       f"({len(reviews.records):,} reviews; not the aclImdb v1 reviews)")
            if spec.sha256 is None:
                raise ChecksumError(message)
            warnings.warn(message + "; its sha256 is the official tarball's, so it is used")
        self._scan = reviews
        return dict(facts, fingerprint=found)

    def _folders(self) -> list[Path]:
        """aclImdb/ folders that may be read in place: in the cache, then in each local mirror."""
        bases = [data_dir()] + [local_dir(m) for m in mirrors() if local_dir(m)]
        return [base / "imdb" / FOLDER for base in bases]

    def _from_archive(self, path: Path) -> Reviews:
        try:
            reviews, self._scan = self._scan or scan_archive(path), None
            if reviews.fingerprint() != self.fingerprint:
                raise ChecksumError("its reviews changed since it was verified")
        except ChecksumError as e:  # bit rot under an unchanged size and mtime
            drop_marker(path)
            raise ChecksumError(f"{path} is damaged ({e}); run: {self.fix()} (it replaces the damaged file)") from None
        return reviews

    def _reviews(self, archive_first: bool) -> Reviews:
        """Look, in order: an archive in the cache; an extracted aclImdb/ folder in the cache or a
        local mirror (read in place); an archive from a mirror, then the official tarball.
        `archive_first` (data fetch) tries the archives before the folders, so the cache ends up
        holding a verified archive."""
        if self._scan is not None:
            reviews, self._scan = self._scan, None
            return reviews
        tried, rejected, dead = [], [], dead_hosts()
        for spec in self.files:
            hit = cached(spec, self.check_file, discard_bad=archive_first)
            if hit:
                return self._from_archive(hit[0])

        def from_sources():
            try:
                return self._from_archive(obtain(list(self.files), self.check_file, tried, dead)[1])
            except (ChecksumError, UnsafeArchiveError) as e:
                if not e.rejected:
                    raise
                rejected.extend(e.rejected)
            except DataUnavailableError:
                pass

        if archive_first and (reviews := from_sources()):
            return reviews
        for folder in self._folders():
            if not folder.is_dir():
                tried.append(f"folder {folder}: not there")
                continue
            log(f"reading the reviews in {folder} (once; this takes a while)")
            try:
                reviews = scan_folder(folder)
                found = reviews.fingerprint()
                if found != self.fingerprint:
                    raise ChecksumError(f"reviews fingerprint {found}, expected {self.fingerprint} "
                                        f"({len(reviews.records):,} reviews)")
            except (ChecksumError, OSError, UnicodeDecodeError) as e:
                rejected.append((f"folder {folder}", str(e), "checksum"))
                tried.append(f"folder {folder}: refused, {e}")
                continue
            return reviews
        if not archive_first and (reviews := from_sources()):
            return reviews
        extra = (f"imdb/{FOLDER}/ (the extracted folder, in the cache or a local mirror; "
                 f"checked by its reviews fingerprint {self.fingerprint})",)
        raise refusal(list(self.files), list(dict.fromkeys(tried)), rejected, extra)

    def raw(self, for_fetch: bool = False) -> dict:
        self._scan = self._reviews(archive_first=for_fetch)
        return {}

    def build(self, for_fetch: bool = False) -> dict[str, bytes]:
        reviews = self._scan if self._scan is not None else self._reviews(archive_first=for_fetch)
        self._scan = None
        order = {name: i for i, name in enumerate(SPLITS)}
        records = sorted(reviews.records, key=lambda r: (order[r[0]], r[1], r[3]))
        texts = [r[4].encode("utf-8") for r in records]
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum([len(t) for t in texts], out=offsets[1:])
        import io

        meta = io.BytesIO()
        np.savez(meta,
                 offsets=offsets,  # byte offsets of each review in text.utf8
                 split=np.array([order[r[0]] for r in records], dtype=np.int8),
                 label=np.array([r[1] for r in records], dtype=np.int8),
                 rating=np.array([r[2] for r in records], dtype=np.int8),
                 id=np.array([r[3] for r in records], dtype=np.int32),
                 fingerprint=np.array(self.fingerprint),
                 parser_version=np.array(self.parser_version))
        return {"text.utf8": b"".join(texts), "meta.npz": meta.getvalue()}

    def decode(self, blobs: dict[str, bytes], splits=SPLITS):
        import io

        import pandas as pd

        with np.load(io.BytesIO(blobs["meta.npz"]), allow_pickle=False) as z:
            meta = {name: z[name] for name in z.files}
        raw = blobs["text.utf8"]
        bounds = meta["offsets"].tolist()
        if int(meta["parser_version"]) != self.parser_version or bounds[-1] != len(raw):
            raise ValueError("offsets do not match the text file")
        keep = np.isin(meta["split"], [SPLITS.index(s) for s in splits])
        rows = np.flatnonzero(keep).tolist()
        # Decoding review by review keeps the (mostly ASCII) texts compact and is fastest.
        text = [raw[bounds[i]:bounds[i + 1]].decode("utf-8") for i in rows]
        return pd.DataFrame({
            "text": text,
            "label": meta["label"][keep].astype(np.int64),
            "rating": meta["rating"][keep].astype(np.int64),
            "split": np.array(SPLITS, dtype=object)[meta["split"][keep]],
            "id": meta["id"][keep].astype(np.int64),
        })
