"""The beats of one simulated MIT-BIH record: when each beat comes, which type it is, and the rhythm it belongs to.

A record's :class:`~helpers.data.synthetic.mitbih_profiles.RecordProfile` says how often each event happens; this
module turns it into a :class:`BeatSequence` in four steps: the underlying rhythm (sinus, AF episodes, pacing), the
ectopic beats (isolated, bigeminy, runs), their symbols and templates, and the RR interval before each beat
(prematurity, compensatory pauses, AF's irregular response). The steps draw from one ``rng`` in a fixed order, so a
record is the same for the same seed.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .mitbih_morphology import Patient, Template
from .mitbih_profiles import RecordProfile


@dataclass
class BeatSequence:
    """The beats of one record in time order; every array has shape ``(n_beats,)``.

    Attributes
    ----------
    symbol : np.ndarray
        str, the MIT-BIH beat symbol (``N``, ``V``, ``A``, ``/`` ...).
    template : np.ndarray
        int64, the :class:`Template` each beat is drawn from.
    rhythm : np.ndarray
        str, the rhythm the beat belongs to (``(N``, ``(AFIB``, ``(B``, ``(SVTA``, ``(VT``, ``(P``).
    fuse_w : np.ndarray
        float64, the share of a fusion partner in the beat (0 for a beat that is not a fusion).
    fuse_template : np.ndarray
        int64, the fusion partner's :class:`Template`.
    times : np.ndarray
        float64, the beat's fiducial time in s from the record's start (empty until the RR intervals are drawn).
    """

    symbol: np.ndarray
    template: np.ndarray
    rhythm: np.ndarray
    fuse_w: np.ndarray
    fuse_template: np.ndarray
    times: np.ndarray

    def kept(self, keep: np.ndarray) -> BeatSequence:
        """The beats where the boolean mask ``keep`` is True."""
        return BeatSequence(**{f.name: getattr(self, f.name)[keep] for f in fields(self)})


@dataclass
class _Ectopics:
    """Masks over the beats, shape ``(n,)``: ventricular, supraventricular, fusion and unclassifiable beats."""

    v: np.ndarray
    s: np.ndarray
    f: np.ndarray
    q: np.ndarray


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


def _underlying_rhythm(prof: RecordProfile, n: int, n_exp: int,
                       rng: np.random.Generator) -> tuple[BeatSequence, np.ndarray]:
    """Step 1: sinus, paced or AF beats before any ectopic beat; also the AF mask, shape ``(n,)``."""
    normal_sym = "/" if prof.paced else prof.bundle_block or "N"
    seq = BeatSequence(symbol=np.full(n, normal_sym, dtype="<U1"),
                       template=np.full(n, Template.PACED if prof.paced else Template.N, dtype=np.int64),
                       rhythm=np.full(n, "(P" if prof.paced else "(N", dtype="<U5"),
                       fuse_w=np.zeros(n), fuse_template=np.zeros(n, dtype=np.int64), times=np.zeros(0))
    af = _blocks(n, n_exp, prof.af_share, int(rng.integers(150, 600)), rng)
    seq.rhythm[af] = "(AFIB"
    seq.template[af & (seq.template == Template.N)] = Template.N_AF
    if prof.paced:
        f_share, n_share = prof.paced_mix
        r = rng.random(n)
        fused = r < f_share
        seq.symbol[fused], seq.fuse_w[fused] = "f", rng.uniform(0.3, 0.7, fused.sum())
        seq.fuse_template[fused] = Template.N
        nat = (r >= f_share) & (r < f_share + n_share)
        seq.symbol[nat], seq.template[nat] = "N", Template.N
    return seq, af


def _ectopic_beats(prof: RecordProfile, rhythm: np.ndarray, af: np.ndarray, n_exp: int, duration: float,
                   rng: np.random.Generator) -> _Ectopics:
    """Step 2: which beats are ectopic; bigeminy and runs of three or more also relabel ``rhythm`` in place."""
    n = rhythm.size
    sinus = ~af
    r = rng.random(n)
    # One uniform per beat, compared against disjoint bands, so that isolated beats of two kinds never coincide.
    v_iso = r < prof.v_share
    s_iso = sinus & (r >= 0.5) & (r < 0.5 + prof.s_share)
    f_iso = sinus & (r >= 0.9) & (r < 0.9 + prof.f_share)
    q_iso = (r >= 0.3) & (r < 0.3 + prof.q_share)

    # Bigeminy: every other beat ventricular, annotated as its own rhythm.
    big = _blocks(n, n_exp, prof.bigeminy_share, int(rng.integers(20, 80)), rng) & sinus
    big_v = big & (np.arange(n) % 2 == 1)
    rhythm[big] = "(B"
    # Runs: supraventricular tachycardia (SVTA) and ventricular couplets/triplets (VT when >= 3).
    s_run = np.zeros(n, dtype=bool)
    v_run = np.zeros(n, dtype=bool)
    run_kinds = ((prof.svta_per_hour, s_run, 3, 12, "(SVTA"), (prof.vt_per_hour, v_run, 2, 6, "(VT"))
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
    return _Ectopics(v=v_beat, s=s_beat, f=f_beat, q=q_beat)


def _label_ectopics(prof: RecordProfile, seq: BeatSequence, ect: _Ectopics, rng: np.random.Generator) -> None:
    """Step 3: the symbol and template of each ectopic beat, in place."""
    n = seq.symbol.size
    second = rng.random(n) < prof.second_focus
    seq.template[ect.v] = np.where(second[ect.v], Template.V2, Template.V1)
    seq.symbol[ect.v] = "V"
    if prof.bundle_block == "L" and prof.vt_per_hour:
        seq.symbol[ect.v & (rng.random(n) < 0.1)] = "E"  # a few ventricular escape beats, as in 207
    seq.template[ect.s] = Template.S
    seq.symbol[ect.s] = prof.s_symbol
    seq.template[ect.f], seq.symbol[ect.f] = Template.N, "F"
    seq.fuse_w[ect.f], seq.fuse_template[ect.f] = rng.uniform(0.3, 0.7, ect.f.sum()), Template.V1
    seq.template[ect.q], seq.symbol[ect.q] = Template.Q, "Q"


def _rr_intervals(p: Patient, paced: bool, af: np.ndarray, ect: _Ectopics, rng: np.random.Generator) -> np.ndarray:
    """Step 4: the RR interval before each beat, s, shape ``(n,)``."""
    n = af.size
    mean_rr = 60.0 / p.hr
    # RR before each beat: sinus RR with respiratory and slow variability, shortened by prematurity.
    t_idx = np.arange(n) * mean_rr
    base = mean_rr * (1 + p.hrv * np.sin(2 * np.pi * rng.uniform(0.15, 0.3) * t_idx + rng.uniform(0, 6.3))
                      + 0.04 * np.sin(2 * np.pi * rng.uniform(0.005, 0.03) * t_idx + rng.uniform(0, 6.3))
                      + 0.01 * rng.standard_normal(n))
    if paced:
        base = np.full(n, mean_rr) * (1 + 0.003 * rng.standard_normal(n))  # a fixed-rate pacemaker
    factor = np.ones(n)
    premature = ect.v | ect.s
    # A V beat comes a fixed time after the previous beat, but always early: at most 85% of the sinus RR.
    factor[ect.v] = np.minimum(p.v_coupling_s / base[ect.v], 0.85) * rng.uniform(0.96, 1.04, ect.v.sum())
    factor[ect.s] = p.s_coupling * rng.uniform(0.93, 1.07, ect.s.sum())
    factor[ect.f] = rng.uniform(0.92, 1.0, ect.f.sum())  # fusion needs the V focus to fire about on time
    # The beat after a premature run: a full compensatory pause after V (the sinus node was not reset), a pause of
    # about one sinus cycle after S (it was).
    after = np.zeros(n, dtype=bool)
    after[1:] = premature[:-1] & ~premature[1:]
    prev_v = np.zeros(n, dtype=bool)
    prev_v[1:] = ect.v[:-1]
    factor[after] = np.where(prev_v[after], 2.0 - factor[np.flatnonzero(after) - 1],
                             rng.uniform(1.0, 1.12, after.sum()))
    rr = base * factor
    if af.any():
        # AF: irregularly irregular ventricular response, bounded below by AV-node refractoriness.
        cv = rng.uniform(0.12, 0.25)
        k = 1.0 / cv ** 2
        af_rr = rng.uniform(0.55, 0.8) * rng.gamma(k, 1.0 / k, size=n)
        af_rr = np.maximum(af_rr, 0.3 + 0.05 * rng.random(n))
        rr[af] = np.where(ect.v[af], 0.8 * af_rr[af], af_rr[af])
    return np.maximum(rr, 0.25)


def beat_sequence(prof: RecordProfile, p: Patient, duration: float, rng: np.random.Generator) -> BeatSequence:
    """The beats of one record of ``duration`` seconds with the events of ``prof`` and the rate of ``p``.

    Parameters
    ----------
    prof : RecordProfile
        What the record holds.
    p : Patient
        Rate, variability and coupling intervals.
    duration : float
        Record length in s; beats end at least 0.3 s before it.
    rng : np.random.Generator
        The record's generator (drawn from in a fixed order).

    Returns
    -------
    BeatSequence
        With ``times`` set.
    """
    mean_rr = 60.0 / p.hr
    n = int(duration / (0.45 * mean_rr)) + 20   # generous: premature beats and AF shorten the RR
    n_exp = min(n, int(duration / mean_rr) + 1)  # episodes are placed among the beats that will be kept
    seq, af = _underlying_rhythm(prof, n, n_exp, rng)
    ect = _ectopic_beats(prof, seq.rhythm, af, n_exp, duration, rng)
    _label_ectopics(prof, seq, ect, rng)
    rr = _rr_intervals(p, prof.paced, af, ect, rng)
    seq.times = rng.uniform(0.3, 1.0) + np.cumsum(rr) - rr[0]
    return seq.kept(seq.times < duration - 0.3)
