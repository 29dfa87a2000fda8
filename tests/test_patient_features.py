"""Patient-relative beat features (helpers.signal.patient_features): RR over the patient's mean, shape over the
patient's median beat."""
from __future__ import annotations

import numpy as np
import pytest

from helpers.signal.beats import beat_rr_features
from helpers.signal.patient_features import (
    NORMALISED_RR_FEATURES,
    normalised_rr_features,
    relative_to_median_beat,
    robust_per_record,
)

FS = 360.0


def _record(rr_s: float, n: int = 40, premature_at: int = 20, coupling: float = 0.5) -> np.ndarray:
    """R peaks (samples) of a regular rhythm with one premature beat at ``coupling`` of the sinus RR."""
    rr = np.full(n - 1, rr_s)
    rr[premature_at - 1] = coupling * rr_s           # the beat comes early
    rr[premature_at] = (2 - coupling) * rr_s         # compensatory pause
    return np.round(np.r_[0, np.cumsum(rr)] * FS).astype(int) + 100


def test_the_same_rhythm_at_two_heart_rates_gives_the_same_normalised_features():
    slow, fast = beat_rr_features(_record(1.0), FS), beat_rr_features(_record(0.6), FS)
    assert abs(slow[5, 0] - fast[5, 0]) > 0.3                    # raw seconds: the heart rates differ
    rr = np.r_[slow, fast]
    groups = np.r_[np.full(40, "slow"), np.full(40, "fast")]
    out = normalised_rr_features(rr, groups)
    assert out.shape == (80, len(NORMALISED_RR_FEATURES)) and out.dtype == np.float32
    np.testing.assert_allclose(out[:40], out[40:], atol=3e-3)  # ... but relative to each patient, one rhythm
    mean_prev = rr[:40, 0].mean()
    np.testing.assert_allclose(out[5, 0], 1.0 / mean_prev, rtol=1e-5)   # a sinus beat: its RR over the mean RR
    assert out[20, 0] < 0.65 and out[21, 0] > 1.3                         # the premature beat and its pause
    np.testing.assert_allclose(out[:, 3:], rr[:, 3:], rtol=1e-6)         # the two ratios pass unchanged


def test_a_global_mean_over_all_patients_is_not_the_same_thing():
    slow, fast = beat_rr_features(_record(1.0), FS), beat_rr_features(_record(0.6), FS)
    rr = np.r_[slow, fast]
    one_patient = normalised_rr_features(rr, np.zeros(80, dtype=int))        # every beat in one "record"
    # the fast heart's sinus beats look premature beside the slow heart's under one shared reference
    assert one_patient[45, 0] < 0.8 and one_patient[5, 0] > 1.2


def test_the_running_mean_follows_a_change_of_heart_rate_and_is_causal():
    peaks = np.round(np.r_[0, np.cumsum(np.r_[np.full(100, 1.0), np.full(100, 0.5)])] * FS).astype(int)
    rr = beat_rr_features(peaks, FS)
    run = normalised_rr_features(rr, np.zeros(len(rr)), mode="running", window=20)
    rec = normalised_rr_features(rr, np.zeros(len(rr)), mode="record")
    np.testing.assert_allclose(run[[50, 180], 0], [1.0, 1.0], atol=1e-3)   # each regime on time, once adapted
    assert rec[180, 0] < 0.7                                                  # the record mean cannot adapt
    # causal: changing a later beat leaves the earlier features alone
    rr2 = rr.copy()
    rr2[150:, 0] *= 2
    np.testing.assert_array_equal(normalised_rr_features(rr2, np.zeros(len(rr)), mode="running", window=20)[:150],
                                  run[:150])


@pytest.mark.parametrize("rr, groups, kwargs, match", [
    (np.ones((4, 3)), np.zeros(4), {}, r"shape \(n_beats, 5\)"),
    (np.ones((4, 5)), np.zeros(3), {}, r"groups must have shape \(4,\)"),
    (np.r_[np.ones((2, 5)), np.full((1, 5), np.nan)], np.zeros(3), {}, "first at row 2"),
    (np.ones((4, 5)), np.zeros(4), {"mode": "global"}, "mode must be"),
    (np.ones((4, 5)), np.zeros(4), {"mode": "running", "window": 0}, "window must be"),
])
def test_normalised_rr_features_refuse_bad_input_naming_it(rr, groups, kwargs, match):
    with pytest.raises(ValueError, match=match):
        normalised_rr_features(rr, groups, **kwargs)


def test_a_beat_relative_to_its_patients_median_beat_ignores_the_lead_gain():
    rng = np.random.default_rng(0)
    shape = np.sin(np.linspace(0, np.pi, 50))[None]                        # (1, 50) the usual beat
    odd = np.cos(np.linspace(0, np.pi, 50))[None]                          # one ectopic beat
    beats = np.stack([shape] * 9 + [odd]) + 0.001 * rng.standard_normal((10, 1, 50))
    X = np.r_[beats, 3.0 * beats].astype(np.float32)                       # the same patient seen with gain 3
    groups = np.repeat(["a", "b"], 10)
    out = relative_to_median_beat(X, groups)
    assert out.shape == X.shape and out.dtype == np.float32
    np.testing.assert_allclose(out[:10], out[10:], atol=1e-3)              # gain divided out
    assert np.abs(out[:9]).max() < 0.02 and np.abs(out[9]).max() > 0.5    # the usual beats vanish, the odd one not


def test_relative_to_median_beat_refuses_bad_shapes_and_nan():
    with pytest.raises(ValueError, match=r"\(n_beats, n_leads, n_samples\)"):
        relative_to_median_beat(np.zeros((4, 10)), np.zeros(4))
    with pytest.raises(ValueError, match="NaN"):
        relative_to_median_beat(np.full((2, 1, 4), np.nan), np.zeros(2))


def _two_patients(rng) -> tuple[np.ndarray, np.ndarray]:
    """Features of two patients: the second is the first shifted and scaled (another baseline and gain), and
    each holds one unusual beat (row 10 and row 60)."""
    a = rng.normal(0.0, 1.0, (50, 3))
    a[10] = [8.0, -8.0, 0.0]
    F = np.r_[a, 5.0 + 3.0 * a]
    return F, np.repeat(["p1", "p2"], 50)


def test_robust_scores_remove_each_patients_offset_and_scale_and_flag_the_unusual_beat():
    F, groups = _two_patients(np.random.default_rng(0))
    z = robust_per_record(F, groups)
    assert z.shape == F.shape and z.dtype == np.float32
    np.testing.assert_allclose(z[:50], z[50:], rtol=2e-3, atol=2e-3)  # the same beats of two patients score alike
    np.testing.assert_allclose(np.median(z[:50], axis=0), 0.0, atol=1e-6)
    assert z[10, 0] > 4 and z[10, 1] < -4                   # the unusual beat stands out ...
    assert np.median(np.abs(z[:50, 0])) < 1                  # ... and the usual ones do not


def test_robust_scores_of_a_patient_use_only_that_patients_beats():
    F, groups = _two_patients(np.random.default_rng(1))
    alone = robust_per_record(F[:50], groups[:50])
    together = robust_per_record(np.r_[F, F[:50] * 100.0], np.r_[groups, np.full(50, "p3")])
    np.testing.assert_allclose(together[:50], alone)


def test_robust_scores_are_not_pulled_by_many_ectopic_beats_where_the_mean_is():
    # a third of the beats are far away (record 208's ventricular beats): the median stays with the normal ones
    F = np.r_[np.random.default_rng(2).normal(0.0, 0.1, (60, 1)), np.full((30, 1), 5.0)]
    z = robust_per_record(F, np.zeros(90, int))
    assert abs(np.median(z[:60])) < 1 and z[60:].min() > 10
    standard = (F - F.mean()) / F.std()
    assert standard[60:].min() < 2   # the plain z-score hides them


def test_robust_scores_clip_and_refuse_bad_input_naming_the_problem():
    F = np.r_[np.zeros((20, 1)), [[1.0]]]     # a constant column and one different beat
    assert robust_per_record(F, np.zeros(21, int), clip=20.0)[-1, 0] == 20.0
    with pytest.raises(ValueError, match="shape"):
        robust_per_record(np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="one record id per beat"):
        robust_per_record(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="row 3"):
        robust_per_record(np.r_[np.zeros((3, 2)), [[np.nan, 0.0]]], np.zeros(4))
    with pytest.raises(ValueError, match="clip"):
        robust_per_record(np.zeros((4, 2)), np.zeros(4), clip=0)
