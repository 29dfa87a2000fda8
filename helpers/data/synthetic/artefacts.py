"""Noise and artefact generators shared by the synthetic biosignal simulators.

Every function takes ``n`` (number of samples), ``fs`` (sampling rate in Hz) and ``rng`` (a
``np.random.Generator``) first, then its own amplitude and rate. It returns a float64 array of shape ``(n,)`` in the
units of its amplitude argument (mV for ECG) and draws only from the ``rng`` it is given, so a simulator stays
deterministic for a seed. They are vectorised numpy: the simulators call them thousands of times.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal as sps


@lru_cache(maxsize=16)
def _emg_filter(fs: float) -> tuple[np.ndarray, np.ndarray]:
    # Surface EMG on an ECG lead is broadband, mostly 20-150 Hz; cap the top edge below Nyquist.
    high = min(150.0, 0.45 * fs)
    return sps.butter(2, [20.0 / (fs / 2), high / (fs / 2)], btype="band")


def baseline_wander(n: int, fs: float, rng: np.random.Generator, amplitude_mv: float = 0.2) -> np.ndarray:
    """Slow baseline drift from breathing and electrode-skin impedance changes, ``(n,)`` in mV.

    A respiratory component (0.15-0.4 Hz) plus a few random components below 0.15 Hz; ``amplitude_mv`` is the
    rough peak amplitude.
    """
    t = np.arange(n) / fs
    freqs = np.concatenate([[rng.uniform(0.15, 0.4)], rng.uniform(0.01, 0.15, size=3)])
    amps = amplitude_mv * np.concatenate([[rng.uniform(0.2, 0.6)], rng.uniform(0.1, 0.5, size=3)])
    phases = rng.uniform(0, 2 * np.pi, size=freqs.size)
    return (amps[:, None] * np.sin(2 * np.pi * freqs[:, None] * t[None, :] + phases[:, None])).sum(axis=0)


def emg_noise(n: int, fs: float, rng: np.random.Generator, std_mv: float = 0.02,
              burst_fraction: float = 0.0) -> np.ndarray:
    """Muscle (EMG) noise, ``(n,)`` in mV: band-limited Gaussian noise, optionally in bursts of muscle contraction.

    ``std_mv`` is the standard deviation of the background noise; ``burst_fraction`` the rough fraction of the record
    covered by bursts of 3-8x stronger noise (0 disables bursts).
    """
    b, a = _emg_filter(float(fs))
    x = sps.lfilter(b, a, rng.standard_normal(n))
    x *= std_mv / (x.std() + 1e-12)
    if burst_fraction > 0:
        x *= 1.0 + _burst_envelope(n, fs, rng, burst_fraction) * rng.uniform(2.0, 7.0)
    return x


def _burst_envelope(n: int, fs: float, rng: np.random.Generator, fraction: float) -> np.ndarray:
    """A 0..1 envelope with smooth-edged bursts of 0.5-3 s covering about ``fraction`` of the record."""
    env = np.zeros(n)
    mean_len = 1.5 * fs
    n_bursts = rng.poisson(max(fraction * n / mean_len, 0.3))
    for _ in range(n_bursts):
        length = int(rng.uniform(0.5, 3.0) * fs)
        start = int(rng.integers(0, max(n - length, 1)))
        env[start:start + length] = np.maximum(env[start:start + length], np.hanning(length)[: n - start])
    return env


def powerline(n: int, fs: float, rng: np.random.Generator, amplitude_mv: float = 0.02,
              freq_hz: float | None = None) -> np.ndarray:
    """Mains interference, ``(n,)`` in mV, at 50 or 60 Hz (and a weaker third harmonic where below Nyquist).

    ``amplitude_mv`` is the amplitude of the fundamental; ``freq_hz`` the mains frequency, drawn from {50, 60} when
    omitted.
    """
    f0 = float(freq_hz) if freq_hz is not None else float(rng.choice([50.0, 60.0]))
    t = np.arange(n) / fs
    # Mains frequency drifts by a fraction of a hertz; a fixed phase jitter keeps it from being a pure tone.
    f = f0 + rng.uniform(-0.2, 0.2)
    x = amplitude_mv * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    if 3 * f < fs / 2:
        x += 0.2 * amplitude_mv * np.sin(2 * np.pi * 3 * f * t + rng.uniform(0, 2 * np.pi))
    return x


def motion_artefacts(n: int, fs: float, rng: np.random.Generator, rate_per_min: float = 1.0,
                     amplitude_mv: float = 1.0) -> np.ndarray:
    """Motion artefacts and electrode pops, ``(n,)`` in mV: sudden steps and large slow transients that fool R-peak
    detectors.

    ``rate_per_min`` is the expected number of artefacts per minute; ``amplitude_mv`` their typical amplitude.
    """
    x = np.zeros(n)
    n_events = rng.poisson(rate_per_min * n / fs / 60.0)
    t = np.arange(n)
    for _ in range(n_events):
        c = rng.integers(0, n)
        amp = amplitude_mv * rng.uniform(0.3, 1.5) * rng.choice([-1.0, 1.0])
        if rng.random() < 0.4:
            # Electrode pop: a step that decays back with the amplifier's high-pass time constant.
            tau = rng.uniform(0.2, 1.0) * fs
            x[c:] += amp * np.exp(-(t[c:] - c) / tau)
        else:
            # Movement: a damped oscillation of 0.5-4 Hz, the band where QRS detectors are most easily fooled.
            width = rng.uniform(0.2, 1.0) * fs
            f = rng.uniform(0.5, 4.0) / fs
            lo, hi = max(0, int(c - 4 * width)), min(n, int(c + 4 * width))
            tt = t[lo:hi] - c
            x[lo:hi] += amp * np.exp(-0.5 * (tt / width) ** 2) * np.cos(2 * np.pi * f * tt)
    return x
