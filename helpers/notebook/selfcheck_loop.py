"""Self-check for lesson 02b's training loop by hand: judged by behaviour on a probe problem of its own.

:func:`check_training_loop` runs the student's loop on a probe model (Conv1d, BatchNorm, Dropout) that records, at
every forward pass, which split the batch came from, ``model.training`` and ``torch.is_grad_enabled()``; the test
split is a dataset that records any access; every parameter records whether a gradient was added to a stale one (no
``zero_grad``); and from the fourth epoch the training labels turn noisy, as overfitting would, so the best epoch is
not the last and a loop that keeps the last weights (or an uncopied ``state_dict()``) is caught. Like every
self-check (:mod:`helpers.notebook.selfcheck`) it says "not attempted yet" while the answer is ``None``, names each
requirement it measured, never reveals the answer and never raises.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from helpers.notebook.selfcheck import (
    FAILED,
    Verdict,
    _not_attempted,
    _requirements_verdict,
    _unanswered,
)

__all__ = ["check_training_loop"]

TRAIN, VAL, TEST = 0, 1, 2  # the split code the probe data carry in their second channel
_NAMES = {TRAIN: "train", VAL: "val", TEST: "test"}
CLEAN_EPOCHS = 3  # the probe's training labels turn noisy after this many epochs


# ---------------------------------------------------------------------------------------------------------------
# A training loop by hand
# ---------------------------------------------------------------------------------------------------------------
class _ProbeNet(nn.Module):
    """A small CNN with BatchNorm and Dropout (so train and eval modes differ) that logs every forward pass."""

    def __init__(self, on_forward: Callable[[nn.Module, torch.Tensor], None]):
        super().__init__()
        self.conv, self.bn = nn.Conv1d(2, 8, 5, padding=2), nn.BatchNorm1d(8)
        self.drop, self.head = nn.Dropout(0.2), nn.Linear(8, 2)
        self._on_forward = on_forward

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x (B, 2, T): channel 0 signal, channel 1 the split code
        self._on_forward(self, x)
        z = torch.relu(self.bn(self.conv(x))).mean(dim=-1)  # (B, 8)
        return self.head(self.drop(z))


class _ProbeSet(torch.utils.data.Dataset):
    """(x, y) pairs of one split; counts how often it is touched; training labels flip once ``noisy`` is set."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        self.x, self.y, self.touched, self.noisy = x, y, 0, False

    def __len__(self) -> int:
        self.touched += 1
        return len(self.y)

    def __getitem__(self, i):
        self.touched += 1
        y = self.y[i]
        return self.x[i], (1 - y) if self.noisy else y


def _probe_split(code: int, n: int, gen: torch.Generator, T: int = 32) -> _ProbeSet:
    """Class 0: one slow cycle per window; class 1: four fast cycles, raised by 1; random phase and noise."""
    y = torch.randint(0, 2, (n,), generator=gen)
    t = torch.arange(T) / T
    phase = 2 * math.pi * torch.rand(n, 1, generator=gen)
    cycles = torch.where(y[:, None] == 1, 4.0, 1.0)
    sig = torch.sin(2 * math.pi * cycles * t + phase) + y[:, None] + 0.5 * torch.randn(n, T, generator=gen)
    x = torch.stack([sig, torch.full((n, T), float(code))], dim=1)  # (n, 2, T)
    return _ProbeSet(x.float(), y)


class _LoopProbe:
    """Everything the training-loop check watches while the student's loop runs."""

    def __init__(self, seed: int = 0):
        gen = torch.Generator().manual_seed(seed)
        self.sets = {TRAIN: _probe_split(TRAIN, 128, gen), VAL: _probe_split(VAL, 64, gen),
                     TEST: _probe_split(TEST, 64, gen)}
        torch.manual_seed(seed)
        self.model = _ProbeNet(self._seen)
        self.initial = copy.deepcopy(self.model.state_dict())
        self.passes: list[tuple[int, bool, bool, int]] = []  # (split, training, grad enabled, batch size)
        self.snapshots: list[dict[str, torch.Tensor]] = []  # weights at the start of each validation sweep
        self.stale_grads, self._fresh = 0, {}
        for p in self.model.parameters():
            p.register_hook(lambda g, p=p: self._fresh.__setitem__(id(p), g.detach().clone()))
            p.register_post_accumulate_grad_hook(self._accumulated)

    def _accumulated(self, p: torch.Tensor) -> None:
        fresh = self._fresh.pop(id(p), None)
        if fresh is not None and not torch.equal(p.grad, fresh):
            self.stale_grads += 1  # the new gradient was added to an old one: zero_grad was not called

    def _seen(self, model: nn.Module, x: torch.Tensor) -> None:
        codes = torch.unique(x[:, 1, 0].detach().round().long()).tolist()
        split = codes[0] if len(codes) == 1 else -1
        if split == VAL and (not self.passes or self.passes[-1][0] != VAL):
            self.snapshots.append({k: v.detach().clone() for k, v in model.state_dict().items()})
            self.sets[TRAIN].noisy = len(self.snapshots) >= CLEAN_EPOCHS
        self.passes.append((split, model.training, torch.is_grad_enabled(), len(x)))

    @torch.no_grad()
    def val_loss(self, state: dict[str, torch.Tensor]) -> float:
        net = _ProbeNet(lambda *_: None)
        net.load_state_dict(state)
        net.eval()
        v = self.sets[VAL]
        return float(F.cross_entropy(net(v.x), v.y))


def _same_params(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a if "running" not in k and "num_batches" not in k)


def _loop_rows(probe: _LoopProbe, history: Any, epochs: int, batch_size: int) -> list[tuple[bool, str]]:
    rows = []
    train = [p for p in probe.passes if p[0] == TRAIN]
    val = [p for p in probe.passes if p[0] == VAL]
    per_epoch = len(train) / max(epochs, 1)
    rows.append((len(train) > 0 and per_epoch > 1 and max(p[3] for p in train) <= batch_size,
                 (f"mini-batches of at most batch_size={batch_size} from a DataLoader "
                  f"({per_epoch:.1f} training batches per epoch, largest {max((p[3] for p in train), default=0)})")))
    bad_train = sum(not (p[1] and p[2]) for p in train)
    rows.append((bool(train) and bad_train == 0,
                 (f"training batches in train mode with gradients ({bad_train} of {len(train)} were not: "
                  "call model.train() at the start of every epoch)")))
    bad_val = sum(p[1] or p[2] for p in val)
    rows.append((len(probe.snapshots) == epochs and bad_val == 0,
                 (f"validation once per epoch in eval mode under torch.no_grad() ({len(probe.snapshots)} validation "
                  f"sweeps for {epochs} epochs; {bad_val} of {len(val)} validation batches in train mode or with "
                  "gradients)")))
    rows.append((probe.stale_grads == 0, "gradients zeroed before each backward pass "
                 + ("" if probe.stale_grads == 0 else f"({probe.stale_grads} gradients were added to old ones)")))
    touched = probe.sets[TEST].touched + sum(p[0] == TEST for p in probe.passes)
    rows.append((touched == 0, "the test split never touched" if touched == 0 else
                 f"the test split was read {touched} times: choose and stop on the validation split only"))
    return rows


def _kept_rows(probe: _LoopProbe, history: Any, epochs: int) -> list[tuple[bool, str]]:
    rows = []
    try:
        losses = [float(v) for v in history["train_loss"]]
        falls = len(losses) == epochs and losses[CLEAN_EPOCHS - 1] < losses[0]
        rows.append((falls, (f"history['train_loss'] has one value per epoch and falls over the first "
                             f"{CLEAN_EPOCHS} epochs ({', '.join(f'{v:.3f}' for v in losses[:CLEAN_EPOCHS])})")))
    except Exception as err:  # noqa: BLE001 -- a malformed history is a wrong answer
        rows.append((False, f"the returned history must be a dict with a 'train_loss' list per epoch ({err!r})"))
    if not probe.snapshots:
        return rows + [(False, "no validation pass was seen, so no best epoch can be kept")]
    val = [probe.val_loss(s) for s in probe.snapshots]
    best = int(np.argmin(val))
    rows.append((val[best] < 0.7 * probe.val_loss(probe.initial),
                 (f"the model learns (validation loss {probe.val_loss(probe.initial):.3f} untrained, "
                  f"{val[best]:.3f} at the best epoch)")))
    final = probe.model.state_dict()
    held = [e for e, s in enumerate(probe.snapshots) if _same_params(s, final)]
    if held and best in held:
        rows.append((True, f"the model ends with the best epoch's weights (epoch {best + 1} of {epochs})"))
    elif held and held[-1] == len(probe.snapshots) - 1:
        rows.append((False, (f"the model ends with the last epoch's weights, not the best epoch's ({best + 1}): keep "
                             "copy.deepcopy(model.state_dict()) when validation improves (state_dict() alone "
                             "returns the live tensors, which later steps overwrite), and load it at the end")))
    elif held:
        rows.append((False, (f"the model ends with epoch {held[-1] + 1}'s weights; the lowest validation loss was "
                             f"at epoch {best + 1}: keep the epoch with the lowest validation loss")))
    else:
        rows.append((False, "the model ends with weights of no epoch's end: load the best epoch's copy at the end"))
    return rows


def check_training_loop(train_fn: Any, *, name: str = "Training loop", epochs: int = 6, lr: float = 1e-2,
                        batch_size: int = 16) -> Verdict:
    """Run ``train_fn(model, splits, epochs=, lr=, batch_size=) -> history`` on a probe problem and judge it.

    ``splits`` is a dict ``{"train", "val", "test"}`` of datasets of ``(x (2, 32), y)`` pairs; ``history`` a dict
    with a ``"train_loss"`` list (one value per epoch). Requirements: mini-batches from a DataLoader; training
    batches in train mode with gradients; one validation sweep per epoch, in eval mode, under ``no_grad``;
    gradients zeroed each step; the test split untouched; the training loss falls; the model learns; and the model
    ends holding the weights of the epoch with the lowest validation loss (the probe's labels turn noisy after
    epoch 3, so that is never the last epoch).
    """
    if _unanswered(train_fn):
        return _not_attempted(name, "write your loop, set MY_TRAIN_LOOP = train_by_hand in the exercise cell")
    if not callable(train_fn):
        return Verdict(name, FAILED, f"MY_TRAIN_LOOP must be your function, got a {type(train_fn).__name__}")
    with torch.random.fork_rng():  # the probe seeds torch: leave the notebook's random state as it was
        probe = _LoopProbe()
        splits = {"train": probe.sets[TRAIN], "val": probe.sets[VAL], "test": probe.sets[TEST]}
        try:
            history = train_fn(probe.model, splits, epochs=epochs, lr=lr, batch_size=batch_size)
        except Exception as err:  # noqa: BLE001 -- a self-check reports, never raises
            return Verdict(name, FAILED, f"your loop stopped with {type(err).__name__}: {err}")
        rows = _loop_rows(probe, history, epochs, batch_size) + _kept_rows(probe, history, epochs)
    return _requirements_verdict(name, rows, f"checked on a probe problem, {epochs} epochs")
