"""The errors the data layer raises, so a notebook can catch one family: `DataError`."""


class DataError(RuntimeError):
    """Base class of every data-layer error."""


class DataUnavailableError(DataError):
    """No verified copy of a file could be found or fetched; the message says where to put one."""


class ChecksumError(DataUnavailableError):
    """A file's size, sha256 or content fingerprint is not the one in the registry."""


class UnsafeArchiveError(DataError):
    """An archive holds a member that could write outside its folder (absolute path, `..`, link, device)."""
