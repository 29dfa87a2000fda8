"""Learning-rate schedule: linear warm-up, then cosine decay, evaluated per optimizer step."""

from __future__ import annotations

import math

import torch


def warmup_cosine(step: int, *, total_steps: int, warmup_steps: int, min_lr_ratio: float = 0.0,
                  schedule: str = "cosine") -> float:
    """Learning-rate multiplier at optimizer step ``step`` (0-based).

    Warm-up rises linearly, ``(step + 1) / warmup_steps``, so the first step already moves the weights; the
    cosine part then falls from 1 to ``min_lr_ratio`` at ``total_steps``:
    ``min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + cos(pi * progress))`` with
    ``progress = (step - warmup_steps) / (total_steps - warmup_steps)``.

    Parameters
    ----------
    step : int
    total_steps, warmup_steps : int
    min_lr_ratio : float
        Final learning rate as a fraction of the peak.
    schedule : {"cosine", "constant"}
        ``"constant"`` keeps the peak after warm-up.

    Returns
    -------
    float
        Multiplier in [min_lr_ratio, 1] applied to the base learning rate.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    if schedule != "cosine":
        raise ValueError(f"schedule must be 'cosine' or 'constant', got {schedule!r}")
    progress = min((step - warmup_steps) / max(total_steps - warmup_steps, 1), 1.0)
    return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def make_scheduler(optimizer: torch.optim.Optimizer, *, total_steps: int, warmup_steps: int,
                   min_lr_ratio: float = 0.0, schedule: str = "cosine") -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` that follows :func:`warmup_cosine`; call ``.step()`` after every optimizer step."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: warmup_cosine(s, total_steps=total_steps, warmup_steps=warmup_steps,
                                           min_lr_ratio=min_lr_ratio, schedule=schedule))
