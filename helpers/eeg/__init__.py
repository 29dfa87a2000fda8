"""Unit 3: valence and arousal from multi-channel EEG (DEAP), subject-independent and in near real time.

The pipeline, one small module per step::

    W = eeg_windows(ds, window_s=1.0, step_s=0.5, target="arousal")   # windows.py: 1 s, 50% overlap, baseline
    F = relative_band_power(W)                                          # features.py: log band power vs baseline
    F = normalise_per_subject(F, W.groups)                              # helpers.signal: per-subject statistics
    per_subject = loso_evaluate(make_baseline(), F, W.y, W.groups)     # evaluation.py: LOSO, one row per subject
    plot_per_subject(per_subject)                                       # plots.py

Fusion with the peripheral channels is in :mod:`.fusion`; the sequence models (CNN + LSTM / Transformer over
windows) are ``helpers.models.EEGCNNLSTM`` and ``EEGCNNTransformer``; streaming and latency in
:mod:`helpers.edge.streaming`. Subject-independent accuracy on real DEAP is modest (often 55-65%); on the synthetic
set it is a property of the simulator, never a clinical result.
"""
from __future__ import annotations

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from .evaluation import (
    fit_predict,
    loso_evaluate,
    subject_dependent_evaluate,
    summarise_folds,
)
from .features import BANDS, band_power_features, feature_names, relative_band_power
from .fusion import MODALITIES, LateFusion, modality_channels, peripheral_features
from .plots import plot_per_subject
from .windows import EEGWindows, cut_windows, eeg_windows


def make_baseline(C: float = 0.1) -> Pipeline:
    """The classical baseline: standardise the features, then L2-regularised logistic regression.

    ``C`` is small (strong regularisation) because features are many (32 channels x 4 bands) and training windows
    of one trial are strongly correlated, so the effective sample size is the number of trials, not windows.
    """
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))


__all__ = ["BANDS", "MODALITIES", "EEGWindows", "LateFusion", "band_power_features", "cut_windows", "eeg_windows",
           "feature_names", "fit_predict", "loso_evaluate", "make_baseline", "modality_channels",
           "peripheral_features", "plot_per_subject", "relative_band_power",
           "subject_dependent_evaluate", "summarise_folds"]
