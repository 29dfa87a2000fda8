"""Self-checks for lesson 02b, where the student writes an LSTM cell and masked self-attention (the training loop's
check is :mod:`helpers.notebook.selfcheck_loop`).

Like :mod:`helpers.notebook.selfcheck` (whose :class:`~helpers.notebook.selfcheck.Verdict` they return), these checks say "not
attempted yet" while the answer is ``None``, name each requirement they measured, never reveal the answer and never
raise. They judge **behaviour**, on a small problem of their own:

- :func:`check_lstm_cell` runs the student's cell over a sequence with the weights of a ``torch.nn.LSTM`` and
  compares every hidden state and the last cell state; a mismatch that equals a known slip (gates in another order,
  a sigmoid for the candidate, no ``tanh`` on the output, no forget gate) is named.
- :func:`check_attention` compares the student's attention and weights with the reference and their SDPA mask with
  the course's convention; an inverted mask, a missing ``1/sqrt(d)`` or a softmax over the wrong axis is named.
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from helpers.notebook.mechanics import masked_attention
from helpers.notebook.selfcheck import (
    FAILED,
    Verdict,
    _not_attempted,
    _requirements_verdict,
    _unanswered,
)

__all__ = ["check_attention", "check_lstm_cell"]

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
    return _requirements_verdict(name, rows, "your cell computes what torch.nn.LSTM computes")


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
    return _requirements_verdict(name, rows, "your attention computes what F.scaled_dot_product_attention computes")
