"""The one training loop of the course: ``fit(model, train, val, config) -> History``.

The same call runs on a laptop CPU, on one GPU (mixed precision, pinned memory, optional ``torch.compile``)
and on several GPUs or CPU processes under ``torchrun`` (distributed data-parallel), in the spirit of nanoGPT's
train.py. Read it top to bottom: ``fit`` sets up the run (step 1, ``setup.py``), then for each epoch trains,
validates and keeps the best weights, then finishes; steps 2-5 are one function each below.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DistributedSampler

from . import distributed as D
from .checkpoint import save_checkpoint
from .config import TrainConfig, check_config
from .evaluation import classification_metrics, collect_logits
from .history import History
from .setup import Run, setup


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
    run = setup(model, train, val, cfg, ctx)
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


def _notify(run: Run, event: str, *args) -> None:
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
# 2. One epoch of training
# --------------------------------------------------------------------------------------------------------------
def _train_one_epoch(run: Run, epoch: int) -> dict[str, float]:
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


def _train_step(run: Run, x: torch.Tensor, y: torch.Tensor,
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
def _validate(run: Run) -> dict[str, float]:
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
def _keep_if_best(run: Run, metrics: dict[str, float]) -> bool:
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


def _out_of_patience(run: Run, improved: bool, epoch: int) -> bool:
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
def _finish(run: Run) -> None:
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
# Helpers of the epochs
# --------------------------------------------------------------------------------------------------------------
def _improved(score: float, best: float, mode: str, min_delta: float) -> bool:
    if not math.isfinite(score):
        return False
    if math.isnan(best):
        return True
    return score > best + min_delta if mode == "max" else score < best - min_delta
