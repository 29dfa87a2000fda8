"""SignalTransformer: a temporal CNN backbone followed by a Transformer encoder, for 1D physiological signals.

    x (B, C_in, T) ──stem──> 4 CNN stages (32, 64, 128, 256 channels; stride 2 between stages) ──> (B, 256, T/8)
      ──> 6 pre-norm Transformer blocks (RMSNorm, rotary attention, SwiGLU) ──> attention pooling ──> head ──> logits

Why this shape: the convolutions learn local morphology (a QRS complex, a spindle) cheaply at the full sampling
rate and shorten the sequence 8x; attention then relates events far apart in time (rhythm, irregular RR
intervals) on the short sequence, where its T^2 cost is small.

Variable length: pass ``padding_mask`` (B, T), True = padding (the convention of ``base.py``). The backbone zeroes
padded samples before every convolution and squeeze-and-excitation averages over valid samples only, so in eval
mode a right-padded signal gives exactly the logits of the unpadded one. (In train mode BatchNorm's batch
statistics still see the zeroed padding; that is the usual and accepted compromise.)

Memory layout: by default the backbone runs its activations as (B, C, 1, T) tensors in ``torch.channels_last``
memory format, each Conv1d computed as a 2D convolution of height 1 (same weights, same numbers), because cuDNN's
fast convolution kernels want channels last and would otherwise wrap every convolution in NCW <-> NWC transposes.
``channels_last=False`` keeps the plain (B, C, T) layout. Other choices made for GPU speed without changing the
function computed: queries, keys and values stay time-major in memory, Mish compiles to one exponential per
element (``layers.mish``), rotary tables are precomputed; and one default that does change training
regularisation: no dropout on the attention probabilities (``attention_dropout=0``, as in timm). The measurements
behind each choice are in benchmarks/README.md.

Parameter count with the default config (1 input channel, 2 outputs): 8.33 M, printed at construction
(1.80 M in the CNN backbone, 6.29 M in the six Transformer blocks, 0.23 M in pooling and head).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from .base import ModelConfig, SignalModel, merge_config
from .layers import ConvBNAct, Mish, RMSNorm, SqueezeExcite, mish, zero_padding
from .transformer_blocks import AttentionPool, TransformerBlock, rotary_cos_sin


@dataclass
class SignalTransformerConfig(ModelConfig):
    # temporal CNN backbone
    stem_kernel: int = 7
    channels: tuple[int, ...] = (32, 64, 128, 256)  # one entry per stage
    blocks: tuple[int, ...] = (2, 2, 3, 3)  # residual blocks per stage
    kernel_size: int = 3
    dilations: tuple[int, ...] = (1, 2, 4)  # cycled over the blocks of a stage
    se_reduction: int = 4  # squeeze-and-excitation bottleneck: channels // se_reduction
    channels_last: bool = True  # run the backbone as (B, C, 1, T) channels-last (faster on GPUs; same model)
    # Transformer encoder
    d_model: int = 256
    n_layers: int = 6
    n_heads: int = 8
    ffn_hidden: int = 1024  # SwiGLU hidden width (a multiple of 64 suits tensor cores)
    rope_base: float = 10000.0
    rope_cache_len: int = 4096  # tokens (x8 samples) whose rotary tables are precomputed; longer inputs still work
    dropout: float = 0.1  # on the residual branches (attention output, feed-forward output) and in the head
    # On the attention probabilities. 0 as in timm's ViT and most current Transformers: the residual dropout above
    # regularises, and this one costs compiled training throughput (benchmarks/README.md).
    attention_dropout: float = 0.0
    # pooling and head
    pool_heads: int = 8
    head_hidden: int = 128
    # small(): a ~0.2 M-parameter version for CPU lessons and tests, the same design narrower and shallower:
    # channels 16-32-64-64 with one block per stage, a 2-layer encoder of width 64 with 4 heads
    SMALL: ClassVar[dict[str, Any]] = {"channels": (16, 32, 64, 64), "blocks": (1, 1, 1, 1), "d_model": 64,
                                       "n_layers": 2, "n_heads": 4, "ffn_hidden": 192, "pool_heads": 4,
                                       "head_hidden": 64}


# --------------------------------------------------------------------------------------------------------------
# Temporal CNN backbone, built from the shared blocks in layers.py. Every module here takes (x, keep) where
# keep (B, 1, T) is 1.0 on signal and 0.0 on padding, or None when nothing is padded (the fast path).
# The functions below run a block's layers on either layout: (B, C, T) calls the modules as they are; (B, C, 1, T)
# in channels-last memory calls the same weights as 2D convolutions of height 1, so cuDNN needs no transposes.
# --------------------------------------------------------------------------------------------------------------
def conv(layer: nn.Conv1d, x: torch.Tensor) -> torch.Tensor:
    """A Conv1d on (B, C, T), or on (B, C, 1, T) channels-last as the equivalent height-1 Conv2d."""
    if x.ndim == 3:
        return layer(x)
    y = F.conv2d(x, layer.weight.unsqueeze(2), layer.bias, stride=(1, layer.stride[0]),
                 padding=(0, layer.padding[0]), dilation=(1, layer.dilation[0]))  # (B, C_out, 1, T')
    # No-op except when x has one channel: its layout is then ambiguous and cuDNN answers in NCHW.
    return y.contiguous(memory_format=torch.channels_last)


def batch_norm(layer: nn.BatchNorm1d | nn.Identity, x: torch.Tensor) -> torch.Tensor:
    """BatchNorm1d on (B, C, T), or on (B, C, 1, T) (the module itself refuses 4D input); Identity once folded."""
    if x.ndim == 3 or isinstance(layer, nn.Identity):
        return layer(x)
    if layer.training:  # what BatchNorm1d.forward does besides F.batch_norm
        layer.num_batches_tracked.add_(1)
    return F.batch_norm(x, layer.running_mean, layer.running_var, layer.weight, layer.bias, layer.training,
                        layer.momentum, layer.eps)


def conv_bn_act(block: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """layers.ConvBNAct (conv, BatchNorm, activation) on either layout."""
    layer, bn, act = block
    return act(batch_norm(bn, conv(layer, x)))


def fold_batchnorm_into_conv(layer: nn.Conv1d, bn: nn.BatchNorm1d) -> None:
    """Inference only: scale the conv's weights and give it a bias so that conv(x) == bn(conv(x)) in eval mode."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # (C_out,)
    bias = bn.bias - bn.running_mean * scale
    if layer.bias is not None:
        bias = bias + layer.bias * scale
    layer.weight = nn.Parameter(layer.weight.detach() * scale.detach()[:, None, None])
    layer.bias = nn.Parameter(bias.detach())


class MaskedResidualBlock(nn.Module):
    """conv-BN-Mish, conv-BN, squeeze-excite, plus the input, then Mish. Dilated and length-preserving.

    Unlike ``layers.ResidualBlock1d`` it zeroes the padding between its two convolutions too: BatchNorm's shift
    and Mish make padded positions non-zero, and the second convolution would carry them into valid ones.
    """

    def __init__(self, channels: int, kernel_size: int, dilation: int, se_reduction: int):
        super().__init__()
        self.conv1 = ConvBNAct(channels, channels, kernel_size, dilation=dilation, act="mish")
        pad = dilation * (kernel_size - 1) // 2
        self.conv2 = nn.Conv1d(channels, channels, kernel_size, padding=pad, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm1d(channels)
        self.se = SqueezeExcite(channels, se_reduction)

    def forward(self, x, keep=None):  # (B, C, T) or (B, C, 1, T) -> same; x arrives already zero-padded
        h = zero_padding(conv_bn_act(self.conv1, x), keep)
        h = batch_norm(self.bn2, conv(self.conv2, h))
        valid = None if keep is None else keep.reshape(keep.shape[0], -1) > 0  # (B, T): SE averages valid steps
        if h.ndim == 4:
            h = self.se(h.squeeze(2), valid).unsqueeze(2)  # SE works on (B, C, T): a view, still channels last
        else:
            h = self.se(h, valid)
        return zero_padding(mish(h + x), keep)

    def fold_batchnorm(self) -> None:
        fold_batchnorm_into_conv(self.conv1[0], self.conv1[1])
        fold_batchnorm_into_conv(self.conv2, self.bn2)
        self.conv1[1], self.bn2 = nn.Identity(), nn.Identity()


class TemporalCNN(nn.Module):
    """Stem, then stages of residual blocks with stride-2 downsampling between them: (B, C_in, T) -> (B, C, T/8)."""

    def __init__(self, in_channels: int, cfg: SignalTransformerConfig):
        super().__init__()
        self.channels_last = cfg.channels_last
        self.stem = ConvBNAct(in_channels, cfg.channels[0], cfg.stem_kernel, act="mish")
        self.stages = nn.ModuleList()
        c_prev = cfg.channels[0]
        for i, (c, n) in enumerate(zip(cfg.channels, cfg.blocks)):
            # the first stage keeps the stem's resolution; each later one starts with a stride-2 conv
            self.stages.append(nn.ModuleDict({
                "down": ConvBNAct(c_prev, c, 3, stride=2, act="mish") if i > 0 else nn.Identity(),
                "blocks": nn.ModuleList(
                    MaskedResidualBlock(c, cfg.kernel_size, cfg.dilations[j % len(cfg.dilations)], cfg.se_reduction)
                    for j in range(n)),
            }))
            c_prev = c

    def forward(self, x, keep=None):  # x (B, C_in, T), keep (B, 1, T) float or None
        if self.channels_last:  # (B, C, T) -> (B, C, 1, T), stored time-major: each time step's C values adjacent
            x = x.unsqueeze(2).contiguous(memory_format=torch.channels_last)
            keep = None if keep is None else keep.unsqueeze(2)  # (B, 1, 1, T)
        x = zero_padding(conv_bn_act(self.stem, zero_padding(x, keep)), keep)
        for i, stage in enumerate(self.stages):
            if i > 0:  # stride 2, kernel 3: output t sees inputs 2t-1, 2t, 2t+1, so ceil(L / 2) outputs are valid
                keep = None if keep is None else keep[..., ::2]
                x = zero_padding(conv_bn_act(stage["down"], x), keep)
            for block in stage["blocks"]:
                x = block(x, keep)
        if self.channels_last:
            x, keep = x.squeeze(2), None if keep is None else keep.squeeze(2)  # (B, C, T/8), strides (T/8*C, 1, C)
        return x, keep

    @torch.no_grad()
    def fold_batchnorm(self) -> None:
        fold_batchnorm_into_conv(self.stem[0], self.stem[1])
        self.stem[1] = nn.Identity()
        for stage in self.stages:
            if isinstance(stage["down"], nn.Sequential):
                fold_batchnorm_into_conv(stage["down"][0], stage["down"][1])
                stage["down"][1] = nn.Identity()
            for block in stage["blocks"]:
                block.fold_batchnorm()


# --------------------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------------------
class SignalTransformer(SignalModel):
    """CNN + Transformer classifier: ``(B, in_channels, T)`` float32 -> logits ``(B, n_outputs)``.

    Parameters
    ----------
    in_channels, n_outputs : int
    input_length : int, optional
        Accepted for the shared model signature; rotary positions need no maximum length.
    config : SignalTransformerConfig, optional
    **overrides
        Fields of ``SignalTransformerConfig``, e.g. ``n_layers=4``.

    Notes
    -----
    ``set_grad_checkpointing()`` recomputes each Transformer block's activations in the backward pass (less
    memory, ~30% more compute). Only the Transformer blocks: recomputing the backbone's BatchNorm layers would
    update their running statistics twice per step.
    """

    def __init__(self, in_channels: int, n_outputs: int, input_length: int | None = None, *,
                 fs: float | None = None, config: SignalTransformerConfig | None = None, **overrides):
        super().__init__(in_channels, n_outputs, input_length, fs=fs)
        cfg = merge_config(SignalTransformerConfig, config, overrides, "SignalTransformer")
        self.config = cfg
        self.downsample = 2 ** (len(cfg.channels) - 1)
        self.backbone = TemporalCNN(in_channels, cfg)
        c_last = cfg.channels[-1]
        self.to_tokens = nn.Identity() if c_last == cfg.d_model else nn.Linear(c_last, cfg.d_model, bias=False)
        self.blocks = nn.ModuleList(
            TransformerBlock(cfg.d_model, cfg.n_heads, cfg.ffn_hidden, cfg.dropout, cfg.rope_base,
                             attention_dropout=cfg.attention_dropout)
            for _ in range(cfg.n_layers)
        )
        self.norm = RMSNorm(cfg.d_model, eps=1e-6)
        self.pool = AttentionPool(cfg.d_model, cfg.pool_heads)
        self.head = nn.Sequential(
            nn.Linear(cfg.d_model, cfg.head_hidden), Mish(), nn.Dropout(cfg.dropout),
            nn.Linear(cfg.head_hidden, n_outputs),
        )
        # Rotary tables for up to rope_cache_len tokens, computed once: recomputing sin/cos for every element of
        # q and k in every layer is a noticeable share of a compiled training step (benchmarks/README.md).
        cos, sin = rotary_cos_sin(torch.arange(cfg.rope_cache_len), cfg.d_model // cfg.n_heads, cfg.rope_base)
        self.register_buffer("rope_cos", cos, persistent=False)  # (rope_cache_len, hs/2)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2: scale the residual projections by depth
            if name.endswith(("attn.proj.weight", "ffn.w3.weight")):
                nn.init.normal_(p, mean=0.0, std=0.02 / (2 * cfg.n_layers) ** 0.5)

    @staticmethod
    def _init_weights(module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    def fold_batchnorm(self) -> SignalTransformer:
        """For inference: fold each BatchNorm of the backbone into the convolution before it. Eval mode only.

        The model computes the same function (in eval mode) with one pass less over each activation; it can no
        longer be trained, since its BatchNorm layers are gone. Fold a copy: ``copy.deepcopy(model).eval()``.
        """
        if self.training:
            raise RuntimeError("fold_batchnorm() uses the running statistics: call model.eval() first")
        self.backbone.fold_batchnorm()
        return self

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, C_in, T) float, padding_mask (B, T) bool (True = padding) -> logits (B, n_outputs)."""
        self.check_input(x, padding_mask)
        keep = self.keep_mask(x, padding_mask)  # (B, 1, T) bool, True at signal; None: nothing padded
        keep_f = None if keep is None else keep.to(x.dtype)  # 1.0 at signal, 0.0 at padding
        h, keep_f = self.backbone(x, keep_f)  # (B, 256, T/8)
        keep = None if keep_f is None else keep_f[:, 0, :].bool()  # (B, T/8)
        h = self.to_tokens(h.transpose(1, 2))  # (B, T/8, d_model); contiguous when the backbone is channels last
        T = h.shape[1]
        if T <= self.rope_cos.shape[0]:
            cos, sin = self.rope_cos[:T], self.rope_sin[:T]  # (T, hs/2)
        else:  # longer than the cache: compute the tables for this length
            cos, sin = rotary_cos_sin(torch.arange(T, device=h.device), self.config.d_model // self.config.n_heads,
                                      self.config.rope_base)
        for block in self.blocks:
            if self.grad_checkpointing and self.training:
                h = checkpoint(block, h, cos, sin, keep, use_reentrant=False)
            else:
                h = block(h, cos, sin, keep)
        pooled = self.pool(self.norm(h), keep)  # (B, d_model)
        return self.head(pooled)  # (B, n_outputs)
