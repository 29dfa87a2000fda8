"""Step 1 of the training loop (``loop.py``): everything one ``fit`` call fixes before its first epoch.

:func:`setup` turns the model, the data and a :class:`TrainConfig` into a :class:`Run`: datasets checked and
batched (arrays or variable-length :class:`Records`), the loss with its class weights, the model wrapped for
distributed data-parallel and/or ``torch.compile``, AdamW (or SGD) with weight decay on matrices only, the
warm-up + cosine schedule, the gradient scaler for fp16, and the history and progress printer. ``loop.py`` reads
the epochs; this file is what it stands on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset

from . import distributed as D
from .batches import (
    ArrayPairs,
    as_dataset,
    dataset_labels,
    eval_indices,
    make_loader,
    train_sampler,
)
from .config import TrainConfig, resolve_amp, resolve_monitor
from .history import History
from .losses import balanced_class_weights, make_loss
from .progress import Progress
from .records import Records
from .schedule import make_scheduler


@dataclass
class Run:
    """Everything one ``fit`` call fixes before its first epoch, and the bookkeeping it updates after each."""

    cfg: TrainConfig
    ctx: D.DistContext
    model: nn.Module  # the model itself: validation, state dicts, checkpoints
    net: nn.Module  # what a training step calls: the model, DDP-wrapped and/or compiled
    n_outputs: int
    amp_dtype: torch.dtype | None  # autocast dtype, None for float32
    criterion: nn.Module
    sampler: Iterable[int]  # shuffles the training set; a DistributedSampler under DDP
    train_loader: DataLoader
    val_loader: DataLoader | None
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    monitor: str | None  # the metric that chooses the kept weights (None: keep the last epoch)
    mode: str  # "max" or "min"
    history: History
    progress: Progress
    best_state: dict | None = None
    bad_epochs: int = 0  # epochs since the monitor last improved
    deadline: float | None = None  # time.perf_counter() at which config.time_budget_s runs out
    compiled: bool = False

    @property
    def device(self) -> torch.device:
        return self.ctx.device



def setup(model: nn.Module, train, val, cfg: TrainConfig, ctx: D.DistContext) -> Run:
    """Step 1 of ``fit``: data, loss, model wrapping (DDP, compile), optimizer, schedule, history and progress."""
    device = ctx.device
    torch.manual_seed(cfg.seed + ctx.rank)  # dropout masks: reproducible, and different on each rank
    amp_dtype = resolve_amp(cfg.amp, device)
    model.to(device)
    n_outputs = getattr(model, "n_outputs", None)
    train_ds = as_dataset(train, n_outputs, "train")
    if len(train_ds) == 0:
        raise ValueError("the training set is empty")
    n_outputs = n_outputs or _probe_n_outputs(model, train_ds, device)
    val_ds = None if val is None else as_dataset(val, n_outputs, "val")
    monitor, mode = resolve_monitor(cfg, n_outputs, has_val=val_ds is not None)

    criterion = make_loss(cfg.loss, class_weights=_class_weights(cfg.class_weights, train_ds, n_outputs),
                          focal_gamma=cfg.focal_gamma, label_smoothing=cfg.label_smoothing).to(device)
    if cfg.grad_checkpointing:
        if not hasattr(model, "set_grad_checkpointing"):
            raise ValueError(f"grad_checkpointing=True but {type(model).__name__} has no set_grad_checkpointing()")
        model.set_grad_checkpointing(True)
    net = model
    if ctx.enabled:
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if cfg.compile:
        net = _compile(net, cfg)

    sampler, train_loader, val_loader = _loaders(train_ds, val_ds, cfg, ctx)
    optimizer = _make_optimizer(model, cfg, device)
    total_steps = cfg.epochs * len(train_loader)
    warmup = round(cfg.warmup_epochs * len(train_loader)) if cfg.warmup_epochs is not None \
        else round(cfg.warmup_frac * total_steps)
    scheduler = make_scheduler(optimizer, total_steps=total_steps, warmup_steps=warmup,
                               min_lr_ratio=cfg.min_lr_ratio, schedule=cfg.schedule)
    # fp16 needs loss scaling (its small exponent range underflows gradients); bf16 and fp32 do not
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)

    history = History()
    history.monitor, history.world_size = monitor, ctx.world_size
    progress = Progress(cfg.progress, cfg.epochs, monitor, active=ctx.is_main)
    progress.say(_describe(model, train_ds, val_ds, len(train_loader), cfg, ctx, amp_dtype, monitor, mode))
    return Run(cfg, ctx, model, net, n_outputs, amp_dtype, criterion, sampler, train_loader, val_loader, optimizer,
                scheduler, scaler, monitor, mode, history, progress, compiled=bool(cfg.compile))


def _compile(net: nn.Module, cfg: TrainConfig) -> nn.Module:
    """``torch.compile`` with ``cfg.compile``'s mode and ``cfg.compile_options`` (Inductor settings) on top.

    torch.compile takes a mode or options, not both, so a mode's own options (reduce-overhead: CUDA graphs) are
    merged under the user's; this is how ``benchmarks/transformer_throughput.py`` compiles its bare step.
    """
    mode = "default" if cfg.compile is True else cfg.compile
    if not cfg.compile_options:
        return torch.compile(net, mode=mode)
    from torch._inductor import list_mode_options

    return torch.compile(net, options={**list_mode_options(mode), **cfg.compile_options})


def _loaders(train_ds: Dataset, val_ds: Dataset | None, cfg: TrainConfig,
             ctx: D.DistContext) -> tuple[Iterable[int], DataLoader, DataLoader | None]:
    device = ctx.device
    if isinstance(train_ds, Records):  # length-bucketed batches with padding masks, built where the records live
        # full batches only (static shapes for torch.compile), unless the set is smaller than one batch
        train_batches = train_ds.batches(cfg.batch_size, shuffle=True, seed=cfg.seed, rank=ctx.rank,
                                         world_size=ctx.world_size, drop_last=True)
        return train_batches, train_batches, _val_loader(val_ds, cfg, ctx)
    on_cpu_data = not (isinstance(train_ds, ArrayPairs) and train_ds.X.is_cuda)
    workers = cfg.num_workers if cfg.num_workers is not None else \
        (4 if device.type == "cuda" and not isinstance(train_ds, ArrayPairs) else 0)
    pin = device.type == "cuda" and on_cpu_data  # page-locked host memory makes host->GPU copies async
    sampler = train_sampler(train_ds, seed=cfg.seed, rank=ctx.rank, world_size=ctx.world_size)
    train_loader = make_loader(train_ds, batch_size=cfg.batch_size, sampler=sampler, num_workers=workers,
                               pin_memory=pin, training=True)
    return sampler, train_loader, _val_loader(val_ds, cfg, ctx)


def _val_loader(val_ds: Dataset | None, cfg: TrainConfig, ctx: D.DistContext):
    if val_ds is None:
        return None
    if isinstance(val_ds, Records):
        return val_ds.batches(cfg.eval_batch_size, rank=ctx.rank, world_size=ctx.world_size)
    return make_loader(val_ds, batch_size=cfg.eval_batch_size,
                       sampler=eval_indices(len(val_ds), rank=ctx.rank, world_size=ctx.world_size))


def _describe(model, train_ds, val_ds, n_batches, cfg, ctx, amp_dtype, monitor, mode) -> str:
    """The run in one line, with the monitored metric as resolved (never "auto")."""
    val = f"{len(val_ds):,} validation" if val_ds is not None else "no validation"
    ranks = f" x {ctx.world_size} processes" if ctx.enabled else ""
    precision = str(amp_dtype or torch.float32).removeprefix("torch.")
    keep = (f"keeping the best {monitor} ({mode})" if monitor is not None
            else "keeping the last epoch (nothing to monitor)")
    stop = f", patience {cfg.early_stopping_patience}" if cfg.early_stopping_patience is not None and monitor else ""
    return (f"fit {type(model).__name__}: {len(train_ds):,} training examples ({n_batches} batches of "
            f"{cfg.batch_size}{ranks}), {val}; {cfg.epochs} epochs on {ctx.device}, {precision}, "
            f"{torch.get_num_threads()} CPU thread(s); {keep}{stop}")


def _probe_n_outputs(model: nn.Module, ds: Dataset, device: torch.device) -> int:
    was_training = model.training
    model.eval()  # no dropout, no BatchNorm update: the probe leaves no trace
    with torch.no_grad():
        out = model(torch.as_tensor(ds[0][0])[None].float().to(device))
    model.train(was_training)
    return out.shape[-1]


def _class_weights(spec, train_ds: Dataset, n_outputs: int) -> np.ndarray | None:
    if spec is None:
        return None
    if isinstance(spec, str):
        if spec != "balanced":
            raise ValueError(f"class_weights must be None, 'balanced' or one weight per class, got {spec!r}")
        return balanced_class_weights(dataset_labels(train_ds), n_outputs)
    w = np.asarray(spec, dtype=np.float32)
    if w.shape != (n_outputs,):
        raise ValueError(f"class_weights has shape {w.shape}, expected ({n_outputs},): one weight per class")
    return w


def _make_optimizer(model: nn.Module, cfg: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    # as in nanoGPT: decay weight matrices and conv kernels, not biases or BatchNorm/LayerNorm scales
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": cfg.weight_decay},
              {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, fused=device.type == "cuda")
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, nesterov=True)
    raise ValueError(f"optimizer must be 'adamw' or 'sgd', got {cfg.optimizer!r}")
