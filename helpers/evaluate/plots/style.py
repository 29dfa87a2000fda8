"""What every course figure shares: the class colours, the synthetic-data tag in titles, new axes, wrapped titles."""
from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt

# one definition each, shared with the loaders' banner
from helpers.data.banner import is_synthetic, show_banner

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
