"""A beat's shape as a few numbers, measured against the patient's own median beat.

Inter-patient beat classifiers (de Chazal et al. 2004; Mondejar-Guerra et al. 2019) describe morphology with a
short vector of hand-made numbers rather than the raw waveform: a model given the raw waveform learns the training
patients' lead gains and QRS shapes, which a new patient does not share. Here every number is relative to the
record's median beat (mostly its normal beats), so it says how *this* beat differs from *this* patient's usual one:

- the beat minus the median beat, over the median beat's peak-to-peak amplitude
  (:func:`~helpers.signal.patient_features.relative_to_median_beat`), averaged over short bins: a coarse picture of
  the difference (a wide ventricular QRS, a missing or inverted P wave);
- the correlation of the beat with the median beat over three segments, the P wave, the QRS complex and the T
  wave: 1 for a beat shaped like the patient's usual one whatever its amplitude, lower for an ectopic shape.
  A supraventricular beat keeps the QRS (correlation near 1) and changes the P wave; a ventricular one changes both.
"""
from __future__ import annotations

import numpy as np

from .patient_features import relative_to_median_beat

__all__ = ["SEGMENTS_S", "beat_shape_features", "shape_feature_names"]

#: Segments (seconds from the R peak) whose correlation with the median beat is measured: P wave, QRS, T wave.
SEGMENTS_S: dict[str, tuple[float, float]] = {"p": (-0.25, -0.08), "qrs": (-0.08, 0.08), "t": (0.08, 0.45)}


def shape_feature_names(n_samples: int, bin_samples: int) -> list[str]:
    """Column names of :func:`beat_shape_features` for beats of ``n_samples`` samples."""
    return [f"rel_bin{i}" for i in range(n_samples // bin_samples)] + [f"corr_{s}" for s in SEGMENTS_S]


def _segment(fs: float, pre_s: float, n_samples: int, start_s: float, stop_s: float) -> slice:
    lo = int(round((pre_s + start_s) * fs))
    hi = int(round((pre_s + stop_s) * fs))
    return slice(max(lo, 0), min(hi, n_samples))


def beat_shape_features(X, groups, fs: float, *, pre_s: float = 0.25, bin_samples: int = 4) -> np.ndarray:
    """Morphology features of each beat, relative to its record's median beat.

    Parameters
    ----------
    X : array_like, shape (n, 1, L) or (n, L)
        Beat windows of one lead (mV), the R peak ``pre_s`` seconds after the window's start, in the order of
        ``groups`` (e.g. ``BeatSet.X``, possibly decimated).
    groups : array_like, shape (n,)
        The record (one recording of one patient) of each beat; medians are taken within a record only.
    fs : float
        Sampling rate of ``X`` in Hz (after any decimation).
    pre_s : float
        Seconds of the window before the R peak.
    bin_samples : int
        Samples averaged into one bin of the relative waveform.

    Returns
    -------
    np.ndarray
        float32, shape (n, L // bin_samples + 3), columns :func:`shape_feature_names`: the binned difference from
        the median beat (dimensionless, in units of the median beat's peak-to-peak amplitude), then the
        correlations with the median beat over the P, QRS and T segments (:data:`SEGMENTS_S`; -1 to 1, 0 where a
        segment is flat).

    Raises
    ------
    ValueError
        On a wrong shape, more than one lead, a non-positive ``fs`` or ``bin_samples``, a window too short for the
        segments, or non-finite samples.
    """
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 3:
        if X.shape[1] != 1:
            raise ValueError(f"X must hold one lead, shape (n, 1, L); got {X.shape[1]} leads in {X.shape}")
        X = X[:, 0]
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n_beats, n_samples) or (n_beats, 1, n_samples), got {X.shape}")
    if not fs > 0 or int(bin_samples) != bin_samples or bin_samples < 1:
        raise ValueError(f"fs must be > 0 Hz and bin_samples a positive whole number, got {fs!r}, {bin_samples!r}")
    n, length = X.shape
    if length < (pre_s + SEGMENTS_S["t"][0]) * fs + 2:
        raise ValueError(f"beats of {length} samples at {fs:g} Hz end before the T segment "
                         f"({SEGMENTS_S['t'][0]} s after an R peak {pre_s} s in)")
    rel = relative_to_median_beat(X[:, None, :], groups)[:, 0]  # checks groups and finite samples
    n_bins = length // bin_samples
    binned = rel[:, :n_bins * bin_samples].reshape(n, n_bins, bin_samples).mean(axis=-1)
    corr = np.zeros((n, len(SEGMENTS_S)), np.float32)
    g = np.asarray(groups)
    for record in np.unique(g):
        rows = np.flatnonzero(g == record)
        median = np.median(X[rows], axis=0)
        for k, (start, stop) in enumerate(SEGMENTS_S.values()):
            seg = _segment(fs, pre_s, length, start, stop)
            x = X[rows, seg] - X[rows, seg].mean(axis=1, keepdims=True)
            m = median[seg] - median[seg].mean()
            norm = np.linalg.norm(x, axis=1) * np.linalg.norm(m)
            # a flat segment (no P wave in the median beat, say) has no shape to compare: 0, not NaN
            corr[rows, k] = np.divide(x @ m, norm, out=np.zeros(len(rows), np.float32), where=norm > 1e-12)
    return np.hstack([binned, corr]).astype(np.float32)
