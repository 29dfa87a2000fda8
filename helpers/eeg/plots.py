"""The per-subject bar plot: how a model does for each held-out person, not only on average."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["plot_per_subject"]


def plot_per_subject(results: pd.DataFrame | Mapping[str, pd.DataFrame], *, column: str = "accuracy", ax=None,
                     title: str | None = None, source: str | None = None, chance: bool = True):
    """Bars of one score per subject, one colour per protocol or model, with each mean as a dashed line.

    Parameters
    ----------
    results : DataFrame or mapping name -> DataFrame
        Output of :func:`helpers.eeg.loso_evaluate` / :func:`subject_dependent_evaluate` (columns ``subject``
        and ``column``); a mapping (e.g. ``{"LOSO": df1, "subject-dependent": df2}``) draws grouped bars.
    column : str
        The score to draw (``"accuracy"``, ``"balanced_accuracy"``, ``"trial_accuracy"``).
    ax : matplotlib Axes, optional
    title : str, optional
    source : str, optional
        ``"synthetic"`` adds "(synthetic data)" to the title: such scores are no evidence about real EEG.
    chance : bool
        Draw each subject's majority-class rate (column ``majority``) as a black tick: the floor to beat.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    frames = {"": results} if isinstance(results, pd.DataFrame) else dict(results)
    if not frames:
        raise ValueError("results is empty: pass a DataFrame or a mapping of them")
    for name, df in frames.items():
        missing = {"subject", column} - set(df.columns)
        if missing:
            raise ValueError(f"results {name!r} lacks column(s) {sorted(missing)}; it has {list(df.columns)}")
    subjects = sorted(set().union(*(df["subject"].astype(str) for df in frames.values())))
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6, 0.5 * len(subjects) * len(frames) + 2), 3.5))
    x = np.arange(len(subjects))
    width = 0.8 / len(frames)
    for k, (name, df) in enumerate(frames.items()):
        s = df.set_index(df["subject"].astype(str))[column].reindex(subjects)
        bars = ax.bar(x + (k - (len(frames) - 1) / 2) * width, s.to_numpy(), width,
                      label=f"{name} (mean {s.mean():.2f} ± {s.std(ddof=1):.2f})" if name else None)
        ax.axhline(s.mean(), color=bars.patches[0].get_facecolor(), ls="--", lw=1)
        if chance and "majority" in df.columns:
            m = df.set_index(df["subject"].astype(str))["majority"].reindex(subjects).to_numpy()
            ax.scatter(x + (k - (len(frames) - 1) / 2) * width, m, marker="_", color="k", s=120, zorder=3,
                       label="majority class" if k == 0 else None)
    ax.set_xticks(x, subjects, rotation=45 if len(subjects) > 12 else 0)
    ax.set_ylim(0, 1.15)  # headroom for the legend above the bars
    ax.set_ylabel(column.replace("_", " "))
    title = title or f"{column.replace('_', ' ')} per subject"
    ax.set_title(title + (" (synthetic data)" if source == "synthetic" else ""))
    if len(frames) > 1 or chance:
        ax.legend(fontsize=8, loc="upper center", ncol=len(frames) + int(chance), frameon=False)
    return ax
