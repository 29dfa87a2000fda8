"""Subject-independent (leave-one-subject-out) vs subject-dependent evaluation, one row per subject.

Leave-one-subject-out (LOSO) answers the question a product asks: how well does the model do on a person it has
never seen? Each fold trains on all subjects but one and tests on that one (scikit-learn's ``LeaveOneGroupOut``
underneath, through :class:`helpers.evaluate.splits.LeaveOneSubjectOut`, with :func:`helpers.evaluate.splits.check_no_leakage` on
every fold). Published subject-independent DEAP accuracies are modest: often 55-65% for high/low valence or
arousal, against a majority-class rate of about 55-60%.

The subject-dependent protocol trains and tests within each subject (k-fold inside the subject). With
``split="window"``, windows of one trial land on both sides, and the model can recognise the *trial* (its state,
its electrodes that day) rather than the emotion: the figures this gives are much higher, and many published
"90%+" DEAP results use it. ``split="trial"`` keeps each trial's windows together and is the honest
within-subject figure. Compare the three to see how much a protocol can flatter a result.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GroupKFold, StratifiedKFold

from helpers.evaluate.degenerate import classification_flags, show
from helpers.evaluate.splits import LeaveOneSubjectOut, check_no_leakage

__all__ = ["fit_predict", "loso_evaluate", "subject_dependent_evaluate", "summarise_folds"]


def fit_predict(model, X_train, y_train, X_test, *, train_config=None) -> np.ndarray:
    """Fit a fresh copy of ``model`` and return P(class 1) on ``X_test``.

    Parameters
    ----------
    model : sklearn estimator, or callable returning a torch model
        An estimator (with ``fit`` and ``predict_proba``) is cloned; a factory ``model()`` builds a new
        :class:`~helpers.models.SignalModel` that :func:`helpers.train.fit` trains with ``train_config``.
    X_train, X_test : array
        Features ``(n, F)`` for an estimator, windows or segments ``(n, C, L)`` for a torch model.
    y_train : array of int, shape (n,)
    train_config : helpers.train.TrainConfig, optional
        For torch models; default a short quiet CPU run.

    Returns
    -------
    np.ndarray
        float64 ``(n_test,)``.
    """
    if hasattr(model, "fit") and hasattr(model, "predict_proba"):
        est = clone(model).fit(X_train, y_train)
        return np.asarray(est.predict_proba(X_test))[:, 1].astype(np.float64)
    if not callable(model):
        raise TypeError(f"model must be an sklearn estimator or a callable that builds a torch model, "
                        f"got {type(model).__name__}")
    from helpers.train import (  # torch only when a torch model is evaluated
        TrainConfig,
        fit,
        predict_proba,
    )

    cfg = train_config or TrainConfig(epochs=5, batch_size=64, progress=False, device="cpu")
    net = model()
    fit(net, (np.ascontiguousarray(X_train, np.float32), np.asarray(y_train, np.int64)), config=cfg)
    return predict_proba(net, np.ascontiguousarray(X_test, np.float32))[:, 1].astype(np.float64)


def _scores(y: np.ndarray, p: np.ndarray, trial_ids: np.ndarray | None, name: str) -> dict:
    pred = (p >= 0.5).astype(int)
    # degenerate folds (helpers.evaluate.degenerate) are printed as they are scored and named in the table's `flags`
    flags = show(classification_flags(y, pred, name=name))
    out = {"n_test": len(y), "accuracy": float((pred == y).mean()),
           "balanced_accuracy": float(balanced_accuracy_score(y, pred)) if len(np.unique(y)) == 2 else np.nan,
           # what "always say the test set's commoner class" would score: a subject-specific floor
           "majority": float(max(y.mean(), 1 - y.mean()))}
    if trial_ids is not None:  # one prediction per trial: the mean probability of its windows
        t = np.asarray(trial_ids).astype(str)
        uniq, inv = np.unique(t, return_inverse=True)
        pt = np.bincount(inv, weights=p) / np.bincount(inv)
        yt = np.bincount(inv, weights=y) / np.bincount(inv)
        out["trial_accuracy"] = float(((pt >= 0.5) == (yt >= 0.5)).mean())
        out["n_trials"] = len(uniq)
    out["flags"] = ", ".join(f.code for f in flags)
    return out


def loso_evaluate(model, X, y, groups, *, trial_ids=None, train_config=None, subjects=None,
                  transform: Callable | None = None, verbose: bool = False) -> pd.DataFrame:
    """Leave-one-subject-out cross-validation: one fold per subject, one row per held-out subject.

    Parameters
    ----------
    model : sklearn estimator, or callable returning a torch model
        See :func:`fit_predict`; a fresh copy is trained in every fold.
    X : array, shape (n, F) or (n, C, L)
    y : array of int, shape (n,)
        0/1 labels.
    groups : array of str, shape (n,)
        Subject of each row.
    trial_ids : array of str, shape (n,), optional
        Adds ``trial_accuracy`` (windows averaged into one prediction per trial).
    train_config : helpers.train.TrainConfig, optional
        For torch models.
    subjects : sequence of str, optional
        Only these held-out folds (the others still train every fold): a CI-sized run.
    transform : callable, optional
        ``transform(X_train, X_test, groups_train, groups_test) -> (X_train, X_test)`` applied inside each fold,
        for preprocessing that must be fitted on training subjects only.
    verbose : bool
        Print one line per fold.

    Returns
    -------
    pandas.DataFrame
        One row per held-out subject: ``subject``, ``n_test``, ``accuracy``, ``balanced_accuracy``,
        ``majority``, ``trial_accuracy`` and ``n_trials`` (with ``trial_ids``), ``fit_s``, and ``flags`` (the
        :mod:`helpers.evaluate.degenerate` codes of the fold, comma-separated; also printed as the fold is scored). Summarise with
        :func:`summarise_folds`; plot with :func:`helpers.eeg.plot_per_subject`.
    """
    X, y, g = np.asarray(X), np.asarray(y).astype(np.int64), np.asarray(groups).astype(str)
    if not (len(X) == len(y) == len(g)):
        raise ValueError(f"X, y and groups must have the same length, got {len(X)}, {len(y)} and {len(g)}")
    rows = []
    for train, test in LeaveOneSubjectOut().split(groups=g):
        check_no_leakage(g, train, test, names=("train", "test"))
        subject = str(g[test[0]])
        if subjects is not None and subject not in subjects:
            continue
        Xtr, Xte = X[train], X[test]
        if transform is not None:
            Xtr, Xte = transform(Xtr, Xte, g[train], g[test])
        t0 = time.perf_counter()
        p = fit_predict(model, Xtr, y[train], Xte, train_config=train_config)
        row = {"subject": subject, **_scores(y[test], p, None if trial_ids is None else np.asarray(trial_ids)[test],
                                                  f"held out {subject}"),
               "fit_s": time.perf_counter() - t0}
        rows.append(row)
        if verbose:
            print(f"  held out {subject}: accuracy {row['accuracy']:.3f} (majority {row['majority']:.3f}), "
                  f"{row['fit_s']:.1f} s", flush=True)
    return pd.DataFrame(rows)


def subject_dependent_evaluate(model, X, y, groups, *, trial_ids=None, split: str = "window", n_splits: int = 5,
                               train_config=None, subjects=None, seed: int = 0,
                               verbose: bool = False) -> pd.DataFrame:
    """Within-subject k-fold cross-validation: train and test on the same person; one row per subject.

    Parameters
    ----------
    model, X, y, groups, trial_ids, train_config, subjects, verbose
        As for :func:`loso_evaluate`.
    split : {"window", "trial"}
        ``"window"``: stratified k-fold over windows, so windows of one trial sit on both sides (the common
        practice, and the most flattering); ``"trial"``: k-fold over trials (needs ``trial_ids``).
    n_splits : int
        Folds within each subject; the subject's score pools its folds' predictions.
    seed : int
        Shuffling of the window folds.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`loso_evaluate`, one row per subject.
    """
    if split not in ("window", "trial"):
        raise ValueError(f"split must be 'window' or 'trial', got {split!r}")
    if split == "trial" and trial_ids is None:
        raise ValueError("split='trial' needs trial_ids")
    X, y, g = np.asarray(X), np.asarray(y).astype(np.int64), np.asarray(groups).astype(str)
    t_ids = None if trial_ids is None else np.asarray(trial_ids).astype(str)
    rows = []
    for subject in np.unique(g).tolist():
        if subjects is not None and subject not in subjects:
            continue
        idx = np.flatnonzero(g == subject)
        ys = y[idx]
        p = np.full(len(idx), np.nan)
        if split == "window":
            k = min(n_splits, int(np.bincount(ys, minlength=2).min()))
            if k < 2:
                raise ValueError(f"subject {subject}: only one class (or one window of a class) in y; "
                                 "a within-subject split needs both")
            folds = StratifiedKFold(k, shuffle=True, random_state=seed).split(idx, ys)
        else:
            folds = GroupKFold(min(n_splits, len(np.unique(t_ids[idx])))).split(idx, ys, groups=t_ids[idx])
        t0 = time.perf_counter()
        for tr, te in folds:
            if len(np.unique(ys[tr])) < 2:  # a fold whose training trials are all of one class: predict that class
                p[te] = float(ys[tr][0])
                continue
            p[te] = fit_predict(model, X[idx[tr]], ys[tr], X[idx[te]], train_config=train_config)
        row = {"subject": subject, **_scores(ys, p, None if t_ids is None else t_ids[idx], f"within {subject}"),
               "fit_s": time.perf_counter() - t0}
        rows.append(row)
        if verbose:
            print(f"  within {subject} ({split} folds): accuracy {row['accuracy']:.3f}", flush=True)
    return pd.DataFrame(rows)


def summarise_folds(per_subject: pd.DataFrame, column: str = "accuracy") -> dict:
    """Mean and spread across subjects: ``{"mean_accuracy", "std_accuracy", "min", "max", "n_subjects"}``.

    The standard deviation is across subjects (ddof=1): it measures how differently the model works for
    different people, which a single pooled accuracy hides.
    """
    v = per_subject[column].to_numpy(dtype=float)
    return {f"mean_{column}": float(np.mean(v)), f"std_{column}": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
            f"min_{column}": float(np.min(v)), f"max_{column}": float(np.max(v)), "n_subjects": len(v)}
