"""Building blocks of a simulated DEAP trial (40 trials x 8064 samples at 128 Hz): shaped noise, spectral peaks,
event trains and their responses, the onset of the video, and DEAP's 4-45 Hz band-pass.

Shared by the EEG (:mod:`.deap_eeg`) and the peripheral channels (:mod:`.deap_peripheral`). Every function draws
only from the ``rng`` it is given, so a subject stays the same for the same seed.
"""
from __future__ import annotations

import numpy as np
import scipy.fft

FS = 128.0
N_TRIALS = 40
N_SAMPLES = 8064          # 63 s: 3 s pre-trial baseline + 60 s of video
BASELINE_S = 3.0
FREQS = scipy.fft.rfftfreq(N_SAMPLES, 1 / FS)  # (4033,) Hz
# DEAP's preprocessing band-passed the EEG 4-45 Hz; a smooth Butterworth-like magnitude (order 4) stands in for it.
BANDPASS = 1 / np.sqrt((1 + (4.0 / np.maximum(FREQS, 1e-6)) ** 8) * (1 + (FREQS / 45.0) ** 8))
BANDPASS[0] = 0.0


def shaped_noise(rng: np.random.Generator, amp: np.ndarray, shape: tuple[int, ...], *,
                  normalise: bool = True) -> np.ndarray:
    """Gaussian noise whose amplitude spectrum is ``amp`` (``(n_freq,)``, or per signal ``(..., n_freq)``); float32.

    With ``normalise`` each signal has unit variance; without it, ``amp`` sets the level (variance
    ``(amp[0]**2 + 2 * sum(amp[1:-1]**2) + amp[-1]**2) / N_SAMPLES``).
    """
    if normalise:
        amp = amp / np.sqrt((amp[0] ** 2 + 2 * (amp[1:-1] ** 2).sum() + amp[-1] ** 2) / N_SAMPLES)
    spec = rng.standard_normal((*shape, FREQS.size, 2), dtype=np.float32).view(np.complex64)[..., 0]
    spec *= (amp / np.sqrt(2)).astype(np.float32)
    return scipy.fft.irfft(spec, n=N_SAMPLES, norm="ortho", axis=-1).astype(np.float32, copy=False)


def peak(f0: float, sd: float) -> np.ndarray:
    """Amplitude spectrum on :data:`FREQS` of a Gaussian power peak at ``f0`` Hz with width ``sd`` Hz."""
    return np.sqrt(np.exp(-0.5 * ((FREQS - f0) / sd) ** 2))


def onset_ramp() -> np.ndarray:
    """(8064,) 0 during the 3 s baseline, rising to 1 over the next second: when emotion effects act."""
    t = np.arange(N_SAMPLES) / FS
    return np.clip(t - BASELINE_S, 0, 1.0).astype(np.float32)


def events(rng: np.random.Generator, rate_per_s: np.ndarray, refractory_s: float) -> list[np.ndarray]:
    """Per trial, sorted event samples of a Poisson process at ``rate_per_s`` (per trial) with a dead time."""
    out = []
    for rate in np.broadcast_to(rate_per_s, (N_TRIALS,)):
        n = rng.poisson(rate * N_SAMPLES / FS * 1.5) + 1
        gaps = refractory_s + rng.exponential(1 / rate, n)
        times = np.cumsum(gaps) - rng.uniform(0, gaps[0])
        out.append((times[(times >= 0) & (times < N_SAMPLES / FS - 0.5)] * FS).astype(np.int64))
    return out


def impulses(events: list[np.ndarray], amplitudes: list[np.ndarray]) -> np.ndarray:
    """(40, 8064) float64: ``amplitudes`` placed at the ``events`` samples of each trial."""
    train = np.zeros((N_TRIALS, N_SAMPLES), dtype=np.float64)
    for i, (ev, a) in enumerate(zip(events, amplitudes)):
        np.add.at(train[i], ev, a)
    return train


def convolve(train: np.ndarray, kernel: np.ndarray, *, centre: int = 0, gain: np.ndarray | None = None) -> np.ndarray:
    """Each row of ``train`` (impulses) convolved with ``kernel`` (peak at ``centre``), optionally filtered."""
    n = N_SAMPLES + kernel.size
    spec = scipy.fft.rfft(train, n=n, axis=-1) * scipy.fft.rfft(kernel, n=n)
    if gain is not None:  # a magnitude response given on FREQS, interpolated to this FFT length
        spec *= np.interp(scipy.fft.rfftfreq(n, 1 / FS), FREQS, gain)
    return scipy.fft.irfft(spec, n=n, axis=-1)[:, centre:centre + N_SAMPLES]


def smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], cutoff_hz: float) -> np.ndarray:
    """Unit-variance noise with no power above about ``cutoff_hz``: slow drifts and envelopes."""
    return shaped_noise(rng, np.exp(-0.5 * (FREQS / cutoff_hz) ** 2), shape)
