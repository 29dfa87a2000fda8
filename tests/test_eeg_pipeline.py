"""Unit 3's EEG pipeline (helpers.eeg): windows and baseline, per-subject normalisation, band power, LOSO, fusion."""

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

from helpers.data.container import SignalDataset
from helpers.eeg import (
    BANDS,
    LateFusion,
    band_power_features,
    eeg_windows,
    feature_names,
    loso_evaluate,
    make_baseline,
    modality_channels,
    peripheral_features,
    plot_per_subject,
    relative_band_power,
    subject_dependent_evaluate,
    summarise_folds,
)
from helpers.signal.normalise import normalise_per_subject
from helpers.evaluate.splits import LeaveOneSubjectOut, check_no_leakage

matplotlib.use("Agg")
FS = 8.0  # a tiny sampling rate keeps hand-made arrays readable: 1 s = 8 samples


def make_ds(signals, ratings, subjects, channel_names=None, fs=FS):
    n = len(signals)
    return SignalDataset(
        signals=[np.asarray(s, np.float32) for s in signals], labels=np.zeros(n, np.int64), fs=fs,
        subject_ids=np.array(subjects), record_ids=np.array([f"{s}_t{i + 1:02d}" for i, s in enumerate(subjects)]),
        class_names=("low valence", "high valence"), source="synthetic", name="deap",
        channel_names=tuple(channel_names or [f"c{i}" for i in range(np.shape(signals[0])[0])]),
        targets=np.asarray(ratings, np.float64), target_names=("valence", "arousal", "dominance", "liking"))


def ramp_trial(n_channels=2, seconds=6, baseline_s=2, offset=100.0):
    """Channel c = sample index + 10 c, plus `offset` during the baseline only (so the correction is visible)."""
    t = np.arange(int(seconds * FS), dtype=np.float32)
    x = np.stack([t + 10 * c for c in range(n_channels)])
    x[:, :int(baseline_s * FS)] += offset
    return x


# ---------------------------------------------------------------- windows and baseline

def test_windows_have_the_expected_count_overlap_and_shape_after_the_baseline():
    ds = make_ds([ramp_trial(), ramp_trial()], [[7, 3, 5, 5], [2, 8, 5, 5]], ["s01", "s01"])
    W = eeg_windows(ds, window_s=1.0, step_s=0.5, baseline_s=2.0, baseline=None)
    # 6 s - 2 s baseline = 4 s = 32 samples; windows of 8, hop 4: (32 - 8) // 4 + 1 = 7 per trial
    assert W.X.shape == (14, 2, 8) and W.X.dtype == np.float32
    np.testing.assert_array_equal(W.X[0, 0], np.arange(16, 24))  # first window starts right after the baseline
    np.testing.assert_array_equal(W.X[1, 0, :4], W.X[0, 0, 4:])  # 50% overlap
    np.testing.assert_allclose(W.start_s[:7], np.arange(7) * 0.5)
    assert W.y.tolist() == [1] * 7 + [0] * 7  # valence 7 > 5, 2 <= 5
    assert W.trial_ids.tolist() == ["s01_t01"] * 7 + ["s01_t02"] * 7
    X, y, groups, trial_ids = W  # unpacks like the tuple of the issue
    assert X is W.X and y is W.y and trial_ids is W.trial_ids and groups.tolist() == ["s01"] * 14
    assert W.baseline.shape == (2, 2, 16)


def test_arousal_labels_use_the_arousal_rating_and_the_threshold_is_strict():
    ds = make_ds([ramp_trial()] * 3, [[7, 5, 5, 5], [2, 5.01, 5, 5], [5, 9, 5, 5]], ["s01"] * 3)
    W = eeg_windows(ds, baseline_s=2.0, target="arousal")
    assert [W.y[W.record_index == i][0] for i in range(3)] == [0, 1, 1]  # 5 itself is low


def test_mean_baseline_correction_subtracts_each_channels_pretrial_mean():
    ds = make_ds([ramp_trial(offset=100.0)], [[7, 3, 5, 5]], ["s01"])
    W = eeg_windows(ds, baseline_s=2.0, baseline="mean")
    # baseline of channel 0: samples 0..15 + 100 -> mean 107.5; the first window holds 16..23
    np.testing.assert_allclose(W.X[0, 0], np.arange(16, 24) - 107.5)
    np.testing.assert_allclose(W.X[0, 1], np.arange(26, 34) - 117.5)
    np.testing.assert_allclose(W.baseline[0, 0], np.arange(16) + 100.0)  # the raw pre-trial seconds are kept


def test_scale_baseline_correction_expresses_the_trial_in_units_of_its_baseline_amplitude():
    x = np.zeros((1, 48), np.float32)
    x[0, :16] = np.tile([1.0, 3.0], 8)  # baseline: mean 2, standard deviation 1
    x[0, 16:] = np.tile([2.0, 6.0], 16)  # trial: mean 4, twice the baseline's swing
    W = eeg_windows(make_ds([x], [[7, 3, 5, 5]], ["s01"], channel_names=["Fz"]), baseline_s=2.0, baseline="scale")
    np.testing.assert_allclose(W.X[0, 0], np.tile([0.0, 4.0], 4), atol=1e-5)


def test_segment_baseline_correction_subtracts_the_average_baseline_window():
    ds = make_ds([ramp_trial(offset=0.0)], [[7, 3, 5, 5]], ["s01"])
    W = eeg_windows(ds, window_s=1.0, step_s=1.0, baseline_s=2.0, baseline="segment")
    # baseline pieces 0..7 and 8..15 average to 4..11; window 16..23 minus that is 12 everywhere
    np.testing.assert_allclose(W.X[0, 0], np.full(8, 12.0))
    with pytest.raises(ValueError, match=r"baseline='segment' needs a baseline of whole windows: baseline_s=1.5"):
        eeg_windows(ds, window_s=1.0, baseline_s=1.5, baseline="segment")


def test_channel_choice_max_seconds_and_bad_arguments():
    ds = make_ds([ramp_trial(n_channels=3)], [[7, 3, 5, 5]], ["s01"])
    W = eeg_windows(ds, baseline_s=2.0, channels=["c2", "c0"], max_s=2.0, baseline=None)
    assert W.channel_names == ("c2", "c0") and len(W) == 3  # 2 s: (16 - 8) // 4 + 1
    np.testing.assert_array_equal(W.X[0, 0], np.arange(16, 24) + 20)
    with pytest.raises(ValueError, match=r"channel\(s\) \['Fz'\] not in the dataset"):
        eeg_windows(ds, channels=["Fz"])
    with pytest.raises(ValueError, match="unknown target 'joy'"):
        eeg_windows(ds, target="joy")
    with pytest.raises(ValueError, match="window_s and step_s must be positive seconds, got window_s=0"):
        eeg_windows(ds, window_s=0)
    with pytest.raises(ValueError, match=r"record s01_t01: 48 samples \(6 s\) hold no 5 s window"):
        eeg_windows(ds, window_s=5.0, baseline_s=2.0)


# ---------------------------------------------------------------- per-subject normalisation

def test_per_subject_normalisation_gives_each_subject_zero_mean_unit_variance():
    rng = np.random.default_rng(0)
    F = np.concatenate([rng.normal(5, 3, (40, 4)), rng.normal(-2, 0.5, (60, 4))])
    groups = np.array(["a"] * 40 + ["b"] * 60)
    Z = normalise_per_subject(F, groups)
    for s in "ab":
        np.testing.assert_allclose(Z[groups == s].mean(axis=0), 0, atol=1e-5)
        np.testing.assert_allclose(Z[groups == s].std(axis=0), 1, atol=1e-4)


def test_signal_windows_are_normalised_per_channel_over_all_of_a_subjects_samples():
    rng = np.random.default_rng(1)
    X = rng.normal(0, 1, (10, 2, 16)) * np.array([1.0, 20.0])[None, :, None] + 3
    Z = normalise_per_subject(X, ["a"] * 10)
    np.testing.assert_allclose(Z.mean(axis=(0, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(Z.std(axis=(0, 2)), 1, atol=1e-4)
    # one statistic per channel, not per window: a louder window stays louder
    assert Z[0].std() != pytest.approx(Z[1].std(), rel=1e-3)


def test_test_time_normalisation_uses_only_the_held_out_subjects_own_data():
    rng = np.random.default_rng(2)
    F = rng.normal(0, 1, (90, 3)) * 2 + 1
    groups = np.repeat(["s01", "s02", "s03"], 30)
    held_out = groups == "s03"
    Z = normalise_per_subject(F, groups)
    # the same rows normalised alone, and after the other subjects' data change completely
    alone = normalise_per_subject(F[held_out], groups[held_out])
    F2 = F.copy()
    F2[~held_out] = rng.normal(100, 50, F2[~held_out].shape)
    np.testing.assert_allclose(Z[held_out], alone, atol=1e-6)
    np.testing.assert_allclose(normalise_per_subject(F2, groups)[held_out], Z[held_out], atol=1e-6)


def test_reference_rows_supply_the_statistics_as_a_calibration_period_would():
    F = np.array([[1.0], [3.0], [100.0], [200.0]])
    Z = normalise_per_subject(F, ["a"] * 4, reference=[True, True, False, False])
    np.testing.assert_allclose(Z[:, 0], (F[:, 0] - 2.0) / 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="subject 'b' has no reference rows"):
        normalise_per_subject(F, ["a", "a", "b", "b"], reference=[True, True, False, False])
    with pytest.raises(ValueError, match="groups has 3 entries but X has 4 rows"):
        normalise_per_subject(F, ["a"] * 3)


# ---------------------------------------------------------------- band power

@pytest.mark.parametrize("freq, band", [(6.0, "theta"), (10.0, "alpha"), (20.0, "beta"), (40.0, "gamma")])
def test_band_power_of_a_pure_sine_lands_in_its_band(freq, band):
    fs = 128.0
    t = np.arange(128) / fs
    x = np.stack([np.sin(2 * np.pi * freq * t), 0.5 * np.sin(2 * np.pi * freq * t)])[None]  # (1, 2, 128)
    P = band_power_features(x, fs, log=False)  # (1, 2 * 4)
    assert P.shape == (1, 8)
    per_band = P.reshape(2, 4)
    names = list(BANDS)
    assert per_band[0].argmax() == names.index(band)
    assert per_band[0, names.index(band)] > 0.9 * per_band[0].sum()
    # power ~ amplitude^2 / 2 (Hann-windowed periodogram, integrated over the band)
    assert per_band[0, names.index(band)] == pytest.approx(0.5, rel=0.1)
    assert per_band[1, names.index(band)] == pytest.approx(0.25 * per_band[0, names.index(band)], rel=1e-6)


def test_band_power_names_one_window_and_bad_bands():
    x = np.random.default_rng(0).normal(size=(3, 128))
    assert band_power_features(x, 128.0).shape == (12,)
    assert feature_names(["F3", "F4"])[:5] == ["F3_theta", "F3_alpha", "F3_beta", "F3_gamma", "F4_theta"]
    with pytest.raises(ValueError, match=r"band 'high' = \(30, 50\) Hz must satisfy .* fs/2 = 32"):
        band_power_features(x, 64.0, {"high": (30, 50)})


def test_relative_band_power_is_zero_when_the_trial_looks_like_its_baseline():
    rng = np.random.default_rng(3)
    fs = 32.0
    base = rng.normal(size=(2, 96))
    trial = np.concatenate([base, base, 3 * base], axis=1)  # baseline 3 s, then the same, then 3x amplitude
    ds = make_ds([trial], [[7, 3, 5, 5]], ["s01"], fs=fs)
    W = eeg_windows(ds, window_s=3.0, step_s=3.0, baseline_s=3.0, baseline=None)
    R = relative_band_power(W, bands={"all": (1.0, 16.0)})
    np.testing.assert_allclose(R[0], 0, atol=1e-9)
    np.testing.assert_allclose(R[1], np.log10(9), atol=1e-9)  # 3x amplitude = 9x power


# ---------------------------------------------------------------- evaluation protocols

def toy_features(n_subjects=4, n_trials=6, n_windows=5, seed=0):
    """Feature 0 carries the label; each subject adds its own offset (what per-subject normalisation removes)."""
    rng = np.random.default_rng(seed)
    rows, y, groups, trials = [], [], [], []
    for s in range(n_subjects):
        offset = rng.normal(0, 3)
        for t in range(n_trials):
            label = t % 2
            f = rng.normal(0, 1, (n_windows, 3))
            f[:, 0] += 2.0 * label + offset
            rows.append(f)
            y += [label] * n_windows
            groups += [f"s{s + 1:02d}"] * n_windows
            trials += [f"s{s + 1:02d}_t{t + 1:02d}"] * n_windows
    return np.concatenate(rows), np.array(y), np.array(groups), np.array(trials)


def test_loso_has_one_fold_per_subject_and_no_subject_on_both_sides():
    F, y, groups, trials = toy_features()
    folds = list(LeaveOneSubjectOut().split(groups=groups))
    assert len(folds) == 4
    assert all(check_no_leakage(groups, tr, te) for tr, te in folds)
    assert sorted(groups[te[0]] for _, te in folds) == ["s01", "s02", "s03", "s04"]
    per_subject = loso_evaluate(make_baseline(), normalise_per_subject(F, groups), y, groups, trial_ids=trials)
    assert per_subject["subject"].tolist() == ["s01", "s02", "s03", "s04"]
    assert per_subject["n_test"].tolist() == [30] * 4 and per_subject["n_trials"].tolist() == [6] * 4
    assert per_subject["accuracy"].mean() > 0.8  # the label is in feature 0 once the offsets are removed
    summary = summarise_folds(per_subject)
    assert summary["n_subjects"] == 4 and summary["std_accuracy"] >= 0
    assert summary["mean_accuracy"] == pytest.approx(per_subject["accuracy"].mean())


def test_per_subject_normalisation_helps_when_subjects_are_shifted():
    F, y, groups, _ = toy_features(n_subjects=6, seed=4)
    raw = loso_evaluate(make_baseline(), F, y, groups)["accuracy"].mean()
    normalised = loso_evaluate(make_baseline(), normalise_per_subject(F, groups), y, groups)["accuracy"].mean()
    assert normalised > raw


def test_subject_dependent_protocols_keep_to_one_subject_and_trial_folds_keep_trials_together():
    F, y, groups, trials = toy_features()
    by_window = subject_dependent_evaluate(make_baseline(), F, y, groups, trial_ids=trials, n_splits=3)
    by_trial = subject_dependent_evaluate(make_baseline(), F, y, groups, trial_ids=trials, split="trial", n_splits=3)
    assert by_window["subject"].tolist() == by_trial["subject"].tolist() == ["s01", "s02", "s03", "s04"]
    assert by_trial["n_test"].tolist() == [30] * 4  # every window predicted once, by a model of its own subject
    with pytest.raises(ValueError, match="split='trial' needs trial_ids"):
        subject_dependent_evaluate(make_baseline(), F, y, groups, split="trial")


def test_a_tiny_loso_run_end_to_end_with_the_cnn_lstm():
    from helpers.models import EEGCNNLSTM
    from helpers.train import TrainConfig

    rng = np.random.default_rng(5)
    fs, subjects, signals, ratings = 32.0, [], [], []
    for s in range(3):
        for t in range(4):
            high = t % 2
            x = rng.normal(0, 1, (4, int(7 * fs)))  # 3 s baseline + 4 s
            x[1, int(3 * fs):] *= 3.0 if high else 1.0  # high valence: more power on channel 1
            signals.append(x)
            ratings.append([7 if high else 3, 5, 5, 5])
            subjects.append(f"s{s + 1:02d}")
    ds = make_ds(signals, ratings, subjects, fs=fs)
    W = eeg_windows(ds, window_s=2.0, step_s=2.0)  # 2 s segments; the model cuts 1 s windows with 50% overlap
    X = normalise_per_subject(W.X, W.groups)
    torch.manual_seed(0)
    factory = lambda: EEGCNNLSTM(4, 2, 64, window=32, step=16, spatial_filters=4, temporal_filters=4,
                                 kernel_size=5, d_model=8, hidden=8, dropout=0.0, verbose=False)
    cfg = TrainConfig(epochs=15, batch_size=8, lr=1e-2, progress=False, device="cpu")
    per_subject = loso_evaluate(factory, X, W.y, W.groups, trial_ids=W.trial_ids, train_config=cfg)
    assert per_subject["subject"].tolist() == ["s01", "s02", "s03"]
    assert per_subject["accuracy"].mean() > 0.75


# ---------------------------------------------------------------- fusion and plots

def test_modality_channels_and_peripheral_feature_shapes():
    names = ["Fp1", "F3", "hEOG", "vEOG", "GSR", "Respiration belt"]
    mods = modality_channels(names)
    assert mods == {"eeg": [0, 1], "eog": [2, 3], "gsr": [4], "respiration": [5]}
    X = np.random.default_rng(0).normal(0, 0.1, size=(7, 4, 32))
    X[:, 0] += np.linspace(0, 2, 32)  # 1 s at 32 Hz, rising by 2 units: slope ~2 per second
    P = peripheral_features(X, 32.0)
    assert P.shape == (7, 12)
    assert np.all(P[:, 2] > 1.0)  # channel 0's slope column


def test_early_and_late_fusion_give_one_probability_per_row():
    F, y, groups, _ = toy_features()
    blocks = {"eeg": [0, 1], "peripheral": [2]}
    late = LateFusion(make_baseline(), blocks).fit(F, y)
    proba = late.predict_proba(F)
    assert proba.shape == (len(F), 2) and np.allclose(proba.sum(axis=1), 1)
    assert set(late.estimators_) == {"eeg", "peripheral"}
    weighted = LateFusion(make_baseline(), blocks, weights={"eeg": 1.0, "peripheral": 0.0}).fit(F, y)
    np.testing.assert_allclose(weighted.predict_proba(F), late.estimators_["eeg"].predict_proba(F[:, [0, 1]]))
    per_subject = loso_evaluate(LateFusion(make_baseline(), blocks), normalise_per_subject(F, groups), y, groups)
    assert len(per_subject) == 4
    with pytest.raises(ValueError, match=r"block 'bad': columns must be non-empty and in 0..2"):
        LateFusion(make_baseline(), {"bad": [5]}).fit(F, y)


def test_per_subject_bar_plot_draws_one_bar_per_subject_and_protocol():
    a = pd.DataFrame({"subject": ["s01", "s02"], "accuracy": [0.6, 0.5], "majority": [0.55, 0.5]})
    b = pd.DataFrame({"subject": ["s01", "s02"], "accuracy": [0.9, 0.8], "majority": [0.55, 0.5]})
    ax = plot_per_subject({"LOSO": a, "subject-dependent": b}, source="synthetic")
    assert len(ax.patches) == 4 and "(synthetic data)" in ax.get_title()
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['accuracy'\]"):
        plot_per_subject(a.drop(columns="accuracy"))
