"""Data-parallel training over several processes, for when one machine or one GPU is outgrown.

`fit` runs unchanged under `torchrun --nproc_per_node=N script.py`: torchrun starts N copies of
the script and tells each its RANK and WORLD_SIZE. Every process holds a full copy of the model,
trains on its own share of each epoch's shuffled data, and DistributedDataParallel averages the
gradients after every backward pass, so all copies stay identical. Metrics are summed over the
processes; only rank 0 prints and writes files. Backends: NCCL between GPUs, gloo on CPUs.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistContext:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        """True on the one process that prints and saves."""
        return self.rank == 0


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def setup(device: torch.device) -> DistContext:
    """Join the process group torchrun prepared (once per process); one process: a no-op."""
    if not launched_by_torchrun():
        return DistContext(device=device)
    if device.type == "cuda":  # one GPU per process
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        if device.type == "cuda":
            dist.init_process_group(backend="nccl", device_id=device)
        else:
            dist.init_process_group(backend="gloo")
        atexit.register(_cleanup)
    return DistContext(rank=dist.get_rank(), world=dist.get_world_size(), device=device)


def _cleanup() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def wrap(model: torch.nn.Module, ctx: DistContext):
    """The model wrapped for gradient averaging (or unchanged for one process)."""
    if not ctx.active:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def sum_all(values: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Element-wise sum of a tensor over all processes."""
    if ctx.active:
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def same_seed(seed: int, ctx: DistContext) -> int:
    """Rank 0's seed on every process, so that all draw the same shuffle of the data."""
    if not ctx.active:
        return seed
    t = torch.tensor([seed], dtype=torch.int64, device=ctx.device)
    dist.broadcast(t, src=0)
    return int(t.item())
