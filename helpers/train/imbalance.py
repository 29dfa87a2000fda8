"""Class imbalance: four remedies for the rare beats of MIT-BIH, to compare on one split.

About 90% of MIT-BIH beats are normal and under 1% are fusion beats, so a classifier that never says F or S loses
little accuracy. The remedies, each a one-liner with :func:`rebalance`:

- ``"class_weights"``: the loss counts a rare beat more (``TrainConfig(class_weights="balanced")``: weight
  ``n / (k n_c)``); nothing is copied.
- ``"focal"``: the loss down-weights beats the model already gets right (``TrainConfig(loss="focal")``, Lin et
  al. 2017), whatever their class.
- ``"random"``: random oversampling, rare beats repeated (imbalanced-learn's ``RandomOverSampler``); more
  steps per epoch, and the repeated beats invite overfitting to the few rare beats there are.
- ``"smote_rr"``: SMOTE (Chawla et al. 2002) on the RR features, see below.

**Resample the training set only**, after the split: oversampled copies of one beat on both sides of a split are
leakage of the worst kind (the test beat *is* a training beat).

What SMOTE can and cannot do for beats
--------------------------------------
SMOTE makes a new example on the segment between a rare example and one of its k nearest rare neighbours. On a
small table of features (the 5 RR features) that is a plausible new example: a beat 30% early and one 40% early
make a beat 35% early. On raw waveforms it is not: the average of two V beats of different patients (different
widths, polarities, alignment) is a blurred chimera no heart produces, so :func:`oversample` refuses plain SMOTE on
``(n, C, L)`` signals. ``"smote_rr"`` therefore interpolates **only the RR features** and pairs each synthetic RR
vector with the waveform of its **nearest real beat of the same class** in RR space (usually one of its two
parents). For :class:`~helpers.models.beat_cnn.BeatCNN` this is random oversampling of waveforms with jittered,
class-consistent timing: it adds variety to the timing the model sees, never a new beat shape. For a feature-based
baseline (RR features + logistic regression), pass the ``(n, F)`` table and ``method="smote"``: plain SMOTE.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np

__all__ = ["METHODS", "STRATEGIES", "oversample", "rebalance", "target_counts"]

#: Resampling methods of :func:`oversample`.
METHODS = ("random", "smote", "smote_rr")
#: Remedies of :func:`rebalance`, "none" first: the order of a comparison table.
STRATEGIES = ("none", "class_weights", "focal", "random", "smote_rr")


def target_counts(y, sampling_strategy: str | float | dict = "auto") -> dict[int, int]:
    """How many examples each class should have after oversampling (never fewer than it has).

    Parameters
    ----------
    y : array_like of int, shape (n,)
    sampling_strategy : "auto", float or dict
        ``"auto"``: every class up to the majority's count (full balance). A float ``r`` in (0, 1]: every class up
        to at least ``r`` times the majority's count (``0.25``: rare classes reach a quarter of the normal
        beats: a quarter of the extra examples and training time of full balance). A dict ``{class: count}``.

    Returns
    -------
    dict of int to int
        Target count of each class that grows (classes already there are left out).
    """
    counts = Counter(np.asarray(y).tolist())
    if not counts:
        raise ValueError("y is empty: nothing to oversample")
    n_max = max(counts.values())
    if isinstance(sampling_strategy, str):
        if sampling_strategy != "auto":
            raise ValueError(f"sampling_strategy must be 'auto', a float in (0, 1] or a dict, got "
                             f"{sampling_strategy!r}")
        wanted = {c: n_max for c in counts}
    elif isinstance(sampling_strategy, dict):
        unknown = sorted(set(sampling_strategy) - set(counts))
        if unknown:
            raise ValueError(f"sampling_strategy names class(es) {unknown} absent from y (classes {sorted(counts)})")
        wanted = {c: int(n) for c, n in sampling_strategy.items()}
    elif isinstance(sampling_strategy, (float, int)) and 0 < sampling_strategy <= 1:
        wanted = {c: round(sampling_strategy * n_max) for c in counts}
    else:
        raise ValueError(f"sampling_strategy must be 'auto', a float in (0, 1] or a dict, got {sampling_strategy!r}")
    return {c: n for c, n in wanted.items() if n > counts[c]}


def oversample(X, y, method: str = "random", *, sampling_strategy: str | float | dict = "auto",
               rr_channels: int = 5, k_neighbors: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Oversample the rare classes of a training set (imbalanced-learn underneath).

    Parameters
    ----------
    X : np.ndarray, shape (n, C, L) or (n, F)
        Beats (e.g. :func:`~helpers.models.beat_cnn.beat_inputs`: waveform channels, then ``rr_channels`` RR
        channels constant over the window), or a feature table.
    y : array_like of int, shape (n,)
    method : {"random", "smote", "smote_rr"}
        ``"random"``: repeat randomly chosen examples of each rare class (any ``X``). ``"smote"``: plain SMOTE,
        feature tables ``(n, F)`` only. ``"smote_rr"``: beats ``(n, C, L)`` only: SMOTE on the RR channels, each
        synthetic RR vector paired with the waveform of the nearest real beat of its class (module docstring).
    sampling_strategy : "auto", float or dict
        See :func:`target_counts`.
    rr_channels : int
        ``"smote_rr"``: number of trailing channels of ``X`` that hold the RR features.
    k_neighbors : int
        SMOTE's neighbours (lowered to the size of the smallest class grown, minus one).
    seed : int

    Returns
    -------
    X_res, y_res : np.ndarray
        The original examples first, in their order, then the new ones; ``X_res`` has ``X``'s dtype.

    Raises
    ------
    ValueError
        Unknown method, SMOTE on raw waveforms, a class too small for SMOTE, or mismatched shapes.
    """
    from imblearn.over_sampling import SMOTE, RandomOverSampler

    X, y = np.asarray(X), np.asarray(y)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if X.ndim not in (2, 3) or len(X) != len(y) or y.ndim != 1:
        raise ValueError(f"X must be (n, C, L) beats or an (n, F) table with one label per row; got X {X.shape} "
                         f"and y {y.shape}")
    targets = target_counts(y, sampling_strategy)
    if not targets:
        return X.copy(), y.copy()
    if method == "random":
        # resample row indices, not the rows: imbalanced-learn would copy (n, C*L) floats through a 2-D view
        ros = RandomOverSampler(sampling_strategy=targets, random_state=seed)
        ros.fit_resample(np.zeros((len(y), 1)), y)
        idx = ros.sample_indices_
        return X[idx], y[idx]
    if method == "smote" and X.ndim == 3:
        raise ValueError(f"plain SMOTE on raw waveforms X {X.shape} would average beats of different patients into "
                         "shapes no heart produces; use method='smote_rr' (SMOTE on the RR channels, real "
                         "waveforms) or 'random', or pass an (n, F) feature table")
    if method == "smote_rr" and X.ndim != 3:
        raise ValueError(f"method='smote_rr' needs beats (n, C, L) whose last rr_channels={rr_channels} channels "
                         f"hold the RR features; got X {X.shape}; for a feature table use method='smote'")
    if method == "smote_rr" and not 0 < rr_channels < X.shape[1]:
        raise ValueError(f"rr_channels={rr_channels} must lie in 1..{X.shape[1] - 1} for X with {X.shape[1]} channels")
    feats = X if X.ndim == 2 else X[:, -rr_channels:, 0]  # the RR channels are constant: any sample will do
    counts = Counter(y.tolist())
    smallest = min(counts[c] for c in targets)
    if smallest < 2:
        c = min(targets, key=lambda c: counts[c])
        raise ValueError(f"class {c} has {counts[c]} example(s): SMOTE needs at least 2 to interpolate between; "
                         "use method='random' or leave the class out of sampling_strategy")
    smote = SMOTE(sampling_strategy=targets, k_neighbors=min(k_neighbors, smallest - 1), random_state=seed)
    f_res, y_res = smote.fit_resample(feats.astype(np.float64), y)
    if X.ndim == 2:
        return f_res.astype(X.dtype), y_res
    new_f, new_y = f_res[len(y):], y_res[len(y):]  # imbalanced-learn appends the synthetic rows
    donors = _nearest_same_class(feats, y, new_f, new_y)
    X_new = X[donors].copy()
    X_new[:, -rr_channels:, :] = new_f[:, :, None].astype(X.dtype)
    return np.concatenate([X, X_new]), np.concatenate([y, new_y])


def _nearest_same_class(feats: np.ndarray, y: np.ndarray, new_f: np.ndarray, new_y: np.ndarray) -> np.ndarray:
    """For each synthetic feature vector, the row of the closest real example of its class (Euclidean)."""
    from sklearn.neighbors import NearestNeighbors

    donors = np.empty(len(new_y), dtype=np.int64)
    for c in np.unique(new_y):
        rows = np.flatnonzero(y == c)
        mine = np.flatnonzero(new_y == c)
        nn = NearestNeighbors(n_neighbors=1).fit(feats[rows])
        donors[mine] = rows[nn.kneighbors(new_f[mine], return_distance=False)[:, 0]]
    return donors


def rebalance(strategy: str, X, y, config=None, *, sampling_strategy: str | float | dict = "auto",
              rr_channels: int = 5, seed: int = 0):
    """Apply one remedy of :data:`STRATEGIES` to a training set and its :class:`~helpers.train.TrainConfig`.

    Parameters
    ----------
    strategy : {"none", "class_weights", "focal", "random", "smote_rr"}
    X : np.ndarray, shape (n, C, L)
        Training beats (never the validation or test set).
    y : array_like of int, shape (n,)
    config : TrainConfig, optional
        The configuration shared by every strategy of a comparison (default ``TrainConfig()``).
    sampling_strategy, rr_channels, seed
        Passed to :func:`oversample`.

    Returns
    -------
    X, y, config
        The (possibly oversampled) training set and the config to train it with: ``class_weights="balanced"``
        or ``loss="focal"`` for the loss-based remedies, unchanged otherwise.

    Examples
    --------
    >>> for name in STRATEGIES:                                               # doctest: +SKIP
    ...     X_s, y_s, cfg = rebalance(name, X_train, y_train, TrainConfig(epochs=8))
    ...     fit(make_model(), (X_s, y_s), config=cfg)
    """
    from helpers.train import TrainConfig

    config = config or TrainConfig()
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    if strategy == "none":
        return X, y, config
    if strategy == "class_weights":
        return X, y, replace(config, class_weights="balanced")
    if strategy == "focal":
        return X, y, replace(config, loss="focal")
    X_res, y_res = oversample(X, y, strategy, sampling_strategy=sampling_strategy, rr_channels=rr_channels, seed=seed)
    return X_res, y_res, config
