"""The course's standard figures: signals, spectra, confusion matrices, ROC/PR curves, training curves, attributions.

Every function takes ``ax=None`` (draw into a new figure) and returns what it drew on, labels both axes with
units, and marks figures of synthetic data "(synthetic data)" in the title: a screenshot of a synthetic result
must never pass for a result on real patients.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.ticker import MaxNLocator
from scipy.signal import welch
from sklearn.metrics import (
    auc,
    average_precision_score,
    precision_recall_curve,
    roc_curve,
)

# one definition each, shared with the loaders' banner
from helpers.data.banner import is_synthetic, show_banner
from helpers.signal import check_fs

__all__ = [
    "AAMI_COLOURS",
    "CLASS_COLOURS",
    "class_colour",
    "is_synthetic",
    "plot_attribution",
    "plot_confusion_matrix",
    "plot_pr",
    "plot_roc",
    "plot_signal",
    "plot_spectrum",
    "plot_training_curves",
    "synthetic_banner",
]

SYNTHETIC_TAG = "(synthetic data)"
# One colour per AAMI beat class wherever beats are drawn (Okabe-Ito palette: distinguishable with colour-blindness).
AAMI_COLOURS = {"N": "#0072B2", "S": "#E69F00", "V": "#D55E00", "F": "#CC79A7", "Q": "#000000"}
# One colour per class name across the course (Okabe-Ito again): the healthy/rest class is always blue, the
# condition the unit screens for (AF, stress, high valence/arousal) always vermillion, whatever the chart.
CLASS_COLOURS = {
    "normal": "#0072B2", "af": "#D55E00", "other": "#009E73", "noisy": "#999999",
    "baseline": "#0072B2", "non-stress": "#0072B2", "stress": "#D55E00", "amusement": "#E69F00", "meditation": "#009E73",
    "low": "#0072B2", "high": "#D55E00",
    **AAMI_COLOURS,
}


def class_colour(name: str) -> str:
    """The course's colour for a class name (``"af"``, ``"normal"``, ``"stress"``, an AAMI letter, ...).

    Raises
    ------
    KeyError
        For a name the course has no colour for, listing the names it has.
    """
    key = name if name in CLASS_COLOURS else str(name).lower()
    if key not in CLASS_COLOURS:
        raise KeyError(f"no course colour for class {name!r}; known: {sorted(CLASS_COLOURS)}")
    return CLASS_COLOURS[key]


def _title(ax, title: str | None, source: Any) -> None:
    text = title or ""
    if is_synthetic(source) and SYNTHETIC_TAG not in text:
        text = f"{text} {SYNTHETIC_TAG}".strip()
    if text:
        ax.set_title(text)


def _new_ax(ax, figsize=(10, 3)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _signal_array(x: Any, what: str = "x") -> tuple[np.ndarray, Any]:
    """Accept an array, or a one-record SignalDataset (its ``source`` is then used for the title)."""
    source = None
    if hasattr(x, "signals"):
        if len(x.signals) != 1:
            raise ValueError(f"pass one record (dataset.signals[i]), not a dataset of {len(x.signals)} records")
        x, source = x.signals[0], x
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim not in (1, 2) or arr.shape[-1] < 2:
        raise ValueError(f"{what} must have shape (T,) or (C, T) with T >= 2, got shape {arr.shape}")
    return np.atleast_2d(arr), source


def plot_signal(x, fs: float, *, peaks=None, annotations=None, title: str | None = None, ax=None,
                units: str = "mV", source: Any = None, channel_names: Sequence[str] | None = None,
                offset: float | None = None):
    """Plot a signal against time in seconds.

    Parameters
    ----------
    x : array_like, shape (T,) or (C, T)
        Signal in ``units``; channels are stacked with a vertical ``offset``.
    fs : float
        Sampling rate in Hz.
    peaks : array_like of int, optional
        Sample indices to mark (e.g. R peaks) on the first channel.
    annotations : sequence, optional
        ``(time_s, text)`` pairs drawn as labelled vertical lines, or ``(start_s, end_s, text)`` triples
        drawn as shaded spans (e.g. an AF episode).
    title : str, optional
    ax : matplotlib Axes, optional
    units : str
        Amplitude unit for the y label.
    source : str or dataset, optional
        ``"synthetic"`` (or a synthetic SignalDataset) adds "(synthetic data)" to the title.
    channel_names : sequence of str, optional
        Legend entries for multi-channel input.
    offset : float, optional
        Vertical spacing between channels in ``units``; default 1.5x the largest channel range.

    Returns
    -------
    matplotlib.axes.Axes
    """
    fs = check_fs(fs)
    arr, ds = _signal_array(x)
    t = np.arange(arr.shape[-1]) / fs
    ax = _new_ax(ax)
    step = offset if offset is not None else 1.5 * float(np.ptp(arr, axis=-1).max() or 1.0)
    for c, ch in enumerate(arr):
        label = channel_names[c] if channel_names is not None else (f"channel {c}" if len(arr) > 1 else None)
        ax.plot(t, ch - c * step, lw=0.8, label=label)
    if peaks is not None:
        p = np.asarray(peaks, dtype=np.int64)
        p = p[(p >= 0) & (p < arr.shape[-1])]
        # dark grey: red would read as AF and black as AAMI's Q, class colours in this course
        ax.plot(t[p], arr[0, p], "v", color="0.2", ms=5, label="peaks", linestyle="none")
    for ann in annotations or ():
        if len(ann) == 3:
            ax.axvspan(ann[0], ann[1], color="0.5", alpha=0.2)
            ax.text(ann[0], 1.0, str(ann[2]), transform=ax.get_xaxis_transform(), va="bottom", fontsize=8)
        else:
            ax.axvline(ann[0], color="0.4", ls="--", lw=0.8)
            ax.text(ann[0], 1.0, str(ann[1]), transform=ax.get_xaxis_transform(), va="bottom", fontsize=8)
    if len(arr) > 1 or peaks is not None:
        # headroom above the trace, so the legend never sits on the last beats
        low, high = ax.get_ylim()
        ax.set_ylim(low, high + 0.25 * (high - low))
        ax.legend(loc="upper right", fontsize=8, ncol=2)
    ax.set_xlim(t[0], t[-1])
    ax.set_xlabel("Time (s)")
    ax.set_ylabel(f"Amplitude ({units})")
    _title(ax, title, source if source is not None else ds)
    return ax


def plot_spectrum(x, fs: float, *, ax=None, fmax: float | None = None, units: str = "mV", title: str | None = None,
                  source: Any = None, nperseg_s: float = 4.0):
    """Welch power spectral density on a log scale.

    Parameters
    ----------
    x : array_like, shape (T,) or (C, T)
    fs : float
        Sampling rate in Hz.
    fmax : float, optional
        Upper frequency limit of the plot in Hz (default Nyquist).
    units : str
        Signal unit; the PSD is in ``units``²/Hz.
    nperseg_s : float
        Welch segment length in seconds: 4 s gives 0.25 Hz resolution, enough to see the heart rate.

    Returns
    -------
    matplotlib.axes.Axes
    """
    fs = check_fs(fs)
    arr, ds = _signal_array(x)
    freqs, psd = welch(arr, fs=fs, nperseg=min(arr.shape[-1], int(nperseg_s * fs)), axis=-1)
    ax = _new_ax(ax, figsize=(6, 3.5))
    for c, p in enumerate(psd):
        ax.semilogy(freqs, p + np.finfo(float).tiny, lw=1, label=f"channel {c}" if len(psd) > 1 else None)
    ax.set_xlim(0, fmax if fmax is not None else fs / 2)
    ax.set_xlabel("Frequency (Hz)")
    ax.set_ylabel(f"PSD ({units}²/Hz)")
    if len(psd) > 1:
        ax.legend(fontsize=8)
    _title(ax, title or "Power spectral density (Welch)", source if source is not None else ds)
    return ax


def plot_confusion_matrix(cm, class_names: Sequence[str], *, normalize: bool = False, ax=None,
                          title: str | None = None, source: Any = None):
    """Confusion matrix as a heat map with the count (or row fraction) written in each cell.

    Parameters
    ----------
    cm : array_like, shape (k, k)
        Counts, rows = true class, columns = predicted class (as :func:`helpers.evaluate.metrics.confusion` returns).
    class_names : sequence of str, length k
    normalize : bool
        Show each row as fractions of the true class (the diagonal is then per-class sensitivity).

    Returns
    -------
    matplotlib.axes.Axes
    """
    cm = np.asarray(cm, dtype=np.float64)
    k = len(class_names)
    if cm.shape != (k, k):
        raise ValueError(f"cm must have shape ({k}, {k}) for {k} class names, got shape {cm.shape}")
    values = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    ax = _new_ax(ax, figsize=(1.3 * k + 2.5, 1.1 * k + 1.8))
    im = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalize else max(values.max(), 1))
    cbar = ax.figure.colorbar(im, ax=ax)
    cbar.set_label("Fraction of true class" if normalize else "Count (items)")
    for i in range(k):
        for j in range(k):
            text = f"{values[i, j]:.2f}" if normalize else f"{int(values[i, j])}"
            dark = values[i, j] > 0.6 * (1 if normalize else values.max())
            ax.text(j, i, text, ha="center", va="center", color="white" if dark else "black")
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
            current += [k for k in (panels[m] if m in panels else [m]) if k not in current]
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


def plot_attribution(signal, attribution, fs: float, *, ax=None, title: str | None = None, units: str = "mV",
                     style: str = "trace", cmap: str | None = None, source: Any = None):
    """Draw an ECG with how much each sample contributed to the prediction (|attribution|).

    Parameters
    ----------
    signal : array_like, shape (T,) or (1, T)
        The model input, in ``units``.
    attribution : array_like, same shape as ``signal``
        Per-sample attribution (saliency, integrated gradients, ...). Its magnitude is scaled to [0, 1] for
        colour: the sign of a gradient-based attribution is unreliable for ECG, its size is what we read.
    fs : float
        Sampling rate in Hz.
    style : {"trace", "line", "band"}
        ``"trace"`` (default) draws |attribution| as a filled curve of its own in a band under the ECG, on a
        right-hand axis from 0 to 1: its peaks are visible however thin the ECG line is. ``"line"`` colours the
        ECG trace itself (a LineCollection: hard to see on a thin line); ``"band"`` shades the background behind
        a black trace, which stays readable when printed in grey.
    cmap : str, optional
        Matplotlib colour map for |attribution|; default plasma (without its pale top) for ``"line"`` and
        ``"YlOrRd"`` (near-white when unimportant) for ``"band"``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    fs = check_fs(fs)
    x = np.asarray(signal, dtype=np.float64).squeeze()
    a = np.abs(np.asarray(attribution, dtype=np.float64)).squeeze()
    if x.ndim != 1 or x.shape != a.shape:
        raise ValueError(f"signal and attribution must both have shape (T,); got {np.shape(signal)} and "
                         f"{np.shape(attribution)}")
    if not (np.isfinite(x).all() and np.isfinite(a).all()):
        raise ValueError("signal or attribution contains NaN/inf")
    if style not in ("trace", "line", "band"):
        raise ValueError(f"style must be 'trace', 'line' or 'band', got {style!r}")
    a = a / a.max() if a.max() > 0 else a
    if style == "trace":
        ax = _attribution_trace(_new_ax(ax), np.arange(len(x)) / fs, x, a, units)
        _title(ax, title or "Attribution", source)
        _wrap_title(ax)
        return ax
    if cmap is None and style == "line":
        # plasma without its pale-yellow top: the most important samples must stay visible on white paper.
        cmap = ListedColormap(plt.get_cmap("plasma")(np.linspace(0.0, 0.85, 256)), name="plasma_trunc")
    elif cmap is None:
        cmap = "YlOrRd"  # a background that fades to white where the model does not look
    t = np.arange(len(x)) / fs
    ax = _new_ax(ax)
    norm = Normalize(0, 1)
    if style == "line":
        points = np.stack([t, x], axis=1)
        segments = np.stack([points[:-1], points[1:]], axis=1)  # (T-1, 2, 2): one coloured piece per step
        mappable = LineCollection(segments, cmap=cmap, norm=norm, linewidths=1.6)
        mappable.set_array(np.maximum(a[:-1], a[1:]))  # max, not mean: a one-sample spike keeps full colour
        ax.add_collection(mappable)
        ax.set_ylim(x.min() - 0.1 * np.ptp(x), x.max() + 0.1 * np.ptp(x) + 1e-12)
    else:
        pad = 0.1 * np.ptp(x) + 1e-12
        mappable = ax.imshow(a[None, :], aspect="auto", cmap=cmap, norm=norm, alpha=0.7, origin="lower",
                             extent=(t[0], t[-1], x.min() - pad, x.max() + pad), interpolation="nearest")
        ax.plot(t, x, color="black", lw=0.9)
    ax.set_xlim(t[0], t[-1])
    cbar = ax.figure.colorbar(mappable, ax=ax, pad=0.01, fraction=0.03)
    # short and small: a long vertical label runs past the bar's ends into the titles of a grid of these plots
    cbar.set_label("|attribution|, max = 1", fontsize="small")
    cbar.ax.tick_params(labelsize="small")
    ax.set_xlabel("Time (s)")
    ax.set_ylabel(f"Amplitude ({units})")
    _title(ax, title or "Attribution", source)
    _wrap_title(ax)
    return ax


def _attribution_trace(ax, t: np.ndarray, x: np.ndarray, a: np.ndarray, units: str):
    """The ECG ``x`` (T,) in black in the upper part of ``ax``, and |attribution| ``a`` (T,), scaled to [0, 1], as
    a filled curve in a band under it, read on a right-hand axis (0-1). Two traces, not colour on a thin line:
    the attribution's peaks and their timing against the QRS complexes stay visible in print and in grey."""
    span = np.ptp(x) + 1e-12
    ax.plot(t, x, color="black", lw=0.9)
    # the ECG fills the upper ~60 % of the axes, the attribution band the lower ~35 %
    ax.set_ylim(x.min() - 0.75 * span, x.max() + 0.08 * span)
    ticks = MaxNLocator(4).tick_values(x.min(), x.max())
    ax.set_yticks(ticks[(ticks >= x.min() - 1e-9) & (ticks <= x.max() + 1e-9)])  # no ECG ticks beside the band
    ax.set_xlim(t[0], t[-1])
    ax.set_xlabel("Time (s)")
    ax.set_ylabel(f"Amplitude ({units})")
    band = ax.twinx()
    band.fill_between(t, 0.0, a, color="#D55E00", alpha=0.55, lw=0)
    band.plot(t, a, color="#D55E00", lw=0.8)
    band.set_ylim(0.0, 1.0 / 0.38)  # 0..1 occupies the lowest 38 % of the axes
    band.set_yticks([0.0, 0.5, 1.0])
    band.tick_params(axis="y", labelsize="small", colors="#D55E00")
    band.set_ylabel("|attribution|, max = 1", fontsize="small", color="#D55E00", loc="bottom")
    band.grid(False)
    return ax


def _wrap_title(ax) -> None:
    """Break the axes title into lines no wider than the axes (and its colour bar), so the titles of neighbouring
    panels in a grid neither collide nor run off the figure. Matplotlib does not wrap titles by itself."""
    import textwrap

    text = ax.get_title()
    if not text:
        return
    title = ax.title
    fig = ax.figure
    # The axes' share of the figure width before the layout engine shrinks it for labels and the colour bar.
    width_in = ax.get_position().width * fig.get_figwidth() * 0.85
    char_in = title.get_fontsize() * 0.6 / 72  # an average character of the default sans-serif is ~0.6 em wide
    width_chars = max(20, int(width_in / char_in))
    ax.set_title("\n".join(textwrap.wrap(" ".join(text.split()), width_chars)), fontsize=title.get_fontsize())


def synthetic_banner(dataset_or_source: Any) -> bool:
    """Show the loud synthetic-data banner, unless the loader already showed it for this dataset.

    The banner itself (wording, HTML in a notebook, stderr elsewhere) lives in
    :func:`helpers.data.banner.show_banner`, so every dataset says it the same way, once.

    Parameters
    ----------
    dataset_or_source : SignalDataset, Windows, dict or str
        Anything with ``source == "synthetic"``, or the string itself.

    Returns
    -------
    bool
        True when a banner was shown now.
    """
    return show_banner(dataset_or_source)
