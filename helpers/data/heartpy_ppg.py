"""Unlabelled real PPG for self-supervised pre-training: the example recordings HeartPy ships.

Labels are what a stress study pays for; unlabelled PPG is what pre-training needs, and real PPG teaches pulse
shapes a simulator does not have. HeartPy (van Gent et al. 2019, https://github.com/paulvangentcom/heartrate_analysis_python)
installs three finger/ear PPG recordings with the package:

=================  =========================================  ==============================
HeartPy example    file (``heartpy/data/``)                  rate and length
=================  =========================================  ==============================
0                  ``data.csv`` (one column, no clock)        100 Hz (documented), 25 s
1                  ``data2.csv`` (``timer`` in ms, ``hr``)     ~117 Hz from the timer, 128 s
2                  ``data3.csv`` (``datetime``, ``hr``)        ~100 Hz from the clock, 682 s
=================  =========================================  ==============================

The files are read from the installed package (the optional ``heartpy`` extra: ``pip install heartpy==1.2.7``)
with pandas rather than through ``heartpy.load_exampledata``: importing HeartPy pulls in ``pkg_resources``, which
recent setuptools no longer ships, and the files are all we need. HeartPy is GPL-3.0 and its recordings come under
its licence; the course (MIT) does not copy them, it reads them where pip put them.

Like HeartPy itself, each recording is taken as uniformly sampled at its mean rate (the clocks of examples 1 and 2
jitter and repeat time stamps, they do not drift). To look like the E4's BVP that the Unit 4 model sees, each
recording is high-passed at 0.5 Hz (the E4 does that in the device), resampled to ``fs`` and standardised with
robust statistics (median and MAD), and windows that touch a sensor dropout (example 1 reads 0 for 8 s) are skipped.
"""
from __future__ import annotations

import importlib.util
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import signal as sps

__all__ = ["INSTALL", "RECORDINGS", "heartpy_data_dir", "load_recordings", "unlabelled_windows"]

INSTALL = "pip install heartpy==1.2.7   (or: pip install -c constraints.txt -e '.[heartpy]')"
# file -> how its rate is known; example 0 has no clock and HeartPy documents it as 100 Hz
RECORDINGS = {"data.csv": "100 Hz", "data2.csv": "timer", "data3.csv": "datetime"}


def heartpy_data_dir() -> Path:
    """The folder of HeartPy's example recordings, found without importing HeartPy.

    Raises
    ------
    ModuleNotFoundError
        HeartPy is not installed (the message says how to install it).
    """
    spec = importlib.util.find_spec("heartpy")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"HeartPy's example PPG recordings need the heartpy package: {INSTALL}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: HeartPy is installed but has no data folder; reinstall it ({INSTALL})")
    return folder


def _read(path: Path) -> tuple[np.ndarray, float]:
    """One recording: (samples (T,) float64, sampling rate in Hz)."""
    kind = RECORDINGS[path.name]
    if kind == "100 Hz":
        x = pd.read_csv(path, header=None).iloc[:, 0].to_numpy(np.float64)
        return x, 100.0
    table = pd.read_csv(path)
    if "hr" not in table or kind not in table:
        raise ValueError(f"{path}: expected columns 'hr' and {kind!r}, found {list(table.columns)}")
    x = table["hr"].to_numpy(np.float64)
    if kind == "timer":
        seconds = table["timer"].to_numpy(np.float64) / 1000.0
    else:
        stamps = pd.to_datetime(table["datetime"], format="ISO8601")  # whole seconds drop the ".%f"
        seconds = (stamps - stamps.iloc[0]).dt.total_seconds().to_numpy()
    duration = seconds[-1] - seconds[0]
    if not np.all(np.isfinite(x)) or not duration > 0:
        raise ValueError(f"{path}: non-finite samples or a clock that does not advance ({duration} s)")
    return x, (len(x) - 1) / duration


def _dropouts(x: np.ndarray, fs: float, min_s: float = 0.5) -> np.ndarray:
    """True where the sensor reads one value for at least ``min_s`` seconds (lost contact, a clipped ADC)."""
    change = np.flatnonzero(np.diff(x) != 0) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(x)]])
    bad = np.zeros(len(x), bool)
    for a, b in zip(starts, ends):
        if b - a >= min_s * fs:
            bad[a:b] = True
    return bad


def load_recordings(fs: float = 64.0, *, highpass_hz: float = 0.5) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """HeartPy's recordings, high-passed, resampled to ``fs`` and standardised, with their dropouts marked.

    Parameters
    ----------
    fs : float
        Output sampling rate in Hz (64 Hz: the E4's BVP rate).
    highpass_hz : float
        Butterworth high-pass corner in Hz, applied forwards and backwards (zero phase) before resampling.

    Returns
    -------
    dict of str to (ndarray, ndarray)
        File name -> (float32 (T,) signal at ``fs``, median 0 and MAD-based scale 1 (arbitrary units);
        bool (T,) true within a sensor dropout).
    """
    folder = heartpy_data_dir()
    out = {}
    for name in RECORDINGS:
        x, fs_in = _read(folder / name)
        bad = _dropouts(x, fs_in)
        sos = sps.butter(2, highpass_hz, btype="highpass", fs=fs_in, output="sos")
        x = sps.sosfiltfilt(sos, x)
        # a polyphase resampler needs a rational ratio: ~117.0 Hz -> 64 Hz within 0.1 %
        ratio = Fraction(fs / fs_in).limit_denominator(1000)
        x = sps.resample_poly(x, ratio.numerator, ratio.denominator)
        bad = bad[np.minimum((np.arange(len(x)) * fs_in / fs).astype(np.int64), len(bad) - 1)]
        # robust scale: the dropout's edges are huge steps that would shrink everything else under a plain std
        good = x[~bad] if (~bad).any() else x
        centre = np.median(good)
        scale = 1.4826 * np.median(np.abs(good - centre)) + 1e-9
        out[name] = (((x - centre) / scale).astype(np.float32), bad)
    return out


def unlabelled_windows(fs: float = 64.0, window_s: float = 60.0, step_s: float = 15.0) -> tuple[np.ndarray, list[str]]:
    """HeartPy's recordings cut into windows for pre-training (no labels: there are none).

    Parameters
    ----------
    fs : float
        Sampling rate of the windows in Hz.
    window_s, step_s : float
        Window length and hop in seconds. A recording shorter than one window gives none.

    Returns
    -------
    X : ndarray, float32, shape (n, 1, window_s * fs)
        Windows of standardised PPG, the layout of :func:`helpers.ppg.stress_windows`' BVP channel.
    sources : list of str
        The file each window comes from. Windows that touch a sensor dropout are left out.
    """
    if not (window_s > 0 and step_s > 0 and fs > 0):
        raise ValueError(f"fs, window_s and step_s must be positive, got {fs}, {window_s}, {step_s}")
    T, hop = round(window_s * fs), round(step_s * fs)
    windows, sources = [], []
    for name, (x, bad) in load_recordings(fs).items():
        for start in range(0, len(x) - T + 1, hop):
            if bad[start:start + T].any():
                continue
            windows.append(x[start:start + T])
            sources.append(name)
    X = np.stack(windows)[:, None, :] if windows else np.zeros((0, 1, T), np.float32)
    return X, sources
