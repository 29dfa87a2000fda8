"""Variable-length records for ``fit``: random crops to train on, whole records to score, length-bucketed batches.

A recording is as long as it is (CinC 2017: 9 to 61 s). Cutting every record into fixed windows throws context
away at the edges and weighs long records more; padding every record to the longest wastes most of each batch on
zeros. :class:`Records` keeps each record whole and builds batches the way a GPU wants them:

- **bucketed by length**: a shuffled pool of records is sorted by length and cut into batches, so records of
  similar length share a batch and padding stays small;
- **right-padded with a mask**: each batch is ``(x, y, padding_mask)``, ``x`` (B, C, T) float32, ``padding_mask``
  (B, T) bool, True at padding (the contract of ``helpers/models/base.py``), or None when nothing is padded;
- **cropped for training**: with ``crop=N`` each record contributes one random N-sample stretch per epoch (all of
  it when shorter), a cheap augmentation that also fixes the batch shape (good for ``torch.compile``);
- **on the GPU**: ``Records(..., device="cuda")`` keeps every sample in one flat device tensor and builds a batch
  with a single gather, so no loader worker, pinned copy or host round trip sits between two training steps.

``fit(model, Records(...), Records(...))`` uses all of this; :func:`predict_proba` scores whole records.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]  # x (B, C, T), y (B,), padding_mask (B, T) or None


class Records(Dataset):
    """Variable-length signals and their labels, stored flat; the batches ``fit`` trains and evaluates on.

    Parameters
    ----------
    signals : sequence of arrays, each (C, L_i) or (L_i,)
        One array per record, float, any length ``L_i >= 1`` samples; 1-D arrays are single-channel.
    labels : array of int, shape (n,)
        Class index of each record.
    crop : int, optional
        Training crop length in samples: each batch takes one random ``crop``-sample stretch of every record
        (the whole record when it is shorter). None: whole records (evaluation).
    device : str or torch.device
        Where the samples live. ``"cuda"`` preloads them on the GPU (CinC 2017 at 100 Hz is ~110 MB).
    pad_multiple : int
        The padded length of a batch is rounded up to a multiple of this (at most ``crop``): fewer distinct
        shapes, so fewer recompilations under ``torch.compile``. 1 pads to the longest record exactly.
    pool_batches : int
        Bucketing pool, in batches: shuffled records are sorted by length within pools of this many batches.
        Larger pools pad less and shuffle less.

    Examples
    --------
    >>> train = Records(ds.signals, ds.labels, crop=3000, device="cuda")  # doctest: +SKIP
    >>> fit(model, train, Records(val_signals, val_labels, device="cuda"), config)  # doctest: +SKIP
    """

    def __init__(self, signals: Sequence[np.ndarray], labels, *, crop: int | None = None,
                 device: str | torch.device = "cpu", pad_multiple: int = 64, pool_batches: int = 50):
        arrays = [np.asarray(s, dtype=np.float32) for s in signals]
        arrays = [a[None, :] if a.ndim == 1 else a for a in arrays]
        if not arrays:
            raise ValueError("Records needs at least one record, got none")
        channels = {a.shape[0] for a in arrays}
        if any(a.ndim != 2 for a in arrays) or len(channels) != 1:
            shapes = sorted({a.shape for a in arrays}, key=str)[:4]
            raise ValueError(f"every record must be (channels, samples) with the same channels, got shapes {shapes}")
        lengths = np.array([a.shape[1] for a in arrays], dtype=np.int64)
        if lengths.min() < 1:
            raise ValueError(f"record {int(lengths.argmin())} has no samples")
        labels = np.asarray(labels)
        if labels.shape != (len(arrays),) or labels.dtype.kind not in "iu":
            raise ValueError(f"labels must be {len(arrays)} integer class indices (one per record), got "
                             f"shape {labels.shape}, dtype {labels.dtype}")
        if crop is not None and crop < 1:
            raise ValueError(f"crop must be a positive number of samples or None, got {crop!r}")
        if pad_multiple < 1 or pool_batches < 1:
            raise ValueError(f"pad_multiple and pool_batches must be >= 1, got {pad_multiple}, {pool_batches}")
        flat = np.concatenate(arrays, axis=1)  # (C, total samples)
        if not np.isfinite(flat).all():
            bad = next(i for i, a in enumerate(arrays) if not np.isfinite(a).all())
            raise ValueError(f"record {bad} contains NaN/inf values; clean or impute the signals first")
        self.device = torch.device(device)
        self.flat = torch.from_numpy(flat).to(self.device)
        self.lengths = lengths  # on the host: batch shapes are decided without asking the GPU
        self.offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        self.labels = labels.astype(np.int64)
        self._labels = torch.from_numpy(self.labels).to(self.device)
        self.crop, self.pad_multiple, self.pool_batches = crop, pad_multiple, pool_batches
        self.n_channels = flat.shape[0]

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        """Record ``i`` whole: (C, L_i) float32 tensor and its label."""
        start = int(self.offsets[i])
        return self.flat[:, start:start + int(self.lengths[i])], int(self.labels[i])

    def __repr__(self) -> str:
        crop = f", crops of {self.crop} samples" if self.crop else ", whole records"
        return (f"Records({len(self)} records, {self.n_channels} channel(s), {self.lengths.min()}-"
                f"{self.lengths.max()} samples{crop}, on {self.device})")

    def with_crop(self, crop: int | None) -> Records:
        """The same records (sharing storage) with another ``crop``: e.g. whole records to score a training set."""
        other = object.__new__(Records)
        other.__dict__.update(self.__dict__)
        other.crop = crop
        return other

    def batch_lengths(self) -> np.ndarray:
        """Samples each record contributes to a batch: its length, at most ``crop``."""
        return self.lengths if self.crop is None else np.minimum(self.lengths, self.crop)

    def batch(self, idx: np.ndarray, rng: np.random.Generator | None = None) -> Batch:
        """Records ``idx`` (int array, shape (B,)) as one right-padded batch ``(x, y, padding_mask)``.

        With ``crop`` set, each record's crop starts at a random sample drawn from ``rng`` (the start when
        ``rng`` is None). ``padding_mask`` is None when no row is padded.
        """
        idx = np.asarray(idx, dtype=np.int64)
        keep = self.batch_lengths()[idx]  # (B,) valid samples per row
        T = -(-int(keep.max()) // self.pad_multiple) * self.pad_multiple
        if self.crop is not None:
            T = min(T, self.crop)
        slack = self.lengths[idx] - keep  # how far the crop may move inside the record
        shift = np.zeros_like(slack) if rng is None else (rng.random(len(idx)) * (slack + 1)).astype(np.int64)
        first = torch.from_numpy(self.offsets[idx] + shift).to(self.device, non_blocking=True)
        t = torch.arange(T, device=self.device)
        valid = t[None, :] < torch.from_numpy(keep).to(self.device, non_blocking=True)[:, None]  # (B, T)
        # padded positions read sample 0 (any valid address) and are zeroed below: one gather, no Python loop
        pos = torch.where(valid, first[:, None] + t[None, :], 0)  # (B, T)
        x = self.flat[:, pos].transpose(0, 1) * valid[:, None, :]  # (C, B, T) -> (B, C, T), padding zeroed
        padded = bool((keep < T).any())  # decided on the host, from lengths: no GPU sync
        rows = torch.from_numpy(idx).to(self.device, non_blocking=True)  # a blocking copy would drain the GPU queue
        return x.contiguous(), self._labels[rows], ~valid if padded else None

    def batches(self, batch_size: int, *, shuffle: bool = False, seed: int = 0, rank: int = 0,
                world_size: int = 1, drop_last: bool = False) -> RecordBatches:
        """An iterable of length-bucketed batches; see :class:`RecordBatches`."""
        return RecordBatches(self, batch_size, shuffle=shuffle, seed=seed, rank=rank, world_size=world_size,
                             drop_last=drop_last)


class RecordBatches:
    """Length-bucketed batches of :class:`Records`, re-drawn every epoch: what ``fit`` iterates over.

    Parameters
    ----------
    records : Records
    batch_size : int
    shuffle : bool
        Training: new pools, crops and batch order each epoch (``set_epoch``). Evaluation: False, every record once.
    seed : int
    rank, world_size : int
        Under DDP. Training: each rank takes every ``world_size``-th batch, and all ranks the same number.
        Evaluation: rank ``r`` scores records r, r + W, ... (no record twice, so gathered metrics are exact).
    drop_last : bool
        Leave out ``n % batch_size`` randomly chosen records each epoch, so every batch is full (static shapes).
    """

    def __init__(self, records: Records, batch_size: int, *, shuffle: bool = False, seed: int = 0, rank: int = 0,
                 world_size: int = 1, drop_last: bool = False):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.records, self.batch_size, self.shuffle, self.seed = records, batch_size, shuffle, seed
        self.rank, self.world_size, self.drop_last = rank, world_size, drop_last
        self.drop_last = drop_last and len(records) >= batch_size
        self.epoch = 0
        if shuffle and len(self._plan(np.random.default_rng(0))) == 0:
            raise ValueError(f"{len(records)} records make no batch of {batch_size} for each of {world_size} "
                             "process(es): lower batch_size")

    def set_epoch(self, epoch: int) -> None:
        """A new shuffle and new crops for ``epoch`` (the same on every rank)."""
        self.epoch = epoch

    def _plan(self, rng: np.random.Generator) -> list[np.ndarray]:
        """This rank's batches of record indices."""
        n, bs = len(self.records), self.batch_size
        if not self.shuffle:
            order = np.arange(self.rank, n, self.world_size)
            order = order[np.argsort(self.records.batch_lengths()[order], kind="stable")]
            return [order[i:i + bs] for i in range(0, len(order), bs)]
        order = rng.permutation(n)
        if self.drop_last:
            order = order[:n - n % bs]
        lengths = self.records.batch_lengths()
        pool = bs * self.records.pool_batches
        batches = []
        for p in range(0, len(order), pool):
            chunk = order[p:p + pool]
            chunk = chunk[np.argsort(lengths[chunk], kind="stable")]  # similar lengths side by side
            batches += [chunk[i:i + bs] for i in range(0, len(chunk), bs)]
        batches = [batches[i] for i in rng.permutation(len(batches))]  # short and long batches interleaved
        per_rank = len(batches) // self.world_size  # equal step counts: a rank with one more would hang DDP
        return batches[self.rank * per_rank:(self.rank + 1) * per_rank] if self.world_size > 1 else batches

    def plan(self) -> list[np.ndarray]:
        """The record indices of each batch of the current epoch, in the order they will be served."""
        return self._plan(np.random.default_rng(self.seed + self.epoch))

    def __len__(self) -> int:
        return len(self.plan())

    def __iter__(self) -> Iterator[Batch]:
        rng = np.random.default_rng(self.seed + self.epoch)  # same stream on every rank: the same plan
        plan = self._plan(rng)
        crop_rng = np.random.default_rng([self.seed, self.epoch, self.rank]) if self.shuffle else None
        for idx in plan:
            yield self.records.batch(idx, crop_rng)
