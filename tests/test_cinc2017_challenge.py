"""benchmarks/cinc2017_challenge.py end to end, CI-sized: --tiny writes a few synthetic records and cross-validates."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "cinc2017_challenge.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("cinc2017_challenge", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FOLD_KEYS = {"fold", "model", "params", "data", "device", "n_train", "n_val", "n_test", "f1_N", "f1_A", "f1_O",
             "f1_~", "challenge_f1", "accuracy", "confusion", "train_s", "epochs", "best_epoch", "train_seq_s",
             "loader_seq_s"}


@pytest.mark.parametrize("model", ["signal_transformer", "cnn1d"])
def test_tiny_run_prints_one_line_per_fold_and_a_summary(bench, model, tmp_path, capsys):
    out = tmp_path / "lines.jsonl"
    rows = bench.main(["--tiny", "--model", model, "--out", str(out)])
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert printed == rows == [json.loads(line) for line in out.read_text().splitlines()]
    folds, summary = rows[:-1], rows[-1]
    assert len(folds) == 2 and all(FOLD_KEYS <= set(r) for r in folds)
    assert summary["summary"] is True and summary["folds"] == 2 and summary["model"] == model
    assert 0.0 <= summary["challenge_f1"] <= 1.0 and summary["data"] == "synthetic"
    assert sum(r["n_test"] for r in folds) == 40  # every record tested once
    assert all(r["train_seq_s"] > 0 and r["loader_seq_s"] > 0 for r in folds)


def test_challenge_score_is_the_mean_f1_of_normal_af_and_other(bench):
    y = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    pred = np.array([0, 1, 1, 1, 2, 3, 3, 0])
    proba = np.eye(4)[pred]
    f1 = {0: 2 * 1 / (2 + 2), 1: 2 * 2 / (2 + 3), 2: 2 * 1 / (2 + 1)}  # 2 TP / (true + predicted)
    assert bench.challenge_f1(y, proba) == pytest.approx(np.mean(list(f1.values())))


def test_path_and_synthetic_together_are_refused(bench):
    with pytest.raises(SystemExit):
        bench.parse_args(["--path", "somewhere", "--tiny"])
