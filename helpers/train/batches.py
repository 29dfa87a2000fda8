"""Turning ``(X, y)`` arrays or torch Datasets into checked datasets and fast data loaders."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    DistributedSampler,
    RandomSampler,
    TensorDataset,
)

ArrayLike = np.ndarray | torch.Tensor


class ArrayPairs(Dataset):
    """``(X, y)`` tensors indexable by a whole list of indices at once (see :func:`make_loader`)."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor):
        self.X, self.y = X, y

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, idx):
        if self.X.is_cuda and not isinstance(idx, int):
            # A list index is turned into a host tensor and copied to the GPU with a blocking copy, which waits
            # for every queued kernel: the GPU then idles while the host launches the next step (profiled in
            # benchmarks/README.md). A non-blocking copy of the indices keeps the host ahead of the GPU.
            idx = torch.as_tensor(idx).to(self.X.device, non_blocking=True)
        return self.X[idx], self.y[idx]


def as_signal_tensor(X: ArrayLike, name: str = "X") -> torch.Tensor:
    """Check and convert signals to a float32 tensor of shape (n, C, T).

    Raises
    ------
    ValueError
        On a wrong number of dimensions or NaN/inf values, naming the shape or the first bad example.
    """
    X = torch.as_tensor(X)
    if X.ndim != 3:
        hint = f"; for single-lead signals use {name}[:, None, :]" if X.ndim == 2 else ""
        raise ValueError(f"{name} must have shape (n_examples, n_channels, n_samples), got {tuple(X.shape)}{hint}")
    if not (X.is_floating_point() or X.dtype in (torch.int16, torch.int32, torch.int64)):
        raise ValueError(f"{name} must hold numbers, got dtype {X.dtype}")
    X = X.float()
    bad = ~torch.isfinite(X)
    if bad.any():
        first = int(bad.flatten(1).any(1).nonzero()[0])
        raise ValueError(f"{name} contains {int(bad.sum())} NaN/inf value(s) (first in example {first}); "
                         "clean or impute the signals before training")
    return X.contiguous()


def as_label_tensor(y: ArrayLike, n: int, n_outputs: int | None = None, name: str = "y") -> torch.Tensor:
    """Check and convert integer class labels to int64 of shape (n,), each in [0, n_outputs)."""
    if not isinstance(y, torch.Tensor):
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise ValueError(f"{name} must hold integer class indices, got dtype {y.dtype}; "
                             "map class names to 0..K-1 first")
        y = torch.as_tensor(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D class indices of shape (n,), got shape {tuple(y.shape)}")
    if len(y) != n:
        raise ValueError(f"{name} has {len(y)} labels but X has {n} examples")
    if y.is_floating_point() and not torch.equal(y, y.round()):
        raise ValueError(f"{name} must hold integer class indices, got non-integer values")
    y = y.long()
    if n_outputs is not None and len(y) and (y.min() < 0 or y.max() >= n_outputs):
        raise ValueError(f"{name} has labels in [{int(y.min())}, {int(y.max())}] but the model has "
                         f"n_outputs={n_outputs}: labels must be in [0, {n_outputs - 1}]")
    return y


def as_dataset(data, n_outputs: int | None, name: str) -> Dataset:
    """``(X, y)`` pair -> checked :class:`ArrayPairs`; a torch Dataset is passed through unchanged."""
    if isinstance(data, Dataset):
        return data
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise TypeError(f"{name} must be an (X, y) pair or a torch Dataset, got {type(data).__name__}")
    X = as_signal_tensor(data[0], f"{name} X")
    return ArrayPairs(X, as_label_tensor(data[1], len(X), n_outputs, f"{name} y"))


def dataset_labels(ds: Dataset) -> np.ndarray:
    """All labels of a dataset (cheap for arrays; a full pass for other Datasets)."""
    if isinstance(ds, ArrayPairs):
        return ds.y.cpu().numpy()
    if isinstance(ds, TensorDataset):
        return ds.tensors[1].cpu().numpy()
    for attr in ("labels", "targets", "y"):
        if hasattr(ds, attr):
            return np.asarray(getattr(ds, attr))
    return np.asarray([int(ds[i][1]) for i in range(len(ds))])


class NoSingletonBatches(BatchSampler):
    """Batches of ``sampler``'s indices, without a last batch of exactly one example (when there are others).

    BatchNorm in training mode cannot normalise one example ("Expected more than 1 value per channel"), so a
    training set of 33 windows in batches of 16 would crash on its third step. The dropped example is a different
    one each epoch (the sampler shuffles), so none is left out for good. Under DDP every rank holds a shard of the
    same length, so every rank drops the same number of batches.
    """

    def __init__(self, sampler: Iterable[int], batch_size: int):
        super().__init__(sampler, batch_size, drop_last=False)

    def _drops_last(self) -> bool:
        n = len(self.sampler)
        return n > 1 and n % self.batch_size == 1

    def __iter__(self):
        batches = super().__iter__()
        if not self._drops_last():
            yield from batches
            return
        for _ in range(super().__len__() - 1):
            yield next(batches)

    def __len__(self) -> int:
        return super().__len__() - int(self._drops_last())


def make_loader(ds: Dataset, *, batch_size: int, sampler: Iterable[int], num_workers: int = 0,
                pin_memory: bool = False, training: bool = False) -> DataLoader:
    """A DataLoader over ``sampler``'s indices.

    For in-memory arrays the batch is fetched with one fancy index (``X[idx]``) instead of collating
    ``batch_size`` single examples: on a laptop CPU that is the difference between the loader and the model
    being the bottleneck. With ``training=True`` a last batch of one example is left out
    (:class:`NoSingletonBatches`); evaluation keeps every example.
    """
    kw = {"num_workers": num_workers, "pin_memory": pin_memory, "persistent_workers": num_workers > 0}
    batches = (NoSingletonBatches(sampler, batch_size) if training
               else BatchSampler(sampler, batch_size, drop_last=False))
    if isinstance(ds, ArrayPairs):
        return DataLoader(ds, sampler=batches, batch_size=None, **kw)
    return DataLoader(ds, batch_sampler=batches, **kw)


def train_sampler(ds: Dataset, *, seed: int, rank: int, world_size: int):
    """Shuffled indices: a seeded RandomSampler, or a DistributedSampler (one shard per rank) under DDP.

    DistributedSampler pads the shards to equal length, so every rank runs the same number of steps (a rank
    with one step fewer would leave the others waiting in all-reduce forever).
    """
    if world_size > 1:
        return DistributedSampler(ds, num_replicas=world_size, rank=rank, shuffle=True, seed=seed)
    return RandomSampler(ds, generator=torch.Generator().manual_seed(seed))


def eval_indices(n: int, *, rank: int, world_size: int) -> list[int]:
    """Rank ``r`` evaluates examples r, r + W, r + 2W, ...: no padding, so gathered metrics are exact."""
    return list(range(rank, n, world_size))
