"""Building blocks shared by the model families (one place, not copied into each model).

Every block takes and returns tensors shaped ``(B, C, T)``: batch, channels (leads or feature maps), time.

Padding, inside the models: ``keep`` is the complement of the public ``padding_mask`` (see ``base.py``), shaped
``(B, 1, T)`` so that it broadcasts over channels, 1 (or True) at signal and 0 at padding, or None when nothing is
padded (the fast path). The helpers below carry it through convolutions and pooling.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

# How mish() computes under torch.compile: "exp" (one exponential, below) or "native" (torch's own decomposition).
# A switch so that benchmarks/transformer_throughput.py can measure the difference (--mish); "exp" is the default.
MISH_WHEN_COMPILING = "exp"


def mish_exp(x: torch.Tensor) -> torch.Tensor:
    """Mish computed with one exponential: x * n (n + 2) / (n (n + 2) + 2), n = e^x. Same shape and dtype as x.

    Equal to x * tanh(softplus(x)) (substitute softplus = log(1 + n) into tanh). Why: Inductor computes torch's mish
    as tanh(log1p(exp(x))), two long libdevice routines per element, forward and again backward, enough to make
    fused BatchNorm-Mish kernels compute-bound on a GPU (measured: benchmarks/README.md). n is computed from
    min(x, 20): above that, the ratio is 1 to within float32 rounding and e^x would overflow beyond 88.
    """
    xf = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x  # at least float32 inside
    n = torch.exp(xf.clamp(max=20.0))
    w = n * (n + 2.0)
    return (xf * (w / (w + 2.0))).to(x.dtype)


def mish(x: torch.Tensor) -> torch.Tensor:
    """Mish (Misra, 2019), x * tanh(softplus(x)): ``F.mish`` in eager mode, ``mish_exp`` under torch.compile."""
    if torch.compiler.is_compiling() and MISH_WHEN_COMPILING == "exp":
        return mish_exp(x)
    return F.mish(x)


class Mish(nn.Module):
    """``nn.Mish`` that compiles to one exponential per element (see ``mish``); no parameters."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return mish(x)


class RMSNorm(nn.RMSNorm):
    """``nn.RMSNorm`` whose scale follows the input's dtype, so that bf16/fp16 autocast keeps the fused kernel.

    Why: under autocast the residual stream is bf16 while the weight stays float32; ATen's fused RMSNorm needs
    both in one dtype, so ``nn.RMSNorm`` warns ("Mismatch dtype between input and weight") and falls back to an
    unfused composite of several kernels. Casting the (d_model,) scale costs one tiny kernel; the fused kernel
    still accumulates the mean square in float32. Same parameters and state dict as ``nn.RMSNorm``.
    Shapes: ``(..., d_model) -> (..., d_model)``, dtype of the input.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = None if self.weight is None else self.weight.to(x.dtype)
        return F.rms_norm(x, self.normalized_shape, weight, self.eps)


def zero_padding(x: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
    """``x`` (B, C, ..., T) with its padded samples set to 0; ``keep`` (B, 1, ..., T) or None (returns x).

    Why: a convolution near the end of a signal must see zeros beyond it, exactly as its own 'same' padding
    gives the unpadded signal; BatchNorm's shift and the activation make padded positions non-zero again, so
    this is applied before every convolution.
    """
    return x if keep is None else x * keep.to(x.dtype)


def pool_keep(keep: torch.Tensor, pool: int) -> torch.Tensor:
    """``keep`` (B, 1, T) after a max-pool of size and stride ``pool``: (B, 1, T // pool).

    A pooled step is signal only if all of its ``pool`` inputs were (right padding: its last input is); this
    floors like ``max_pool1d``, so a signal of L samples keeps L // pool steps, as it would alone.
    """
    return keep[..., pool - 1::pool]


_ACTIVATIONS = {"relu": nn.ReLU, "mish": Mish, "gelu": nn.GELU, "silu": nn.SiLU}


def get_activation(name: str | nn.Module) -> nn.Module:
    """Return a fresh activation module.

    Parameters
    ----------
    name : str or nn.Module
        One of ``"relu"``, ``"mish"``, ``"gelu"``, ``"silu"``, or a module (returned unchanged).

    Returns
    -------
    nn.Module
    """
    if isinstance(name, nn.Module):
        return name
    try:
        return _ACTIVATIONS[name.lower()]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(_ACTIVATIONS)}") from None


class ConvBNAct(nn.Sequential):
    """Conv1d -> BatchNorm1d -> activation, with 'same' padding for odd kernels.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int
        Odd, so that 'same' padding keeps the time axis centred.
    stride, dilation : int
    act : str or nn.Module
        Activation (``"relu"`` by default).

    Shapes: ``(B, in_channels, T) -> (B, out_channels, ceil(T / stride))``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 7, *, stride: int = 1,
                 dilation: int = 1, act: str | nn.Module = "relu"):
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd for 'same' padding, got {kernel_size}")
        padding = dilation * (kernel_size - 1) // 2
        super().__init__(
            # no bias: BatchNorm's shift makes it redundant
            nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                      dilation=dilation, bias=False),
            nn.BatchNorm1d(out_channels),
            get_activation(act),
        )


class ConvPoolStack(nn.ModuleList):
    """One :class:`ConvBNAct` then a max-pool per entry of ``channels``, run padding-aware.

    ``(B, in_channels, T) -> (B, channels[-1], T // pool_size ** len(channels))``. The feature extractor of the
    course's plain CNNs (:class:`~helpers.models.cnn1d.CNN1D`, the waveform branch of
    :class:`~helpers.models.beat_cnn.BeatCNN`) and the front end of :class:`~helpers.models.cnn_lstm.CNNLSTM`; a
    ``ModuleList`` so that its blocks keep the parameter names ``blocks.<i>.0.0.weight`` of the models that hold it
    as ``blocks``.
    """

    def __init__(self, in_channels: int, channels: tuple[int, ...], kernel_size: int, pool_size: int,
                 act: str = "relu"):
        blocks, c_in = [], in_channels
        for c_out in channels:
            blocks.append(nn.Sequential(ConvBNAct(c_in, c_out, kernel_size, act=act), nn.MaxPool1d(pool_size)))
            c_in = c_out
        super().__init__(blocks)
        self.pool_size, self.out_channels = pool_size, c_in

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None, *,
                checkpointing: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x`` (B, C, T) and ``keep`` (B, 1, T) bool (True at signal; None: nothing padded) after every block.

        ``checkpointing`` recomputes each block's activations in backward instead of storing them (memory for
        compute); BatchNorm's running statistics then see each batch twice, which only matters for their momentum.
        """
        for block in self:  # each: (B, C_in, T) -> (B, C_out, T // pool_size)
            x = zero_padding(x, keep)  # padding must not leak into the convolution
            x = checkpoint(block, x, use_reentrant=False) if checkpointing else block(x)
            keep = None if keep is None else pool_keep(keep, self.pool_size)
        return x, keep


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation (Hu et al., 2018): rescale channels by a gate computed from their time average.

    Parameters
    ----------
    channels : int
    reduction : int
        Bottleneck factor of the gating MLP.

    Shapes: ``x (B, C, T)``, optional ``mask (B, T)`` bool with True at valid (non-padded) samples, so that
    padding does not dilute the channel averages; returns ``(B, C, T)``.
    """

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            s = x.mean(dim=-1)  # (B, C)
        else:
            m = mask[:, None, :].to(x.dtype)  # (B, 1, T)
            s = (x * m).sum(dim=-1) / m.sum(dim=-1).clamp_min(1.0)  # (B, C)
        g = torch.sigmoid(self.fc2(F.relu(self.fc1(s))))  # (B, C)
        return x * g[:, :, None]


class ResidualBlock1d(nn.Module):
    """Two dilated convolutions with BatchNorm, an optional squeeze-excite gate and an identity shortcut.

    Parameters
    ----------
    channels : int
    kernel_size, dilation : int
    act : str or nn.Module
    se_reduction : int or None
        None disables squeeze-and-excitation.

    Shapes: ``(B, C, T) -> (B, C, T)``.
    """

    def __init__(self, channels: int, kernel_size: int = 7, *, dilation: int = 1, act: str = "relu",
                 se_reduction: int | None = 4):
        super().__init__()
        self.conv1 = ConvBNAct(channels, channels, kernel_size, dilation=dilation, act=act)
        padding = dilation * (kernel_size - 1) // 2
        self.conv2 = nn.Conv1d(channels, channels, kernel_size, padding=padding, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm1d(channels)
        self.se = SqueezeExcite(channels, se_reduction) if se_reduction else None
        self.act = get_activation(act)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.bn2(self.conv2(self.conv1(x)))  # (B, C, T)
        if self.se is not None:
            h = self.se(h, mask)
        return self.act(x + h)
