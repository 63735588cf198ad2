"""Every dataset and downloadable artefact of the course: one line each.

Each entry is a `dataset.Dataset` whose `files` list every raw file with its size and checksum
(see mnist.py, imdb.py). Adding one (say, chapter 07's pretrained weights) is a new module with a
Dataset subclass and one line here; the CLI, the doctor and `status()` pick it up.
"""

from __future__ import annotations

from .imdb import IMDB
from .mnist import MNIST

DATASETS = {"mnist": MNIST(), "imdb": IMDB()}
