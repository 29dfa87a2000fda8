"""Specifications of helpers.signal: filters, resampling, R peaks, beats and windows."""
from __future__ import annotations

import time

import numpy as np
import pytest

from helpers.data.container import SignalDataset
from helpers.signal import (
    Windows,
    bandpass,
    beat_windows,
    detect_r_peaks,
    fix_length,
    make_windows,
    notch,
    resample,
    rr_feature_table,
    rr_features,
    standardize,
)

FS = 300.0


def sine(freq_hz: float, seconds: float = 10.0, fs: float = FS) -> np.ndarray:
    t = np.arange(int(seconds * fs)) / fs
    return np.sin(2 * np.pi * freq_hz * t)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x ** 2)))


def synthetic_ecg(seconds: float = 20.0, fs: float = FS, rr_s=None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian 'QRS' spikes at known R-peak times: a test signal whose truth we know exactly."""
    rng = np.random.default_rng(seed)
    n = int(seconds * fs)
    rr = np.full(200, 0.8) if rr_s is None else np.asarray(rr_s)
    peaks = (np.cumsum(rr) * fs).astype(int)
    peaks = peaks[peaks < n - int(0.5 * fs)]
    t = np.arange(n)
    ecg = np.zeros(n)
    width = 0.012 * fs
    for p in peaks:
        lo, hi = max(p - 30, 0), min(p + 30, n)
        ecg[lo:hi] += np.exp(-0.5 * ((t[lo:hi] - p) / width) ** 2)
    ecg += 0.01 * rng.standard_normal(n)
    return ecg, peaks


def make_dataset(lengths_s, fs=FS, channels=None, source="synthetic", seed=0) -> SignalDataset:
    rng = np.random.default_rng(seed)
    shape = (lambda n: (n,)) if channels is None else (lambda n: (channels, n))
    signals = [rng.standard_normal(shape(int(L * fs))).astype(np.float32) for L in lengths_s]
    n = len(signals)
    return SignalDataset(signals=signals, labels=np.arange(n) % 2, fs=fs,
                         subject_ids=[f"s{i // 2}" for i in range(n)], record_ids=[f"r{i}" for i in range(n)],
                         class_names=("normal", "af"), source=source, name="toy")


# --- filters -----------------------------------------------------------------------------------------------

def test_bandpass_keeps_pass_band_and_removes_baseline_wander_and_high_frequencies():
    assert rms(bandpass(sine(10), FS)[300:-300]) == pytest.approx(rms(sine(10)), rel=0.02)
    assert rms(bandpass(sine(0.05), FS)[300:-300]) < 0.05  # baseline wander
    assert rms(bandpass(sine(80), FS)[300:-300]) < 0.02


def test_bandpass_is_zero_phase():
    x = sine(5)
    y = bandpass(x, FS)
    assert np.argmax(np.correlate(y[600:-600], x[600:-600], "full")) == len(x[600:-600]) - 1


def test_bandpass_keeps_float32_and_shape_of_multichannel_input():
    x = np.stack([sine(5), sine(8)]).astype(np.float32)
    y = bandpass(x, FS)
    assert y.shape == x.shape and y.dtype == np.float32


def test_bandpass_high_or_low_pass_only():
    assert rms(bandpass(sine(80), FS, low_hz=None, high_hz=40)[300:-300]) < 0.02
    assert rms(bandpass(sine(0.05), FS, low_hz=0.5, high_hz=None)[300:-300]) < 0.05


@pytest.mark.parametrize("kwargs, message", [
    (dict(high_hz=150.0), "Nyquist"),
    (dict(high_hz=200.0), "Nyquist"),
    (dict(low_hz=0.0), "between 0"),
    (dict(low_hz=30.0, high_hz=20.0), "below high_hz"),
])
def test_bandpass_rejects_cutoffs_outside_zero_to_nyquist(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bandpass(sine(5), FS, **kwargs)


@pytest.mark.parametrize("fs", [0, -300, float("nan"), None])
def test_functions_reject_non_positive_sampling_rate(fs):
    for call in (lambda: bandpass(sine(5), fs), lambda: notch(sine(5), fs), lambda: resample(sine(5), fs, 100),
                 lambda: detect_r_peaks(sine(5), fs)):
        with pytest.raises(ValueError, match="sampling rate"):
            call()


def test_nan_input_error_says_how_many_and_where():
    x = sine(5)
    x[[7, 100, 101]] = np.nan
    with pytest.raises(ValueError, match=r"3 NaN/inf value\(s\).*index 7"):
        bandpass(x, FS)
    x2 = np.stack([sine(5), sine(5)])
    x2[1, 42] = np.inf
    with pytest.raises(ValueError, match=r"1 NaN/inf.*\(1, 42\)"):
        standardize(x2)


def test_apply_sos_equals_scipy_sosfiltfilt_with_mirror_padding():
    from scipy.signal import resample_poly, sosfiltfilt

    from helpers.signal import apply_sos, design_bandpass

    x = np.random.default_rng(0).standard_normal((2, 3000))
    sos = design_bandpass(FS)
    np.testing.assert_allclose(apply_sos(sos, x, padlen=600), sosfiltfilt(sos, x, padtype="even", padlen=600),
                               atol=1e-10)
    np.testing.assert_allclose(resample(x, 300, 125), resample_poly(x, 5, 12, axis=-1), atol=1e-12)


def test_notch_removes_mains_and_keeps_ecg_band():
    assert rms(notch(sine(50), FS)[600:-600]) < 0.02
    assert rms(notch(sine(10), FS)[600:-600]) == pytest.approx(rms(sine(10)), rel=0.02)
    with pytest.raises(ValueError, match="Nyquist"):
        notch(sine(5, fs=100), 100, freq_hz=60)


def test_resample_changes_length_and_keeps_frequency():
    x = sine(5, seconds=10)
    y = resample(x, 300, 125)
    assert y.shape == (1250,)
    t = np.arange(1250) / 125
    assert np.max(np.abs(y[50:-50] - np.sin(2 * np.pi * 5 * t[50:-50]))) < 0.02
    assert resample(np.ones((2, 3000), np.float32), 300, 250).shape == (2, 2500)


def test_standardize_gives_zero_mean_unit_std_per_row_and_survives_flat_lines():
    x = np.stack([3 + 2 * sine(5), np.zeros(3000)])
    z = standardize(x)
    assert np.allclose(z[0].mean(), 0, atol=1e-6) and np.isclose(z[0].std(), 1, atol=1e-4)
    assert np.all(z[1] == 0)


def test_fix_length_crops_and_pads():
    x = np.arange(10.0)
    assert fix_length(x, 4).tolist() == [3, 4, 5, 6]
    assert fix_length(x, 4, mode="start").tolist() == [0, 1, 2, 3]
    assert fix_length(x, 14).tolist() == [0, 0] + list(range(10)) + [0, 0]
    r = fix_length(x, 4, mode="random", rng=1)
    assert len(r) == 4 and np.all(np.diff(r) == 1)
    assert fix_length(np.ones((2, 10)), 12).shape == (2, 12)
    with pytest.raises(ValueError, match="mode"):
        fix_length(x, 4, mode="middle")


# --- R peaks, RR features, beats ---------------------------------------------------------------------------

def test_detect_r_peaks_finds_known_beats_within_20_ms():
    ecg, truth = synthetic_ecg()
    found = detect_r_peaks(ecg, FS)
    assert found.dtype == np.int64
    assert len(found) == len(truth)
    assert np.max(np.abs(found - truth)) <= 0.02 * FS


def test_detect_r_peaks_rejects_multilead_and_too_short_input():
    with pytest.raises(ValueError, match=r"single lead.*\(2, 3000\)"):
        detect_r_peaks(np.zeros((2, 3000)), FS)
    with pytest.raises(ValueError, match="at least 1 s"):
        detect_r_peaks(np.zeros(100), FS)
    assert len(detect_r_peaks(np.zeros(3000), FS)) == 0


def test_rr_features_separate_regular_from_irregular_rhythm():
    regular = rr_features(r_peaks=np.arange(10) * 240, fs=FS)
    assert regular["mean_rr_s"] == pytest.approx(0.8)
    assert regular["heart_rate_bpm"] == pytest.approx(75)
    assert regular["rmssd_ms"] == 0 and regular["pnn50"] == 0
    rr = np.random.default_rng(0).uniform(0.4, 1.2, 40)
    irregular = rr_features(r_peaks=np.cumsum(rr * FS).astype(int), fs=FS)
    assert irregular["rmssd_ms"] > 100 and irregular["pnn50"] > 0.5 and irregular["cv_rr"] > 0.1
    assert np.isnan(rr_features(r_peaks=[10, 300], fs=FS)["sdnn_ms"])


def test_rr_features_from_raw_ecg_and_table_per_record():
    ecg, _ = synthetic_ecg()
    feats = rr_features(ecg, FS)
    assert feats["heart_rate_bpm"] == pytest.approx(75, rel=0.03)
    ds = SignalDataset([ecg.astype(np.float32), np.zeros(100, np.float32)], [0, 1], FS, ["a", "b"], ["r1", "r2"],
                       ("normal", "af"), "synthetic", "toy")
    with pytest.warns(UserWarning, match="failed on 1 record"):
        table = rr_feature_table(ds)
    assert table.shape[0] == 2 and table.loc["r1", "heart_rate_bpm"] == pytest.approx(75, rel=0.03)
    assert table["label"].tolist() == [0, 1]


def test_beat_windows_centre_each_window_on_its_r_peak_of_a_real_looking_ecg():
    ecg, peaks = synthetic_ecg()
    beats, kept = beat_windows(ecg, np.r_[5, peaks], FS, before_s=0.2, after_s=0.4)
    assert beats.shape == (len(peaks), 1, 180)
    assert kept.tolist() == list(range(1, len(peaks) + 1))  # the beat at sample 5 has no 0.2 s before it
    assert np.all(np.abs(beats[:, 0].argmax(axis=1) - 60) <= 1)
    assert beat_windows(np.stack([ecg, ecg]), peaks, FS)[0].shape == (len(peaks), 2, 210)  # 0.25 s + 0.45 s at 300 Hz


# --- windows -----------------------------------------------------------------------------------------------

def test_make_windows_shapes_labels_and_groups():
    ds = make_dataset([30, 25, 12])
    w = make_windows(ds, window_s=10)
    assert isinstance(w, Windows)
    assert w.X.dtype == np.float32 and w.X.shape == (3 + 2 + 1, 1, 3000)
    assert w.record_index.tolist() == [0, 0, 0, 1, 1, 2]
    assert w.y.tolist() == [0, 0, 0, 1, 1, 0]
    assert w.groups.tolist() == ["s0", "s0", "s0", "s0", "s0", "s1"]
    assert w.start_s.tolist() == [0, 10, 20, 0, 10, 0]
    assert w.fs == FS and w.source == "synthetic"


def test_make_windows_matches_the_record_samples_without_processing():
    ds = make_dataset([25, 15])
    w = make_windows(ds, window_s=10, step_s=5, filter=False, normalize=None)
    assert w.start_s.tolist() == [0, 5, 10, 15, 0, 5]
    np.testing.assert_array_equal(w.X[1, 0], ds.signals[0][1500:4500])
    np.testing.assert_array_equal(w.X[5, 0], ds.signals[1][1500:4500])


def test_make_windows_resamples_filters_and_standardises_each_window():
    ds = make_dataset([30, 30], channels=2)
    w = make_windows(ds, window_s=10, fs_out=125)
    assert w.X.shape == (6, 2, 1250) and w.fs == 125
    assert np.allclose(w.X.mean(axis=-1), 0, atol=1e-4) and np.allclose(w.X.std(axis=-1), 1, atol=1e-3)


def test_make_windows_limits_windows_per_record_evenly():
    w = make_windows(make_dataset([60]), window_s=5, max_windows_per_record=3, filter=False)
    assert w.start_s.tolist() == [0, 30, 55]


def test_make_windows_pads_or_skips_records_shorter_than_a_window():
    ds = make_dataset([4, 20])
    with pytest.warns(UserWarning, match="1 record"):
        padded = make_windows(ds, window_s=10)
    assert padded.n_padded == 1 and padded.record_index.tolist() == [0, 1, 1]
    # 1200 samples centred in 3000: 900 zeros either side, the record itself z-scored
    assert np.all(padded.X[0, 0, :900] == 0) and np.all(padded.X[0, 0, 2100:] == 0)
    assert np.isclose(padded.X[0, 0, 900:2100].std(), 1, atol=1e-3)
    with pytest.warns(UserWarning, match="skipped"):
        skipped = make_windows(ds, window_s=10, short="skip")
    assert skipped.n_skipped == 1 and skipped.record_index.tolist() == [1, 1]


def test_make_windows_names_the_record_with_nan():
    ds = make_dataset([20, 20, 20])
    ds.signals[1][[5, 9]] = np.nan
    with pytest.raises(ValueError, match=r"1 record\(s\) contain NaN/inf.*r1 \(2 at sample 5"):
        make_windows(ds, window_s=10)


def test_make_windows_rejects_mixed_channels_bad_rates_and_non_datasets():
    ds = make_dataset([20, 20])
    ds.signals[1] = np.zeros((2, 6000), np.float32)
    with pytest.raises(ValueError, match=r"record r1: has 2 channel\(s\) \(shape \(2, 6000\)\)"):
        make_windows(ds, window_s=10)
    with pytest.raises(ValueError, match="fs_out"):
        make_windows(make_dataset([20]), window_s=10, fs_out=0)
    with pytest.raises(ValueError, match="Nyquist"):
        make_windows(make_dataset([20]), window_s=10, fs_out=50)  # 40 Hz edge above 25 Hz Nyquist
    with pytest.raises(TypeError, match="SignalDataset"):
        make_windows(np.zeros((3, 3000)), window_s=10)


def test_make_windows_is_fast_on_a_thousand_records():
    rng = np.random.default_rng(0)
    ds = make_dataset(rng.uniform(10, 60, 1000))
    start = time.perf_counter()
    w = make_windows(ds, window_s=10, fs_out=125)
    assert time.perf_counter() - start < 5.0  # ~0.9 s here; generous for a loaded 2-core CI machine
    assert len(np.unique(w.record_index)) == 1000
