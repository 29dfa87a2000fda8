"""Rules that call a classification result degenerate, and the marker the course prints beside one.

A number on screen is a claim. Some numbers claim nothing: a ROC AUC below 0.5 (the ranking is inverted or
meaningless), a balanced accuracy a coin could have scored on this many test items, an accuracy no better than
always answering the commoner class, a model that predicts one class for everything, or a rate measured on a
handful of examples. The course's metric functions (:func:`helpers.evaluate.metrics.binary_report`,
:func:`helpers.evaluate.metrics.multiclass_report`, :func:`helpers.eeg.loso_evaluate`) and
:func:`helpers.notebook.report.headline` print one line per such result::

    ⚠ DEGENERATE: auc-below-chance: transformer: ROC AUC 0.378 < 0.5: below chance: the ranking is inverted or ...

The marker and the code are stable: ``course/notebook_claims.py`` (applied to every executed notebook by
``tests/test_notebooks.py`` and by ``make run-full``) finds every warning a notebook shows and fails unless a markdown
cell after it addresses the code with ``expect-degenerate: <code>`` and a reason.

The rules (every threshold is stated once, here):

- ``auc-below-chance``: ROC AUC < 0.5.
- ``balanced-accuracy-at-chance``: balanced accuracy at or below the upper end of the 95 % interval of a
  classifier that guesses. Guessing among k classes scores 1/k per class; the recall of class c is a binomial
  proportion over its n_c items, so the balanced accuracy (their mean) has standard deviation
  ``sqrt(sum_c (1/k)(1 - 1/k) / n_c) / k`` (two classes: ``0.25 * sqrt(1/n_0 + 1/n_1)``). Flagged when
  ``balanced accuracy <= 1/k + 1.96 * sd``: e.g. 0.5 + 0.098 with 100 test items of each of two classes.
- ``at-or-below-majority``: accuracy <= the share of the commonest class in the test labels.
- ``one-class-prediction``: every test item is predicted as the same class.
- ``small-class``: a class has fewer than 10 test items, so its sensitivity moves in steps of more than 0.1.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["CODES", "MARKER", "MIN_CLASS_N", "Flag", "auc_flags", "balanced_accuracy_flags", "chance_upper",
           "classification_flags", "show"]

MARKER = "⚠ DEGENERATE:"
MIN_CLASS_N = 10
Z_95 = 1.959964  # two-sided 95 % normal quantile
CODES = {
    "auc-below-chance": "below chance: the ranking is inverted or meaningless",
    "balanced-accuracy-at-chance": "within noise of chance (95 % interval of a guessing classifier on these n)",
    "at-or-below-majority": "no better than always answering the commonest class",
    "one-class-prediction": "the model predicts one class for every item",
    "small-class": f"fewer than {MIN_CLASS_N} test items: its rates move in steps of more than 0.1",
}


@dataclass(frozen=True)
class Flag:
    """One degenerate result: a stable ``code`` (a key of :data:`CODES`) and what was measured."""

    code: str
    detail: str

    def __str__(self) -> str:
        return f"{MARKER} {self.code}: {self.detail}: {CODES[self.code]}"


def _prefix(name: str | None) -> str:
    return f"{name}: " if name else ""


def chance_upper(class_counts: Sequence[int], level_z: float = Z_95) -> float:
    """Upper end of the 95 % interval of the balanced accuracy a guessing classifier scores.

    Parameters
    ----------
    class_counts : sequence of int, length k >= 2
        Test items of each class (all > 0).
    level_z : float
        Normal quantile of the interval (1.96 for 95 %).

    Returns
    -------
    float
        ``1/k + level_z * sqrt(sum_c (1/k)(1 - 1/k) / n_c) / k``.
    """
    n = np.asarray(class_counts, dtype=float)
    if n.ndim != 1 or len(n) < 2 or (n <= 0).any():
        raise ValueError(f"class_counts must hold at least two positive counts, got {list(class_counts)}")
    k = len(n)
    p = 1.0 / k
    return float(p + level_z * math.sqrt(float(np.sum(p * (1 - p) / n))) / k)


def auc_flags(roc_auc: float, *, name: str | None = None) -> list[Flag]:
    """``auc-below-chance`` when ``roc_auc < 0.5`` (NaN, an undefined AUC, is not flagged here)."""
    if roc_auc is not None and math.isfinite(roc_auc) and roc_auc < 0.5:
        return [Flag("auc-below-chance", f"{_prefix(name)}ROC AUC {roc_auc:.3f} < 0.5")]
    return []


def balanced_accuracy_flags(balanced_accuracy: float, class_counts: Sequence[int], *,
                            name: str | None = None) -> list[Flag]:
    """``balanced-accuracy-at-chance`` when the score is within the guessing interval of :func:`chance_upper`.

    Classes absent from the test labels are left out of the interval; with fewer than two present nothing is
    flagged here (``small-class`` says it).
    """
    counts = [int(c) for c in class_counts if c > 0]
    if len(counts) < 2 or balanced_accuracy is None or not math.isfinite(balanced_accuracy):
        return []
    upper = chance_upper(counts)
    if balanced_accuracy <= upper:
        return [Flag("balanced-accuracy-at-chance",
                     f"{_prefix(name)}balanced accuracy {balanced_accuracy:.3f} <= {upper:.3f} "
                     f"(chance {1 / len(counts):.2f} + 1.96 sd, n per class {counts})")]
    return []


def classification_flags(y_true, y_pred, *, class_names: Sequence[str] | None = None,
                         roc_auc: float | None = None, name: str | None = None) -> list[Flag]:
    """Every rule of this module applied to one set of test labels and predictions.

    Parameters
    ----------
    y_true : array_like of int, shape (n,)
        True classes 0..k-1.
    y_pred : array_like of int, shape (n,)
        Predicted classes.
    class_names : sequence of str, optional
        Names of classes 0..k-1 (default ``["0", "1"]`` or up to the largest label); a named class with no test
        item is a ``small-class`` too.
    roc_auc : float, optional
        Threshold-free score to check as well.
    name : str, optional
        What was scored (a model, a fold), printed at the start of each flag.

    Returns
    -------
    list of Flag
        In a fixed order: AUC, balanced accuracy, majority, one-class prediction, small classes.
    """
    y, p = np.asarray(y_true).astype(np.int64), np.asarray(y_pred).astype(np.int64)
    if y.shape != p.shape or y.ndim != 1 or y.size == 0:
        raise ValueError(f"y_true and y_pred must be non-empty arrays of the same shape (n,), got {y.shape} "
                         f"and {p.shape}")
    k = len(class_names) if class_names is not None else max(2, int(max(y.max(), p.max())) + 1)
    names = list(class_names) if class_names is not None else [str(c) for c in range(k)]
    counts = np.bincount(y, minlength=k)[:k]
    flags = auc_flags(roc_auc, name=name) if roc_auc is not None else []
    recalls = [float((p[y == c] == c).mean()) for c in range(k) if counts[c] > 0]
    flags += balanced_accuracy_flags(float(np.mean(recalls)), counts, name=name)
    accuracy, majority = float((p == y).mean()), float(counts.max() / len(y))
    if accuracy <= majority:
        flags.append(Flag("at-or-below-majority",
                          f"{_prefix(name)}accuracy {accuracy:.3f} <= majority baseline {majority:.3f}"))
    if len(np.unique(p)) == 1:
        flags.append(Flag("one-class-prediction",
                          f"{_prefix(name)}all {len(p)} items predicted {names[int(p[0])] if p[0] < k else p[0]}"))
    small = [f"{names[c]} n={int(counts[c])}" for c in range(k) if counts[c] < MIN_CLASS_N]
    if small:
        flags.append(Flag("small-class", f"{_prefix(name)}{', '.join(small)}"))
    return flags


def show(flags: Sequence[Flag] | Mapping[str, Sequence[Flag]]) -> list[Flag]:
    """Print each flag on its own line (nothing when there are none) and return them as one list."""
    flat = [f for group in flags.values() for f in group] if isinstance(flags, Mapping) else list(flags)
    for flag in flat:
        print(flag)
    return flat
