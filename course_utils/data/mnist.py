"""MNIST from the four original IDX files: 60,000 training and 10,000 test digits, 28x28 uint8.

The IDX format is tiny: a big-endian header (magic number, then one count per dimension) and
the raw bytes. We check the header against what MNIST must be before trusting any byte. The
parsed arrays are kept as plain .npy files (loaded with allow_pickle=False) under a checked
manifest, so the next load skips the gzip work.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import struct
import zlib

import numpy as np

from .dataset import Dataset
from .errors import ChecksumError
from .files import FileSpec, drop_marker, verify_bytes

COUNTS = {"train": 60_000, "test": 10_000}
# The same servers torchvision uses: the PyTorch S3 copy first, then the original site.
BASE_URLS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")


def _spec(name: str, size: int, sha256: str) -> FileSpec:
    return FileSpec("mnist", name, size, sha256, tuple(base + name for base in BASE_URLS))


FILES = {
    "train_images": _spec("train-images-idx3-ubyte.gz", 9_912_422,
                          "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "train_labels": _spec("train-labels-idx1-ubyte.gz", 28_881,
                          "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "test_images": _spec("t10k-images-idx3-ubyte.gz", 1_648_877,
                         "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "test_labels": _spec("t10k-labels-idx1-ubyte.gz", 4_542,
                         "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}


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


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


class MNIST(Dataset):
    name = "mnist"
    parsed_files = ("x_train.npy", "y_train.npy", "x_test.npy", "y_test.npy")
    parser_version = 2  # 2: parsed files under a checked manifest

    def __init__(self):
        self.files = tuple(FILES.values())

    def parsed_dir(self):
        """Named after the raw files' checksums and the parser version."""
        key = hashlib.sha256("".join(s.sha256 for s in self.files).encode()).hexdigest()[:12]
        return super().parsed_dir().with_name(f"parsed-{key}-v{self.parser_version}")

    def _decompress(self, path, spec) -> bytes:
        try:
            return gzip.decompress(path.read_bytes())
        except (EOFError, OSError, zlib.error) as e:  # bit rot under an intact size and mtime
            drop_marker(path)
            try:
                verify_bytes(spec, path)
            except ChecksumError as bad:
                raise ChecksumError(f"{path} is damaged ({bad}). Run: {self.fix()} "
                                    "(it replaces the damaged file)") from None
            raise ChecksumError(f"{path} matches its checksum but cannot be decompressed ({e})") from None

    def build(self, for_fetch: bool = False) -> dict[str, bytes]:
        paths = self.raw(for_fetch)
        blobs = {}
        for split, n in COUNTS.items():
            specs = FILES[f"{split}_images"], FILES[f"{split}_labels"]
            specs = [next(s for s in self.files if s.name == spec.name) for spec in specs]
            images = parse_idx(self._decompress(paths[specs[0].name], specs[0]), (n, 28, 28), specs[0].name)
            labels = parse_idx(self._decompress(paths[specs[1].name], specs[1]), (n,), specs[1].name)
            if labels.max() > 9:
                raise ChecksumError(f"{specs[1].name}: a label above 9")
            blobs[f"x_{split}.npy"], blobs[f"y_{split}.npy"] = _npy(images), _npy(labels)
        return blobs

    def decode(self, blobs):
        arrays = [np.load(io.BytesIO(blobs[name]), allow_pickle=False) for name in self.parsed_files]
        x_train, y_train, x_test, y_test = arrays
        if x_train.shape != (60_000, 28, 28) or x_test.shape != (10_000, 28, 28) or max(y_train.max(), y_test.max()) > 9:
            raise ValueError("arrays of the wrong shape or labels above 9")
        return (x_train, y_train), (x_test, y_test)
