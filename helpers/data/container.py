"""The one data container every unit shares.

A loader turns whatever is on disk (WFDB records, CSV, pickles, ...) into a :class:`SignalDataset`, so that
splitting, windowing, training and plotting never need to know where the data came from. Unit 1 uses signals,
labels and ids; later units add, all optionally:

* ``channel_names`` (EEG montages, two-lead ECG, wrist sensors);
* per-record ``annotations``: points in time with a symbol (MIT-BIH beats and rhythm changes);
* per-record ``intervals``: spans of time with a label (WESAD's protocol conditions);
* continuous per-record ``targets`` beside the integer labels (DEAP's valence/arousal/dominance/liking, 1-9).
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SOURCES = ("real", "synthetic")


@dataclass
class Annotations:
    """Points in one record: ``sample`` (int64, sorted, in ``[0, n_samples)``), ``symbol`` (str), ``aux`` (str).

    ``aux`` carries WFDB's auxiliary note, e.g. ``"(AFIB"`` on a rhythm-change annotation; empty when unused.
    """

    sample: np.ndarray
    symbol: np.ndarray
    aux: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.sample = np.asarray(self.sample, dtype=np.int64).reshape(-1)
        self.symbol = np.asarray(self.symbol).astype(str).reshape(-1)
        self.aux = (np.full(self.sample.size, "", dtype=object).astype(str) if self.aux is None
                    else np.asarray(self.aux).astype(str).reshape(-1))

    def __len__(self) -> int:
        return int(self.sample.size)


@dataclass
class Intervals:
    """Labelled spans of one record: ``start_s`` < ``end_s`` (float64, seconds from the record's start), ``label``."""

    start_s: np.ndarray
    end_s: np.ndarray
    label: np.ndarray

    def __post_init__(self) -> None:
        self.start_s = np.asarray(self.start_s, dtype=np.float64).reshape(-1)
        self.end_s = np.asarray(self.end_s, dtype=np.float64).reshape(-1)
        self.label = np.asarray(self.label).astype(str).reshape(-1)

    def __len__(self) -> int:
        return int(self.start_s.size)


@dataclass
class SignalDataset:
    """A set of labelled physiological recordings.

    Attributes
    ----------
    signals : list of np.ndarray
        One float32 array per record, shape ``(n_samples,)`` for a single lead or ``(n_channels, n_samples)``,
        in physical units (mV for ECG, uV for EEG, arbitrary units for PPG). Records may differ in length.
    labels : np.ndarray
        int64, shape ``(n_records,)``; values index ``class_names``.
    fs : float
        Sampling rate in Hz, shared by all records.
    subject_ids : np.ndarray
        str, shape ``(n_records,)``; the patient or subject each record comes from (the grouping for
        patient-wise splits). Where a dataset has no patient ids, each record is its own subject.
    record_ids : np.ndarray
        str, shape ``(n_records,)``; unique record names as the source calls them.
    class_names : tuple of str
        Human-readable name of each label value.
    source : {"real", "synthetic"}
        Where the data came from. Notebooks show a banner when it is ``"synthetic"``.
    name : str
        Dataset name, e.g. ``"zenodo_af"``.
    metadata : dict
        Anything else worth keeping (path, licence, units, version, ...).
    channel_names : tuple of str, optional
        One name per channel (``n_channels`` of every record; 1 for single-lead records).
    annotations : list of Annotations, optional
        One per record: sample indices and symbols (e.g. beats).
    intervals : list of Intervals, optional
        One per record: labelled spans in seconds (e.g. protocol conditions).
    targets : np.ndarray, optional
        float64, shape ``(n_records, n_targets)``: continuous values per record (e.g. ratings 1-9).
    target_names : tuple of str, optional
        Name of each column of ``targets`` (required with ``targets``).
    """

    signals: list[np.ndarray]
    labels: np.ndarray
    fs: float
    subject_ids: np.ndarray
    record_ids: np.ndarray
    class_names: tuple[str, ...]
    source: str
    name: str
    metadata: dict[str, Any] = field(default_factory=dict)
    channel_names: tuple[str, ...] | None = None
    annotations: list[Annotations] | None = None
    intervals: list[Intervals] | None = None
    targets: np.ndarray | None = None
    target_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        n = len(self.signals)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.subject_ids = np.asarray(self.subject_ids).astype(str)
        self.record_ids = np.asarray(self.record_ids).astype(str)
        for attr in ("labels", "subject_ids", "record_ids"):
            if len(getattr(self, attr)) != n:
                raise ValueError(f"{self.name}: {attr} has {len(getattr(self, attr))} entries, expected {n} "
                                 "(one per signal)")
        if self.source not in SOURCES:
            raise ValueError(f"{self.name}: source must be one of {SOURCES}, got {self.source!r}")
        try:
            fs_ok = math.isfinite(float(self.fs)) and float(self.fs) > 0
        except (TypeError, ValueError):
            fs_ok = False
        if not fs_ok:
            raise ValueError(f"{self.name}: sampling rate must be a positive finite number of Hz, got {self.fs!r}")
        self.fs = float(self.fs)
        if n and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names)):
            raise ValueError(f"{self.name}: labels must lie in 0..{len(self.class_names) - 1} "
                             f"for classes {self.class_names}, got {sorted(set(self.labels.tolist()))}")
        ids, counts = np.unique(self.record_ids, return_counts=True)
        if (counts > 1).any():
            dup = ids[counts > 1]
            raise ValueError(f"{self.name}: record ids must be unique; {dup.size} appear more than once, e.g. "
                             f"{dup[:5].tolist()}")
        self._check_channels()
        self._check_per_record("annotations", Annotations, self._check_annotations)
        self._check_per_record("intervals", Intervals, self._check_intervals)
        self._check_targets()

    # ------------------------------------------------------------ validation of the optional fields

    def _n_channels(self, i: int) -> int:
        return 1 if self.signals[i].ndim == 1 else int(self.signals[i].shape[0])

    def _check_channels(self) -> None:
        if self.channel_names is None:
            return
        self.channel_names = tuple(str(c) for c in self.channel_names)
        for i in range(len(self)):
            if self._n_channels(i) != len(self.channel_names):
                raise ValueError(f"{self.name}: record {self.record_ids[i]} has {self._n_channels(i)} channel(s) but "
                                 f"channel_names lists {len(self.channel_names)}: {self.channel_names}")

    def _check_per_record(self, attr: str, kind: type, check) -> None:
        items = getattr(self, attr)
        if items is None:
            return
        items = list(items)
        if len(items) != len(self):
            raise ValueError(f"{self.name}: {attr} has {len(items)} entries, expected {len(self)} (one per record)")
        for i, item in enumerate(items):
            if not isinstance(item, kind):
                raise TypeError(f"{self.name}: {attr} of record {self.record_ids[i]} must be a {kind.__name__}, "
                                 f"got {type(item).__name__}")
            check(i, item)
        setattr(self, attr, items)

    def _check_annotations(self, i: int, a: Annotations) -> None:
        rec, n_samples = self.record_ids[i], self.signals[i].shape[-1]
        if not (a.sample.size == a.symbol.size == a.aux.size):
            raise ValueError(f"{self.name}: annotations of record {rec} have {a.sample.size} samples, "
                             f"{a.symbol.size} symbols and {a.aux.size} aux notes; they must match")
        if a.sample.size and (a.sample.min() < 0 or a.sample.max() >= n_samples):
            raise ValueError(f"{self.name}: annotations of record {rec} must lie in 0..{n_samples - 1} (the record's "
                             f"samples), got {a.sample.min()}..{a.sample.max()}")
        if a.sample.size and (np.diff(a.sample) < 0).any():
            raise ValueError(f"{self.name}: annotations of record {rec} are not in time order "
                             f"(first at index {int(np.argmax(np.diff(a.sample) < 0)) + 1})")

    def _check_intervals(self, i: int, iv: Intervals) -> None:
        rec, duration = self.record_ids[i], self.signals[i].shape[-1] / self.fs
        if not (iv.start_s.size == iv.end_s.size == iv.label.size):
            raise ValueError(f"{self.name}: intervals of record {rec} have {iv.start_s.size} starts, "
                             f"{iv.end_s.size} ends and {iv.label.size} labels; they must match")
        bad = ~(np.isfinite(iv.start_s) & np.isfinite(iv.end_s) & (iv.start_s < iv.end_s)
                & (iv.start_s >= 0) & (iv.end_s <= duration + 1e-9))
        if bad.any():
            j = int(np.argmax(bad))
            raise ValueError(f"{self.name}: interval {j} ({iv.label[j]!r}) of record {rec} spans "
                             f"{iv.start_s[j]:g}-{iv.end_s[j]:g} s; expected 0 <= start < end <= {duration:g} s "
                             "(the record's duration)")

    def _check_targets(self) -> None:
        if self.targets is None:
            if self.target_names is not None:
                raise ValueError(f"{self.name}: target_names given without targets")
            return
        t = np.asarray(self.targets, dtype=np.float64)
        if t.ndim == 1:
            t = t[:, None]
        if t.ndim != 2 or t.shape[0] != len(self):
            raise ValueError(f"{self.name}: targets must have shape (n_records={len(self)}, n_targets), "
                             f"got {np.shape(self.targets)}")
        names = tuple(str(s) for s in (self.target_names or ()))
        if len(names) != t.shape[1]:
            raise ValueError(f"{self.name}: targets have {t.shape[1]} column(s), target_names lists {len(names)}: "
                             f"{names}")
        if not np.isfinite(t).all():
            row = int(np.argmax(~np.isfinite(t).all(axis=1)))
            raise ValueError(f"{self.name}: targets of record {self.record_ids[row]} are not finite: {t[row].tolist()}")
        self.targets, self.target_names = t, names

    # ------------------------------------------------------------ views

    def __len__(self) -> int:
        return len(self.signals)

    def __repr__(self) -> str:
        return (f"SignalDataset(name={self.name!r}, source={self.source!r}, records={len(self)}, "
                f"subjects={self.n_subjects}, fs={self.fs:g} Hz, labels={self.label_counts()})")

    @property
    def n_subjects(self) -> int:
        return len(np.unique(self.subject_ids))

    def label_counts(self) -> dict[str, int]:
        """Number of records per class name."""
        counts = Counter(self.labels.tolist())
        return {name: int(counts.get(i, 0)) for i, name in enumerate(self.class_names)}

    def durations_s(self) -> np.ndarray:
        """Duration of each record in seconds, shape ``(n_records,)``."""
        return np.array([s.shape[-1] / self.fs for s in self.signals], dtype=np.float64)

    def subset(self, index: Sequence[int] | np.ndarray) -> SignalDataset:
        """A new dataset holding only the records at ``index`` (integer positions or a boolean mask)."""
        idx = np.arange(len(self))[np.asarray(index)]

        def pick(items):
            return None if items is None else [items[i] for i in idx]

        return SignalDataset(
            signals=[self.signals[i] for i in idx], labels=self.labels[idx], fs=self.fs,
            subject_ids=self.subject_ids[idx], record_ids=self.record_ids[idx], class_names=self.class_names,
            source=self.source, name=self.name, metadata=dict(self.metadata), channel_names=self.channel_names,
            annotations=pick(self.annotations), intervals=pick(self.intervals),
            targets=None if self.targets is None else self.targets[idx], target_names=self.target_names,
        )

    def info(self) -> dict[str, Any]:
        """A JSON-ready summary (what ``python -m helpers data info`` prints)."""
        out: dict[str, Any] = {
            "name": self.name,
            "source": self.source,
            "records": len(self),
            "subjects": self.n_subjects,
            "fs_hz": float(self.fs),
            "n_channels": max((self._n_channels(i) for i in range(len(self))), default=0),
            "label_counts": self.label_counts(),
            "total_duration_s": round(float(self.durations_s().sum()), 3),
        }
        if self.channel_names is not None:
            out["channel_names"] = list(self.channel_names)
        if self.annotations is not None:
            symbols = Counter(s for a in self.annotations for s in a.symbol.tolist())
            out["annotation_counts"] = dict(sorted(symbols.items()))
        if self.intervals is not None:
            out["interval_labels"] = dict(sorted(Counter(s for iv in self.intervals for s in iv.label.tolist()).items()))
        if self.targets is not None:
            out["targets"] = {n: [float(self.targets[:, j].min()), float(self.targets[:, j].max())]
                              for j, n in enumerate(self.target_names)}
        return out
