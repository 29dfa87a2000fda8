"""The inter-patient MIT-BIH benchmark: both modes (DS1 -> DS2 and --cv ds1) end with one JSON line of scores
averaged over seeds, with their spread."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "mitbih_interpatient.py"


METRICS = ("accuracy", "macro_f1")


def check_scores(part: dict, seeds: list[int]) -> None:
    """One evaluation: the mean over seeds and its standard deviation for every metric, and one row per seed."""
    assert set(part) >= {"accuracy", "accuracy_std", "macro_f1", "macro_f1_std", "per_class", "per_seed", "n_train",
                         "n_test"}
    for key in METRICS:
        assert 0 <= part[key] <= 1 and part[f"{key}_std"] >= 0, key
        values = [row[key] for row in part["per_seed"]]
        assert part[key] == pytest.approx(sum(values) / len(values), abs=1e-3)  # the mean over seeds, not seed 0
    assert [row["seed"] for row in part["per_seed"]] == seeds
    assert set(part["per_class"]) == {"N", "S", "V", "F"}
    for cls, values in part["per_class"].items():
        assert set(values) == {"se", "se_std", "ppv", "ppv_std", "f1", "f1_std", "n"}, cls
        for key in ("se", "ppv", "f1"):
            assert values[key] is None or 0 <= values[key] <= 1, (cls, key, values[key])
            assert values[f"{key}_std"] is None or values[f"{key}_std"] >= 0, (cls, key)


def run_tiny(env: dict, *extra: str) -> tuple[dict, list[str]]:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--tiny", *extra], capture_output=True, text=True,
                          timeout=600, cwd=REPO, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    return json.loads(lines[-1]), lines


@pytest.mark.slow
def test_tiny_run_says_which_data_and_prints_mean_and_spread_over_seeds_last(course_env_vars, tmp_path):
    env = {**os.environ, **course_env_vars, "BIOSIGNAL_MLRUNS": str(tmp_path / "mlruns")}
    result, lines = run_tiny(env, "--track", "--model", "ensemble")
    assert result["data"] == "synthetic" and result["seeds"] == [0, 1]
    assert any(line.startswith("data: SYNTHETIC") for line in lines)  # said in words, not only in the JSON
    check_scores(result["ds2"], [0, 1])
    check_scores(result["intra_patient"], [0, 1])
    assert result["ds2"]["n_train"] == result["intra_patient"]["n_train"]  # like for like
    assert result["train_seconds"] > 0 and result["epochs"] == 1 and result["records"] == 8
    assert result["features"] == "rr_norm_rel" and result["rr_reference"] == "running"  # the tuned defaults
    assert result["model"] == "ensemble" and result["num_features"] > 5 and result["num_parameters"] > 0
    for name, part in result["ds2"]["components"].items():  # the ensemble's parts, scored on the same beats
        check_scores(part, [0, 1])
        assert name in ("cnn", "features") and part["n_test"] == result["ds2"]["n_test"]
    assert result["shared_patients"] == []  # the tiny records hold neither 201 nor 202
    assert result["anchor_de_chazal_2004"]["V"] == {"se": 0.777, "ppv": 0.819}
    assert (tmp_path / "mlruns" / "mlflow.db").is_file()  # --track recorded the runs
    for name in ("raw", "normalised"):  # the RR-only baseline, both ways
        assert set(result["rr_only_logistic"][name]["per_class"]) == {"N", "S", "V", "F"}


@pytest.mark.slow
def test_cv_ds1_leaves_patients_out_within_ds1_and_prints_the_same_shape(course_env_vars, tmp_path):
    cache = tmp_path / "beats.npz"
    result, _ = run_tiny({**os.environ, **course_env_vars}, "--cv", "ds1", "--beats-cache", str(cache))
    assert "ds2" not in result  # DS2 is neither read nor scored
    check_scores(result["ds1_cv"], [0, 1])
    check_scores(result["intra_patient"], [0, 1])
    # four DS1 records of --tiny, two grouped folds: every DS1 beat is tested once, by a model that never saw
    # its patient
    assert cache.is_file()  # the beats were cached; a second run reads them
    with np.load(cache) as z:
        n_ds1 = int(np.isin(z["record"], ["106", "208", "209", "223"]).sum())
    assert result["ds1_cv"]["n_test"] == result["intra_patient"]["n_test"] == n_ds1 < result["beats"]
    assert result["evaluation"].startswith("DS1 leave-patients-out")
    assert result["model"] == "features" and result["num_parameters"] is None  # the default: no network
    assert "components" not in result["ds1_cv"]
    assert result["ds1_cv"]["per_class"]["V"]["se"] > 0.5  # the tiny records' ventricular beats are found
    # again from the cache, the seeds in two worker processes, the probabilities kept: the same numbers
    again, _ = run_tiny({**os.environ, **course_env_vars}, "--cv", "ds1", "--beats-cache", str(cache),
                        "--no-intra-patient", "--jobs", "2", "--save-proba", str(tmp_path / "proba.npz"))
    assert again["beats"] == result["beats"] and again["intra_patient"] is None
    assert again["ds1_cv"]["per_seed"] == result["ds1_cv"]["per_seed"]
    with np.load(tmp_path / "proba.npz") as z:  # out-of-fold probabilities of every seed, for offline study
        p = z["ds1_cv_features_seed1"]
        assert p.shape == (n_ds1, 4) and z["ds1_cv_tested_seed1"].dtype.kind == "i"
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)


def test_leave_patients_out_folds_keep_each_patient_on_one_side():
    sys.path.insert(0, str(SCRIPT.parent))
    from mitbih_interpatient import grouped_folds

    y = np.tile([0, 0, 0, 1], 30)
    groups = np.repeat([f"p{i}" for i in range(10)], 12)
    folds = grouped_folds(y, groups, 5)
    tested = np.concatenate([te for _, te in folds])
    assert np.sort(tested).tolist() == list(range(120))  # every beat tested once
    for tr, te in folds:
        assert not set(groups[tr]) & set(groups[te])


def test_records_without_a_class_are_refused_naming_it(course_env_vars):
    env = {**os.environ, **course_env_vars}
    proc = subprocess.run([sys.executable, str(SCRIPT), "--records", "106", "100", "--epochs", "1"],
                          capture_output=True, text=True, timeout=600, cwd=REPO, env=env, check=False)
    assert proc.returncode != 0
    assert "no training beats of class(es) ['S', 'F']" in proc.stderr


def test_the_default_inputs_are_relative_to_each_patient():
    sys.path.insert(0, str(SCRIPT.parent))
    from mitbih_interpatient import FEATURES, model_inputs

    rng = np.random.default_rng(0)
    beat = rng.standard_normal((1, 1, 20)).astype(np.float32)
    X = np.concatenate([np.repeat(beat, 6, axis=0), 2.5 * np.repeat(beat, 6, axis=0)])  # one shape, two gains
    rr = np.r_[np.full((6, 5), 1.0), np.full((6, 5), 0.6)].astype(np.float32)         # two heart rates
    rr[:, 3:] = 1.0                                                                       # ratios: on time
    record = np.repeat(["slow", "fast"], 6)
    shapes = {}
    for name in FEATURES:
        shapes[name] = model_inputs(name, X, rr, record).shape
        x = model_inputs(name, X, rr, record)
        if name == "rr_norm_rel":  # neither gain nor heart rate survives: the two patients look alike
            np.testing.assert_allclose(x[:6], x[6:], atol=1e-5)
        if name == "raw":
            assert not np.allclose(x[:6, -5:], x[6:, -5:])
    assert shapes == {"raw": (12, 6, 20), "rr_norm": (12, 6, 20), "rr_norm_shape": (12, 7, 20),
                      "rr_norm_rel": (12, 6, 20)}


def test_the_ensemble_averages_its_parts_probabilities_and_the_decision_weights_shift_the_priors():
    sys.path.insert(0, str(SCRIPT.parent))
    from mitbih_interpatient import combine, components, parse_args

    probs = {"cnn": np.array([[0.9, 0.1, 0.0, 0.0]]), "features": np.array([[0.1, 0.7, 0.2, 0.0]])}
    args = parse_args(["--model", "ensemble", "--cnn-weight", "0.25", "--decision-weights", "1", "1", "1", "1"])
    assert components(args.model) == ("cnn", "features")
    np.testing.assert_allclose(combine(probs, args), [[0.3, 0.55, 0.15, 0.0]])
    assert components("features") == ("features",)
    cnn = parse_args(["--model", "cnn", "--decision-weights", "1", "3", "1", "1"])
    np.testing.assert_allclose(combine(probs, cnn), [[0.9, 0.3, 0.0, 0.0]])  # S now wins this beat
    assert parse_args([]).decision_weights == [1.0, 1.0, 1.5, 1.0]          # the default leans towards V
    for bad in (["--cnn-weight", "1.5"], ["--decision-weights", "1", "0", "1", "1"]):
        with pytest.raises(SystemExit):
            parse_args(bad)


def test_feature_table_is_relative_to_each_patient():
    sys.path.insert(0, str(SCRIPT.parent))
    from mitbih_features import feature_table

    rng = np.random.default_rng(0)
    t = np.arange(126) / 180.0 - 0.25
    beat = (np.exp(-0.5 * (t / 0.012) ** 2) + 0.15 * np.exp(-0.5 * ((t + 0.16) / 0.02) ** 2)).astype(np.float32)
    X = beat[None, None] * (1 + 0.01 * rng.standard_normal((30, 1, 1))).astype(np.float32)
    rr = np.ones((30, 5), np.float32)
    X2, rr2 = np.r_[X, 2.5 * X], np.r_[rr, rr * 0.6]        # a second patient: other gain, faster heart
    rr2[:, 3:] = 1.0
    F = feature_table(X2, rr2, np.repeat(["a", "b"], 30), 180.0)
    assert F.shape[0] == 60 and F.shape[1] % 2 == 0
    np.testing.assert_allclose(F[:30], F[30:], atol=1e-3)   # neither gain nor heart rate survives


def test_the_feature_model_gives_the_same_probabilities_at_any_thread_count():
    sys.path.insert(0, str(SCRIPT.parent))
    from mitbih_features import fit_predict_features

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 600)
    F = rng.standard_normal((600, 12)) + y[:, None] * 0.5  # learnable, not trivially
    train, test = np.arange(450), np.arange(450, 600)
    one, _ = fit_predict_features(F, y, train, test, 0, n_outputs=4, threads=1, max_iter=30)
    two, _ = fit_predict_features(F, y, train, test, 0, n_outputs=4, threads=2, max_iter=30)
    other_seed, _ = fit_predict_features(F, y, train, test, 1, n_outputs=4, threads=1, max_iter=30)
    np.testing.assert_array_equal(one, two)
    assert not np.array_equal(one, other_seed)  # the seed draws the features each split may use
    assert (one.argmax(1) == y[test]).mean() > 0.4
