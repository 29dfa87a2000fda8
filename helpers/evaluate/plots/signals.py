"""Signals and spectra: the raw material drawn with time and frequency in physical units."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.signal import welch

from helpers.evaluate.plots.style import _new_ax, _title
from helpers.signal import check_fs


def _signal_array(x: Any, what: str = "x") -> tuple[np.ndarray, Any]:
    """Accept an array, or a one-record SignalDataset (its ``source`` is then used for the title)."""
    source = None
    if hasattr(x, "signals"):
        if len(x.signals) != 1:
            raise ValueError(f"pass one record (dataset.signals[i]), not a dataset of {len(x.signals)} records")
        x, source = x.signals[0], x
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim not in (1, 2) or arr.shape[-1] < 2:
        raise ValueError(f"{what} must have shape (T,) or (C, T) with T >= 2, got shape {arr.shape}")
    return np.atleast_2d(arr), source


def plot_signal(x, fs: float, *, peaks=None, annotations=None, title: str | None = None, ax=None,
                units: str = "mV", source: Any = None, channel_names: Sequence[str] | None = None,
                offset: float | None = None):
    """Plot a signal against time in seconds.

    Parameters
    ----------
    x : array_like, shape (T,) or (C, T)
        Signal in ``units``; channels are stacked with a vertical ``offset``.
    fs : float
        Sampling rate in Hz.
    peaks : array_like of int, optional
        Sample indices to mark (e.g. R peaks) on the first channel.
    annotations : sequence, optional
        ``(time_s, text)`` pairs drawn as labelled vertical lines, or ``(start_s, end_s, text)`` triples
        drawn as shaded spans (e.g. an AF episode).
    title : str, optional
    ax : matplotlib Axes, optional
    units : str
        Amplitude unit for the y label.
    source : str or dataset, optional
        ``"synthetic"`` (or a synthetic SignalDataset) adds "(synthetic data)" to the title.
    channel_names : sequence of str, optional
        Legend entries for multi-channel input.
    offset : float, optional
        Vertical spacing between channels in ``units``; default 1.5x the largest channel range.

    Returns
    -------
    matplotlib.axes.Axes
    """
    fs = check_fs(fs)
    arr, ds = _signal_array(x)
    t = np.arange(arr.shape[-1]) / fs
    ax = _new_ax(ax)
    step = offset if offset is not None else 1.5 * float(np.ptp(arr, axis=-1).max() or 1.0)
    for c, ch in enumerate(arr):
        label = channel_names[c] if channel_names is not None else (f"channel {c}" if len(arr) > 1 else None)
        ax.plot(t, ch - c * step, lw=0.8, label=label)
    if peaks is not None:
        p = np.asarray(peaks, dtype=np.int64)
        p = p[(p >= 0) & (p < arr.shape[-1])]
        # dark grey: red would read as AF and black as AAMI's Q, class colours in this course
        ax.plot(t[p], arr[0, p], "v", color="0.2", ms=5, label="peaks", linestyle="none")
    for ann in annotations or ():
        if len(ann) == 3:
            ax.axvspan(ann[0], ann[1], color="0.5", alpha=0.2)
            ax.text(ann[0], 1.0, str(ann[2]), transform=ax.get_xaxis_transform(), va="bottom", fontsize=8)
        else:
            ax.axvline(ann[0], color="0.4", ls="--", lw=0.8)
            ax.text(ann[0], 1.0, str(ann[1]), transform=ax.get_xaxis_transform(), va="bottom", fontsize=8)
    if len(arr) > 1 or peaks is not None:
        # headroom above the trace, so the legend never sits on the last beats
        low, high = ax.get_ylim()
        ax.set_ylim(low, high + 0.25 * (high - low))
        ax.legend(loc="upper right", fontsize=8, ncol=2)
    ax.set_xlim(t[0], t[-1])
    ax.set_xlabel("Time (s)")
    ax.set_ylabel(f"Amplitude ({units})")
    _title(ax, title, source if source is not None else ds)
    return ax


def plot_spectrum(x, fs: float, *, ax=None, fmax: float | None = None, units: str = "mV", title: str | None = None,
                  source: Any = None, nperseg_s: float = 4.0):
    """Welch power spectral density on a log scale.

    Parameters
    ----------
    x : array_like, shape (T,) or (C, T)
    fs : float
        Sampling rate in Hz.
    fmax : float, optional
        Upper frequency limit of the plot in Hz (default Nyquist).
    units : str
        Signal unit; the PSD is in ``units``²/Hz.
    nperseg_s : float
        Welch segment length in seconds: 4 s gives 0.25 Hz resolution, enough to see the heart rate.

    Returns
    -------
    matplotlib.axes.Axes
    """
    fs = check_fs(fs)
    arr, ds = _signal_array(x)
    freqs, psd = welch(arr, fs=fs, nperseg=min(arr.shape[-1], int(nperseg_s * fs)), axis=-1)
    ax = _new_ax(ax, figsize=(6, 3.5))
    for c, p in enumerate(psd):
        ax.semilogy(freqs, p + np.finfo(float).tiny, lw=1, label=f"channel {c}" if len(psd) > 1 else None)
    ax.set_xlim(0, fmax if fmax is not None else fs / 2)
    ax.set_xlabel("Frequency (Hz)")
    ax.set_ylabel(f"PSD ({units}²/Hz)")
    if len(psd) > 1:
        ax.legend(fontsize=8)
    _title(ax, title or "Power spectral density (Welch)", source if source is not None else ds)
    return ax
