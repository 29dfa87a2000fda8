"""The one training loop of the course: ``fit(model, train, val, config) -> History``.

The same call runs on a laptop CPU, on one GPU (mixed precision, pinned memory, optional ``torch.compile``)
and on several GPUs or CPU processes under ``torchrun`` (distributed data-parallel), in the spirit of nanoGPT's
train.py. Read it top to bottom: ``fit`` sets up the run, then for each epoch trains, validates and keeps the
best weights, then finishes; each step is one function below.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from . import distributed as D
from .batches import (
    ArrayPairs,
    as_dataset,
    dataset_labels,
    eval_indices,
    make_loader,
    train_sampler,
)
from .checkpoint import save_checkpoint
from .config import TrainConfig, check_config, resolve_amp, resolve_monitor
from .evaluation import classification_metrics, collect_logits
from .history import History
from .losses import balanced_class_weights, make_loss
from .progress import Progress
from .records import Records
from .schedule import make_scheduler


def fit(model: nn.Module, train, val=None, config: TrainConfig | None = None) -> History:
    """Train ``model`` with mini-batch AdamW, warm-up + cosine learning rate and early stopping.

    Parameters
    ----------
    model : nn.Module
        Maps ``(B, C, T)`` float32 to logits ``(B, n_outputs)``; moved to the training device in place.
    train, val : (X, y) pair, Records, or torch Dataset
        ``X`` array/tensor ``(n, C, T)`` float, ``y`` int class indices ``(n,)``; a Dataset yields ``(x, y)``.
        :class:`Records` holds variable-length records: batches bucketed by length, random crops for training,
        and a padding mask handed to the model as ``model(x, padding_mask=mask)``.
    config : TrainConfig, optional

    Returns
    -------
    History
        Per-epoch metrics; the model ends in eval mode holding the best epoch's weights (``restore_best``).

    Notes
    -----
    ``config.time_budget_s`` stops training once that many seconds have passed (checked after every step on one
    process, after every epoch under DDP); the epoch in progress is validated first. ``config.metrics`` adds
    ``val_<name>`` columns that ``config.monitor`` can choose. Every epoch's row holds ``train_seq_s``, the
    training examples per second of that epoch (validation excluded; the first epoch includes compilation).

    Under ``torchrun`` (``WORLD_SIZE > 1``) each process trains on its shard (DistributedSampler) of a
    DDP-wrapped model; validation predictions of all ranks are gathered, so metrics are computed on the whole
    validation set, and only rank 0 prints and writes files.

    ``fit`` seeds torch's global RNG with ``config.seed`` (+ rank) for dropout; the initial weights come from
    the RNG state when the model was built, so call :func:`set_seed` before building it for a repeatable run.
    """
    cfg = config or TrainConfig()
    check_config(cfg)
    ctx = D.setup(cfg.device)
    try:
        with _num_threads(cfg.num_threads):
            return _fit(model, train, val, cfg, ctx)
    finally:
        D.cleanup(ctx)


def _fit(model: nn.Module, train, val, cfg: TrainConfig, ctx: D.DistContext) -> History:
    run = _setup(model, train, val, cfg, ctx)
    try:
        _notify(run, "on_fit_start", cfg, model)
        run.deadline = None if cfg.time_budget_s is None else time.perf_counter() + cfg.time_budget_s
        for epoch in range(cfg.epochs):
            t0 = time.perf_counter()
            metrics = {"epoch": epoch + 1, **_train_one_epoch(run, epoch)}
            metrics["train_seq_s"] = metrics.pop("train_examples") / (time.perf_counter() - t0)
            if run.val_loader is not None:
                metrics.update(_validate(run))
            metrics.update(lr=run.history.step_lr[-1], time_s=time.perf_counter() - t0)
            out_of_time = run.deadline is not None and time.perf_counter() >= run.deadline
            metrics, out_of_time = D.broadcast_object((metrics, out_of_time), ctx)  # same decisions on every rank
            run.history.append(**metrics)
            improved = _keep_if_best(run, metrics)
            run.progress.epoch_done(metrics, improved)
            _notify(run, "on_epoch_end", int(metrics["epoch"]), dict(metrics))
            if _out_of_patience(run, improved, epoch):
                break
            if out_of_time:
                run.history.out_of_time = epoch + 1 < cfg.epochs
                break
        _finish(run)
        _notify(run, "on_fit_end", run.history)
    finally:
        run.progress.close()
        # Let go of the DDP wrapper before fit's cleanup destroys the process group. An exception's traceback keeps
        # this frame alive; a DDP reducer freed only after the other ranks have exited waits for them forever (seen
        # when a callback failed on rank 0: rank 1 hung at exit).
        run.net = None
    return run.history


def _notify(run: _Run, event: str, *args) -> None:
    """Call ``event`` on every callback that has it, on rank 0 only; an error there stops every rank.

    Under DDP the other ranks learn of rank 0's error through one broadcast: raising on rank 0 alone would leave
    them waiting in the next collective forever.
    """
    error = None
    if run.ctx.is_main:
        try:
            for callback in run.cfg.callbacks:
                method = getattr(callback, event, None)
                if method is not None:
                    method(*args)
        except Exception as err:  # noqa: BLE001 - re-raised below, on rank 0 as itself
            error = err
    message = D.broadcast_object(None if error is None else f"{type(error).__name__}: {error}", run.ctx)
    if error is not None:
        raise error
    if message is not None:
        raise RuntimeError(f"a callback on rank 0 failed in {event}: {message}")


@dataclass
class _Run:
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


@contextmanager
def _num_threads(n: int | None) -> Iterator[None]:
    """torch's CPU threads set to ``n`` for the run and restored afterwards (None: leave them alone)."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------------------------------------------
# 1. Setup: data, loss, model wrapping, optimizer, schedule
# --------------------------------------------------------------------------------------------------------------
def _setup(model: nn.Module, train, val, cfg: TrainConfig, ctx: D.DistContext) -> _Run:
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
    return _Run(cfg, ctx, model, net, n_outputs, amp_dtype, criterion, sampler, train_loader, val_loader, optimizer,
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


# --------------------------------------------------------------------------------------------------------------
# 2. One epoch of training
# --------------------------------------------------------------------------------------------------------------
def _train_one_epoch(run: _Run, epoch: int) -> dict[str, float]:
    """Train on every batch once: the epoch's ``train_loss``, ``train_accuracy`` and ``train_examples`` (all ranks).

    Stops after the step that runs past ``run.deadline`` when training on one process (under DDP every rank must
    take the same number of steps, so the budget is checked between epochs there).
    """
    if isinstance(run.sampler, DistributedSampler) or hasattr(run.sampler, "set_epoch"):
        run.sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
    run.net.train()
    totals, count = torch.zeros(2, dtype=torch.float64, device=run.device), 0  # loss sum, correct; examples
    for batch in run.progress.batches(run.train_loader, epoch):
        x, y, mask = to_device(batch, run.device)
        loss, logits = _train_step(run, x, y, mask)
        # accumulate on the device: calling .item() every step would stall the GPU pipeline
        totals += torch.stack([loss.detach() * len(y), (logits.argmax(1) == y).sum()]).double()
        count += len(y)
        if run.deadline is not None and not run.ctx.enabled and time.perf_counter() >= run.deadline:
            break
    loss_sum, correct, count = D.all_reduce_sum([*totals.tolist(), count], run.ctx)
    if not math.isfinite(loss_sum):
        raise FloatingPointError(f"training loss became {loss_sum / count} in epoch {epoch + 1}; "
                                 "lower the learning rate or check the inputs for extreme values")
    return {"train_loss": loss_sum / count, "train_accuracy": correct / count, "train_examples": count}


def to_device(batch, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """A loader's batch, ``(x, y)`` or ``(x, y, padding_mask)``, on ``device``: ``(x, y, mask or None)``."""
    if len(batch) == 2:
        (x, y), mask = batch, None
    elif len(batch) == 3:
        x, y, mask = batch
    else:
        raise ValueError(f"a batch must be (x, y) or (x, y, padding_mask), got {len(batch)} items")
    x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    return x, y, None if mask is None else mask.to(device, non_blocking=True)


def _train_step(run: _Run, x: torch.Tensor, y: torch.Tensor,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step on ``x`` (B, C, T), ``y`` (B,), ``mask`` (B, T) True at padding or None.

    Returns the loss and the logits (B, K).
    """
    cfg = run.cfg
    if cfg.augment is not None:
        with torch.no_grad():
            x = cfg.augment(x)
    if run.compiled:
        # CUDA graphs (compile="reduce-overhead") reuse their output buffers: a new step begins here, so the
        # previous step's logits, already consumed, may be overwritten. A no-op without CUDA graphs.
        torch.compiler.cudagraph_mark_step_begin()
    with torch.autocast(run.device.type, dtype=run.amp_dtype or torch.float32, enabled=run.amp_dtype is not None):
        logits = run.net(x) if mask is None else run.net(x, padding_mask=mask)
    logits = logits.float()  # losses and softmax in float32, whatever autocast chose
    if logits.ndim != 2 or logits.shape[1] != run.n_outputs:
        raise ValueError(f"model returned logits of shape {tuple(logits.shape)}, expected "
                         f"(batch, {run.n_outputs}); binary tasks use n_outputs=2 with cross-entropy")
    loss = run.criterion(logits, y) if cfg.loss_fn is None else cfg.loss_fn(logits, y, x)
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    if cfg.grad_clip:
        run.scaler.unscale_(run.optimizer)  # clip the true gradients, not the fp16-scaled ones
        nn.utils.clip_grad_norm_(run.model.parameters(), cfg.grad_clip)
    run.history.step_lr.append(run.scheduler.get_last_lr()[0])
    run.scaler.step(run.optimizer)
    run.scaler.update()
    run.scheduler.step()
    return loss, logits


# --------------------------------------------------------------------------------------------------------------
# 3. Validation
# --------------------------------------------------------------------------------------------------------------
def _validate(run: _Run) -> dict[str, float]:
    """``val_loss``, ``val_accuracy``, ``val_macro_f1`` (and ``val_roc_auc``) on the whole validation set."""
    D.broadcast_state(run.model, run.ctx, buffers_only=True)  # every rank validates the same model
    logits, targets = collect_logits(run.model, run.val_loader, run.device)
    logits, targets = D.all_gather_cat(logits, run.ctx), D.all_gather_cat(targets, run.ctx)
    out = classification_metrics(logits, targets, run.n_outputs)
    if run.cfg.metrics:
        y, proba = targets.cpu().numpy(), logits.float().softmax(1).cpu().numpy()
        for name, fn in run.cfg.metrics.items():
            out[name] = float(fn(y, proba))
    return {f"val_{k}": v for k, v in out.items()}


# --------------------------------------------------------------------------------------------------------------
# 4. Early-stopping bookkeeping
# --------------------------------------------------------------------------------------------------------------
def _keep_if_best(run: _Run, metrics: dict[str, float]) -> bool:
    """Copy the weights (and save best.pt) when the monitored metric improved; True if it did."""
    if run.monitor is None:
        return False
    score = metrics[run.monitor]
    if not _improved(score, run.history.best_score, run.mode, run.cfg.min_delta):
        run.bad_epochs += 1
        return False
    run.history.best_score, run.history.best_epoch, run.bad_epochs = score, int(metrics["epoch"]), 0
    run.best_state = {k: v.detach().clone() for k, v in run.model.state_dict().items()}
    if run.cfg.checkpoint_dir is not None and run.ctx.is_main:
        save_checkpoint(Path(run.cfg.checkpoint_dir) / "best.pt", run.model, run.cfg, epoch=int(metrics["epoch"]),
                        score=score, monitor=run.monitor)
    return True


def _out_of_patience(run: _Run, improved: bool, epoch: int) -> bool:
    """True when ``early_stopping_patience`` epochs have passed without improvement (sets ``stopped_early``)."""
    patience = run.cfg.early_stopping_patience
    if run.monitor is None or improved or patience is None or run.bad_epochs < patience:
        return False
    # Patience running out on the last epoch stops nothing: every planned epoch has run.
    run.history.stopped_early = epoch + 1 < run.cfg.epochs
    return True


# --------------------------------------------------------------------------------------------------------------
# 5. Finish: the kept weights on every rank, files, summary
# --------------------------------------------------------------------------------------------------------------
def _finish(run: _Run) -> None:
    cfg, ctx, model, history = run.cfg, run.ctx, run.model, run.history
    if run.best_state is not None and cfg.restore_best:
        model.load_state_dict(run.best_state)
    D.broadcast_state(model, ctx)  # every rank ends with rank 0's exact weights and BatchNorm statistics
    if run.monitor is None:  # nothing to choose by: the last epoch is "the best"
        history.best_epoch = len(history["epoch"])
        if cfg.checkpoint_dir is not None and ctx.is_main:
            save_checkpoint(Path(cfg.checkpoint_dir) / "best.pt", model, cfg, epoch=history.best_epoch)
    if ctx.is_main and cfg.checkpoint_dir is not None:
        history.to_json(Path(cfg.checkpoint_dir) / "history.json")
    run.progress.close(repr(history))
    model.eval()


# --------------------------------------------------------------------------------------------------------------
# Helpers of the setup
# --------------------------------------------------------------------------------------------------------------
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


def _improved(score: float, best: float, mode: str, min_delta: float) -> bool:
    if not math.isfinite(score):
        return False
    if math.isnan(best):
        return True
    return score > best + min_delta if mode == "max" else score < best - min_delta


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
