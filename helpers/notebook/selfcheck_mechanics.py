"""Self-checks for lesson 02b, where the student writes a training loop, an LSTM cell and masked self-attention.

Like :mod:`helpers.notebook.selfcheck` (whose :class:`~helpers.notebook.selfcheck.Verdict` they return), these checks say "not
attempted yet" while the answer is ``None``, name each requirement they measured, never reveal the answer and never
raise. They judge **behaviour**, on a small problem of their own:

- :func:`check_training_loop` runs the student's loop on a probe model (Conv1d, BatchNorm, Dropout) that records,
  at every forward pass, which split the batch came from, ``model.training`` and ``torch.is_grad_enabled()``; the
  test split is a dataset that records any access; every parameter records whether a gradient was added to a stale
  one (no ``zero_grad``); and from the fourth epoch the training labels turn noisy, as overfitting would, so the
  best epoch is not the last and a loop that keeps the last weights (or an uncopied ``state_dict()``) is caught.
- :func:`check_lstm_cell` runs the student's cell over a sequence with the weights of a ``torch.nn.LSTM`` and
  compares every hidden state and the last cell state; a mismatch that equals a known slip (gates in another order,
  a sigmoid for the candidate, no ``tanh`` on the output, no forget gate) is named.
- :func:`check_attention` compares the student's attention and weights with the reference and their SDPA mask with
  the course's convention; an inverted mask, a missing ``1/sqrt(d)`` or a softmax over the wrong axis is named.
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

from helpers.notebook.mechanics import masked_attention
from helpers.notebook.selfcheck import FAILED, PASSED, Verdict, _bullets, _not_attempted, _unanswered

__all__ = ["check_attention", "check_lstm_cell", "check_training_loop"]

TRAIN, VAL, TEST = 0, 1, 2  # the split code the probe data carry in their second channel
_NAMES = {TRAIN: "train", VAL: "val", TEST: "test"}
CLEAN_EPOCHS = 3  # the probe's training labels turn noisy after this many epochs


def _verdict(name: str, rows: list[tuple[bool, str]], done: str) -> Verdict:
    failed = sum(not ok for ok, _ in rows)
    if failed:
        verb = "fails" if failed == 1 else "fail"
        return Verdict(name, FAILED, f"{failed} of {len(rows)} requirements {verb}:\n" + _bullets(rows))
    return Verdict(name, PASSED, f"all {len(rows)} requirements met — {done}:\n" + _bullets(rows))


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
    return _verdict(name, rows, f"checked on a probe problem, {epochs} epochs")


# ---------------------------------------------------------------------------------------------------------------
# An LSTM cell by hand
# ---------------------------------------------------------------------------------------------------------------
def _lstm_slip(x, h, c, W_ih, W_hh, b_ih, b_hh, slip: str):
    """The LSTM step with one classic slip (for naming a student's mismatch, never shown as code)."""
    pre = x @ W_ih.T + b_ih + (0 if slip == "no W_hh" else h @ W_hh.T) + b_hh
    blocks = dict(zip("ifgo", pre.chunk(4, dim=-1)))
    order = {"order ifog": "ifog", "order igfo": "igfo", "order figo": "figo", "order oifg": "oifg"}.get(slip)
    if order:  # the student read the stacked blocks in another order
        blocks = dict(zip(order, pre.chunk(4, dim=-1)))
    i, f, o = (torch.sigmoid(blocks[k]) for k in "ifo")
    g = torch.sigmoid(blocks["g"]) if slip == "sigmoid g" else torch.tanh(blocks["g"])
    c_new = {"no forget": i * g, "no input gate": f * c + g}.get(slip, f * c + i * g)
    h_new = o * c_new if slip == "no tanh on c" else o * torch.tanh(c_new)
    return h_new, c_new


_LSTM_HINTS = {
    "order ifog": "the stacked gates are in PyTorch's order i, f, g, o (the candidate g third), not i, f, o, g",
    "order igfo": "the stacked gates are in PyTorch's order i, f, g, o: the forget gate is the second block",
    "order figo": "the stacked gates are in PyTorch's order i, f, g, o: the input gate is the first block",
    "order oifg": "the stacked gates are in PyTorch's order i, f, g, o",
    "sigmoid g": "the candidate g is squashed with tanh (values in -1..1), the three gates with a sigmoid",
    "no tanh on c": "the output is o * tanh(c), not o * c",
    "no forget": "the new cell state keeps the forget-gated old one: c = f * c_prev + i * g",
    "no input gate": "the candidate enters the cell through the input gate: c = f * c_prev + i * g",
    "no W_hh": "each gate also sees the previous hidden state through weight_hh",
}


def _run_cell(cell_fn, x, weights):
    h = c = x.new_zeros(x.shape[0], weights[1].shape[1])
    hs = []
    for t in range(x.shape[1]):
        h, c = cell_fn(x[:, t], h, c, *weights)
        hs.append(h)
    return torch.stack(hs, dim=1), c


def check_lstm_cell(cell_fn: Any, *, name: str = "LSTM cell", atol: float = 1e-5) -> Verdict:
    """Run ``cell_fn(x, h, c, W_ih, W_hh, b_ih, b_hh) -> (h, c)`` over a sequence with a ``torch.nn.LSTM``'s weights.

    Requirements: every hidden state (B, T, H) and the last cell state (B, H) equal ``nn.LSTM``'s to ``atol``.
    Shapes: x (B, I), h and c (B, H), ``W_ih`` (4H, I), ``W_hh`` (4H, H), biases (4H,), gates stacked i, f, g, o.
    """
    if _unanswered(cell_fn):
        return _not_attempted(name, "write lstm_cell, set MY_LSTM_CELL = lstm_cell in the exercise cell")
    if not callable(cell_fn):
        return Verdict(name, FAILED, f"MY_LSTM_CELL must be your function, got a {type(cell_fn).__name__}")
    gen = torch.Generator().manual_seed(1)
    lstm = nn.LSTM(input_size=3, hidden_size=5, batch_first=True)
    with torch.no_grad():  # uniform(-1, 1) weights: large enough that every slip shows in the output
        for p in lstm.parameters():
            p.copy_(2 * torch.rand(p.shape, generator=gen) - 1)
    x = torch.randn(2, 6, 3, generator=gen)
    weights = [lstm.weight_ih_l0.detach(), lstm.weight_hh_l0.detach(), lstm.bias_ih_l0.detach(),
               lstm.bias_hh_l0.detach()]
    with torch.no_grad():
        want_h, (_, want_c) = lstm(x)
        try:
            got_h, got_c = _run_cell(cell_fn, x, weights)
            got_h, got_c = torch.as_tensor(got_h, dtype=torch.float32), torch.as_tensor(got_c, dtype=torch.float32)
        except Exception as err:  # noqa: BLE001 -- a self-check reports, never raises
            return Verdict(name, FAILED, f"your cell stopped with {type(err).__name__}: {err} (it must return the "
                                         "pair (h, c), each of shape (batch, hidden))")
        if got_h.shape != want_h.shape or got_c.shape != want_c[0].shape:
            return Verdict(name, FAILED, f"your cell returned h of shape {tuple(got_h.shape[::2])} and c of shape "
                                         f"{tuple(got_c.shape)}; both must be (batch, hidden) = (2, 5)")
        diff_h, diff_c = float((got_h - want_h).abs().max()), float((got_c - want_c[0]).abs().max())
        rows = [(torch.allclose(got_h, want_h, atol=atol),
                 f"every hidden state h_t equals nn.LSTM's output (largest difference {diff_h:.1e})"),
                (torch.allclose(got_c, want_c[0], atol=atol),
                 f"the last cell state equals nn.LSTM's c_n (largest difference {diff_c:.1e})")]
        if not all(ok for ok, _ in rows):
            for slip, hint in _LSTM_HINTS.items():
                slip_h, _ = _run_cell(lambda *a, s=slip: _lstm_slip(*a, slip=s), x, weights)
                if torch.allclose(got_h, slip_h, atol=atol):
                    rows.append((False, f"hint: {hint}"))
                    break
    return _verdict(name, rows, "your cell computes what torch.nn.LSTM computes")


# ---------------------------------------------------------------------------------------------------------------
# Self-attention with a padding mask, by hand
# ---------------------------------------------------------------------------------------------------------------
def _attention_case(seed: int = 2):
    gen = torch.Generator().manual_seed(seed)
    B, T, C, d = 3, 7, 6, 4
    x = torch.randn(B, T, C, generator=gen)
    W = [torch.randn(C, d, generator=gen) for _ in range(3)]
    lengths = torch.tensor([7, 5, 3])
    padding_mask = torch.arange(T)[None, :] >= lengths[:, None]  # (B, T) True at padding: the course's convention
    return x, W, padding_mask


def _attention_slip(q, k, v, padding_mask, slip: str):
    scale = {"no scale": 1.0, "scale by d": 1 / q.shape[-1]}.get(slip, 1 / math.sqrt(q.shape[-1]))
    scores = q @ k.transpose(-2, -1) * scale
    mask = {"inverted mask": ~padding_mask, "no mask": torch.zeros_like(padding_mask)}.get(slip, padding_mask)
    scores = scores.masked_fill(mask[:, None, :], float("-inf"))
    w = torch.softmax(scores, dim=-2 if slip == "softmax over queries" else -1)
    return w @ v, w


_ATTENTION_HINTS = {
    "inverted mask": "your mask hides the real samples and lets queries attend to the padding: padding_mask is "
                     "True AT PADDING, and those keys are the ones to set to -inf",
    "no mask": "the padded keys still receive attention: fill their scores with -inf before the softmax",
    "no scale": "the scores are divided by sqrt(d), the head size, before the softmax",
    "scale by d": "the scores are divided by sqrt(d), not by d",
    "softmax over queries": "the softmax runs over the keys (the last axis), so each query's weights sum to 1",
}


def _by_hand_rows(attn_fn, x, W, pm, q, k, v, atol) -> list[tuple[bool, str]]:
    want, want_w = masked_attention(q, k, v, pm)
    try:
        got, got_w = (torch.as_tensor(t, dtype=torch.float32) for t in attn_fn(x, *W, pm))
    except Exception as err:  # noqa: BLE001 -- a self-check reports, never raises
        return [(False, f"your attention stopped with {type(err).__name__}: {err} (it must return (out, weights))")]
    if got.shape != want.shape or got_w.shape != want_w.shape:
        return [(False, (f"your attention returned out {tuple(got.shape)} and weights {tuple(got_w.shape)}; "
                         f"expected {tuple(want.shape)} and {tuple(want_w.shape)}"))]
    real = ~pm  # compare the real query positions; what a padded query computes is never used
    rows = [(torch.allclose(got[real], want[real], atol=atol), "by hand: the output at every real position "
             "matches the reference" if torch.allclose(got[real], want[real], atol=atol) else
             "by hand: the output differs from scaled dot-product attention with the padding masked")]
    on_pad = float(got_w.nan_to_num(1.0).masked_fill(~pm[:, None, :], 0).sum(-1)[real].max())
    sums = got_w.sum(-1)[real]
    rows.append((on_pad < 1e-6 and torch.allclose(sums, torch.ones_like(sums), atol=1e-5),
                 (f"each real query's weights sum to 1 and give nothing to padding (largest weight on padding "
                  f"{on_pad:.2f})")))
    if not all(ok for ok, _ in rows):
        for slip, hint in _ATTENTION_HINTS.items():
            slip_out, _ = _attention_slip(q, k, v, pm, slip)
            if torch.allclose(got[real].nan_to_num(7.0), slip_out[real].nan_to_num(7.0), atol=atol):
                rows.append((False, f"hint: {hint}"))
                break
    return rows


def _sdpa_rows(mask_fn, q, k, v, pm, atol) -> list[tuple[bool, str]]:
    if _unanswered(mask_fn):
        return [(False, "MY_SDPA_MASK: not answered yet")]
    want, _ = masked_attention(q, k, v, pm)
    real = ~pm
    try:
        attn_mask = mask_fn(pm)
        got = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
    except Exception as err:  # noqa: BLE001 -- a self-check reports, never raises
        return [(False, f"F.scaled_dot_product_attention refused your mask: {type(err).__name__}: {err}")]
    if getattr(attn_mask, "dtype", None) != torch.bool:
        return [(False, f"MY_SDPA_MASK must return a boolean mask, got {getattr(attn_mask, 'dtype', type(attn_mask))}")]
    ok = torch.allclose(got[real], want[real], atol=atol)
    B, T = pm.shape
    try:  # inverted: True exactly at the padded keys, as the course's padding_mask itself is
        inverted = not ok and torch.equal(torch.broadcast_to(attn_mask, (B, T, T)), pm[:, None, :].expand(B, T, T))
    except RuntimeError:
        inverted = False
    text = ("F.scaled_dot_product_attention with your mask keeps the padding out" if ok else
            "F.scaled_dot_product_attention with your mask lets queries attend to padding or hides real samples"
            + (" — your mask is inverted: SDPA's boolean attn_mask is True where attention is ALLOWED, the "
               "course's padding_mask is True at padding" if inverted else ""))
    return [(ok, text)]


def check_attention(attn_fn: Any, mask_fn: Any, *, name: str = "Self-attention", atol: float = 1e-5) -> Verdict:
    """Judge a by-hand ``attn_fn(x, W_q, W_k, W_v, padding_mask) -> (out, weights)`` and an SDPA mask ``mask_fn``.

    ``x`` (B, T, C), ``W_*`` (C, d) so that ``q = x @ W_q``; ``padding_mask`` (B, T) True at padding (the course's
    convention); ``out`` (B, T, d), ``weights`` (B, T, T). ``mask_fn(padding_mask)`` must give the boolean
    ``attn_mask`` with which ``F.scaled_dot_product_attention(q, k, v, attn_mask=...)`` computes the same thing.
    Requirements: the output at real positions matches the reference; each real query's weights sum to 1 with none
    on padding; SDPA with the student's mask matches the reference.
    """
    if _unanswered(attn_fn) and _unanswered(mask_fn):
        return _not_attempted(name, "write self_attention and to_sdpa_mask, set MY_ATTENTION and MY_SDPA_MASK")
    x, W, pm = _attention_case()
    q, k, v = (x @ w for w in W)
    if _unanswered(attn_fn):
        rows = [(False, "MY_ATTENTION: not answered yet")]
    elif not callable(attn_fn):
        rows = [(False, f"MY_ATTENTION must be your function, got a {type(attn_fn).__name__}")]
    else:
        rows = _by_hand_rows(attn_fn, x, W, pm, q, k, v, atol)
    if not _unanswered(mask_fn) and not callable(mask_fn):
        rows.append((False, f"MY_SDPA_MASK must be your function, got a {type(mask_fn).__name__}"))
    else:
        rows += _sdpa_rows(mask_fn, q, k, v, pm, atol)
    return _verdict(name, rows, "your attention computes what F.scaled_dot_product_attention computes")
