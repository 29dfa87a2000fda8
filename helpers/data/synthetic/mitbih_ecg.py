"""Synthetic two-lead Holter ECG with beat and rhythm annotations, shaped like the MIT-BIH Arrhythmia Database.

The embedded default of Unit 2 (beat classification into the AAMI EC57 classes N, S, V, F, Q). It returns, in
memory, one record per real MIT-BIH record name ("100".."234"), so the de Chazal et al. (2004) inter-patient split
DS1/DS2 and the exclusion of the paced records (102, 104, 107, 217) apply unchanged; :mod:`helpers.data.mitbih`
writes them as WFDB files (.hea, .dat format 212, .atr) and reads them back through the real loader.

What is simulated, and how
--------------------------
1. **A patient per record** (201 and 202 share one, as in the real database), drawn from ``(seed, patient)``:
   heart rate and its variability, lead gains, and a morphology per lead and per beat type. Each beat is a sum of
   seven Gaussians (P, Q, R, S, R', and a two-part asymmetric T) whose amplitude, centre and width are patient
   parameters. Normal morphology differs between patients (R/S balance, QRS width, T polarity, PR interval), and
   some records have bundle branch block (``L``/``R`` beats: wide, notched QRS, still AAMI class N).
2. **Beat types**, per record from a profile that follows the real database (which records hold many ventricular
   beats, bigeminy, runs of supraventricular beats, AF, fusion or pacing):

   * ``N``/``L``/``R``: sinus beats, P wave present; the QT interval follows the preceding RR.
   * ``A``/``a``/``J`` (AAMI S): premature (coupling 0.55-0.85 of the sinus RR, patient-specific), normal QRS
     (``a``: aberrated, slightly wider), an ectopic P wave of the patient's own shape (inverted, smaller, or
     hidden in the previous T wave; none for nodal ``J``); the sinus node is reset, so the pause that follows is
     *not* compensatory.
   * ``V``/``E`` (AAMI V): premature, wide (QRS 120-200 ms) bizarre QRS of idiosyncratic polarity per lead and
     patient (one or two foci: multiform), no P wave, T wave discordant to the QRS, full compensatory pause
     (RR before + RR after = 2 sinus RR). Bigeminy episodes (every other beat V, rhythm ``(B``), couplets and
     short runs (``(VT``).
   * ``F`` (AAMI F): fusion of a sinus and a ventricular beat: on time or slightly early, P wave present, the QRS
     a per-beat mix (30-70%) of the patient's normal and ventricular shapes.
   * ``/`` and ``f`` (paced records, AAMI Q): a pacing spike, then a wide QRS; ``f`` mixes paced and normal
     beats. ``Q``: a handful of unclassifiable beats.
   * Atrial fibrillation episodes (``+`` with aux ``(AFIB``): irregularly irregular RR (gamma-distributed), no P
     waves, 4-9 Hz fibrillatory waves (strongest in V1). Supraventricular runs carry ``(SVTA``.
3. **Noise** from :mod:`.artefacts`: EMG, baseline wander, 60 Hz mains and motion artefacts, heavy in a few
   records (105, 108, 203 are the noisy ones in the real database too).

Every rhythm change is a ``+`` annotation whose aux names the new rhythm (``(N``, ``(AFIB``, ``(B``, ``(SVTA``,
``(VT``, ``(P``); the first one sits at the record's start. Beat annotations sit on the R peak (the largest
deflection of the template is at its centre for N, S and F beats; for V beats it lies within ~30 ms).

Class balance over all 48 records x 300 s with seed 0 is close to the real database's: 89.3% N, 2.9% S, 7.1% V,
0.6% F and 0.01% Q among the 44 non-paced records (~16,700 beats); paced beats make Q 7.8% over all 48.

Why it is hard in the right way
-------------------------------
Each patient's V (and S) beats have their own shape, and normal beats differ between patients about as much as
normal and supraventricular beats differ within one. A model trained on beats of the same patients it is tested
on (a random beat-level split) recognises each patient's shapes; on new patients (DS1 -> DS2) it must rely on
what generalises (QRS width, prematurity, RR ratios), and scores clearly lower: the patient-leakage gap of the
unit. With 48 x 300 s, a random forest on the MLII beat (every 4th sample) plus the five RR features reaches a
balanced accuracy over N/S/V/F of 0.95 / 0.92 (seeds 0 / 1) on a random 50/50 beat split, but 0.53 / 0.61 trained
on DS1 and tested on DS2 (S recall 0.15 / 0.51, F recall 0).

What is not realistic
---------------------
Beats are templates plus small per-beat jitter, not a model of cardiac conduction; leads are not projections of
one heart vector; there are no atrial flutter, ventricular flutter, escape rhythms, second-degree blocks, ST
changes, ``~`` noise annotations, or lead swaps; the second lead is always V1 or V5 after MLII (the real 102 and
104 record V5/V2 without MLII); f-waves are a quasi-periodic sinusoid pair; pacing spikes are idealised. The
symbols ``e``, ``j`` (escape beats) and ``S`` never occur, ``E`` only in 207. A premature beat is annotated at its
template's centre, so on V beats the annotation can sit up to ~30 ms from the signal's largest deflection, and
neurokit2 misses some V beats whose QRS is mostly negative (detector Se ~0.997 overall, ~0.9 on record 233).

Generating 48 records x 300 s takes about 3 s of CPU time on one core, 48 x 1805 s (the real size) about 14 s.

Where each part lives: the per-record profiles in :mod:`.mitbih_profiles`, the patient's templates in
:mod:`.mitbih_morphology`, the beat sequence in :mod:`.mitbih_rhythm`; this module renders them into two leads with
noise and writes the annotations.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from helpers.data.mitbih_records import RECORDS, SAME_PATIENT

from .artefacts import baseline_wander, emg_noise, motion_artefacts, powerline
from .mitbih_morphology import Patient, Wave, draw_patient
from .mitbih_profiles import PROFILES, RecordProfile
from .mitbih_rhythm import BeatSequence, beat_sequence

__all__ = ["GENERATOR_VERSION", "SimulatedBeatRecord", "simulate_mitbih_records"]

GENERATOR_VERSION = "mitbih_ecg-1.0"

# Template support around the fiducial point, seconds: wide enough that no Gaussian is cut visibly.
_PRE_S, _POST_S = 0.45, 0.75


@dataclass
class SimulatedBeatRecord:
    """One simulated record with its reference annotations.

    Attributes
    ----------
    record : str
        One of :data:`helpers.data.mitbih_records.RECORDS`.
    patient : str
        The patient; equal to ``record`` except 202, which shares patient "201" (as in the real database).
    signal : np.ndarray
        float32, shape ``(2, n_samples)``, in mV; leads ``leads`` at ``fs`` Hz.
    leads : tuple of str
        ``("MLII", "V1")`` or ``("MLII", "V5")``.
    fs : float
        Sampling rate in Hz.
    sample : np.ndarray
        int64, shape ``(n_annotations,)``, sorted annotation sample indices in ``[0, n_samples)``; beats at the R
        peak.
    symbol : np.ndarray
        str, shape ``(n_annotations,)``: MIT-BIH symbols (beats, and ``+`` for rhythm changes).
    aux : np.ndarray
        str, shape ``(n_annotations,)``: the new rhythm on ``+`` annotations (``(N``, ``(AFIB`` ...), else ``""``.
    """

    record: str
    patient: str
    signal: np.ndarray
    leads: tuple[str, str]
    fs: float
    sample: np.ndarray
    symbol: np.ndarray
    aux: np.ndarray



# ------------------------------------------------------------------------------------------------ rendering

def _render(times: np.ndarray, comps: np.ndarray, n: int, fs: float) -> np.ndarray:
    """Overlap-add sum-of-Gaussian beats. ``comps``: (n_beats, K, 3) amplitude/centre/sigma; returns (n,) mV."""
    pre, post = int(_PRE_S * fs), int(_POST_S * fs)
    tau = np.arange(-pre, post) / fs                                               # (L,)
    centre = np.round(times * fs).astype(np.int64)
    out = np.zeros(n + pre + post)
    for chunk in range(0, times.size, 512):  # bounded memory: (512, K, L) floats at a time
        c = comps[chunk:chunk + 512]
        z = (tau[None, None, :] - c[:, :, 1:2]) / c[:, :, 2:3]                     # (b, K, L)
        vals = np.einsum("bk,bkl->bl", c[:, :, 0], np.exp(-0.5 * z * z))           # (b, L)
        idx = centre[chunk:chunk + 512, None] + np.arange(pre + post)[None, :]     # into the padded output
        out += np.bincount(idx.ravel(), weights=vals.ravel(), minlength=out.size)
    return out[pre:pre + n]


def _beat_components(p: Patient, lead: int, seq: BeatSequence,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per-beat components (n_beats, 7, 3) with jitter, and the fusion partner's (n_fused, 7, 3)."""
    tpl = p.templates[lead]
    times, fuse_w = seq.times, seq.fuse_w
    comps = tpl[seq.template].copy()
    n_b = times.size
    rr_prev = np.diff(times, prepend=times[0] - 60.0 / p.hr)
    # QT adapts to the preceding RR (Bazett-like): shift both T components.
    shift = comps[:, Wave.T, 1] * (np.sqrt(np.clip(rr_prev * p.hr / 60.0, 0.4, 1.6)) - 1.0)
    comps[:, Wave.T_UP:, 1] += shift[:, None]
    # Respiration moves the heart's axis (slow amplitude modulation); small beat-to-beat jitter in every wave.
    resp = 1 + 0.07 * np.sin(2 * np.pi * rng.uniform(0.15, 0.3) * times + rng.uniform(0, 6.3))
    comps[:, :, 0] *= resp[:, None] * rng.normal(1.0, 0.04, size=(n_b, 7))
    comps[:, :, 1] += rng.normal(0.0, 0.002, size=(n_b, 7))
    comps[:, :, 2] *= rng.normal(1.0, 0.03, size=(n_b, 7)).clip(0.85, 1.15)
    fused = fuse_w > 0
    partner = tpl[seq.fuse_template[fused]].copy()
    partner[:, :, 0] *= fuse_w[fused, None]
    comps[fused, :, 0] *= 1.0 - fuse_w[fused, None]
    comps[fused, Wave.P, 0] /= np.maximum(1.0 - fuse_w[fused], 1e-3)  # the sinus P wave is whole in a fusion beat
    return comps, partner


def _f_waves(n: int, fs: float, amp: float, rng: np.random.Generator) -> np.ndarray:
    """Fibrillatory waves, 4-9 Hz with drifting rate and amplitude, in mV; shape (n,)."""
    t = np.arange(n) / fs
    freq = rng.uniform(4.0, 9.0) + 0.4 * np.sin(2 * np.pi * rng.uniform(0.05, 0.2) * t)
    phase = 2 * np.pi * np.cumsum(freq) / fs + rng.uniform(0, 6.3)
    env = amp * (1 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t))
    return env * (np.sin(phase) + 0.35 * np.sin(2 * phase + rng.uniform(0, 6.3)))


def _lead(p: Patient, lead: int, seq: BeatSequence, prof: RecordProfile, n: int, fs: float, noise: float,
          rng: np.random.Generator) -> np.ndarray:
    """One lead of the record: rendered beats, f-waves during AF, then noise; float64 ``(n,)`` in mV."""
    in_af = seq.rhythm == "(AFIB"
    comps, partner = _beat_components(p, lead, seq, rng)
    x = _render(seq.times, comps, n, fs)
    if partner.size:
        x += _render(seq.times[seq.fuse_w > 0], partner, n, fs)
    if in_af.any():
        t_af = np.round(seq.times[in_af] * fs).astype(np.int64)
        # f-waves only between the first and last AF beat of each episode (0.3 s ramps, no visible step).
        on = np.zeros(n)
        starts = t_af[np.r_[True, np.diff(np.flatnonzero(in_af)) > 1]]
        ends = t_af[np.r_[np.diff(np.flatnonzero(in_af)) > 1, True]]
        for a, b in zip(starts, ends):
            on[a:b] = 1.0
        ramp = np.convolve(on, np.ones(int(0.3 * fs)) / int(0.3 * fs), mode="same")
        x += ramp * _f_waves(n, fs, p.f_amp * (1.0 if lead == 1 and prof.lead2 == "V1" else 0.5), rng)
    # The MIT-BIH recorders digitised +-5 mV (11 bits at 200 adu/mV): keep the clean ECG within +-4 mV, so the
    # WFDB copy is not clipped (a very large ventricular beat lowers the whole lead's gain instead).
    x *= min(p.gains[lead], 4.0 / max(float(np.abs(x).max()), 1e-6))
    x += emg_noise(n, fs, rng, 0.012 * noise * rng.uniform(0.7, 1.3), burst_fraction=0.03 * noise)
    x += baseline_wander(n, fs, rng, 0.15 * noise * rng.uniform(0.5, 1.5))
    x += powerline(n, fs, rng, 0.01 * rng.uniform(0.0, 1.0), freq_hz=60.0)  # recorded in Boston
    x += motion_artefacts(n, fs, rng, 0.2 * noise, amplitude_mv=0.3 * noise)
    return x


def _annotations(seq: BeatSequence, fs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Beat and rhythm annotations in WFDB order: sample (int64), symbol, aux; each ``(n_annotations,)``."""
    beat_sample = np.round(seq.times * fs).astype(np.int64)
    rhythm, sym = seq.rhythm, seq.symbol
    # Rhythm annotations: one at the start, then one just before the first beat of each new rhythm.
    change = np.r_[True, rhythm[1:] != rhythm[:-1]] if seq.times.size else np.zeros(0, dtype=bool)
    r_sample = np.maximum(beat_sample[change] - int(0.05 * fs), 0)
    r_sample[:1] = 0
    sample = np.concatenate([r_sample, beat_sample])
    symbol = np.concatenate([np.full(r_sample.size, "+"), sym]).astype(str)
    aux = np.concatenate([rhythm[change], np.full(sym.size, "")]).astype(str)
    # Stable sort with rhythm annotations first: a '+' on the same sample as a beat precedes it.
    order = np.lexsort((np.r_[np.zeros(r_sample.size), np.ones(sym.size)], sample))
    return sample[order], symbol[order], aux[order]


def _simulate_one(record: str, duration_s: float, fs: float, seed: int) -> SimulatedBeatRecord:
    prof = PROFILES[record]
    patient = SAME_PATIENT.get(record, record)
    # The patient's morphology comes from (seed, patient), the record's events and noise from (seed, record):
    # records 201 and 202 share a heart but not a recording.
    p = draw_patient(prof, np.random.default_rng(np.random.SeedSequence([seed, int(patient), 1])))
    rng = np.random.default_rng(np.random.SeedSequence([seed, int(record), 2]))
    n = round(duration_s * fs)
    seq = beat_sequence(prof, p, duration_s, rng)
    signal = np.empty((2, n), dtype=np.float32)
    noise = prof.noise * rng.uniform(0.6, 1.4)
    for lead in range(2):
        signal[lead] = _lead(p, lead, seq, prof, n, fs, noise, rng)
    sample, symbol, aux = _annotations(seq, fs)
    return SimulatedBeatRecord(record=record, patient=patient, signal=signal, leads=("MLII", prof.lead2),
                               fs=float(fs), sample=sample, symbol=symbol, aux=aux)


def simulate_mitbih_records(records: Sequence[str] | int | None = None, *, duration_s: float = 300.0,
                            fs: float = 360.0, seed: int = 0) -> list[SimulatedBeatRecord]:
    """Simulate MIT-BIH-like two-lead records with beat and rhythm annotations.

    Parameters
    ----------
    records : sequence of str, int or None
        Record names from :data:`helpers.data.mitbih_records.RECORDS`; an int ``n`` means the first ``n`` names;
        ``None`` all 48.
    duration_s : float
        Length of every record in seconds (the real records are 1805 s; 300 s keeps the default quick).
    fs : float
        Sampling rate in Hz (MIT-BIH: 360 Hz); at least 250 Hz so that the narrowest waves are sampled.
    seed : int
        Seed. Each record depends only on ``(seed, record)`` (and its patient), so a record is the same bit for
        bit whichever subset is asked for.

    Returns
    -------
    list of SimulatedBeatRecord
        In the order asked for.

    Examples
    --------
    >>> rec = simulate_mitbih_records(["119"], duration_s=60)[0]
    >>> rec.signal.shape, rec.leads, sorted(set(rec.symbol.tolist()))
    ((2, 21600), ('MLII', 'V1'), ['+', 'N', 'V'])
    """
    if records is None:
        names = list(RECORDS)
    elif isinstance(records, (int, np.integer)):
        if not 0 <= records <= len(RECORDS):
            raise ValueError(f"records={records} must lie in 0..{len(RECORDS)} (the number of MIT-BIH records)")
        names = list(RECORDS[:records])
    else:
        names = [str(r) for r in records]
        unknown = [r for r in names if r not in PROFILES]
        if unknown:
            raise ValueError(f"unknown MIT-BIH record name(s) {unknown}; expected names from "
                             f"helpers.data.mitbih_records.RECORDS, e.g. {RECORDS[:3]}")
    duration_s = float(duration_s)
    if not (np.isfinite(duration_s) and duration_s >= 5.0):
        raise ValueError(f"duration_s must be at least 5 seconds, got {duration_s!r}")
    fs = float(fs)
    if not (np.isfinite(fs) and fs >= 250.0):
        raise ValueError(f"fs must be at least 250 Hz to sample the QRS complex and pacing spikes, got {fs!r}")
    return [_simulate_one(r, duration_s, fs, int(seed)) for r in names]
