"""Synthetic WESAD wrist data (Empatica E4): BVP/PPG, ACC, EDA and TEMP through a stress protocol.

The embedded default of Unit 4 (a PPG stress monitor). Each simulated subject goes through a protocol of WESAD's
shape, timed on a "chest device" clock as WESAD's ``SX_quest.csv`` is::

    prep | baseline 20 min | rest | stress (TSST) 10 min | rest | meditation 7 min | rest | amusement 6.5 min | rest
         | meditation 7 min | rest

(odd subjects take amusement before stress, as half of WESAD's subjects did). The wrist device starts 0.5-5 min
before the chest device and stops 0.5-3 min after it, so a loader has to align the two clocks.

What is simulated, per condition and per subject:

* **PPG** from neurokit2's :func:`neurokit2.ppg_simulate` (beat onsets, systolic peak, notch and diastolic peak
  interpolated with Akima splines), simulated in 60 s chunks whose heart rate follows a slow random walk around
  the condition's mean: stress raises heart rate by 10-20 bpm (subject-specific) and lowers beat-to-beat
  variability (neurokit2's ``ibi_randomness``); meditation lowers both rate and breathing frequency. Respiration
  modulates pulse amplitude and baseline (7/min in meditation, 14-15 at rest, 19 under stress). Subject
  variability: resting heart rate and its rise under stress, pulse amplitude, and a dicrotic emphasis (mixing in
  the derivative). The result is high-passed at 0.3 Hz and zero-mean, like the E4's BVP.
* **ACC** (1/64 g, 32 Hz, clipped to the E4's +-2 g): posture (gravity direction; standing during the TSST),
  walking between rooms at the start of rests (1.6-2.0 Hz arm swing), speech gestures under stress (~6/min),
  small fidgets while seated (~2/min), near-stillness in meditation, and a double tap at the chest device's start
  (how WESAD's authors synchronised the two devices).
* **Motion artefacts in the PPG** proportional to the simulated arm acceleration, so walking and gesturing corrupt
  the pulse as they do on a real wrist.
* **EDA** (uS, 4 Hz): a subject-specific tonic level (log-normal around 1 uS) with drift, raised at the start and
  fading over ~20 min (habituation: the baseline is not flat), rising under stress by 30-100% of the subject's
  level with a 2.5 min lag; skin-conductance responses (rise ~0.75 s, decay ~3.5 s) come as a Poisson process
  whose rate is ~4/min under stress, ~1/min at baseline and ~0.4/min in meditation.
* **TEMP** (degC, 4 Hz): warm-up from room temperature after the device is put on, slow drift, and a 0.3-0.8 degC
  drop under stress (peripheral vasoconstriction) with a 2 min lag.

What is not realistic: no true respiratory sinus arrhythmia (neurokit2 modulates intervals at 0.05 Hz only); the
pulse morphology is the same template for everyone apart from amplitude and dicrotic emphasis; conditions switch
at block edges (the physiology lags only for EDA and temperature); no sweating, cold hands, loose straps, sensor
dropouts or the E4's BVP saturation; the TSST's anticipation and recovery are not modelled beyond the lags.

Speed: 6 subjects of the full protocol (~84 min each) take about 1.5 s on one core (the CSV writing in
:mod:`helpers.data.wesad` costs more than the simulation).
"""
from __future__ import annotations

from dataclasses import dataclass

import neurokit2 as nk
import numpy as np
from scipy import signal as sps

GENERATOR_VERSION = "wesad_ppg-1.0"
FS_BVP, FS_ACC, FS_EDA = 64, 32, 4  # the E4's rates (TEMP shares EDA's)
# WESAD's subject ids: S1 and S12 were discarded by the authors (sensor malfunction).
SUBJECT_IDS = ("S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9", "S10", "S11", "S13", "S14", "S15", "S16", "S17")

# (name in SX_quest.csv or None for a rest, condition, duration in s) in chest-device time; WESAD's order A.
PROTOCOL_A = (("prep", "rest", 420), ("Base", "baseline", 1200), ("rest", "rest", 300), ("TSST", "stress", 600),
              ("rest", "rest", 600), ("Medi 1", "meditation", 420), ("rest", "rest", 240),
              ("Fun", "amusement", 392), ("rest", "rest", 240), ("Medi 2", "meditation", 420), ("rest", "rest", 180))
# Order B: amusement before stress.
PROTOCOL_B = (("prep", "rest", 420), ("Base", "baseline", 1200), ("rest", "rest", 300), ("Fun", "amusement", 392),
              ("rest", "rest", 240), ("Medi 1", "meditation", 420), ("rest", "rest", 600), ("TSST", "stress", 600),
              ("rest", "rest", 300), ("Medi 2", "meditation", 420), ("rest", "rest", 180))


@dataclass(frozen=True)
class _State:
    hr_delta_bpm: float       # added to the subject's resting rate (stress: replaced by the subject's own rise)
    ibi_randomness: float     # neurokit2's beat-to-beat randomness: lower = less HRV
    breaths_per_min: float
    scr_per_min: float        # skin-conductance responses
    eda_delta_us: float       # tonic EDA shift (stress: scaled per subject)
    temp_delta_c: float
    motion: str               # "walk", "gesture", "still", "very_still"


STATES = {
    "rest": _State(4.0, 0.08, 15.0, 1.5, 0.0, 0.0, "walk"),
    "baseline": _State(0.0, 0.08, 14.0, 1.0, 0.0, 0.0, "still"),
    "stress": _State(15.0, 0.03, 19.0, 4.0, 1.0, -0.55, "gesture"),
    "amusement": _State(2.0, 0.07, 15.0, 2.0, 0.2, 0.0, "still"),
    "meditation": _State(-3.0, 0.10, 7.0, 0.4, -0.2, 0.1, "very_still"),
}


@dataclass
class SimulatedSubject:
    """One simulated WESAD subject, as the E4 and the protocol sheet would record it.

    Attributes
    ----------
    subject : str
        WESAD-style id, ``"S2"``, ``"S3"``, ... (S1 and S12 skipped as in WESAD).
    e4_start_unix : float
        Start of the E4 recording, unix seconds UTC (row 1 of every E4 CSV).
    chest_start_s : float
        Start of the chest device's recording in seconds after ``e4_start_unix`` (whole seconds).
    chest_duration_s : float
        Length of the chest device's recording in seconds (whole seconds).
    bvp : np.ndarray
        float64, shape ``(n_bvp,)``: BVP at 64 Hz, arbitrary units, zero-mean.
    acc : np.ndarray
        int64, shape ``(n_acc, 3)``: x, y, z at 32 Hz in 1/64 g, within [-128, 127].
    eda : np.ndarray
        float64, shape ``(n_4hz,)``: EDA at 4 Hz in uS (>= 0).
    temp : np.ndarray
        float64, shape ``(n_4hz,)``: skin temperature at 4 Hz in degC.
    protocol : list of (str, str, int, int)
        ``(name in SX_quest.csv, condition, start_s, end_s)`` of each condition block, in chest-device seconds.
    hr_bpm : np.ndarray
        float64, shape ``(n_seconds,)``: the heart rate the PPG was simulated with, once per E4 second.
    """

    subject: str
    e4_start_unix: float
    chest_start_s: float
    chest_duration_s: float
    bvp: np.ndarray
    acc: np.ndarray
    eda: np.ndarray
    temp: np.ndarray
    protocol: list[tuple[str, str, int, int]]
    hr_bpm: np.ndarray


def subject_ids(n: int) -> list[str]:
    """WESAD's ids for the first ``n`` subjects, continuing ``S18``, ``S19``, ... beyond its 15."""
    return [*SUBJECT_IDS[:n], *(f"S{18 + i}" for i in range(max(0, n - len(SUBJECT_IDS))))]


def simulate_wesad_subjects(n_subjects: int, *, seed: int = 0, time_scale: float = 1.0) -> list[SimulatedSubject]:
    """Simulate ``n_subjects`` subjects through the WESAD-shaped protocol.

    Parameters
    ----------
    n_subjects : int
        Number of subjects (>= 1).
    seed : int
        Seed; the same seed gives the same subjects, byte for byte.
    time_scale : float
        Multiplies every block duration (1.0: the full ~84 min protocol; 0.25 makes baseline 5 min and stress
        2.5 min, for quick tests). Blocks last at least 60 s.

    Returns
    -------
    list of SimulatedSubject
    """
    if n_subjects < 1:
        raise ValueError(f"n_subjects must be >= 1, got {n_subjects}")
    if not (np.isfinite(time_scale) and time_scale > 0):
        raise ValueError(f"time_scale must be a positive number, got {time_scale!r}")
    root = np.random.default_rng(seed)
    seeds = root.integers(0, 2**31 - 1, size=n_subjects)
    day0 = 1495437325.0  # 22 May 2017, 07:15:25 UTC: the day of WESAD's S2 recording
    return [_simulate_subject(sid, np.random.default_rng(int(s)), day0 + 86400.0 * i + int(s) % 3600,
                              PROTOCOL_A if i % 2 == 0 else PROTOCOL_B, time_scale)
            for i, (sid, s) in enumerate(zip(subject_ids(n_subjects), seeds))]


# ---------------------------------------------------------------- one subject

def _simulate_subject(sid: str, rng: np.random.Generator, e4_start: float, protocol, time_scale: float):
    blocks = [(name, cond, max(60, round(d * time_scale))) for name, cond, d in protocol]
    lead = int(rng.integers(30, 300))       # E4 switched on before the chest device
    tail = int(rng.integers(30, 180))       # and off after it
    chest_len = sum(d for _, _, d in blocks)
    # Condition of every E4 second (rest outside the chest recording).
    states = ["rest"] * lead
    proto, t = [], 0
    for name, cond, d in blocks:
        states += [cond] * d
        if cond != "rest":
            proto.append((name, cond, t, t + d))
        t += d
    states += ["rest"] * tail

    subj = {
        "hr_rest": float(np.clip(rng.normal(72, 7), 55, 95)),
        "stress_rise": float(rng.uniform(10, 20)),
        "amplitude": float(rng.uniform(25, 120)),
        "dicrotic": float(rng.uniform(-0.35, 0.35)),
        "artefact_gain": float(rng.uniform(0.5, 2.0)),
        "eda_level": float(rng.lognormal(np.log(1.0), 0.7)),
        "eda_stress": float(rng.uniform(0.3, 1.0)),   # times the subject's level: responders differ
        "eda_habituation": float(rng.uniform(0.2, 1.0)),
        "scr_gain": float(rng.lognormal(0, 0.4)),
        "temp_skin": float(rng.uniform(31.5, 35.0)),
        "temp_stress": float(rng.uniform(0.3, 0.8)),
    }
    dyn, grav = _acceleration(states, rng, tap_at_s=lead + 3.0)
    bvp, hr = _ppg(states, subj, rng, dyn)
    acc = np.clip(np.round((grav + dyn) * 64 + rng.normal(0, 0.6, grav.shape)), -128, 127).astype(np.int64)
    eda = _eda(states, subj, rng)
    temp = _temperature(states, subj, rng)
    return SimulatedSubject(subject=sid, e4_start_unix=e4_start, chest_start_s=float(lead),
                            chest_duration_s=float(chest_len), bvp=bvp, acc=acc, eda=eda, temp=temp, protocol=proto,
                            hr_bpm=hr)


def _runs(states: list[str]) -> list[tuple[str, int, int]]:
    """Contiguous runs ``(state, start_s, end_s)`` of the per-second states."""
    out, start = [], 0
    for i in range(1, len(states) + 1):
        if i == len(states) or states[i] != states[start]:
            out.append((states[start], start, i))
            start = i
    return out


def _ppg(states, subj, rng, dyn):
    total = len(states)
    n = total * FS_BVP
    hr_per_s = np.empty(total)
    pieces = []
    for state, a, b in _runs(states):
        st = STATES[state]
        mean_hr = subj["hr_rest"] + (subj["stress_rise"] if state == "stress" else st.hr_delta_bpm)
        walk = 0.0
        for c0 in range(a, b, 60):  # 60 s chunks: heart rate drifts within a condition, as it does in people
            c1 = min(b, c0 + 60)
            walk = 0.7 * walk + rng.normal(0, 1.5)
            hr = float(np.clip(mean_hr + walk, 45, 150))
            hr_per_s[c0:c1] = hr
            # neurokit2 leaves the tail after the last beat flat: simulate 3 s more and cut. 128 Hz then decimate:
            # at 64 Hz its notch and diastolic points fall on the same sample at high heart rates.
            x = nk.ppg_simulate(duration=c1 - c0 + 3, sampling_rate=128, heart_rate=hr, frequency_modulation=0.1,
                                ibi_randomness=st.ibi_randomness, drift=0, motion_amplitude=0,
                                powerline_amplitude=0, burst_number=0, burst_amplitude=0,
                                random_state=int(rng.integers(0, 2**31 - 1)),
                                random_state_distort="legacy")  # distortions are off: spawning is wasted time
            pieces.append(sps.resample_poly(x - x.mean(), 1, 2)[: (c1 - c0) * FS_BVP])
    ppg = np.concatenate(pieces)[:n]
    ppg = ppg + subj["dicrotic"] * np.gradient(ppg) * FS_BVP / (2 * np.pi * 1.5)  # morphology per subject
    ppg = sps.sosfiltfilt(sps.butter(2, 0.3, "highpass", fs=FS_BVP, output="sos"), ppg)  # the E4's BVP is AC-coupled
    ppg = ppg / (np.std(ppg) + 1e-12)
    # Respiration modulates pulse amplitude and baseline.
    rate = np.repeat([STATES[s].breaths_per_min / 60.0 for s in states], FS_BVP)
    phase = 2 * np.pi * np.cumsum(rate) / FS_BVP + rng.uniform(0, 2 * np.pi)
    ppg = ppg * (1 + 0.15 * np.sin(phase)) + 0.2 * np.sin(phase + 0.5)
    # Motion artefacts scale with the arm's acceleration (32 Hz -> 64 Hz by repetition is enough for an envelope).
    motion = np.repeat(np.minimum(np.linalg.norm(dyn, axis=1), 1.0), 2)[:n]
    noise = sps.sosfiltfilt(sps.butter(2, [0.3, 4.0], "bandpass", fs=FS_BVP, output="sos"), rng.normal(0, 1, n))
    ppg = ppg + subj["artefact_gain"] * 2.5 * motion * noise / (np.std(noise) + 1e-12)
    ppg = ppg + rng.normal(0, 0.02, n)
    return subj["amplitude"] * ppg, hr_per_s


def _acceleration(states, rng, *, tap_at_s: float):
    """Dynamic acceleration and gravity, both ``(n, 3)`` in g at 32 Hz."""
    total = len(states)
    n = total * FS_ACC
    t = np.arange(n) / FS_ACC
    dyn = np.zeros((n, 3))
    sitting = _unit(np.array([0.45, -0.15, 0.88]) + rng.normal(0, 0.1, 3))
    standing = _unit(np.array([-0.95, 0.1, 0.2]) + rng.normal(0, 0.1, 3))  # arm hanging during the TSST
    grav = np.repeat(sitting[None], n, axis=0)
    for state, a, b in _runs(states):
        i0, i1 = a * FS_ACC, b * FS_ACC
        kind = STATES[state].motion
        if state == "stress":
            grav[i0:i1] = standing
        if kind == "walk":  # walking to the next room at the start of a rest, then sitting
            walk_s = min(b - a, int(rng.uniform(20, 90)))
            j1 = i0 + walk_s * FS_ACC
            f = rng.uniform(1.6, 2.0)
            tt = t[i0:j1]
            swing = np.stack([0.35 * np.sin(2 * np.pi * f / 2 * tt), 0.15 * np.sin(2 * np.pi * f * tt + 1),
                              0.25 * np.sin(2 * np.pi * f * tt)], axis=1)
            dyn[i0:j1] += swing * rng.uniform(0.7, 1.4) + rng.normal(0, 0.05, swing.shape)
            grav[i0:j1] = standing
        rate = {"walk": 1.0, "gesture": 6.0, "still": 2.0, "very_still": 0.05}[kind]  # movements per minute
        for _ in range(rng.poisson(rate * (b - a) / 60.0)):
            c = int(rng.integers(i0, i1))
            length = int(rng.uniform(1, 3) * FS_ACC)
            burst = sps.sosfiltfilt(_GESTURE_SOS, rng.normal(0, 1, (length, 3)), axis=0)  # arm movement < 3 Hz
            end = min(n, c + length)
            size = rng.uniform(0.15, 0.5) if kind in ("walk", "gesture") else rng.uniform(0.03, 0.25)
            dyn[c:end] += size * burst[: end - c] * np.hanning(length)[: end - c, None] * 3
    # Smooth posture changes over ~2 s so gravity does not jump.
    kernel = np.ones(2 * FS_ACC) / (2 * FS_ACC)
    grav = np.stack([np.convolve(np.pad(grav[:, k], (FS_ACC, FS_ACC - 1), mode="edge"), kernel, "valid")
                     for k in range(3)], axis=1)
    # The double tap: two sharp knocks 0.25 s apart, seen on every axis.
    for tap in (tap_at_s, tap_at_s + 0.25):
        i = int(tap * FS_ACC)
        if i + 2 < n:
            dyn[i:i + 2] += np.array([[1.2, -0.8, 1.5], [-0.6, 0.4, -0.7]])
    return dyn, grav


_GESTURE_SOS = sps.butter(2, 3.0, fs=FS_ACC, output="sos")


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _lag(x: np.ndarray, tau_s: float, fs: float) -> np.ndarray:
    """First-order lag (time constant ``tau_s``) starting at ``x[0]``: slow physiology follows the condition late."""
    a = 1.0 / (tau_s * fs)
    return sps.lfilter([a], [1, -(1 - a)], x - x[0]) + x[0]


def _eda(states, subj, rng):
    n = len(states) * FS_EDA
    per_sample = np.repeat(states, FS_EDA)
    level = subj["eda_level"]
    target = np.array([STATES[s].eda_delta_us * (subj["eda_stress"] * level if s == "stress" else 1.0)
                       for s in per_sample])
    drift = np.cumsum(rng.normal(0, 0.002, n))
    # Arousal from arriving and being wired up fades over the first ~20 min (habituation), so the baseline is not
    # flat; the tonic level follows the condition with a lag of minutes.
    habituation = subj["eda_habituation"] * level * np.exp(-np.arange(n) / FS_EDA / 1200.0)
    tonic = level + habituation + _lag(target, 150.0, FS_EDA) + drift - drift.mean() * 0.5
    # Skin-conductance responses: a Poisson process whose rate follows the condition.
    rate = np.array([STATES[s].scr_per_min for s in per_sample]) / 60.0 / FS_EDA
    onsets = rng.random(n) < rate
    amps = rng.lognormal(np.log(0.12), 0.5, n) * subj["scr_gain"] * np.where(per_sample == "stress", 1.5, 1.0)
    k = np.arange(30 * FS_EDA) / FS_EDA
    kernel = np.exp(-k / 3.5) - np.exp(-k / 0.75)
    scr = np.convolve(onsets * amps, kernel / kernel.max())[:n]
    return np.maximum(tonic + scr + rng.normal(0, 0.003, n), 0.0)


def _temperature(states, subj, rng):
    n = len(states) * FS_EDA
    per_sample = np.repeat(states, FS_EDA)
    t = np.arange(n) / FS_EDA
    target = np.array([STATES[s].temp_delta_c * (subj["temp_stress"] / 0.55 if s == "stress" else 1.0)
                       for s in per_sample])
    room = rng.uniform(25.0, 29.0)
    warm_up = (room - subj["temp_skin"]) * np.exp(-t / 150.0)  # the sensor warms from room to skin temperature
    drift = _lag(np.cumsum(rng.normal(0, 0.004, n)), 60.0, FS_EDA)
    return subj["temp_skin"] + warm_up + _lag(target, 120.0, FS_EDA) + drift
