"""TinyPPGTransformer: a ~20k-parameter Transformer for PPG windows, built to run int8 on a microcontroller.

    x (B, C, T) ──3 strided conv-BN-ReLU (kernel 8, stride 4)──> (B, d, T/64) tokens, one per second at 64 Hz
      ──+ depthwise-conv position code──> n_layers × [x + attn(BN(x)); x + FFN(BN(x))] ──mean over tokens──
      ──BN──> Linear ──> logits (B, n_outputs)

Why this shape (Unit 4: a stress monitor on a Cortex-M): the stem turns a 60 s window at 64 Hz (3,840 samples) into
60 tokens of 1 s each, about one heartbeat, so the attention matrix is 60 x 60 (3.6 k int8 values a head) and the
whole network fits a 32 KB tensor arena. Every operation has an int8 kernel in TensorFlow Lite Micro:

- no GELU (TFLM has no kernel for it): ReLU, which the converter fuses into the convolution or linear before it;
- no LayerNorm (its decomposition, mean / squared difference / rsqrt, is unevenly supported in int8): BatchNorm,
  which is an affine map in eval mode and :meth:`TinyPPGTransformer.fuse_for_export` folds into the convolution
  before it (stem) or the linear layers after it (blocks, head), so the exported graph holds no normalisation;
- no positional table: a depthwise convolution over the tokens (as in wav2vec 2.0 / CPVT) gives each token its
  neighbourhood, works for any number of tokens and is one DEPTHWISE_CONV_2D;
- attention written out (``q @ k^T``, softmax, ``@ v``) rather than ``F.scaled_dot_product_attention``, so that the
  converter sees BATCH_MATMUL, SOFTMAX and MUL instead of a fused op it may not lower;
- stem kernels of stride + 2 * padding samples (8 = 4 + 2 * 2): exactly TFLite's SAME padding, so each convolution
  converts to one CONV_2D; an odd kernel (5, padding 2) needs an explicit PAD op, a copy of the activation;
- heads split with 4D reshapes/transposes only; fixed shapes; no masks or branches when ``padding_mask`` is None.

Measured (fused default model, 60 s at 64 Hz, converted with litert-torch 0.10, quantised with ai-edge-quantizer's
``static_wi8_ai8`` recipe, allocated by tflite_micro 0.dev20261023): int8 .tflite 61,256 bytes (limit 64 KB);
tensor arena 29.6 KB (limit 32 KB: 13.0 KB of activations, the peak at the stem's first output, plus 16.6 KB of
per-op state); ops CONV_2D 2, DEPTHWISE_CONV_2D 2 (the one-channel first conv and the position code),
FULLY_CONNECTED 15, BATCH_MATMUL 2, SOFTMAX 2, MUL 2, ADD 5, RESHAPE 6, TRANSPOSE 2, MEAN 1; no PAD.

Padding (the contract of ``base.py``): padded samples are zeroed before each convolution, padded tokens are masked
out of the attention keys and of the mean, so in eval mode a right-padded signal gives the logits of the unpadded
one. (In train mode BatchNorm's batch statistics still see the padded steps, the usual compromise.)

Example
-------
>>> model = TinyPPGTransformer(in_channels=1, n_outputs=2, input_length=3840)   # doctest: +SKIP
TinyPPGTransformer: 0.02 M parameters (22,706)
>>> deployed = model.fuse_for_export()   # eval-mode copy, BatchNorm folded: what the int8 exporter converts
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from .base import ModelConfig, SignalModel, merge_config
from .layers import zero_padding


@dataclass
class TinyPPGTransformerConfig(ModelConfig):
    """Hyper-parameters of :class:`TinyPPGTransformer` (defaults: 60 s windows at 64 Hz, ~20 k parameters)."""

    # conv stages before the last one, which outputs d_model channels; the first one's output is the largest
    # activation of the network (8 x T/4 int8 values: 7.7 KB of the tensor arena for 60 s at 64 Hz)
    stem_channels: tuple[int, ...] = (8, 16)
    stem_kernels: tuple[int, ...] = (8, 8, 8)  # per stem conv; each is stride + 2 * padding (see ConvStem)
    stride: int = 4  # per stem conv: 4 ** 3 = 64 samples per token, 1 s at 64 Hz
    d_model: int = 32
    n_layers: int = 2
    # One head: with two, the converter splits heads with RESHAPE/TRANSPOSE pairs and TFLM's BATCH_MATMUL keeps a
    # transposed copy of each right operand, which took the arena from 29.6 KB to 41.6 KB (measured, see above)
    n_heads: int = 1
    ffn_hidden: int = 64
    pos_kernel: int = 5  # depthwise conv over tokens giving the position code (odd)
    dropout: float = 0.1  # residual branches and before the head (training only; nothing to export)


# --------------------------------------------------------------------------------------------------------------
# BatchNorm folding: in eval mode BN(x) = x * s + t per channel, so it merges into an adjacent affine layer.
# --------------------------------------------------------------------------------------------------------------
def _bn_scale_shift(bn: nn.BatchNorm1d) -> tuple[torch.Tensor, torch.Tensor]:
    s = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # (C,)
    return s, bn.bias - bn.running_mean * s


@torch.no_grad()
def fold_bn_into_preceding_conv(conv: nn.Conv1d, bn: nn.BatchNorm1d) -> None:
    """conv(x) becomes bn(conv(x)) (eval): scale each output channel's kernel, give the conv a bias."""
    s, t = _bn_scale_shift(bn)
    bias = t if conv.bias is None else conv.bias * s + t
    conv.weight = nn.Parameter(conv.weight * s[:, None, None])
    conv.bias = nn.Parameter(bias)


@torch.no_grad()
def fold_bn_into_following_linear(bn: nn.BatchNorm1d, linear: nn.Linear) -> None:
    """linear(x) becomes linear(bn(x)) (eval): W (x s + t) + b = (W diag(s)) x + (W t + b)."""
    s, t = _bn_scale_shift(bn)
    bias = linear.weight @ t + (0 if linear.bias is None else linear.bias)
    linear.weight = nn.Parameter(linear.weight * s[None, :])
    linear.bias = nn.Parameter(bias)


class TokenBatchNorm(nn.BatchNorm1d):
    """BatchNorm1d over the feature axis of tokens: ``(B, N, d) -> (B, N, d)`` (BatchNorm1d wants (B, d, N))."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


# --------------------------------------------------------------------------------------------------------------
# Blocks
# --------------------------------------------------------------------------------------------------------------
class ConvStem(nn.Module):
    """Strided conv-BN-ReLU layers: ``(B, C, T) -> (B, d_model, T // stride ** n)`` and the tokens' keep mask.

    Each conv has kernel k = stride + 2p and padding p (8 = 4 + 2 * 2), so a signal of L samples gives
    L // stride outputs, output t covering inputs stride * t - p ... stride * (t + 1) - 1 + p. Why this shape:
    it is TFLite's SAME padding exactly (the converter emits one CONV_2D, no PAD op copying the activation), and
    with right padding the outputs of a padded signal that are valid are those of the signal alone.
    """

    def __init__(self, in_channels: int, cfg: TinyPPGTransformerConfig):
        super().__init__()
        widths = (*cfg.stem_channels, cfg.d_model)
        if len(cfg.stem_kernels) != len(widths) or any(k < cfg.stride or (k - cfg.stride) % 2
                                                        for k in cfg.stem_kernels):
            raise ValueError(f"stem_kernels must be {len(widths)} sizes (one per stem conv: stem_channels "
                             f"{cfg.stem_channels} and d_model), each stride + 2 * padding (stride={cfg.stride}: "
                             f"{cfg.stride}, {cfg.stride + 2}, {cfg.stride + 4}, ...), got {cfg.stem_kernels}")
        self.stride = cfg.stride
        self.convs, self.norms = nn.ModuleList(), nn.ModuleList()
        c_in = in_channels
        for c_out, k in zip(widths, cfg.stem_kernels):
            self.convs.append(nn.Conv1d(c_in, c_out, k, stride=cfg.stride, padding=(k - cfg.stride) // 2,
                                        bias=False))
            self.norms.append(nn.BatchNorm1d(c_out))
            c_in = c_out

    def forward(self, x, keep=None):  # x (B, C, T), keep (B, 1, T) float or None
        for conv, norm in zip(self.convs, self.norms):
            x = F.relu(norm(conv(zero_padding(x, keep))))  # (B, C_out, T // stride)
            # a step is valid if its last stride sample is signal: L // stride of them, as for the signal alone
            keep = None if keep is None else keep[..., self.stride - 1::self.stride]
        return x, keep

    def fuse(self) -> None:
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            if isinstance(norm, nn.BatchNorm1d):
                fold_bn_into_preceding_conv(conv, norm)
                self.norms[i] = nn.Identity()


class Attention(nn.Module):
    """Multi-head softmax self-attention over a few tokens, written out op by op (see the module docstring)."""

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
        self.n_heads, self.hs = n_heads, d_model // n_heads
        # three linears rather than one of width 3d: the split would be a strided slice, one op more to export
        self.q, self.k, self.v = (nn.Linear(d_model, d_model) for _ in range(3))
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x, keep=None):  # x (B, N, d), keep (B, N) bool (True at signal) or None
        B, N, d = x.shape
        q, k, v = (f(x).reshape(B, N, self.n_heads, self.hs).transpose(1, 2) for f in (self.q, self.k, self.v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.hs))  # (B, nh, N, N)
        if keep is not None:
            att = att.masked_fill(~keep[:, None, None, :], float("-inf"))  # padded keys get no weight
        y = att.softmax(dim=-1) @ v  # (B, nh, N, hs)
        return self.proj(y.transpose(1, 2).reshape(B, N, d))  # (B, N, d)


class Block(nn.Module):
    """Pre-norm Transformer block with BatchNorm and a ReLU feed-forward: ``(B, N, d) -> (B, N, d)``."""

    def __init__(self, cfg: TinyPPGTransformerConfig):
        super().__init__()
        self.norm1 = TokenBatchNorm(cfg.d_model)
        self.attn = Attention(cfg.d_model, cfg.n_heads)
        self.norm2 = TokenBatchNorm(cfg.d_model)
        self.ffn = nn.Sequential(nn.Linear(cfg.d_model, cfg.ffn_hidden), nn.ReLU(),
                                 nn.Linear(cfg.ffn_hidden, cfg.d_model))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, keep=None):
        x = x + self.drop(self.attn(self.norm1(x), keep))
        return x + self.drop(self.ffn(self.norm2(x)))

    def fuse(self) -> None:
        # pre-norm: each BatchNorm feeds only linear layers, so it folds into them exactly
        if isinstance(self.norm1, nn.BatchNorm1d):
            for linear in (self.attn.q, self.attn.k, self.attn.v):
                fold_bn_into_following_linear(self.norm1, linear)
            fold_bn_into_following_linear(self.norm2, self.ffn[0])
            self.norm1, self.norm2 = nn.Identity(), nn.Identity()


# --------------------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------------------
class TinyPPGTransformer(SignalModel):
    """Compact CNN-stem Transformer: ``(B, in_channels, T)`` float32 -> logits ``(B, n_outputs)``.

    Parameters
    ----------
    in_channels, n_outputs : int
    input_length : int, optional
        Samples per window (3,840 for 60 s at 64 Hz). Any length works in PyTorch; the exported model has this
        one fixed length.
    config : TinyPPGTransformerConfig, optional
    **overrides
        Fields of ``TinyPPGTransformerConfig``, e.g. ``d_model=48``.

    Notes
    -----
    :meth:`encode` returns the tokens before pooling (``(B, N, d_model)``), which self-supervised pre-training
    (``helpers.train.ssl``) reconstructs the masked signal from; :attr:`samples_per_token` is the stem's total stride.
    ``set_grad_checkpointing()`` recomputes the Transformer blocks in backward (their BatchNorm running statistics
    then see each batch twice, which only matters for their momentum).
    """

    def __init__(self, in_channels: int, n_outputs: int, input_length: int | None = None, *,
                 fs: float | None = None, config: TinyPPGTransformerConfig | None = None, **overrides):
        super().__init__(in_channels, n_outputs, input_length, fs=fs)
        cfg = merge_config(TinyPPGTransformerConfig, config, overrides, "TinyPPGTransformer")
        if cfg.pos_kernel % 2 == 0:
            raise ValueError(f"pos_kernel must be odd (same-length depthwise conv), got {cfg.pos_kernel}")
        self.config = cfg
        self.samples_per_token = cfg.stride ** (len(cfg.stem_channels) + 1)
        self.min_length = self.samples_per_token  # at least one full token
        self.check_length()
        self.stem = ConvStem(in_channels, cfg)
        self.pos = nn.Conv1d(cfg.d_model, cfg.d_model, cfg.pos_kernel, padding=cfg.pos_kernel // 2,
                             groups=cfg.d_model)  # depthwise
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = nn.BatchNorm1d(cfg.d_model)  # on the pooled (B, d): folds into the head
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.d_model, n_outputs)

    def encode(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Tokens of ``x``: ``(B, N, d_model)`` with N = T // samples_per_token, and keep ``(B, N)`` or None."""
        self.check_input(x, padding_mask)
        keep = self.keep_mask(x, padding_mask)  # (B, 1, T) bool or None
        h, keep = self.stem(x, None if keep is None else keep.to(x.dtype))  # (B, d, N), (B, 1, N)
        h = h + self.pos(zero_padding(h, keep))  # (B, d, N): the position code sees zeros beyond the signal
        h = h.transpose(1, 2)  # (B, N, d)
        keep = None if keep is None else keep[:, 0, :] > 0  # (B, N) bool
        for block in self.blocks:
            if self.grad_checkpointing and self.training:
                h = checkpoint(block, h, keep, use_reentrant=False)
            else:
                h = block(h, keep)
        return h, keep

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, C, T) float32, padding_mask (B, T) bool (True = padding) -> logits (B, n_outputs)."""
        h, keep = self.encode(x, padding_mask)  # (B, N, d)
        if keep is None:
            pooled = h.mean(dim=1)  # (B, d): MEAN in the exported graph
        else:
            w = keep[:, :, None].to(h.dtype)  # (B, N, 1): average over valid tokens only
            pooled = (h * w).sum(dim=1) / w.sum(dim=1)
        return self.head(self.drop(self.norm(pooled)))  # (B, n_outputs)

    def fuse_for_export(self) -> TinyPPGTransformer:
        """An eval-mode copy with every BatchNorm folded into a convolution or linear layer: what to export.

        The copy computes the same function as ``self.eval()`` (to float rounding) with only Conv1d, depthwise
        Conv1d, Linear, ReLU, matmul, softmax, add, mean, reshape and transpose; it holds no BatchNorm, LayerNorm
        or GELU module. The model itself is left untouched (and trainable).
        """
        fused = copy.deepcopy(self).eval()
        fused.stem.fuse()
        for block in fused.blocks:
            block.fuse()
        fold_bn_into_following_linear(fused.norm, fused.head)  # mean(h) -> BN -> head == mean(h) -> head'
        fused.norm = nn.Identity()
        return fused

    def estimate_macs(self, input_length: int | None = None) -> int:
        """Multiply-accumulates of one forward pass of one window (convolutions, linears, attention products)."""
        t = input_length or self.input_length
        if t is None:
            raise ValueError("pass input_length (samples per window) or build the model with one")
        cfg, macs, c_in = self.config, 0, self.in_channels
        for conv in self.stem.convs:
            t //= cfg.stride
            macs += t * conv.out_channels * c_in * conv.kernel_size[0]
            c_in = conv.out_channels
        d, n = cfg.d_model, t
        macs += n * d * cfg.pos_kernel
        per_block = n * (4 * d * d + 2 * d * cfg.ffn_hidden) + 2 * n * n * d  # q, k, v, proj, FFN; qk^T and att v
        return macs + cfg.n_layers * per_block + d * self.n_outputs
