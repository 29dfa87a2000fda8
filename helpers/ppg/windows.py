"""Windows and labels for Unit 4's stress monitor: WESAD condition records -> ``(n, C, T)`` windows, stress vs not.

The monitor answers one question a minute: "is the wearer under stress now?". So each condition record of
:func:`helpers.data.wesad.read` (baseline, stress, amusement, meditation) is cut into fixed windows (60 s at 64 Hz,
Schmidt et al. 2018's window) that inherit its condition, and the condition becomes a binary label, stress (the
TSST) against everything else, WESAD's "binary" task::

    ds = helpers.data.load("wesad", channels=("BVP",))
    w = stress_windows(ds, window_s=60.0, step_s=15.0)   # w.X (n, 1, 3840), w.y 0/1, w.groups subject ids

Normalisation: ``"subject"`` (default) z-scores each channel with the statistics of all of that subject's windows,
so that an EDA level means "high for this wearer" and the BVP amplitude (strap tightness, skin) is put on one
scale. It uses no labels, but it does use the test subject's whole recording: a deployed monitor would calibrate
on the wearer's own first day the same way. ``"window"`` z-scores each window alone (nothing shared across
windows; EDA and TEMP levels are lost); None keeps the loader's units.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from helpers.signal.normalise import normalise_per_subject
from helpers.signal.windows import Windows, make_windows

STRESS_CLASSES = ("non-stress", "stress")
NORMALIZE = ("subject", "window", None)


def binary_stress_labels(labels, class_names) -> np.ndarray:
    """1 where the condition is ``"stress"``, 0 for any other condition: int64, shape of ``labels``.

    Parameters
    ----------
    labels : array_like of int
        Condition indices into ``class_names`` (WESAD's ``("baseline", "stress", "amusement", "meditation")``).
    class_names : sequence of str
        Must contain ``"stress"``.
    """
    class_names = tuple(class_names)
    if "stress" not in class_names:
        raise ValueError(f"class_names must contain 'stress' to make stress/non-stress labels, got {class_names}")
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= len(class_names)):
        bad = labels[(labels < 0) | (labels >= len(class_names))][0]
        raise ValueError(f"label {bad} is not an index into class_names {class_names}")
    return (labels == class_names.index("stress")).astype(np.int64)


def stress_windows(dataset, window_s: float = 60.0, step_s: float | None = 30.0, *,
                   normalize: str | None = "subject", max_windows_per_record: int | None = None) -> Windows:
    """Cut WESAD condition records into windows labelled stress (1) or not (0).

    Parameters
    ----------
    dataset : SignalDataset
        From ``helpers.data.load("wesad", ...)`` with ``records="conditions"`` (the default).
    window_s, step_s : float
        Window length and hop in seconds (default 60 s every 30 s). A record shorter than one window is dropped.
    normalize : {"subject", "window", None}
        See the module docstring.
    max_windows_per_record : int, optional
        At most this many windows per record, spread evenly (the 20 min baseline would otherwise dominate).

    Returns
    -------
    Windows
        ``X`` float32 (n, C, window_s * fs); ``y`` 0/1 with ``class_names`` :data:`STRESS_CLASSES`; ``groups`` the
        subject of each window; ``record_index`` its record in ``dataset`` (its condition is
        ``dataset.labels[record_index]``); ``start_s`` within the record.
    """
    if normalize not in NORMALIZE:
        raise ValueError(f"normalize must be one of {NORMALIZE}, got {normalize!r}")
    if "stress" not in tuple(dataset.class_names):
        raise ValueError(f"expected WESAD condition records (class_names with 'stress'), got class_names "
                         f"{tuple(dataset.class_names)}: load with records='conditions'")
    # No band-pass: EDA and TEMP carry their information in slow levels that a PPG filter would remove, and the
    # E4's BVP is already high-passed by the device.
    w = make_windows(dataset, window_s, step_s, filter=False, normalize="window" if normalize == "window" else None,
                     short="skip", max_windows_per_record=max_windows_per_record)
    X = normalise_per_subject(w.X, w.groups) if normalize == "subject" and len(w) else w.X
    return replace(w, X=X, y=binary_stress_labels(w.y, w.class_names), class_names=STRESS_CLASSES)


def label_subset(y, fraction: float, seed: int = 0) -> np.ndarray:
    """Sorted positions of a stratified random ``fraction`` of ``y`` (at least one per class present).

    The labelled part of a label-efficiency experiment: the other windows of the training subjects are still
    there for self-supervised pre-training, without their labels.
    """
    y = np.asarray(y)
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(y):
        pos = np.flatnonzero(y == c)
        keep.append(rng.choice(pos, size=max(1, round(fraction * len(pos))), replace=False))
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)
