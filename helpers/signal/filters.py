"""Filtering, resampling, normalisation and length fixing for 1D physiological signals.

Every function accepts ``(T,)`` or ``(C, T)`` arrays (time on the last axis by default) and validates its
input first: a filter fed one NaN returns NaNs everywhere, silently, and scipy's own error for a cutoff above
Nyquist names neither the argument nor the Nyquist frequency, so both become a clear ``ValueError`` here.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Literal

import numpy as np
from scipy import signal as sps

__all__ = ["bandpass", "notch", "resample", "standardize", "fix_length", "design_bandpass", "apply_sos", "edge_padlen",
           "resample_ratio", "resample_taps", "check_fs", "check_finite"]


def check_fs(fs: float, name: str = "fs") -> float:
    """Return ``fs`` as a float, or raise ``ValueError`` if it is not a finite positive rate in Hz."""
    try:
        fs = float(fs)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sampling rate in Hz (a positive number), got {fs!r}") from None
    if not np.isfinite(fs) or fs <= 0:
        raise ValueError(f"{name} must be a positive sampling rate in Hz, got {fs!r}")
    return fs


def check_finite(x: np.ndarray, what: str = "signal") -> None:
    """Raise ``ValueError`` saying how many NaN/inf values ``x`` holds and where the first ones are."""
    bad = ~np.isfinite(x)
    n_bad = int(bad.sum())
    if n_bad:
        where = np.argwhere(bad)[:5]
        pos = ", ".join(str(tuple(int(i) for i in w)) if x.ndim > 1 else str(int(w[0])) for w in where)
        raise ValueError(f"{what} contains {n_bad} NaN/inf value(s) out of {x.size} "
                         f"(first at index {pos}); interpolate or drop them before filtering")


def _as_signal(x, what: str = "signal") -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim == 0 or arr.size == 0:
        raise ValueError(f"{what} must be a non-empty array of shape (T,) or (C, T), got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"{what} must hold real numbers, got dtype {arr.dtype}")
    check_finite(arr, what)
    return arr


def _out_dtype(x: np.ndarray) -> type:
    # Keep float32 data float32 (the memory of a whole dataset doubles otherwise); integers become float64.
    return x.dtype.type if x.dtype in (np.float32, np.float64) else np.float64


def _check_cutoff(freq: float | None, fs: float, name: str) -> None:
    if freq is None:
        return
    nyq = fs / 2
    if not 0 < freq < nyq:
        raise ValueError(f"{name}={freq!r} Hz must lie strictly between 0 and the Nyquist frequency "
                         f"{nyq:g} Hz (fs={fs:g} Hz)")


def design_bandpass(fs: float, low_hz: float | None = 0.5, high_hz: float | None = 40.0,
                    order: int = 4) -> np.ndarray:
    """Validated Butterworth design in second-order sections, shape (n_sections, 6); see :func:`bandpass`."""
    fs = check_fs(fs)
    if low_hz is None and high_hz is None:
        raise ValueError("bandpass needs at least one of low_hz or high_hz")
    _check_cutoff(low_hz, fs, "low_hz")
    _check_cutoff(high_hz, fs, "high_hz")
    if low_hz is not None and high_hz is not None and low_hz >= high_hz:
        raise ValueError(f"low_hz ({low_hz} Hz) must be below high_hz ({high_hz} Hz)")
    if low_hz is None:
        return sps.butter(order, high_hz, btype="lowpass", fs=fs, output="sos")
    if high_hz is None:
        return sps.butter(order, low_hz, btype="highpass", fs=fs, output="sos")
    return sps.butter(order, [low_hz, high_hz], btype="bandpass", fs=fs, output="sos")


def apply_sos(sos: np.ndarray, x: np.ndarray, axis: int = -1, padlen: int | None = None,
              zi: np.ndarray | None = None) -> np.ndarray:
    """Zero-phase filtering, equal to ``scipy.signal.sosfiltfilt(sos, x, padtype="even", padlen=padlen)``.

    Written out (extend, filter forward, filter backward) because scipy recomputes the steady-state initial
    conditions (a linear solve per section) on every call, which is most of the time spent when thousands of
    short records go through one filter; pass ``zi = scipy.signal.sosfilt_zi(sos)`` to reuse them.

    Parameters
    ----------
    sos : np.ndarray, shape (n_sections, 6)
    x : np.ndarray, shape (T,) or (C, T)
    axis : int
        Time axis.
    padlen : int, optional
        Samples mirrored at each end (clipped to T - 1); default scipy's ``3 * (2 * n_sections + 1)``.
    zi : np.ndarray, shape (n_sections, 2), optional
        ``sosfilt_zi(sos)``, computed here when not given.
    """
    dtype = _out_dtype(x)
    x = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    n = x.shape[-1]
    padlen = 3 * (2 * len(sos) + 1) if padlen is None else padlen
    padlen = max(0, min(padlen, n - 1))
    zi = sps.sosfilt_zi(sos) if zi is None else zi
    # Mirror ("even") padding rather than scipy's default odd extension: the odd extension shifts the level
    # by 2 * x[-1], and a high-pass filter turns that step into an edge transient as large as the signal.
    ext = np.concatenate([x[..., padlen:0:-1], x, x[..., -2:-padlen - 2:-1]], axis=-1) if padlen else x
    zi_shape = (len(sos),) + (1,) * (x.ndim - 1) + (2,)  # (n_sections, ..., 2), broadcast over channels
    zi = zi.reshape(zi_shape)
    y, _ = sps.sosfilt(sos, ext, axis=-1, zi=zi * ext[..., :1][None])
    y = y[..., ::-1]
    y, _ = sps.sosfilt(sos, y, axis=-1, zi=zi * y[..., :1][None])
    y = y[..., ::-1][..., padlen:padlen + n]
    return np.moveaxis(y, -1, axis).astype(dtype, copy=False)


def edge_padlen(fs: float, low_hz: float | None, order: int = 4) -> int:
    """Edge padding for :func:`apply_sos`: one period of the high-pass edge (1 / low_hz seconds).

    scipy's default (27 samples for order 4) is far shorter than the ~2 s response of a 0.5 Hz high-pass,
    so every record would start and end with a visible transient; one period makes it several times smaller.
    """
    default = 3 * (2 * order + 1)
    return default if low_hz is None else max(default, int(round(fs / low_hz)))


def bandpass(x, fs: float, low_hz: float | None = 0.5, high_hz: float | None = 40.0, order: int = 4,
             axis: int = -1) -> np.ndarray:
    """Zero-phase Butterworth band-pass (or high/low-pass) filter.

    Parameters
    ----------
    x : array_like, shape (T,) or (C, T)
        Signal in physical units (e.g. mV); time along ``axis``.
    fs : float
        Sampling rate in Hz.
    low_hz, high_hz : float or None
        Pass band edges in Hz. The ECG defaults 0.5-40 Hz remove baseline wander (< 0.5 Hz) and mains/EMG
        noise (> 40 Hz) while keeping the QRS complex. ``low_hz=None`` gives a low-pass, ``high_hz=None`` a
        high-pass filter.
    order : int
        Butterworth order (doubled in effect by the forward-backward pass).
    axis : int
        Time axis.

    Returns
    -------
    np.ndarray
        Filtered signal, same shape as ``x``; float32 stays float32.
    """
    fs = check_fs(fs)
    x = _as_signal(x)
    sos = design_bandpass(fs, low_hz, high_hz, order)
    return apply_sos(sos, x, axis=axis, padlen=edge_padlen(fs, low_hz, order))


def notch(x, fs: float, freq_hz: float = 50.0, q: float = 30.0, axis: int = -1) -> np.ndarray:
    """Remove mains interference at ``freq_hz`` (50 Hz in Europe, 60 Hz in the Americas) with a zero-phase notch.

    Parameters
    ----------
    x : array_like, shape (T,) or (C, T)
        Signal; time along ``axis``.
    fs : float
        Sampling rate in Hz.
    freq_hz : float
        Frequency to remove, in Hz; must be below Nyquist.
    q : float
        Quality factor: bandwidth is ``freq_hz / q`` Hz.

    Returns
    -------
    np.ndarray
        Filtered signal, same shape as ``x``.
    """
    fs = check_fs(fs)
    x = _as_signal(x)
    _check_cutoff(freq_hz, fs, "freq_hz")
    b, a = sps.iirnotch(freq_hz, q, fs=fs)
    padlen = min(3 * max(len(a), len(b)), x.shape[axis] - 1)
    return sps.filtfilt(b, a, x, axis=axis, padlen=padlen).astype(_out_dtype(x), copy=False)


def resample_ratio(fs_in: float, fs_out: float) -> tuple[int, int]:
    """Integer ``(up, down)`` with ``fs_in * up / down == fs_out`` (to 1e-6 relative), e.g. 300 -> 125 Hz is (5, 12)."""
    frac = Fraction(fs_out / fs_in).limit_denominator(10_000)
    if abs(float(frac) * fs_in - fs_out) > 1e-6 * fs_out:
        raise ValueError(f"cannot express {fs_in:g} Hz -> {fs_out:g} Hz as a ratio of small integers")
    return frac.numerator, frac.denominator


def resample(x, fs_in: float, fs_out: float, axis: int = -1) -> np.ndarray:
    """Change the sampling rate with a polyphase anti-aliasing filter (``scipy.signal.resample_poly``).

    Parameters
    ----------
    x : array_like, shape (T,) or (C, T)
        Signal; time along ``axis``.
    fs_in, fs_out : float
        Current and wanted sampling rates in Hz.

    Returns
    -------
    np.ndarray
        Shape as ``x`` with ``ceil(T * fs_out / fs_in)`` samples on ``axis``.
    """
    fs_in, fs_out = check_fs(fs_in, "fs_in"), check_fs(fs_out, "fs_out")
    x = _as_signal(x)
    if fs_in == fs_out:
        return x.astype(_out_dtype(x), copy=True)
    # resample_poly rather than FFT resampling: records are not periodic, and FFT resampling rings at the ends.
    up, down = resample_ratio(fs_in, fs_out)
    return sps.resample_poly(x, up, down, axis=axis, window=resample_taps(up, down)).astype(_out_dtype(x), copy=False)


def resample_taps(up: int, down: int) -> np.ndarray:
    """The anti-aliasing FIR that ``resample_poly`` designs by default (Kaiser, beta 5), shape (20 * max + 1,).

    Designed once and passed as ``window=`` when many records share a rate change: scipy otherwise redesigns it
    on every call, which costs as much as resampling a 30 s record.
    """
    max_rate = max(up, down)
    return sps.firwin(2 * 10 * max_rate + 1, 1.0 / max_rate, window=("kaiser", 5.0))


def standardize(x, axis: int = -1, eps: float = 1e-6) -> np.ndarray:
    """Z-score along ``axis``: subtract the mean, divide by the standard deviation (+ ``eps`` for flat lines).

    Parameters
    ----------
    x : array_like, shape (..., T)
        Signal(s); each slice along ``axis`` is scaled on its own (per record, per channel, or per window).
    axis : int
        Axis over which mean and std are computed.
    eps : float
        Added to the std so that a flat (disconnected-lead) segment becomes zeros rather than NaN.

    Returns
    -------
    np.ndarray
        Same shape as ``x``, zero mean and unit variance along ``axis``.
    """
    x = _as_signal(x)
    dtype = _out_dtype(x)
    mean = x.mean(axis=axis, keepdims=True, dtype=np.float64)
    std = x.std(axis=axis, keepdims=True, dtype=np.float64)
    return ((x - mean) / (std + eps)).astype(dtype, copy=False)


def fix_length(x, n_samples: int, *, mode: Literal["center", "start", "random"] = "center",
               rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Crop or zero-pad the last axis to exactly ``n_samples``.

    Parameters
    ----------
    x : array_like, shape (T,) or (C, T)
        Signal.
    n_samples : int
        Wanted length in samples.
    mode : {"center", "start", "random"}
        Where to crop (or where to place the signal when padding): the middle, the beginning, or a random
        offset drawn from ``rng`` (data augmentation).
    rng : numpy Generator or int seed, optional
        Only used with ``mode="random"``.

    Returns
    -------
    np.ndarray
        Shape ``(n_samples,)`` or ``(C, n_samples)``; padding is zeros (the mean of a standardised signal).
    """
    x = _as_signal(x)
    n_samples = int(n_samples)
    if n_samples <= 0:
        raise ValueError(f"n_samples must be positive, got {n_samples}")
    if mode not in ("center", "start", "random"):
        raise ValueError(f"mode must be 'center', 'start' or 'random', got {mode!r}")
    t = x.shape[-1]
    slack = abs(t - n_samples)
    if mode == "start":
        offset = 0
    elif mode == "center":
        offset = slack // 2
    else:
        offset = int(np.random.default_rng(rng).integers(0, slack + 1))
    if t >= n_samples:
        return x[..., offset:offset + n_samples].copy()
    out = np.zeros(x.shape[:-1] + (n_samples,), dtype=_out_dtype(x))
    out[..., offset:offset + t] = x
    return out
