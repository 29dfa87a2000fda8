"""The synthetic WESAD wrist generator: deterministic, WESAD-shaped, and stress that shows in PPG and EDA."""
from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import signal as sps

from helpers.data import wesad
from helpers.data.synthetic.wesad_ppg import (
    GENERATOR_VERSION,
    simulate_wesad_subjects,
    subject_ids,
)


@pytest.fixture(scope="module")
def subjects():
    return simulate_wesad_subjects(4, seed=0)


def block(sim, condition: str, x: np.ndarray, fs: float) -> np.ndarray:
    """The first ``condition`` block of ``sim`` cut from ``x`` (an E4 stream at ``fs``)."""
    _, _, a, b = next(p for p in sim.protocol if p[1] == condition)
    a, b = a + sim.chest_start_s, b + sim.chest_start_s
    return x[int(a * fs):int(b * fs)]


def heart_rate_bpm(bvp: np.ndarray, fs: float = 64.0) -> float:
    """Pulse rate from the dominant frequency of the BVP between 42 and 210 bpm (robust to sparse artefacts)."""
    f, p = sps.welch(bvp, fs=fs, nperseg=int(16 * fs))
    band = (f > 0.7) & (f < 3.5)
    return 60.0 * f[band][np.argmax(p[band])]


def scr_per_minute(eda: np.ndarray, fs: float = 4.0) -> float:
    """Skin-conductance responses per minute: EDA peaks standing out by 0.03 uS."""
    peaks, _ = sps.find_peaks(eda, prominence=0.03)
    return len(peaks) / (eda.size / fs / 60.0)


def test_generator_is_versioned_and_named_like_wesad():
    assert GENERATOR_VERSION == "wesad_ppg-1.0" == wesad.SPEC.synthetic_version
    assert subject_ids(3) == ["S2", "S3", "S4"] and "S12" not in subject_ids(15) and subject_ids(16)[-1] == "S18"


def test_same_seed_same_subjects_other_seed_others():
    a, b = simulate_wesad_subjects(2, seed=7, time_scale=0.2), simulate_wesad_subjects(2, seed=7, time_scale=0.2)
    c = simulate_wesad_subjects(2, seed=8, time_scale=0.2)
    for x, y in zip(a, b):
        for attr in ("bvp", "acc", "eda", "temp", "hr_bpm"):
            np.testing.assert_array_equal(getattr(x, attr), getattr(y, attr))
        assert x.protocol == y.protocol and x.chest_start_s == y.chest_start_s
    assert not np.array_equal(a[0].bvp[:1000], c[0].bvp[:1000])


def test_protocol_has_wesads_shape_and_both_orders(subjects):
    for i, sim in enumerate(subjects):
        durations = {(name, cond): b - a for name, cond, a, b in sim.protocol}
        assert durations == {("Base", "baseline"): 1200, ("TSST", "stress"): 600, ("Fun", "amusement"): 392,
                             ("Medi 1", "meditation"): 420, ("Medi 2", "meditation"): 420}
        order = [name for name, *_ in sim.protocol]
        assert order == (["Base", "TSST", "Medi 1", "Fun", "Medi 2"] if i % 2 == 0 else
                         ["Base", "Fun", "Medi 1", "TSST", "Medi 2"])
        # The E4 runs before and after the chest device, so the loader has a clock offset to apply.
        e4_s = sim.bvp.size / 64
        assert 0 < sim.chest_start_s and sim.chest_start_s + sim.chest_duration_s < e4_s


def test_streams_have_the_e4_rates_units_and_ranges(subjects):
    for sim in subjects:
        seconds = sim.bvp.size / 64
        assert sim.acc.shape == (seconds * 32, 3) and sim.eda.size == sim.temp.size == seconds * 4
        assert sim.acc.dtype == np.int64 and sim.acc.min() >= -128 and sim.acc.max() <= 127
        gravity = np.linalg.norm(sim.acc, axis=1) / 64
        assert 0.8 < np.median(gravity) < 1.2                       # 1 g at rest, in 1/64 g units
        assert sim.eda.min() >= 0 and 25 < np.median(sim.temp) < 37
        assert np.isfinite(sim.bvp).all() and abs(np.mean(sim.bvp)) < 0.1 * np.std(sim.bvp)


def test_heart_rate_is_higher_under_stress(subjects):
    for sim in subjects:
        base = heart_rate_bpm(block(sim, "baseline", sim.bvp, 64))
        stress = heart_rate_bpm(block(sim, "stress", sim.bvp, 64))
        assert 8 <= stress - base <= 25, (sim.subject, base, stress)


def test_skin_conductance_responses_are_more_frequent_under_stress(subjects):
    for sim in subjects:
        base = scr_per_minute(block(sim, "baseline", sim.eda, 4))
        stress = scr_per_minute(block(sim, "stress", sim.eda, 4))
        assert stress > 1.5 * base, (sim.subject, base, stress)
        assert block(sim, "stress", sim.eda, 4).mean() > block(sim, "baseline", sim.eda, 4).mean()


def test_the_wrist_is_stillest_in_meditation_and_moves_in_rests(subjects):
    for sim in subjects:
        acc = sim.acc.astype(float)
        activity = {c: np.abs(np.diff(np.linalg.norm(block(sim, c, acc, 32), axis=1))).mean()
                    for c in ("meditation", "baseline", "stress")}
        assert activity["meditation"] < activity["baseline"] < activity["stress"]
        # The double tap at the chest device's start: the sharpest knock in the first minutes of the E4 recording.
        jerk = np.abs(np.diff(sim.acc, axis=0)).sum(axis=1)
        first = int((sim.chest_start_s + 60) * 32)
        assert abs(np.argmax(jerk[:first]) / 32 - (sim.chest_start_s + 3)) < 0.5


def test_six_full_subjects_are_quick_to_simulate():
    start = time.perf_counter()
    simulate_wesad_subjects(6, seed=1)
    assert time.perf_counter() - start < 30  # ~1.5 s on one free core; generous for shared CI machines


def test_written_files_read_back_to_the_simulated_signals(tmp_path):
    out = wesad.write_synthetic(tmp_path / "WESAD", seed=2, size=1, time_scale=0.2)
    sim = simulate_wesad_subjects(1, seed=2, time_scale=0.2)[0]
    rows = (out / "S2" / "S2_E4_Data" / "BVP.csv").read_text().splitlines()
    assert rows[0] == f"{sim.e4_start_unix:.2f}" and rows[1] == "64.000000" and len(rows) == sim.bvp.size + 2
    acc = (out / "S2" / "S2_E4_Data" / "ACC.csv").read_text().splitlines()
    assert acc[1] == "32.000000, 32.000000, 32.000000" and len(acc[2].split(",")) == 3
    ds = wesad.read(out, records="subjects", trim_s=0)
    x = ds.signals[0]
    np.testing.assert_allclose(x[0], sim.bvp, atol=0.006)                 # BVP written with 2 decimals
    np.testing.assert_allclose(x[4, ::16], sim.eda, atol=1e-6)            # EDA interpolated through its samples
    quest = wesad.read_quest(out / "S2" / "S2_quest.csv")
    np.testing.assert_array_equal(quest.intervals.start_s, sorted(p[2] for p in sim.protocol))
    assert ds.metadata["e4_offset_s"]["S2"] == sim.chest_start_s
