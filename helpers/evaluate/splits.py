"""Train/validation/test splits that respect patients, and a check that they do.

Records (or windows) of one patient look alike: if a patient appears in training and in test, the test score
measures how well the model recognises that patient, not how well it generalises to new ones. Every
function here therefore takes ``groups`` (subject ids, scikit-learn's name for them) and keeps each subject on one
side. The work is done by scikit-learn's splitters; this module gives them the domain's names as ``cv=`` objects
(:class:`SubjectKFold`, :class:`LeaveOneSubjectOut`) and adds :func:`check_no_leakage`.
"""
from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    LeaveOneGroupOut,
    ShuffleSplit,
    StratifiedGroupKFold,
    StratifiedShuffleSplit,
)

# de_chazal_split is defined by the DS1/DS2/paced record lists; they belong to the dataset, and callers import them
# from helpers.data.mitbih_records, not from here.
from helpers.data.mitbih_records import DS1_RECORDS, DS2_RECORDS, PACED_RECORDS

__all__ = ["LeakageError", "LeaveOneSubjectOut", "SplitIndices", "SubjectKFold", "check_no_leakage", "class_ratios",
           "de_chazal_split", "describe_split", "positions", "train_val_test_split"]


# Resolution of grouped splits: test and validation sets are unions of 1/20 = 5 % folds.
_N_FOLDS = 20


class SplitIndices(NamedTuple):
    """Integer positions of the train, validation and test items (each int64, shape (n_set,), sorted)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


class LeakageError(ValueError):
    """Raised when one subject appears in more than one of the sets that should be disjoint."""


def _labels_groups(labels, groups) -> tuple[np.ndarray, np.ndarray | None]:
    y = np.asarray(labels)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"labels must be a non-empty 1D array of shape (n,), got shape {y.shape}")
    if groups is None:
        return y, None
    g = np.asarray(groups)
    if g.shape != y.shape:
        raise ValueError(f"groups must have one subject id per label: expected shape {y.shape}, got {g.shape}")
    return y, g.astype(str)


def _as_index(x) -> np.ndarray:
    return np.sort(np.asarray(x, dtype=np.int64))


def _stratified_cut(y: np.ndarray, pool: np.ndarray, size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split positions ``pool`` into (rest, taken) with ``size`` of them taken, stratified when possible."""
    if size <= 0:
        return pool, pool[:0]
    n_take = int(round(size * len(pool)))
    if n_take == 0 or n_take == len(pool):
        raise ValueError(f"cannot take {size:.0%} of {len(pool)} items: the result would be empty or everything")
    splitter = StratifiedShuffleSplit(n_splits=1, test_size=n_take, random_state=seed)
    n_present = len(np.unique(y[pool]))
    if min(Counter(y[pool].tolist()).values()) < 2 or n_present > min(n_take, len(pool) - n_take):
        # Stratification needs >= 2 items per class and room for every class on both sides: else plain shuffle.
        warnings.warn("a class has too few items to stratify; splitting without stratification", stacklevel=3)
        splitter = ShuffleSplit(n_splits=1, test_size=n_take, random_state=seed)
    rest, taken = next(splitter.split(np.zeros(len(pool)), y[pool]))
    return pool[rest], pool[taken]


def train_val_test_split(labels, groups=None, *, test_size: float = 0.2, val_size: float = 0.1,
                         seed: int = 0) -> SplitIndices:
    """Stratified train/validation/test split; patient-wise when ``groups`` are given.

    Parameters
    ----------
    labels : array_like, shape (n,)
        Class of each item (record or window).
    groups : array_like of str, shape (n,), optional
        Subject id of each item. When given, every subject lands in exactly one set. If every subject has a
        single class (and there are >= 20 subjects), the subjects themselves are split with a stratified
        shuffle (sizes and ratios count subjects). Otherwise the split is built from a 20-fold
        :class:`~sklearn.model_selection.StratifiedGroupKFold` (folds chosen to balance class ratios), taking
        ``round(test_size * 20)`` folds for test and ``round(val_size * 20)`` for validation; sizes are then
        multiples of ~5 % and class ratios hold approximately.
    test_size, val_size : float
        Fractions of all items in [0, 1); ``val_size=0`` gives an empty validation set.
    seed : int
        Same seed, same split.

    Returns
    -------
    SplitIndices
        ``(train, val, test)`` sorted int64 position arrays; unpack as ``train, val, test = ...``.
    """
    y, g = _labels_groups(labels, groups)
    for name, size in (("test_size", test_size), ("val_size", val_size)):
        if not 0 <= size < 1:
            raise ValueError(f"{name} must be a fraction in [0, 1), got {size}")
    if test_size + val_size >= 1:
        raise ValueError(f"test_size + val_size must leave room for training, got {test_size} + {val_size}")
    if g is None:
        rest, test = _stratified_cut(y, np.arange(len(y)), test_size, seed)
        # val_size is a fraction of the whole set, so rescale it to the fraction of what is left.
        train, val = _stratified_cut(y, rest, val_size / (1 - test_size), seed + 1)
        return SplitIndices(_as_index(train), _as_index(val), _as_index(test))

    subjects, subject_of = np.unique(g, return_inverse=True)
    first_label = y[np.unique(subject_of, return_index=True)[1]]
    if np.all(y == first_label[subject_of]) and len(subjects) >= 20:
        # Every subject has one class (e.g. one record per patient): a stratified split of the subjects is
        # exact, and ~100x faster than StratifiedGroupKFold's per-subject Python loop on thousands of subjects.
        rest, test = _stratified_cut(first_label, np.arange(len(subjects)), test_size, seed)
        train, val = _stratified_cut(first_label, rest, val_size / (1 - test_size), seed + 1)
        pick = [np.flatnonzero(np.isin(subject_of, s)) for s in (train, val, test)]
        return SplitIndices(*(_as_index(p) for p in pick))
    return _grouped_fold_split(y, g, len(subjects), test_size, val_size, seed)


def _grouped_fold_split(y, g, n_groups, test_size, val_size, seed) -> SplitIndices:
    """Subjects with mixed classes: unions of StratifiedGroupKFold folds (class ratios hold approximately)."""
    n_folds = min(_N_FOLDS, n_groups)
    n_test = int(round(test_size * n_folds)) if test_size > 0 else 0
    n_val = int(round(val_size * n_folds)) if val_size > 0 else 0
    n_test, n_val = max(n_test, int(test_size > 0)), max(n_val, int(val_size > 0))
    if n_test + n_val >= n_folds:
        raise ValueError(f"{n_groups} subjects are too few for test_size={test_size} and val_size={val_size} "
                         "with at least one subject left for training")
    with warnings.catch_warnings():
        # sklearn warns when a class has fewer members than folds; the folds are still valid, only less balanced.
        warnings.simplefilter("ignore", UserWarning)
        sgkf = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        folds = [test for _, test in sgkf.split(np.zeros(len(y)), y, g)]
    order = np.random.default_rng(seed).permutation(n_folds)
    test = np.concatenate([folds[i] for i in order[:n_test]] + [np.zeros(0, np.int64)])
    val = np.concatenate([folds[i] for i in order[n_test:n_test + n_val]] + [np.zeros(0, np.int64)])
    train = np.concatenate([folds[i] for i in order[n_test + n_val:]])
    return SplitIndices(_as_index(train), _as_index(val), _as_index(test))


class SubjectKFold:
    """Stratified K-fold cross-validation with each subject in exactly one test fold: a scikit-learn ``cv=``.

    Usable wherever scikit-learn takes a splitter (``cross_val_score(model, X, y, groups=g, cv=SubjectKFold(5))``,
    ``GridSearchCV(..., cv=SubjectKFold(5))`` with ``fit(X, y, groups=g)``) or directly::

        for train, test in SubjectKFold(n_splits=5, seed=0).split(X, y, groups):
            ...

    Parameters
    ----------
    n_splits : int
        Number of folds (at least 2, at most the number of subjects).
    seed : int
        Shuffling seed: the same seed gives the same folds.

    Notes
    -----
    The folds come from scikit-learn's :class:`~sklearn.model_selection.StratifiedGroupKFold` (subjects assigned
    to balance each fold's class ratios); this class adds the checks with messages that name the problem, and
    sorted int64 positions.
    """

    def __init__(self, n_splits: int = 5, seed: int = 0):
        self.n_splits = n_splits
        self.seed = seed

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return self.n_splits

    def split(self, X=None, y=None, groups=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train, test)`` sorted int64 position arrays, one pair per fold.

        Parameters
        ----------
        X : array_like, shape (n, ...), optional
            Ignored (scikit-learn's signature); the positions come from ``y`` and ``groups``.
        y : array_like, shape (n,)
            Class of each item.
        groups : array_like, shape (n,)
            Subject id of each item.
        """
        if y is None:
            raise ValueError("SubjectKFold.split needs y (one class per item) to stratify the folds")
        labels, g = _labels_groups(y, groups)
        if g is None:
            raise ValueError("SubjectKFold.split needs groups (one subject id per item)")
        n_groups = len(np.unique(g))
        if not 2 <= self.n_splits <= n_groups:
            raise ValueError(f"n_splits must be between 2 and the number of subjects ({n_groups}), got "
                             f"{self.n_splits}")
        sgkf = StratifiedGroupKFold(n_splits=self.n_splits, shuffle=True, random_state=self.seed)
        for train, test in sgkf.split(np.zeros(len(labels)), labels, g):
            yield _as_index(train), _as_index(test)

    def __repr__(self) -> str:
        return f"SubjectKFold(n_splits={self.n_splits}, seed={self.seed})"


class LeaveOneSubjectOut:
    """Leave-one-subject-out cross-validation (LOSO): each test fold is all items of one subject; a ``cv=``.

    Folds come in sorted subject order. ``split(X, y, groups)`` yields sorted int64 ``(train, test)`` positions;
    ``get_n_splits(groups=g)`` is the number of subjects. Needs at least 2 subjects.
    """

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return len(np.unique(self._groups(groups)))

    def split(self, X=None, y=None, groups=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        g = self._groups(groups)
        for train, test in LeaveOneGroupOut().split(np.zeros(len(g)), groups=g):
            yield _as_index(train), _as_index(test)

    @staticmethod
    def _groups(groups) -> np.ndarray:
        if groups is None:
            raise ValueError("LeaveOneSubjectOut needs groups (one subject id per item)")
        g = np.asarray(groups).astype(str)
        if g.ndim != 1 or len(np.unique(g)) < 2:
            raise ValueError(f"LeaveOneSubjectOut needs a 1D array of subject ids with at least 2 subjects, got "
                             f"shape {g.shape} with {len(np.unique(g))} subject(s)")
        return g

    def __repr__(self) -> str:
        return "LeaveOneSubjectOut()"


def check_no_leakage(groups, *index_sets, names: Sequence[str] | None = None) -> bool:
    """Raise :class:`LeakageError` if any subject appears in more than one of ``index_sets``.

    Parameters
    ----------
    groups : array_like of str, shape (n,)
        Subject id of each item.
    *index_sets : array_like of int
        Positions of each set (e.g. ``train, val, test``).
    names : sequence of str, optional
        Names of the sets for the message; default train/val/test for three sets, else set0, set1, ...

    Returns
    -------
    bool
        True when the sets share no subject (so ``assert check_no_leakage(...)`` reads naturally).
    """
    g = np.asarray(groups).astype(str)
    if len(index_sets) < 2:
        raise ValueError(f"check_no_leakage needs at least two index sets, got {len(index_sets)}")
    index_sets = tuple(positions(ix, len(g), k) for k, ix in enumerate(index_sets))
    if names is None:
        names = ("train", "val", "test")[:len(index_sets)] if len(index_sets) <= 3 else \
            [f"set{i}" for i in range(len(index_sets))]
    if len(names) != len(index_sets):
        raise ValueError(f"got {len(names)} names for {len(index_sets)} index sets")
    subjects = [set(g[ix].tolist()) for ix in index_sets]
    problems = []
    for i in range(len(subjects)):
        for j in range(i + 1, len(subjects)):
            shared = sorted(subjects[i] & subjects[j])
            if shared:
                more = f" and {len(shared) - 10} more" if len(shared) > 10 else ""
                problems.append(f"{names[i]} and {names[j]} share {len(shared)} subject(s): "
                                f"{', '.join(shared[:10])}{more}")
    if problems:
        raise LeakageError("subject leakage between sets: " + "; ".join(problems))
    return True


def positions(ix, n: int, k: int = 0) -> np.ndarray:
    """Integer positions (int64, shape (m,)) from an index array or a boolean mask of length ``n``.

    ``k`` numbers the index set in error messages. Anything else (floats, 2D arrays, positions out of range, a
    mask of the wrong length) is refused with a ``ValueError`` that says which.

    A boolean mask read as integers would be positions 0 and 1: a correct split would look leaky and a leaky one
    would name the wrong subjects, so masks are converted explicitly.
    """
    a = np.asarray(ix)
    if a.dtype == bool:
        if a.shape != (n,):
            raise ValueError(f"index set {k} is a boolean mask of shape {a.shape}, but there are {n} groups: a mask "
                             "needs one True/False per item")
        return np.flatnonzero(a)
    if a.size == 0:
        return a.astype(np.int64).reshape(0)
    if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"index set {k} must be integer positions or a boolean mask of length {n}, got dtype "
                         f"{a.dtype} and shape {a.shape}")
    if a.min() < -n or a.max() >= n:
        raise ValueError(f"index set {k} holds positions up to {a.max()} but there are only {n} groups")
    return a.astype(np.int64)


def de_chazal_split(record_ids, *, exclude_paced: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The inter-patient MIT-BIH split: items of DS1 records to train, items of DS2 records to test.

    Parameters
    ----------
    record_ids : array_like of str, shape (n,)
        The MIT-BIH record each item (beat, window or record) comes from.
    exclude_paced : bool
        Leave the paced records (102, 104, 107, 217) out, as the convention does. They are in neither DS1 nor DS2,
        so with ``False`` they go to the training side (their beats are then mostly class Q).

    Returns
    -------
    train, test : np.ndarray
        int64 positions (sorted). Records in neither list (and not paced) are left out of both.
    """
    r = np.asarray(record_ids).astype(str)
    train_records = DS1_RECORDS if exclude_paced else DS1_RECORDS + PACED_RECORDS
    train, test = np.flatnonzero(np.isin(r, train_records)), np.flatnonzero(np.isin(r, DS2_RECORDS))
    return train, test


def class_ratios(labels, index=None) -> dict[int, float]:
    """Fraction of each class among ``labels[index]`` (all labels when ``index`` is None), keyed by label."""
    y = np.asarray(labels)
    if index is not None:
        y = y[np.asarray(index, dtype=np.int64)]
    if y.size == 0:
        return {}
    values, counts = np.unique(y, return_counts=True)
    return {v.item(): float(c / y.size) for v, c in zip(values, counts)}


def describe_split(labels, groups, split: SplitIndices | Sequence, class_names: Sequence[str] | None = None,
                   names: Sequence[str] = ("train", "val", "test")) -> pd.DataFrame:
    """One row per set: number of items and subjects, and the fraction of each class (a table to show)."""
    y = np.asarray(labels)
    g = None if groups is None else np.asarray(groups).astype(str)
    classes = np.unique(y)
    label_name = {c: (class_names[int(c)] if class_names is not None else str(c)) for c in classes}
    rows = []
    for ix in split:
        ix = np.asarray(ix, dtype=np.int64)
        ratios = class_ratios(y, ix)
        row = {"items": len(ix), "subjects": len(np.unique(g[ix])) if g is not None else np.nan}
        row.update({f"frac_{label_name[c]}": ratios.get(c.item(), 0.0) for c in classes})
        rows.append(row)
    return pd.DataFrame(rows, index=pd.Index(list(names)[:len(rows)], name="set"))
