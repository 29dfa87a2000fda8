"""helpers.data.heartpy_ppg: HeartPy's example recordings as unlabelled PPG windows for pre-training."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import find_peaks

from conftest import require_packages

from helpers.data import heartpy_ppg

require_packages(["heartpy"], heartpy_ppg.INSTALL)


def test_rates_are_read_from_the_recordings_clocks():
    folder = heartpy_ppg.heartpy_data_dir()
    rates = {name: heartpy_ppg._read(folder / name)[1] for name in heartpy_ppg.RECORDINGS}
    # HeartPy's own estimates of the same files: 100 Hz documented, ~117 Hz and ~100.4 Hz from the clocks
    assert rates["data.csv"] == 100.0
    assert rates["data2.csv"] == pytest.approx(116.99, abs=0.05)
    assert rates["data3.csv"] == pytest.approx(100.42, abs=0.05)


def test_windows_are_standardised_ppg_at_64_hz_without_dropouts():
    X, sources = heartpy_ppg.unlabelled_windows(fs=64.0, window_s=60.0, step_s=15.0)
    assert X.dtype == np.float32 and X.shape[1:] == (1, 3840) and len(sources) == len(X)
    # data.csv is 25 s (no 60-s window); data2.csv's 8-s dropout removes its first windows
    assert set(sources) == {"data2.csv", "data3.csv"}
    assert sources.count("data2.csv") == 3 and sources.count("data3.csv") >= 35
    assert np.isfinite(X).all()
    assert abs(float(np.median(X))) < 0.2
    # PPG, not noise: the energy sits in the pulse band, and the systolic peaks come at a heart rate
    power = np.abs(np.fft.rfft(X[:, 0], axis=-1)) ** 2
    freqs = np.fft.rfftfreq(X.shape[-1], 1 / 64.0)
    in_band = power[:, (freqs >= 0.5) & (freqs <= 8.0)].sum(-1) / power.sum(-1)
    assert np.median(in_band) > 0.9
    peaks, _ = find_peaks(X[-1, 0], prominence=1.5, distance=int(0.33 * 64))
    bpm = 60 * 64 / np.median(np.diff(peaks))
    assert 40 < bpm < 180, bpm


def test_dropouts_are_runs_of_one_value():
    x = np.r_[np.arange(100.0), np.zeros(60), np.arange(100.0)]
    bad = heartpy_ppg._dropouts(x, fs=100.0, min_s=0.5)
    assert bad[100:161].all() and not bad[:100].any() and bad.sum() == 61  # the zero that starts the ramp joins


def test_missing_heartpy_says_how_to_install(monkeypatch):
    monkeypatch.setattr(heartpy_ppg.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match="pip install heartpy==1.2.7"):
        heartpy_ppg.unlabelled_windows()


def test_bad_window_arguments_are_named():
    with pytest.raises(ValueError, match="window_s"):
        heartpy_ppg.unlabelled_windows(window_s=0)
