"""Degenerate results are flagged where they are printed (helpers.evaluate.degenerate, helpers.evaluate.metrics, helpers.notebook.report),
and a notebook's claims are printed as checked or FAILED and stored with its headline."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier

from helpers.notebook import report
from helpers.evaluate.degenerate import MARKER, chance_upper, classification_flags
from helpers.eeg.evaluation import loso_evaluate
from helpers.evaluate.metrics import binary_report, multiclass_report

# 20 negatives, 20 positives; scores rank most positives *below* negatives: ROC AUC well under 0.5
Y = np.r_[np.zeros(20, int), np.ones(20, int)]
INVERTED = np.r_[np.linspace(0.55, 0.95, 20), np.linspace(0.05, 0.6, 20)]
GOOD = np.r_[np.linspace(0.05, 0.45, 20), np.linspace(0.55, 0.95, 20)]


def _codes(text: str) -> list[str]:
    return [line.split(MARKER, 1)[1].split(":", 1)[0].strip() for line in text.splitlines() if MARKER in line]


def test_binary_report_prints_auc_below_chance_beside_the_model_name(capsys):
    r = binary_report(Y, INVERTED, name="transformer")
    out = capsys.readouterr().out
    assert r["roc_auc"] < 0.5
    line = next(line for line in out.splitlines() if "auc-below-chance" in line)
    assert line.startswith(MARKER) and "transformer" in line and f"{r['roc_auc']:.3f}" in line
    assert "below chance: the ranking is inverted or meaningless" in line


def test_binary_report_of_a_good_balanced_model_prints_no_flag(capsys):
    binary_report(Y, GOOD)
    assert MARKER not in capsys.readouterr().out


def test_binary_report_flags_one_class_prediction_and_the_majority_baseline(capsys):
    y = np.r_[np.zeros(30, int), np.ones(10, int)]
    binary_report(y, np.full(40, 0.2), name="cnn_lstm")  # sensitivity 0.00: everything called negative
    codes = _codes(capsys.readouterr().out)
    assert {"one-class-prediction", "at-or-below-majority", "balanced-accuracy-at-chance"} <= set(codes)


def test_binary_report_flags_a_class_with_fewer_than_ten_items(capsys):
    y = np.r_[np.zeros(40, int), np.ones(9, int)]
    s = np.r_[np.linspace(0, 0.4, 40), np.linspace(0.6, 1, 9)]
    binary_report(y, s)
    out = capsys.readouterr().out
    assert _codes(out) == ["small-class"] and "positive n=9" in out


def test_binary_report_warn_false_prints_nothing(capsys):
    binary_report(Y, INVERTED, warn=False)
    assert capsys.readouterr().out == ""


def test_chance_interval_is_the_binomial_95_percent_interval_of_guessing():
    # two classes of 100: sd of a guessed balanced accuracy = 0.25 * sqrt(2/100)
    assert chance_upper([100, 100]) == pytest.approx(0.5 + 1.959964 * 0.25 * np.sqrt(0.02))
    # three classes of 30: 1/3 + 1.96 * sqrt(3 * (1/3)(2/3)/30) / 3
    assert chance_upper([30, 30, 30]) == pytest.approx(1 / 3 + 1.959964 * np.sqrt(3 * (2 / 9) / 30) / 3)
    with pytest.raises(ValueError, match="at least two positive counts"):
        chance_upper([10])


def test_balanced_accuracy_just_inside_the_noise_band_is_flagged_and_just_outside_is_not():
    y = np.r_[np.zeros(100, int), np.ones(100, int)]
    upper = chance_upper([100, 100])  # 0.569
    inside = np.r_[np.zeros(56, int), np.ones(44, int), np.ones(56, int), np.zeros(44, int)]  # 0.56
    outside = np.r_[np.zeros(58, int), np.ones(42, int), np.ones(58, int), np.zeros(42, int)]  # 0.58
    assert 0.56 <= upper < 0.58
    assert "balanced-accuracy-at-chance" in [f.code for f in classification_flags(y, inside)]
    assert "balanced-accuracy-at-chance" not in [f.code for f in classification_flags(y, outside)]


def test_multiclass_report_shows_n_per_class_and_flags_small_classes(capsys):
    y = np.r_[np.zeros(50, int), np.ones(12, int), np.full(3, 2)]
    table = multiclass_report(y, y, ["N", "S", "F"], name="beat CNN")
    out = capsys.readouterr().out
    assert table.loc[["N", "S", "F"], "support"].tolist() == [50, 12, 3]
    assert _codes(out) == ["small-class"] and "F n=3" in out and "S n=" not in out


def test_multiclass_report_flags_a_named_class_absent_from_the_test_set(capsys):
    y = np.r_[np.zeros(20, int), np.ones(20, int)]
    multiclass_report(y, y, ["N", "S", "F"])
    assert "F n=0" in capsys.readouterr().out


def test_headline_flags_auc_below_chance_and_accuracy_at_the_majority(capsys):
    report.headline("demo", transformer_test_roc_auc=0.378, cnn1d_test_roc_auc=0.76,
                    test_accuracy=0.599, majority_baseline=0.802)
    codes = _codes(capsys.readouterr().out)
    assert codes == ["auc-below-chance", "at-or-below-majority"]


def test_headline_prints_claims_and_writes_them(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv(report.RESULTS_DIR_ENV, str(tmp_path))
    out = report.headline("demo", claims={"CNN above chance": True, "int8 within a point": np.bool_(False)},
                          auc=0.9)
    printed = capsys.readouterr().out
    assert "✓ claim checked: CNN above chance" in printed and "✗ claim FAILED: int8 within a point" in printed
    written = json.loads((tmp_path / "demo.json").read_text())
    assert written["claims"] == {"CNN above chance": True, "int8 within a point": False} == out["claims"]


def test_headline_refuses_a_claim_that_is_not_a_bool():
    with pytest.raises(TypeError, match="not bool.*'gain'"):
        report.headline("demo", claims={"gain": 0.03})


def test_loso_table_shows_flags_for_a_fold_at_or_below_its_majority(capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.r_[np.zeros(20, int), np.ones(10, int), np.zeros(10, int), np.ones(20, int)]
    groups = np.repeat(["s1", "s2"], 30)
    table = loso_evaluate(DummyClassifier(strategy="most_frequent"), X, y, groups)
    out = capsys.readouterr().out
    assert "flags" in table.columns and isinstance(table, pd.DataFrame)
    assert all("one-class-prediction" in f for f in table["flags"])
    assert "held out s1" in out and "one-class-prediction" in _codes(out)
