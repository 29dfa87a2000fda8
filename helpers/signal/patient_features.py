"""Beat features that transfer across patients: timing and shape relative to the patient's own rhythm and beat.

A supraventricular (S) beat looks like a normal one and comes early; but "early" is relative. A beat with an RR
interval of 0.6 s is premature for a patient at 60 bpm (RR 1.0 s) and perfectly on time for one at 100 bpm. A
classifier given RR intervals in seconds learns the training patients' heart rates, and on a new patient with a
faster or slower rhythm it calls normal beats S or misses the S beats. The inter-patient literature therefore
divides each interval by the patient's own mean RR (de Chazal et al. 2004 subtract the record's average RR;
Llamedo & Martinez 2011 and Mondejar-Guerra et al. 2019 normalise by it; Sellami & Hwang 2019 feed the local and
average RR beside the beat). The same holds for shape: lead gains and normal QRS morphology differ between
patients, so a beat's difference from the patient's own median beat (dominated by the patient's normal beats)
transfers better than the raw waveform.

Two functions, both computed per record (one recording of one patient; never across records, or one patient's
rhythm would set another's reference):

- :func:`normalised_rr_features`: the five RR features of :func:`~helpers.signal.beats.beat_rr_features` turned
  into dimensionless ratios over the record's mean RR (or a causal running mean of the last beats);
- :func:`relative_to_median_beat`: each beat minus its record's median beat, scaled by the median beat's
  peak-to-peak amplitude;
- :func:`robust_per_record`: any feature table as robust z-scores within each record (minus the record's median,
  over its scaled median absolute deviation): how unusual a beat is *for this patient*.
"""
from __future__ import annotations

import numpy as np

from .beats import BEAT_RR_FEATURES

__all__ = ["NORMALISED_RR_FEATURES", "normalised_rr_features", "relative_to_median_beat", "robust_per_record"]

#: Columns of :func:`normalised_rr_features` (all dimensionless; about 1 for a beat on time).
NORMALISED_RR_FEATURES: tuple[str, ...] = ("prev_over_mean", "next_over_mean", "local_over_mean", "prev_over_local",
                                           "next_over_prev")

_PREV, _NEXT, _LOCAL = (BEAT_RR_FEATURES.index(c) for c in ("rr_prev_s", "rr_next_s", "rr_local_s"))


def _groups(groups, n: int) -> tuple[np.ndarray, np.ndarray]:
    g = np.asarray(groups)
    if g.shape != (n,):
        raise ValueError(f"groups must have shape ({n},), one record id per beat, got {g.shape}")
    _, first, inv = np.unique(g, return_index=True, return_inverse=True)
    return inv.reshape(-1), first


def _running_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of ``x[i - window + 1 .. i]`` (fewer at the start) for every i; x is (n,)."""
    csum = np.r_[0.0, np.cumsum(x, dtype=np.float64)]
    i = np.arange(1, x.size + 1)
    lo = np.maximum(i - window, 0)
    return (csum[i] - csum[lo]) / (i - lo)


def normalised_rr_features(rr, groups, *, mode: str = "record", window: int = 300) -> np.ndarray:
    """RR features relative to the patient's own mean RR: what "early" and "late" mean for this heart.

    Parameters
    ----------
    rr : array_like, shape (n, 5)
        :func:`~helpers.signal.beats.beat_rr_features` of the beats (columns
        :data:`~helpers.signal.beats.BEAT_RR_FEATURES`; intervals in s), in time order within each record, e.g.
        ``BeatSet.rr``.
    groups : array_like, shape (n,)
        The record (one recording of one patient) of each beat, e.g. ``BeatSet.record``. The mean RR is computed
        within each record, never across them.
    mode : {"record", "running"}
        ``"record"``: the mean ``rr_prev_s`` over all the record's beats (what a Holter analysis does after the
        recording). ``"running"``: the causal mean of the ``window`` most recent beats' ``rr_prev_s``, this one
        included (a monitor that classifies as it goes; it also follows slow changes of heart rate).
    window : int
        Beats in the running mean (300 beats: about 4-5 minutes at normal rates). Ignored for ``"record"``.

    Returns
    -------
    np.ndarray
        float32, shape (n, 5), columns :data:`NORMALISED_RR_FEATURES`: ``rr_prev_s``, ``rr_next_s`` and
        ``rr_local_s`` divided by the mean RR (dimensionless, about 1 on time, below 1 for a premature beat), then
        ``prev_over_local`` and ``next_over_prev`` unchanged (already ratios). Beats keep their order.

    Raises
    ------
    ValueError
        On a wrong shape, a bad ``mode`` or ``window``, or NaN, infinite or non-positive intervals (a record with
        fewer than two beats has none: drop its rows first), naming the first bad row.

    Notes
    -----
    Normalising by the mean over *all* patients (one global constant) changes nothing that matters: it rescales
    every patient alike, so a fast heart's normal beats still look premature. The reference must be per record.
    """
    rr = np.asarray(rr, dtype=np.float64)
    if rr.ndim != 2 or rr.shape[1] != len(BEAT_RR_FEATURES):
        raise ValueError(f"rr must have shape (n_beats, {len(BEAT_RR_FEATURES)}) with columns {BEAT_RR_FEATURES}, "
                         f"got {rr.shape}")
    if mode not in ("record", "running"):
        raise ValueError(f"mode must be 'record' or 'running', got {mode!r}")
    if int(window) != window or window < 1:
        raise ValueError(f"window must be a positive whole number of beats, got {window!r}")
    bad = ~(np.isfinite(rr).all(axis=1) & (rr > 0).all(axis=1))
    if bad.any():
        raise ValueError(f"rr holds NaN, infinite or non-positive values in {int(bad.sum())} row(s), the first at "
                         f"row {int(np.argmax(bad))}; drop them first: keep = np.isfinite(rr).all(axis=1)")
    inv, _ = _groups(groups, len(rr))
    prev = rr[:, _PREV]
    if mode == "record":
        mean = (np.bincount(inv, weights=prev) / np.bincount(inv))[inv]
    else:
        mean = np.empty(len(rr))
        for g in np.unique(inv):
            idx = np.flatnonzero(inv == g)  # beats of one record, in their order
            mean[idx] = _running_mean(prev[idx], int(window))
    out = rr.copy()
    out[:, [_PREV, _NEXT, _LOCAL]] /= mean[:, None]
    return out.astype(np.float32)


def relative_to_median_beat(X, groups) -> np.ndarray:
    """Each beat minus its record's median beat, in units of that median beat's peak-to-peak amplitude.

    Parameters
    ----------
    X : array_like, shape (n, C, L)
        Beat windows (mV), fiducial points aligned, e.g. ``BeatSet.X``.
    groups : array_like, shape (n,)
        The record of each beat (e.g. ``BeatSet.record``).

    Returns
    -------
    np.ndarray
        float32, shape (n, C, L), dimensionless: ``(x - m) / ptp(m)`` per lead, with ``m`` the sample-wise median
        of the record's beats (mostly its normal beats, so a normal beat gives about zero and an ectopic beat its
        difference from the patient's usual shape) and ``ptp(m)`` its peak-to-peak amplitude (a lead gain
        divides out). A flat median beat (ptp below 1 microvolt) is not scaled.

    Raises
    ------
    ValueError
        On a wrong shape or non-finite samples.
    """
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 3:
        raise ValueError(f"X must have shape (n_beats, n_leads, n_samples), got {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X holds NaN or infinite samples; filter or drop those beats first")
    inv, _ = _groups(groups, len(X))
    out = np.empty_like(X)
    for g in np.unique(inv):
        idx = np.flatnonzero(inv == g)
        median = np.median(X[idx], axis=0)  # (C, L)
        ptp = np.ptp(median, axis=-1, keepdims=True)  # (C, 1), mV
        out[idx] = (X[idx] - median) / np.where(ptp > 1e-3, ptp, 1.0)
    return out


def robust_per_record(F, groups, *, clip: float = 20.0) -> np.ndarray:
    """Each feature as a robust z-score within its record: how far a beat lies from the patient's usual beat.

    The per-subject standardisation of :func:`~helpers.signal.normalise.normalise_per_subject` uses the mean and
    standard deviation, which a record's ectopic beats pull (a third of record 208's beats are ventricular). The
    median and the median absolute deviation follow the record's majority, its normal beats, so a normal beat
    scores about 0 whatever the patient's own heart rate or QRS shape, and an ectopic one scores far from it.

    Parameters
    ----------
    F : array_like, shape (n, k)
        Features of the beats (any units).
    groups : array_like, shape (n,)
        The record of each beat; statistics are computed within a record, never across records, and use no labels
        (for a held-out patient, its own unlabelled beats only).
    clip : float
        Scores are clipped to ``[-clip, clip]`` (a feature nearly constant within a record would otherwise send
        rare beats to huge values that a linear model over-weights).

    Returns
    -------
    np.ndarray
        float32, shape (n, k), dimensionless: ``(F - median) / (1.4826 * MAD + 1e-3)`` per record and column
        (1.4826 makes the MAD a standard deviation for normal data; 1e-3 keeps a constant column finite).

    Raises
    ------
    ValueError
        On a wrong shape, non-finite values or a non-positive ``clip``.
    """
    F = np.asarray(F, dtype=np.float64)
    if F.ndim != 2:
        raise ValueError(f"F must have shape (n_beats, n_features), got {F.shape}")
    if not np.isfinite(F).all():
        bad = int(np.argmax(~np.isfinite(F).all(axis=1)))
        raise ValueError(f"F holds NaN or infinite values, the first in row {bad}; drop or fill them first")
    if not clip > 0:
        raise ValueError(f"clip must be > 0, got {clip!r}")
    inv, _ = _groups(groups, len(F))
    out = np.empty_like(F)
    for g in np.unique(inv):
        rows = inv == g
        median = np.median(F[rows], axis=0)
        mad = np.median(np.abs(F[rows] - median), axis=0)
        out[rows] = (F[rows] - median) / (1.4826 * mad + 1e-3)
    return np.clip(out, -clip, clip).astype(np.float32)
