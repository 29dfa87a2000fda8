"""The synthetic DEAP stand-in: DEAP's shapes and channels, EEG with a subject's own alpha, blinks where they belong,
peripheral rhythms at physiological rates, and emotion effects that are present but weak."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import welch

from helpers.data import deap
from helpers.data.synthetic import deap_eeg
from helpers.data.synthetic.deap_eeg import (
    CHANNELS,
    simulate_deap,
    simulate_deap_subject,
)

N_SUBJECTS = 6  # pooled effects are checked over 6 x 40 trials
AFTER_BASELINE = slice(384, None)  # the 60 s of video after the 3 s baseline


def ch(name: str) -> int:
    return CHANNELS.index(name)


@pytest.fixture(scope="module")
def subjects():
    return list(simulate_deap(N_SUBJECTS, seed=0))


@pytest.fixture(scope="module")
def spectra(subjects):
    """Per subject, Welch spectra of every channel and trial after the baseline: ``f`` (Hz), ``p`` (40, 40, n_f)."""
    return [welch(s.data[:, :, AFTER_BASELINE], fs=128, nperseg=512, axis=-1) for s in subjects]


def band_log_power(f: np.ndarray, p: np.ndarray, channel: str, lo: float, hi: float) -> np.ndarray:
    return np.log(p[:, ch(channel), (f >= lo) & (f < hi)].mean(axis=-1))


def test_shapes_dtype_and_channels_are_deaps(subjects):
    s = subjects[0]
    assert s.subject == "s01" and deap_eeg.GENERATOR_VERSION == deap.SPEC.synthetic_version
    assert s.data.shape == (40, 40, 8064) and s.data.dtype == np.float64 and np.isfinite(s.data).all()
    assert s.labels.shape == (40, 4) and s.labels.dtype == np.float64
    assert CHANNELS == deap.CHANNEL_NAMES


def test_ratings_are_continuous_in_1_to_9_with_both_classes(subjects):
    ratings = np.concatenate([s.labels for s in subjects])
    assert ratings.min() >= 1 and ratings.max() <= 9
    assert (ratings != np.round(ratings)).mean() > 0.8  # continuous, with some clipped to the scale's ends
    for j in (0, 1):  # valence and arousal: both sides of 5, neither side tiny
        assert 0.3 < (ratings[:, j] > 5).mean() < 0.7
    means = np.array([s.labels[:, 0].mean() for s in subjects])
    assert means.std() > 0.2  # subjects rate with their own bias


def test_a_subject_depends_only_on_seed_and_number(subjects):
    again = simulate_deap_subject(3, seed=0)
    np.testing.assert_array_equal(again.data, subjects[2].data)
    np.testing.assert_array_equal(again.labels, subjects[2].labels)
    other = simulate_deap_subject(3, seed=1)
    assert not np.allclose(other.data[0, 0], again.data[0, 0])
    with pytest.raises(ValueError, match="start at 1"):
        simulate_deap_subject(0)


def test_alpha_peaks_on_o1_o2_at_the_subjects_own_frequency(subjects, spectra):
    peaks = []
    for s, (f, p) in zip(subjects, spectra):
        occipital = p[:, [ch("O1"), ch("O2")]].mean(axis=(0, 1))
        band = (f >= 7) & (f <= 14)
        peak = f[band][np.argmax(occipital[band])]
        assert abs(peak - s.alpha_peak_hz) <= 0.75, (s.subject, peak, s.alpha_peak_hz)
        peaks.append(s.alpha_peak_hz)
        # posterior alpha dominance: occipital alpha well above frontal alpha
        assert band_log_power(f, p, "O1", 8, 13).mean() > band_log_power(f, p, "Fz", 8, 13).mean() + np.log(2)
    assert np.ptp(peaks) > 0.3  # subjects differ


def test_eeg_went_through_deaps_4_45_hz_band_pass(spectra):
    f, p = spectra[0]
    eeg = p[:, :32].mean(axis=(0, 1))
    alpha = eeg[(f >= 8) & (f < 13)].mean()
    assert eeg[f < 2].mean() < 0.01 * alpha and eeg[f > 50].mean() < 0.01 * alpha
    rms = np.sqrt((p[:, :32].sum(-1) * (f[1] - f[0])).mean())
    assert 3 < rms < 40, rms  # uV, the range of DEAP's preprocessed EEG


def test_blinks_show_on_veog_and_fp1_but_not_on_o1(subjects):
    s = subjects[0]
    at_fp1, at_o1, at_veog = [], [], []
    for trial, blinks in enumerate(s.blink_samples):
        at_veog += (s.data[trial, ch("vEOG"), blinks] - np.median(s.data[trial, ch("vEOG")])).tolist()
        at_fp1 += s.data[trial, ch("Fp1"), blinks].tolist()
        at_o1 += s.data[trial, ch("O1"), blinks].tolist()
    assert len(at_veog) > 40 * 5  # at least 5 blinks a minute
    assert np.mean(at_veog) > 80  # uV
    fp1_se = np.std(at_fp1) / np.sqrt(len(at_fp1))
    assert np.mean(at_fp1) > 8 and np.mean(at_fp1) > 5 * fp1_se  # residual after DEAP's EOG removal and band-pass
    assert abs(np.mean(at_o1)) < np.mean(at_fp1) / 4


def test_peripheral_rhythms_are_physiological(subjects):
    s = subjects[0]
    f, p = welch(s.data[:, ch("Respiration belt"):ch("Plethysmograph") + 1], fs=128, nperseg=4096, axis=-1)
    p = p.mean(axis=0)
    low = (f > 0.05) & (f < 3)
    breath_hz = f[low][np.argmax(p[0, low])]
    pulse_hz = f[(f > 0.7) & (f < 3)][np.argmax(p[1, (f > 0.7) & (f < 3)])]
    assert 0.12 < breath_hz < 0.45 and 0.8 < pulse_hz < 1.8
    assert (s.data[:, ch("GSR")] > 0).all()
    assert 25 < s.data[:, ch("Temperature")].mean() < 38


def test_valence_shows_as_frontal_alpha_asymmetry_weakly(subjects, spectra):
    asymmetry = np.concatenate([band_log_power(f, p, "F4", 8, 13) - band_log_power(f, p, "F3", 8, 13)
                                for f, p in spectra])
    valence = np.concatenate([s.labels[:, 0] for s in subjects])
    r = np.corrcoef(asymmetry, valence)[0, 1]
    assert 0.1 < r < 0.6, r  # present (right-minus-left alpha rises with valence), far from a giveaway


def test_arousal_shows_as_beta_over_alpha_weakly(subjects, spectra):
    ratio = np.concatenate([np.mean([band_log_power(f, p, c, 13, 30) - band_log_power(f, p, c, 8, 13)
                                     for c in CHANNELS[:32]], axis=0) for f, p in spectra])
    arousal = np.concatenate([s.labels[:, 1] for s in subjects])
    r = np.corrcoef(ratio, arousal)[0, 1]
    assert 0.1 < r < 0.7, r


def test_written_set_reads_back_through_the_real_reader(tmp_path, subjects):
    deap.write_synthetic(tmp_path, seed=0, size=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s01.dat"]
    ds = deap.read(tmp_path)  # strict: the real shape
    assert len(ds) == 40 and ds.record_ids[0] == "s01_t01"
    np.testing.assert_array_equal(ds.signals[5], subjects[0].data[5].astype(np.float32))
    np.testing.assert_array_equal(ds.targets, subjects[0].labels)
