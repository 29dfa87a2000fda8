"""The inter-patient MIT-BIH benchmark: its smoke mode ends with one JSON line of well-formed scores."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "mitbih_interpatient.py"


def check_scores(part: dict) -> None:
    assert set(part) >= {"accuracy", "macro_f1", "per_class", "n_train", "n_test"}
    assert 0 <= part["accuracy"] <= 1 and 0 <= part["macro_f1"] <= 1
    assert set(part["per_class"]) == {"N", "S", "V", "F"}
    for cls, values in part["per_class"].items():
        assert set(values) == {"se", "ppv", "f1", "n"}, cls
        for key in ("se", "ppv", "f1"):
            assert values[key] is None or 0 <= values[key] <= 1, (cls, key, values[key])


@pytest.mark.slow
def test_tiny_run_says_which_data_and_prints_the_json_scores_last(course_env_vars, tmp_path):
    env = {**os.environ, **course_env_vars, "BIOSIGNAL_MLRUNS": str(tmp_path / "mlruns")}
    proc = subprocess.run([sys.executable, str(SCRIPT), "--tiny", "--track"], capture_output=True, text=True,
                          timeout=600, cwd=REPO, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    assert result["data"] == "synthetic"
    assert any(line.startswith("data: SYNTHETIC") for line in lines)  # said in words, not only in the JSON
    check_scores(result["ds2"])
    check_scores(result["intra_patient"])
    assert result["ds2"]["n_train"] == result["intra_patient"]["n_train"]  # like for like
    assert result["train_seconds"] > 0 and result["epochs"] == 1 and result["records"] == 8
    assert result["shared_patients"] == []  # the tiny records hold neither 201 nor 202
    assert result["anchor_de_chazal_2004"]["V"] == {"se": 0.777, "ppv": 0.819}
    assert (tmp_path / "mlruns" / "mlflow.db").is_file()  # --track recorded the two runs


def test_records_without_a_class_are_refused_naming_it(course_env_vars):
    env = {**os.environ, **course_env_vars}
    proc = subprocess.run([sys.executable, str(SCRIPT), "--records", "106", "100", "--epochs", "1"],
                          capture_output=True, text=True, timeout=600, cwd=REPO, env=env, check=False)
    assert proc.returncode != 0
    assert "no training beats of class(es) ['S', 'F']" in proc.stderr
