"""Band power features (Welch, scipy) for the classical baseline: log power per channel and frequency band."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.signal import welch

__all__ = ["BANDS", "band_power_features", "feature_names", "relative_band_power"]

# DEAP's preprocessed EEG is band-passed 4-45 Hz, so there is no delta band to measure.
BANDS: dict[str, tuple[float, float]] = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0), "beta": (13.0, 30.0),
                                         "gamma": (30.0, 45.0)}


def _check_bands(bands: Mapping[str, tuple[float, float]], fs: float) -> None:
    for name, (lo, hi) in bands.items():
        if not 0 <= lo < hi <= fs / 2:
            raise ValueError(f"band {name!r} = ({lo}, {hi}) Hz must satisfy 0 <= low < high <= fs/2 = {fs / 2:g}")


def band_power_features(X, fs: float, bands: Mapping[str, tuple[float, float]] | None = None, *,
                        log: bool = True, nperseg: int | None = None) -> np.ndarray:
    """Power of each channel in each band, by Welch's method: ``(n, C * n_bands)``, channel-major.

    Parameters
    ----------
    X : array, shape (n, C, L) or (C, L)
        Windows (uV for DEAP's EEG).
    fs : float
        Sampling rate in Hz.
    bands : mapping name -> (low_hz, high_hz), optional
        Half-open bands [low, high); default :data:`BANDS` (theta, alpha, beta, gamma).
    log : bool
        Return log10 power (default): band power is roughly log-normal, and a gain becomes an offset.
    nperseg : int, optional
        Welch segment length in samples; default ``min(L, fs)`` (1 Hz resolution), so a 1 s window is one
        periodogram (Hann) and a 3 s baseline averages five half-overlapping ones.

    Returns
    -------
    np.ndarray
        float64 ``(n, C * n_bands)`` (``(C * n_bands,)`` for one window): column ``c * n_bands + b`` is
        channel c, band b (:func:`feature_names` gives the names); units uV^2 (log10 of it with ``log``).
    """
    X = np.asarray(X)
    single = X.ndim == 2
    if single:
        X = X[None]
    if X.ndim != 3:
        raise ValueError(f"X must be windows (n, channels, samples) or one window (channels, samples), "
                         f"got shape {np.shape(X)}")
    bands = BANDS if bands is None else dict(bands)
    _check_bands(bands, fs)
    L = X.shape[-1]
    nperseg = min(L, int(fs)) if nperseg is None else nperseg
    freqs = np.fft.rfftfreq(nperseg, 1 / fs)
    df = freqs[1] - freqs[0]
    selections = []
    for name, (lo, hi) in bands.items():
        sel = (freqs >= lo) & (freqs < hi)
        if not sel.any():
            raise ValueError(f"band {name!r} ({lo}-{hi} Hz) holds no frequency bin at {df:g} Hz resolution "
                             f"(nperseg={nperseg}); widen it or use longer windows")
        selections.append(sel)
    P = np.empty((len(X), X.shape[1], len(bands)))
    # In blocks of rows: Welch works in float64 with a copy per segment, ~10x the input's memory (38 k DEAP
    # windows of 32 channels would need several GB at once).
    for i in range(0, len(X), 2048):
        _, psd = welch(np.asarray(X[i:i + 2048], dtype=np.float64), fs=fs, nperseg=nperseg, axis=-1)  # uV^2/Hz
        for b, sel in enumerate(selections):
            P[i:i + 2048, :, b] = psd[..., sel].sum(axis=-1) * df
    P = P.reshape(len(X), -1)  # (n, C * n_bands), channel-major
    if log:
        P = np.log10(P + 1e-12)  # 1e-12: a flat (all-zero) channel gives a finite floor, not -inf
    return P[0] if single else P


def relative_band_power(windows, bands: Mapping[str, tuple[float, float]] | None = None) -> np.ndarray:
    """Log band power of each window minus that of its own trial's pre-trial baseline (baseline correction).

    Parameters
    ----------
    windows : EEGWindows
        From :func:`helpers.eeg.eeg_windows` (uses ``X``, ``baseline``, ``record_index`` and ``fs``).
    bands : mapping, optional
        Default :data:`BANDS`.

    Returns
    -------
    np.ndarray
        float64 ``(n, C * n_bands)``: log10(P_window / P_baseline), i.e. the event-related (de)synchronisation of
        each band (negative = less power than before the video).
    """
    P = band_power_features(windows.X, windows.fs, bands)
    P0 = band_power_features(windows.baseline, windows.fs, bands)  # (n_trials, C * n_bands): once per trial
    return P - P0[windows.record_index]


def feature_names(channel_names, bands: Mapping[str, tuple[float, float]] | None = None) -> list[str]:
    """Column names of :func:`band_power_features`: ``"F3_alpha"``, channel-major."""
    bands = BANDS if bands is None else bands
    return [f"{c}_{b}" for c in channel_names for b in bands]
