"""Unit 4's stress windows (helpers.ppg) and the WESAD leave-one-subject-out benchmark's smoke mode."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import require_packages

from helpers.data.container import Intervals, SignalDataset
from helpers.signal.normalise import normalise_per_subject
from helpers.ppg import (
    STRESS_CLASSES,
    binary_stress_labels,
    label_subset,
    stress_windows,
)

REPO = Path(__file__).resolve().parents[1]
CONDITIONS = ("baseline", "stress", "amusement", "meditation")


def load_script():
    spec = importlib.util.spec_from_file_location("wesad_loso", REPO / "benchmarks" / "wesad_loso.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def condition_records(seconds=(130, 70, 65, 40), subjects=("S2", "S3"), fs=64.0):
    """Two subjects, one record per condition (lengths in s), each record's BVP a constant: its condition index."""
    signals, labels, sids, rids = [], [], [], []
    for k, sub in enumerate(subjects):
        for c, sec in enumerate(seconds):
            x = np.full((2, int(sec * fs)), float(c), dtype=np.float32)
            x[1] = 10.0 * k + np.sin(np.arange(x.shape[1]) / 7.0)  # a second channel with a subject offset
            signals.append(x)
            labels.append(c)
            sids.append(sub)
            rids.append(f"{sub}_{CONDITIONS[c]}")
    return SignalDataset(signals=signals, labels=np.array(labels), fs=fs, subject_ids=np.array(sids),
                         record_ids=np.array(rids), class_names=CONDITIONS, source="synthetic", name="wesad",
                         channel_names=("BVP", "EDA"),
                         intervals=[Intervals([0.0], [s.shape[1] / fs], [CONDITIONS[c]])
                                    for s, c in zip(signals, labels)])


def test_only_the_stress_condition_is_labelled_stress():
    assert binary_stress_labels([0, 1, 2, 3, 1], CONDITIONS).tolist() == [0, 1, 0, 0, 1]
    with pytest.raises(ValueError, match="label 4 is not an index"):
        binary_stress_labels([4], CONDITIONS)
    with pytest.raises(ValueError, match="must contain 'stress'"):
        binary_stress_labels([0], ("recording",))


def test_windows_inherit_their_records_condition_as_stress_or_not():
    ds = condition_records()
    w = stress_windows(ds, window_s=60.0, step_s=30.0, normalize=None)
    assert w.X.shape[1:] == (2, 3840) and w.class_names == STRESS_CLASSES
    # per subject: 130 s -> 3 windows, 70 s -> 1, 65 s -> 1, 40 s -> none (shorter than a window, dropped)
    assert np.bincount(w.record_index, minlength=8).tolist() == [3, 1, 1, 0, 3, 1, 1, 0]
    condition = w.X[:, 0, 0].astype(int)  # the constant BVP of each window names the condition it came from
    assert (condition == ds.labels[w.record_index]).all()
    assert (w.y == (condition == 1)).all() and w.y.sum() == 2
    assert w.groups.tolist() == ["S2"] * 5 + ["S3"] * 5
    assert w.start_s[:3].tolist() == [0.0, 30.0, 60.0]


def test_subject_standardisation_uses_each_subjects_own_statistics():
    w = stress_windows(condition_records(), window_s=60.0, step_s=30.0, normalize="subject")
    for sub in ("S2", "S3"):
        x = w.X[w.groups == sub]
        np.testing.assert_allclose(x.mean(axis=(0, 2)), 0.0, atol=1e-4)
        np.testing.assert_allclose(x.std(axis=(0, 2)), 1.0, atol=1e-3)
    # the offset of 10 between the subjects' second channel is gone; the conditions' order within a subject is kept
    assert abs(w.X[w.groups == "S2", 1].mean() - w.X[w.groups == "S3", 1].mean()) < 1e-3
    raw = stress_windows(condition_records(), 60.0, 30.0, normalize=None)
    np.testing.assert_allclose(normalise_per_subject(raw.X, raw.groups), w.X, atol=1e-5)
    with pytest.raises(ValueError, match="normalize must be one of"):
        stress_windows(condition_records(), normalize="record")


def test_label_subset_is_stratified_and_keeps_every_class():
    y = np.array([0] * 90 + [1] * 10)
    keep = label_subset(y, 0.1, seed=0)
    assert np.bincount(y[keep]).tolist() == [9, 1] and (np.diff(keep) > 0).all()
    assert np.bincount(y[label_subset(y, 0.01)]).tolist() == [1, 1]
    with pytest.raises(ValueError, match=r"fraction must be in \(0, 1\], got 0"):
        label_subset(y, 0)


def test_one_subject_gets_a_within_subject_split_without_overlapping_windows():
    script = load_script()
    ds = condition_records(seconds=(600, 300, 200, 200), subjects=("S2",))
    w = stress_windows(ds, 60.0, 30.0, normalize=None)
    evaluation, folds = script.folds(w)
    assert evaluation == "within-subject" and len(folds) == 1
    _, train, test = folds[0]
    assert not set(train) & set(test)
    for r in np.unique(w.record_index):  # training windows end before the record's first test window starts
        tr, te = train[w.record_index[train] == r], test[w.record_index[test] == r]
        assert len(te) and w.start_s[tr].max() + 60.0 <= w.start_s[te].min()


@pytest.mark.slow
def test_tiny_run_prints_one_json_line_per_sensor_set(capsys):
    results = load_script().main(["--tiny"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert lines == results and [r["sensors"] for r in lines] == ["bvp", "bvp+acc+eda"]
    for r in lines:
        assert r["data"] == "synthetic" and r["evaluation"] == "loso"
        assert set(r) >= {"sensors", "subjects", "mean_accuracy", "mean_macro_f1", "per_subject"}
        assert r["subjects"] == ["S2", "S3", "S4"] == sorted(r["per_subject"])
        assert 0 <= r["mean_accuracy"] <= 1 and 0 <= r["mean_macro_f1"] <= 1
        for s in r["per_subject"].values():
            assert 0 <= s["accuracy"] <= 1 and 0 <= s["macro_f1"] <= 1 and 0 < s["n_stress"] < s["n_windows"]
        assert r["mean_accuracy"] == pytest.approx(np.mean([s["accuracy"] for s in r["per_subject"].values()]))
    assert lines[0]["channels"] == ["BVP"] and lines[1]["channels"] == ["BVP", "ACC_X", "ACC_Y", "ACC_Z", "EDA"]


@pytest.mark.slow
@pytest.mark.parametrize("study, arms", [("label-efficiency", ["scratch", "pretrained"]),
                                         ("distillation", ["teacher", "student_scratch", "student_distilled"])])
def test_tiny_studies_print_one_line_per_arm(study, arms):
    results = load_script().main(["--tiny", "--study", study])
    assert [r["arm"] for r in results] == arms
    assert all(0 <= r["mean_accuracy"] <= 1 and r["sensors"] == "bvp" for r in results)


@pytest.mark.slow
def test_pretraining_can_add_heartpy_recordings(capsys):
    from helpers.data.heartpy_ppg import INSTALL

    require_packages(["heartpy"], INSTALL)
    results = load_script().main(["--tiny", "--study", "label-efficiency", "--pretrain-extra", "heartpy"])
    pretrained = results[1]
    # --tiny windows are 20 s: HeartPy's 25-s example fits one, the longer ones many (dropouts excluded)
    assert pretrained["pretrain_extra"] == "heartpy" and pretrained["pretrain_extra_windows"] > 40
    assert "HeartPy's real PPG" in capsys.readouterr().out


def test_bad_arguments_are_refused_by_name():
    script = load_script()
    with pytest.raises(SystemExit):
        script.main(["--sensors", "ppg"])
    with pytest.raises(SystemExit):
        script.main(["--tiny", "--window-s", "20.5"])
