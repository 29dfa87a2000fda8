"""Cut a whole :class:`~helpers.data.container.SignalDataset` into fixed-length windows for a neural network."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import resample_poly, sosfilt_zi

from .filters import apply_sos, check_fs, design_bandpass, edge_padlen, resample_ratio, resample_taps

if TYPE_CHECKING:  # pragma: no cover
    from helpers.data.container import SignalDataset

__all__ = ["Windows", "make_windows"]


@dataclass
class Windows:
    """Fixed-length windows cut from a dataset, ready for a ``(B, C, T)`` model.

    Attributes
    ----------
    X : np.ndarray
        float32, shape (n_windows, n_channels, n_samples).
    y : np.ndarray
        int64, shape (n_windows,): the label of the record each window came from.
    groups : np.ndarray
        str, shape (n_windows,): subject id of each window; pass it to :mod:`helpers.splits` so that windows
        of one patient never land on both sides of a split.
    record_index : np.ndarray
        int64, shape (n_windows,): position of the source record in the dataset (to average window
        predictions back into one prediction per record).
    fs : float
        Sampling rate of ``X`` in Hz.
    start_s : np.ndarray
        float64, shape (n_windows,): start of each window within its record, in seconds.
    class_names : tuple of str
        Copied from the dataset.
    source : {"real", "synthetic"}
        Copied from the dataset, so plots can flag synthetic data.
    n_padded, n_skipped : int
        Records shorter than one window that were zero-padded or dropped.
    """

    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    record_index: np.ndarray
    fs: float
    start_s: np.ndarray
    class_names: tuple[str, ...] = ()
    source: str = "real"
    n_padded: int = 0
    n_skipped: int = 0

    def __len__(self) -> int:
        return len(self.y)

    def __repr__(self) -> str:
        return (f"Windows(X={self.X.shape} float32, fs={self.fs:g} Hz, records={len(np.unique(self.record_index))}, "
                f"subjects={len(np.unique(self.groups))}, labels={np.bincount(self.y).tolist()}, "
                f"source={self.source!r}, padded={self.n_padded}, skipped={self.n_skipped})")


def _check_records(dataset: SignalDataset) -> int:
    """Return the channel count shared by every record; raise naming the records that are bad."""
    bad, n_channels = [], None
    for rid, sig in zip(dataset.record_ids, dataset.signals):
        sig = np.asarray(sig)
        if sig.ndim not in (1, 2) or sig.shape[-1] == 0:
            raise ValueError(f"record {rid}: expected shape (T,) or (C, T) with T > 0, got shape {sig.shape}")
        c = 1 if sig.ndim == 1 else sig.shape[0]
        if n_channels is None:
            n_channels = c
        elif c != n_channels:
            raise ValueError(f"record {rid}: has {c} channel(s) (shape {sig.shape}) but earlier records have "
                             f"{n_channels}; every record must have the same channels")
        n_bad = int(sig.size - np.count_nonzero(np.isfinite(sig)))
        if n_bad:
            first = int(np.argwhere(~np.isfinite(sig))[0][-1])
            bad.append(f"{rid} ({n_bad} at sample {first} first)")
    if bad:
        raise ValueError(f"{len(bad)} record(s) contain NaN/inf values: {', '.join(bad[:5])}"
                         f"{' ...' if len(bad) > 5 else ''}; interpolate or drop them before windowing")
    return n_channels or 1


def make_windows(dataset: SignalDataset, window_s: float, step_s: float | None = None,
                 fs_out: float | None = None, max_windows_per_record: int | None = None, filter: bool = True,
                 *, low_hz: float | None = 0.5, high_hz: float | None = 40.0,
                 normalize: Literal["window", "record"] | None = "window",
                 short: Literal["pad", "skip"] = "pad") -> Windows:
    """Resample, filter, normalise and cut every record of a dataset into windows.

    Parameters
    ----------
    dataset : SignalDataset
        Records of shape (T,) or (C, T), any lengths, all with the same channel count.
    window_s : float
        Window length in seconds.
    step_s : float, optional
        Hop between window starts in seconds; default ``window_s`` (no overlap). Overlapping windows of one
        record are strongly correlated: split by ``groups``, never by window.
    fs_out : float, optional
        Resample to this rate in Hz first (e.g. 300 -> 125 Hz makes a CNN ~2.4x cheaper while keeping the
        QRS complex); default keeps ``dataset.fs``.
    max_windows_per_record : int, optional
        Keep at most this many windows per record, evenly spread over the record, so long records do not
        dominate training.
    filter : bool
        Band-pass ``low_hz``-``high_hz`` Hz (ECG defaults 0.5-40 Hz) before cutting.
    low_hz, high_hz : float or None
        Filter edges in Hz; ``None`` for a high- or low-pass only.
    normalize : {"window", "record", None}
        Z-score each window (default: removes amplitude differences between devices and patients),
        each whole record, or nothing.
    short : {"pad", "skip"}
        What to do with a record shorter than one window: ``"pad"`` (default) centres it in one zero-padded
        window, so every record yields at least one window; ``"skip"`` drops it. Either way the count is
        stored in ``n_padded`` / ``n_skipped`` and a warning says how many.

    Returns
    -------
    Windows
        ``X`` float32 (n, C, round(window_s * fs)), ``y``, ``groups``, ``record_index``, ``fs``, ``start_s``.
    """
    if not hasattr(dataset, "signals") or not hasattr(dataset, "labels"):
        raise TypeError(f"make_windows expects a SignalDataset, got {type(dataset).__name__}; "
                        "wrap arrays with helpers.data.container.SignalDataset")
    fs_in = check_fs(dataset.fs, "dataset.fs")
    fs = fs_in if fs_out is None else check_fs(fs_out, "fs_out")
    if window_s is None or window_s <= 0:
        raise ValueError(f"window_s must be a positive number of seconds, got {window_s!r}")
    step_s = window_s if step_s is None else step_s
    if step_s <= 0:
        raise ValueError(f"step_s must be a positive number of seconds, got {step_s!r}")
    if normalize not in ("window", "record", None):
        raise ValueError(f"normalize must be 'window', 'record' or None, got {normalize!r}")
    if short not in ("pad", "skip"):
        raise ValueError(f"short must be 'pad' or 'skip', got {short!r}")
    if max_windows_per_record is not None and max_windows_per_record < 1:
        raise ValueError(f"max_windows_per_record must be >= 1 or None, got {max_windows_per_record}")
    n_channels = _check_records(dataset)
    win, hop = int(round(window_s * fs)), max(1, int(round(step_s * fs)))
    if win < 2:
        raise ValueError(f"window_s={window_s} s is {win} sample(s) at {fs:g} Hz; need at least 2")

    # Filter at the lower of the two rates: fewer samples, and a cutoff must be below Nyquist there anyway.
    filter_first = fs_out is not None and fs > fs_in
    # Filters designed once, not per record: each design costs as much as filtering a 30 s record.
    fs_filter = fs_in if filter_first else fs
    sos = design_bandpass(fs_filter, low_hz, high_hz) if filter else None
    zi = sosfilt_zi(sos) if filter else None
    padlen = edge_padlen(fs_filter, low_hz)
    up, down = resample_ratio(fs_in, fs) if fs != fs_in else (1, 1)
    taps = resample_taps(up, down) if fs != fs_in else None
    records, starts_per_record, was_padded, n_padded, n_skipped = [], [], [], 0, 0
    for sig in dataset.signals:
        x = np.asarray(sig, dtype=np.float32).reshape(n_channels, -1)
        if filter and filter_first:
            x = apply_sos(sos, x, padlen=padlen, zi=zi)
        if fs != fs_in:
            x = resample_poly(x, up, down, axis=-1, window=taps).astype(np.float32, copy=False)
        if filter and not filter_first:
            x = apply_sos(sos, x, padlen=padlen, zi=zi)
        if normalize == "record" or (normalize == "window" and x.shape[-1] < win):
            x = _zscore(x)
        n_avail = x.shape[-1]
        is_padded = n_avail < win
        if is_padded:
            if short == "skip":
                n_skipped += 1
                records.append(x[:, :0])
                starts_per_record.append(np.zeros(0, dtype=np.int64))
                was_padded.append(False)
                continue
            n_padded += 1
            padded = np.zeros((n_channels, win), dtype=np.float32)
            off = (win - n_avail) // 2
            padded[:, off:off + n_avail] = x
            x = padded
            n_avail = win
        starts = np.arange(0, n_avail - win + 1, hop, dtype=np.int64)
        if max_windows_per_record is not None and len(starts) > max_windows_per_record:
            starts = starts[np.unique(np.linspace(0, len(starts) - 1, max_windows_per_record).round().astype(int))]
        records.append(x)
        starts_per_record.append(starts)
        was_padded.append(is_padded)
    if n_padded or n_skipped:
        warnings.warn(f"{n_padded + n_skipped} record(s) shorter than the {window_s:g} s window were "
                      f"{'zero-padded' if short == 'pad' else 'skipped'}", stacklevel=2)

    counts = np.array([len(s) for s in starts_per_record], dtype=np.int64)
    lengths = np.array([r.shape[-1] for r in records], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    global_starts = np.concatenate(starts_per_record + [np.zeros(0, np.int64)]) + np.repeat(offsets, counts)
    flat = np.concatenate(records, axis=-1) if records else np.zeros((n_channels, 0), np.float32)
    if len(global_starts):
        # All records laid end to end; a strided view then yields every window as one gather (no Python loop).
        X = sliding_window_view(flat, win, axis=-1)[:, global_starts]  # (C, n, T)
        X = np.ascontiguousarray(X.transpose(1, 0, 2), dtype=np.float32)  # (n, C, T)
    else:
        X = np.zeros((0, n_channels, win), np.float32)
    if normalize == "window" and len(X):
        # Padded records were normalised on their real samples only: z-scoring the zeros too would shift them.
        keep = ~np.repeat(np.array(was_padded, dtype=bool), counts)
        X = _zscore(X) if keep.all() else np.where(keep[:, None, None], _zscore(X), X)
    rec_idx = np.repeat(np.arange(len(records)), counts)
    starts_flat = np.concatenate(starts_per_record + [np.zeros(0, np.int64)])
    return Windows(
        X=X, y=np.asarray(dataset.labels, dtype=np.int64)[rec_idx], groups=np.asarray(dataset.subject_ids)[rec_idx],
        record_index=rec_idx, fs=fs, start_s=starts_flat / fs, class_names=tuple(dataset.class_names),
        source=getattr(dataset, "source", "real"), n_padded=n_padded, n_skipped=n_skipped,
    )


def _zscore(x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    # Computed in float32 with keepdims; the inputs here are already validated and finite.
    mean = x.mean(axis=-1, keepdims=True)
    std = x.std(axis=-1, keepdims=True)
    return ((x - mean) / (std + eps)).astype(np.float32, copy=False)
