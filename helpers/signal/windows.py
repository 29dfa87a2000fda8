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
        str, shape (n_windows,): subject id of each window; pass it to :mod:`helpers.evaluate.splits` so that windows
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
    win, hop = _check_window_args(fs, window_s, step_s, normalize, short, max_windows_per_record)
    n_channels = _check_records(dataset)
    # Step 1: every record filtered, resampled and (record-)normalised, at its own length.
    preprocess = _Preprocess(fs_in, fs, low_hz, high_hz) if filter else _Preprocess(fs_in, fs, None, None, False)
    records, starts_per_record, was_padded, n_skipped = [], [], [], 0
    for sig in dataset.signals:
        x = preprocess(np.asarray(sig, dtype=np.float32).reshape(n_channels, -1))
        if normalize == "record" or (normalize == "window" and x.shape[-1] < win):
            x = _zscore(x)
        # Step 2: where its windows start (a short record is padded to one window, or skipped).
        is_short = x.shape[-1] < win
        if is_short and short == "skip":
            x, starts, n_skipped = x[:, :0], np.zeros(0, dtype=np.int64), n_skipped + 1
        else:
            x = _pad_to(x, win) if is_short else x
            starts = _window_starts(x.shape[-1], win, hop, max_windows_per_record)
        records.append(x)
        starts_per_record.append(starts)
        was_padded.append(is_short and short == "pad")
    n_padded = int(sum(was_padded))
    if n_padded or n_skipped:
        warnings.warn(f"{n_padded + n_skipped} record(s) shorter than the {window_s:g} s window were "
                      f"{'zero-padded' if short == 'pad' else 'skipped'}", stacklevel=2)
    # Step 3: cut all windows in one gather, then normalise each window.
    counts = np.array([len(st) for st in starts_per_record], dtype=np.int64)
    X = _cut(records, starts_per_record, win, n_channels)
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


def _check_window_args(fs: float, window_s, step_s, normalize, short, max_windows_per_record) -> tuple[int, int]:
    """Window and hop in samples at ``fs``; raise naming the first argument that is not valid."""
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
    win, hop = int(round(window_s * fs)), max(1, int(round(step_s * fs)))
    if win < 2:
        raise ValueError(f"window_s={window_s} s is {win} sample(s) at {fs:g} Hz; need at least 2")
    return win, hop


class _Preprocess:
    """Band-pass and resample one record ``(C, T)`` float32; the filter and resampler are designed once.

    The filter runs at the lower of the two rates: fewer samples, and its cutoff must be below Nyquist there
    anyway. Designing once matters: each design costs as much as filtering a 30 s record.
    """

    def __init__(self, fs_in: float, fs: float, low_hz: float | None, high_hz: float | None, enabled: bool = True):
        self.fs_in, self.fs, self.enabled = fs_in, fs, enabled
        self.filter_first = fs > fs_in
        fs_filter = fs_in if self.filter_first else fs
        self.sos = design_bandpass(fs_filter, low_hz, high_hz) if enabled else None
        self.zi = sosfilt_zi(self.sos) if enabled else None
        self.padlen = edge_padlen(fs_filter, low_hz) if enabled else 0
        self.up, self.down = resample_ratio(fs_in, fs) if fs != fs_in else (1, 1)
        self.taps = resample_taps(self.up, self.down) if fs != fs_in else None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.enabled and self.filter_first:
            x = apply_sos(self.sos, x, padlen=self.padlen, zi=self.zi)
        if self.fs != self.fs_in:
            x = resample_poly(x, self.up, self.down, axis=-1, window=self.taps).astype(np.float32, copy=False)
        if self.enabled and not self.filter_first:
            x = apply_sos(self.sos, x, padlen=self.padlen, zi=self.zi)
        return x


def _pad_to(x: np.ndarray, win: int) -> np.ndarray:
    """A record shorter than one window, centred in ``win`` zero-padded samples."""
    padded = np.zeros((x.shape[0], win), dtype=np.float32)
    off = (win - x.shape[-1]) // 2
    padded[:, off:off + x.shape[-1]] = x
    return padded


def _window_starts(n_samples: int, win: int, hop: int, max_windows: int | None) -> np.ndarray:
    """int64 start samples of every whole window; at most ``max_windows``, evenly spread over the record."""
    starts = np.arange(0, n_samples - win + 1, hop, dtype=np.int64)
    if max_windows is not None and len(starts) > max_windows:
        starts = starts[np.unique(np.linspace(0, len(starts) - 1, max_windows).round().astype(int))]
    return starts


def _cut(records: list[np.ndarray], starts_per_record: list[np.ndarray], win: int, n_channels: int) -> np.ndarray:
    """All windows ``(n, C, win)`` float32: records laid end to end, one strided gather (no Python loop)."""
    counts = np.array([len(st) for st in starts_per_record], dtype=np.int64)
    lengths = np.array([r.shape[-1] for r in records], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    global_starts = np.concatenate(starts_per_record + [np.zeros(0, np.int64)]) + np.repeat(offsets, counts)
    if not len(global_starts):
        return np.zeros((0, n_channels, win), np.float32)
    flat = np.concatenate(records, axis=-1)
    X = sliding_window_view(flat, win, axis=-1)[:, global_starts]  # (C, n, T)
    return np.ascontiguousarray(X.transpose(1, 0, 2), dtype=np.float32)  # (n, C, T)


def _zscore(x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    # Computed in float32 with keepdims; the inputs here are already validated and finite.
    mean = x.mean(axis=-1, keepdims=True)
    std = x.std(axis=-1, keepdims=True)
    return ((x - mean) / (std + eps)).astype(np.float32, copy=False)
