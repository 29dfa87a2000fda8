"""Reference versions of two pieces of deep learning that lesson 02b has students write by hand.

- :func:`lstm_step` / :func:`lstm_gates`: one LSTM cell in PyTorch's own weight layout (the gates stacked in the
  order input, forget, cell candidate ``g``, output: ``nn.LSTM``'s ``weight_ih_l0`` is ``(4H, I)`` with rows
  ``[W_ii; W_if; W_ig; W_io]``), and the gate activations of a whole sequence, for pictures.
- :func:`masked_attention`: scaled dot-product attention with a padding mask in the course's convention
  (``padding_mask`` True at padding, :mod:`helpers.models.base`), returning the attention weights as well.

The lesson's self-checks (:mod:`helpers.notebook.selfcheck_mechanics`) compare a student's version with these, and with
``torch.nn.LSTM`` / ``torch.nn.functional.scaled_dot_product_attention`` themselves.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

__all__ = ["GATE_ORDER", "lstm_gates", "lstm_step", "masked_attention", "sdpa_mask"]

GATE_ORDER = ("i", "f", "g", "o")  # PyTorch's order of the four stacked gate blocks in weight_ih / weight_hh


def lstm_step(x: torch.Tensor, h: torch.Tensor, c: torch.Tensor, W_ih: torch.Tensor, W_hh: torch.Tensor,
              b_ih: torch.Tensor, b_hh: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """One LSTM time step.

    Parameters
    ----------
    x : (B, I) input at this step
    h, c : (B, H) hidden and cell state from the previous step
    W_ih : (4H, I), W_hh : (4H, H), b_ih, b_hh : (4H,)
        ``nn.LSTM``'s ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0`` (gate order i, f, g, o).

    Returns
    -------
    h_new, c_new : (B, H)
    gates : dict "i", "f", "g", "o" -> (B, H), each after its non-linearity (sigmoid; tanh for g)
    """
    pre = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh  # (B, 4H)
    i, f, g, o = pre.chunk(4, dim=-1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c_new = f * c + i * g  # forget part of the old memory, write the gated candidate
    h_new = o * torch.tanh(c_new)  # expose a gated, squashed view of the memory
    return h_new, c_new, {"i": i, "f": f, "g": g, "o": o}


@torch.no_grad()
def lstm_gates(lstm: nn.LSTM, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Run a one-layer, unidirectional ``nn.LSTM`` step by step and record what happens inside.

    Parameters
    ----------
    lstm : nn.LSTM
        One layer, not bidirectional, ``batch_first=True``.
    x : (B, T, I) float tensor

    Returns
    -------
    dict
        ``"i", "f", "g", "o", "c", "h"`` -> float arrays (B, T, H): the gates, the cell state and the output.
    """
    if lstm.num_layers != 1 or lstm.bidirectional or not lstm.batch_first or lstm.proj_size:
        raise ValueError("lstm_gates needs a one-layer, unidirectional nn.LSTM with batch_first=True and no "
                         f"projection; got num_layers={lstm.num_layers}, bidirectional={lstm.bidirectional}, "
                         f"batch_first={lstm.batch_first}, proj_size={lstm.proj_size}")
    if x.ndim != 3 or x.shape[-1] != lstm.input_size:
        raise ValueError(f"x must be (batch, time, {lstm.input_size}), got {tuple(x.shape)}")
    B, H = x.shape[0], lstm.hidden_size
    h = c = x.new_zeros(B, H)
    weights = (lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)
    trace: dict[str, list[torch.Tensor]] = {k: [] for k in (*GATE_ORDER, "c", "h")}
    for t in range(x.shape[1]):
        h, c, gates = lstm_step(x[:, t], h, c, *weights)
        for k, v in (*gates.items(), ("c", c), ("h", h)):
            trace[k].append(v)
    return {k: torch.stack(v, dim=1).cpu().numpy() for k, v in trace.items()}


def sdpa_mask(padding_mask: torch.Tensor) -> torch.Tensor:
    """The course's ``padding_mask`` (B, T), True at padding, as SDPA's boolean ``attn_mask`` (B, 1, T).

    ``F.scaled_dot_product_attention`` reads a boolean mask the other way round: True = may be attended to. The
    middle axis broadcasts over the queries: every query may look at every real key.
    """
    return ~padding_mask[:, None, :]


def masked_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     padding_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention, with the weights.

    Parameters
    ----------
    q, k, v : (B, T, d) queries, keys and values
    padding_mask : (B, T) bool, optional
        True at padding (the course's convention): no query attends to a padded key.

    Returns
    -------
    out : (B, T, d)
    weights : (B, T, T)
        ``weights[b, i, j]``: how much query ``i`` takes from key ``j``; each row sums to 1.
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, T, T); 1/sqrt(d) keeps softmax unsaturated
    if padding_mask is not None:
        scores = scores.masked_fill(padding_mask[:, None, :], float("-inf"))  # exp(-inf) = 0: padding gets nothing
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
