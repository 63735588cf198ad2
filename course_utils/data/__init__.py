"""The course's data layer: verified MNIST and IMDb, from a cache, a classroom mirror or the web.

    (x_train, y_train), (x_test, y_test) = load_mnist()
    reviews = load_imdb()            # a DataFrame: text, label, rating, split, id

See `registry.py` for every file's size and checksum, `locations.py` for COURSE_DATA_DIR and
COURSE_DATA_MIRROR, and `python -m course_utils data where` for what is on this machine.
"""

from .errors import ChecksumError, DataError, DataUnavailableError, UnsafeArchiveError
from .locations import data_dir, mirrors
from .mnist import load_mnist


def load_imdb(*args, **kwargs):
    """See `course_utils.data.imdb.load_imdb` (imported on first use: it needs pandas)."""
    from .imdb import load_imdb as _load_imdb

    return _load_imdb(*args, **kwargs)


__all__ = ["load_mnist", "load_imdb", "data_dir", "mirrors", "DataError", "DataUnavailableError",
           "ChecksumError", "UnsafeArchiveError"]
