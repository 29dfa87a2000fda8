"""helpers.evaluate.class_plots: an undefined score draws no bar, every bar shows its n, an empty confusion row is
marked empty instead of a row of zeros that "sums to 1"."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers.evaluate.class_plots import (
    NO_ITEMS,
    UNDEFINED,
    plot_class_scores,
    plot_normalised_confusion,
)
from helpers.evaluate.metrics import multiclass_report

CLASSES = ("N", "S", "V", "F")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _report():
    # 20 N, 2 S, 5 V, no F; the model never predicts S
    y = np.r_[np.zeros(20), np.ones(2), np.full(5, 2)].astype(int)
    p = np.r_[np.zeros(20), np.zeros(2), np.full(5, 2)].astype(int)
    return multiclass_report(y, p, CLASSES, warn=False)


def _filled_bars(ax):
    return [r for r in ax.patches if r.get_fill()]


def test_undefined_score_draws_no_bar_but_a_labelled_mark():
    table = _report()   # F: no test item, f1 NaN; S: 2 items, never predicted, f1 0 (defined)
    ax = plot_class_scores({"inter-patient": table}, CLASSES, metric="f1")
    heights = sorted(round(r.get_height(), 6) for r in _filled_bars(ax))
    assert len(heights) == 3, "N, S and V have an F1; F has none and must get no bar"
    assert heights == sorted(round(v, 6) for v in table.loc[["N", "S", "V"], "f1"])
    hatched = [r for r in ax.patches if not r.get_fill()]
    assert len(hatched) == 1 and hatched[0].get_hatch() == "//"
    texts = [t.get_text() for t in ax.texts]
    assert any(NO_ITEMS in t and "n=0" in t for t in texts), texts


def test_every_bar_is_labelled_with_its_n():
    ax = plot_class_scores({"a": _report()}, CLASSES, metric="sensitivity")
    texts = [t.get_text() for t in ax.texts]
    for n in ("n=20", "n=2", "n=5"):
        assert n in texts, f"{n} missing from {texts}"


def test_score_undefined_with_items_is_marked_undefined_not_no_items():
    table = _report()   # S has 2 items but is never predicted: ppv NaN
    ax = plot_class_scores({"a": table}, CLASSES, metric="ppv")
    texts = [t.get_text() for t in ax.texts]
    assert any(t.startswith(UNDEFINED) and "n=2" in t for t in texts), texts


def test_two_results_side_by_side_and_synthetic_title():
    ax = plot_class_scores({"leaky": _report(), "inter": _report()}, CLASSES, source="synthetic")
    assert len(_filled_bars(ax)) == 6
    assert "(synthetic data)" in ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["leaky", "inter"]


def test_class_scores_refuse_a_table_without_n_or_a_class():
    table = _report()
    with pytest.raises(ValueError, match="support"):
        plot_class_scores({"a": table.drop(columns="support")}, CLASSES)
    with pytest.raises(ValueError, match="Q"):
        plot_class_scores({"a": table}, (*CLASSES, "Q"))
    with pytest.raises(ValueError, match="empty"):
        plot_class_scores({}, CLASSES)


def test_confusion_row_without_items_is_empty_and_named():
    cm = np.array([[18, 2, 0, 0], [1, 1, 0, 0], [0, 0, 5, 0], [0, 0, 0, 0]])
    ax = plot_normalised_confusion(cm, CLASSES)
    image = ax.get_images()[0].get_array()
    assert np.ma.getmaskarray(image)[3].all() and not np.ma.getmaskarray(image)[:3].any()
    assert np.allclose(image[:3].sum(axis=1), 1.0)
    assert np.isclose(image[0, 0], 0.9)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["N (n=20)", "S (n=2)", "V (n=5)", "F (n=0)"]
    assert any(NO_ITEMS in t.get_text() for t in ax.texts)
    assert "n = 0" in ax.get_title() and "sums to 1" in ax.get_title()


def test_confusion_refuses_fractions_and_wrong_shapes():
    with pytest.raises(ValueError, match="counts"):
        plot_normalised_confusion(np.eye(4) * 0.5, CLASSES)
    with pytest.raises(ValueError, match="shape"):
        plot_normalised_confusion(np.eye(3, dtype=int), CLASSES)
    with pytest.raises(ValueError, match="counts"):
        plot_normalised_confusion(-np.eye(4, dtype=int), CLASSES)
