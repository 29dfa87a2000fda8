"""Transformer pieces for 1D signals: rotary attention, SwiGLU, pre-norm blocks, attention pooling.

Shapes in comments: B batch, T tokens, C model width, nh heads, hs head size (C // nh).

Masks follow one convention everywhere in this file: ``keep`` is a boolean tensor (B, T) that is True at
positions that hold signal and False at padding. It is handed to ``F.scaled_dot_product_attention`` as a
boolean ``attn_mask`` (True = may be attended to). A boolean mask never adds a large negative number to the
logits, so it cannot overflow in fp16 the way a ``-1e9`` fill does.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .layers import RMSNorm


# --------------------------------------------------------------------------------------------------------------
# Rotary position embeddings (Su et al., 2021, "RoFormer")
# --------------------------------------------------------------------------------------------------------------
def rotary_cos_sin(positions: torch.Tensor, head_size: int, base: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin tables for the given token positions: two float32 tensors (T, hs // 2).

    Rotating a query at position m and a key at position n by these angles makes their dot product a function
    of (n - m) alone: that is what makes the attention *relative*.
    """
    if head_size % 2:
        raise ValueError(f"rotary embeddings need an even head size, got {head_size}")
    inv_freq = base ** (-torch.arange(0, head_size, 2, device=positions.device, dtype=torch.float32) / head_size)
    angles = positions.to(torch.float32)[:, None] * inv_freq[None, :]  # (T, hs/2)
    return angles.cos(), angles.sin()


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each (x_i, x_{i + hs/2}) pair of a query or key tensor (..., hs) by its position's angle.

    ``cos`` and ``sin`` (T, hs/2) broadcast against x (B, nh, T, hs); for x (B, T, nh, hs) pass them as (T, 1, hs/2).
    """
    x1, x2 = x.float().chunk(2, dim=-1)  # (..., hs/2) each; rotate in fp32, then back to x's dtype
    rotated = torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
    return rotated.type_as(x)


# --------------------------------------------------------------------------------------------------------------
# Attention, feed-forward, block
# --------------------------------------------------------------------------------------------------------------
class RotarySelfAttention(nn.Module):
    """Multi-head self-attention with rotary embeddings applied to q and k of every head, inside attention."""

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0, rope_base: float = 10000.0,
                 attention_dropout: float = 0.0):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        self.n_heads, self.head_size, self.rope_base = n_heads, d_model // n_heads, rope_base
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.proj = nn.Linear(d_model, d_model, bias=False)
        self.attention_dropout = attention_dropout  # on the attention probabilities; `dropout` is on the output
        self.resid_drop = nn.Dropout(dropout)

    def _rotated_qkv(self, x, cos, sin):
        B, T, _ = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.n_heads, self.head_size).unbind(dim=2)  # (B, T, nh, hs) each
        cos, sin = cos[:, None, :], sin[:, None, :]  # (T, 1, hs/2): the same angle for every head
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        # (B, nh, T, hs) views of time-major tensors. Why not transpose first: attention keeps this memory order
        # for its output and gradients, so y.transpose(1, 2).reshape(B, T, C) below is free, and the backward pass
        # writes dq, dk, dv straight into d(qkv) instead of transposing them (measured: benchmarks/README.md).
        return q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)

    def forward(self, x, cos, sin, keep=None):
        B, T, C = x.shape
        q, k, v = self._rotated_qkv(x, cos, sin)
        attn_mask = None if keep is None else keep[:, None, None, :]  # (B, 1, 1, T): every query, valid keys only
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.attention_dropout if self.training else 0.0
        )  # (B, nh, T, hs)
        y = y.transpose(1, 2).reshape(B, T, C)
        return self.resid_drop(self.proj(y))

    @torch.no_grad()
    def attention_logits(self, x: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        """Pre-softmax logits q.k / sqrt(hs), (B, nh, T, T), for tokens x (B, T, C) at the given positions.

        Not used in training; it exists so that a test (and a curious student) can see that shifting every
        position by the same amount leaves the logits unchanged.
        """
        positions = torch.arange(x.shape[1], device=x.device) if positions is None else positions
        cos, sin = rotary_cos_sin(positions, self.head_size, self.rope_base)
        q, k, _ = self._rotated_qkv(x, cos, sin)
        return q @ k.transpose(-2, -1) / math.sqrt(self.head_size)


class SwiGLU(nn.Module):
    """Feed-forward with a gated linear unit (Shazeer, 2020): W3 (silu(W1 x) * W2 x)."""

    def __init__(self, d_model: int, hidden: int, dropout: float = 0.0):
        super().__init__()
        self.w12 = nn.Linear(d_model, 2 * hidden, bias=False)  # W1 and W2 in one matrix product
        self.w3 = nn.Linear(hidden, d_model, bias=False)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):  # (B, T, C)
        a, b = self.w12(x).chunk(2, dim=-1)  # (B, T, hidden) each
        return self.drop(self.w3(F.silu(a) * b))


class TransformerBlock(nn.Module):
    """Pre-norm block: x + attn(norm(x)), then x + ffn(norm(x))."""

    def __init__(self, d_model, n_heads, ffn_hidden, dropout=0.0, rope_base=10000.0, eps=1e-6, *,
                 attention_dropout=0.0):
        super().__init__()
        self.norm1 = RMSNorm(d_model, eps=eps)
        self.attn = RotarySelfAttention(d_model, n_heads, dropout, rope_base, attention_dropout)
        self.norm2 = RMSNorm(d_model, eps=eps)
        self.ffn = SwiGLU(d_model, ffn_hidden, dropout)

    def forward(self, x, cos, sin, keep=None):  # (B, T, C) -> (B, T, C)
        x = x + self.attn(self.norm1(x), cos, sin, keep)
        return x + self.ffn(self.norm2(x))


class AttentionPool(nn.Module):
    """Multi-head attention pooling: each head's learned query attends over the valid tokens only.

    Unlike a mean over time, each head can choose what to look at (e.g. one irregular beat in a long strip);
    the keep-mask makes padded tokens invisible to it.
    """

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.n_heads, self.head_size = n_heads, d_model // n_heads
        self.query = nn.Parameter(torch.randn(n_heads, 1, self.head_size) * 0.02)  # (nh, 1, hs)
        self.kv = nn.Linear(d_model, 2 * d_model, bias=False)
        self.proj = nn.Linear(d_model, d_model, bias=False)

    def forward(self, x, keep=None):  # (B, T, C) -> (B, C)
        B, T, C = x.shape
        k, v = self.kv(x).split(C, dim=2)
        k, v = (t.view(B, T, self.n_heads, self.head_size).transpose(1, 2) for t in (k, v))  # (B, nh, T, hs)
        q = self.query.to(k.dtype).expand(B, -1, -1, -1)  # (B, nh, 1, hs)
        attn_mask = None if keep is None else keep[:, None, None, :]  # (B, 1, 1, T)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)  # (B, nh, 1, hs)
        return self.proj(y.reshape(B, C))
