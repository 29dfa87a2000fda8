"""The course's standard figures: signals, spectra, confusion matrices, ROC/PR curves, training curves, attributions.

Every function takes ``ax=None`` (draw into a new figure) and returns what it drew on, labels both axes with
units, and marks figures of synthetic data "(synthetic data)" in the title: a screenshot of a synthetic result
must never pass for a result on real patients. One module per kind of figure:
:mod:`~helpers.evaluate.plots.signals`, :mod:`~helpers.evaluate.plots.classification`,
:mod:`~helpers.evaluate.plots.training`, :mod:`~helpers.evaluate.plots.attribution`; what they share (colours,
the synthetic tag, the banner) is in :mod:`~helpers.evaluate.plots.style`.
"""
from helpers.evaluate.plots.attribution import plot_attribution
from helpers.evaluate.plots.classification import (
    plot_confusion_matrix,
    plot_pr,
    plot_roc,
)
from helpers.evaluate.plots.signals import plot_signal, plot_spectrum
from helpers.evaluate.plots.style import (
    AAMI_COLOURS,
    CLASS_COLOURS,
    class_colour,
    is_synthetic,
    synthetic_banner,
)
from helpers.evaluate.plots.training import plot_training_curves

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
