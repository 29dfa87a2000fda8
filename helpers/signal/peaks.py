"""R-peak detection (neurokit2), RR-interval features and beat segmentation for single-lead ECG."""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from .filters import _as_signal, check_fs

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from helpers.data.container import SignalDataset

__all__ = ["detect_r_peaks", "rr_features", "rr_feature_table", "RR_FEATURES"]

#: Names (and order) of the features returned by :func:`rr_features`.
RR_FEATURES = ("n_beats", "heart_rate_bpm", "mean_rr_s", "sdnn_ms", "rmssd_ms", "nrmssd", "pnn50", "cv_rr",
               "mad_rr_rel")

_MIN_DURATION_S = 1.0


def _lead(ecg, what: str = "ecg") -> np.ndarray:
    x = _as_signal(ecg, what)
    if x.ndim == 2 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 1:
        raise ValueError(f"{what} must be a single lead of shape (T,) or (1, T), got shape {x.shape}")
    return x


def detect_r_peaks(ecg, fs: float) -> np.ndarray:
    """Sample indices of the R peaks of a single-lead ECG.

    Uses neurokit2's default pipeline (``ecg_clean`` then ``ecg_peaks``, method ``"neurokit"``: QRS
    enhancement by the absolute gradient, then local maxima), which is robust to baseline wander.

    Parameters
    ----------
    ecg : array_like, shape (T,) or (1, T)
        ECG in mV (any unit works; the detector is amplitude-invariant).
    fs : float
        Sampling rate in Hz.

    Returns
    -------
    np.ndarray
        int64, shape (n_peaks,), increasing sample indices; empty when no beat is found (e.g. a flat line).
    """
    import neurokit2 as nk  # imported lazily: neurokit2 takes ~1 s to import and most helpers do not need it

    fs = check_fs(fs)
    x = _lead(ecg).astype(np.float64)
    if x.size < _MIN_DURATION_S * fs:
        raise ValueError(f"ecg is {x.size} samples ({x.size / fs:.2f} s) long; R-peak detection needs at least "
                         f"{_MIN_DURATION_S:g} s ({int(_MIN_DURATION_S * fs)} samples at {fs:g} Hz)")
    if np.ptp(x) == 0:
        return np.zeros(0, dtype=np.int64)
    cleaned = nk.ecg_clean(x, sampling_rate=fs)
    _, info = nk.ecg_peaks(cleaned, sampling_rate=fs)
    return np.asarray(info["ECG_R_Peaks"], dtype=np.int64)


def rr_features(ecg=None, fs: float | None = None, *, r_peaks=None) -> dict[str, float]:
    """Heart-rate variability features of one record, as used by classical AF detectors.

    AF makes the rhythm "irregularly irregular": RR intervals vary a lot from beat to beat, so the
    successive-difference features (``rmssd_ms``, ``nrmssd``, ``pnn50``, ``mad_rr_rel``) separate it from
    sinus rhythm far better than the mean heart rate does.

    Parameters
    ----------
    ecg : array_like, shape (T,), optional
        ECG; R peaks are detected with :func:`detect_r_peaks` unless ``r_peaks`` is given.
    fs : float
        Sampling rate in Hz.
    r_peaks : array_like of int, optional
        Known R-peak sample indices (skips detection).

    Returns
    -------
    dict
        ``n_beats``; ``heart_rate_bpm`` (beats/min); ``mean_rr_s`` (s); ``sdnn_ms`` and ``rmssd_ms`` (ms);
        ``nrmssd`` = RMSSD / mean RR; ``pnn50`` (fraction of successive differences > 50 ms); ``cv_rr`` =
        SDNN / mean RR; ``mad_rr_rel`` = median |successive difference| / median RR (robust to a missed beat).
        With fewer than 3 beats every feature but ``n_beats`` is NaN.
    """
    if fs is None:
        raise ValueError("rr_features needs fs (the sampling rate in Hz)")
    fs = check_fs(fs)
    if r_peaks is None:
        if ecg is None:
            raise ValueError("rr_features needs either ecg or r_peaks")
        r_peaks = detect_r_peaks(ecg, fs)
    peaks = np.asarray(r_peaks, dtype=np.int64).ravel()
    out = dict.fromkeys(RR_FEATURES, float("nan"))
    out["n_beats"] = float(peaks.size)
    if peaks.size < 3:
        return out
    rr = np.diff(np.sort(peaks)) / fs  # seconds
    drr = np.diff(rr)
    mean_rr = rr.mean()
    out.update(
        heart_rate_bpm=60.0 / mean_rr,
        mean_rr_s=mean_rr,
        sdnn_ms=1000 * rr.std(ddof=1),
        rmssd_ms=1000 * np.sqrt(np.mean(drr ** 2)),
        nrmssd=np.sqrt(np.mean(drr ** 2)) / mean_rr,
        pnn50=float(np.mean(np.abs(drr) > 0.050)),
        cv_rr=rr.std(ddof=1) / mean_rr,
        mad_rr_rel=np.median(np.abs(drr)) / np.median(rr),
    )
    return {k: float(v) for k, v in out.items()}


def rr_feature_table(dataset: SignalDataset, *, channel: int = 0) -> pd.DataFrame:
    """:func:`rr_features` for every record of a dataset, one row per record (index = record id).

    Records where detection fails (too short, flat) get NaN features and a single summary warning, so a
    feature baseline can impute them rather than crash half-way through thousands of records.

    Returns
    -------
    pandas.DataFrame
        Shape (n_records, len(RR_FEATURES) + 2): the features plus ``label`` and ``subject_id`` columns.
    """
    import pandas as pd

    rows, failed = [], []
    for rid, sig in zip(dataset.record_ids, dataset.signals):
        lead = sig if sig.ndim == 1 else sig[channel]
        try:
            rows.append(rr_features(lead, dataset.fs))
        except ValueError as err:
            failed.append(f"{rid}: {err}")
            rows.append(dict.fromkeys(RR_FEATURES, float("nan")))
    if failed:
        warnings.warn(f"R-peak detection failed on {len(failed)} record(s), features set to NaN; first: "
                      f"{failed[0]}", stacklevel=2)
    table = pd.DataFrame(rows, index=pd.Index(dataset.record_ids, name="record_id"), columns=list(RR_FEATURES))
    table["label"] = dataset.labels
    table["subject_id"] = dataset.subject_ids
    return table
