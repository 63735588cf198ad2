"""Read tar archives that came from elsewhere without letting them write outside their folder.

A malicious archive can name a member `/etc/x` or `../../x`, or hold a link or device that
points elsewhere. Course archives hold nothing but files and folders, so anything else is
refused before a byte is read. Extraction also uses tarfile's own `filter="data"` safeguards.
"""

from __future__ import annotations

import re
import tarfile
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

from .errors import UnsafeArchiveError


def member_name(member: tarfile.TarInfo) -> str:
    """The member's path, checked: relative, without `..`; only plain files and folders allowed."""
    name = member.name
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise UnsafeArchiveError(f"archive member {name!r} has an absolute path")
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if ".." in parts:
        raise UnsafeArchiveError(f"archive member {name!r} climbs out of the folder with '..'")
    if not (member.isfile() or member.isdir()):
        kind = "link" if (member.issym() or member.islnk()) else "device or special file"
        target = f" -> {member.linkname!r}" if member.linkname else ""
        raise UnsafeArchiveError(f"archive member {name!r} is a {kind}{target}; only files are expected")
    return "/".join(part for part in parts if part != ".")


def iter_files(archive: Path, wanted: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:
    """Yield (path, content) of the wanted files, streaming: the archive is never unpacked to disk."""
    with tarfile.open(archive, mode="r|*") as tar:
        for member in tar:
            name = member_name(member)
            if member.isfile() and wanted(name):
                yield name, tar.extractfile(member).read()


def extract(archive: Path, dest: Path) -> None:
    """Unpack `archive` into `dest`, refusing the whole archive if any member is unsafe."""
    with tarfile.open(archive, mode="r:*") as tar:
        members = tar.getmembers()
        for member in members:
            member_name(member)
        dest.mkdir(parents=True, exist_ok=True)
        tar.extractall(dest, members=members, filter="data")
    root = dest.resolve()
    for member in members:  # belt and braces: nothing may have landed outside dest
        if not (dest / member.name).resolve().is_relative_to(root):
            raise UnsafeArchiveError(f"{member.name!r} ended up outside {dest}")
