"""Beat preprocessing (helpers.signal.beats): windows, per-beat RR features, detector scoring, whole datasets."""
from __future__ import annotations

import numpy as np
import pytest

from helpers.data.container import Annotations, SignalDataset
from helpers.signal import bandpass
from helpers.signal.beats import (
    BEAT_RR_FEATURES,
    aggregate_detection,
    beat_rr_features,
    beat_windows,
    beats_from_dataset,
    evaluate_detector,
)

FS = 360.0


# ------------------------------------------------------------------------------------------------ beat_windows

def test_beat_windows_cut_the_samples_around_each_peak_and_drop_edge_beats():
    x = np.stack([np.arange(100.0), 1000 + np.arange(100.0)])         # (2, 100): value = sample index (+1000)
    beats, kept = beat_windows(x, [2, 10, 50, 95, 97], fs=10.0, before_s=0.3, after_s=0.5)
    assert beats.shape == (3, 2, 8) and beats.dtype == np.float32
    assert kept.tolist() == [1, 2, 3]                                   # 2 lacks 3 samples before; 97 lacks 5 after
    np.testing.assert_array_equal(beats[0, 0], np.arange(7, 15))        # 3 before the peak at 10, 5 from it on
    np.testing.assert_array_equal(beats[1, 1], 1000 + np.arange(47, 55))
    np.testing.assert_array_equal(beats[2, 0], np.arange(92, 100))      # ends exactly at the record's end


def test_beat_windows_treat_one_lead_as_one_channel_and_accept_no_beats():
    beats, kept = beat_windows(np.zeros(50), [25], fs=10.0, before_s=0.2, after_s=0.2)
    assert beats.shape == (1, 1, 4) and kept.tolist() == [0]
    beats, kept = beat_windows(np.zeros((2, 50)), np.zeros(0, dtype=int), fs=100.0)
    assert beats.shape == (0, 2, 70) and kept.size == 0


@pytest.mark.parametrize("peaks", [[1.5, 3.0], np.zeros((2, 2), dtype=int)])
def test_beat_windows_reject_peaks_that_are_not_sample_indices(peaks):
    with pytest.raises(ValueError, match="r_peaks"):
        beat_windows(np.zeros(100), peaks, fs=10.0)


# ------------------------------------------------------------------------------------------------ beat_rr_features

def test_rr_features_of_a_premature_beat_and_its_pause():
    # RR 1.0, 1.0, 0.6 (premature), 1.4 (compensatory pause) s at fs = 100 Hz.
    peaks = np.array([0, 100, 200, 260, 400])
    f = beat_rr_features(peaks, fs=100.0, local_window=2)
    assert f.shape == (5, len(BEAT_RR_FEATURES)) and f.dtype == np.float32
    expected = np.array([
        # prev, next, local (mean of up to 2 previous prev-RRs; beat 0: its own copied one), prev/local, next/prev
        [1.0, 1.0, 1.0, 1.0, 1.0],
        [1.0, 1.0, 1.0, 1.0, 1.0],
        [1.0, 0.6, 1.0, 1.0, 0.6],
        [0.6, 1.4, 1.0, 0.6, 1.4 / 0.6],
        [1.4, 1.4, 0.8, 1.4 / 0.8, 1.0],   # last beat: next RR := previous RR
    ])
    np.testing.assert_allclose(f, expected, rtol=1e-6)


def test_rr_features_first_beat_copies_its_next_interval_and_short_inputs_give_nan():
    f = beat_rr_features([10, 370], fs=FS)
    np.testing.assert_allclose(f, [[1.0, 1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0, 1.0]])
    assert np.isnan(beat_rr_features([10], fs=FS)).all() and beat_rr_features([10], fs=FS).shape == (1, 5)
    assert beat_rr_features([], fs=FS).shape == (0, 5)


def test_rr_features_reject_unsorted_peaks_and_bad_window():
    with pytest.raises(ValueError, match="strictly increasing"):
        beat_rr_features([0, 300, 200], fs=FS)
    with pytest.raises(ValueError, match="local_window"):
        beat_rr_features([0, 300, 600], fs=FS, local_window=0)


# ------------------------------------------------------------------------------------------------ evaluate_detector

def test_detector_scoring_counts_matches_within_the_tolerance_inclusive():
    ref = np.array([1000, 2000, 3000, 4000])
    # 0.15 s at 360 Hz = 54 samples: +54 and -54 match, +55 does not; the last reference beat is missed.
    det = np.array([1054, 1946, 3055, 5000])
    r = evaluate_detector(det, ref, FS)
    assert (r["tp"], r["fp"], r["fn"]) == (2, 2, 2)
    assert r["se"] == pytest.approx(0.5) and r["ppv"] == pytest.approx(0.5)


def test_a_doubled_detection_is_one_true_and_one_false_positive():
    r = evaluate_detector([1000, 1000, 1010, 2000], [1000, 2000], FS)
    assert (r["tp"], r["fp"], r["fn"]) == (2, 2, 0)


def test_matching_is_one_to_one_and_prefers_the_closest_pair():
    # One detection between two close reference beats: it matches the closer one only.
    r = evaluate_detector([1030], [1000, 1040], FS)
    assert (r["tp"], r["fp"], r["fn"]) == (1, 0, 1)
    # 1030 is closest to 1040, but 1041 is closer still: it takes 1040, and 1030 falls back to 1000 (30 samples).
    r = evaluate_detector([1041, 1030], [1000, 1040], FS)
    assert (r["tp"], r["fp"], r["fn"]) == (2, 0, 0)


def test_detector_scoring_with_empty_inputs():
    r = evaluate_detector([], [100, 200], FS)
    assert (r["tp"], r["fp"], r["fn"]) == (0, 0, 2) and r["se"] == 0.0 and np.isnan(r["ppv"])
    r = evaluate_detector([100], [], FS)
    assert (r["tp"], r["fp"], r["fn"]) == (0, 1, 0) and np.isnan(r["se"]) and r["ppv"] == 0.0


def test_gross_statistics_sum_counts_over_records():
    a = evaluate_detector([100, 500], [100, 300, 500], FS)         # 2 TP, 1 FN
    b = evaluate_detector([100, 900], [100], FS)                   # 1 TP, 1 FP
    g = aggregate_detection([a, b])
    assert (g["tp"], g["fp"], g["fn"]) == (3, 1, 1)
    assert g["se"] == pytest.approx(0.75) and g["ppv"] == pytest.approx(0.75)


# ------------------------------------------------------------------------------------------------ filtering

def test_bandpass_removes_baseline_wander_and_keeps_a_10_hz_component():
    t = np.arange(int(60 * FS)) / FS
    wander, tone = 1.0 * np.sin(2 * np.pi * 0.3 * t), 0.5 * np.sin(2 * np.pi * 10.0 * t)
    y = bandpass(wander + tone, FS, 0.5, 40.0)
    core = slice(int(5 * FS), int(55 * FS))                        # away from the edges
    resid_wander = y[core] - tone[core]
    assert np.abs(resid_wander).max() < 0.05                       # 1 mV wander -> < 0.05 mV
    amp_10 = np.sqrt(2) * y[core].std()
    assert amp_10 == pytest.approx(0.5, rel=0.02)


# ------------------------------------------------------------------------------------------------ detection

def test_neurokit_detection_on_a_synthetic_record_reaches_99_percent():
    from helpers.data.synthetic import simulate_mitbih_records
    from helpers.signal import detect_r_peaks
    from helpers.signal.beats import BEAT_SYMBOLS

    rec = simulate_mitbih_records(["100"], duration_s=120.0)[0]
    ref = rec.sample[np.isin(rec.symbol, BEAT_SYMBOLS)]
    r = evaluate_detector(detect_r_peaks(rec.signal[0], rec.fs), ref, rec.fs)
    assert r["se"] >= 0.99 and r["ppv"] >= 0.99, r


# ------------------------------------------------------------------------------------------------ datasets

def _tiny_dataset() -> SignalDataset:
    n = 2000
    sig0 = np.tile(np.arange(n, dtype=np.float32), (2, 1))             # value = sample index
    sig1 = -np.tile(np.arange(n, dtype=np.float32), (2, 1))
    ann0 = Annotations(sample=[0, 10, 400, 700, 800, 1100, 1990], symbol=["+", "N", "N", "V", "~", "N", "N"],
                       aux=["(N", "", "", "", "", "", ""])
    ann1 = Annotations(sample=[300, 600, 900, 1200], symbol=["N", "A", "/", "N"])
    return SignalDataset(signals=[sig0, sig1], labels=[0, 0], fs=100.0, subject_ids=["p1", "p2"],
                         record_ids=["r1", "r2"], class_names=("record",), source="synthetic", name="tiny",
                         channel_names=("MLII", "V1"), annotations=[ann0, ann1])


def test_beats_from_dataset_keeps_beats_only_and_labels_records_and_subjects():
    ds = _tiny_dataset()
    b = beats_from_dataset(ds, lead="MLII", before_s=0.25, after_s=0.45, low_hz=None, high_hz=None)
    # r1: beats at 10 (too close to the start), 400, 700, 1100, 1990 (too close to the end); '+' and '~' are not
    # beats. r2: all four beats fit.
    assert b.sample.tolist() == [400, 700, 1100, 300, 600, 900, 1200]
    assert b.symbol.tolist() == ["N", "V", "N", "N", "A", "/", "N"]
    assert b.record.tolist() == ["r1"] * 3 + ["r2"] * 4 and b.subject.tolist() == ["p1"] * 3 + ["p2"] * 4
    assert b.X.shape == (7, 1, 70) and b.X.dtype == np.float32 and b.channel_names == ("MLII",)
    np.testing.assert_array_equal(b.X[0, 0], np.arange(375, 445))   # unfiltered: the window's sample indices
    # RR features come from all beats of the record, the dropped edge beats included: 400 follows 10.
    np.testing.assert_allclose(b.rr[0, :2], [3.9, 3.0])
    np.testing.assert_allclose(b.rr[2, :2], [4.0, 8.9])
    assert b.label is None


def test_beats_from_dataset_maps_symbols_to_classes_and_drops_unmapped_ones():
    aami = {"N": "N", "A": "S", "V": "V"}                           # '/' unmapped: dropped, like the paced beats
    b = beats_from_dataset(_tiny_dataset(), lead=["MLII", "V1"], symbol_to_class=aami, low_hz=None, high_hz=None)
    assert b.label.tolist() == ["N", "V", "N", "N", "S", "N"]
    assert b.X.shape == (6, 2, 70)
    # RR of the beat after the dropped '/' still spans from it (3 s), not from the beat before it.
    np.testing.assert_allclose(b.rr[-1, 0], 3.0)


def test_beats_from_dataset_names_a_missing_lead_and_missing_annotations():
    ds = _tiny_dataset()
    with pytest.raises(ValueError, match="'V5' not among"):
        beats_from_dataset(ds, lead="V5")
    bare = SignalDataset(signals=ds.signals, labels=[0, 0], fs=100.0, subject_ids=["p1", "p2"], record_ids=["a", "b"],
                         class_names=("record",), source="synthetic", name="bare")
    with pytest.raises(ValueError, match="annotations"):
        beats_from_dataset(bare)


def test_beats_from_dataset_with_detected_peaks_reports_detector_scores():
    from helpers.data.synthetic import simulate_mitbih_records

    recs = simulate_mitbih_records(["100", "119"], duration_s=60.0)
    ds = SignalDataset(signals=[r.signal for r in recs], labels=[0, 0], fs=FS, subject_ids=["100", "119"],
                       record_ids=["100", "119"], class_names=("record",), source="synthetic", name="sim",
                       channel_names=("MLII", "V"), annotations=[Annotations(r.sample, r.symbol, r.aux) for r in recs])
    ref = beats_from_dataset(ds)
    det = beats_from_dataset(ds, use_reference_peaks=False)
    assert det.detection["se"] >= 0.99 and det.detection["ppv"] >= 0.99
    assert [d["record"] for d in det.detection["per_record"]] == ["100", "119"]
    # Detected beats carry the symbol of the reference beat they match, within 150 ms of it.
    assert abs(len(det) - len(ref)) <= 2 and set(det.symbol.tolist()) == set(ref.symbol.tolist())


# ------------------------------------------------------------------------------------------------ benchmark

def _benchmark_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "mitbih_preprocess.py"
    spec = importlib.util.spec_from_file_location("mitbih_preprocess", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_preprocess_benchmark_says_which_data_it_used_and_ends_with_json(capsys, monkeypatch, tmp_path):
    import json

    bench = _benchmark_module()
    out = bench.main(["--records", "2", "--duration-s", "20", "--no-detect"])
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last == out and out["data"] == "synthetic" and out["records"] == 2 and out["beats"] > 30
    assert out["seconds_total"] == pytest.approx(out["seconds_load"] + out["seconds_filter"] + out["seconds_segment"],
                                                 abs=0.01)
    # --path goes through the one loader function (helpers.data.load), and the report says "real".
    seen = []
    monkeypatch.setattr(bench, "load_real", lambda p: seen.append(p) or bench.synthetic_dataset(1, 20.0))
    out = bench.main(["--path", str(tmp_path), "--no-detect"])
    assert seen == [tmp_path] and out["data"] == "real" and out["records"] == 1
