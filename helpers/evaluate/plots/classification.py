"""How a classifier is judged in pictures: confusion matrices, ROC and precision-recall curves."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    auc,
    average_precision_score,
    precision_recall_curve,
    roc_curve,
)

from helpers.evaluate.plots.style import _new_ax, _title


def plot_confusion_matrix(cm, class_names: Sequence[str], *, normalize: bool = False, ax=None,
                          title: str | None = None, source: Any = None):
    """Confusion matrix as a heat map with the count (or row fraction) written in each cell.

    Parameters
    ----------
    cm : array_like, shape (k, k)
        Counts, rows = true class, columns = predicted class (as :func:`helpers.evaluate.metrics.confusion` returns).
    class_names : sequence of str, length k
    normalize : bool
        Show each row as fractions of the true class (the diagonal is then per-class sensitivity), drawn by
        :func:`helpers.evaluate.class_plots.plot_normalised_confusion`: a class with no true item is an empty row
        marked n = 0, never a row of zeros.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if normalize:
        # class_plots imports this package, so it is loaded here, not at the top
        from helpers.evaluate.class_plots import plot_normalised_confusion

        return plot_normalised_confusion(cm, class_names, ax=ax, title=title, source=source)
    cm = np.asarray(cm, dtype=np.float64)
    k = len(class_names)
    if cm.shape != (k, k):
        raise ValueError(f"cm must have shape ({k}, {k}) for {k} class names, got shape {cm.shape}")
    ax = _new_ax(ax, figsize=(1.3 * k + 2.5, 1.1 * k + 1.8))
    im = ax.imshow(cm, cmap="Blues", vmin=0, vmax=max(cm.max(), 1))
    ax.figure.colorbar(im, ax=ax).set_label("Count (items)")
    for i in range(k):
        for j in range(k):
            dark = cm[i, j] > 0.6 * cm.max()
            ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", color="white" if dark else "black")
    ax.set_xticks(range(k), class_names)
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    _title(ax, title or "Confusion matrix", source)
    return ax


def plot_roc(y_true, y_score, *, ax=None, label: str | None = None, title: str | None = None, source: Any = None,
             color: str | None = None):
    """ROC curve (sensitivity against 1 - specificity) with its AUC in the legend and the chance diagonal.

    Parameters
    ----------
    y_true : array_like of {0, 1}, shape (n,)
    y_score : array_like, shape (n,) or (n, 2)
        Probability of class 1 or per-class probabilities.
    label : str, optional
        Legend name of this curve; call again with the same ``ax`` to compare models.
    color : str, optional
        Colour of this curve (default: the next in the cycle). Give models colours that no class uses.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from helpers.evaluate.metrics import positive_scores

    y = np.asarray(y_true)
    fpr, tpr, _ = roc_curve(y, positive_scores(y_score, len(y)))
    ax = _new_ax(ax, figsize=(4.5, 4.5))
    if not any(line.get_label() == "chance" for line in ax.get_lines()):
        ax.plot([0, 1], [0, 1], ls="--", color="0.6", lw=1, label="chance")
    ax.plot(fpr, tpr, lw=1.8, color=color, label=f"{label + ' ' if label else ''}(AUC = {auc(fpr, tpr):.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("False positive rate, 1 - specificity (fraction)")
    ax.set_ylabel("True positive rate, sensitivity (fraction)")
    ax.legend(loc="lower right", fontsize=8)
    _title(ax, title or "ROC curve", source)
    return ax


def plot_pr(y_true, y_score, *, ax=None, label: str | None = None, title: str | None = None, source: Any = None):
    """Precision-recall curve, with the prevalence (the precision of a random classifier) as baseline.

    PR curves show what ROC curves hide on imbalanced data: how many alarms are false.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from helpers.evaluate.metrics import positive_scores

    y = np.asarray(y_true)
    s = positive_scores(y_score, len(y))
    precision, recall, _ = precision_recall_curve(y, s)
    ax = _new_ax(ax, figsize=(4.5, 4.5))
    prevalence = float(np.mean(y == 1))
    if not any(line.get_label().startswith("prevalence") for line in ax.get_lines()):
        ax.axhline(prevalence, ls="--", color="0.6", lw=1, label=f"prevalence = {prevalence:.2f}")
    ax.step(recall, precision, where="post", lw=1.8,
            label=f"{label + ' ' if label else ''}(AP = {average_precision_score(y, s):.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("Recall, sensitivity (fraction)")
    ax.set_ylabel("Precision, PPV (fraction)")
    ax.legend(loc="lower left", fontsize=8)
    _title(ax, title or "Precision-recall curve", source)
    return ax
