"""Every file the course downloads, with its size and checksum: the one place to look them up.

A file is only used, or moved into the cache, when it matches an entry here. MNIST is checked by
sha256. IMDb can arrive as the official tarball (checked by sha256), as a re-packed tarball or as
an extracted `aclImdb/` folder; those two have no fixed bytes, so they are checked by a *content
fingerprint* of the review files (see `REVIEWS_FINGERPRINT`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FileSpec:
    dataset: str  # "mnist" or "imdb": also the sub-folder in the cache and in every mirror
    name: str  # the file name, the same everywhere
    size: int | None  # bytes; None where any repack is accepted
    sha256: str | None  # None where only the content fingerprint is checked
    urls: tuple[str, ...] = ()  # canonical download addresses, tried in order after the mirrors
    fingerprint: str | None = None  # content fingerprint of the reviews inside (IMDb archives)

    @property
    def relpath(self) -> str:
        """Where the file sits below the cache dir and below every mirror."""
        return f"{self.dataset}/{self.name}"

    def describe(self) -> str:
        size = f"{self.size:,} bytes" if self.size else "any size"
        check = f"sha256 {self.sha256}" if self.sha256 else f"reviews fingerprint {self.fingerprint}"
        return f"{self.relpath} ({size}, {check})"


# --- MNIST: the four original IDX files (LeCun, Cortes, Burges) -------------------------------
# The same servers torchvision uses: the PyTorch S3 copy first, then the original site.
MNIST_BASE_URLS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)


def _mnist(name: str, size: int, sha256: str) -> FileSpec:
    return FileSpec("mnist", name, size, sha256, tuple(base + name for base in MNIST_BASE_URLS))


MNIST_FILES = {
    "train_images": _mnist("train-images-idx3-ubyte.gz", 9_912_422,
                           "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "train_labels": _mnist("train-labels-idx1-ubyte.gz", 28_881,
                           "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "test_images": _mnist("t10k-images-idx3-ubyte.gz", 1_648_877,
                          "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "test_labels": _mnist("t10k-labels-idx1-ubyte.gz", 4_542,
                          "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}

# --- IMDb: Large Movie Review Dataset v1.0 (Maas et al., ACL 2011) ----------------------------
# Content fingerprint (computed over the course mirror, checked against the shell pipeline below):
# sha256 of the `sha256sum` listing of the 100,000 review files, sorted by
# path, i.e. in a shell inside the folder that holds aclImdb/:
#   LC_ALL=C find aclImdb -type f | LC_ALL=C sort \
#     | grep -E '^aclImdb/(train/(pos|neg|unsup)|test/(pos|neg))/[0-9]+_[0-9]+\.txt$' \
#     | xargs sha256sum | sha256sum
# Only the reviews count: the official tarball also holds labeledBow.feat and other files that
# a repack or a copied folder may lack, and the loader reads nothing else.
REVIEWS_FINGERPRINT = "b00cc6bf6ff859b1ff34cb4995d0dfa5a4eb7f74aceb2238f6d502669203838b"
# Published in shared/datasets/SOURCES.md for the 50,000 labeled reviews only (train|test, pos|neg);
# the tests recompute it to check the fingerprint code against an independent value.
LABELED_FINGERPRINT = "b155ae18c4016500d64b7ea091f3f04c4ea9e702ab3bdb2b4aa0effbd4da11c6"

IMDB_OFFICIAL = FileSpec(
    "imdb", "aclImdb_v1.tar.gz", 84_125_825,
    "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
    urls=("https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",),
    fingerprint=REVIEWS_FINGERPRINT,
)
# Any tarball of the extracted folder (e.g. the course's offline mirror) is accepted by content.
IMDB_REPACK = FileSpec("imdb", "aclImdb_reviews.tar.gz", None, None, fingerprint=REVIEWS_FINGERPRINT)
IMDB_FOLDER = "aclImdb"  # an extracted folder, read in place from the cache or a local mirror
IMDB_FILES = {"official": IMDB_OFFICIAL, "repack": IMDB_REPACK}

DATASETS = {"mnist": MNIST_FILES, "imdb": IMDB_FILES}
