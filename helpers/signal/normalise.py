"""Per-subject normalisation: the simplest domain adaptation for models that must work on new people.

Two people's signals differ in ways unrelated to the label: skull thickness and electrode impedance scale EEG
amplitudes and the individual alpha frequency shifts its spectrum (Unit 3); strap tightness and skin scale a wrist
PPG and the skin-conductance level is personal (Unit 4). A model trained on other subjects then meets a new
subject whose features are *shifted*, and its decision threshold falls in the wrong place. Standardising every
subject with its own statistics (mean and standard deviation over all of its windows) removes the shift in the
first two moments. One implementation serves every unit, for features ``(n, F)`` and windows ``(n, C, T)``.

Test-time normalisation. For the held-out subject of a leave-one-subject-out fold, the statistics come from that
subject's own (unlabelled) windows only, never from the training subjects and never from labels. It is honest
about subjects (nothing from the test subject enters training), but it is *transductive*: it needs a batch of the
new subject's data before predicting. In a real-time system that batch is a calibration recording (e.g. the first
minutes, or the pre-trial baselines): pass it as ``reference``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["normalise_per_subject", "subject_statistics"]


def _reduce_axes(X: np.ndarray) -> tuple[int, ...]:
    # (n, F) features: per feature over the subject's rows; (n, C, L) signals: per channel over rows and samples
    if X.ndim == 2:
        return (0,)
    if X.ndim == 3:
        return (0, 2)
    raise ValueError(f"X must be features (n, n_features) or signals (n, channels, samples), got shape {X.shape}")


def subject_statistics(X, groups, reference=None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Mean and standard deviation of each subject's rows: ``{subject: (mean, std)}``.

    Parameters
    ----------
    X : array, shape (n, F) or (n, C, L)
        Features, or windows (statistics per channel over windows and samples).
    groups : array of str, shape (n,)
        Subject of each row.
    reference : array of bool, shape (n,), optional
        Rows that supply the statistics (e.g. a calibration period); default all of each subject's rows.

    Returns
    -------
    dict
        ``mean`` and ``std`` with shapes ``(F,)`` or ``(C, 1)``, float64.
    """
    X = np.asarray(X)
    g = np.asarray(groups).astype(str)
    if len(g) != len(X):
        raise ValueError(f"groups has {len(g)} entries but X has {len(X)} rows")
    ref = np.ones(len(g), bool) if reference is None else np.asarray(reference, dtype=bool)
    if ref.shape != g.shape:
        raise ValueError(f"reference must be a boolean mask of shape ({len(g)},), got shape {ref.shape}")
    axes = _reduce_axes(X)
    stats = {}
    for s in np.unique(g).tolist():  # plain str: messages and dict keys read "s01", not np.str_("s01")
        rows = np.flatnonzero((g == s) & ref)
        if len(rows) == 0:
            raise ValueError(f"subject {s!r} has no reference rows to compute its statistics from")
        xs = X[rows].astype(np.float64)
        mean, std = xs.mean(axis=axes), xs.std(axis=axes)
        if X.ndim == 3:
            mean, std = mean[:, None], std[:, None]  # (C, 1): broadcasts over samples
        stats[s] = (mean, std)
    return stats


def normalise_per_subject(X, groups, *, reference=None, eps: float = 1e-6) -> np.ndarray:
    """Standardise each subject's rows with that subject's own mean and standard deviation.

    Parameters
    ----------
    X : array, shape (n, F) or (n, C, L)
        Features (each column standardised) or signal windows (each channel standardised over all of the
        subject's windows and samples, so relative amplitude between windows is kept).
    groups : array of str, shape (n,)
        Subject of each row.
    reference : array of bool, shape (n,), optional
        Rows whose statistics are used (a calibration period); all rows of each subject are then transformed.
        Default: all of each subject's rows.
    eps : float
        Added to the standard deviation (a constant feature would divide by 0).

    Returns
    -------
    np.ndarray
        float32, the shape of ``X``; a subject's result depends on its own rows only, so normalising before a
        leave-one-subject-out split leaks nothing between subjects (it is test-time normalisation for the
        held-out one; see the module docstring).
    """
    X = np.asarray(X)
    if not np.issubdtype(X.dtype, np.floating):
        X = X.astype(np.float32)
    out = np.empty(X.shape, np.float32)
    g = np.asarray(groups).astype(str)
    for s, (mean, std) in subject_statistics(X, g, reference).items():
        rows = g == s
        out[rows] = (X[rows] - mean) / (std + eps)
    return out
