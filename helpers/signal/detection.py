"""Scoring a beat detector against reference annotations, as ANSI/AAMI EC57 does: Se and +P, per record and gross.

A detection within the matching window (150 ms) of a reference beat is a true positive; each beat is matched at most
once, closest pairs first. Used by lesson 04 to judge :func:`helpers.signal.peaks.detect_r_peaks`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from .filters import check_fs

__all__ = ["aggregate_detection", "evaluate_detector"]


def _peaks(r_peaks, what: str = "r_peaks") -> np.ndarray:
    p = np.asarray(r_peaks)
    if p.ndim != 1:
        raise ValueError(f"{what} must be a 1-D array of sample indices, got shape {p.shape}")
    if p.size and not np.issubdtype(p.dtype, np.integer) and (not np.all(np.isfinite(p)) or np.any(p != np.round(p))):
        raise ValueError(f"{what} must hold whole sample indices, got dtype {p.dtype} with non-integer values")
    return p.astype(np.int64)


def _match(detected: np.ndarray, reference: np.ndarray, tol: int) -> int:
    """Number of one-to-one pairs ``|detected - reference| <= tol`` samples, closest pairs first.

    All candidate pairs inside the tolerance are listed at once (searchsorted); then, round by round, every pair
    that is the closest for both its reference and its detection is accepted, and used beats leave the pool. The
    closest remaining pair is always mutual, so each round accepts at least one; in practice two rounds suffice.
    """
    det = np.sort(detected)
    lo = np.searchsorted(det, reference - tol, side="left")
    hi = np.searchsorted(det, reference + tol, side="right")
    counts = hi - lo
    ri = np.repeat(np.arange(reference.size), counts)
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    dj = np.repeat(lo, counts) + (np.arange(ri.size) - offsets)
    dist = np.abs(det[dj] - reference[ri])
    ref_used = np.zeros(reference.size, dtype=bool)
    det_used = np.zeros(det.size, dtype=bool)
    tp = 0
    while True:
        act = np.flatnonzero(~ref_used[ri] & ~det_used[dj])
        if act.size == 0:
            return tp
        act = act[np.lexsort((dj[act], ri[act], dist[act]))]  # closest first; ties broken by position
        _, first_r = np.unique(ri[act], return_index=True)
        _, first_d = np.unique(dj[act], return_index=True)
        best_r = np.zeros(ri.size, dtype=bool)
        best_d = np.zeros(ri.size, dtype=bool)
        best_r[act[first_r]] = True
        best_d[act[first_d]] = True
        mutual = np.flatnonzero(best_r & best_d)
        ref_used[ri[mutual]] = True
        det_used[dj[mutual]] = True
        tp += mutual.size


def _rates(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    se = tp / (tp + fn) if tp + fn else float("nan")
    ppv = tp / (tp + fp) if tp + fp else float("nan")
    return {"tp": int(tp), "fp": int(fp), "fn": int(fn), "se": float(se), "ppv": float(ppv)}


def evaluate_detector(detected, reference, fs: float, tolerance_s: float = 0.15) -> dict[str, float | int]:
    """Score a beat detector against reference beat annotations of one record.

    A detection within ``tolerance_s`` of a reference beat (inclusive) is a true positive; each reference beat and
    each detection is matched at most once (closest pairs first), so a doubled detection counts once as a TP and
    once as a false positive. 150 ms is the matching window of ANSI/AAMI EC57.

    Parameters
    ----------
    detected, reference : array_like of int, shape (n_det,), (n_ref,)
        Sample indices (any order; duplicates allowed in ``detected``).
    fs : float
        Sampling rate in Hz.
    tolerance_s : float
        Matching window in seconds, each side.

    Returns
    -------
    dict
        ``tp``, ``fp``, ``fn`` (int); ``se`` = TP / (TP + FN), the sensitivity, NaN without reference beats;
        ``ppv`` = TP / (TP + FP), the positive predictivity (+P), NaN without detections.
    """
    fs = check_fs(fs)
    if not (np.isfinite(tolerance_s) and tolerance_s >= 0):
        raise ValueError(f"tolerance_s must be a non-negative number of seconds, got {tolerance_s!r}")
    det, ref = _peaks(detected, "detected"), _peaks(reference, "reference")
    # A small epsilon keeps the boundary inclusive despite float rounding (0.15 * 360 = 54.00000000000001).
    tol = int(np.floor(tolerance_s * fs + 1e-9))
    tp = _match(det, ref, tol) if det.size and ref.size else 0
    return _rates(tp, det.size - tp, ref.size - tp)


def aggregate_detection(results: Iterable[Mapping[str, float | int]]) -> dict[str, float | int]:
    """Gross statistics over records: TP, FP and FN summed, then Se and +P (the EC57 "gross" figures).

    Summing counts weights every beat equally; averaging per-record rates would weight a short record as much as
    a long one.
    """
    tp = fp = fn = 0
    for r in results:
        tp, fp, fn = tp + int(r["tp"]), fp + int(r["fp"]), fn + int(r["fn"])
    return _rates(tp, fp, fn)
