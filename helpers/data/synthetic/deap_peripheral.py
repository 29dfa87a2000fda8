"""The eight peripheral channels of a simulated DEAP subject: EOG, EMG, skin conductance, respiration, pulse, skin
temperature, in DEAP's units (see :mod:`.deap_eeg`'s docstring for what each shows and how it follows the ratings).
"""
from __future__ import annotations

import numpy as np

from . import deap_signals as sig
from .deap_signals import BASELINE_S, FS, N_SAMPLES, N_TRIALS


def peripheral(rng: np.random.Generator, zv: np.ndarray, za: np.ndarray, veog_blinks: np.ndarray) -> np.ndarray:
    """(40, 8, 8064) float64: hEOG, vEOG, zEMG, tEMG, GSR, respiration, plethysmograph, temperature."""
    t = np.arange(N_SAMPLES) / FS
    after = sig.onset_ramp().astype(np.float64)

    # hEOG: fixations held, saccades jump (1-3 per second while watching), plus noise.
    saccade = rng.random((N_TRIALS, N_SAMPLES)) < rng.uniform(1.0, 3.0) / FS
    fixation = np.cumsum(saccade, axis=1)
    heog = np.take_along_axis(rng.normal(0, 60, (N_TRIALS, N_SAMPLES + 1)), fixation, axis=1)
    heog += 8 * rng.standard_normal((N_TRIALS, N_SAMPLES)) + 30 * sig.smooth_noise(rng, (N_TRIALS,), 0.05)
    veog = veog_blinks + 0.05 * heog + 8 * rng.standard_normal((N_TRIALS, N_SAMPLES)) \
        + 30 * sig.smooth_noise(rng, (N_TRIALS,), 0.05)  # a little crosstalk: the electrodes are never aligned

    # Facial (zygomaticus) and trapezius EMG: broadband bursts; smiling follows valence a little.
    broadband = np.clip((sig.FREQS - 20) / 5, 0, 1)
    z_env = np.exp(1.0 * sig.smooth_noise(rng, (N_TRIALS,), 0.3) + 0.15 * zv[:, None] * after)
    zemg = sig.shaped_noise(rng, broadband, (N_TRIALS,)) * z_env * 6.0
    t_env = np.exp(1.0 * sig.smooth_noise(rng, (N_TRIALS,), 0.2) + 0.05 * za[:, None] * after)
    temg = sig.shaped_noise(rng, broadband, (N_TRIALS,)) * t_env * 10.0

    # Skin conductance (uS): tonic level + drift + responses (more and larger with arousal), stored as resistance.
    scr_rate = np.clip(rng.uniform(1.5, 4.0) / 60 * np.exp(0.4 * za), 0.005, None)
    scrs = sig.events(rng, scr_rate, refractory_s=2.0)
    during_video = [ev > (BASELINE_S + 1) * FS for ev in scrs]
    scr_amp = [rng.lognormal(np.log(0.3), 0.5, ev.size) * np.where(v, 1 + 0.3 * np.clip(za[i], -1, 2), 0.5)
               for i, (ev, v) in enumerate(zip(scrs, during_video))]
    t_k = np.arange(0, 20 * FS) / FS
    kernel = np.exp(-t_k / 2.0) - np.exp(-t_k / 0.75)
    kernel /= kernel.max()
    onset_delay = int(1.5 * FS)  # SCRs peak a few seconds after what caused them
    phasic = sig.convolve(sig.impulses(scrs, scr_amp), np.r_[np.zeros(onset_delay), kernel])
    tonic = rng.uniform(2, 12) * np.exp(rng.normal(0, 0.1, (N_TRIALS, 1)))
    conductance = np.clip(tonic + 0.3 * sig.smooth_noise(rng, (N_TRIALS,), 0.02) + phasic, 0.5, None)
    gsr = 1e6 / conductance  # Ohm

    # Respiration (~0.25 Hz) and pulse (~1.1 Hz, with respiratory sinus arrhythmia), both a little faster with
    # arousal after the baseline.
    resp_hz = rng.normal(0.25, 0.04) + 0.01 * za[:, None] * after + 0.03 * sig.smooth_noise(rng, (N_TRIALS,), 0.03)
    resp_phase = (2 * np.pi * np.cumsum(np.clip(resp_hz, 0.1, 0.6), axis=1) / FS
                  + rng.uniform(0, 2 * np.pi, (N_TRIALS, 1)))
    depth = 800 * np.exp(0.2 * sig.smooth_noise(rng, (N_TRIALS,), 0.05))
    resp = (depth * (np.sin(resp_phase) + 0.25 * np.sin(2 * resp_phase + 0.7))
            + 200 * sig.smooth_noise(rng, (N_TRIALS,), 0.01))
    heart_hz = (rng.normal(70, 8) / 60 + 0.03 * za[:, None] * after + 0.04 * np.sin(resp_phase)
                + 0.03 * sig.smooth_noise(rng, (N_TRIALS,), 0.05))
    cycle = (np.cumsum(heart_hz, axis=1) / FS + rng.uniform(0, 1, (N_TRIALS, 1))) % 1.0
    pulse = np.exp(-0.5 * ((cycle - 0.2) / 0.07) ** 2) + 0.35 * np.exp(-0.5 * ((cycle - 0.5) / 0.09) ** 2)
    pleth = 3000 * pulse * (1 + 0.1 * np.sin(resp_phase)) * (1 - 0.05 * za[:, None] * after) \
        + 500 * sig.smooth_noise(rng, (N_TRIALS,), 0.05)

    temp = rng.normal(31.5, 1.2) + 0.1 * rng.standard_normal((N_TRIALS, 1)) \
        + 0.05 * sig.smooth_noise(rng, (N_TRIALS,), 0.02) - 0.03 * za[:, None] * t / t[-1]
    return np.stack([heog, veog, zemg, temg, gsr, resp, pleth, temp], axis=1).astype(np.float64)
