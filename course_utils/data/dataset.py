"""One small interface behind every dataset or downloadable artefact: files, fetch, verify, status, load.

A new dataset (or a tokenizer, or pretrained weights) is one module with a `Dataset` subclass and
one line in `registry.DATASETS`. Subclasses say which raw files they need (`files`, `raw`), how to
turn them into parsed bytes (`build`) and how to turn those into what a learner gets (`decode`);
caching, verification, repair and reporting live here, once.
"""

from __future__ import annotations

import errno
from contextlib import contextmanager
from pathlib import Path

from .._console import log
from . import parsed
from .errors import ChecksumError, DataError, DataUnavailableError, UnsafeArchiveError
from .files import FileSpec, cache_path, drop_marker, read_marker, verify_bytes, write_marker
from .locations import data_dir, filesystem_error
from .sources import dead_hosts, fetching, obtain, refusal

STATES = ("verified", "present, not verified yet", "missing", "damaged")


@contextmanager
def filesystem_errors(doing: str = "using"):
    """Turn any filesystem failure escaping the data layer into a DataError naming path and cache."""
    try:
        yield
    except OSError as e:
        raise filesystem_error(e, doing) from None


class Dataset:
    name: str = ""
    files: tuple[FileSpec, ...] = ()
    parsed_files: tuple[str, ...] = ()
    parser_version: int = 1
    also_accepted: tuple[str, ...] = ()  # other forms read in place (relpaths), shown by `data where`

    # --- what a subclass provides ------------------------------------------------------------
    def parsed_dir(self) -> Path:
        return data_dir() / self.name / f"parsed-v{self.parser_version}"

    def raw(self, for_fetch: bool = False) -> dict[str, Path]:
        """Verified raw files in the cache, fetched where missing (default: every file in `files`)."""
        paths, missing, tried, dead, rejected = {}, [], [], dead_hosts(), []
        for spec in self.files:
            try:
                paths[spec.name] = obtain([spec], self.check_file, tried, dead, discard_bad=for_fetch)[1]
            except (ChecksumError, UnsafeArchiveError) as e:
                if not e.rejected:
                    raise  # the cached copy is damaged: its message says what to do
                rejected += e.rejected
                missing.append(spec)
            except DataUnavailableError:
                missing.append(spec)
        if missing:
            raise refusal(missing, tried, rejected)
        return paths

    def check_file(self, spec: FileSpec, path: Path) -> dict:
        """Verify one raw file (raise ChecksumError); returns the facts for its marker."""
        return verify_bytes(spec, path)

    def build(self, for_fetch: bool = False) -> dict[str, bytes]:
        """Parse the raw files into the bytes of `parsed_files`."""
        raise NotImplementedError

    def decode(self, blobs: dict[str, bytes], **options):
        """What the learner gets, from verified parsed bytes."""
        raise NotImplementedError

    def fix(self) -> str:
        return f"python -m course_utils data fetch {self.name}"

    # --- the same for every dataset --------------------------------------------------------
    def _parsed(self) -> dict[str, bytes] | None:
        try:
            return parsed.read(self.parsed_dir(), self.parsed_files)
        except parsed.Damaged as e:
            log(f"the parsed {self.name} cache is damaged ({e}); rebuilding it from the verified raw files")
            return None

    def _build_and_save(self, for_fetch: bool = False) -> dict[str, bytes]:
        with fetching(self.name):
            blobs = self.build(for_fetch)
            try:
                parsed.write(self.parsed_dir(), blobs, dataset=self.name, parser_version=self.parser_version)
            except OSError as e:  # read-only or full: this load still works, from memory
                log(f"could not save the parsed {self.name} cache in {self.parsed_dir()} ({e.strerror or e}); "
                    "it is parsed again next time")
        return blobs

    def load(self, **options):
        with filesystem_errors("reading the data cache"):
            blobs = self._parsed()
            if blobs is None:
                blobs = self._build_and_save()
            try:
                return self.decode(blobs, **options)
            except (ValueError, KeyError) as e:
                raise DataError(f"the parsed {self.name} cache in {self.parsed_dir()} could not be decoded "
                                f"({e}); delete that folder and run: {self.fix()}") from None

    def fetch(self) -> Path:
        """Fetch, verify and parse once, so the first lesson does not wait; returns the dataset folder."""
        with filesystem_errors("fetching into"):
            with fetching(self.name):
                self.raw(for_fetch=True)
            try:
                if self._parsed() is None:
                    self._build_and_save(for_fetch=True)
            finally:
                self.forget()
        return data_dir() / self.name

    def file_states(self, deep: bool = True, record: bool = False) -> dict[str, tuple[str, str]]:
        """{file name: (state, detail)} for the raw files; `record` writes markers for good ones."""
        states = {}
        for spec in self.files:
            path = cache_path(spec)
            if not path.is_file():
                states[spec.name] = ("missing", "")
                continue
            facts = read_marker(path)
            if not deep:
                states[spec.name] = ("verified" if facts else "present, not verified yet", "")
                continue
            states[spec.name] = self._deep_state(spec, path, facts, record)
        return states

    def _deep_state(self, spec, path, facts, record) -> tuple[str, str]:
        try:
            if spec.sha256:
                found = verify_bytes(spec, path)
            elif facts:  # checked by content once; its bytes must still be the ones seen then
                found = verify_bytes(FileSpec(spec.dataset, spec.name, facts["size"], facts["sha256"]), path)
            elif record:
                found = self.check_file(spec, path)
            else:
                return "present, not verified yet", "its content is checked on first use or by data verify"
        except (ChecksumError, UnsafeArchiveError) as e:
            drop_marker(path)
            return "damaged", str(e)
        if record:
            write_marker(path, {**(facts or {}), **found}, (facts or {}).get("source", "verify"))
        return "verified", ""

    def forget(self) -> None:
        """Drop anything kept in memory between the steps of a fetch."""

    def usable(self, files: dict[str, str]) -> bool:
        """Whether these raw file states are enough to (re)build the parsed cache."""
        return all(state == "verified" for state in files.values())

    def status(self, record: bool = False) -> dict:
        """The truth about this dataset's cache, as plain values (used by data where/verify and the doctor)."""
        with filesystem_errors("checking"):
            for folder in (data_dir(), data_dir() / self.name):
                if folder.exists() and not folder.is_dir():
                    raise NotADirectoryError(errno.ENOTDIR, "a file where the cache folder should be", str(folder))
            try:
                raw = self.file_states(deep=True, record=record)
            finally:
                self.forget()
            parsed_state, parsed_detail = parsed.state(self.parsed_dir(), self.parsed_files)
        files = {name: state for name, (state, _) in raw.items()}
        details = {name: detail for name, (_, detail) in raw.items() if detail}
        if parsed_detail:
            details["parsed"] = parsed_detail
        if "damaged" in files.values() or parsed_state == "damaged":
            state = "damaged"
        elif self.usable(files) or parsed_state == "verified":
            state = "verified"
        elif any(s != "missing" for s in files.values()):
            state = "present, not verified yet"
        else:
            state = "missing"
        fix = "" if state == "verified" else self.fix()
        if parsed_state == "damaged" and "damaged" not in files.values():
            fix = f"{self.fix()}  (rebuilds {self.parsed_dir()})"
        return {"dataset": self.name, "state": state, "files": files, "parsed": parsed_state,
                "parsed_dir": str(self.parsed_dir()), "details": details, "fix": fix}
