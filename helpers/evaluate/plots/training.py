"""Training curves: every logged metric against the epoch, one panel per metric, train beside validation."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

# one definition each, shared with the loaders' banner
from helpers.data.banner import is_synthetic
from helpers.evaluate.plots.style import SYNTHETIC_TAG

_NOT_PLOTTED = {"epoch", "time_s"}


def plot_training_curves(history: Mapping[str, Sequence[float]], *, metrics: Sequence[str] | None = None,
                         title: str | None = None, source: Any = None):
    """One panel per quantity (loss, accuracy, ROC AUC, learning rate ...), train and validation overlaid.

    Parameters
    ----------
    history : mapping of str to sequence of float
        Per-epoch values, e.g. ``helpers.train.History`` with keys ``train_loss``, ``val_loss``,
        ``val_roc_auc``, ``lr``; an ``epoch`` key, if present, gives the x axis.
    metrics : sequence of str, optional
        Quantities to show: panel names without the ``train_``/``val_`` prefix (``["loss", "roc_auc"]``) or
        individual keys (``["train_loss", "val_loss", "val_roc_auc"]``; keys sharing a quantity share a
        panel); default all.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not history:
        raise ValueError("history is empty: nothing to plot")
    panels: dict[str, list[str]] = {}
    for key in history:
        if key in _NOT_PLOTTED or len(history[key]) == 0:
            continue
        base = key.split("_", 1)[1] if key.startswith(("train_", "val_")) else key
        panels.setdefault(base, []).append(key)
    if metrics is not None:
        # A name is either a panel ("loss": train and val together) or one history key ("val_loss").
        missing = [m for m in metrics if m not in panels and m not in history]
        if missing:
            raise ValueError(f"metrics {missing} not in history; available: {sorted(panels)} or keys {list(history)}")
        chosen: dict[str, list[str]] = {}
        for m in metrics:
            base = m if m in panels else (m.split("_", 1)[1] if m.startswith(("train_", "val_")) else m)
            current = chosen.setdefault(base, [])
            current += [k for k in panels.get(m, [m]) if k not in current]
        panels = chosen
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2), layout="constrained", squeeze=False)
    for ax, (base, keys) in zip(axes[0], panels.items()):
        for key in keys:
            values = np.asarray(history[key], dtype=np.float64)
            epochs = np.asarray(history["epoch"]) if "epoch" in history and len(history["epoch"]) == len(values) \
                else np.arange(1, len(values) + 1)
            ax.plot(epochs, values, marker="o", ms=3, label=key)
        ax.set_xlabel("Epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(_metric_label(base))
        if base == "lr":
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
        ax.legend(fontsize=8)
    if title or is_synthetic(source):
        fig.suptitle(f"{title or 'Training curves'}{' ' + SYNTHETIC_TAG if is_synthetic(source) else ''}")
    return fig


_ACRONYMS = {"roc": "ROC", "auc": "AUC", "pr": "PR", "f1": "F1", "ppv": "PPV", "npv": "NPV"}


def _metric_label(base: str) -> str:
    if base == "loss":
        return "Loss (nats per item)"
    if base == "lr":
        return "Learning rate (per step)"
    words = [_ACRONYMS.get(w, w) for w in base.split("_")]
    return f"{' '.join(words)[:1].upper()}{' '.join(words)[1:]} (fraction)"
