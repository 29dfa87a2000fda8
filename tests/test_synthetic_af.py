"""The synthetic AF ECG simulator: shapes, units, class balance, physiology and determinism."""
from __future__ import annotations

import numpy as np
import pytest

from helpers.data.synthetic import SimulatedRecords, simulate_af_records
from helpers.data.synthetic.artefacts import baseline_wander, emg_noise, motion_artefacts, powerline

N = 60


@pytest.fixture(scope="module")
def sim() -> SimulatedRecords:
    return simulate_af_records(N, seed=7, af_fraction=0.3)


def _true_rr_irregularity(x: np.ndarray, fs: float) -> float:
    """Median |successive RR difference| / median RR from a simple peak picker on the clean-ish R waves."""
    from scipy.signal import butter, filtfilt, find_peaks

    b, a = butter(2, [5 / (fs / 2), 30 / (fs / 2)], btype="band")
    y = np.abs(filtfilt(b, a, x.astype(np.float64)))
    peaks, _ = find_peaks(y, distance=int(0.25 * fs), height=np.percentile(y, 98) * 0.4)
    rr = np.diff(peaks) / fs
    return float(np.median(np.abs(np.diff(rr))) / np.median(rr)) if rr.size > 3 else np.nan


def test_records_are_float32_mv_arrays_with_matching_metadata(sim):
    assert len(sim) == N and len(sim.signals) == N
    assert all(s.dtype == np.float32 and s.ndim == 1 for s in sim.signals)
    assert sim.labels.dtype == np.int64 and sim.labels.shape == (N,)
    assert sim.patient_ids.shape == (N,) and sim.patient_ids.dtype.kind == "U"
    assert sim.fs == 300.0
    assert all(np.isfinite(s).all() for s in sim.signals)
    # mV scale: R waves of ~0.5-3 mV, not volts or microvolts.
    peak = np.median([np.percentile(np.abs(s), 99.5) for s in sim.signals])
    assert 0.3 < peak < 5


def test_durations_lie_in_the_requested_range():
    sim = simulate_af_records(20, seed=1, duration_range_s=(10, 12), fs=250.0)
    durations = np.array([s.size for s in sim.signals]) / 250.0
    assert durations.min() >= 10 - 1 / 250 and durations.max() <= 12 + 1 / 250


def test_af_fraction_is_exact_and_defaults_to_the_imbalance_of_real_data():
    assert simulate_af_records(40, seed=0, af_fraction=0.25).labels.sum() == 10
    default = simulate_af_records(40, seed=0, duration_range_s=(10, 10))
    assert default.labels.sum() == 6  # 15%


def test_same_seed_same_records_and_different_seed_different_records():
    a = simulate_af_records(5, seed=3, duration_range_s=(10, 20))
    b = simulate_af_records(5, seed=3, duration_range_s=(10, 20))
    c = simulate_af_records(5, seed=4, duration_range_s=(10, 20))
    assert all(np.array_equal(x, y) for x, y in zip(a.signals, b.signals))
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.patient_ids, b.patient_ids)
    assert not np.array_equal(a.signals[0][:100], c.signals[0][:100])


def test_patients_have_several_records(sim):
    _, counts = np.unique(sim.patient_ids, return_counts=True)
    assert counts.max() >= 2
    assert counts.mean() > 1.5


def test_af_records_are_more_irregular_than_sinus_records_on_average(sim):
    irr = np.array([_true_rr_irregularity(s, sim.fs) for s in sim.signals])
    af, sinus = irr[sim.labels == 1], irr[sim.labels == 0]
    # Not by a huge margin, on purpose: ectopy and sinus arrhythmia make some sinus records irregular too.
    assert np.nanmean(af) > 1.3 * np.nanmean(sinus)
    assert np.nanmedian(af) > np.nanmedian(sinus)


def test_confounders_are_present_so_rr_alone_is_not_enough():
    sim = simulate_af_records(300, seed=0, duration_range_s=(10, 10))
    kinds = set(sim.rhythms.tolist())
    assert {"sinus_ectopy", "sinus_arrhythmia", "af_regular"} <= kinds


def test_af_records_carry_fibrillatory_waves_in_the_4_to_9_hz_band():
    from scipy.signal import welch

    sim = simulate_af_records(40, seed=2, af_fraction=0.5, duration_range_s=(20, 20))
    band = []
    for s in sim.signals:
        f, p = welch(s, sim.fs, nperseg=1024)
        band.append(p[(f >= 4) & (f <= 9)].sum() / p[(f >= 1) & (f <= 40)].sum())
    band = np.array(band)
    assert np.median(band[sim.labels == 1]) > np.median(band[sim.labels == 0])


@pytest.mark.parametrize("bad", [{"n_records": -1}, {"n_records": 3, "fs": 50.0}, {"n_records": 3, "af_fraction": 1.5},
                                 {"n_records": 3, "duration_range_s": (20, 10)}])
def test_bad_arguments_raise_value_error(bad):
    with pytest.raises(ValueError):
        simulate_af_records(**bad)


def test_artefact_generators_return_the_requested_length_and_scale():
    rng = np.random.default_rng(0)
    n, fs = 3000, 300.0
    for x in (baseline_wander(n, fs, rng), emg_noise(n, fs, rng, 0.05, burst_fraction=0.2), powerline(n, fs, rng),
              motion_artefacts(n, fs, rng, rate_per_min=10)):
        assert x.shape == (n,) and np.isfinite(x).all()
    assert abs(emg_noise(n, fs, rng, 0.05).std() - 0.05) < 1e-6


def test_generation_is_fast_enough_for_the_embedded_default():
    import time

    t0 = time.perf_counter()
    simulate_af_records(100, seed=0)
    # 100 records of 10-60 s; the 3000-record default then takes seconds, not minutes.
    assert time.perf_counter() - t0 < 5


def test_rr_irregularity_alone_helps_but_does_not_solve_the_task():
    """The confounders (sinus arrhythmia, ectopy, rate-controlled AF, noise) keep an RR-only model imperfect,
    which is what leaves room for a CNN that also sees P waves and f-waves (benchmarks/af_baselines.py)."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from helpers.signal import RR_FEATURES, rr_features

    sim = simulate_af_records(200, fs=300.0, seed=0, af_fraction=0.3, duration_range_s=(10, 15))
    features = np.array([[rr_features(s, sim.fs)[k] for k in RR_FEATURES] for s in sim.signals])
    model = make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=1000))
    score = cross_val_predict(model, features, sim.labels, groups=sim.patient_ids, cv=GroupKFold(5),
                              method="predict_proba")[:, 1]
    auc = roc_auc_score(sim.labels, score)
    assert 0.7 < auc < 0.96, f"RR-only ROC AUC {auc:.3f}: the task became {'trivial' if auc >= 0.96 else 'noise'}"
