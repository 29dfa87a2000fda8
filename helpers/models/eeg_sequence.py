"""EEG emotion models over a sequence of windows: a per-window CNN, then an LSTM or a Transformer encoder.

    x (B, C, T) ──cut into N windows of `window` samples, hop `step`──> (B*N, C, W)
      ──WindowEncoder: spatial filters (1x1 conv over channels) -> temporal filters (conv in time)
                       -> log mean power per filter -> linear──> (B, N, D)
      ──EEGCNNLSTM: unidirectional LSTM, output at the last valid window──────────┐
      ──EEGCNNTransformer: rotary pre-norm blocks, mean over valid windows────────┴──> head ──> logits (B, n_outputs)

Why this shape. Emotion information in EEG is mostly spectral and spatial (band power and its asymmetry over
the scalp), so the window encoder is a ShallowConvNet-like learnable filter bank (Schirrmeister et al., 2017):
spatial filters first (linear mixtures of electrodes, as CSP finds; cheap because later convolutions see fewer
channels), then temporal filters (band-pass-like kernels of ``kernel_size`` samples), then the log of the mean
squared output over the window: a learned log band power per (spatial, temporal) filter. The sequence model then
reads how these powers evolve over the segment, window after window (Unit 3's "windows of 1 s, 50% overlap").

Why windows are cut inside the model. The base contract (``base.py``) is ``forward(x (B, C, T), padding_mask)``;
keeping it means ``fit``, ``predict_proba``, ``Records`` and the contract test work unchanged, and a notebook
swaps these models in one line. The input is a *segment* (several seconds of a trial, e.g. 4 s = 512 samples at
DEAP's 128 Hz); ``window`` and ``step`` are samples (defaults 128 and 64: 1 s windows with 50% overlap at 128 Hz).
Only whole windows are used: a segment of L samples gives ``(L - window) // step + 1`` windows, so
``min_length == window``, and one window alone (the streaming case) is a sequence of length 1.

Padding: ``padding_mask`` (B, T), True = padding, right-padded (the convention of ``base.py``). Padded samples
are zeroed, a window is valid only if all of its samples are, the LSTM runs on packed sequences and reads out at
the last valid window, and attention and pooling ignore invalid windows; so in eval mode a padded row gives the
logits of the unpadded segment alone.

LSTM or Transformer. The LSTM is unidirectional (causal): its state after window n summarises windows 1..n, which
is what a near-real-time classifier can know. The Transformer encoder attends over all windows of the segment at
once (rotary positions, so it sees window order); on segments of a few windows the two cost about the same.

Both are small on purpose (13.4 k and 15.4 k parameters with the defaults and 32 channels): DEAP has 32
subjects x 40 trials, and published subject-independent accuracies are modest (often 55-65% for high/low valence
or arousal); a large model mostly learns the training subjects.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.utils.checkpoint import checkpoint

from .base import ModelConfig, SignalModel, merge_config
from .layers import zero_padding
from .transformer_blocks import TransformerBlock, rotary_cos_sin


@dataclass
class EEGSequenceConfig(ModelConfig):
    window: int = 128  # samples per window (1 s at DEAP's 128 Hz)
    step: int = 64  # samples between window starts (50% overlap)
    spatial_filters: int = 16  # 1x1 convolution over the electrodes
    temporal_filters: int = 16  # band-pass-like kernels after the spatial filters
    kernel_size: int = 15  # samples (~120 ms at 128 Hz: more than one alpha cycle)
    d_model: int = 32  # per-window feature size fed to the sequence model
    hidden: int = 32  # LSTM units, or the Transformer's feed-forward width is 2 * hidden
    n_layers: int = 1
    n_heads: int = 2  # Transformer only
    dropout: float = 0.25

    @classmethod
    def sized(cls, size: str, **overrides) -> EEGSequenceConfig:
        """A named size for latency/accuracy tables: ``"tiny"``, ``"small"`` (the defaults), ``"medium"``, ``"large"``."""
        sizes = {"tiny": {"spatial_filters": 8, "temporal_filters": 8, "d_model": 16, "hidden": 16},
                 "small": {},
                 "medium": {"spatial_filters": 32, "temporal_filters": 32, "d_model": 64, "hidden": 64},
                 "large": {"spatial_filters": 64, "temporal_filters": 64, "d_model": 128, "hidden": 128,
                           "n_layers": 2}}
        if size not in sizes:
            raise ValueError(f"size must be one of {list(sizes)}, got {size!r}")
        return cls(**{**sizes[size], **overrides})


class WindowEncoder(nn.Module):
    """One window ``(N, C, W)`` -> features ``(N, d_model)``: spatial filters, temporal filters, log power."""

    def __init__(self, in_channels: int, cfg: EEGSequenceConfig):
        super().__init__()
        self.spatial = nn.Conv1d(in_channels, cfg.spatial_filters, 1, bias=False)
        self.temporal = nn.Conv1d(cfg.spatial_filters, cfg.temporal_filters, cfg.kernel_size,
                                  padding=cfg.kernel_size // 2, bias=False)
        self.norm = nn.BatchNorm1d(cfg.temporal_filters)
        self.proj = nn.Sequential(nn.Linear(cfg.temporal_filters, cfg.d_model), nn.GELU(), nn.Dropout(cfg.dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, W)
        h = self.norm(self.temporal(self.spatial(x)))  # (N, F, W)
        # log of the mean power: band power is roughly log-normal across windows and subjects; the log turns
        # multiplicative gains (skull, impedance) into offsets the next layer can remove. +1e-4: log(0) guard.
        power = torch.log(h.pow(2).mean(dim=-1) + 1e-4)  # (N, F)
        return self.proj(power)  # (N, D)


class _EEGSequenceModel(SignalModel):
    """Shared plumbing: config, window cutting, encoder, head. Subclasses define ``sequence`` (the middle)."""

    def __init__(self, in_channels: int, n_outputs: int, input_length: int | None = None, *,
                 fs: float | None = None, config: EEGSequenceConfig | None = None, **overrides):
        super().__init__(in_channels, n_outputs, input_length, fs=fs)
        cfg = merge_config(EEGSequenceConfig, config, overrides, type(self).__name__)
        for name in ("window", "step", "spatial_filters", "temporal_filters", "kernel_size", "d_model", "hidden",
                     "n_layers"):
            value = getattr(cfg, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{type(self).__name__}: config.{name} must be a positive integer, got {value!r}")
        self.config = cfg
        self.min_length = cfg.window  # only whole windows are used
        self.check_length()
        self.encoder = WindowEncoder(in_channels, cfg)
        self.head = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(self._head_in(), n_outputs))

    def _head_in(self) -> int:
        return self.config.d_model

    def n_windows(self, n_samples: int) -> int:
        """Whole windows in a segment of ``n_samples``: ``(n_samples - window) // step + 1`` (0 if too short)."""
        w, s = self.config.window, self.config.step
        return 0 if n_samples < w else (n_samples - w) // s + 1

    def encode_windows(self, x: torch.Tensor, padding_mask: torch.Tensor | None):
        """x (B, C, T) -> window features (B, N, D) and the window keep-mask (B, N) bool, or None."""
        cfg = self.config
        keep = self.keep_mask(x, padding_mask)  # (B, 1, T) True at signal, or None
        x = zero_padding(x, keep)
        B, C, _ = x.shape
        windows = x.unfold(-1, cfg.window, cfg.step)  # (B, C, N, W), a view
        N = windows.shape[2]
        windows = windows.permute(0, 2, 1, 3).reshape(B * N, C, cfg.window)  # (B*N, C, W)
        if self.grad_checkpointing and self.training:
            feats = checkpoint(self.encoder, windows, use_reentrant=False)
        else:
            feats = self.encoder(windows)
        feats = feats.view(B, N, -1)  # (B, N, D)
        if keep is None:
            return feats, None
        lengths = keep[:, 0, :].sum(dim=1)  # (B,) valid samples
        n_valid = torch.div(lengths - cfg.window, cfg.step, rounding_mode="floor") + 1  # (B,) whole windows
        win_keep = torch.arange(N, device=x.device)[None, :] < n_valid[:, None]  # (B, N)
        return feats, win_keep

    def sequence(self, h: torch.Tensor, win_keep: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, C, T) float, padding_mask (B, T) bool (True = padding) -> logits (B, n_outputs)."""
        self.check_input(x, padding_mask)
        h, win_keep = self.encode_windows(x, padding_mask)  # (B, N, D), (B, N) or None
        return self.head(self.sequence(h, win_keep))  # (B, n_outputs)


class EEGCNNLSTM(_EEGSequenceModel):
    """Per-window CNN + unidirectional LSTM over the windows: ``(B, C, T)`` float32 -> logits ``(B, n_outputs)``.

    Parameters
    ----------
    in_channels, n_outputs : int
        Electrodes (32 for DEAP's EEG; 40 with the peripheral channels: early fusion), classes.
    input_length : int, optional
        Samples per segment (e.g. 512 = 4 s at 128 Hz); checked against ``window``.
    config : EEGSequenceConfig, optional
    **overrides
        Fields of ``EEGSequenceConfig``, e.g. ``hidden=64`` or ``window=256, step=128``.
    """

    def __init__(self, in_channels: int, n_outputs: int, input_length: int | None = None, *,
                 fs: float | None = None, config: EEGSequenceConfig | None = None, **overrides):
        super().__init__(in_channels, n_outputs, input_length, fs=fs, config=config, **overrides)
        cfg = self.config
        self.lstm = nn.LSTM(cfg.d_model, cfg.hidden, num_layers=cfg.n_layers, batch_first=True,
                            dropout=cfg.dropout if cfg.n_layers > 1 else 0.0)

    def _head_in(self) -> int:
        return self.config.hidden

    def sequence(self, h: torch.Tensor, win_keep: torch.Tensor | None) -> torch.Tensor:  # (B, N, D) -> (B, H)
        if win_keep is None:
            out, _ = self.lstm(h)  # (B, N, H)
            return out[:, -1]  # causal: the state after the last window has read them all
        n_valid = win_keep.sum(dim=1)  # (B,)
        packed = pack_padded_sequence(h, n_valid.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=h.shape[1])
        return out[torch.arange(h.shape[0], device=h.device), n_valid - 1]  # (B, H) at each row's last valid window


class EEGCNNTransformer(_EEGSequenceModel):
    """Per-window CNN + Transformer encoder over the windows: ``(B, C, T)`` float32 -> logits ``(B, n_outputs)``.

    Same parameters as :class:`EEGCNNLSTM`; ``n_layers`` pre-norm blocks of ``n_heads`` heads with rotary
    positions (window order), feed-forward width ``2 * hidden``, then the mean over valid windows.
    """

    def __init__(self, in_channels: int, n_outputs: int, input_length: int | None = None, *,
                 fs: float | None = None, config: EEGSequenceConfig | None = None, **overrides):
        super().__init__(in_channels, n_outputs, input_length, fs=fs, config=config, **overrides)
        cfg = self.config
        if cfg.d_model % cfg.n_heads or (cfg.d_model // cfg.n_heads) % 2:
            raise ValueError(f"EEGCNNTransformer: d_model={cfg.d_model} must split into n_heads={cfg.n_heads} "
                             "heads of an even size (rotary embeddings rotate pairs)")
        self.blocks = nn.ModuleList(TransformerBlock(cfg.d_model, cfg.n_heads, 2 * cfg.hidden, cfg.dropout)
                                    for _ in range(cfg.n_layers))
        self.norm = nn.LayerNorm(cfg.d_model)

    def sequence(self, h: torch.Tensor, win_keep: torch.Tensor | None) -> torch.Tensor:  # (B, N, D) -> (B, D)
        positions = torch.arange(h.shape[1], device=h.device)
        cos, sin = rotary_cos_sin(positions, self.config.d_model // self.config.n_heads)
        for block in self.blocks:
            h = block(h, cos, sin, win_keep)  # (B, N, D)
        h = self.norm(h)
        if win_keep is None:
            return h.mean(dim=1)
        w = win_keep[..., None].to(h.dtype)  # (B, N, 1)
        return (h * w).sum(dim=1) / w.sum(dim=1)
