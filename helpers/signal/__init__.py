"""Signal processing for physiological recordings: filters, R peaks, beats and windows.

One import for notebooks (``from helpers.signal import bandpass, make_windows``); the code lives in three
small files: :mod:`.filters` (filtering, resampling, normalisation), :mod:`.peaks` (R peaks, RR features,
beats) and :mod:`.windows` (dataset -> fixed-length windows).
"""
from .filters import (apply_sos, bandpass, check_finite, check_fs, design_bandpass, edge_padlen, fix_length, notch,
                      resample, resample_ratio, resample_taps, standardize)
from .peaks import RR_FEATURES, detect_r_peaks, rr_feature_table, rr_features, segment_beats
from .windows import Windows, make_windows

__all__ = [
    "bandpass", "notch", "resample", "standardize", "fix_length",
    "design_bandpass", "apply_sos", "edge_padlen", "resample_ratio", "resample_taps", "check_fs", "check_finite",
    "detect_r_peaks", "rr_features", "rr_feature_table", "segment_beats", "RR_FEATURES",
    "Windows", "make_windows",
]
