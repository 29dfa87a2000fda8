"""A heartbeat classifier that reads the beat's shape and its timing: a small 1-D CNN fused with RR features.

A supraventricular premature beat (AAMI S) often looks like a normal one: what gives it away is that it comes
early. A ventricular beat (V) is wide and bizarre *and* early, followed by a pause. So the model has two
branches, fused before the classifier head::

    beat waveform (B, C_wave, L) -> conv-BN-ReLU-maxpool blocks -> global average + max pooling -> (B, 2 F)
    RR features   (B, 5)         -> log, scaled -> Linear-ReLU                                 -> (B, rr_hidden)
    concatenate -> dropout -> Linear-ReLU -> Linear -> logits (B, n_outputs)

How the RR features reach ``forward``
-------------------------------------
They ride in the input tensor as extra channels, each constant over the window: ``x`` is
``(B, C_wave + rr_features, L)``, the waveform leads first and the ``rr_features`` RR features last (build it with
:func:`beat_inputs`). The model reads them back as the mean of each RR channel over the (unpadded) window.
Why not ``forward(x, rr)``: :func:`helpers.train.fit` and everything around it (``evaluate``, ``predict_proba``,
record-level aggregation, :mod:`helpers.evaluate.explain`, ``torch.compile``, export) pass one tensor ``x`` to the model.
One tensor keeps them all unchanged and keeps the notebook to two lines::

    X = beat_inputs(beats.X, beats.rr)                       # (n, 1 + 5, 252)
    model = BeatCNN(in_channels=X.shape[1], n_outputs=4, input_length=X.shape[2])

The costs, stated: five channels of repeated numbers use 5 x more memory than the (n, 5) table (about 300 MB for
the 51,000 DS1 beats at 360 Hz), and an ``augment`` passed to ``fit`` sees the RR channels too (additive noise
averages out; an amplitude scaling would scale the RR features as well: augment ``x[:, :C_wave]`` only).
``in_channels`` keeps the meaning of the base contract, the channels of ``x``: with one lead and the five RR
features it is 6. ``rr_features=0`` gives the waveform-only CNN (the ablation: what does timing add?).

Patient-relative inputs fit the same channels: :func:`helpers.signal.patient_features.normalised_rr_features`
(five dimensionless ratios) for the RR channels, :func:`~helpers.signal.patient_features.relative_to_median_beat`
for (or beside) the waveform; ``benchmarks/mitbih_interpatient.py`` chose both by leave-patients-out validation.

RR normalisation: the features are positive (seconds, and ratios around 1), so the branch takes their log divided
by ``rr_log_scale`` (0.25): a normal beat's ratios map to 0, a beat 22% early to -1, the pause after it to about +1,
so premature and late beats are symmetric and of order 1, and no statistics of the training set need storing (a
BatchNorm over five features would fail on a training batch of one beat). The division matters: with the raw log
(differences of ~0.5) the RR branch learned a timing-only toy task in 20 epochs instead of 8
(``tests/test_beat_cnn.py``).

Sizes, at the defaults on 0.7 s beats at 360 Hz (L = 252, one lead + 5 RR channels): 21k parameters and 1.2 M
multiply-accumulates per beat (half that at 180 Hz), so an epoch over the 51,000 beats of DS1 takes about half a
minute on one CPU core (measured: 10,000 beats in 5.4 s at 360 Hz, 2.0 s at 180 Hz, one thread).

Example
-------
>>> X = beat_inputs(np.zeros((8, 1, 252), np.float32), np.ones((8, 5), np.float32))   # doctest: +SKIP
>>> model = BeatCNN(in_channels=X.shape[1], n_outputs=4, input_length=252)            # doctest: +SKIP
BeatCNN: 0.02 M parameters (21,076)
>>> model(torch.as_tensor(X)).shape                                                     # doctest: +SKIP
torch.Size([8, 4])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .base import ConvStackConfig, SignalModel, merge_config
from .layers import ConvPoolStack, get_activation

#: Smallest RR value (s, or ratio) the log sees: a zero or negative feature (an attribution baseline of zeros, a
#: bug upstream) gives a large negative number instead of -inf / NaN.
RR_FLOOR = 1e-2


@dataclass
class BeatCNNConfig(ConvStackConfig):
    """Hyper-parameters of :class:`BeatCNN` (defaults sized for 0.7 s beats at 360 Hz on a CPU): the waveform
    branch's conv-pool stack (:class:`~helpers.models.base.ConvStackConfig`, kernel 7 = 19 ms at 360 Hz, growing to
    ~0.2 s of receptive field after four blocks), the RR branch and the fused head."""

    channels: tuple[int, ...] = (16, 32, 32, 32)  # four blocks for a 252-sample beat
    dropout: float = 0.2  # on the fused features, before the head
    rr_features: int = 5  # trailing input channels holding RR features (constant over the window); 0: none
    rr_hidden: int = 16  # width of the RR branch
    rr_log_scale: float = 0.25  # the RR branch reads log(rr) / rr_log_scale: order 1 for the usual prematurity
    head_hidden: int = 32  # width of the fused layer before the logits


class BeatCNN(SignalModel):
    """Beat classifier: ``(B, C_wave + rr_features, L)`` float32 -> logits ``(B, n_outputs)``.

    Parameters
    ----------
    in_channels : int
        Channels of ``x``: the waveform leads plus ``rr_features`` RR channels (6 for one lead and the five RR
        features of :func:`helpers.signal.beats.beat_rr_features`).
    n_outputs : int
        Number of beat classes (4 for AAMI N, S, V, F).
    input_length : int, optional
        Samples per beat window L; only checked (global pooling accepts any length that survives the pooling).
    config : BeatCNNConfig, optional
    **kwargs
        Overrides of individual ``BeatCNNConfig`` fields, e.g. ``rr_features=0``, ``channels=(8, 16)``.

    Attributes
    ----------
    n_leads : int
        Waveform channels, ``in_channels - rr_features``.

    Notes
    -----
    ``forward(x, padding_mask=None)`` follows ``base.py``: padded samples are zeroed before every convolution,
    the average and max pooling and the RR channel means cover valid samples only, so in eval mode a right-padded
    beat gives the logits of the unpadded one.
    """

    def __init__(self, in_channels: int, n_outputs: int, input_length: int | None = None, *,
                 fs: float | None = None, config: BeatCNNConfig | None = None, **kwargs):
        super().__init__(in_channels, n_outputs, input_length, fs=fs)
        config = merge_config(BeatCNNConfig, config, kwargs, "BeatCNN")
        self.config = config
        n_rr = config.rr_features
        if not isinstance(n_rr, (int, np.integer)) or n_rr < 0:
            raise ValueError(f"rr_features must be an integer >= 0 (RR channels at the end of x), got {n_rr!r}")
        if n_rr >= in_channels:
            raise ValueError(f"in_channels={in_channels} leaves no waveform lead: BeatCNN reads the last "
                             f"rr_features={n_rr} channels as RR features; build it with in_channels = leads + "
                             f"{n_rr} (e.g. {n_rr + 1} for one lead, see beat_inputs), or rr_features=0 for the "
                             "waveform alone")
        self.n_leads, self.n_rr = in_channels - n_rr, int(n_rr)
        self.min_length = config.pool_size ** len(config.channels)
        self.check_length()

        self.blocks = ConvPoolStack(self.n_leads, config.channels, config.kernel_size, config.pool_size, config.act)
        c_in = self.blocks.out_channels
        self.rr_mlp = nn.Sequential(nn.Linear(n_rr, config.rr_hidden), get_activation(config.act)) if n_rr else None
        fused = 2 * c_in + (config.rr_hidden if n_rr else 0)  # average and max of the last feature maps, RR branch
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(fused, config.head_hidden),
                                  get_activation(config.act), nn.Linear(config.head_hidden, n_outputs))

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        self.check_input(x, padding_mask)
        keep = self.keep_mask(x, padding_mask)  # (B, 1, L) bool, True at signal; None: nothing padded
        feats = [self._encode_waveform(x[:, : self.n_leads], keep)]  # (B, 2 F)
        if self.rr_mlp is not None:
            rr = _valid_mean(x[:, self.n_leads:], keep)  # (B, n_rr): the constant value of each RR channel
            z = torch.log(rr.clamp_min(RR_FLOOR)) / self.config.rr_log_scale  # 0 for a beat on time
            feats.append(self.rr_mlp(z))  # (B, rr_hidden)
        return self.head(torch.cat(feats, dim=1))  # (B, n_outputs)

    def _encode_waveform(self, h: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
        """(B, C_wave, L) -> (B, 2 F): conv blocks, then average and max over the valid time steps."""
        h, keep = self.blocks(h, keep, checkpointing=self.grad_checkpointing and self.training)  # (B, F, L')
        if keep is None:
            return torch.cat([h.mean(dim=-1), h.amax(dim=-1)], dim=1)
        # the max sees the peak of a V beat's wide QRS wherever it falls; padding must never be that peak
        peak = h.masked_fill(~keep, float("-inf")).amax(dim=-1)
        return torch.cat([_valid_mean(h, keep), peak], dim=1)

    def attribution_baseline(self, x) -> torch.Tensor:
        """The reference input for integrated gradients that explains the *waveform* of each beat.

        A flat line (zeros) on the waveform channels and each beat's own RR channels: the path from it to ``x``
        changes only the waveform, so the attributions of the RR channels are exactly zero and those of the
        waveform add up to ``f(x) - f(flat beat with the same timing)``: "what in this beat's shape made it V".
        (The default all-zeros baseline would also move the RR features from 0 s, a value no heart produces.)

        Parameters
        ----------
        x : array or tensor, shape (B, C_wave + rr_features, L)

        Returns
        -------
        torch.Tensor
            float32, same shape as ``x``; pass it as ``baselines=`` to :func:`helpers.evaluate.explain.attribute`.

        Notes
        -----
        For one beat, keep the batch axis: ``plot_overlay(model, x[i], fs, target,
        baselines=model.attribution_baseline(x[i:i + 1]))`` (``attribute`` adds the batch axis to a single ``x``
        but not to its baseline). In :func:`helpers.evaluate.explain.randomization_sanity_check`, the RR channels' exact
        zeros tie in both maps and inflate the rank correlation (0.99 where the waveform channel alone gives
        0.48 for a random network): judge the waveform channel(s) only, ``channels=range(model.n_leads)``.
        """
        b = torch.as_tensor(x, dtype=torch.float32).clone()
        b[..., : self.n_leads, :] = 0.0
        return b

    def estimate_macs(self, input_length: int | None = None) -> int:
        """Multiply-accumulate operations of one forward pass for one beat (convolutions, RR branch, head)."""
        t = input_length or self.input_length
        if t is None:
            raise ValueError("pass input_length (samples per beat) or build the model with one")
        macs, c_in, cfg = 0, self.n_leads, self.config
        for c_out in cfg.channels:
            macs += t * c_out * c_in * cfg.kernel_size  # 'same' convolution keeps T
            t, c_in = t // cfg.pool_size, c_out
        fused = 2 * c_in + (cfg.rr_hidden if self.n_rr else 0)
        return macs + self.n_rr * cfg.rr_hidden + fused * cfg.head_hidden + cfg.head_hidden * self.n_outputs


def _valid_mean(h: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
    """Mean over time of ``h`` (B, C, T), over the ``keep`` (B, 1, T) steps only when given: (B, C)."""
    if keep is None:
        return h.mean(dim=-1)
    w = keep.to(h.dtype)
    return (h * w).sum(dim=-1) / w.sum(dim=-1)


def beat_inputs(X, rr) -> np.ndarray:
    """Stack beat waveforms and their RR features into the input of :class:`BeatCNN`.

    Parameters
    ----------
    X : array_like, shape (n, C, L)
        Beat windows (mV), e.g. ``BeatSet.X``.
    rr : array_like, shape (n, F)
        Per-beat features, e.g. ``BeatSet.rr`` (F = 5: RR intervals in s and their ratios); each becomes one
        channel holding its value at every sample.

    Returns
    -------
    np.ndarray
        float32, shape (n, C + F, L): the waveform channels first, then the features.

    Raises
    ------
    ValueError
        On mismatched shapes, or NaN/inf features (a record with fewer than two beats has no RR interval), naming
        the first bad beat.
    """
    X, rr = np.asarray(X, dtype=np.float32), np.asarray(rr, dtype=np.float32)
    if X.ndim != 3:
        hint = "; one lead? use X[:, None, :]" if X.ndim == 2 else ""
        raise ValueError(f"X must have shape (n_beats, n_leads, n_samples), got {X.shape}{hint}")
    if rr.ndim != 2 or len(rr) != len(X):
        raise ValueError(f"rr must have shape (n_beats, n_features) = ({len(X)}, F) like X's first axis, got "
                         f"{rr.shape}")
    bad = ~np.isfinite(rr).all(axis=1)
    if bad.any():
        raise ValueError(f"rr holds NaN/inf for {int(bad.sum())} beat(s), the first at row {int(np.argmax(bad))}; "
                         "drop them first: keep = np.isfinite(rr).all(axis=1)")
    out = np.empty((len(X), X.shape[1] + rr.shape[1], X.shape[2]), dtype=np.float32)
    out[:, : X.shape[1]] = X
    out[:, X.shape[1]:] = rr[:, :, None]
    return out
