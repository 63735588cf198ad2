"""Read tar archives that came from elsewhere without letting them write outside their folder or
fill memory.

Path checks are tarfile's own extraction filter (`tarfile.data_filter`: absolute paths, `..`,
links leaving the folder, devices); course archives hold nothing but files and folders, so links
are refused too. Sizes are bounded before and while reading: no IMDb review is near 1 MiB (the
largest of the 100,000 is 13,704 bytes, so the bound leaves a 75x margin), and the whole archive
may not unpack to more than 2 GiB (the real one unpacks to about 0.3 GB). A decompression bomb is
refused from its tar header, before a byte of it is read.
"""

from __future__ import annotations

import re
import tarfile
from pathlib import Path
from typing import Callable, Iterator

from .errors import UnsafeArchiveError

MAX_MEMBER = 1 << 20  # bytes in one wanted member (a review)
MAX_TOTAL = 2 << 30  # bytes the whole archive may unpack to


def member_name(member: tarfile.TarInfo) -> str:
    """The member's path, checked by tarfile's data filter; only plain files and folders allowed."""
    if member.name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", member.name):  # the filter would strip it
        raise UnsafeArchiveError(f"unsafe archive member {member.name!r} has an absolute path")
    try:
        tarfile.data_filter(member, "/nonexistent-destination")
    except tarfile.FilterError as e:
        raise UnsafeArchiveError(f"unsafe archive member {member.name!r}: {e}") from None
    if not (member.isfile() or member.isdir()):
        kind = "link" if (member.issym() or member.islnk()) else "device or special file"
        target = f" -> {member.linkname!r}" if member.linkname else ""
        raise UnsafeArchiveError(f"unsafe archive member {member.name!r} is a {kind}{target}; only files are expected")
    return "/".join(part for part in member.name.split("/") if part not in ("", "."))


def _check_size(archive: Path, member: tarfile.TarInfo, limit: int | None, max_total: int) -> None:
    if member.offset_data + member.size > max_total:
        raise UnsafeArchiveError(f"unsafe archive {Path(archive).name}: unpacks to more than {max_total:,} bytes "
                                 f"(at member {member.name!r}); a decompression bomb or not a course archive")
    if limit is not None and member.size > limit:
        raise UnsafeArchiveError(f"unsafe archive member {member.name!r} in {Path(archive).name}: "
                                 f"{member.size:,} bytes, more than the {limit:,} any such file can have")


def iter_files(archive: Path, wanted: Callable[[str], bool], max_member: int = MAX_MEMBER,
               max_total: int = MAX_TOTAL) -> Iterator[tuple[str, bytes]]:
    """Yield (path, content) of the wanted files, streaming: the archive is never unpacked to disk."""
    with tarfile.open(archive, mode="r|*") as tar:
        for member in tar:
            name = member_name(member)
            _check_size(archive, member, None, max_total)
            if member.isfile() and wanted(name):
                _check_size(archive, member, max_member, max_total)
                data = tar.extractfile(member).read(max_member + 1)  # bounded even if the header lied
                if len(data) > max_member:
                    raise UnsafeArchiveError(f"unsafe archive member {name!r}: more than {max_member:,} bytes")
                yield name, data


def extract(archive: Path, dest: Path, max_total: int = MAX_TOTAL) -> None:
    """Unpack `archive` into `dest`, refusing the whole archive if any member is unsafe."""
    with tarfile.open(archive, mode="r:*") as tar:
        members = tar.getmembers()
        for member in members:
            member_name(member)
            _check_size(archive, member, None, max_total)
        dest.mkdir(parents=True, exist_ok=True)
        tar.extractall(dest, members=members, filter="data")
