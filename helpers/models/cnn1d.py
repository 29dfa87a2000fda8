"""A small 1D convolutional network for single-lead ECG classification.

The whole model: a stack of conv-BN-ReLU blocks, each halving the time axis by max pooling, then global
average pooling over time and a linear head. Global average pooling makes the network indifferent to the input
length and to where in the window a beat falls (an AF window is AF wherever you crop it).

The defaults suit 10 s windows at 100-125 Hz (1,000-1,250 samples) and train on a laptop CPU: about 54k
parameters, a receptive field of ~1.7 s at 125 Hz (two or three beats, enough to see RR irregularity and
missing P waves), and ~9 M multiply-accumulates per window.

Example
-------
>>> model = CNN1D(in_channels=1, n_outputs=2, input_length=1250)   # doctest: +SKIP
CNN1D: 54,418 parameters
>>> model(torch.randn(8, 1, 1250)).shape                           # doctest: +SKIP
torch.Size([8, 2])
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .layers import ConvBNAct


@dataclass
class CNN1DConfig:
    """Hyper-parameters of :class:`CNN1D` (defaults sized for CPU training on 10 s windows at ~125 Hz)."""

    channels: tuple[int, ...] = (16, 32, 32, 64, 64)  # feature maps per block; one max-pool per block
    kernel_size: int = 7  # odd; 7 samples = 56 ms at 125 Hz, about the width of a QRS complex
    pool_size: int = 2  # time downsampling per block
    dropout: float = 0.3  # on the pooled features, before the head
    act: str = "relu"
    verbose: bool = True  # print the parameter count at construction


class CNN1D(nn.Module):
    """1D-CNN classifier: ``(B, in_channels, T)`` float32 -> logits ``(B, n_outputs)``.

    Parameters
    ----------
    in_channels : int
        Number of leads / signal channels.
    n_outputs : int
        Number of classes (binary tasks use 2 and cross-entropy).
    input_length : int, optional
        Expected number of samples T. Only checked (the network accepts any T that survives the pooling);
        given, it lets :meth:`estimate_macs` work without an argument.
    config : CNN1DConfig, optional
    **kwargs
        Overrides of individual ``CNN1DConfig`` fields, e.g. ``channels=(8, 16, 32)``.
    """

    def __init__(self, in_channels: int, n_outputs: int, input_length: int | None = None, *,
                 config: CNN1DConfig | None = None, **kwargs):
        super().__init__()
        config = replace(config or CNN1DConfig(), **_check_kwargs(kwargs))
        if in_channels < 1 or n_outputs < 1:
            raise ValueError(f"in_channels and n_outputs must be >= 1, got {in_channels}, {n_outputs}")
        self.config, self.in_channels, self.n_outputs = config, in_channels, n_outputs
        self.min_length = config.pool_size ** len(config.channels)  # shorter inputs pool down to nothing
        if input_length is not None and input_length < self.min_length:
            raise ValueError(f"input_length={input_length} is too short for {len(config.channels)} pooling "
                             f"blocks of size {config.pool_size}: need at least {self.min_length} samples")
        self.input_length = input_length

        blocks, c_in = [], in_channels
        for c_out in config.channels:
            blocks.append(nn.Sequential(ConvBNAct(c_in, c_out, config.kernel_size, act=config.act),
                                        nn.MaxPool1d(config.pool_size)))
            c_in = c_out
        self.blocks = nn.ModuleList(blocks)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(c_in, n_outputs)
        self.grad_checkpointing = False
        if config.verbose:
            print(f"CNN1D: {self.get_num_params():,} parameters")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3 or x.shape[1] != self.in_channels:
            raise ValueError(f"CNN1D expects input (B, {self.in_channels}, T), got {tuple(x.shape)}")
        if x.shape[-1] < self.min_length:
            raise ValueError(f"input has {x.shape[-1]} samples; this CNN1D needs at least {self.min_length}")
        for block in self.blocks:  # each: (B, C_in, T) -> (B, C_out, T // pool_size)
            if self.grad_checkpointing and self.training:
                # recompute activations in backward instead of storing them (memory for compute); note that
                # BatchNorm's running statistics see each batch twice, which only matters for their momentum
                x = checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        x = x.mean(dim=-1)  # (B, C_last): global average pooling over time
        return self.head(self.dropout(x))  # (B, n_outputs)

    def set_grad_checkpointing(self, enabled: bool = True) -> None:
        """Trade compute for memory: recompute each block's activations during backward."""
        self.grad_checkpointing = enabled

    def get_num_params(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def estimate_macs(self, input_length: int | None = None) -> int:
        """Multiply-accumulate operations for one forward pass of one window (convolutions and head).

        Parameters
        ----------
        input_length : int, optional
            Samples per window; defaults to the ``input_length`` given at construction.

        Returns
        -------
        int
            MACs per example (FLOPs are about twice this).
        """
        t = input_length or self.input_length
        if t is None:
            raise ValueError("pass input_length (samples per window) or build the model with one")
        macs, c_in = 0, self.in_channels
        for c_out in self.config.channels:
            macs += t * c_out * c_in * self.config.kernel_size  # 'same' conv keeps T
            t, c_in = t // self.config.pool_size, c_out
        return macs + c_in * self.n_outputs


def _check_kwargs(kwargs: dict) -> dict:
    known = {f.name for f in fields(CNN1DConfig)}
    unknown = set(kwargs) - known
    if unknown:
        raise TypeError(f"unknown CNN1D option(s) {sorted(unknown)}; CNN1DConfig has {sorted(known)}")
    if "channels" in kwargs:
        kwargs["channels"] = tuple(kwargs["channels"])
    return kwargs
