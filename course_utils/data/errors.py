"""The errors the data layer raises, so a notebook can catch one family: `DataError`.

Outcomes travel as values: a refused copy is kept in `.rejected` as (source, reason, kind) triples, so callers
decide what to do from data, never by reading log text.
"""

from __future__ import annotations


class DataError(RuntimeError):
    """Base class of every data-layer error."""

    def __init__(self, message: str = "", rejected: list | None = None):
        super().__init__(message)
        self.rejected = list(rejected or [])  # [(source, reason, kind)]: copies found but refused


class DataUnavailableError(DataError):
    """No verified copy of a file could be found or fetched; the message says where to put one."""


class ChecksumError(DataUnavailableError):
    """A file's size, sha256 or content fingerprint is not the one in the registry."""


class UnsafeArchiveError(DataError):
    """An archive holds a member that could write outside its folder (absolute path, `..`, link,
    device) or exhaust memory (a member far larger than any real one: a decompression bomb)."""
