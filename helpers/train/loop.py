"""The one training loop of the course: ``fit(model, train, val, config) -> History``.

The same call runs on a laptop CPU, on one GPU (mixed precision, pinned memory, optional ``torch.compile``)
and on several GPUs or CPU processes under ``torchrun`` (distributed data-parallel), in the spirit of nanoGPT's
train.py.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset, DistributedSampler
from tqdm.auto import tqdm, trange

from . import distributed as D
from .checkpoint import save_checkpoint
from .batches import ArrayPairs, as_dataset, dataset_labels, eval_indices, make_loader, train_sampler
from .evaluation import classification_metrics, collect_logits
from .history import History
from .losses import balanced_class_weights, make_loss
from .schedule import make_scheduler

MONITORS = ("val_roc_auc", "val_loss", "val_accuracy", "val_macro_f1", "train_loss", "auto")


@dataclass
class TrainConfig:
    """Everything :func:`fit` needs besides the model and the data (defaults suit a small CNN on a CPU)."""

    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3  # peak learning rate, reached at the end of warm-up
    weight_decay: float = 1e-2  # AdamW; not applied to biases and normalisation weights
    optimizer: str = "adamw"  # "adamw" | "sgd" (Nesterov momentum 0.9)
    warmup_epochs: float | None = None  # takes precedence over warmup_frac when given
    warmup_frac: float = 0.05  # fraction of all optimizer steps spent warming up
    schedule: str = "cosine"  # "cosine" | "constant" (after warm-up)
    min_lr_ratio: float = 0.0  # final lr / peak lr
    grad_clip: float | None = 1.0  # max global L2 norm of the gradients; None disables
    loss: str = "ce"  # "ce" | "focal"
    focal_gamma: float = 2.0
    label_smoothing: float = 0.0
    class_weights: str | Sequence[float] | None = None  # None | "balanced" | one weight per class
    loss_fn: Callable | None = None  # hook (e.g. distillation): loss_fn(logits, y, x) -> scalar replaces `loss`
    early_stopping_patience: int | None = None  # epochs without improvement before stopping; None: never stop
    monitor: str = "auto"  # "auto": val_roc_auc for binary tasks, val_macro_f1 otherwise
    mode: str = "auto"  # "min" | "max" | "auto" (min for losses)
    min_delta: float = 0.0  # an improvement must exceed this
    restore_best: bool = True  # load the best epoch's weights back into the model at the end
    amp: str = "auto"  # "auto" (bf16 or fp16 on CUDA, off on CPU) | "bf16" | "fp16" | "off"
    compile: bool = False  # torch.compile the model for training
    grad_checkpointing: bool = False  # needs model.set_grad_checkpointing
    augment: Callable | None = None  # x (B, C, T) -> x, applied to training batches only
    seed: int = 0
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:1" ...
    num_workers: int | None = None  # DataLoader workers; None: 0 for in-memory arrays, 4 for Datasets on CUDA
    eval_batch_size: int = 256
    checkpoint_dir: str | Path | None = None  # best.pt and history.json are written here (rank 0 only)
    progress: bool = True  # tqdm bars (notebook widgets in Jupyter)


def set_seed(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch (all devices); call it before building the model.

    Parameters
    ----------
    seed : int
    deterministic : bool
        Also ask cuDNN / torch for deterministic kernels (slower on GPU; CPU runs are deterministic anyway).
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        torch.use_deterministic_algorithms(True, warn_only=True)


def resolve_amp(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``amp`` on ``device``, or None for full float32."""
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return None
    if amp == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if amp == "bf16":
        return torch.bfloat16
    if amp == "fp16":
        if device.type != "cuda":
            raise ValueError("amp='fp16' needs a CUDA device; on CPU use amp='bf16' or 'off'")
        return torch.float16
    raise ValueError(f"amp must be 'auto', 'bf16', 'fp16' or 'off', got {amp!r}")


def fit(model: nn.Module, train, val=None, config: TrainConfig | None = None) -> History:
    """Train ``model`` with mini-batch AdamW, warm-up + cosine learning rate and early stopping.

    Parameters
    ----------
    model : nn.Module
        Maps ``(B, C, T)`` float32 to logits ``(B, n_classes)``; moved to the training device in place.
    train, val : (X, y) pair or torch Dataset
        ``X`` array/tensor ``(n, C, T)`` float, ``y`` int class indices ``(n,)``; a Dataset yields ``(x, y)``.
    config : TrainConfig, optional

    Returns
    -------
    History
        Per-epoch metrics; the model ends in eval mode holding the best epoch's weights (``restore_best``).

    Notes
    -----
    Under ``torchrun`` (``WORLD_SIZE > 1``) each process trains on its shard (DistributedSampler) of a
    DDP-wrapped model; validation predictions of all ranks are gathered, so metrics are computed on the whole
    validation set, and only rank 0 prints and writes files.

    ``fit`` seeds torch's global RNG with ``config.seed`` (+ rank) for dropout; the initial weights come from
    the RNG state when the model was built, so call :func:`set_seed` before building it for a repeatable run.
    """
    cfg = config or TrainConfig()
    _check_config(cfg)
    ctx = D.setup(cfg.device)
    try:
        return _fit(model, train, val, cfg, ctx)
    finally:
        D.cleanup(ctx)


def _fit(model: nn.Module, train, val, cfg: TrainConfig, ctx: D.DistContext) -> History:
    device = ctx.device
    torch.manual_seed(cfg.seed + ctx.rank)  # dropout masks: reproducible, and different on each rank
    amp_dtype = resolve_amp(cfg.amp, device)
    model.to(device)
    n_classes = getattr(model, "n_outputs", None)
    train_ds = as_dataset(train, n_classes, "train")
    if len(train_ds) == 0:
        raise ValueError("the training set is empty")
    n_classes = n_classes or _probe_n_outputs(model, train_ds, device)
    val_ds = None if val is None else as_dataset(val, n_classes, "val")
    monitor, mode = _resolve_monitor(cfg, n_classes, has_val=val_ds is not None)

    criterion = make_loss(cfg.loss, class_weights=_class_weights(cfg.class_weights, train_ds, n_classes),
                          focal_gamma=cfg.focal_gamma, label_smoothing=cfg.label_smoothing).to(device)
    if cfg.grad_checkpointing:
        if not hasattr(model, "set_grad_checkpointing"):
            raise ValueError(f"grad_checkpointing=True but {type(model).__name__} has no set_grad_checkpointing()")
        model.set_grad_checkpointing(True)

    net = model
    if ctx.enabled:
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if cfg.compile:
        net = torch.compile(net)

    on_cpu_data = not (isinstance(train_ds, ArrayPairs) and train_ds.X.is_cuda)
    workers = cfg.num_workers if cfg.num_workers is not None else \
        (4 if device.type == "cuda" and not isinstance(train_ds, ArrayPairs) else 0)
    pin = device.type == "cuda" and on_cpu_data  # page-locked host memory makes host->GPU copies async
    sampler = train_sampler(train_ds, seed=cfg.seed, rank=ctx.rank, world_size=ctx.world_size)
    train_loader = make_loader(train_ds, batch_size=cfg.batch_size, sampler=sampler, num_workers=workers,
                               pin_memory=pin)
    val_loader = None if val_ds is None else make_loader(
        val_ds, batch_size=cfg.eval_batch_size, sampler=eval_indices(len(val_ds), rank=ctx.rank,
                                                                     world_size=ctx.world_size))

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
    best_state, bad_epochs = None, 0
    show = cfg.progress and ctx.is_main
    for epoch in (bar := trange(cfg.epochs, desc="epochs", unit="epoch", disable=not show)):
        t0 = time.perf_counter()
        if isinstance(sampler, DistributedSampler):
            sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
        net.train()
        totals, count = torch.zeros(2, dtype=torch.float64, device=device), 0  # loss sum, correct; examples
        for x, y in tqdm(train_loader, desc=f"epoch {epoch + 1}", leave=False, disable=not show):
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            if cfg.augment is not None:
                with torch.no_grad():
                    x = cfg.augment(x)
            with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                logits = net(x)
            logits = logits.float()  # losses and softmax in float32, whatever autocast chose
            if logits.ndim != 2 or logits.shape[1] != n_classes:
                raise ValueError(f"model returned logits of shape {tuple(logits.shape)}, expected "
                                 f"(batch, {n_classes}); binary tasks use n_outputs=2 with cross-entropy")
            loss = criterion(logits, y) if cfg.loss_fn is None else cfg.loss_fn(logits, y, x)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if cfg.grad_clip:
                scaler.unscale_(optimizer)  # clip the true gradients, not the fp16-scaled ones
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            history.step_lr.append(scheduler.get_last_lr()[0])
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            # accumulate on the device: calling .item() every step would stall the GPU pipeline
            totals += torch.stack([loss.detach() * len(y), (logits.argmax(1) == y).sum()]).double()
            count += len(y)
        loss_sum, correct, count = D.all_reduce_sum([*totals.tolist(), count], ctx)
        if not math.isfinite(loss_sum):
            raise FloatingPointError(f"training loss became {loss_sum / count} in epoch {epoch + 1}; "
                                     "lower the learning rate or check the inputs for extreme values")
        metrics = {"epoch": epoch + 1, "train_loss": loss_sum / count, "train_accuracy": correct / count}
        if val_loader is not None:
            D.broadcast_state(model, ctx, buffers_only=True)  # every rank validates the same model
            logits, targets = collect_logits(model, val_loader, device)
            logits, targets = D.all_gather_cat(logits, ctx), D.all_gather_cat(targets, ctx)
            metrics.update({f"val_{k}": v for k, v in classification_metrics(logits, targets, n_classes).items()})
        metrics.update(lr=history.step_lr[-1], time_s=time.perf_counter() - t0)
        metrics = D.broadcast_object(metrics, ctx)  # identical early-stopping decisions on every rank
        history.append(**metrics)
        bar.set_postfix({k: f"{v:.3f}" for k, v in metrics.items() if k in ("train_loss", "val_loss", monitor)})

        if monitor is None:
            continue
        score = metrics[monitor]
        if _improved(score, history.best_score, mode, cfg.min_delta):
            history.best_score, history.best_epoch, bad_epochs = score, epoch + 1, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if cfg.checkpoint_dir is not None and ctx.is_main:
                save_checkpoint(Path(cfg.checkpoint_dir) / "best.pt", model, cfg, epoch=epoch + 1,
                                score=score, monitor=monitor)
        else:
            bad_epochs += 1
            if cfg.early_stopping_patience is not None and bad_epochs >= cfg.early_stopping_patience:
                # Patience running out on the last epoch stops nothing: every planned epoch has run.
                history.stopped_early = epoch + 1 < cfg.epochs
                break

    if best_state is not None and cfg.restore_best:
        model.load_state_dict(best_state)
    D.broadcast_state(model, ctx)  # every rank ends with rank 0's exact weights and BatchNorm statistics
    if monitor is None:  # nothing to choose by: the last epoch is "the best"
        history.best_epoch = len(history["epoch"])
        if cfg.checkpoint_dir is not None and ctx.is_main:
            save_checkpoint(Path(cfg.checkpoint_dir) / "best.pt", model, cfg, epoch=history.best_epoch)
    if ctx.is_main and cfg.checkpoint_dir is not None:
        history.to_json(Path(cfg.checkpoint_dir) / "history.json")
    if show:
        tqdm.write(repr(history))
    model.eval()
    return history


def _check_config(cfg: TrainConfig) -> None:
    checks = [(cfg.epochs >= 1, "epochs must be >= 1"), (cfg.batch_size >= 1, "batch_size must be >= 1"),
              (cfg.lr > 0, "lr must be > 0"), (0 <= cfg.label_smoothing < 1, "label_smoothing must be in [0, 1)"),
              (0 <= cfg.warmup_frac < 1, "warmup_frac must be in [0, 1)"),
              (cfg.grad_clip is None or cfg.grad_clip > 0, "grad_clip must be > 0 or None"),
              (cfg.loss_fn is None or callable(cfg.loss_fn), "loss_fn must be callable"),
              (cfg.augment is None or callable(cfg.augment), "augment must be callable")]
    for ok, message in checks:
        if not ok:
            raise ValueError(f"TrainConfig: {message}")


def _probe_n_outputs(model: nn.Module, ds: Dataset, device: torch.device) -> int:
    was_training = model.training
    model.eval()  # no dropout, no BatchNorm update: the probe leaves no trace
    with torch.no_grad():
        out = model(torch.as_tensor(ds[0][0])[None].float().to(device))
    model.train(was_training)
    return out.shape[-1]


def _class_weights(spec, train_ds: Dataset, n_classes: int) -> np.ndarray | None:
    if spec is None:
        return None
    if isinstance(spec, str):
        if spec != "balanced":
            raise ValueError(f"class_weights must be None, 'balanced' or one weight per class, got {spec!r}")
        return balanced_class_weights(dataset_labels(train_ds), n_classes)
    w = np.asarray(spec, dtype=np.float32)
    if w.shape != (n_classes,):
        raise ValueError(f"class_weights has shape {w.shape}, expected ({n_classes},): one weight per class")
    return w


def _resolve_monitor(cfg: TrainConfig, n_classes: int, has_val: bool) -> tuple[str | None, str]:
    if cfg.monitor not in MONITORS:
        raise ValueError(f"monitor must be one of {MONITORS}, got {cfg.monitor!r}")
    monitor = cfg.monitor
    if monitor == "auto":
        monitor = None if not has_val else "val_roc_auc" if n_classes == 2 else "val_macro_f1"
    elif monitor.startswith("val_") and not has_val:
        raise ValueError(f"monitor={monitor!r} needs validation data: pass val=(X_val, y_val)")
    if monitor == "val_roc_auc" and n_classes != 2:
        raise ValueError(f"val_roc_auc is defined for binary tasks; this model has {n_classes} outputs")
    if cfg.mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {cfg.mode!r}")
    mode = cfg.mode if cfg.mode != "auto" else ("min" if monitor and monitor.endswith("loss") else "max")
    return monitor, mode


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
