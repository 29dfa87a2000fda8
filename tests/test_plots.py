"""Specifications of helpers.evaluate.plots: labelled axes with units, correct contents, synthetic-data marking.

Each test also saves its figure as a PNG (under pytest's tmp dir) to prove the figure renders.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: the tests must run without a display

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import LineCollection

from helpers.data.container import SignalDataset
from helpers.evaluate.plots import (
    plot_attribution,
    plot_confusion_matrix,
    plot_pr,
    plot_roc,
    plot_signal,
    plot_spectrum,
    plot_training_curves,
    synthetic_banner,
)

FS = 250.0


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def save(fig_or_ax, tmp_path, name):
    fig = getattr(fig_or_ax, "figure", fig_or_ax)
    path = tmp_path / f"{name}.png"
    fig.savefig(path, dpi=80)
    assert path.stat().st_size > 5_000, "the PNG should contain a real picture"


def ecg_like(seconds=4.0):
    t = np.arange(int(seconds * FS)) / FS
    x = 0.1 * np.sin(2 * np.pi * 0.3 * t)
    peaks = np.arange(int(0.4 * FS), len(t), int(0.8 * FS))
    for p in peaks:
        x += np.exp(-0.5 * ((np.arange(len(t)) - p) / 3.0) ** 2)
    return x, peaks


def toy_dataset(source):
    x, _ = ecg_like()
    return SignalDataset([x.astype(np.float32)], [0], FS, ["s"], ["r"], ("normal", "af"), source, "zenodo_af")


def test_plot_signal_labels_time_and_amplitude_and_marks_peaks(tmp_path):
    x, peaks = ecg_like()
    ax = plot_signal(x, FS, peaks=peaks, annotations=[(1.0, "onset"), (2.0, 3.0, "AF")], title="Lead I")
    assert ax.get_xlabel() == "Time (s)" and ax.get_ylabel() == "Amplitude (mV)"
    assert ax.get_title() == "Lead I"
    trace, markers = ax.get_lines()[:2]
    assert trace.get_xdata()[-1] == pytest.approx((len(x) - 1) / FS)
    assert len(markers.get_xdata()) == len(peaks)
    assert len(ax.patches) == 1  # the shaded AF span
    save(ax, tmp_path, "signal")


def test_plot_signal_stacks_channels_and_uses_given_units():
    ax = plot_signal(np.random.default_rng(0).standard_normal((3, 500)), FS, units="µV")
    assert len(ax.get_lines()) == 3 and ax.get_ylabel() == "Amplitude (µV)"


@pytest.mark.parametrize("how", ["source", "dataset"])
def test_plots_of_synthetic_data_say_so_in_the_title(how):
    ds = toy_dataset("synthetic")
    ax = plot_signal(ds.signals[0], FS, title="ECG", source="synthetic") if how == "source" else \
        plot_signal(ds, FS, title="ECG")
    assert ax.get_title() == "ECG (synthetic data)"
    assert "synthetic" not in plot_signal(toy_dataset("real"), FS, title="ECG").get_title()
    assert "(synthetic data)" in plot_roc([0, 1, 1], [0.2, 0.6, 0.9], source=ds).get_title()
    fig = plot_training_curves({"train_loss": [1, 0.5]}, source="synthetic")
    assert "(synthetic data)" in fig._suptitle.get_text()


def test_plot_signal_rejects_bad_shapes_and_rates():
    with pytest.raises(ValueError, match=r"shape \(T,\) or \(C, T\).*\(2, 3, 4\)"):
        plot_signal(np.zeros((2, 3, 4)), FS)
    with pytest.raises(ValueError, match="sampling rate"):
        plot_signal(np.zeros(10), 0)


def test_plot_spectrum_shows_the_peak_at_the_signal_frequency(tmp_path):
    t = np.arange(int(20 * FS)) / FS
    x = np.sin(2 * np.pi * 10 * t) + 0.01 * np.random.default_rng(0).standard_normal(len(t))
    ax = plot_spectrum(x, FS, fmax=50)
    assert ax.get_xlabel() == "Frequency (Hz)" and ax.get_ylabel() == "PSD (mV²/Hz)"
    assert ax.get_xlim() == (0, 50)
    line = ax.get_lines()[0]
    assert line.get_xdata()[np.argmax(line.get_ydata())] == pytest.approx(10, abs=0.25)
    save(ax, tmp_path, "spectrum")


def test_plot_confusion_matrix_writes_counts_or_fractions_in_cells(tmp_path):
    cm = np.array([[50, 3], [7, 10]])
    ax = plot_confusion_matrix(cm, ["normal", "AF"])
    assert [t.get_text() for t in ax.texts] == ["50", "3", "7", "10"]
    assert ax.get_xlabel() == "Predicted class" and ax.get_ylabel() == "True class"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["normal", "AF"]
    save(ax, tmp_path, "confusion")
    ax = plot_confusion_matrix(cm, ["normal", "AF"], normalize=True)
    assert [t.get_text() for t in ax.texts] == ["0.94", "0.06", "0.41", "0.59"]
    with pytest.raises(ValueError, match=r"shape \(3, 3\).*\(2, 2\)"):
        plot_confusion_matrix(cm, ["a", "b", "c"])


def test_plot_roc_runs_from_origin_to_one_one_with_auc_in_legend(tmp_path):
    y = np.array([0, 0, 1, 1, 0, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    ax = plot_roc(y, s, label="CNN")
    curve = ax.get_lines()[1]
    assert (curve.get_xdata()[0], curve.get_ydata()[0]) == (0, 0)
    assert (curve.get_xdata()[-1], curve.get_ydata()[-1]) == (1, 1)
    assert curve.get_label() == "CNN (AUC = 0.889)"
    assert "specificity" in ax.get_xlabel() and "sensitivity" in ax.get_ylabel()
    plot_roc(y, np.stack([1 - s, s], axis=1), ax=ax, label="same, 2 columns", color="#009E73")
    assert len(ax.get_lines()) == 3  # one chance line, two curves
    assert ax.get_lines()[2].get_color() == "#009E73"
    save(ax, tmp_path, "roc")


def test_plot_pr_draws_prevalence_baseline_and_curve(tmp_path):
    y = np.array([0, 0, 1, 1, 0, 1, 0, 0])
    s = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.3, 0.05])
    ax = plot_pr(y, s, label="CNN")
    baseline, curve = ax.get_lines()
    assert baseline.get_ydata()[0] == pytest.approx(3 / 8)
    assert curve.get_xdata()[0] == 1 and curve.get_label().startswith("CNN (AP = ")
    assert ax.get_xlabel().startswith("Recall") and ax.get_ylabel().startswith("Precision")
    save(ax, tmp_path, "pr")


def test_plot_training_curves_has_one_panel_per_quantity(tmp_path):
    history = {"epoch": [1, 2, 3], "train_loss": [0.9, 0.6, 0.5], "val_loss": [0.8, 0.7, 0.65],
               "val_accuracy": [0.6, 0.7, 0.75], "val_roc_auc": [0.7, 0.8, 0.85], "lr": [1e-3, 5e-4, 1e-4],
               "time_s": [1.0, 1.0, 1.1]}
    fig = plot_training_curves(history)
    axes = fig.axes
    assert [ax.get_ylabel() for ax in axes] == ["Loss (nats per item)", "Accuracy (fraction)",
                                               "ROC AUC (fraction)", "Learning rate (per step)"]
    assert all(ax.get_xlabel() == "Epoch" for ax in axes)
    assert len(axes[0].get_lines()) == 2
    save(fig, tmp_path, "training_curves")
    assert len(plot_training_curves(history, metrics=["loss"]).axes) == 1
    by_key = plot_training_curves(history, metrics=["train_loss", "val_loss", "val_roc_auc"]).axes
    assert len(by_key) == 2 and len(by_key[0].get_lines()) == 2
    with pytest.raises(ValueError, match="not in history"):
        plot_training_curves(history, metrics=["f1"])


@pytest.mark.parametrize("style", ["line", "band"])
def test_plot_attribution_colours_ecg_by_attribution_with_colour_bar(tmp_path, style):
    x, peaks = ecg_like()
    attribution = np.zeros_like(x)
    attribution[peaks] = -1.0  # sign is ignored: |attribution| is drawn
    ax = plot_attribution(x, attribution, FS, style=style, source="synthetic")
    fig = ax.figure
    assert len(fig.axes) == 2, "expected the plot and its colour bar"
    assert fig.axes[1].get_ylabel() == "|attribution|, max = 1"
    assert ax.get_xlabel() == "Time (s)" and ax.get_ylabel() == "Amplitude (mV)"
    assert ax.get_title() == "Attribution (synthetic data)"
    if style == "line":
        lc = next(c for c in ax.collections if isinstance(c, LineCollection))
        assert len(lc.get_segments()) == len(x) - 1 and lc.get_array().max() == pytest.approx(1.0)
    save(ax, tmp_path, f"attribution_{style}")
    with pytest.raises(ValueError, match="shape"):
        plot_attribution(x, attribution[:-1], FS)


def test_plot_attribution_trace_draws_saliency_as_its_own_curve_under_the_ecg(tmp_path):
    """The default style: the ECG in black, |attribution| as a filled curve (0-1, right axis) in a band below it,
    not colour on a thin line (issue 20: af_cnn's saliency was invisible on the dark trace)."""
    x, peaks = ecg_like()
    attribution = np.zeros_like(x)
    attribution[peaks] = -2.0
    ax = plot_attribution(x, attribution, FS, source="synthetic")
    band = next(a for a in ax.figure.axes if a is not ax)
    assert band.get_ylabel() == "|attribution|, max = 1"
    drawn = band.get_lines()[0].get_ydata()
    assert drawn.max() == pytest.approx(1.0) and drawn[peaks].min() == pytest.approx(1.0) and drawn.min() == 0.0
    assert ax.get_lines()[0].get_color() == "black"
    # the band lies under the ECG: attribution 1 sits below the ECG's lowest sample in figure coordinates
    to_fig = lambda a, y: a.transData.transform((0.0, y))[1]
    assert to_fig(band, 1.0) < to_fig(ax, x.min())
    save(ax, tmp_path, "attribution_trace")


def _text_boxes(fig):
    """(name, window extent) of every visible title, axis label and colour-bar label of ``fig``, after a draw."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = []
    for i, ax in enumerate(fig.axes):
        for name, text in (("title", ax.title), ("xlabel", ax.xaxis.label), ("ylabel", ax.yaxis.label)):
            if text.get_text() and text.get_visible():
                boxes.append((f"axes {i} {name} {text.get_text()[:30]!r}", text.get_window_extent(renderer)))
    return boxes


def test_a_grid_of_attribution_plots_has_no_colliding_or_clipped_text(tmp_path):
    """af_cnn's saliency grid: long titles collided with the neighbouring panel and ran off the figure, and the
    colour bar's label ran into the titles."""
    import matplotlib.pyplot as plt

    x, peaks = ecg_like()
    attribution = np.zeros_like(x)
    attribution[peaks] = 1.0
    fig, axes = plt.subplots(2, 2, figsize=(14, 6), layout="constrained")
    for row in range(2):
        for col, method in enumerate(["saliency", "integrated gradients"]):
            plot_attribution(x, attribution, FS, ax=axes[row, col], units="z-score", source="synthetic",
                             title=f"normal test window (classified correctly): {method} for class 'normal'")
    boxes = _text_boxes(fig)
    inside = fig.bbox
    for name, box in boxes:
        assert (box.x0 >= inside.x0 - 1 and box.x1 <= inside.x1 + 1 and box.y0 >= inside.y0 - 1
                and box.y1 <= inside.y1 + 1), f"{name} is clipped by the figure edge"
    for i, (name_a, a) in enumerate(boxes):
        for name_b, b in boxes[i + 1:]:
            assert not a.overlaps(b), f"{name_a} overlaps {name_b}"
    assert all("\n" in ax.get_title() for ax in axes.ravel()), "the long titles should have been wrapped"
    assert all("(synthetic data)" in ax.get_title() for ax in axes.ravel())
    save(fig, tmp_path, "attribution_grid")


def test_synthetic_banner_is_loud_for_synthetic_and_silent_for_real(capsys):
    ds = toy_dataset("synthetic")
    assert synthetic_banner(ds) is True
    err = capsys.readouterr().err
    assert "SYNTHETIC DATA (zenodo_af)" in err and "python -m helpers data fetch zenodo_af" in err
    assert synthetic_banner(ds) is False  # once per dataset: the loader's banner is not repeated
    assert synthetic_banner(toy_dataset("real")) is False
    assert synthetic_banner("real") is False
    assert capsys.readouterr() == ("", "")
    assert synthetic_banner("synthetic") is True


def test_synthetic_banner_shows_html_in_a_notebook(monkeypatch):
    import IPython.display

    import helpers.data.banner

    shown = []
    monkeypatch.setattr(helpers.data.banner, "_in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display", shown.append)
    assert synthetic_banner(toy_dataset("synthetic")) is True
    assert len(shown) == 1 and "SYNTHETIC DATA (zenodo_af)" in shown[0].data and "<div" in shown[0].data


def test_class_colours_are_one_per_class_and_consistent():
    from helpers.evaluate.plots import AAMI_COLOURS, CLASS_COLOURS, class_colour

    assert class_colour("AF") == class_colour("af") == class_colour("stress") == "#D55E00"
    assert class_colour("normal") == class_colour("N") == "#0072B2"
    assert all(CLASS_COLOURS[k] == v for k, v in AAMI_COLOURS.items())
    # within each unit's label set no two classes share a colour
    for names in (["normal", "af", "other", "noisy"], list(AAMI_COLOURS),
                  ["baseline", "stress", "amusement", "meditation"]):
        assert len({class_colour(n) for n in names}) == len(names)
    with pytest.raises(KeyError, match="no course colour for class 'sinus'"):
        class_colour("sinus")


def test_plot_signal_legend_leaves_the_peaks_visible_and_marks_them_in_no_class_colour():
    from matplotlib.colors import to_hex

    from helpers.evaluate.plots import CLASS_COLOURS, plot_signal

    fs = 100.0
    t = np.arange(1000) / fs
    x = np.sin(2 * np.pi * 1.2 * t) ** 20           # a beat-like spike every 0.83 s, the last near the end
    peaks = np.flatnonzero((x[1:-1] > x[:-2]) & (x[1:-1] >= x[2:]) & (x[1:-1] > 0.5)) + 1
    ax = plot_signal(x, fs, peaks=peaks)
    fig = ax.figure
    fig.canvas.draw()
    box = ax.get_legend().get_window_extent()
    marker_line = next(line for line in ax.get_lines() if line.get_label() == "peaks")
    points = ax.transData.transform(np.c_[t[peaks], x[peaks]])
    hidden = [p for p in points if box.x0 <= p[0] <= box.x1 and box.y0 <= p[1] <= box.y1]
    assert not hidden, f"{len(hidden)} peak(s) under the legend"
    assert to_hex(marker_line.get_color()) not in set(CLASS_COLOURS.values())
    plt.close(fig)
