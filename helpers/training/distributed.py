"""Distributed data-parallel plumbing: the same ``fit`` call runs alone or under ``torchrun``.

``torchrun --nproc_per_node=N script.py`` starts N copies of the script with ``RANK``, ``LOCAL_RANK`` and
``WORLD_SIZE`` in the environment (as nanoGPT's train.py reads them). Each process trains on its shard of the
data; DDP averages the gradients, so all copies keep identical weights.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist


@dataclass
class DistContext:
    """Where this process sits in a (possibly single-process) run."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    owns_process_group: bool = False  # True when setup() created it, so cleanup() must destroy it

    @property
    def is_main(self) -> bool:
        """Only rank 0 prints, saves checkpoints and writes the history."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else is passed to ``torch.device``."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def setup(device: str | torch.device = "auto") -> DistContext:
    """Initialise the process group when launched with ``WORLD_SIZE > 1``; otherwise a single-process context.

    Uses NCCL when the run is on CUDA and gloo on CPU; each process takes GPU ``LOCAL_RANK``.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    dev = resolve_device(device)
    if world_size <= 1:
        return DistContext(device=dev)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if dev.type == "cuda":
        dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return DistContext(rank, local_rank, world_size, dev, owns)


def cleanup(ctx: DistContext) -> None:
    """Destroy the process group if :func:`setup` created it."""
    if ctx.owns_process_group and dist.is_initialized():
        dist.destroy_process_group()


def all_gather_cat(t: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Concatenate along dim 0 the tensors of all ranks (shards may differ in length by one or more rows).

    ``all_gather`` needs equal shapes, so each shard is padded to the longest and trimmed afterwards.
    """
    if not ctx.enabled:
        return t
    n = torch.tensor([t.shape[0]], device=t.device)
    sizes = [torch.zeros_like(n) for _ in range(ctx.world_size)]
    dist.all_gather(sizes, n)
    longest = int(max(s.item() for s in sizes))
    padded = torch.zeros((longest, *t.shape[1:]), dtype=t.dtype, device=t.device)
    padded[: t.shape[0]] = t
    parts = [torch.zeros_like(padded) for _ in range(ctx.world_size)]
    dist.all_gather(parts, padded)
    return torch.cat([p[: int(s.item())] for p, s in zip(parts, sizes)])


def all_reduce_sum(values: list[float], ctx: DistContext) -> list[float]:
    """Sum a few floats over ranks (e.g. loss totals and example counts)."""
    if not ctx.enabled:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=ctx.device)
    dist.all_reduce(t)
    return t.tolist()


def broadcast_object(obj, ctx: DistContext):
    """Rank 0's ``obj`` on every rank (keeps early-stopping decisions identical across ranks)."""
    if not ctx.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def broadcast_state(module: torch.nn.Module, ctx: DistContext, buffers_only: bool = False) -> None:
    """Copy rank 0's buffers (and parameters) to every rank.

    DDP keeps parameters in sync, but BatchNorm running statistics are updated from each rank's own batches;
    syncing them before validation and at the end makes every rank hold the same model.
    """
    if not ctx.enabled:
        return
    tensors = list(module.buffers()) if buffers_only else list(module.state_dict().values())
    for t in tensors:
        if t.numel():
            dist.broadcast(t.data if isinstance(t, torch.nn.Parameter) else t, src=0)
