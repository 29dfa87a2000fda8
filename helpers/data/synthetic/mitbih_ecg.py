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
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .artefacts import baseline_wander, emg_noise, motion_artefacts, powerline

__all__ = ["GENERATOR_VERSION", "MITDB_RECORDS", "SimulatedBeatRecord", "simulate_mitbih_records"]

GENERATOR_VERSION = "mitbih_ecg-1.0"

#: The 48 record names of the MIT-BIH Arrhythmia Database, in PhysioNet's order.
MITDB_RECORDS: tuple[str, ...] = (
    "100", "101", "102", "103", "104", "105", "106", "107", "108", "109", "111", "112", "113", "114", "115", "116",
    "117", "118", "119", "121", "122", "123", "124", "200", "201", "202", "203", "205", "207", "208", "209", "210",
    "212", "213", "214", "215", "217", "219", "220", "221", "222", "223", "228", "230", "231", "232", "233", "234",
)

# Per-record profile, loosely after the real records. Probabilities are per beat: v/s/f isolated ventricular,
# supraventricular and fusion beats; big: share of the record in bigeminy; runs: S runs (SVTA) per hour;
# vt: V couplets/runs per hour; af: share of the record in AF (1.0 = whole record); bbb: "L"/"R";
# paced: (share of 'f', share of 'N') among paced-record beats; hr: mean sinus rate (bpm); noise: multiplier;
# s_sym: the S symbol; q: 'Q' beats; multi: probability that a V beat comes from a second focus.
_PROFILES: dict[str, dict] = {
    "100": {"s": 0.027, "lead2": "V5"},
    "101": {"s": 0.004, "q": 0.002},
    "102": {"paced": (0.25, 0.02), "lead2": "V5"},
    "103": {"s": 0.002},
    "104": {"paced": (0.3, 0.07), "lead2": "V5", "noise": 1.5},
    "105": {"v": 0.028, "noise": 3.0, "q": 0.002},
    "106": {"v": 0.168, "big": 0.195, "vt": 6},
    "107": {"paced": (0.03, 0.0)},
    "108": {"v": 0.014, "s": 0.004, "f": 0.001, "noise": 2.0},
    "109": {"bbb": 'L', "v": 0.021, "f": 0.001},
    "111": {"bbb": 'L', "v": 0.001},
    "112": {"s": 0.002},
    "113": {"s": 0.005, "s_sym": 'a', "hr": 58},
    "114": {"s": 0.009, "v": 0.028, "f": 0.003, "lead2": "V5"},
    "115": {},
    "116": {"v": 0.056},
    "117": {"hr": 52},
    "118": {"bbb": 'R', "s": 0.072, "v": 0.008},
    "119": {"v": 0.056, "big": 0.455},
    "121": {"s": 0.002, "hr": 62},
    "122": {},
    "123": {"v": 0.003, "hr": 55},
    "124": {"bbb": 'R', "s": 0.036, "s_sym": 'J', "v": 0.028, "f": 0.003, "hr": 55},
    "200": {"v": 0.168, "big": 0.26, "s": 0.018, "f": 0.001, "vt": 6},
    "201": {"af": 0.35, "v": 0.098, "s": 0.072, "s_sym": 'a', "multi": 0.3},
    "202": {"af": 0.3, "s": 0.036, "v": 0.014},
    "203": {"af": 0.8, "v": 0.168, "f": 0.003, "noise": 2.5, "multi": 0.5, "vt": 10},
    "205": {"v": 0.042, "f": 0.005, "hr": 88},
    "207": {"bbb": 'L', "s": 0.09, "v": 0.056, "vt": 4},
    "208": {"v": 0.224, "big": 0.156, "f": 0.156, "s": 0.002, "multi": 0.2},
    "209": {"s": 0.108, "runs": 24, "hr": 95},
    "210": {"af": 1.0, "v": 0.098, "f": 0.005},
    "212": {"bbb": 'R'},
    "213": {"v": 0.084, "f": 0.143, "s": 0.018, "hr": 105},
    "214": {"bbb": 'L', "v": 0.14, "f": 0.001},
    "215": {"v": 0.07, "s": 0.002, "hr": 100},
    "217": {"paced": (0.12, 0.1), "v": 0.098},
    "219": {"af": 0.9, "v": 0.042},
    "220": {"s": 0.081},
    "221": {"af": 1.0, "v": 0.224},
    "222": {"af": 0.3, "s": 0.108, "runs": 12},
    "223": {"v": 0.21, "s": 0.054, "f": 0.007, "vt": 4},
    "228": {"v": 0.224, "s": 0.002, "noise": 1.5},
    "230": {},
    "231": {"bbb": 'R', "s": 0.002},
    "232": {"s": 0.5, "hr": 50},
    "233": {"v": 0.252, "big": 0.13, "f": 0.005, "hr": 100},
    "234": {"s": 0.036, "s_sym": 'J'},
}
_PATIENT_OF = {"202": "201"}  # records 201 and 202 come from the same man in the real database

# Template support around the fiducial point, seconds: wide enough that no Gaussian is cut visibly.
_PRE_S, _POST_S = 0.45, 0.75
# Beat codes: which template a beat uses.
_N, _N_AF, _S, _V1, _V2, _PACED, _Q = range(7)
# Components: P, Q, R, S, R', T-upstroke, T; columns amplitude (mV), centre (s), sigma (s).
_P, _QW, _R, _SW, _R2, _TA, _TB = range(7)


@dataclass
class SimulatedBeatRecord:
    """One simulated record with its reference annotations.

    Attributes
    ----------
    record : str
        One of :data:`MITDB_RECORDS`.
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


# ------------------------------------------------------------------------------------------------ morphology

def _normal_components(lead: str, bbb: str | None, rng: np.random.Generator) -> np.ndarray:
    """Sinus-beat components for one lead, shape (7, 3): amplitude (mV), centre (s), sigma (s)."""
    u = rng.uniform
    c = np.zeros((7, 3))
    c[:, 2] = 0.01
    pr = u(0.14, 0.22)
    r_sig = u(0.007, 0.013)
    t_amp = u(0.1, 0.45)
    if lead == "V1":
        # V1 sits over the right ventricle: small r, deep S, flat or inverted T.
        c[_P] = (u(-0.05, 0.12), -pr, u(0.018, 0.03))
        c[_R] = (u(0.1, 0.45), 0.0, r_sig)
        c[_SW] = (-u(0.4, 1.4), u(0.02, 0.035), u(0.01, 0.016))
        t_amp = u(-0.25, 0.2)
    else:
        lead_r = 1.4 if lead == "V5" else 1.0
        c[_P] = (u(0.05, 0.22), -pr, u(0.018, 0.032))
        c[_QW] = (-u(0.0, 0.18), -u(0.02, 0.03), u(0.007, 0.011))
        c[_R] = (lead_r * float(np.exp(rng.normal(0.0, 0.35))), 0.0, r_sig)
        c[_SW] = (-u(0.05, 0.6), u(0.022, 0.034), u(0.008, 0.014))
        if rng.random() < 0.1:
            t_amp = -t_amp  # inverted T in a few patients (ischaemia, LVH strain)
    if bbb == "R":
        # Right bundle branch block: late right-ventricular activation, rsR' in V1, slurred S elsewhere.
        if lead == "V1":
            c[_R2] = (u(0.5, 1.2), u(0.06, 0.08), u(0.014, 0.02))
            c[_SW, 0] *= 0.5
            t_amp = -abs(t_amp) - 0.1
        else:
            c[_SW] = (-u(0.2, 0.5), u(0.04, 0.06), u(0.018, 0.026))
    elif bbb == "L":
        # Left bundle branch block: broad notched R in lateral leads, deep QS in V1, discordant T.
        if lead == "V1":
            c[_R, 0] *= 0.3
            c[_SW] = (-u(1.0, 1.8), u(0.04, 0.06), u(0.025, 0.035))
            t_amp = abs(t_amp) + 0.1
        else:
            c[_R, 2] = u(0.018, 0.026)
            c[_R2] = (0.8 * c[_R, 0], u(0.045, 0.06), u(0.015, 0.022))
            c[_QW, 0] = 0.0
            c[_SW, 0] *= 0.2
            t_amp = -abs(t_amp) - 0.1
    t_c = u(0.24, 0.32)
    t_sig = u(0.035, 0.06)
    c[_TA] = (0.5 * t_amp, t_c - 0.04, 1.3 * t_sig)
    c[_TB] = (0.7 * t_amp, t_c, t_sig)
    return c


def _ventricular_components(normal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An ectopic ventricular focus for one lead: wide, bizarre QRS, no P, discordant T; shape (7, 3)."""
    u = rng.uniform
    c = np.zeros((7, 3))
    c[:, 2] = 0.01
    sgn = rng.choice([-1.0, 1.0])
    main = sgn * u(0.8, 2.2) * max(abs(normal[_R, 0]), abs(normal[_SW, 0]), 0.5)
    c[_R] = (main, u(-0.01, 0.01), u(0.024, 0.038))
    # A second, opposite lobe makes the complex biphasic; its size and delay are what make each focus distinct.
    # Real ectopic complexes are rarely pure QS: the opposite lobe is 30-90% of the main one.
    c[_SW] = (-main * u(0.3, 0.9), u(0.04, 0.07), u(0.015, 0.03))
    c[_QW] = (main * u(-0.3, 0.3), u(-0.05, -0.03), u(0.012, 0.02))
    t_c = u(0.26, 0.36)
    t_amp = -np.sign(main) * u(0.25, 0.6) * abs(main)  # secondary repolarisation: T opposite the QRS
    c[_TA] = (0.5 * t_amp, t_c - 0.05, u(0.05, 0.08))
    c[_TB] = (0.6 * t_amp, t_c, u(0.04, 0.07))
    return c


def _patient_templates(lead: str, bbb: str | None, rng: np.random.Generator) -> np.ndarray:
    """All beat templates of one patient and lead, shape (7 codes, 7 components, 3)."""
    u = rng.uniform
    n = _normal_components(lead, bbb, rng)
    tpl = np.repeat(n[None], 7, axis=0)
    tpl[_N_AF, _P, 0] = 0.0
    # Supraventricular: ectopic P of this patient's own shape and timing; sometimes a slightly aberrant QRS.
    tpl[_S, _P] = (n[_P, 0] * rng.choice([u(-1.0, -0.4), u(0.2, 0.6)]), n[_P, 1] * u(0.7, 1.0), n[_P, 2] * u(1.0, 1.4))
    tpl[_S, _R, 2] *= u(1.0, 1.25)
    tpl[_S, _SW, 0] *= u(0.8, 1.3)
    tpl[_V1] = _ventricular_components(n, rng)
    tpl[_V2] = _ventricular_components(n, rng)
    # Paced: a ventricular-like complex behind the pacing spike (the spike sits in the Q slot).
    tpl[_PACED] = _ventricular_components(n, rng)
    tpl[_PACED, _QW] = (rng.choice([-1.0, 1.0]) * u(1.0, 2.5), -0.05, 0.002)
    tpl[_PACED, _P] = n[_P] * u(0.0, 1.0)
    # Unclassifiable: a distorted normal beat.
    tpl[_Q, :, 0] *= u(-1.5, 1.5, size=7)
    tpl[_Q, _R, 2] *= u(1.5, 3.0)
    return tpl


@dataclass
class _Patient:
    hr: float                  # mean sinus rate, bpm
    hrv: float                 # respiratory sinus arrhythmia, fraction of RR
    s_coupling: float          # RR of a premature S beat / sinus RR
    v_coupling_s: float        # coupling interval of V beats, s (fixed per focus, a hallmark of PVCs)
    templates: np.ndarray      # (2 leads, 7 codes, 7 components, 3)
    gains: np.ndarray          # (2,) lead gains
    f_amp: float               # f-wave amplitude in V1, mV


def _draw_patient(lead2: str, bbb: str | None, hr: float | None, rng: np.random.Generator) -> _Patient:
    u = rng.uniform
    templates = np.stack([_patient_templates("MLII", bbb, rng), _patient_templates(lead2, bbb, rng)])
    return _Patient(
        hr=float(hr * u(0.95, 1.05)) if hr else float(np.clip(rng.normal(74, 10), 55, 100)),
        hrv=u(0.01, 0.08),
        # Some patients' S beats are barely premature: RR alone cannot separate them from sinus arrhythmia.
        s_coupling=u(0.55, 0.85),
        v_coupling_s=u(0.38, 0.55),
        templates=templates,
        gains=np.array([u(0.6, 1.5), u(0.6, 1.5)]),
        f_amp=u(0.03, 0.12),
    )


# ------------------------------------------------------------------------------------------------ beat sequence

def _blocks(n: int, n_exp: int, share: float, mean_len: int, rng: np.random.Generator) -> np.ndarray:
    """Mask over ``n`` beats covering about ``share`` of the first ``n_exp`` with blocks of about ``mean_len``."""
    mask = np.zeros(n, dtype=bool)
    if share <= 0 or n == 0:
        return mask
    if share >= 1:
        mask[:] = True
        return mask
    n = n_exp
    n_blocks = max(1, round(share * n / mean_len))
    length = max(2, int(share * n / n_blocks))
    n_blocks = min(n_blocks, max(n - length, 1))
    starts = np.sort(rng.choice(max(n - length, 1), size=n_blocks, replace=False)) if n > length else np.array([0])
    for s in starts:
        mask[s:s + length] = True
    return mask


def _beat_sequence(prof: dict, p: _Patient, duration: float, rng: np.random.Generator):
    """Beat times (s), template codes, fusion weights, symbols and rhythm labels of one record."""
    mean_rr = 60.0 / p.hr
    n = int(duration / (0.45 * mean_rr)) + 20   # generous: premature beats and AF shorten the RR
    n_exp = min(n, int(duration / mean_rr) + 1)  # episodes are placed among the beats that will be kept
    paced = "paced" in prof
    normal_sym = "/" if paced else prof.get("bbb") or "N"
    sym = np.full(n, normal_sym, dtype="<U1")
    code = np.full(n, _PACED if paced else _N, dtype=np.int64)
    rhythm = np.full(n, "(P" if paced else "(N", dtype="<U5")
    fuse_w = np.zeros(n)
    fuse_code = np.zeros(n, dtype=np.int64)

    af = _blocks(n, n_exp, prof.get("af", 0.0), int(rng.integers(150, 600)), rng)
    rhythm[af] = "(AFIB"
    code[af & (code == _N)] = _N_AF

    if paced:
        f_share, n_share = prof["paced"]
        r = rng.random(n)
        fused = r < f_share
        sym[fused], fuse_w[fused], fuse_code[fused] = "f", rng.uniform(0.3, 0.7, fused.sum()), _N
        nat = (r >= f_share) & (r < f_share + n_share)
        sym[nat], code[nat] = "N", _N

    sinus = ~af
    r = rng.random(n)
    v_iso = r < prof.get("v", 0.0)
    s_iso = sinus & (r >= 0.5) & (r < 0.5 + prof.get("s", 0.0))
    f_iso = sinus & (r >= 0.9) & (r < 0.9 + prof.get("f", 0.0))
    q_iso = (r >= 0.3) & (r < 0.3 + prof.get("q", 0.0))

    # Bigeminy: every other beat ventricular, annotated as its own rhythm.
    big = _blocks(n, n_exp, prof.get("big", 0.0), int(rng.integers(20, 80)), rng) & sinus
    big_v = big & (np.arange(n) % 2 == 1)
    rhythm[big] = "(B"
    # Runs: supraventricular tachycardia (SVTA) and ventricular couplets/triplets (VT when >= 3).
    s_run = np.zeros(n, dtype=bool)
    v_run = np.zeros(n, dtype=bool)
    run_kinds = ((prof.get("runs", 0), s_run, 3, 12, "(SVTA"), (prof.get("vt", 0), v_run, 2, 6, "(VT"))
    for rate, mask, lo, hi, label in run_kinds:
        for s in rng.integers(1, max(n_exp - 12, 2), size=rng.poisson(rate * duration / 3600.0)):
            length = int(rng.integers(lo, hi + 1))
            mask[s:s + length] = True
            if length >= 3:
                rhythm[s:s + length] = label
    s_run &= sinus

    v_beat = v_iso | big_v | v_run
    s_beat = (s_iso | s_run) & ~v_beat
    f_beat = f_iso & ~v_beat & ~s_beat
    q_beat = q_iso & ~v_beat & ~s_beat & ~f_beat
    v_beat[0] = s_beat[0] = f_beat[0] = False

    second = rng.random(n) < prof.get("multi", 0.05)
    code[v_beat] = np.where(second[v_beat], _V2, _V1)
    sym[v_beat] = "V"
    if prof.get("bbb") == "L" and prof.get("vt"):
        sym[v_beat & (rng.random(n) < 0.1)] = "E"  # a few ventricular escape beats, as in 207
    code[s_beat] = _S
    sym[s_beat] = prof.get("s_sym", "A")
    code[f_beat], sym[f_beat] = _N, "F"
    fuse_w[f_beat], fuse_code[f_beat] = rng.uniform(0.3, 0.7, f_beat.sum()), _V1
    code[q_beat], sym[q_beat] = _Q, "Q"

    # RR before each beat: sinus RR with respiratory and slow variability, shortened by prematurity.
    t_idx = np.arange(n) * mean_rr
    base = mean_rr * (1 + p.hrv * np.sin(2 * np.pi * rng.uniform(0.15, 0.3) * t_idx + rng.uniform(0, 6.3))
                      + 0.04 * np.sin(2 * np.pi * rng.uniform(0.005, 0.03) * t_idx + rng.uniform(0, 6.3))
                      + 0.01 * rng.standard_normal(n))
    if paced:
        base = np.full(n, mean_rr) * (1 + 0.003 * rng.standard_normal(n))  # a fixed-rate pacemaker
    factor = np.ones(n)
    premature = v_beat | s_beat
    # A V beat comes a fixed time after the previous beat, but always early: at most 85% of the sinus RR.
    factor[v_beat] = np.minimum(p.v_coupling_s / base[v_beat], 0.85) * rng.uniform(0.96, 1.04, v_beat.sum())
    factor[s_beat] = p.s_coupling * rng.uniform(0.93, 1.07, s_beat.sum())
    factor[f_beat] = rng.uniform(0.92, 1.0, f_beat.sum())  # fusion needs the V focus to fire about on time
    # The beat after a premature run: a full compensatory pause after V (the sinus node was not reset), a pause of
    # about one sinus cycle after S (it was).
    after = np.zeros(n, dtype=bool)
    after[1:] = premature[:-1] & ~premature[1:]
    prev_v = np.zeros(n, dtype=bool)
    prev_v[1:] = v_beat[:-1]
    factor[after] = np.where(prev_v[after], 2.0 - factor[np.flatnonzero(after) - 1],
                             rng.uniform(1.0, 1.12, after.sum()))
    rr = base * factor
    if af.any():
        # AF: irregularly irregular ventricular response, bounded below by AV-node refractoriness.
        cv = rng.uniform(0.12, 0.25)
        k = 1.0 / cv ** 2
        af_rr = rng.uniform(0.55, 0.8) * rng.gamma(k, 1.0 / k, size=n)
        af_rr = np.maximum(af_rr, 0.3 + 0.05 * rng.random(n))
        rr[af] = np.where(v_beat[af], 0.8 * af_rr[af], af_rr[af])
    rr = np.maximum(rr, 0.25)
    times = rng.uniform(0.3, 1.0) + np.cumsum(rr) - rr[0]
    keep = times < duration - 0.3
    return times[keep], code[keep], fuse_w[keep], fuse_code[keep], sym[keep], rhythm[keep]


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


def _beat_components(p: _Patient, lead: int, times, code, fuse_w, fuse_code, rng) -> tuple[np.ndarray, np.ndarray]:
    """Per-beat components (n_beats, 7, 3) with jitter, and the fusion partner's (n_fused, 7, 3)."""
    tpl = p.templates[lead]
    comps = tpl[code].copy()
    n_b = times.size
    rr_prev = np.diff(times, prepend=times[0] - 60.0 / p.hr)
    # QT adapts to the preceding RR (Bazett-like): shift both T components.
    shift = comps[:, _TB, 1] * (np.sqrt(np.clip(rr_prev * p.hr / 60.0, 0.4, 1.6)) - 1.0)
    comps[:, _TA:, 1] += shift[:, None]
    # Respiration moves the heart's axis (slow amplitude modulation); small beat-to-beat jitter in every wave.
    resp = 1 + 0.07 * np.sin(2 * np.pi * rng.uniform(0.15, 0.3) * times + rng.uniform(0, 6.3))
    comps[:, :, 0] *= resp[:, None] * rng.normal(1.0, 0.04, size=(n_b, 7))
    comps[:, :, 1] += rng.normal(0.0, 0.002, size=(n_b, 7))
    comps[:, :, 2] *= rng.normal(1.0, 0.03, size=(n_b, 7)).clip(0.85, 1.15)
    fused = fuse_w > 0
    partner = tpl[fuse_code[fused]].copy()
    partner[:, :, 0] *= fuse_w[fused, None]
    comps[fused, :, 0] *= 1.0 - fuse_w[fused, None]
    comps[fused, _P, 0] /= np.maximum(1.0 - fuse_w[fused], 1e-3)  # the sinus P wave is whole in a fusion beat
    return comps, partner


def _f_waves(n: int, fs: float, amp: float, rng: np.random.Generator) -> np.ndarray:
    """Fibrillatory waves, 4-9 Hz with drifting rate and amplitude, in mV; shape (n,)."""
    t = np.arange(n) / fs
    freq = rng.uniform(4.0, 9.0) + 0.4 * np.sin(2 * np.pi * rng.uniform(0.05, 0.2) * t)
    phase = 2 * np.pi * np.cumsum(freq) / fs + rng.uniform(0, 6.3)
    env = amp * (1 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t))
    return env * (np.sin(phase) + 0.35 * np.sin(2 * phase + rng.uniform(0, 6.3)))


def _simulate_one(record: str, duration_s: float, fs: float, seed: int) -> SimulatedBeatRecord:
    prof = _PROFILES[record]
    patient = _PATIENT_OF.get(record, record)
    lead2 = prof.get("lead2", "V1")
    # The patient's morphology comes from (seed, patient), the record's events and noise from (seed, record):
    # records 201 and 202 share a heart but not a recording.
    p = _draw_patient(lead2, prof.get("bbb"), prof.get("hr"),
                      np.random.default_rng(np.random.SeedSequence([seed, int(patient), 1])))
    if prof.get("s_sym") == "J":
        p.templates[:, _S, _P, 0] = 0.0   # nodal: the atria fire with (hidden in) the QRS, no P wave before it
    elif prof.get("s_sym") == "a":
        p.templates[:, _S, _R, 2] *= 1.3  # aberrated: conducted partly through a refractory bundle branch
    rng = np.random.default_rng(np.random.SeedSequence([seed, int(record), 2]))
    n = round(duration_s * fs)
    times, code, fuse_w, fuse_code, sym, rhythm = _beat_sequence(prof, p, duration_s, rng)

    signal = np.empty((2, n), dtype=np.float32)
    in_af = rhythm == "(AFIB"
    noise = prof.get("noise", 1.0) * rng.uniform(0.6, 1.4)
    for lead in range(2):
        comps, partner = _beat_components(p, lead, times, code, fuse_w, fuse_code, rng)
        x = _render(times, comps, n, fs)
        if partner.size:
            x += _render(times[fuse_w > 0], partner, n, fs)
        if in_af.any():
            t_af = np.round(times[in_af] * fs).astype(np.int64)
            # f-waves only between the first and last AF beat of each episode (0.3 s ramps, no visible step).
            on = np.zeros(n)
            starts = t_af[np.r_[True, np.diff(np.flatnonzero(in_af)) > 1]]
            ends = t_af[np.r_[np.diff(np.flatnonzero(in_af)) > 1, True]]
            for a, b in zip(starts, ends):
                on[a:b] = 1.0
            ramp = np.convolve(on, np.ones(int(0.3 * fs)) / int(0.3 * fs), mode="same")
            x += ramp * _f_waves(n, fs, p.f_amp * (1.0 if lead == 1 and lead2 == "V1" else 0.5), rng)
        # The MIT-BIH recorders digitised +-5 mV (11 bits at 200 adu/mV): keep the clean ECG within +-4 mV, so the
        # WFDB copy is not clipped (a very large ventricular beat lowers the whole lead's gain instead).
        x *= min(p.gains[lead], 4.0 / max(float(np.abs(x).max()), 1e-6))
        x += emg_noise(n, fs, rng, 0.012 * noise * rng.uniform(0.7, 1.3), burst_fraction=0.03 * noise)
        x += baseline_wander(n, fs, rng, 0.15 * noise * rng.uniform(0.5, 1.5))
        x += powerline(n, fs, rng, 0.01 * rng.uniform(0.0, 1.0), freq_hz=60.0)  # recorded in Boston
        x += motion_artefacts(n, fs, rng, 0.2 * noise, amplitude_mv=0.3 * noise)
        signal[lead] = x

    beat_sample = np.round(times * fs).astype(np.int64)
    # Rhythm annotations: one at the start, then one just before the first beat of each new rhythm.
    change = np.r_[True, rhythm[1:] != rhythm[:-1]] if times.size else np.zeros(0, dtype=bool)
    r_sample = np.maximum(beat_sample[change] - int(0.05 * fs), 0)
    r_sample[:1] = 0
    sample = np.concatenate([r_sample, beat_sample])
    symbol = np.concatenate([np.full(r_sample.size, "+"), sym]).astype(str)
    aux = np.concatenate([rhythm[change], np.full(sym.size, "")]).astype(str)
    # Stable sort with rhythm annotations first: a '+' on the same sample as a beat precedes it.
    order = np.lexsort((np.r_[np.zeros(r_sample.size), np.ones(sym.size)], sample))
    return SimulatedBeatRecord(record=record, patient=patient, signal=signal, leads=("MLII", lead2), fs=float(fs),
                               sample=sample[order], symbol=symbol[order], aux=aux[order])


def simulate_mitbih_records(records: Sequence[str] | int | None = None, *, duration_s: float = 300.0,
                            fs: float = 360.0, seed: int = 0) -> list[SimulatedBeatRecord]:
    """Simulate MIT-BIH-like two-lead records with beat and rhythm annotations.

    Parameters
    ----------
    records : sequence of str, int or None
        Record names from :data:`MITDB_RECORDS`; an int ``n`` means the first ``n`` names; ``None`` all 48.
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
        names = list(MITDB_RECORDS)
    elif isinstance(records, (int, np.integer)):
        if not 0 <= records <= len(MITDB_RECORDS):
            raise ValueError(f"records={records} must lie in 0..{len(MITDB_RECORDS)} (the number of MIT-BIH records)")
        names = list(MITDB_RECORDS[:records])
    else:
        names = [str(r) for r in records]
        unknown = [r for r in names if r not in _PROFILES]
        if unknown:
            raise ValueError(f"unknown MIT-BIH record name(s) {unknown}; expected names from MITDB_RECORDS, "
                             f"e.g. {MITDB_RECORDS[:3]}")
    duration_s = float(duration_s)
    if not (np.isfinite(duration_s) and duration_s >= 5.0):
        raise ValueError(f"duration_s must be at least 5 seconds, got {duration_s!r}")
    fs = float(fs)
    if not (np.isfinite(fs) and fs >= 250.0):
        raise ValueError(f"fs must be at least 250 Hz to sample the QRS complex and pacing spikes, got {fs!r}")
    return [_simulate_one(r, duration_s, fs, int(seed)) for r in names]
