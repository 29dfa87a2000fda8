"""What a training run is configured by: :class:`TrainConfig`, its checks, and the settings derived from it."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .progress import PROGRESS_MODES

MONITORS = ("val_roc_auc", "val_loss", "val_accuracy", "val_macro_f1", "train_loss", "auto")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


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
    monitor: str = "auto"  # "auto": val_roc_auc for binary tasks, val_macro_f1 otherwise; or "val_<name>" of metrics
    # Extra validation metrics: {name: fn(y_true (n,) int, proba (n, K) float) -> float}, reported as val_<name>
    # (e.g. the CinC 2017 challenge score); "auto" mode maximises them.
    metrics: Mapping[str, Callable] | None = None
    mode: str = "auto"  # "min" | "max" | "auto" (min for losses)
    min_delta: float = 0.0  # an improvement must exceed this
    restore_best: bool = True  # load the best epoch's weights back into the model at the end
    amp: str = "auto"  # "auto" (bf16 or fp16 on CUDA, off on CPU) | "bf16" | "fp16" | "off"
    # torch.compile the model for training: True (mode "default") or a mode, e.g. "reduce-overhead" (CUDA graphs:
    # the GPU fastest for small models, benchmarks/README.md); compile_options are Inductor settings on top of it,
    # e.g. {"fallback_random": True}
    compile: bool | str = False
    compile_options: Mapping[str, object] | None = None
    time_budget_s: float | None = None  # wall-clock seconds for the epochs (compilation included); None: no limit
    grad_checkpointing: bool = False  # needs model.set_grad_checkpointing
    augment: Callable | None = None  # x (B, C, T) -> x, applied to training batches only
    seed: int = 0
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:1" ...
    num_workers: int | None = None  # DataLoader workers; None: 0 for in-memory arrays, 4 for Datasets on CUDA
    eval_batch_size: int = 256
    checkpoint_dir: str | Path | None = None  # best.pt and history.json are written here (rank 0 only)
    progress: bool | str = True  # True: tqdm bars | "epoch": one plain line per epoch (logs, CI) | False: silent
    # CPU threads for the run (torch.set_num_threads), restored afterwards; None leaves torch's setting. On a
    # shared machine fewer threads can be faster: on 2 busy cores, 1 thread took 0.34 s per batch, 2 took 1.25 s.
    num_threads: int | None = None
    # Objects told about the run (rank 0 only), each method optional: on_fit_start(config, model),
    # on_epoch_end(epoch, metrics) with the 1-based epoch and that epoch's History row, on_fit_end(history).
    # A callback that raises stops training with its error (e.g. an experiment tracker that lost its server).
    callbacks: Sequence[object] = ()


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


def check_config(cfg: TrainConfig) -> None:
    """Refuse an impossible setting before any work starts, naming the field and the value."""
    checks = [(cfg.epochs >= 1, "epochs must be >= 1"), (cfg.batch_size >= 1, "batch_size must be >= 1"),
              (cfg.lr > 0, "lr must be > 0"), (0 <= cfg.label_smoothing < 1, "label_smoothing must be in [0, 1)"),
              (0 <= cfg.warmup_frac < 1, "warmup_frac must be in [0, 1)"),
              (cfg.grad_clip is None or cfg.grad_clip > 0, "grad_clip must be > 0 or None"),
              (cfg.loss_fn is None or callable(cfg.loss_fn), "loss_fn must be callable"),
              (cfg.augment is None or callable(cfg.augment), "augment must be callable"),
              (cfg.num_threads is None or (isinstance(cfg.num_threads, int) and cfg.num_threads >= 1),
               f"num_threads must be None or an integer >= 1, got {cfg.num_threads!r}"),
              (cfg.compile in (True, False) or cfg.compile in COMPILE_MODES,
               f"compile must be True, False or one of {COMPILE_MODES}, got {cfg.compile!r}"),
              (cfg.time_budget_s is None or cfg.time_budget_s > 0,
               f"time_budget_s must be None or > 0 seconds, got {cfg.time_budget_s!r}"),
              (cfg.metrics is None or (isinstance(cfg.metrics, Mapping) and all(
                  isinstance(k, str) and callable(f) for k, f in cfg.metrics.items())),
               f"metrics must map names to functions fn(y_true, proba) -> float, got {cfg.metrics!r}"),
              (isinstance(cfg.callbacks, (list, tuple)),
               (f"callbacks must be a list or tuple of callback objects, got {type(cfg.callbacks).__name__}; "
                "wrap a single one: callbacks=[cb]")),
              (any(cfg.progress is m or (isinstance(m, str) and cfg.progress == m) for m in PROGRESS_MODES),
               f"progress must be True (tqdm bars), 'epoch' (one line per epoch) or False, got {cfg.progress!r}")]
    for ok, message in checks:
        if not ok:
            raise ValueError(f"TrainConfig: {message}")


def resolve_monitor(cfg: TrainConfig, n_outputs: int, has_val: bool) -> tuple[str | None, str]:
    """The metric that chooses the kept weights, and whether higher is better: ``("val_roc_auc", "max")``.

    ``monitor="auto"`` becomes val_roc_auc for binary tasks and val_macro_f1 otherwise, or None without
    validation data (then the last epoch is kept).
    """
    allowed = MONITORS + tuple(f"val_{name}" for name in (cfg.metrics or {}))
    if cfg.monitor not in allowed:
        raise ValueError(f"monitor must be one of {allowed}, got {cfg.monitor!r}")
    monitor = cfg.monitor
    if monitor == "auto":
        monitor = None if not has_val else "val_roc_auc" if n_outputs == 2 else "val_macro_f1"
    elif monitor.startswith("val_") and not has_val:
        raise ValueError(f"monitor={monitor!r} needs validation data: pass val=(X_val, y_val)")
    if monitor == "val_roc_auc" and n_outputs != 2:
        raise ValueError(f"val_roc_auc is defined for binary tasks; this model has {n_outputs} outputs")
    if cfg.mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {cfg.mode!r}")
    mode = cfg.mode if cfg.mode != "auto" else ("min" if monitor and monitor.endswith("loss") else "max")
    return monitor, mode
