"""Keep freed memory inside the process, so that the next training step does not fault it back in.

A training step allocates the same large tensors every time: the chapter 04 CNN's first feature maps
are 11 MB per batch of 128, and their gradients as much again. By default glibc's malloc gives
blocks that large straight back to the operating system when PyTorch frees them (mmap, then
munmap), so the next step asks for fresh pages, and the kernel zeroes every 4 KB page on its first
touch. Raising two malloc thresholds keeps those blocks in the process for reuse: measured on a
2-core Xeon, a float32 training step of that CNN (the article's layer order) took 21.0 ms with
glibc's defaults and 11.9 ms with these (benchmarks/cnn_step.py; results in benchmarks/RESULTS.md). The cost: memory a run has freed
stays with the process, up to the trim threshold below, until it exits.

Linux with glibc only (where `mallopt` exists); elsewhere this does nothing. TensorFlow and other
libraries in the same process use the same malloc, so a Keras run benefits too.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD = 256 * 2**20  # blocks up to 256 MiB come from the heap, where a freed one can be reused
TRIM_THRESHOLD = 1 * 2**30  # free memory at the heap's top is returned to the system only above 1 GiB

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Set the two thresholds once per process; True where it applied (Linux, glibc)."""
    global _applied
    if _applied is None:
        _applied = _mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and _mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    return _applied


def _mallopt(param: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(param, value) == 1
