"""Attributions drawn so they can be read: the signal above, |attribution| as its own band below."""
from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.ticker import MaxNLocator

from helpers.evaluate.plots.style import _new_ax, _title, _wrap_title
from helpers.signal import check_fs


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
