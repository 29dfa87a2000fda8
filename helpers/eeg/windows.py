"""DEAP trials -> baseline-corrected, overlapping windows (or multi-second segments for the sequence models).

Each DEAP trial is 63 s at 128 Hz: a 3 s pre-trial baseline (the subject waiting, fixation cross), then the 60 s
video. The baseline is the trial's own reference: removing it takes away what differs between trials for reasons
that have nothing to do with the video (electrode drift, a drowsy moment, the skin's resistance level).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from helpers.signal.windows import Windows

__all__ = ["EEGWindows", "cut_windows", "eeg_windows"]

Baseline = Literal["mean", "scale", "segment"] | None


@dataclass(kw_only=True)
class EEGWindows(Windows):
    """:class:`helpers.signal.Windows` of DEAP trials, with what a trial adds: its baseline, id and rating.

    One window container for the course: ``X``, ``y``, ``groups``, ``record_index`` (here: the trial of each
    window), ``fs``, ``start_s`` (after the end of the baseline), ``class_names`` (``("low", "high")``) and
    ``source`` mean what they mean in :class:`~helpers.signal.Windows`. Unpacks like a tuple:
    ``X, y, groups, trial_ids = eeg_windows(ds)``.

    Attributes
    ----------
    trial_ids : np.ndarray
        str ``(n_windows,)``: record id of the trial (``"s01_t07"``), to aggregate windows into trials.
    baseline : np.ndarray
        float32 ``(n_trials, n_channels, baseline_samples)``: each trial's pre-trial seconds, uncorrected; row
        ``record_index[i]`` belongs to window ``i``.
    channel_names : tuple of str
    target : str
        The rating thresholded into ``y`` (1 = above the threshold, high).
    metadata : dict
        The windowing parameters.
    """

    trial_ids: np.ndarray
    baseline: np.ndarray
    channel_names: tuple[str, ...] = ()
    target: str = "valence"
    metadata: dict = field(default_factory=dict)

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.X, self.y, self.groups, self.trial_ids))

    def __repr__(self) -> str:
        return (f"EEGWindows(X={self.X.shape} float32, fs={self.fs:g} Hz, target={self.target!r}, "
                f"trials={len(self.baseline)}, subjects={len(np.unique(self.groups))}, "
                f"high={int(self.y.sum())}/{len(self.y)}, source={self.source!r})")


def cut_windows(x: np.ndarray, window: int, step: int) -> np.ndarray:
    """Every whole window of a ``(C, T)`` array: ``(n, C, window)``, ``n = (T - window) // step + 1``.

    Parameters
    ----------
    x : np.ndarray, shape (C, T)
    window, step : int
        Samples per window and between window starts.

    Returns
    -------
    np.ndarray
        A read-only strided *view* ``(n, C, window)`` (copy it before writing); ``n = 0`` when T < window.
    """
    if x.ndim != 2:
        raise ValueError(f"cut_windows expects one (channels, samples) array, got shape {x.shape}")
    if window < 1 or step < 1:
        raise ValueError(f"window and step must be >= 1 sample, got window={window}, step={step}")
    if x.shape[1] < window:
        return np.zeros((0, x.shape[0], window), x.dtype)
    return sliding_window_view(x, window, axis=1)[:, ::step].transpose(1, 0, 2)  # (n, C, window)


def _channel_picks(names: Sequence[str], channels: Sequence[str] | None) -> list[int]:
    if channels is None:
        return list(range(len(names)))
    if isinstance(channels, str):
        channels = [channels]
    missing = [c for c in channels if c not in names]
    if missing:
        raise ValueError(f"channel(s) {missing} not in the dataset; it has {list(names)}")
    return [list(names).index(c) for c in channels]


def eeg_windows(ds, window_s: float = 1.0, step_s: float = 0.5, baseline_s: float = 3.0, *,
                channels: Sequence[str] | None = None, target: str = "valence", threshold: float = 5.0,
                baseline: Baseline = "mean", max_s: float | None = None) -> EEGWindows:
    """Cut each trial after its baseline into overlapping windows, labelled high/low by one rating scale.

    Parameters
    ----------
    ds : SignalDataset
        DEAP-like: records ``(C, T)``, ``targets`` (n, 4) and ``target_names``, ``subject_ids``, ``record_ids``.
    window_s, step_s : float
        Window length and hop in seconds (defaults: 1 s windows, 50% overlap).
    baseline_s : float
        Pre-trial seconds at the start of each record (3 in DEAP); no window overlaps them.
    channels : sequence of str, optional
        Channel names to keep, in this order (e.g. ``deap.EEG_CHANNELS``); default all.
    target : str
        Rating scale that gives the label: ``"valence"``, ``"arousal"``, ``"dominance"`` or ``"liking"``.
    threshold : float
        High (1) = rating strictly above it (5 is the middle of DEAP's 1-9 scales).
    baseline : {"mean", "segment", None}
        Baseline correction of the signal. ``"mean"`` subtracts each channel's mean over the baseline seconds
        (removes offsets: the skin resistance level of GSR, temperature; EEG, already high-passed, barely
        changes). ``"scale"`` also divides each channel by its standard deviation over the baseline, so the
        signal is in units of its own pre-trial amplitude (removes a trial's overall gain or state, as relative
        band power does for each band; for a network's input). ``"segment"`` (Yang et al., 2018) also removes what repeats: the baseline is cut into
        window-length pieces, their sample-wise average is subtracted from every window (``baseline_s`` must be a
        whole number of windows). None: no correction. For band power, correcting the *power* works better
        (:func:`helpers.eeg.relative_band_power`); ``baseline`` keeps the raw pre-trial seconds for it either way.
    max_s : float, optional
        Use at most this many seconds after the baseline (CI-sized runs).

    Returns
    -------
    EEGWindows
        ``X`` float32 ``(n, C, round(window_s * fs))``, ``y``, ``groups``, ``trial_ids`` and more.

    Raises
    ------
    ValueError
        A non-positive window or step, a record shorter than its baseline plus one window, an unknown
        target or channel, or ``baseline="segment"`` with a baseline that is not whole windows.

    Examples
    --------
    >>> X, y, groups, trial_ids = eeg_windows(ds, target="arousal")        # doctest: +SKIP
    """
    fs = float(ds.fs)
    if window_s is None or window_s <= 0 or step_s is None or step_s <= 0:
        raise ValueError(f"window_s and step_s must be positive seconds, got window_s={window_s!r}, "
                         f"step_s={step_s!r}")
    if baseline_s < 0:
        raise ValueError(f"baseline_s must be >= 0 seconds, got {baseline_s!r}")
    if baseline not in ("mean", "scale", "segment", None):
        raise ValueError(f"baseline must be 'mean', 'scale', 'segment' or None, got {baseline!r}")
    if getattr(ds, "targets", None) is None or getattr(ds, "target_names", None) is None:
        raise ValueError(f"{getattr(ds, 'name', 'dataset')}: has no rating targets (DEAP-like data expected)")
    if target not in ds.target_names:
        raise ValueError(f"unknown target {target!r}; the targets are {list(ds.target_names)}")
    win, hop, n_base = round(window_s * fs), max(1, round(step_s * fs)), round(baseline_s * fs)
    if win < 2:
        raise ValueError(f"window_s={window_s} s is {win} sample(s) at {fs:g} Hz; need at least 2")
    if baseline == "scale" and n_base < 2:
        raise ValueError(f"baseline='scale' needs a baseline of at least 2 samples, got baseline_s={baseline_s}")
    if baseline == "segment" and (n_base == 0 or n_base % win):
        raise ValueError(f"baseline='segment' needs a baseline of whole windows: baseline_s={baseline_s} s "
                         f"({n_base} samples) is not a multiple of window_s={window_s} s ({win} samples)")
    names = tuple(ds.channel_names or [f"ch{i}" for i in range(np.asarray(ds.signals[0]).shape[0])])
    picks = _channel_picks(names, channels)
    labels = (ds.targets[:, list(ds.target_names).index(target)] > threshold).astype(np.int64)

    blocks, bases, counts = [], [], []
    for i, (rid, sig) in enumerate(zip(ds.record_ids, ds.signals)):
        x = np.asarray(sig, dtype=np.float32)[picks]  # (C, T)
        end = x.shape[1] if max_s is None else min(x.shape[1], n_base + round(max_s * fs))
        if end - n_base < win:
            raise ValueError(f"record {rid}: {x.shape[1]} samples ({x.shape[1] / fs:g} s) hold no "
                             f"{window_s:g} s window after the {baseline_s:g} s baseline")
        base, trial = x[:, :n_base], x[:, n_base:end]
        w = cut_windows(trial, win, hop)  # (n_i, C, win) view
        if baseline in ("mean", "scale") and n_base:
            w = w - base.mean(axis=1, keepdims=True)[None]  # (n_i, C, win), a copy
        if baseline == "scale":
            w = w / (base.std(axis=1, keepdims=True)[None] + 1e-6)  # 1e-6: a flat channel stays finite
        elif baseline == "segment":
            w = w - base.reshape(len(picks), -1, win).mean(axis=1)[None]  # average 1-window baseline piece
        blocks.append(np.ascontiguousarray(w, dtype=np.float32))
        bases.append(base)
        counts.append(len(w))
    counts = np.asarray(counts)
    trial_index = np.repeat(np.arange(len(counts)), counts)
    start = np.concatenate([np.arange(n) * hop / fs for n in counts])
    return EEGWindows(
        X=np.concatenate(blocks), y=labels[trial_index], groups=np.asarray(ds.subject_ids).astype(str)[trial_index],
        trial_ids=np.asarray(ds.record_ids).astype(str)[trial_index], record_index=trial_index.astype(np.int64),
        start_s=start, baseline=np.stack(bases).astype(np.float32, copy=False), fs=fs,
        channel_names=tuple(names[i] for i in picks), target=target, source=getattr(ds, "source", "real"),
        class_names=("low", "high"),
        metadata={"window_s": window_s, "step_s": step_s, "baseline_s": baseline_s, "baseline": baseline,
                  "threshold": threshold})
