"""In-memory datasets as tensors on the device, and batches sliced from them.

MNIST (47 MB as uint8) and IMDb as padded ids fit in any GPU's memory and in RAM, so there is no
reason to build every batch sample by sample in Python, which is what a DataLoader over a
TensorDataset does (one __getitem__ per sample, then a collate that stacks them). Here a batch is
one `index_select` on a tensor that already lives where the model runs.
"""

from __future__ import annotations

import numpy as np
import torch


def as_tensor(a, what: str) -> torch.Tensor:
    """A tensor from an array, tensor or list. float64 becomes float32 (models compute in float32)."""
    if isinstance(a, torch.Tensor):
        t = a.detach()
    else:
        arr = np.asarray(a)
        if arr.dtype == object:
            raise TypeError(f"{what} must be a numeric array or tensor, got an array of Python objects")
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.dtype == torch.float64:
        t = t.float()
    if t.ndim == 0:
        raise ValueError(f"{what} must have one row per sample, got a scalar")
    return t


def check_pair(data, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, y) from a tuple, with clear messages for the usual mistakes."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{what} must be a tuple (x, y) of arrays or tensors, got {type(data).__name__}")
    x, y = as_tensor(data[0], f"{what} x"), as_tensor(data[1], f"{what} y")
    if len(x) != len(y):
        raise ValueError(f"{what}: x has {len(x)} samples but y has {len(y)}; they must match")
    if len(x) == 0:
        raise ValueError(f"{what} is empty")
    return x, y


def place(t: torch.Tensor, device: torch.device, share: float = 0.5) -> torch.Tensor:
    """Put a whole dataset on the device when it fits comfortably, else keep it in (pinned) RAM.

    Data left in RAM is copied to the device batch by batch; pinning lets that copy overlap work.
    """
    if device.type != "cuda":
        return t.to(device)
    free, _ = torch.cuda.mem_get_info(device)
    if t.numel() * t.element_size() < share * free:
        return t.to(device)
    return t.pin_memory() if t.device.type == "cpu" else t


def take(t: torch.Tensor, idx: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Rows `idx` of `t`, on `device`."""
    if t.device != idx.device:
        return t.index_select(0, idx.to(t.device)).to(device, non_blocking=True)
    return t.index_select(0, idx)


def steps_per_epoch(n: int, batch_size: int, world: int = 1) -> int:
    """Batches per epoch for one process: its share of n samples (n // world under torchrun)."""
    share = n // world if world > 1 else n
    return -(-share // batch_size)


def shuffled_batches(n: int, batch_size: int, generator: torch.Generator, device, rank=0, world=1):
    """Index tensors for one epoch: a seeded permutation, this process's share of it, in batches.

    The permutation is drawn on the CPU, so a seed gives the same order on every device. With
    several processes each takes every world-th index, cut to the same length so that all
    processes run the same number of steps (DistributedDataParallel needs that).
    """
    perm = torch.randperm(n, generator=generator)
    if world > 1:
        perm = perm[rank::world][: n // world]
    perm = perm.to(device)
    batches = [perm[i : i + batch_size] for i in range(0, len(perm), batch_size)]
    assert len(batches) == steps_per_epoch(n, batch_size, world)  # the schedule was sized with it
    return batches


def ordered_batches(n: int, batch_size: int, device, rank=0, world=1):
    """Index tensors for evaluation: every sample once, in order (shard `rank` of `world`)."""
    idx = torch.arange(rank, n, world, device=device)
    return [idx[i : i + batch_size] for i in range(0, len(idx), batch_size)]
