"""The MIT-BIH-like simulator: annotations, class balance, beat timing and shape, patient-specific morphology."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from helpers.data.mitbih_records import RECORDS
from helpers.data.synthetic import simulate_mitbih_records
from helpers.signal import bandpass
from helpers.signal.beats import BEAT_SYMBOLS, beat_rr_features, beat_windows

PACED = ("102", "104", "107", "217")
AAMI = {**dict.fromkeys("NLRej", "N"), **dict.fromkeys("AaJS", "S"), **dict.fromkeys("VE", "V"), "F": "F",
        **dict.fromkeys("/fQ", "Q")}
BBB = ("109", "111", "118", "124", "207", "212", "214", "231")


@pytest.fixture(scope="module")
def full_set():
    """The default set: all 48 records x 300 s (about 3 s to generate)."""
    return simulate_mitbih_records()


def _beats(rec):
    is_beat = np.isin(rec.symbol, BEAT_SYMBOLS)
    return rec.sample[is_beat], rec.symbol[is_beat]


def _mean_beat(rec, peaks, before_s=0.15, after_s=0.15):
    """Mean band-passed MLII beat around ``peaks``, baseline at its median."""
    x = bandpass(rec.signal[0], rec.fs, 0.5, 40.0)
    w, _ = beat_windows(x, peaks, rec.fs, before_s=before_s, after_s=after_s)
    m = w[:, 0].mean(axis=0)
    return m - np.median(m)


def _qrs_width_s(beat, fs):
    """Time the mean beat spends above half its largest absolute deflection, within 100 ms of the fiducial point."""
    c = beat.size // 2
    core = np.abs(beat[c - int(0.1 * fs):c + int(0.1 * fs)])
    return float((core > 0.5 * core.max()).sum() / fs)


def test_records_are_reproducible_and_independent_of_the_subset_asked_for():
    a = simulate_mitbih_records(["119", "100"], duration_s=30.0)
    b = simulate_mitbih_records(["100", "119"], duration_s=30.0)
    for x, y in ((a[0], b[1]), (a[1], b[0])):
        assert x.record == y.record
        np.testing.assert_array_equal(x.signal, y.signal)
        np.testing.assert_array_equal(x.sample, y.sample)
        np.testing.assert_array_equal(x.symbol, y.symbol)
    assert [r.record for r in simulate_mitbih_records(3, duration_s=10.0)] == list(RECORDS[:3])
    other = simulate_mitbih_records(["100"], duration_s=30.0, seed=1)[0]
    assert not np.array_equal(other.signal, b[0].signal)


def test_the_48_records_carry_the_real_names_shapes_and_patients(full_set):
    assert [r.record for r in full_set] == list(RECORDS) and len(set(RECORDS)) == 48
    for r in full_set:
        assert r.signal.shape == (2, 108_000) and r.signal.dtype == np.float32 and r.fs == 360.0
        assert r.leads[0] == "MLII" and r.leads[1] in ("V1", "V5")
        assert np.isfinite(r.signal).all()
    patients = {r.record: r.patient for r in full_set}
    assert patients["202"] == patients["201"] == "201"                # one man, two records, as in the real database
    assert sum(p == rec for rec, p in patients.items()) == 47


def test_annotations_are_sorted_in_range_and_use_mitbih_codes(full_set):
    for r in full_set:
        n = r.signal.shape[1]
        assert r.sample.dtype == np.int64 and (np.diff(r.sample) >= 0).all()
        assert r.sample.min() >= 0 and r.sample.max() < n
        assert set(r.symbol.tolist()) <= set(AAMI) | {"+"}
        is_rhythm = r.symbol == "+"
        assert (r.aux[is_rhythm] != "").all() and (r.aux[~is_rhythm] == "").all()
        assert r.symbol[0] == "+" and r.sample[0] == 0                  # every record opens with its rhythm


def test_class_balance_follows_the_real_database(full_set):
    counts = Counter(AAMI[s] for r in full_set if r.record not in PACED for s in r.symbol.tolist() if s in AAMI)
    total = sum(counts.values())
    share = {c: counts[c] / total for c in "NSVFQ"}
    assert 0.85 <= share["N"] <= 0.93
    assert 0.015 <= share["S"] <= 0.05
    assert 0.05 <= share["V"] <= 0.10
    assert 0.003 <= share["F"] <= 0.015
    assert share["Q"] <= 0.005
    # Some records are dominated by ectopy (bigeminy in 119 and 208), most hold little.
    v_share = {r.record: np.mean(np.isin(r.symbol, ["V", "E"])) for r in full_set}
    assert v_share["119"] > 0.1 and v_share["208"] > 0.1 and np.median(list(v_share.values())) < 0.05


def test_paced_records_hold_paced_beats_and_no_other_record_does(full_set):
    for r in full_set:
        has_paced = bool(np.isin(r.symbol, ["/", "f"]).any())
        assert has_paced == (r.record in PACED), r.record
        if r.record in PACED:
            assert np.mean(r.symbol == "/") > 0.5


def test_some_records_hold_af_episodes_with_irregular_rr(full_set):
    af_records = [r for r in full_set if "(AFIB" in r.aux.tolist()]
    assert len(af_records) >= 3
    for r in af_records:
        is_beat = np.isin(r.symbol, BEAT_SYMBOLS)
        # The rhythm in force at each beat: the aux of the last '+' before it.
        rhythm = r.aux[r.symbol == "+"][np.cumsum(r.symbol == "+")[is_beat] - 1]
        rr = np.diff(r.sample[is_beat]) / r.fs
        in_af = (rhythm[1:] == "(AFIB") & (rhythm[:-1] == "(AFIB") & np.isin(r.symbol[is_beat][1:], ["N"])
        assert in_af.sum() > 30
        assert np.std(rr[in_af]) / np.mean(rr[in_af]) > 0.1              # irregularly irregular
    assert any("(B" in r.aux.tolist() for r in full_set) and any("(SVTA" in r.aux.tolist() for r in full_set)


def _isolated(sym, kind):
    """Beats of ``kind`` with a normal beat on either side (so the RR pattern is the ectopic beat's own)."""
    i = np.flatnonzero(np.isin(sym, kind))
    i = i[(i > 1) & (i < sym.size - 1)]
    return i[np.isin(sym[i - 1], list("NLR")) & np.isin(sym[i + 1], list("NLR"))]


def test_ventricular_beats_are_premature_with_a_compensatory_pause_and_a_wider_qrs(full_set):
    prev_ratio, pause, width_ratio = [], [], []
    for r in full_set:
        peaks, sym = _beats(r)
        i = _isolated(sym, ["V"])
        if r.record in PACED or i.size < 5:
            continue
        rr = beat_rr_features(peaks, r.fs)
        prev_ratio.append(np.median(rr[i, 3]))                           # RR before / local RR
        pause.append(np.median((rr[i, 0] + rr[i, 1]) / (2 * rr[i, 2])))  # (before + after) / two sinus cycles
        if r.record not in BBB:
            n_beats = peaks[sym == "N"]
            width_ratio.append(_qrs_width_s(_mean_beat(r, peaks[i]), r.fs)
                               / _qrs_width_s(_mean_beat(r, n_beats), r.fs))
    assert len(prev_ratio) >= 10
    assert max(prev_ratio) < 0.9                                         # every patient's V beats come early
    assert 0.9 < np.median(pause) < 1.1                                  # full compensatory pause
    assert min(width_ratio) > 1.1 and np.median(width_ratio) > 1.6


def test_supraventricular_beats_are_premature_with_a_normal_qrs(full_set):
    prev_ratio, pause, width_ratio = [], [], []
    for r in full_set:
        peaks, sym = _beats(r)
        i = _isolated(sym, ["A", "a", "J", "S"])
        if i.size < 5:
            continue
        rr = beat_rr_features(peaks, r.fs)
        prev_ratio.append(np.median(rr[i, 3]))
        pause.append(np.median((rr[i, 0] + rr[i, 1]) / (2 * rr[i, 2])))
        normal = peaks[np.isin(sym, list("NLR"))]
        width_ratio.append(_qrs_width_s(_mean_beat(r, peaks[i]), r.fs) / _qrs_width_s(_mean_beat(r, normal), r.fs))
    assert len(prev_ratio) >= 5
    assert max(prev_ratio) < 0.92
    assert np.median(pause) < 0.97                                       # the sinus node is reset: no full pause
    assert 0.75 < np.median(width_ratio) < 1.35


def test_normal_beats_differ_more_between_patients_than_normal_and_s_beats_within_one(full_set):
    # The classifier's window (0.25 s before, 0.45 s after the R peak): P wave, QRS and T wave.
    half_a, half_b, n_vs_s = [], [], []
    for r in full_set:
        if r.record in PACED or r.record == "202":  # 202 shares 201's heart
            continue
        peaks, sym = _beats(r)
        # Normal beats between normal beats: the window must not catch an ectopic neighbour (bigeminy).
        normal = peaks[_isolated(sym, list("NLR"))]
        half_a.append(_mean_beat(r, normal[: normal.size // 2], 0.25, 0.45))
        half_b.append(_mean_beat(r, normal[normal.size // 2:], 0.25, 0.45))
        sv = peaks[np.isin(sym, ["A", "a", "J", "S"])]
        if sv.size >= 5:
            n_vs_s.append(np.corrcoef(_mean_beat(r, normal, 0.25, 0.45), _mean_beat(r, sv, 0.25, 0.45))[0, 1])
    a, b = np.array(half_a), np.array(half_b)
    within = np.array([np.corrcoef(x, y)[0, 1] for x, y in zip(a, b)])
    between = np.corrcoef(a)[np.triu_indices(len(a), 1)]
    # A patient's normal beats are stable (203, AF and sinus in one noisy record, is the least so).
    assert within.min() > 0.9 and np.median(within) > 0.98
    assert np.median(between) < 0.85 and np.mean(between > 0.95) < 0.1   # patients' normal beats differ
    # ... more than a patient's normal and supraventricular beats differ: shape alone does not transfer.
    assert np.median(between) < np.median(n_vs_s)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="'999'"):
        simulate_mitbih_records(["100", "999"])
    with pytest.raises(ValueError, match="records=49"):
        simulate_mitbih_records(49)
    with pytest.raises(ValueError, match="duration_s"):
        simulate_mitbih_records(1, duration_s=1.0)
    with pytest.raises(ValueError, match="fs"):
        simulate_mitbih_records(1, fs=100.0)
