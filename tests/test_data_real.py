"""The real datasets, loaded through the course mirror (../shared/datasets) into the repo's cache.

The first run copies, verifies and parses (IMDb: tens of seconds); later runs hit the cache.
"""

import hashlib
import os
import time
from pathlib import Path

import numpy as np
import pytest

from course_utils.data import imdb
from course_utils.data.files import cache_path, sha256_file
from course_utils.data.mnist import FILES as MNIST_FILES
from course_utils.data.reviews import fingerprint

MIRROR = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
pytestmark = pytest.mark.skipif(not MIRROR.is_dir(), reason=f"no course mirror at {MIRROR}")


@pytest.fixture(autouse=True)
def course_mirror(monkeypatch):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)  # the repo's datasets/: fast on rerun
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(MIRROR))
    monkeypatch.setenv("COURSE_DATA_QUIET", "1")


@pytest.mark.timeout(300)
def test_mnist_from_mirror():
    import course_utils as cu

    (x_train, y_train), (x_test, y_test) = cu.load_mnist()
    assert x_train.shape == (60_000, 28, 28) and x_test.shape == (10_000, 28, 28)
    assert y_train.shape == (60_000,) and y_test.shape == (10_000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert x_train.max() == 255 and x_train.min() == 0
    spec = MNIST_FILES["train_images"]
    assert sha256_file(cache_path(spec)) == spec.sha256 == (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609")


@pytest.mark.timeout(300)
def test_imdb_from_mirror():
    import course_utils as cu

    df = cu.load_imdb()
    assert list(df.columns) == ["text", "label", "rating", "split", "id"]
    counts = df.groupby(["split", "label"]).size().to_dict()
    assert counts == {("train", 0): 12_500, ("train", 1): 12_500, ("test", 0): 12_500,
                      ("test", 1): 12_500, ("unsup", -1): 50_000}
    assert df["split"].tolist()[:1] + df["split"].tolist()[-1:] == ["train", "unsup"]
    assert df[df.label == 1].rating.between(7, 10).all() and df[df.label == 0].rating.between(1, 4).all()
    assert (df[df.split == "unsup"].rating == 0).all()
    assert df.groupby(["split", "label"]).id.apply(lambda s: s.is_monotonic_increasing).all()
    assert df.text.iloc[0].startswith("Story of a man who has unnatural feelings for a pig.")

    # The table reproduces the published fingerprints byte for byte (SOURCES.md, registry.py).
    digests = {}
    for text, label, rating, split, id_ in df.itertuples(index=False):
        folder = "train/unsup" if split == "unsup" else f"{split}/{'pos' if label == 1 else 'neg'}"
        digests[f"aclImdb/{folder}/{id_}_{rating}.txt"] = hashlib.sha256(text.encode()).hexdigest()
    labeled = {p: d for p, d in digests.items() if "/unsup/" not in p}
    assert fingerprint(labeled) == imdb.LABELED_FINGERPRINT
    assert fingerprint(digests) == imdb.REVIEWS_FINGERPRINT


@pytest.mark.timeout(300)
def test_imdb_splits_and_cached_speed():
    import course_utils as cu

    cu.load_imdb()  # make sure the cache is built
    start = time.perf_counter()
    labeled = cu.load_imdb(splits=("train", "test"))
    elapsed = time.perf_counter() - start
    assert len(labeled) == 50_000 and set(labeled.split) == {"train", "test"}
    assert labeled.label.mean() == 0.5
    assert elapsed < (10 if os.environ.get("CI") else 5), f"cached load took {elapsed:.1f} s"
    with pytest.raises(ValueError):
        cu.load_imdb(splits=("validation",))
