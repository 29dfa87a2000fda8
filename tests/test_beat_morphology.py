"""Beat morphology relative to the patient's median beat (helpers.signal.beat_morphology)."""
from __future__ import annotations

import numpy as np
import pytest

from helpers.signal.beat_morphology import SEGMENTS_S, beat_shape_features, shape_feature_names

FS = 180.0
PRE_S = 0.25
T = np.arange(int(0.7 * FS)) / FS - PRE_S  # seconds from the R peak, as the benchmark's beats


def _wave(centre_s: float, width_s: float, height: float) -> np.ndarray:
    return height * np.exp(-0.5 * ((T - centre_s) / width_s) ** 2)


NORMAL = _wave(-0.16, 0.02, 0.15) + _wave(0.0, 0.012, 1.0) + _wave(0.25, 0.04, 0.3)   # P, QRS, T
ABNORMAL_P = _wave(-0.16, 0.02, -0.15) + _wave(0.0, 0.012, 1.0) + _wave(0.25, 0.04, 0.3)  # inverted P only
WIDE_QRS = _wave(-0.16, 0.02, 0.15) + _wave(0.03, 0.04, 1.0) + _wave(0.25, 0.04, -0.3)    # ventricular-like


def _record(gain: float, rng) -> np.ndarray:
    beats = np.r_[np.repeat(NORMAL[None], 20, 0), ABNORMAL_P[None], WIDE_QRS[None]]
    return (gain * (beats + rng.normal(0, 0.002, beats.shape)))[:, None, :].astype(np.float32)


def test_features_say_how_each_beat_differs_from_the_patients_usual_beat():
    rng = np.random.default_rng(0)
    X = _record(1.0, rng)
    F = beat_shape_features(X, np.zeros(len(X), int), FS)
    names = shape_feature_names(X.shape[-1], 4)
    assert F.shape == (22, len(names)) == (22, X.shape[-1] // 4 + len(SEGMENTS_S)) and F.dtype == np.float32
    p, qrs = names.index("corr_p"), names.index("corr_qrs")
    assert F[:20, p].min() > 0.95 and F[:20, qrs].min() > 0.99       # normal beats: the patient's own shape
    assert np.abs(F[:20, : qrs - 2]).max() < 0.05                     # ... and about no difference
    assert F[20, p] < -0.5 and F[20, qrs] > 0.99                      # supraventricular: P changed, QRS kept
    assert F[21, qrs] < 0.8                                           # ventricular: the QRS changed


def test_a_patients_lead_gain_does_not_change_the_features():
    g = np.repeat([0, 1], 22)
    X = np.r_[_record(1.0, np.random.default_rng(1)), _record(3.0, np.random.default_rng(1))]
    F = beat_shape_features(X, g, FS)
    np.testing.assert_allclose(F[:22], F[22:], atol=2e-3)


def test_bad_beats_are_refused_naming_the_problem():
    X = _record(1.0, np.random.default_rng(2))
    with pytest.raises(ValueError, match="one lead"):
        beat_shape_features(np.repeat(X, 2, axis=1), np.zeros(22), FS)
    with pytest.raises(ValueError, match="end before the T segment"):
        beat_shape_features(X[..., :40], np.zeros(22), FS)
    with pytest.raises(ValueError, match="fs must be > 0"):
        beat_shape_features(X, np.zeros(22), 0.0)
    with pytest.raises(ValueError, match="one record id per beat"):
        beat_shape_features(X, np.zeros(21), FS)
