"""The one data container every unit shares.

A loader turns whatever is on disk (WFDB records, CSV, pickles, ...) into a :class:`SignalDataset`, so that
splitting, windowing, training and plotting never need to know where the data came from.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

SOURCES = ("real", "synthetic")


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
        if not self.fs or self.fs <= 0:
            raise ValueError(f"{self.name}: sampling rate must be positive, got {self.fs!r}")
        if n and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names)):
            raise ValueError(f"{self.name}: labels must lie in 0..{len(self.class_names) - 1} "
                             f"for classes {self.class_names}, got {sorted(set(self.labels.tolist()))}")

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

    def subset(self, index: Sequence[int] | np.ndarray) -> "SignalDataset":
        """A new dataset holding only the records at ``index`` (integer positions or a boolean mask)."""
        idx = np.arange(len(self))[np.asarray(index)]
        return SignalDataset(
            signals=[self.signals[i] for i in idx], labels=self.labels[idx], fs=self.fs,
            subject_ids=self.subject_ids[idx], record_ids=self.record_ids[idx], class_names=self.class_names,
            source=self.source, name=self.name, metadata=dict(self.metadata),
        )

    def info(self) -> dict[str, Any]:
        """A JSON-ready summary (what ``python -m helpers data info`` prints)."""
        return {
            "name": self.name,
            "source": self.source,
            "records": len(self),
            "subjects": self.n_subjects,
            "fs_hz": float(self.fs),
            "label_counts": self.label_counts(),
            "total_duration_s": float(self.durations_s().sum()),
        }
