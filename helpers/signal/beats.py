"""Heartbeats as samples for a classifier: fixed windows around each beat and their RR features.

The pipeline of Unit 2 (MIT-BIH beat classification), one step per function:

1. filter each record (zero-phase band-pass, :func:`helpers.signal.filters.bandpass`: 0.5 Hz removes the
   baseline wander, 40 Hz the mains and muscle noise);
2. find the beats: the reference annotations (the cardiologists' fiducial points), or R peaks detected with
   neurokit2 (:func:`helpers.signal.peaks.detect_r_peaks`) and scored against the reference with
   :func:`helpers.signal.detection.evaluate_detector` (sensitivity and positive predictivity, as in ANSI/AAMI EC57);
3. cut a fixed window around every beat (:func:`beat_windows`);
4. describe its timing (:func:`beat_rr_features`): a supraventricular beat looks like a normal one, but comes early;
   early relative to *this* patient's rhythm, which :mod:`.patient_features` expresses (RR over the patient's mean
   RR, the beat relative to the patient's median beat) so that the features mean the same on a new patient;
5. :func:`beats_from_dataset` does all of it for a :class:`~helpers.data.container.SignalDataset` and returns a
   :class:`BeatSet` whose ``record``/``subject`` columns make patient-wise splits possible.

Everything is vectorised over beats (MIT-BIH holds ~110,000); only records are looped over.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .detection import _peaks, aggregate_detection, evaluate_detector
from .filters import _as_signal, bandpass, check_fs

if TYPE_CHECKING:  # pragma: no cover
    from helpers.data.container import SignalDataset

__all__ = [
    "BEAT_RR_FEATURES",
    "BEAT_SYMBOLS",
    "BeatSet",
    "beat_rr_features",
    "beat_windows",
    "beats_from_dataset",
]

#: MIT-BIH annotation codes that mark a heartbeat (WFDB's QRS codes); everything else ('+' rhythm change, '~' noise,
#: '|' artefact, 'x' non-conducted P wave, '"' comment ...) is not a beat.
BEAT_SYMBOLS: tuple[str, ...] = ("N", "L", "R", "B", "A", "a", "J", "S", "V", "r", "F", "e", "j", "n", "E", "/", "f",
                                 "Q", "?", "!")

#: Columns of :func:`beat_rr_features`.
BEAT_RR_FEATURES: tuple[str, ...] = ("rr_prev_s", "rr_next_s", "rr_local_s", "prev_over_local", "next_over_prev")


def beat_windows(signal, r_peaks, fs: float, before_s: float = 0.25,
                 after_s: float = 0.45) -> tuple[np.ndarray, np.ndarray]:
    """Cut a fixed window around each beat; beats too close to the record's edges are dropped.

    Parameters
    ----------
    signal : array_like, shape (C, T) or (T,)
        One record, time on the last axis (mV).
    r_peaks : array_like of int, shape (n,)
        Fiducial points (R peaks) as sample indices.
    fs : float
        Sampling rate in Hz.
    before_s, after_s : float
        Seconds kept before and after the fiducial point. The defaults (0.25 s + 0.45 s) hold the P wave, the QRS
        complex and the T wave at normal rates.

    Returns
    -------
    beats : np.ndarray
        float32, shape (n_kept, C, L) with ``L = round(before_s * fs) + round(after_s * fs)``; a (T,) signal is
        treated as C = 1. The fiducial point is at index ``round(before_s * fs)``.
    kept_index : np.ndarray
        int64, shape (n_kept,): positions in ``r_peaks`` of the beats kept (those whose whole window lies inside
        the record), so labels and RR features can be selected alike.
    """
    fs = check_fs(fs)
    x = _as_signal(signal)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2:
        raise ValueError(f"signal must have shape (C, T) or (T,), got shape {x.shape}")
    if before_s < 0 or after_s <= 0:
        raise ValueError(f"before_s must be >= 0 and after_s > 0 seconds, got before_s={before_s}, after_s={after_s}")
    peaks = _peaks(r_peaks)
    n_pre, n_post = round(before_s * fs), round(after_s * fs)
    starts = peaks - n_pre
    kept = np.flatnonzero((starts >= 0) & (peaks + n_post <= x.shape[-1]))
    # One fancy-indexing gather: (C, n_kept, L), no loop over beats.
    idx = starts[kept, None] + np.arange(n_pre + n_post)[None, :]
    beats = np.ascontiguousarray(np.moveaxis(x[:, idx], 0, 1), dtype=np.float32)
    return beats, kept


def beat_rr_features(r_peaks, fs: float, local_window: int = 10) -> np.ndarray:
    """RR-interval features of every beat (de Chazal et al. 2004): how early or late it comes.

    Parameters
    ----------
    r_peaks : array_like of int, shape (n,)
        Fiducial points of *all* beats of one record in time order (compute the features before dropping beats,
        or the intervals around a dropped beat double).
    fs : float
        Sampling rate in Hz.
    local_window : int
        Number of preceding RR intervals averaged into the local RR (causal: the beat's own pre-RR is left out,
        so a premature beat does not shorten its own reference).

    Returns
    -------
    np.ndarray
        float32, shape (n, 5), columns :data:`BEAT_RR_FEATURES`:

        * ``rr_prev_s``: interval from the previous beat (s);
        * ``rr_next_s``: interval to the next beat (s);
        * ``rr_local_s``: mean ``rr_prev_s`` of the up to ``local_window`` beats before this one (s);
        * ``prev_over_local``: ``rr_prev_s / rr_local_s`` (< 1 for a premature beat);
        * ``next_over_prev``: ``rr_next_s / rr_prev_s`` (> 1 after a premature beat: the pause).

        Edges: the first beat has no previous interval, so its ``rr_prev_s`` is its ``rr_next_s``; the last beat's
        ``rr_next_s`` is its ``rr_prev_s`` (ratios of 1, "neither early nor late"). The first beat's local RR is
        its own (copied) ``rr_prev_s``; beats with fewer than ``local_window`` predecessors average those they
        have. With fewer than two beats there is no interval: the rows are NaN.
    """
    fs = check_fs(fs)
    if int(local_window) != local_window or local_window < 1:
        raise ValueError(f"local_window must be a positive whole number of beats, got {local_window!r}")
    local_window = int(local_window)
    peaks = _peaks(r_peaks)
    n = peaks.size
    if n < 2:
        return np.full((n, len(BEAT_RR_FEATURES)), np.nan, dtype=np.float32)
    if np.any(np.diff(peaks) <= 0):
        i = int(np.argmax(np.diff(peaks) <= 0))
        raise ValueError(f"r_peaks must be strictly increasing; r_peaks[{i}]={peaks[i]} is followed by "
                         f"{peaks[i + 1]}")
    rr = np.diff(peaks) / fs                                  # (n-1,) seconds
    prev = np.r_[rr[0], rr]                                   # (n,)
    nxt = np.r_[rr, rr[-1]]
    # Mean of prev[i-w .. i-1] from a cumulative sum; the first beat (no predecessor) uses its own copied interval.
    csum = np.r_[0.0, np.cumsum(prev)]
    i = np.arange(n)
    hi = np.maximum(i, 1)
    lo = np.maximum(i - local_window, 0)
    local = (csum[hi] - csum[lo]) / (hi - lo)
    return np.stack([prev, nxt, local, prev / local, nxt / prev], axis=1).astype(np.float32)


@dataclass
class BeatSet:
    """Beats of a whole dataset, ready for a classifier.

    Attributes
    ----------
    X : np.ndarray
        float32, shape (n, C, L): the filtered beat windows (mV), fiducial point at ``round(before_s * fs)``.
    rr : np.ndarray
        float32, shape (n, 5): :func:`beat_rr_features`, columns :data:`BEAT_RR_FEATURES`.
    symbol : np.ndarray
        str, shape (n,): the reference beat symbol (MIT-BIH code).
    record, subject : np.ndarray
        str, shape (n,): where each beat comes from. Split on ``subject`` (or the de Chazal record lists), never
        on beats: beats of one patient on both sides of a split is the leakage this unit is about.
    sample : np.ndarray
        int64, shape (n,): the fiducial point within its record.
    fs : float
        Sampling rate in Hz.
    channel_names : tuple of str
        The C leads of ``X``.
    label : np.ndarray or None
        str, shape (n,): the class of each beat under ``symbol_to_class`` (e.g. AAMI N/S/V/F/Q); None without it.
    detection : dict
        With detected R peaks: the gross TP/FP/FN/Se/+P (:func:`aggregate_detection`) and ``per_record``.
    """

    X: np.ndarray
    rr: np.ndarray
    symbol: np.ndarray
    record: np.ndarray
    subject: np.ndarray
    sample: np.ndarray
    fs: float
    channel_names: tuple[str, ...] = ()
    label: np.ndarray | None = None
    detection: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.symbol.size)

    def __repr__(self) -> str:
        classes = self.label if self.label is not None else self.symbol
        names, counts = np.unique(classes, return_counts=True)
        return (f"BeatSet(beats={len(self)}, X={tuple(self.X.shape)}, records={np.unique(self.record).size}, "
                f"counts={dict(zip(names.tolist(), counts.tolist()))})")


def _nearest(ref: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Index of the closest element of the sorted, non-empty ``ref`` for every ``x`` (0 when ``ref`` is empty)."""
    if ref.size == 0:
        return np.zeros(x.size, dtype=np.int64)
    j = np.clip(np.searchsorted(ref, x), 0, ref.size - 1)
    left = np.clip(j - 1, 0, ref.size - 1)
    return np.where(np.abs(ref[left] - x) < np.abs(ref[j] - x), left, j)


def _channels(ds: SignalDataset, lead) -> list[int]:
    n_ch = 1 if ds.signals[0].ndim == 1 else ds.signals[0].shape[0]
    names = tuple(ds.channel_names) if ds.channel_names is not None else tuple(str(i) for i in range(n_ch))
    if lead is None:
        return list(range(n_ch))
    out = []
    for item in ([lead] if isinstance(lead, (str, int, np.integer)) else list(lead)):
        if isinstance(item, (int, np.integer)):
            if not 0 <= item < n_ch:
                raise ValueError(f"lead index {item} out of range for {n_ch} channel(s) {names}")
            out.append(int(item))
        elif item in names:
            out.append(names.index(item))
        else:
            raise ValueError(f"lead {item!r} not among the dataset's channels {names}")
    return out


def beats_from_dataset(ds: SignalDataset, lead: str | int | Sequence[str | int] | None = "MLII", *,
                       use_reference_peaks: bool = True, before_s: float = 0.25, after_s: float = 0.45,
                       symbol_to_class: Mapping[str, str] | None = None, low_hz: float | None = 0.5,
                       high_hz: float | None = 40.0, local_window: int = 10,
                       tolerance_s: float = 0.15) -> BeatSet:
    """Filter every record, find its beats, cut windows and compute RR features.

    Parameters
    ----------
    ds : SignalDataset
        Records with ``annotations`` (one :class:`~helpers.data.container.Annotations` per record).
    lead : str, int, sequence of them, or None
        Channel(s) to keep by name (``"MLII"``) or index; None keeps all. R peaks are detected on the first one.
    use_reference_peaks : bool
        True: the annotated beats are the fiducial points (the usual protocol for comparing classifiers). False:
        R peaks detected by neurokit2; each detection takes the symbol of the reference beat it matches within
        ``tolerance_s``, unmatched detections (false positives) are dropped, and ``BeatSet.detection`` holds the
        detector's scores.
    before_s, after_s : float
        Window around the fiducial point, seconds (see :func:`beat_windows`).
    symbol_to_class : mapping, optional
        Beat symbol -> class (e.g. ``helpers.data.mitbih.AAMI``). Beats whose symbol is not a key are dropped;
        the classes go to ``BeatSet.label``.
    low_hz, high_hz : float or None
        Band-pass edges in Hz (:func:`~helpers.signal.filters.bandpass`); both None skips filtering.
    local_window : int
        See :func:`beat_rr_features`.
    tolerance_s : float
        Matching window for detected beats, seconds.

    Returns
    -------
    BeatSet
        Beats in dataset order (records in order, beats in time). Beats whose window would run past the record's
        edges are dropped; RR features are computed on all beats first, so dropping does not distort them.
    """
    if ds.annotations is None:
        raise ValueError(f"{ds.name}: beats_from_dataset needs per-record annotations (ds.annotations is None)")
    fs = ds.fs
    chans = _channels(ds, lead)
    beat_codes = np.array(BEAT_SYMBOLS)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("X", "rr", "symbol", "record", "subject", "sample")}
    per_record = []
    for sig, ann, rec, subj in zip(ds.signals, ds.annotations, ds.record_ids, ds.subject_ids):
        x = (sig[None] if sig.ndim == 1 else sig)[chans]
        is_beat = np.isin(ann.symbol, beat_codes)
        ref, ref_sym = ann.sample[is_beat], ann.symbol[is_beat]
        if use_reference_peaks:
            peaks, sym = ref, ref_sym
        else:
            from .peaks import detect_r_peaks
            det = detect_r_peaks(x[0], fs)
            per_record.append({"record": str(rec), **evaluate_detector(det, ref, fs, tolerance_s)})
            # The symbol of the nearest reference beat, when it is within the tolerance.
            j = _nearest(ref, det)
            ok = (np.abs(ref[j] - det) <= tolerance_s * fs + 1e-9) if ref.size else np.zeros(det.size, dtype=bool)
            peaks, sym = det[ok], ref_sym[j[ok]]
        if low_hz is not None or high_hz is not None:
            x = bandpass(x, fs, low_hz, high_hz)
        rr = beat_rr_features(peaks, fs, local_window)
        keep_cls = np.isin(sym, list(symbol_to_class)) if symbol_to_class is not None else np.ones(sym.size, bool)
        beats, kept = beat_windows(x, peaks[keep_cls], fs, before_s, after_s)
        sel = np.flatnonzero(keep_cls)[kept]
        parts["X"].append(beats)
        parts["rr"].append(rr[sel])
        parts["symbol"].append(sym[sel])
        parts["sample"].append(peaks[sel])
        parts["record"].append(np.full(sel.size, rec))
        parts["subject"].append(np.full(sel.size, subj))
    n_ch, n_len = len(chans), round(before_s * fs) + round(after_s * fs)
    cat = {k: (np.concatenate(v) if v else None) for k, v in parts.items()}
    symbol = cat["symbol"].astype(str) if cat["symbol"] is not None else np.zeros(0, dtype=str)
    names = tuple(ds.channel_names[c] for c in chans) if ds.channel_names is not None else tuple(map(str, chans))
    detection = {**aggregate_detection(per_record), "per_record": per_record} if per_record else {}
    label = None
    if symbol_to_class is not None:
        # One dictionary lookup per distinct symbol, not per beat.
        uniq, inv = np.unique(symbol, return_inverse=True)
        label = np.array([symbol_to_class[s] for s in uniq.tolist()], dtype=str)[inv] if uniq.size else symbol
    return BeatSet(
        X=cat["X"] if cat["X"] is not None else np.zeros((0, n_ch, n_len), np.float32),
        rr=cat["rr"] if cat["rr"] is not None else np.zeros((0, len(BEAT_RR_FEATURES)), np.float32),
        symbol=symbol,
        record=cat["record"].astype(str) if cat["record"] is not None else np.zeros(0, dtype=str),
        subject=cat["subject"].astype(str) if cat["subject"] is not None else np.zeros(0, dtype=str),
        sample=cat["sample"].astype(np.int64) if cat["sample"] is not None else np.zeros(0, np.int64),
        fs=float(fs), channel_names=names,
        label=label,
        detection=detection,
    )
