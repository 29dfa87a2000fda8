"""Signal processing for physiological recordings: filters, R peaks, beats and windows.

One import for notebooks (``from helpers.signal import bandpass, make_windows``); the code lives in small
files: :mod:`.filters` (filtering, resampling, normalisation), :mod:`.normalise` (per-subject
standardisation), :mod:`.peaks` (R peaks, record-level RR
features), :mod:`.windows` (dataset -> fixed-length windows), :mod:`.beats` (beat windows and per-beat
RR features for beat classification; the one way to cut beats), :mod:`.detection` (scoring a beat detector) and
:mod:`.patient_features` (features relative to the patient's own rhythm and beats).
"""
from .beats import BEAT_RR_FEATURES, BEAT_SYMBOLS, BeatSet, beat_rr_features, beat_windows, beats_from_dataset
from .detection import aggregate_detection, evaluate_detector
from .filters import (apply_sos, bandpass, check_finite, check_fs, design_bandpass, edge_padlen, fix_length, notch,
                      resample, resample_ratio, resample_taps, standardize)
from .normalise import normalise_per_subject, subject_statistics
from .patient_features import normalised_rr_features, relative_to_median_beat, robust_per_record
from .beat_morphology import beat_shape_features
from .peaks import RR_FEATURES, detect_r_peaks, rr_feature_table, rr_features
from .windows import Windows, make_windows

__all__ = [
    "bandpass", "notch", "resample", "standardize", "fix_length",
    "design_bandpass", "apply_sos", "edge_padlen", "resample_ratio", "resample_taps", "check_fs", "check_finite",
    "detect_r_peaks", "rr_features", "rr_feature_table", "RR_FEATURES",
    "Windows", "make_windows", "normalise_per_subject", "subject_statistics",
    "beat_windows", "beat_rr_features", "beats_from_dataset", "BeatSet", "evaluate_detector", "aggregate_detection",
    "BEAT_RR_FEATURES", "BEAT_SYMBOLS",
    "normalised_rr_features", "relative_to_median_beat", "robust_per_record", "beat_shape_features",
]
