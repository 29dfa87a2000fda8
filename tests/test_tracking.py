"""MLflowCallback through fit: what a run records, read back with MLflow's own client; MLflow stays optional."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers.models import BeatCNN, beat_inputs
from helpers.train import TrainConfig, fit

pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient

from helpers.train.tracking import MLflowCallback, default_tracking_uri, runs_table

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    """One SQLite store for the module (creating one takes ~2 s); each test uses its own experiment."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlruns') / 'mlflow.db'}"


def tiny_task(n=96, seed=0):
    rng = np.random.default_rng(seed)
    X = beat_inputs(rng.normal(size=(n, 1, 32)).astype(np.float32), rng.uniform(0.5, 1.5, (n, 5)))
    return X, rng.integers(0, 3, n)


def tiny_model(seed=0):
    torch.manual_seed(seed)
    return BeatCNN(6, 3, 32, channels=(4, 8), rr_hidden=4, head_hidden=8, verbose=False)


def train(cb, epochs=3, **cfg):
    X, y = tiny_task()
    config = TrainConfig(epochs=epochs, batch_size=32, progress=False, callbacks=[cb], **cfg)
    return fit(tiny_model(), (X[:64], y[:64]), (X[64:], y[64:]), config)


def test_import_works_without_mlflow_and_the_callback_says_what_to_install():
    code = ("import sys; sys.modules['mlflow'] = None\n"  # makes `import mlflow` fail as if it were not installed
            "import helpers.train.tracking as t\n"
            "try:\n    t.MLflowCallback()\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "needs MLflow, which is not installed: pip install mlflow-skinny" in out.stdout
    assert ".[tracking]" in out.stdout


def test_a_fit_is_one_run_with_the_config_every_epoch_and_the_best_metrics(store):
    cb = MLflowCallback("fit_run", run_name="weights", tracking_uri=store, params={"strategy": "class_weights"})
    history = train(cb, class_weights="balanced")
    client = MlflowClient(tracking_uri=store)
    run = client.get_run(cb.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "weights"
    p = run.data.params
    assert (p["epochs"], p["class_weights"], p["strategy"], p["model"]) == ("3", "balanced", "class_weights", "BeatCNN")
    assert p["num_parameters"] == str(tiny_model().num_parameters()) and p["callbacks"] == "['MLflowCallback']"
    for key in ("train_loss", "val_loss", "val_macro_f1", "lr"):
        steps = client.get_metric_history(cb.run_id, key)
        assert [m.step for m in sorted(steps, key=lambda m: m.step)] == [1, 2, 3], key
        np.testing.assert_allclose([m.value for m in sorted(steps, key=lambda m: m.step)], history[key], rtol=1e-6)
    best = history.best()
    assert run.data.metrics["best_val_macro_f1"] == pytest.approx(best["val_macro_f1"])
    assert run.data.tags["monitor"] == "val_macro_f1" and run.data.tags["best_epoch"] == str(history.best_epoch)
    cb.log_metrics({"ds2_macro_f1": 0.5, "note": "not a number"})  # after fit: same run; non-numbers skipped
    assert client.get_run(cb.run_id).data.metrics["ds2_macro_f1"] == 0.5


def test_runs_table_compares_runs_newest_first(store):
    for name in ("none", "focal"):
        train(MLflowCallback("compare", run_name=name, tracking_uri=store, params={"strategy": name}), epochs=1,
              **({"loss": "focal"} if name == "focal" else {}))
    table = runs_table("compare", tracking_uri=store)
    assert table["run_name"].tolist() == ["focal", "none"]
    assert table["params.loss"].tolist() == ["focal", "ce"] and table["status"].eq("FINISHED").all()
    assert {"metrics.best_val_macro_f1", "metrics.train_loss", "start_time"} <= set(table.columns)
    with pytest.raises(ValueError, match=r"no experiment named 'nope' .*experiments there: .*'compare'"):
        runs_table("nope", tracking_uri=store)


def test_a_fit_that_fails_is_marked_failed_and_the_next_fit_is_a_new_run(store):
    def broken_loss(logits, y, x):
        raise RuntimeError("loss exploded")

    with pytest.raises(RuntimeError, match="loss exploded"), MLflowCallback("failing", tracking_uri=store) as cb:
        train(cb, loss_fn=broken_loss)
    client = MlflowClient(tracking_uri=store)
    assert client.get_run(cb.run_id).info.status == "FAILED"
    reused = MLflowCallback("failing", tracking_uri=store)
    with pytest.raises(RuntimeError):
        train(reused, loss_fn=broken_loss)  # no context manager: the run stays open ...
    first = reused.run_id
    train(reused, epochs=1)  # ... until the callback's next fit closes it as KILLED and starts a new one
    assert client.get_run(first).info.status == "KILLED"
    assert reused.run_id != first and client.get_run(reused.run_id).info.status == "FINISHED"


def test_log_metrics_before_any_fit_is_refused_with_the_fix(store):
    with pytest.raises(RuntimeError, match=r"no run yet; pass the callback to fit \(TrainConfig\(callbacks=\[cb\]\)\)"):
        MLflowCallback("early", tracking_uri=store).log_metrics({"a": 1.0})


def test_default_store_is_sqlite_under_build_or_biosignal_mlruns(monkeypatch, tmp_path):
    monkeypatch.delenv("BIOSIGNAL_MLRUNS", raising=False)
    assert default_tracking_uri() == f"sqlite:///{REPO.resolve() / 'build' / 'mlruns' / 'mlflow.db'}"
    monkeypatch.setenv("BIOSIGNAL_MLRUNS", str(tmp_path / "runs"))
    assert default_tracking_uri() == f"sqlite:///{(tmp_path / 'runs').resolve() / 'mlflow.db'}"
    monkeypatch.setenv("BIOSIGNAL_MLRUNS", "http://localhost:5000")
    assert default_tracking_uri() == "http://localhost:5000"


def test_a_read_only_default_folder_falls_back_to_a_temporary_one(tmp_path, monkeypatch, capsys):
    from helpers.train import tracking

    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("BIOSIGNAL_MLRUNS", str(blocked / "mlruns"))   # cannot be created under a file
    uri = tracking.default_tracking_uri()
    assert uri.startswith("sqlite:///") and "biosignal-mlruns-" in uri and str(blocked) not in uri
    assert "not writable" in capsys.readouterr().out
