"""MNIST from the four original IDX files: 60,000 training and 10,000 test digits, 28x28 uint8.

The IDX format is tiny: a big-endian header (magic number, then one count per dimension) and
the raw bytes. We check the header against what MNIST must be before trusting any byte. The
parsed arrays are kept as plain .npy files (loaded with allow_pickle=False), so the next load
skips the gzip work.
"""

from __future__ import annotations

import gzip
import hashlib
import struct

import numpy as np

from .checks import verify_bytes
from .errors import ChecksumError, DataUnavailableError
from .sources import obtain, unavailable_message, write_atomic, cache_path
from .registry import MNIST_FILES

PARSER_VERSION = 1
IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801  # uint8 data, 3 or 1 dimensions
COUNTS = {"train": 60_000, "test": 10_000}


def parse_idx(raw: bytes, expect_dims: tuple[int, ...], name: str = "IDX") -> np.ndarray:
    """Decode one uncompressed IDX file holding uint8 data with exactly the dimensions expected."""
    ndim = len(expect_dims)
    magic = 0x00000800 | ndim
    if len(raw) < 4 + 4 * ndim:
        raise ChecksumError(f"{name}: only {len(raw)} bytes, too short for an IDX header")
    (found,) = struct.unpack(">I", raw[:4])
    if found != magic:
        raise ChecksumError(f"{name}: IDX magic number {found:#010x}, expected {magic:#010x}")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    if dims != tuple(expect_dims):
        raise ChecksumError(f"{name}: IDX shape {dims}, expected {tuple(expect_dims)}")
    body = raw[4 + 4 * ndim:]
    if len(body) != int(np.prod(dims)):
        raise ChecksumError(f"{name}: {len(body):,} data bytes, expected {int(np.prod(dims)):,}")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims).copy()


def parsed_dir():
    """Where the parsed arrays live, named after the files' checksums and the parser version."""
    key = hashlib.sha256("".join(s.sha256 for s in MNIST_FILES.values()).encode()).hexdigest()[:12]
    return cache_path(MNIST_FILES["train_images"]).parent / f"parsed-{key}-v{PARSER_VERSION}"


def _load_parsed():
    folder = parsed_dir()
    names = ("x_train", "y_train", "x_test", "y_test")
    if not all((folder / f"{n}.npy").is_file() for n in names):
        return None
    try:
        arrays = [np.load(folder / f"{n}.npy", allow_pickle=False) for n in names]
    except (OSError, ValueError):
        return None
    x_train, y_train, x_test, y_test = arrays
    if x_train.shape != (60_000, 28, 28) or x_test.shape != (10_000, 28, 28):
        return None
    return (x_train, y_train), (x_test, y_test)


def _save_parsed(arrays: dict) -> None:
    import io

    folder = parsed_dir()
    for name, array in arrays.items():
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        write_atomic(folder / f"{name}.npy", buffer.getvalue())


def mnist_paths(dead_hosts: set | None = None) -> dict:
    """Verified paths of the four IDX files in the cache, fetching any that are missing."""
    paths, failures, tried = {}, [], []
    dead_hosts = set() if dead_hosts is None else dead_hosts
    for key, spec in MNIST_FILES.items():
        try:
            paths[key] = obtain([spec], verify_bytes, tried, dead_hosts)[1]
        except ChecksumError:
            raise
        except DataUnavailableError:
            failures.append(spec)
    if failures:
        raise DataUnavailableError(unavailable_message(failures, tried))
    return paths


def load_mnist():
    """Return `(x_train, y_train), (x_test, y_test)`: uint8 arrays of shape (N, 28, 28) and (N,).

    Files come from the cache, then COURSE_DATA_MIRROR, then the canonical servers, and are
    verified by sha256 before use. Raises DataUnavailableError (saying where to put the files)
    when none can be had.
    """
    parsed = _load_parsed()
    if parsed is not None:
        return parsed
    paths = mnist_paths()
    arrays = {}
    for split, n in COUNTS.items():
        images = gzip.decompress(paths[f"{split}_images"].read_bytes())
        labels = gzip.decompress(paths[f"{split}_labels"].read_bytes())
        arrays[f"x_{split}"] = parse_idx(images, (n, 28, 28), MNIST_FILES[f"{split}_images"].name)
        arrays[f"y_{split}"] = parse_idx(labels, (n,), MNIST_FILES[f"{split}_labels"].name)
        if arrays[f"y_{split}"].max() > 9:
            raise ChecksumError(f"{MNIST_FILES[f'{split}_labels'].name}: a label above 9")
    _save_parsed(arrays)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
