"""CNNLSTM: a convolutional front end followed by a bidirectional LSTM, for 1D physiological signals.

    x (B, C_in, T) ──3 x [conv, BN, ReLU, max-pool 2]──> (B, 128, T/8) ──BiLSTM──> (B, T/8, 2H)
      ──mean and max over valid steps──> (B, 4H) ──head──> logits (B, n_outputs)

The convolutions extract local waveform features and shorten the sequence 8x; the LSTM reads them in order in
both directions, carrying rhythm information along the sequence in its state. Compared with the
SignalTransformer it has no attention (cost linear in length, but strictly sequential, so slower on a GPU) and
far fewer parameters (0.37 M with the defaults, 1 input channel).

Variable length: pass ``padding_mask`` (B, T), True = padding (the convention of ``base.py``). Padded samples are
zeroed before every convolution, the LSTM runs on packed sequences, and pooling ignores padded steps, so in eval
mode a right-padded signal gives the logits of the unpadded one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .base import ModelConfig, SignalModel, merge_config
from .layers import ConvPoolStack


@dataclass
class CNNLSTMConfig(ModelConfig):
    channels: tuple[int, ...] = (32, 64, 128)  # one conv block (with 2x max-pooling) per entry
    kernel_size: int = 7
    lstm_hidden: int = 128  # per direction
    lstm_layers: int = 1
    head_hidden: int = 64
    dropout: float = 0.2
    # small(): about 25 k parameters, channels 16-32 and an LSTM of 32 units per direction (CPU lessons and tests)
    SMALL: ClassVar[dict[str, Any]] = {"channels": (16, 32), "lstm_hidden": 32, "head_hidden": 32}


class CNNLSTM(SignalModel):
    """CNN front end + bidirectional LSTM: ``(B, in_channels, T)`` float32 -> logits ``(B, n_outputs)``.

    Parameters
    ----------
    in_channels, n_outputs : int
    input_length : int, optional
        Samples per window; recorded and checked against the front end's downsampling (8x by default).
    config : CNNLSTMConfig, optional
    **overrides
        Fields of ``CNNLSTMConfig``, e.g. ``lstm_hidden=64``.

    Notes
    -----
    ``set_grad_checkpointing()`` recomputes the convolution blocks (the full-resolution activations, which
    dominate memory) in the backward pass; their BatchNorm running statistics then see each batch twice.
    """

    def __init__(self, in_channels: int, n_outputs: int, input_length: int | None = None, *,
                 fs: float | None = None, config: CNNLSTMConfig | None = None, **overrides):
        super().__init__(in_channels, n_outputs, input_length, fs=fs)
        cfg = merge_config(CNNLSTMConfig, config, overrides, "CNNLSTM")
        self.config = cfg
        self.min_length = 2 ** len(cfg.channels)  # each conv block halves the time axis
        self.check_length()
        self.frontend = ConvPoolStack(in_channels, cfg.channels, cfg.kernel_size, pool_size=2, act="relu")
        self.lstm = nn.LSTM(self.frontend.out_channels, cfg.lstm_hidden, num_layers=cfg.lstm_layers, batch_first=True,
                            bidirectional=True, dropout=cfg.dropout if cfg.lstm_layers > 1 else 0.0)
        self.head = nn.Sequential(
            nn.Dropout(cfg.dropout), nn.Linear(4 * cfg.lstm_hidden, cfg.head_hidden), nn.ReLU(),
            nn.Linear(cfg.head_hidden, n_outputs),
        )

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, C_in, T) float, padding_mask (B, T) bool (True = padding) -> logits (B, n_outputs)."""
        self.check_input(x, padding_mask)
        keep = self.keep_mask(x, padding_mask)  # (B, 1, T) bool, True at signal; None: nothing padded
        x, keep = self.frontend(x, keep, checkpointing=self.grad_checkpointing and self.training)  # (B, C, T')
        h = x.transpose(1, 2)  # (B, T', C)
        if keep is None:
            out, _ = self.lstm(h)  # (B, T', 2H)
            pooled = torch.cat([out.mean(dim=1), out.amax(dim=1)], dim=1)
        else:
            lengths = keep[:, 0, :].sum(dim=1)  # (B,) valid steps after the front end
            packed = pack_padded_sequence(h, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=h.shape[1])
            valid = keep[:, 0, :, None]  # (B, T', 1)
            mean = (out * valid).sum(dim=1) / lengths[:, None].to(out.dtype)
            maxed = out.masked_fill(~valid, float("-inf")).amax(dim=1)
            pooled = torch.cat([mean, maxed], dim=1)  # (B, 4H)
        return self.head(pooled)
