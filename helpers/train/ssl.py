"""Self-supervised pre-training on unlabelled PPG: masked-segment reconstruction.

Labels are the expensive part of a stress study (a protocol, a lab, questionnaires); wrist PPG without labels is
cheap (every hour a wearable is worn). Pre-training teaches the network what PPG looks like from unlabelled
windows, so that fine-tuning on a few labelled ones has less to learn.

The pretext task, in the spirit of masked autoencoders (He et al., 2022) for 1D signals:

    x (B, C, T) ──cut into N segments of P samples (P = the model's samples per token, 1 s at 64 Hz)──
      ──zero a random ~40% of the segments (in spans of a few)──> encoder (the model's stem + Transformer blocks)
      ──> tokens (B, N, d) ──Linear──> (B, N, C * P): every segment's samples, predicted from its context
    loss = mean squared error over the *masked* segments only (predicting visible samples would teach copying)

The **target** is the input itself: the original, un-masked samples ``x`` of each masked segment, in the units the
model receives (windows from :func:`helpers.ppg.stress_windows` are already z-scored per subject). Rebuilding a
missing second of pulse means knowing the heart rate, the pulse shape and how they drift, which is the knowledge
a stress classifier needs. The decoder is one linear layer, thrown away after pre-training, so the encoder must do
the work. ``augment`` (the course's :mod:`helpers.train.augment` functions) is applied to the batch before masking;
the target is then the augmented signal.

    model = create_model("tiny_transformer", in_channels=1, n_outputs=2, input_length=3840)
    history = pretrain(model, X_unlabelled, PretrainConfig(epochs=10))   # model's encoder updated in place
    fit(model, (X_few, y_few), config=TrainConfig(...))                 # then fine-tune as usual

``PretrainConfig(loss=my_loss)`` trains with a reconstruction loss written elsewhere (Assignment 4's student writes
it), called as ``my_loss(pred, target, mask)`` like :func:`masked_reconstruction_loss`.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from helpers.train import set_seed
from helpers.train.batches import as_signal_tensor
from helpers.train.schedule import warmup_cosine


@dataclass
class PretrainConfig:
    """Settings of :func:`pretrain` (defaults: a few CPU minutes on ~1,000 one-minute windows)."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-2
    warmup_frac: float = 0.05
    mask_ratio: float = 0.4  # fraction of segments hidden from the encoder
    span_segments: int = 2  # masked segments come in runs of this many (one 1 s gap is easy to interpolate)
    augment: Callable | None = None  # x (B, C, T) -> x, applied before masking
    seed: int = 0
    num_threads: int | None = None  # torch.set_num_threads for the run, restored afterwards
    time_budget_s: float | None = None  # stop after the epoch that passes this many seconds
    verbose: bool = False  # one line per epoch
    loss: Callable | None = None  # (pred, target, mask) -> scalar; default masked_reconstruction_loss


def segment_mask(batch: int, n_segments: int, mask_ratio: float, span: int = 1, *,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """A random mask of whole segments: ``(batch, n_segments)`` bool, True = masked.

    Segments are masked in runs of ``span``: the sequence is cut into runs and ``round(mask_ratio * runs)`` of them
    (at least one, at most all but one) are drawn per row, so every row has masked and visible segments.
    """
    if not 0 < mask_ratio < 1:
        raise ValueError(f"mask_ratio must be in (0, 1), got {mask_ratio!r}")
    if span < 1:
        raise ValueError(f"span must be >= 1 segment, got {span!r}")
    runs = math.ceil(n_segments / span)
    if runs < 2:
        raise ValueError(f"{n_segments} segment(s) in runs of {span} leave nothing to mask and keep: use longer "
                         f"windows or a smaller span")
    n_masked = min(max(1, round(mask_ratio * runs)), runs - 1)
    order = torch.rand(batch, runs, generator=generator).argsort(dim=1)  # a random permutation per row
    run_mask = torch.zeros(batch, runs, dtype=torch.bool)
    run_mask.scatter_(1, order[:, :n_masked], True)
    return run_mask.repeat_interleave(span, dim=1)[:, :n_segments]  # (B, N)


def masked_segment_target(x: torch.Tensor, segment: int) -> torch.Tensor:
    """The reconstruction target: ``x`` (B, C, T) as segments ``(B, N, C, segment)``, N = T / segment.

    Segment n, channel c holds ``x[:, c, n * segment:(n + 1) * segment]``: the original samples, nothing else.
    """
    B, C, T = x.shape
    if T % segment:
        raise ValueError(f"windows of {T} samples do not split into whole segments of {segment} samples: use a "
                         f"multiple of {segment} (e.g. {T // segment * segment})")
    return x.reshape(B, C, T // segment, segment).transpose(1, 2)  # (B, N, C, P)


def masked_reconstruction_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the masked segments only: a scalar.

    Parameters
    ----------
    pred, target : torch.Tensor, shape (B, N, C, P)
        Predicted and original samples of every segment (N segments of C channels x P samples).
    mask : torch.Tensor, shape (B, N), bool
        True where the segment was hidden from the encoder. Each masked segment's mean squared error counts once;
        visible segments do not count (predicting what the encoder saw would teach copying).
    """
    per_segment = (pred - target).pow(2).mean(dim=(2, 3))  # (B, N)
    return per_segment[mask].mean()


class MaskedSegmentModel(nn.Module):
    """An encoder with a linear decoder that rebuilds masked segments of its input (see the module docstring).

    Parameters
    ----------
    encoder : SignalModel
        A model with ``encode(x) -> (tokens (B, N, d), keep)`` and ``samples_per_token`` (one token per segment),
        e.g. :class:`helpers.models.tiny_transformer.TinyPPGTransformer`. Trained in place.
    mask_ratio, span_segments : float, int
        See :class:`PretrainConfig`.
    loss : callable, optional
        ``(pred, target, mask) -> scalar``; default :func:`masked_reconstruction_loss`.
    """

    def __init__(self, encoder: nn.Module, mask_ratio: float = 0.4, span_segments: int = 2,
                 loss: Callable | None = None):
        super().__init__()
        if not (hasattr(encoder, "encode") and hasattr(encoder, "samples_per_token")):
            raise TypeError(f"{type(encoder).__name__} has no encode()/samples_per_token: masked-segment "
                            "pre-training needs a token model such as tiny_transformer")
        self.encoder = encoder
        self.segment = int(encoder.samples_per_token)
        self.mask_ratio, self.span = mask_ratio, span_segments
        if loss is not None and not callable(loss):
            raise TypeError(f"loss must be a function (pred, target, mask) -> scalar, got {type(loss).__name__}")
        self.loss = masked_reconstruction_loss if loss is None else loss
        d_model = encoder.config.d_model
        self.decoder = nn.Linear(d_model, encoder.in_channels * self.segment)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Loss on ``x`` (B, C, T) with ``mask`` (B, N) bool (True = masked; drawn when None): (loss, mask)."""
        target = masked_segment_target(x, self.segment)  # (B, N, C, P); checks T % P
        B, N, C, P = target.shape
        if mask is None:
            mask = segment_mask(B, N, self.mask_ratio, self.span, generator=generator).to(x.device)
        if mask.shape != (B, N) or mask.dtype != torch.bool:
            raise ValueError(f"mask must be bool (batch, segments) = ({B}, {N}), got {mask.dtype} "
                             f"{tuple(mask.shape)}")
        visible = (~mask).repeat_interleave(P, dim=1)[:, None, :].to(x.dtype)  # (B, 1, T)
        tokens, _ = self.encoder.encode(x * visible)  # (B, N, d): masked segments are zeros in the input
        if tokens.shape[1] != N:
            raise ValueError(f"the encoder gave {tokens.shape[1]} tokens for {N} segments")
        pred = self.decoder(tokens).reshape(B, N, C, P)
        return self.loss(pred, target, mask), mask  # only what the encoder could not see


def pretrain(model: nn.Module, X, config: PretrainConfig | None = None) -> list[float]:
    """Pre-train ``model``'s encoder on unlabelled windows ``X`` (n, C, T) by masked-segment reconstruction.

    Parameters
    ----------
    model : SignalModel with ``encode``
        Updated in place (its classification head is untouched); left in train mode, ready for ``fit``.
    X : array or tensor, shape (n, C, T)
        Unlabelled windows, T a multiple of ``model.samples_per_token``.
    config : PretrainConfig, optional

    Returns
    -------
    list of float
        Mean reconstruction loss of each epoch.
    """
    cfg = config or PretrainConfig()
    if cfg.epochs < 1 or cfg.batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {cfg.epochs} and {cfg.batch_size}")
    X = as_signal_tensor(X, "X")
    set_seed(cfg.seed)
    threads = torch.get_num_threads()
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    try:
        device = next(model.parameters()).device
        ssl = MaskedSegmentModel(model, cfg.mask_ratio, cfg.span_segments, cfg.loss).to(device).train()
        opt = torch.optim.AdamW(ssl.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        steps_per_epoch = math.ceil(len(X) / cfg.batch_size)
        total = cfg.epochs * steps_per_epoch
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine(
            s, total_steps=total, warmup_steps=max(1, int(cfg.warmup_frac * total))))
        g = torch.Generator().manual_seed(cfg.seed)
        history, t0 = [], time.perf_counter()
        for epoch in range(cfg.epochs):
            order, losses = torch.randperm(len(X), generator=g), []
            for i in range(0, len(X), cfg.batch_size):
                x = X[order[i:i + cfg.batch_size]].to(device)
                if cfg.augment is not None:
                    x = cfg.augment(x)
                loss, _ = ssl(x, generator=g)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(ssl.parameters(), 1.0)
                opt.step()
                sched.step()
                losses.append(loss.item())
            history.append(float(np.mean(losses)))
            if cfg.verbose:
                print(f"pretrain epoch {epoch + 1}/{cfg.epochs}: masked MSE {history[-1]:.4f} "
                      f"({time.perf_counter() - t0:.0f} s)")
            if not math.isfinite(history[-1]):
                raise FloatingPointError(f"reconstruction loss became {history[-1]} in epoch {epoch + 1}; lower lr")
            if cfg.time_budget_s is not None and time.perf_counter() - t0 >= cfg.time_budget_s:
                break
    finally:
        torch.set_num_threads(threads)
    return history
