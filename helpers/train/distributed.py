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


_groups_created = 0  # process groups setup() has initialised in this process


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
        # A plain init_process_group() keys its rendezvous under the same names every time, in a store that
        # outlives the group under torchrun; a second fit in the same script (after cleanup() destroyed the first
        # group) could then read the first group's stale addresses and hang. A fresh key prefix per group avoids
        # it: every rank runs the same fit calls, so the counters agree.
        global _groups_created
        _groups_created += 1
        store, _, _ = next(dist.rendezvous("env://", rank=rank, world_size=world_size))
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo", rank=rank, world_size=world_size,
                                store=dist.PrefixStore(f"helpers_fit_{_groups_created}", store))
    return DistContext(rank, local_rank, world_size, dev, owns)


def cleanup(ctx: DistContext) -> None:
    """Destroy the process group if :func:`setup` created it."""
    if ctx.owns_process_group and dist.is_initialized():
        dist.destroy_process_group()


def all_gather_cat(t: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Concatenate along dim 0 the tensors of all ranks (shards may differ in length, and may be empty).

    ``all_gather`` needs equal shapes, so each shard is padded to the longest and trimmed afterwards. Every rank
    must pass the same number of dimensions, the same trailing shape (e.g. ``(0, K)`` for an empty shard of
    ``(n, K)`` logits) and the same dtype.
    """
    if not ctx.enabled:
        return t
    shape = torch.tensor(t.shape, dtype=torch.long, device=t.device)
    shapes = [torch.zeros_like(shape) for _ in range(ctx.world_size)]
    dist.all_gather(shapes, shape)
    shapes = [tuple(s.tolist()) for s in shapes]
    if any(s[1:] != shapes[0][1:] for s in shapes):  # every rank sees the same list, so all raise together
        raise ValueError(f"all_gather_cat: the ranks' tensors differ beyond dim 0: shapes {shapes}")
    longest = max(s[0] for s in shapes)
    if longest == 0:
        return t
    padded = torch.zeros((longest, *t.shape[1:]), dtype=t.dtype, device=t.device)
    padded[: t.shape[0]] = t
    parts = [torch.zeros_like(padded) for _ in range(ctx.world_size)]
    dist.all_gather(parts, padded)
    return torch.cat([p[: s[0]] for p, s in zip(parts, shapes)])


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
