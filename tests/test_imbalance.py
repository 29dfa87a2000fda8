"""Imbalance remedies: oversampling keeps the real beats, SMOTE stays on the RR features, configs say the rest."""

import numpy as np
import pytest

from helpers.train.imbalance import STRATEGIES, oversample, rebalance, target_counts
from helpers.models import beat_inputs
from helpers.train import TrainConfig

L = 32


def beat_set(counts=(60, 8, 12, 3), seed=0):
    """Beats of classes 0..3 (n_c each): waveform level = class + noise, RR features around a class value."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(counts)), counts)
    wave = (y[:, None, None] + 0.1 * rng.normal(size=(len(y), 1, L))).astype(np.float32)
    rr = (0.5 + 0.2 * y[:, None] + 0.05 * rng.normal(size=(len(y), 5))).astype(np.float32)
    return beat_inputs(wave, rr), y


def test_target_counts_raise_rare_classes_and_never_lower_any():
    y = np.repeat([0, 1, 2], [100, 10, 40])
    assert target_counts(y) == {1: 100, 2: 100}
    assert target_counts(y, 0.25) == {1: 25}  # class 2 already has 40 >= 25
    assert target_counts(y, {1: 30}) == {1: 30}
    with pytest.raises(ValueError, match=r"class\(es\) \[7\] absent from y"):
        target_counts(y, {7: 5})
    with pytest.raises(ValueError, match="got 1.5"):
        target_counts(y, 1.5)


def test_random_oversampling_keeps_every_beat_in_order_then_adds_copies_of_the_same_class():
    X, y = beat_set()
    Xr, yr = oversample(X, y, "random", seed=0)
    assert np.bincount(yr).tolist() == [60, 60, 60, 60]
    np.testing.assert_array_equal(Xr[: len(X)], X)
    np.testing.assert_array_equal(yr[: len(y)], y)
    for x_new, c in zip(Xr[len(X):], yr[len(y):]):  # every new beat is a real beat of its own class
        assert (np.abs(X[y == c] - x_new).max(axis=(1, 2)) == 0).any()
    X2, _ = oversample(X, y, "random", seed=0)
    np.testing.assert_array_equal(X2, Xr)  # seeded
    _, y_quarter = oversample(X, y, "random", sampling_strategy=0.25)
    assert np.bincount(y_quarter).tolist() == [60, 15, 15, 15]


def test_smote_rr_interpolates_the_rr_features_and_borrows_a_real_waveform_of_the_class():
    X, y = beat_set()
    Xr, yr = oversample(X, y, "smote_rr", seed=0)
    assert np.bincount(yr).tolist() == [60, 60, 60, 60] and Xr.dtype == np.float32
    np.testing.assert_array_equal(Xr[: len(X)], X)
    new, new_y = Xr[len(X):], yr[len(y):]
    assert (new[:, 1:] == new[:, 1:, :1]).all()  # RR channels still constant over the window
    copied_rr = 0
    for x_new, c in zip(new, new_y):
        real = X[y == c]
        assert (np.abs(real[:, :1] - x_new[None, :1]).max(axis=(1, 2)) == 0).any()  # a real waveform of class c
        rr_new, rr_real = x_new[1:, 0], real[:, 1:, 0]
        assert (rr_new >= rr_real.min(0) - 1e-6).all() and (rr_new <= rr_real.max(0) + 1e-6).all()  # in between
        copied_rr += (np.abs(rr_real - rr_new).max(axis=1) < 1e-7).any()
    assert copied_rr < len(new_y) / 2  # the timing is new, not a copy


def test_plain_smote_works_on_feature_tables_and_is_refused_on_waveforms():
    X, y = beat_set()
    table = X[:, 1:, 0]  # (n, 5) RR features: a feature-based baseline
    tr, yr = oversample(table, y, "smote", sampling_strategy=0.5)
    assert tr.shape == (60 + 3 * 30, 5) and np.bincount(yr).tolist() == [60, 30, 30, 30]
    with pytest.raises(ValueError, match=r"plain SMOTE on raw waveforms X \(83, 6, 32\).*method='smote_rr'"):
        oversample(X, y, "smote")
    with pytest.raises(ValueError, match=r"'smote_rr' needs beats \(n, C, L\).*got X \(83, 5\).*method='smote'"):
        oversample(table, y, "smote_rr")
    with pytest.raises(ValueError, match=r"rr_channels=6 must lie in 1..5"):
        oversample(X, y, "smote_rr", rr_channels=6)


def test_smote_needs_two_examples_of_a_class_and_says_what_to_do_instead():
    X, y = beat_set(counts=(20, 1, 5))
    with pytest.raises(ValueError, match=r"class 1 has 1 example\(s\): SMOTE needs at least 2.*method='random'"):
        oversample(X, y, "smote_rr")
    _, yr = oversample(X, y, "smote_rr", sampling_strategy={2: 20})
    assert np.bincount(yr).tolist() == [20, 1, 20]
    with pytest.raises(ValueError, match=r"method must be one of \('random', 'smote', 'smote_rr'\), got 'adasyn'"):
        oversample(X, y, "adasyn")


def test_rebalance_turns_each_strategy_into_data_and_a_config():
    X, y = beat_set()
    base = TrainConfig(epochs=3)
    assert STRATEGIES[0] == "none"
    out = {name: rebalance(name, X, y, base, sampling_strategy=0.5) for name in STRATEGIES}
    assert out["none"][0] is X and out["none"][2] is base
    assert out["class_weights"][2].class_weights == "balanced" and out["class_weights"][0] is X
    assert out["focal"][2].loss == "focal" and out["focal"][2].epochs == 3
    for name in ("random", "smote_rr"):
        Xs, ys, cfg = out[name]
        assert np.bincount(ys).tolist() == [60, 30, 30, 30] and cfg is base and Xs.shape[1:] == X.shape[1:]
    with pytest.raises(ValueError, match="strategy must be one of"):
        rebalance("undersample", X, y)
