"""Per-class figures that show only what was measured: scores beside their n, and no bar where there is no score.

Two figures of a multi-class result that mislead when drawn naively:

- a bar chart of a per-class score draws an undefined score (NaN: the class had no test item, or was never
  predicted) as a bar of height 0, which reads as "the model failed on this class";
- a confusion matrix normalised by rows draws a class with no true item as a row of zeros under a title that says
  "each row sums to 1".

:func:`plot_class_scores` draws no bar for an undefined score but a hatched mark labelled with why, and writes each
bar's n (the class's test items) above it; :func:`plot_normalised_confusion` leaves a row with no true item empty
(hatched, "n = 0") and writes each row's n beside its class name. Both read the tables
:func:`helpers.evaluate.metrics.multiclass_report` returns (a ``support`` column) or plain counts.

They replace, for per-class results, the bar chart notebooks drew by hand with ``fillna(0)``;
``helpers.evaluate.plots.plot_confusion_matrix(..., normalize=True)`` draws with :func:`plot_normalised_confusion`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers.evaluate.plots.style import _title

__all__ = ["NO_ITEMS", "UNDEFINED", "plot_class_scores", "plot_normalised_confusion"]

#: Label of the mark drawn where a class has no test item (its sensitivity and F1 are undefined).
NO_ITEMS = "no test beats"
#: Label of the mark drawn where a score is undefined although the class has test items (e.g. +P of a class the
#: model never predicts).
UNDEFINED = "undefined"
_GROUP_COLOURS = ("0.6", "#0072B2", "#D55E00", "#009E73")


def _titled(ax, title: str, source: Any) -> None:
    """The course's title (marked "(synthetic data)" when ``source`` says so), small enough for two lines."""
    _title(ax, title, source)
    ax.title.set(fontsize=10, wrap=True)


def plot_class_scores(tables: Mapping[str, pd.DataFrame], class_names: Sequence[str], *, metric: str = "f1",
                      n_column: str = "support", ax=None, title: str | None = None, source: Any = None):
    """Grouped bars of one per-class score for several results, each bar labelled with its class's n.

    Parameters
    ----------
    tables : mapping of str -> pandas.DataFrame
        One table per result (e.g. ``{"leaky": report_a, "inter-patient": report_b}``), indexed by class name,
        with a column ``metric`` (a fraction, NaN where undefined) and a column ``n_column`` (test items per
        class), as :func:`helpers.evaluate.metrics.multiclass_report` returns.
    class_names : sequence of str
        The classes to draw, in order; each must be in every table's index.
    metric : str
        Column to draw (``"f1"``, ``"sensitivity"``, ``"ppv"`` ...).
    n_column : str
        Column holding each class's number of test items.
    ax : matplotlib.axes.Axes, optional
    title : str, optional
    source : optional
        The dataset or its source string; synthetic data is marked in the title.

    Returns
    -------
    matplotlib.axes.Axes
        One bar per (result, class) with a defined score; an undefined score gets no bar but a hatched outline
        the full height of the axis, labelled :data:`NO_ITEMS` when n = 0, else :data:`UNDEFINED`.

    Raises
    ------
    ValueError
        No table, a table without ``metric`` or ``n_column``, or a class missing from a table.
    """
    if not tables:
        raise ValueError("tables is empty: pass at least one per-class table")
    for name, table in tables.items():
        missing = [c for c in (metric, n_column) if c not in table.columns]
        absent = [c for c in class_names if c not in table.index]
        if missing or absent:
            raise ValueError(f"table {name!r}: missing column(s) {missing} / class(es) {absent}; it needs the "
                             f"columns {metric!r} and {n_column!r} indexed by class, as multiclass_report returns")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.6 * len(class_names) + 2, 3.5))
    x, width = np.arange(len(class_names)), 0.8 / len(tables)
    for k, (name, table) in enumerate(tables.items()):
        pos = x + (k - (len(tables) - 1) / 2) * width
        scores = table.loc[list(class_names), metric].to_numpy(dtype=float)
        counts = table.loc[list(class_names), n_column].to_numpy()
        colour = _GROUP_COLOURS[k % len(_GROUP_COLOURS)]
        defined = np.isfinite(scores)
        ax.bar(pos[defined], scores[defined], width=width, color=colour, label=name)
        for p, s, n, ok in zip(pos, scores, counts, defined):
            if ok:
                ax.text(p, s + 0.02, f"n={int(n)}", ha="center", va="bottom", fontsize=7)
            else:  # no bar: a hatched outline says the score does not exist, not that it is 0
                ax.bar(p, 1.0, width=width, fill=False, hatch="//", edgecolor=colour, linewidth=0.8)
                ax.text(p, 0.5, f"{NO_ITEMS if int(n) == 0 else UNDEFINED}\nn={int(n)}", ha="center",
                        va="center", rotation=90, fontsize=7)
    ax.set(xticks=x, ylim=(0, 1.3), ylabel=metric)  # headroom above 1 for the n labels and the legend
    ax.set_xticklabels(class_names)
    ax.legend(fontsize=8, loc="upper center", ncol=len(tables), frameon=False)
    _titled(ax, title or f"{metric} per class (n: test items of the class)", source)
    return ax


def plot_normalised_confusion(cm, class_names: Sequence[str], *, ax=None, title: str | None = None,
                              source: Any = None):
    """Confusion matrix as fractions of each true class; a class with no true item is an empty, hatched row.

    Parameters
    ----------
    cm : array_like of int, shape (k, k)
        Counts, rows = true class, columns = predicted class (:func:`helpers.evaluate.metrics.confusion`).
    class_names : sequence of str, length k
    ax : matplotlib.axes.Axes, optional
    title : str, optional
        Default says that each row with beats sums to 1 and that rows with n = 0 are empty.
    source : optional
        The dataset or its source string; synthetic data is marked in the title.

    Returns
    -------
    matplotlib.axes.Axes
        Its image holds the row fractions as a masked array (rows with n = 0 masked); the y tick labels read
        ``"<class> (n=<count>)"``.

    Raises
    ------
    ValueError
        ``cm`` not square of size ``len(class_names)``, or holding negative or non-integer counts.
    """
    cm = np.asarray(cm, dtype=np.float64)
    k = len(class_names)
    if cm.shape != (k, k):
        raise ValueError(f"cm must have shape ({k}, {k}) for {k} class names, got shape {cm.shape}")
    if (cm < 0).any() or not np.array_equal(cm, np.round(cm)):
        raise ValueError("cm must hold counts (whole numbers >= 0), not fractions: normalisation is done here")
    n = cm.sum(axis=1)
    fractions = np.ma.masked_array(cm / np.maximum(n, 1)[:, None], mask=np.repeat(n[:, None] == 0, k, axis=1))
    if ax is None:
        _, ax = plt.subplots(figsize=(1.3 * k + 2.8, 1.1 * k + 1.8))
    im = ax.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
    ax.figure.colorbar(im, ax=ax).set_label("fraction of the true class")
    for i in range(k):
        if n[i] == 0:  # no true item: nothing to divide by, so nothing to draw but the reason
            ax.add_patch(plt.Rectangle((-0.5, i - 0.5), k, 1, fill=False, hatch="//", edgecolor="0.6"))
            ax.text((k - 1) / 2, i, f"{NO_ITEMS} (n = 0)", ha="center", va="center", fontsize=8)
            continue
        for j in range(k):
            value = fractions[i, j]
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", color="white" if value > 0.6 else "black")
    ax.set_xticks(range(k), class_names)
    ax.set_yticks(range(k), [f"{c} (n={int(m)})" for c, m in zip(class_names, n)])
    ax.set(xlabel="predicted class", ylabel="true class")
    ax.grid(False)
    _titled(ax, title or "each row with beats sums to 1 (diagonal: Se)\nrows with n = 0 are empty", source)
    return ax
