"""Synthetic single-lead ECG: normal sinus rhythm versus atrial fibrillation (AF).

The embedded default of Unit 1. Each record is built the way an ECG is produced:

1. an **RR series** (beat-to-beat intervals): sinus rhythm has slow heart-rate variability with respiratory
   modulation; AF is *irregularly irregular* (nearly independent intervals);
2. a **PQRST template per patient** (sum of Gaussians for P, Q, R, S, T with patient-specific amplitudes and
   widths) placed at every beat by overlap-add; AF beats have no P wave, ectopic beats have their own shape;
3. **fibrillatory f-waves** (4-9 Hz, drifting frequency and amplitude) added during AF;
4. **noise**: EMG, powerline, baseline wander and motion artefacts (see :mod:`.artefacts`).

It is deliberately *not* trivially separable, because real data are not: some sinus records carry frequent
premature beats (PACs/PVCs, sometimes bigeminy) or strong sinus arrhythmia (irregular RR, but P waves present),
some AF records have a fairly regular ventricular response or tiny f-waves, some AF records are paroxysmal (the
record is labelled AF but part of it is sinus rhythm, as in record-level annotations of real data), and some
records of both classes are noisy enough that R-peak detection fails. A rule on RR irregularity alone therefore
makes mistakes that a model looking at the waveform (P waves, f-waves) can avoid.

With the defaults, 10 s windows at 125 Hz and a patient-wise split, ``benchmarks/af_baselines.py`` gives about:
majority class 85% accuracy / ROC AUC 0.5; RR features + logistic regression ROC AUC ~0.85-0.91 (seeds 0-2);
a 4-block 1D-CNN trained 10 epochs ROC AUC ~0.97-0.98 (seeds 0-1). Generating 3000 records (10-60 s, 300 Hz) takes
~5 s on one core.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .artefacts import baseline_wander, emg_noise, motion_artefacts, powerline

GENERATOR_VERSION = "af_ecg-1.4"
RHYTHMS = ("sinus", "sinus_arrhythmia", "sinus_ectopy", "af", "af_regular", "af_paroxysmal")

# Template support around the R peak, in seconds: long enough for the P wave before and the T wave after.
_PRE_S, _POST_S = 0.40, 0.60


@dataclass
class SimulatedRecords:
    """Output of :func:`simulate_af_records`.

    Attributes
    ----------
    signals : list of np.ndarray
        float32, shape ``(n_samples,)`` each, in mV; lengths differ between records.
    labels : np.ndarray
        int64, shape ``(n_records,)``: 0 normal sinus rhythm, 1 AF.
    patient_ids : np.ndarray
        str, shape ``(n_records,)``; several records share a patient (and its morphology, rate and noise).
    fs : float
        Sampling rate in Hz.
    rhythms : np.ndarray
        str, shape ``(n_records,)``: the finer ground truth, one of :data:`RHYTHMS` (useful to see which kind of
        record a model gets wrong).
    """

    signals: list[np.ndarray]
    labels: np.ndarray
    patient_ids: np.ndarray
    fs: float
    rhythms: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))

    def __len__(self) -> int:
        return len(self.signals)


@dataclass
class _Patient:
    """Everything that stays fixed across one patient's records."""

    af_prone: bool
    sinus_hr: float            # bpm
    af_hr: float               # ventricular rate in AF, bpm
    rsa: float                 # respiratory sinus arrhythmia, fraction of RR
    ectopy_rate: float         # fraction of premature beats during sinus rhythm
    pvc_share: float           # of those, the share that are ventricular (PVC) rather than atrial (PAC)
    af_cv: float               # coefficient of variation of RR in AF
    f_amp: float               # f-wave amplitude, mV
    f_freq: float              # dominant atrial rate, Hz
    paroxysmal: float          # probability that an AF record holds only an AF episode (the rest sinus)
    morph: dict[str, float]    # PQRST template parameters
    gain: float                # lead gain; negative for an inverted lead
    emg_std: float             # mV
    wander: float              # mV
    mains_amp: float           # mV
    mains_hz: float
    motion_rate: float         # artefacts per minute


def _draw_patient(rng: np.random.Generator, af_prone: bool) -> _Patient:
    u = rng.uniform
    morph = {
        # Low-amplitude P waves in some patients: visible only in clean recordings (a genuine confounder).
        "p_amp": u(0.03, 0.07) if rng.random() < 0.2 else u(0.07, 0.25),
        "p_sigma": u(0.018, 0.032), "pr": u(0.13, 0.21),
        "q_amp": u(0.0, 0.15), "r_amp": float(np.exp(rng.normal(np.log(1.0), 0.35))),
        "r_sigma": u(0.008, 0.014), "s_amp": u(0.05, 0.6),
        "t_amp": u(0.08, 0.45) * (-1.0 if rng.random() < 0.1 else 1.0), "t_sigma": u(0.035, 0.065),
        "qtc": u(0.37, 0.45),
    }
    kind = rng.random()
    return _Patient(
        af_prone=af_prone,
        sinus_hr=float(np.clip(rng.normal(74, 13), 48, 118)),
        af_hr=float(np.clip(rng.normal(98, 22), 58, 165)),
        # Strong sinus arrhythmia in ~18% of patients (young, slow breathing): irregular RR with P waves.
        rsa=u(0.07, 0.18) if kind < 0.18 else u(0.01, 0.05),
        # Frequent ectopy in ~15% of patients, more often in AF-prone ones (as clinically).
        ectopy_rate=(u(0.08, 0.3) if (0.18 <= kind < 0.33 or (af_prone and kind < 0.5)) else u(0.0, 0.02)),
        pvc_share=u(0.0, 1.0),
        # About one AF patient in three has a fairly regular ventricular response (e.g. rate-controlled).
        af_cv=u(0.03, 0.08) if rng.random() < 0.3 else u(0.08, 0.25),
        # Coarse AF has f-waves of about 0.1-0.2 mV peak to peak; the clip keeps the log-normal tail physiological.
        f_amp=float(min(np.exp(rng.normal(np.log(0.05), 0.7)), 0.1)),
        f_freq=u(4.0, 9.0),
        paroxysmal=u(0.0, 0.5),
        morph=morph,
        gain=u(0.6, 1.6) * (-1.0 if rng.random() < 0.05 else 1.0),
        emg_std=float(np.exp(rng.normal(np.log(0.02), 0.6))),
        wander=u(0.05, 0.4),
        mains_amp=u(0.0, 0.06) if rng.random() < 0.5 else 0.0,
        mains_hz=float(rng.choice([50.0, 60.0])),
        motion_rate=u(0.0, 2.0),
    )


def _gauss(tau: np.ndarray, centre: float, sigma: float) -> np.ndarray:
    return np.exp(-0.5 * ((tau - centre) / sigma) ** 2)


def _templates(m: dict[str, float], fs: float, mean_rr: float, rng: np.random.Generator) -> np.ndarray:
    """Beat templates, shape ``(4, L)``: sinus, no-P (AF conduction), PVC, PAC; R peak at ``_PRE_S``."""
    tau = np.arange(-int(_PRE_S * fs), int(_POST_S * fs)) / fs
    # Bazett: QT shortens with rate; the T peak sits ~70% into the QT interval.
    t_c = 0.7 * m["qtc"] * np.sqrt(mean_rr)
    qrs = (-m["q_amp"] * _gauss(tau, -0.028, 0.010) + m["r_amp"] * _gauss(tau, 0.0, m["r_sigma"])
           - m["s_amp"] * _gauss(tau, 0.030, 0.011))
    t_wave = m["t_amp"] * _gauss(tau, t_c, m["t_sigma"]) * np.where(tau > t_c, 1.0, 0.8)  # slower upstroke
    p_wave = m["p_amp"] * _gauss(tau, -m["pr"], m["p_sigma"])
    sinus = qrs + t_wave + p_wave
    no_p = qrs + t_wave
    # PVC: wide, tall, no preceding P, T wave opposite to the QRS (secondary repolarisation change).
    sgn = rng.choice([-1.0, 1.0])
    pvc = (sgn * 1.4 * m["r_amp"] * _gauss(tau, 0.01, 0.035) - sgn * 0.5 * abs(m["t_amp"] + 0.2)
           * _gauss(tau, t_c + 0.04, 0.07))
    # PAC: normal QRS, an ectopic P wave of different shape and timing.
    pac = qrs + t_wave + rng.uniform(-0.6, 0.6) * m["p_amp"] * _gauss(tau, -m["pr"] * 0.8, m["p_sigma"] * 1.3)
    return np.stack([sinus, no_p, pvc, pac])


def _sinus_rr(p: _Patient, duration: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """RR intervals (s) and beat types (0 sinus, 2 PVC, 3 PAC) for a sinus record."""
    rr0 = 60.0 / (p.sinus_hr * rng.uniform(0.92, 1.08))
    n = int(duration / (rr0 * 0.7)) + 4
    t = np.arange(n) * rr0
    f_resp, f_lf = rng.uniform(0.15, 0.35), rng.uniform(0.04, 0.12)
    rr = rr0 * (1 + p.rsa * np.sin(2 * np.pi * f_resp * t + rng.uniform(0, 6.3))
                + 0.03 * np.sin(2 * np.pi * f_lf * t + rng.uniform(0, 6.3))
                + 0.01 * rng.standard_normal(n))
    types = np.zeros(n, dtype=np.int64)
    ect = rng.random(n) < p.ectopy_rate * rng.uniform(0.5, 1.5)
    if p.ectopy_rate > 0.08 and rng.random() < 0.2:
        ect[::2] = True  # bigeminy: every other beat premature, an RR pattern that is irregular but regular
    ect[0] = False
    ect[1:] &= ~ect[:-1]  # no couplets: keeps the premature/pause pattern readable
    idx = np.flatnonzero(ect[:-1])
    pvc = rng.random(idx.size) < p.pvc_share
    coupling = rng.uniform(0.55, 0.8, size=idx.size)
    base = rr[idx].copy()
    rr[idx] = coupling * base
    # PVCs leave the sinus node undisturbed (full compensatory pause); PACs reset it (shorter pause).
    rr[idx + 1] = np.where(pvc, (2.0 - coupling) * base, base * rng.uniform(1.0, 1.15, size=idx.size))
    types[idx] = np.where(pvc, 2, 3)
    return rr, types


def _af_rr(p: _Patient, duration: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """RR intervals (s) and beat types (1 no-P, occasionally 2 aberrant) for an AF record."""
    mean_rr = 60.0 / (p.af_hr * rng.uniform(0.9, 1.1))
    cv = p.af_cv * rng.uniform(0.8, 1.2)
    n = int(duration / 0.25) + 4
    k = 1.0 / cv ** 2  # gamma shape for the requested CV: AF RR histograms are unimodal and right-skewed
    rr = mean_rr * rng.gamma(k, 1.0 / k, size=n)
    # The AV node's refractory period bounds how short an interval can be.
    rr = np.maximum(rr, 0.26 + 0.1 * rng.random(n))
    types = np.where(rng.random(n) < 0.02, 2, 1)
    return rr, types


def _f_waves(n: int, fs: float, p: _Patient, rng: np.random.Generator) -> np.ndarray:
    """Fibrillatory waves: a quasi-periodic 4-9 Hz atrial signal with drifting rate and amplitude (mV)."""
    t = np.arange(n) / fs
    freq = p.f_freq + 0.4 * np.sin(2 * np.pi * rng.uniform(0.05, 0.2) * t + rng.uniform(0, 6.3))
    phase = 2 * np.pi * np.cumsum(freq) / fs + rng.uniform(0, 6.3)
    amp = p.f_amp * rng.uniform(0.6, 1.4) * (1 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t))
    # A harmonic gives the saw-tooth-like shape seen in coarse AF.
    return amp * (np.sin(phase) + 0.35 * np.sin(2 * phase + rng.uniform(0, 6.3)))


def _beats(p: _Patient, af: bool, duration: float,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, tuple[float, float] | None]:
    """Beat times (s), beat types, and the AF episode ``(start_s, end_s)`` (``None`` for sinus records)."""
    if not af:
        rr, types = _sinus_rr(p, duration, rng)
        return np.cumsum(rr) - rng.uniform(0, rr[0]), types, None
    rr, types = _af_rr(p, duration, rng)
    beats = np.cumsum(rr) - rng.uniform(0, rr[0])
    if not (p.af_prone and rng.random() < p.paroxysmal):
        return beats, types, (-np.inf, np.inf)
    # Paroxysmal AF: the record is labelled AF (as annotators do) but only part of it is in AF; a 10 s window
    # cut from the sinus part carries the AF label without AF in it, which caps every model's window accuracy.
    length = rng.uniform(0.4, 0.9) * duration
    on = rng.uniform(0, duration - length)
    off = on + length
    rr_s, types_s = _sinus_rr(p, duration, rng)
    sinus_beats = np.cumsum(rr_s) - rng.uniform(0, rr_s[0])
    out = (sinus_beats < on - 0.3) | (sinus_beats > off + 0.3)
    inside = (beats >= on) & (beats <= off)
    order = np.argsort(np.concatenate([sinus_beats[out], beats[inside]]), kind="stable")
    return (np.concatenate([sinus_beats[out], beats[inside]])[order],
            np.concatenate([types_s[out], types[inside]])[order], (on, off))


def _record(p: _Patient, af: bool, duration: float, fs: float, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    n = round(duration * fs)
    beats, types, episode = _beats(p, af, duration, rng)
    keep = beats < duration + _PRE_S
    beats, types = beats[keep], types[keep]
    rr_mean = float(np.mean(np.diff(beats))) if beats.size > 1 else 1.0

    tpl = _templates(p.morph, fs, rr_mean, rng)                                  # (4, L)
    pre = int(_PRE_S * fs)
    L = tpl.shape[1]
    # Beat-to-beat amplitude modulation (respiration changes the heart's electrical axis).
    scale = 1 + 0.06 * np.sin(2 * np.pi * 0.25 * beats + rng.uniform(0, 6.3)) + 0.03 * rng.standard_normal(beats.size)
    start = np.round(beats * fs).astype(np.int64) - pre + L                     # index into padded output
    idx = start[:, None] + np.arange(L)[None, :]                                # (n_beats, L)
    vals = scale[:, None] * tpl[types]                                          # (n_beats, L)
    ecg = np.bincount(idx.ravel(), weights=vals.ravel(), minlength=n + 2 * L)[L:L + n]
    if episode is not None:
        t = np.arange(n) / fs
        # f-waves only during the episode, with 0.3 s ramps so no step marks the onset.
        ramp = np.clip(np.minimum(t - episode[0], episode[1] - t) / 0.3 + 0.5, 0.0, 1.0)
        ecg += ramp * _f_waves(n, fs, p, rng)
    ecg *= p.gain

    # Noise is per record as well as per patient: some recordings are simply bad.
    bad = rng.random() < 0.08
    emg = p.emg_std * rng.uniform(0.7, 1.4) * (rng.uniform(3, 6) if bad else 1.0)
    ecg += emg_noise(n, fs, rng, emg, burst_fraction=rng.uniform(0.0, 0.15))
    ecg += baseline_wander(n, fs, rng, p.wander * rng.uniform(0.6, 1.5))
    if p.mains_amp > 0:
        ecg += powerline(n, fs, rng, p.mains_amp, p.mains_hz)
    ecg += motion_artefacts(n, fs, rng, p.motion_rate + (rng.uniform(3, 10) if bad else 0.0),
                            amplitude_mv=rng.uniform(0.5, 2.0))

    if af:
        rhythm = "af_paroxysmal" if np.isfinite(episode[0]) else ("af_regular" if p.af_cv < 0.085 else "af")
    elif p.ectopy_rate > 0.05 and np.any(types >= 2):
        rhythm = "sinus_ectopy"
    else:
        rhythm = "sinus_arrhythmia" if p.rsa > 0.06 else "sinus"
    return ecg.astype(np.float32), rhythm


def _assign_patients(labels: np.ndarray, n_patients: int, af_fraction: float,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Patient index per record and the AF-prone flag per patient.

    AF records go to AF-prone patients only; sinus records go mostly to the others, but AF-prone patients get
    some too (paroxysmal AF), so a patient id alone does not give the label away.
    """
    n_af_prone = int(np.clip(round(n_patients * min(1.0, 1.3 * af_fraction)), 1 if labels.any() else 0,
                             max(n_patients - 1, 1)))
    af_prone = np.zeros(n_patients, dtype=bool)
    af_prone[:n_af_prone] = True
    weights = np.where(af_prone, 0.25, 1.0)
    weights = weights / weights.sum()
    patient = rng.choice(n_patients, size=labels.size, p=weights)
    n_af = int(labels.sum())
    if n_af:
        patient[labels == 1] = rng.integers(0, n_af_prone, size=n_af)
    return patient, af_prone


def simulate_af_records(n_records: int, *, fs: float = 300.0, seed: int = 0, af_fraction: float = 0.15,
                        duration_range_s: tuple[float, float] = (10, 60),
                        n_patients: int | None = None) -> SimulatedRecords:
    """Simulate single-lead ECG records of normal sinus rhythm and atrial fibrillation.

    Parameters
    ----------
    n_records : int
        Number of records.
    fs : float
        Sampling rate in Hz (300 Hz like the AliveCor/CinC 2017 recordings; >= 100 Hz).
    seed : int
        Seed; the same seed gives the same records, bit for bit.
    af_fraction : float
        Fraction of AF records (exactly ``round(af_fraction * n_records)``); real screening data hold ~10-15%.
    duration_range_s : (float, float)
        Record durations are drawn uniformly from this range, in seconds.
    n_patients : int, optional
        Size of the patient pool; default ``max(1, n_records // 4)``, i.e. about four records per patient.
        Patients without records do not appear in ``patient_ids``.

    Returns
    -------
    SimulatedRecords
        ``signals`` (float32 mV arrays of shape ``(round(duration * fs),)``), ``labels`` (int64, 1 = AF),
        ``patient_ids`` (str), ``fs`` and the finer ``rhythms``.

    Examples
    --------
    >>> sim = simulate_af_records(20, seed=1)
    >>> len(sim.signals), sim.signals[0].dtype, sim.fs
    (20, dtype('float32'), 300.0)
    """
    if n_records < 0:
        raise ValueError(f"n_records must be >= 0, got {n_records}")
    if fs < 100:
        raise ValueError(f"fs must be >= 100 Hz to draw a QRS complex, got {fs}")
    af_fraction = float(af_fraction)
    if not 0.0 <= af_fraction <= 1.0:
        raise ValueError(f"af_fraction must lie in [0, 1], got {af_fraction}")
    lo, hi = map(float, duration_range_s)
    if not 0 < lo <= hi:
        raise ValueError(f"duration_range_s must satisfy 0 < low <= high, got {duration_range_s}")
    n_patients = max(1, n_records // 4) if n_patients is None else int(n_patients)
    if n_patients < 1:
        raise ValueError(f"n_patients must be >= 1, got {n_patients}")

    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    labels = np.zeros(n_records, dtype=np.int64)
    labels[rng.permutation(n_records)[: round(af_fraction * n_records)]] = 1
    patient_of, af_prone = _assign_patients(labels, n_patients, af_fraction, rng)
    durations = rng.uniform(lo, hi, size=n_records)
    patients = [_draw_patient(np.random.default_rng(np.random.SeedSequence([seed, 1, i])), bool(af_prone[i]))
                for i in range(n_patients)]

    signals, rhythms = [], []
    for i in range(n_records):
        # One child stream per record: record i does not depend on how many records come after it.
        rec_rng = np.random.default_rng(np.random.SeedSequence([seed, 2, i]))
        x, rhythm = _record(patients[patient_of[i]], bool(labels[i]), float(durations[i]), float(fs), rec_rng)
        signals.append(x)
        rhythms.append(rhythm)
    width = len(str(max(n_patients - 1, 0)))
    patient_ids = np.array([f"P{j:0{max(width, 4)}d}" for j in patient_of], dtype=str)
    return SimulatedRecords(signals=signals, labels=labels, patient_ids=patient_ids, fs=float(fs),
                            rhythms=np.array(rhythms, dtype=str))
