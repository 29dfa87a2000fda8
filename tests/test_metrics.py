"""Specifications of helpers.evaluate.metrics: agreement with scikit-learn on fixed inputs, and edge cases."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from helpers.evaluate.metrics import binary_report, confusion, multiclass_report, positive_scores, threshold_for_sensitivity

Y = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
S = np.array([0.1, 0.2, 0.3, 0.6, 0.4, 0.05, 0.7, 0.45, 0.9, 0.8])


def test_binary_report_agrees_with_scikit_learn_on_fixed_inputs():
    r = binary_report(Y, S, threshold=0.5)
    pred = (S >= 0.5).astype(int)
    assert r["accuracy"] == pytest.approx(skm.accuracy_score(Y, pred))
    assert r["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(Y, pred))
    assert r["sensitivity"] == pytest.approx(skm.recall_score(Y, pred))
    assert r["specificity"] == pytest.approx(skm.recall_score(Y, pred, pos_label=0))
    assert r["ppv"] == pytest.approx(skm.precision_score(Y, pred))
    assert r["npv"] == pytest.approx(skm.precision_score(Y, pred, pos_label=0))
    assert r["f1"] == pytest.approx(skm.f1_score(Y, pred))
    assert r["roc_auc"] == pytest.approx(skm.roc_auc_score(Y, S))
    assert r["pr_auc"] == pytest.approx(skm.average_precision_score(Y, S))
    assert (r["n"], r["n_positive"]) == (10, 4)


def test_binary_report_hand_computed_values():
    r = binary_report(Y, S)
    # predictions >= 0.5: positives at 0.6 (FP), 0.7, 0.9, 0.8 (TP); 0.45 is a missed AF (FN)
    assert (r["tp"], r["fp"], r["tn"], r["fn"]) == (3, 1, 5, 1)
    assert r["sensitivity"] == 0.75 and r["specificity"] == pytest.approx(5 / 6)
    assert r["roc_auc"] == pytest.approx(23 / 24)


def test_binary_report_accepts_two_column_probabilities():
    two = np.stack([1 - S, S], axis=1)
    assert binary_report(Y, two) == binary_report(Y, S)
    assert binary_report(Y, S[:, None]) == binary_report(Y, S)


def test_binary_report_threshold_moves_sensitivity_and_specificity():
    low, high = binary_report(Y, S, threshold=0.3), binary_report(Y, S, threshold=0.75)
    assert low["sensitivity"] >= high["sensitivity"] and low["specificity"] <= high["specificity"]


def test_binary_report_single_class_gives_nan_auc_with_warning_not_a_crash():
    with pytest.warns(UserWarning, match="only class 0"):
        r = binary_report(np.zeros(5, int), [0.1, 0.2, 0.7, 0.3, 0.4])
    assert np.isnan(r["roc_auc"]) and np.isnan(r["pr_auc"]) and np.isnan(r["sensitivity"])
    assert r["specificity"] == 0.8 and r["accuracy"] == 0.8


def test_binary_report_undefined_ppv_is_nan_not_zero():
    r = binary_report(Y, np.zeros(10))
    assert np.isnan(r["ppv"]) and r["sensitivity"] == 0


@pytest.mark.parametrize("y_true, y_score, message", [
    ([0, 1, 2], [0.1, 0.2, 0.3], r"only 0 \(negative\) and 1"),
    ([0, 1], [0.1, 0.2, 0.3], "3 items but y_true has 2"),
    ([0, 1], [[0.1, 0.2, 0.7], [0.3, 0.3, 0.4]], r"shape \(n,\) or \(n, 2\), got shape \(2, 3\)"),
    ([0, 1], [0.1, np.nan], "1 NaN/inf"),
    ([[0, 1]], [0.1, 0.2], r"shape \(1, 2\)"),
])
def test_binary_report_rejects_bad_inputs_clearly(y_true, y_score, message):
    with pytest.raises(ValueError, match=message):
        binary_report(y_true, y_score)


def test_positive_scores_takes_last_column():
    assert positive_scores([[0.9, 0.1], [0.2, 0.8]]).tolist() == [0.1, 0.8]


def test_confusion_rows_are_true_columns_are_predicted():
    cm = confusion([0, 0, 1, 1, 2], [0, 1, 1, 1, 0])
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    probs = np.eye(3)[[0, 1, 1, 1, 0]]
    assert confusion([0, 0, 1, 1, 2], probs).tolist() == cm.tolist()
    with pytest.raises(ValueError, match="same length"):
        confusion([0, 1], [0])


def test_multiclass_report_agrees_with_scikit_learn():
    y = np.array([0, 0, 1, 1, 2, 2, 2, 3])
    p = np.array([0, 1, 1, 1, 2, 0, 2, 3])
    names = ("N", "A", "O", "~")
    table = multiclass_report(y, p, names)
    assert isinstance(table, pd.DataFrame)
    assert list(table.index) == [*names, "macro avg"]
    ppv, sens, f1, support = skm.precision_recall_fscore_support(y, p, labels=[0, 1, 2, 3])
    np.testing.assert_allclose(table.loc[list(names), "sensitivity"], sens)
    np.testing.assert_allclose(table.loc[list(names), "ppv"], ppv)
    np.testing.assert_allclose(table.loc[list(names), "f1"], f1)
    assert table.loc[list(names), "support"].tolist() == support.tolist()
    assert table.loc["N", "specificity"] == pytest.approx(5 / 6)  # one of six non-N items called N
    assert table.loc["macro avg", "support"] == 8
    assert table.loc["macro avg", "f1"] == pytest.approx(skm.f1_score(y, p, average="macro"))


def test_multiclass_report_marks_absent_class_as_nan_and_rejects_unknown_labels():
    table = multiclass_report([0, 0, 1], [0, 0, 1], ("N", "A", "O"))
    assert np.isnan(table.loc["O", "sensitivity"]) and table.loc["O", "support"] == 0
    with pytest.raises(ValueError, match=r"labels \[3\] have no entry"):
        multiclass_report([0, 3], [0, 1], ("N", "A", "O"))


def test_threshold_for_sensitivity_is_the_highest_threshold_reaching_the_target():
    thr = threshold_for_sensitivity(Y, S, 0.75)
    assert thr == pytest.approx(0.7)
    assert binary_report(Y, S, threshold=thr)["sensitivity"] >= 0.75
    assert threshold_for_sensitivity(Y, S, 1.0) == pytest.approx(0.45)
    with pytest.raises(ValueError, match="target"):
        threshold_for_sensitivity(Y, S, 1.5)
    with pytest.raises(ValueError, match="no positive"):
        threshold_for_sensitivity(np.zeros(3, int), [0.1, 0.2, 0.3], 0.9)


def test_bootstrap_ci_brackets_the_estimate_and_narrows_with_more_patients():
    from helpers.evaluate.metrics import bootstrap_ci

    rng = np.random.default_rng(0)
    widths = []
    for n in (20, 400):
        y = np.r_[np.zeros(n // 2, int), np.ones(n // 2, int)]
        s = y + rng.normal(0, 1.0, n)
        ci = bootstrap_ci(y, s, n_resamples=300, seed=1)
        assert ci["low"] <= ci["estimate"] <= ci["high"] and ci["n_groups"] == n
        assert ci["estimate"] == pytest.approx(skm.roc_auc_score(y, s))
        widths.append(ci["high"] - ci["low"])
    assert widths[1] < widths[0] / 2


def test_bootstrap_ci_of_a_difference_is_paired_and_resamples_whole_patients():
    from helpers.evaluate.metrics import bootstrap_ci

    y = np.array([0, 0, 1, 1, 0, 1, 0, 1])
    s = np.array([0.1, 0.2, 0.8, 0.9, 0.3, 0.7, 0.4, 0.6])
    same = bootstrap_ci(y, s, baseline_score=s, n_resamples=200)
    assert same["estimate"] == same["low"] == same["high"] == 0.0   # a model against itself: exactly no difference
    groups = np.array(["a", "a", "b", "b", "c", "c", "d", "d"])
    ci = bootstrap_ci(y, s, groups=groups, n_resamples=200)
    assert ci["n_groups"] == 4 and ci["estimate"] == 1.0
    tiny = bootstrap_ci([0, 1], [0.2, 0.9], n_resamples=50)   # half the resamples hold one class: drawn again
    assert tiny["n_redrawn"] > 0 and tiny["low"] == tiny["high"] == 1.0


def test_bootstrap_ci_refuses_what_it_cannot_measure():
    from helpers.evaluate.metrics import bootstrap_ci

    with pytest.raises(ValueError, match="one class"):
        bootstrap_ci([1, 1, 1], [0.2, 0.5, 0.9])
    with pytest.raises(ValueError, match="groups"):
        bootstrap_ci([0, 1], [0.2, 0.9], groups=[1, 2, 3])
    with pytest.raises(ValueError, match="level"):
        bootstrap_ci([0, 1], [0.2, 0.9], level=95)
