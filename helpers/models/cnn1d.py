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
CNN1D: 0.05 M parameters (54,418)
>>> model(torch.randn(8, 1, 1250)).shape                           # doctest: +SKIP
torch.Size([8, 2])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import ConvStackConfig, SignalModel, merge_config
from .layers import ConvPoolStack


@dataclass
class CNN1DConfig(ConvStackConfig):
    """Hyper-parameters of :class:`CNN1D`: the conv-pool stack's (:class:`~helpers.models.base.ConvStackConfig`,
    whose defaults are sized for this model: CPU training on 10 s windows at ~125 Hz) and nothing more."""


class CNN1D(SignalModel):
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

    Notes
    -----
    ``forward(x, padding_mask=None)`` follows the contract of ``base.py``: with a padding mask, padded samples are
    zeroed before every convolution and the global average covers valid steps only, so in eval mode a
    right-padded signal gives the logits of the unpadded one.
    """

    def __init__(self, in_channels: int, n_outputs: int, input_length: int | None = None, *,
                 fs: float | None = None, config: CNN1DConfig | None = None, **kwargs):
        super().__init__(in_channels, n_outputs, input_length, fs=fs)
        config = merge_config(CNN1DConfig, config, kwargs, "CNN1D")
        self.config = config
        self.min_length = config.pool_size ** len(config.channels)  # shorter inputs pool down to nothing
        self.check_length()

        self.blocks = ConvPoolStack(in_channels, config.channels, config.kernel_size, config.pool_size, config.act)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(self.blocks.out_channels, n_outputs)

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        self.check_input(x, padding_mask)
        keep = self.keep_mask(x, padding_mask)  # (B, 1, T) bool, True at signal; None: nothing padded
        x, keep = self.blocks(x, keep, checkpointing=self.grad_checkpointing and self.training)  # (B, C_last, T')
        if keep is None:
            x = x.mean(dim=-1)  # (B, C_last): global average pooling over time
        else:
            w = keep.to(x.dtype)  # (B, 1, T'): average over the valid steps only
            x = (x * w).sum(dim=-1) / w.sum(dim=-1)
        return self.head(self.dropout(x))  # (B, n_outputs)

