"""Multi-modal fusion of EEG with DEAP's peripheral channels: early (one model) vs late (one model per modality).

DEAP records, beside 32 EEG channels: horizontal and vertical EOG (eye movements and blinks: where one looks and
how often one blinks change with arousal, and leak into frontal EEG), zygomaticus and trapezius EMG (smiling,
tension), GSR (skin resistance: sweat-gland activity, the classic arousal signal, slow: responses take 1-3 s),
a respiration belt, a plethysmograph (pulse) and skin temperature.

* **Early fusion** concatenates the modalities' features (or raw channels, for a CNN: ``in_channels=40``) and
  trains one model: it can learn interactions, but the modality with the most columns dominates and a missing
  sensor breaks it.
* **Late fusion** trains one model per modality and averages their probabilities (:class:`LateFusion`): robust to
  a weak or missing modality, but blind to interactions.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone

__all__ = ["MODALITIES", "LateFusion", "modality_channels", "peripheral_features"]

MODALITIES: dict[str, tuple[str, ...]] = {
    "eog": ("hEOG", "vEOG"),
    "emg": ("zEMG", "tEMG"),
    "gsr": ("GSR",),
    "respiration": ("Respiration belt",),
    "ppg": ("Plethysmograph",),
    "temperature": ("Temperature",),
}


def modality_channels(channel_names: Sequence[str]) -> dict[str, list[int]]:
    """Positions of each modality's channels: ``{"eeg": [...], "eog": [...], "gsr": [...], ...}``.

    EEG is every channel that is not a named peripheral one; modalities absent from ``channel_names`` are left out.
    """
    names = list(channel_names)
    peripheral = {c for chans in MODALITIES.values() for c in chans}
    out = {"eeg": [i for i, c in enumerate(names) if c not in peripheral]}
    for modality, chans in MODALITIES.items():
        picks = [names.index(c) for c in chans if c in names]
        if picks:
            out[modality] = picks
    return {k: v for k, v in out.items() if v}


def peripheral_features(X, fs: float) -> np.ndarray:
    """Three summary features per channel and window: level, log variability and trend.

    Parameters
    ----------
    X : array, shape (n, C, L)
        Baseline-corrected windows of peripheral channels (``eeg_windows(..., baseline="mean")``: the level is
        then relative to the trial's pre-trial seconds, e.g. how far skin resistance has fallen).
    fs : float
        Hz.

    Returns
    -------
    np.ndarray
        float64 ``(n, 3 * C)``, per channel ``[mean, log10(std), slope per second]``.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 3:
        raise ValueError(f"X must be windows (n, channels, samples), got shape {X.shape}")
    t = (np.arange(X.shape[-1]) - (X.shape[-1] - 1) / 2) / fs  # centred seconds: slope by least squares
    mean = X.mean(axis=-1)
    log_sd = np.log10(X.std(axis=-1) + 1e-9)
    slope = (X * t).sum(axis=-1) / (t ** 2).sum()
    return np.stack([mean, log_sd, slope], axis=-1).reshape(len(X), -1)


class LateFusion(ClassifierMixin, BaseEstimator):
    """One classifier per block of feature columns; the prediction averages their probabilities.

    Parameters
    ----------
    estimator : sklearn classifier
        Cloned once per block (e.g. a scaler + logistic regression pipeline).
    blocks : mapping name -> sequence of int
        Columns of ``X`` that belong to each modality (e.g. EEG band powers, then peripheral features).
    weights : mapping name -> float, optional
        Weight of each block's probabilities; default equal.

    Attributes
    ----------
    estimators_ : dict
        The fitted per-block classifiers.
    classes_ : np.ndarray
    """

    def __init__(self, estimator, blocks: Mapping[str, Sequence[int]], weights: Mapping[str, float] | None = None):
        self.estimator = estimator
        self.blocks = blocks
        self.weights = weights

    def fit(self, X, y):
        X = np.asarray(X)
        if not self.blocks:
            raise ValueError("LateFusion needs at least one block of columns")
        for name, cols in self.blocks.items():
            bad = [c for c in cols if not 0 <= c < X.shape[1]]
            if bad or not len(cols):
                raise ValueError(f"block {name!r}: columns must be non-empty and in 0..{X.shape[1] - 1}, "
                                 f"got {list(cols)[:5]}{'...' if len(cols) > 5 else ''}")
        self.estimators_ = {name: clone(self.estimator).fit(X[:, list(cols)], y) for name, cols in self.blocks.items()}
        self.classes_ = next(iter(self.estimators_.values())).classes_
        return self

    def predict_proba(self, X) -> np.ndarray:
        X = np.asarray(X)
        w = {name: 1.0 for name in self.blocks} if self.weights is None else dict(self.weights)
        total = sum(w[name] for name in self.blocks)
        return sum(w[name] * est.predict_proba(X[:, list(self.blocks[name])])
                   for name, est in self.estimators_.items()) / total

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
