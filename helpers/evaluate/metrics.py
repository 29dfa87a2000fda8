"""Classification metrics with clinical names (sensitivity, specificity, PPV, NPV), computed by scikit-learn.

Accuracy alone misleads on imbalanced data (a model that always says "normal" scores ~85 % on AF data), so
:func:`binary_report` always reports the class-wise rates and the threshold-free ROC and PR AUCs beside it.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
    roc_curve,
)

from helpers.evaluate.degenerate import classification_flags, show

__all__ = ["binary_report", "bootstrap_ci", "confusion", "multiclass_report", "positive_scores",
           "threshold_for_sensitivity"]


def _check_binary_labels(y_true) -> np.ndarray:
    y = np.asarray(y_true)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"y_true must be a non-empty 1D array of shape (n,), got shape {y.shape}")
    bad = set(np.unique(y).tolist()) - {0, 1}
    if bad:
        raise ValueError(f"y_true must hold only 0 (negative) and 1 (positive), found {sorted(bad)}")
    return y.astype(np.int64)


def positive_scores(y_score, n: int | None = None) -> np.ndarray:
    """Score of the positive class, shape (n,), from (n,) scores or (n, 2) class probabilities.

    Parameters
    ----------
    y_score : array_like, shape (n,), (n, 1) or (n, 2)
        Probability (or any score) of class 1, or per-class probabilities as ``predict_proba`` returns.
    n : int, optional
        Expected number of items, to give a clear error on a mismatch.
    """
    s = np.asarray(y_score, dtype=np.float64)
    if s.ndim == 2 and s.shape[1] in (1, 2):
        s = s[:, -1]
    if s.ndim != 1:
        raise ValueError(f"y_score must have shape (n,) or (n, 2), got shape {np.shape(y_score)}")
    if n is not None and len(s) != n:
        raise ValueError(f"y_score has {len(s)} items but y_true has {n}")
    n_bad = int((~np.isfinite(s)).sum())
    if n_bad:
        raise ValueError(f"y_score contains {n_bad} NaN/inf value(s) (first at index "
                         f"{int(np.flatnonzero(~np.isfinite(s))[0])})")
    return s


def _ratio(num: float, den: float) -> float:
    # NaN, not 0, when a rate is undefined (e.g. PPV with no positive predictions): 0 would look like a result.
    return float(num / den) if den else float("nan")


def binary_report(y_true, y_score, threshold: float = 0.5, *, name: str | None = None,
                  warn: bool = True) -> dict[str, float]:
    """Threshold-dependent and threshold-free metrics of a binary classifier; degenerate results are printed.

    Parameters
    ----------
    y_true : array_like of {0, 1}, shape (n,)
        True classes; 1 is the positive (e.g. AF) class.
    y_score : array_like, shape (n,) or (n, 2)
        Probability of class 1, or per-class probabilities.
    threshold : float
        Predict positive when the score is ``>= threshold``.
    name : str, optional
        What was scored (e.g. the model), named in each printed warning.
    warn : bool
        Print a ``⚠ DEGENERATE:`` line for each rule of :mod:`helpers.evaluate.degenerate` the result breaks (ROC AUC
        < 0.5, balanced accuracy within noise of chance, accuracy at or below the majority baseline, one predicted
        class, a class with fewer than 10 items). Off only where a caller shows the flags itself.

    Returns
    -------
    dict
        ``accuracy``, ``balanced_accuracy``, ``sensitivity`` (recall, TPR), ``specificity`` (TNR), ``ppv``
        (precision), ``npv``, ``f1``, ``roc_auc``, ``pr_auc`` (average precision), all fractions in [0, 1];
        plus ``n``, ``n_positive``, ``threshold`` and the counts ``tp``, ``fp``, ``tn``, ``fn``. Undefined
        rates are NaN. With a single class in ``y_true`` the AUCs are NaN and a warning is raised.
    """
    y = _check_binary_labels(y_true)
    s = positive_scores(y_score, len(y))
    pred = (s >= threshold).astype(np.int64)
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    sens, spec = _ratio(tp, tp + fn), _ratio(tn, tn + fp)
    if len(np.unique(y)) < 2:
        warnings.warn(f"y_true holds only class {int(y[0])}: ROC AUC and PR AUC are undefined (NaN)", stacklevel=2)
        roc_auc = pr_auc = float("nan")
    else:
        roc_auc = float(roc_auc_score(y, s))
        pr_auc = float(average_precision_score(y, s))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # balanced accuracy of a single class warns; the value is still right
        bal = float(balanced_accuracy_score(y, pred))
    if warn:
        show(classification_flags(y, pred, class_names=["negative", "positive"], roc_auc=roc_auc, name=name))
    return {
        "accuracy": float((tp + tn) / len(y)),
        "balanced_accuracy": bal,
        "sensitivity": sens,
        "specificity": spec,
        "ppv": _ratio(tp, tp + fp),
        "npv": _ratio(tn, tn + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "roc_auc": roc_auc,
        "pr_auc": pr_auc,
        "n": int(len(y)),
        "n_positive": int(y.sum()),
        "threshold": float(threshold),
        "tp": int(tp), "fp": int(fp), "tn": int(tn), "fn": int(fn),
    }


def _as_predictions(y_pred) -> np.ndarray:
    p = np.asarray(y_pred)
    if p.ndim == 2:
        p = p.argmax(axis=1)  # (n, k) probabilities -> predicted class
    if p.ndim != 1:
        raise ValueError(f"y_pred must have shape (n,) labels or (n, k) probabilities, got shape {p.shape}")
    return p


def confusion(y_true, y_pred, labels: Sequence[int] | None = None) -> np.ndarray:
    """Confusion matrix, rows = true class, columns = predicted class (scikit-learn's convention).

    Parameters
    ----------
    y_true : array_like of int, shape (n,)
    y_pred : array_like, shape (n,) of labels or (n, k) probabilities (argmax is taken)
    labels : sequence of int, optional
        Classes to index the rows and columns; default those present in either input.

    Returns
    -------
    np.ndarray
        int64, shape (k, k): counts.
    """
    y, p = np.asarray(y_true), _as_predictions(y_pred)
    if y.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length: got shapes {y.shape} and {p.shape}")
    return confusion_matrix(y, p, labels=labels).astype(np.int64)


def multiclass_report(y_true, y_pred, class_names: Sequence[str], *, name: str | None = None,
                      warn: bool = True) -> pd.DataFrame:
    """Per-class sensitivity (recall), specificity, PPV (precision), F1 and n, plus a macro average.

    Parameters
    ----------
    y_true : array_like of int, shape (n,)
        Classes 0..k-1.
    y_pred : array_like, shape (n,) labels or (n, k) probabilities
    class_names : sequence of str, length k
    name : str, optional
        What was scored, named in each printed warning.
    warn : bool
        Print a ``⚠ DEGENERATE:`` line for each rule of :mod:`helpers.evaluate.degenerate` the result breaks (a class
        with fewer than 10 test items, one predicted class, chance-level balanced accuracy, accuracy at or below
        the majority baseline).

    Returns
    -------
    pandas.DataFrame
        Index ``class_names`` + ``"macro avg"``; columns ``sensitivity``, ``specificity``, ``ppv``, ``f1``
        (fractions; NaN where undefined) and ``support`` (n: number of true items of the class; the total on the
        macro row), so every rate is read beside the count it rests on.
    """
    y, p = np.asarray(y_true), _as_predictions(y_pred)
    labels = list(range(len(class_names)))
    out_of_range = sorted(set(np.unique(np.r_[y, p]).tolist()) - set(labels))
    if out_of_range:
        raise ValueError(f"labels {out_of_range} have no entry in class_names {tuple(class_names)}")
    ppv, sens, f1, support = precision_recall_fscore_support(y, p, labels=labels, zero_division=np.nan)
    cm = confusion_matrix(y, p, labels=labels)
    tn = cm.sum() - cm.sum(axis=0) - cm.sum(axis=1) + np.diag(cm)
    neg = cm.sum() - cm.sum(axis=1)
    spec = np.divide(tn, neg, out=np.full(len(labels), np.nan), where=neg > 0)
    table = pd.DataFrame({"sensitivity": sens, "specificity": spec, "ppv": ppv, "f1": f1, "support": support},
                         index=pd.Index(list(class_names), name="class"))
    macro = table.drop(columns="support").mean(skipna=True)
    table.loc["macro avg"] = [*macro.to_numpy(), support.sum()]
    table["support"] = table["support"].astype(int)
    if warn:
        show(classification_flags(y, p, class_names=class_names, name=name))
    return table


def threshold_for_sensitivity(y_true, y_score, target: float) -> float:
    """The highest threshold whose sensitivity is at least ``target`` (e.g. 0.95 for a screening test).

    A screening test fixes the sensitivity it needs and then gets the best specificity it can: the highest
    threshold that still reaches the target sensitivity is that operating point.

    Parameters
    ----------
    y_true : array_like of {0, 1}, shape (n,)
    y_score : array_like, shape (n,) or (n, 2)
    target : float
        Wanted sensitivity in (0, 1].

    Returns
    -------
    float
        Threshold to pass to :func:`binary_report` (positive when ``score >= threshold``).
    """
    y = _check_binary_labels(y_true)
    s = positive_scores(y_score, len(y))
    if not 0 < target <= 1:
        raise ValueError(f"target sensitivity must lie in (0, 1], got {target}")
    if y.sum() == 0:
        raise ValueError("y_true has no positive items, so sensitivity is undefined")
    _, tpr, thresholds = roc_curve(y, s, drop_intermediate=False)
    # tpr rises as the threshold falls; the first index reaching the target is the highest such threshold.
    return float(thresholds[np.argmax(tpr >= target - 1e-12)])


def bootstrap_ci(y_true, y_score, *, baseline_score=None, groups=None, metric=roc_auc_score,
                 n_resamples: int = 2000, level: float = 0.95, seed: int = 0) -> dict[str, float]:
    """Percentile bootstrap confidence interval of a metric, or of its difference to a baseline, over patients.

    Resamples whole ``groups`` (patients) with replacement, so that correlated items of one patient (its records or
    windows) stay together; with ``baseline_score`` both models are scored on the same resample (a paired
    comparison), and the interval is for ``metric(model) - metric(baseline)``.

    Written here because ``scipy.stats.bootstrap`` resamples single observations, not clusters, and cannot skip a
    resample on which the metric is undefined: on a small test set many resamples hold one class only, and ROC AUC
    is undefined there. Such resamples are drawn again (and counted in ``n_redrawn``).

    Parameters
    ----------
    y_true : array_like of {0, 1}, shape (n,)
    y_score : array_like, shape (n,) or (n, 2)
        The model's score of class 1.
    baseline_score : array_like, shape (n,) or (n, 2), optional
        A second model's score on the same items: the interval is then for the difference.
    groups : array_like, shape (n,), optional
        Patient (or record) of each item; default each item is its own group.
    metric : callable(y_true, y_score) -> float
        Default ROC AUC.
    n_resamples : int
    level : float
        Confidence level in (0, 1), e.g. 0.95.
    seed : int

    Returns
    -------
    dict
        ``estimate`` (on the data as they are), ``low``, ``high``, ``level``, ``n_groups``, ``n_resamples`` and
        ``n_redrawn``.

    Raises
    ------
    ValueError
        Fewer than two classes in ``y_true``, mismatched lengths, or a ``level`` outside (0, 1).
    """
    y = _check_binary_labels(y_true)
    s = positive_scores(y_score, len(y))
    b = None if baseline_score is None else positive_scores(baseline_score, len(y))
    if len(np.unique(y)) < 2:
        raise ValueError("y_true holds one class only: the metric is undefined, so is its confidence interval")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    g = np.arange(len(y)) if groups is None else np.asarray(groups)
    if g.shape != y.shape:
        raise ValueError(f"groups must have shape {y.shape} like y_true, got {g.shape}")
    names, codes = np.unique(g, return_inverse=True)
    members = [np.flatnonzero(codes == k) for k in range(len(names))]

    def stat(idx):
        value = float(metric(y[idx], s[idx]))
        return value - float(metric(y[idx], b[idx])) if b is not None else value

    rng = np.random.default_rng(seed)
    values, redrawn = [], 0
    while len(values) < n_resamples:
        idx = np.concatenate([members[k] for k in rng.integers(0, len(names), len(names))])
        if y[idx].min() == y[idx].max():
            redrawn += 1
            if redrawn > 100 * n_resamples:  # cannot happen with two classes present, but never loop forever
                raise RuntimeError("almost every resample held one class only")
            continue
        values.append(stat(idx))
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return {"estimate": stat(np.arange(len(y))), "low": float(low), "high": float(high), "level": float(level),
            "n_groups": len(names), "n_resamples": int(n_resamples), "n_redrawn": int(redrawn)}
