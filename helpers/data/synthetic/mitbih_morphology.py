"""The heart of one simulated MIT-BIH patient: beat templates per lead and beat type, rate and coupling intervals.

Each beat is a sum of seven Gaussians (:class:`Wave`: P, Q, R, S, R', and a two-part asymmetric T), each with an
amplitude (mV), a centre (s, relative to the fiducial point) and a width (s). A patient has one such template per
lead and per beat type (:class:`Template`), drawn once from the patient's seed: that per-patient morphology is what
makes the inter-patient split hard. :mod:`helpers.data.synthetic.mitbih_ecg` renders the templates into signals.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from .mitbih_profiles import RecordProfile


class Template(IntEnum):
    """Which template a beat is drawn from (the first axis of a patient's templates)."""

    N = 0       # sinus
    N_AF = 1    # sinus QRS without a P wave (during AF)
    S = 2       # supraventricular premature
    V1 = 3      # ventricular, first focus
    V2 = 4      # ventricular, second focus
    PACED = 5   # pacing spike, then a wide QRS
    Q = 6       # unclassifiable


class Wave(IntEnum):
    """The components of a template: rows of a (7, 3) array of amplitude (mV), centre (s), sigma (s)."""

    P = 0
    Q = 1
    R = 2
    S = 3
    R2 = 4      # R' (bundle branch block)
    T_UP = 5    # T-wave upstroke
    T = 6


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
        c[Wave.P] = (u(-0.05, 0.12), -pr, u(0.018, 0.03))
        c[Wave.R] = (u(0.1, 0.45), 0.0, r_sig)
        c[Wave.S] = (-u(0.4, 1.4), u(0.02, 0.035), u(0.01, 0.016))
        t_amp = u(-0.25, 0.2)
    else:
        lead_r = 1.4 if lead == "V5" else 1.0
        c[Wave.P] = (u(0.05, 0.22), -pr, u(0.018, 0.032))
        c[Wave.Q] = (-u(0.0, 0.18), -u(0.02, 0.03), u(0.007, 0.011))
        c[Wave.R] = (lead_r * float(np.exp(rng.normal(0.0, 0.35))), 0.0, r_sig)
        c[Wave.S] = (-u(0.05, 0.6), u(0.022, 0.034), u(0.008, 0.014))
        if rng.random() < 0.1:
            t_amp = -t_amp  # inverted T in a few patients (ischaemia, LVH strain)
    if bbb == "R":
        # Right bundle branch block: late right-ventricular activation, rsR' in V1, slurred S elsewhere.
        if lead == "V1":
            c[Wave.R2] = (u(0.5, 1.2), u(0.06, 0.08), u(0.014, 0.02))
            c[Wave.S, 0] *= 0.5
            t_amp = -abs(t_amp) - 0.1
        else:
            c[Wave.S] = (-u(0.2, 0.5), u(0.04, 0.06), u(0.018, 0.026))
    elif bbb == "L":
        # Left bundle branch block: broad notched R in lateral leads, deep QS in V1, discordant T.
        if lead == "V1":
            c[Wave.R, 0] *= 0.3
            c[Wave.S] = (-u(1.0, 1.8), u(0.04, 0.06), u(0.025, 0.035))
            t_amp = abs(t_amp) + 0.1
        else:
            c[Wave.R, 2] = u(0.018, 0.026)
            c[Wave.R2] = (0.8 * c[Wave.R, 0], u(0.045, 0.06), u(0.015, 0.022))
            c[Wave.Q, 0] = 0.0
            c[Wave.S, 0] *= 0.2
            t_amp = -abs(t_amp) - 0.1
    t_c = u(0.24, 0.32)
    t_sig = u(0.035, 0.06)
    c[Wave.T_UP] = (0.5 * t_amp, t_c - 0.04, 1.3 * t_sig)
    c[Wave.T] = (0.7 * t_amp, t_c, t_sig)
    return c


def _ventricular_components(normal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An ectopic ventricular focus for one lead: wide, bizarre QRS, no P, discordant T; shape (7, 3)."""
    u = rng.uniform
    c = np.zeros((7, 3))
    c[:, 2] = 0.01
    sgn = rng.choice([-1.0, 1.0])
    main = sgn * u(0.8, 2.2) * max(abs(normal[Wave.R, 0]), abs(normal[Wave.S, 0]), 0.5)
    c[Wave.R] = (main, u(-0.01, 0.01), u(0.024, 0.038))
    # A second, opposite lobe makes the complex biphasic; its size and delay are what make each focus distinct.
    # Real ectopic complexes are rarely pure QS: the opposite lobe is 30-90% of the main one.
    c[Wave.S] = (-main * u(0.3, 0.9), u(0.04, 0.07), u(0.015, 0.03))
    c[Wave.Q] = (main * u(-0.3, 0.3), u(-0.05, -0.03), u(0.012, 0.02))
    t_c = u(0.26, 0.36)
    t_amp = -np.sign(main) * u(0.25, 0.6) * abs(main)  # secondary repolarisation: T opposite the QRS
    c[Wave.T_UP] = (0.5 * t_amp, t_c - 0.05, u(0.05, 0.08))
    c[Wave.T] = (0.6 * t_amp, t_c, u(0.04, 0.07))
    return c


def patient_templates(lead: str, bbb: str | None, rng: np.random.Generator) -> np.ndarray:
    """All beat templates of one patient and lead, shape (7 codes, 7 components, 3)."""
    u = rng.uniform
    n = _normal_components(lead, bbb, rng)
    tpl = np.repeat(n[None], 7, axis=0)
    tpl[Template.N_AF, Wave.P, 0] = 0.0
    # Supraventricular: ectopic P of this patient's own shape and timing; sometimes a slightly aberrant QRS.
    tpl[Template.S, Wave.P] = (n[Wave.P, 0] * rng.choice([u(-1.0, -0.4), u(0.2, 0.6)]),
                               n[Wave.P, 1] * u(0.7, 1.0), n[Wave.P, 2] * u(1.0, 1.4))
    tpl[Template.S, Wave.R, 2] *= u(1.0, 1.25)
    tpl[Template.S, Wave.S, 0] *= u(0.8, 1.3)
    tpl[Template.V1] = _ventricular_components(n, rng)
    tpl[Template.V2] = _ventricular_components(n, rng)
    # Paced: a ventricular-like complex behind the pacing spike (the spike sits in the Q slot).
    tpl[Template.PACED] = _ventricular_components(n, rng)
    tpl[Template.PACED, Wave.Q] = (rng.choice([-1.0, 1.0]) * u(1.0, 2.5), -0.05, 0.002)
    tpl[Template.PACED, Wave.P] = n[Wave.P] * u(0.0, 1.0)
    # Unclassifiable: a distorted normal beat.
    tpl[Template.Q, :, 0] *= u(-1.5, 1.5, size=7)
    tpl[Template.Q, Wave.R, 2] *= u(1.5, 3.0)
    return tpl


@dataclass
class Patient:
    """One simulated heart: its rate, rhythm habits and beat templates (two leads)."""

    hr: float                  # mean sinus rate, bpm
    hrv: float                 # respiratory sinus arrhythmia, fraction of RR
    s_coupling: float          # RR of a premature S beat / sinus RR
    v_coupling_s: float        # coupling interval of V beats, s (fixed per focus, a hallmark of PVCs)
    templates: np.ndarray      # (2 leads, 7 templates, 7 waves, 3)
    gains: np.ndarray          # (2,) lead gains
    f_amp: float               # f-wave amplitude in V1, mV


def draw_patient(profile: RecordProfile, rng: np.random.Generator) -> Patient:
    """The patient behind a record of this profile (leads MLII and ``profile.lead2``), drawn from ``rng`` only."""
    u = rng.uniform
    bbb, hr = profile.bundle_block, profile.hr_bpm
    templates = np.stack([patient_templates("MLII", bbb, rng), patient_templates(profile.lead2, bbb, rng)])
    patient = Patient(
        hr=float(hr * u(0.95, 1.05)) if hr else float(np.clip(rng.normal(74, 10), 55, 100)),
        hrv=u(0.01, 0.08),
        # Some patients' S beats are barely premature: RR alone cannot separate them from sinus arrhythmia.
        s_coupling=u(0.55, 0.85),
        v_coupling_s=u(0.38, 0.55),
        templates=templates,
        gains=np.array([u(0.6, 1.5), u(0.6, 1.5)]),
        f_amp=u(0.03, 0.12),
    )
    if profile.s_symbol == "J":
        patient.templates[:, Template.S, Wave.P, 0] = 0.0  # nodal: the atria fire with (hidden in) the QRS, no P
    elif profile.s_symbol == "a":
        patient.templates[:, Template.S, Wave.R, 2] *= 1.3  # aberrated: conducted partly through a refractory bundle
    return patient
