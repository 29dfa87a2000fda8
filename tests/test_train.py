"""helpers.train: the training loop, its losses, schedule, checkpoints and input checks."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.utils.class_weight import compute_class_weight
from torch.utils.data import TensorDataset

import helpers.train as train_mod
from helpers.train.augment import Compose, amplitude_scale
from helpers.models import CNN1D
from helpers.train import (
    FocalLoss,
    History,
    TrainConfig,
    aggregate_by_record,
    balanced_class_weights,
    evaluate,
    fit,
    load_checkpoint,
    make_loss,
    predict_proba,
    predict_records,
    set_seed,
    warmup_cosine,
)

T = 64


def make_data(n=64, seed=0, noise=0.5, random_labels=False):
    """Class 1 carries a bump in samples 20-30; with random_labels the task is unlearnable."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.normal(0, noise, (n, 1, T)).astype(np.float32)
    X[y == 1, 0, 20:30] += 2.0
    if random_labels:
        y = rng.integers(0, 2, n)
    return X, y


def tiny_model(n_outputs=2, seed=0):
    set_seed(seed)
    return CNN1D(1, n_outputs, T, channels=(4, 8), dropout=0.0, verbose=False)


def quiet(**kw):
    return TrainConfig(progress=False, batch_size=16, **kw)


def test_tiny_model_overfits_a_separable_batch():
    X, y = make_data()
    model = tiny_model()
    h = fit(model, (X, y), (X, y), quiet(epochs=25, lr=1e-2, warmup_frac=0.0))
    assert isinstance(h, History)
    assert h["train_loss"][-1] < 0.5 * h["train_loss"][0]
    assert h["val_accuracy"][-1] == 1.0 and h["val_roc_auc"][-1] == 1.0
    assert set(h) >= {"epoch", "train_loss", "val_loss", "val_accuracy", "val_roc_auc", "lr", "time_s"}
    assert all(len(v) == 25 for v in h.values())
    assert not model.training  # ready for prediction


def test_early_stopping_stops_and_restores_the_best_weights():
    X, y = make_data(64, seed=1, random_labels=True)
    Xv, yv = make_data(64, seed=2, random_labels=True)
    model = tiny_model()
    h = fit(model, (X, y), (Xv, yv), quiet(epochs=40, lr=3e-2, monitor="val_loss", early_stopping_patience=3))
    assert h.stopped_early and len(h["epoch"]) < 40
    assert len(h["epoch"]) == h.best_epoch + 3
    assert h.best_score == min(h["val_loss"])
    assert evaluate(model, Xv, yv)["loss"] == pytest.approx(h.best_score, abs=1e-6)


def test_patience_running_out_on_the_last_epoch_is_not_an_early_stop():
    X, y = make_data(64)
    # No later epoch can beat epoch 1 by min_delta=10, so patience 3 runs out at epoch 4.
    cfg = {"lr": 1e-3, "monitor": "val_loss", "min_delta": 10.0, "early_stopping_patience": 3}
    last = fit(tiny_model(), (X, y), (X, y), quiet(epochs=4, **cfg))
    assert len(last["epoch"]) == 4 and last.best_epoch == 1 and not last.stopped_early
    early = fit(tiny_model(), (X, y), (X, y), quiet(epochs=10, **cfg))
    assert len(early["epoch"]) == 4 and early.stopped_early


def test_lr_follows_linear_warmup_then_cosine_per_step():
    X, y = make_data(64)  # 4 steps per epoch at batch 16
    h = fit(tiny_model(), (X, y), None, quiet(epochs=5, lr=1e-2, warmup_epochs=1, min_lr_ratio=0.1))
    total, warm = 20, 4
    expected = [1e-2 * (s + 1) / warm if s < warm else
                1e-2 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (s - warm) / (total - warm))))
                for s in range(total)]
    np.testing.assert_allclose(h.step_lr, expected, rtol=1e-12)
    assert h["lr"] == [expected[i] for i in (3, 7, 11, 15, 19)]
    assert warmup_cosine(100, total_steps=20, warmup_steps=4, schedule="constant") == 1.0


def test_focal_loss_with_gamma_zero_is_weighted_cross_entropy_with_smoothing():
    torch.manual_seed(0)
    logits, y = torch.randn(32, 4), torch.randint(0, 4, (32,))
    w = torch.tensor([0.5, 1.0, 2.0, 4.0])
    for eps in (0.0, 0.1):
        torch.testing.assert_close(FocalLoss(alpha=w, gamma=0.0, label_smoothing=eps)(logits, y),
                                   F.cross_entropy(logits, y, weight=w, label_smoothing=eps))
    # gamma > 0 down-weights well-classified examples: the loss can only shrink
    assert FocalLoss(gamma=2.0)(logits, y) < F.cross_entropy(logits, y)
    # a float alpha is the positive-class weight of a binary task (RetinaNet convention)
    torch.testing.assert_close(FocalLoss(alpha=0.25)(logits[:, :2], y % 2),
                               FocalLoss(alpha=[0.75, 0.25])(logits[:, :2], y % 2))


def test_label_smoothing_matches_torch_cross_entropy():
    torch.manual_seed(1)
    logits, y = torch.randn(16, 3), torch.randint(0, 3, (16,))
    loss = make_loss("ce", label_smoothing=0.2)
    torch.testing.assert_close(loss(logits, y), F.cross_entropy(logits, y, label_smoothing=0.2))
    with pytest.raises(ValueError, match="'ce' or 'focal'"):
        make_loss("hinge")


def test_balanced_class_weights_match_scikit_learn():
    y = np.array([0, 0, 0, 0, 0, 0, 1, 1, 2])
    w = balanced_class_weights(y, 3)
    np.testing.assert_allclose(w, compute_class_weight("balanced", classes=np.arange(3), y=y), rtol=1e-6)
    np.testing.assert_allclose(w, [9 / 18, 9 / 6, 9 / 3], rtol=1e-6)
    with pytest.raises(ValueError, match=r"class\(es\) \[2\]"):
        balanced_class_weights(np.array([0, 1, 1]), 3)


def test_fit_accepts_class_weights_and_focal_loss():
    X, y = make_data(48)
    h = fit(tiny_model(), (X, y), (X, y), quiet(epochs=2, loss="focal", class_weights="balanced"))
    assert np.isfinite(h["train_loss"]).all()
    with pytest.raises(ValueError, match=r"expected \(2,\)"):
        fit(tiny_model(), (X, y), None, quiet(epochs=1, class_weights=[1.0, 2.0, 3.0]))


def test_same_seed_gives_identical_runs_on_cpu():
    X, y = make_data(64)

    def run():
        set_seed(3)  # before building the model: the initial weights are part of the run
        model = CNN1D(1, 2, T, channels=(4, 8), dropout=0.2, verbose=False)
        aug = Compose([amplitude_scale], seed=0)
        h = fit(model, (X, y), (X, y), quiet(epochs=3, seed=3, augment=aug))
        return {k: v for k, v in h.items() if k not in ("time_s", "train_seq_s")}, [p.detach().clone() for p in model.parameters()]

    (h1, w1), (h2, w2) = run(), run()
    assert h1 == h2
    assert all(torch.equal(a, b) for a, b in zip(w1, w2))


def test_best_checkpoint_is_saved_and_loads_with_weights_only(tmp_path):
    X, y = make_data(48)
    model = tiny_model()
    h = fit(model, (X, y), (X, y), quiet(epochs=3, checkpoint_dir=tmp_path))
    payload = torch.load(tmp_path / "best.pt", weights_only=True)  # no pickled code inside
    assert payload["epoch"] == h.best_epoch and payload["config"]["lr"] == 1e-3
    for k, v in model.state_dict().items():
        torch.testing.assert_close(payload["state_dict"][k], v.cpu())  # saved on CPU: loads anywhere
    fresh = tiny_model(seed=5)
    load_checkpoint(tmp_path / "best.pt", fresh)
    # atol: on a GPU the trained model runs cuDNN (TF32) kernels, the fresh copy runs on the CPU
    np.testing.assert_allclose(predict_proba(fresh, X), predict_proba(model, X), atol=2e-3)
    assert History.from_json(tmp_path / "history.json")["val_loss"] == h["val_loss"]
    fit(model, (X, y), None, quiet(epochs=1, checkpoint_dir=tmp_path / "no_val"))  # no validation: last epoch
    assert load_checkpoint(tmp_path / "no_val" / "best.pt")["epoch"] == 1


@pytest.mark.parametrize("mutate, message", [
    (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X), y), "NaN"),
    (lambda X, y: (X, y[:-1]), "has 47 labels but X has 48"),
    (lambda X, y: (X, y + 1), r"labels must be in \[0, 1\]"),
    (lambda X, y: (X[:, 0], y), r"X\[:, None, :\]"),
    (lambda X, y: (X, np.array(["a"] * len(y))), "integer class indices"),
])
def test_bad_inputs_give_clear_errors(mutate, message):
    X, y = mutate(*make_data(48))
    with pytest.raises(ValueError, match=message):
        fit(tiny_model(), (X, y), None, quiet(epochs=1))


def test_bad_configs_give_clear_errors():
    X, y = make_data(32)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        fit(tiny_model(), (X, y), None, quiet(epochs=0))
    with pytest.raises(ValueError, match="needs validation data"):
        fit(tiny_model(), (X, y), None, quiet(epochs=1, monitor="val_loss"))
    with pytest.raises(ValueError, match="binary"):
        fit(tiny_model(3), (X, y), (X, y), quiet(epochs=1, monitor="val_roc_auc"))
    with pytest.raises(ValueError, match="fp16"):
        fit(tiny_model(), (X, y), None, quiet(epochs=1, amp="fp16", device="cpu"))
    plain = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(T, 2))
    with pytest.raises(ValueError, match="set_grad_checkpointing"):
        fit(plain, (X, y), None, quiet(epochs=1, grad_checkpointing=True))


def test_augmentation_is_applied_to_training_batches_only():
    X, y = make_data(40)
    seen = []

    def augment(x):
        seen.append(len(x))
        return x * 1.0

    fit(tiny_model(), (X, y), (X[:8], y[:8]), quiet(epochs=2, augment=augment))
    assert sum(seen) == 2 * 40  # every training example, each epoch; never the 8 validation ones


def test_torch_datasets_bf16_autocast_and_checkpointing_on_cpu():
    X, y = make_data(32)
    ds = TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
    model = tiny_model()
    h = fit(model, ds, ds, quiet(epochs=1, amp="bf16", grad_checkpointing=True))
    assert model.grad_checkpointing and np.isfinite(h["train_loss"]).all()
    # a model without an n_outputs attribute: the class count is probed from one forward pass
    plain = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(T, 3))
    h = fit(plain, (X, y), (X, y), quiet(epochs=1))
    assert h.monitor == "val_macro_f1" and "val_roc_auc" not in h


def test_loss_fn_hook_replaces_the_training_loss():
    X, y = make_data(32)
    calls = []

    def loss_fn(logits, target, x):  # the hook distillation will use: it also sees the inputs
        calls.append(x.shape)
        return 0.0 * F.cross_entropy(logits, target)

    h = fit(tiny_model(), (X, y), None, quiet(epochs=1, loss_fn=loss_fn))
    assert len(calls) == 2 and h["train_loss"] == [0.0]


def test_compiled_training_traces_the_model_and_matches_eager(monkeypatch):
    # Dynamo really traces the model inside fit (graph capture, guards); backend="eager" skips Inductor's C++
    # code generation, which takes minutes on a 2-core CPU and is exercised on the GPU by the benchmark.
    real_compile = torch.compile
    monkeypatch.setattr(torch, "compile", lambda m, **kw: real_compile(m, backend="eager", **kw))
    torch._dynamo.reset()
    X, y = make_data(32)
    eager = fit(tiny_model(), (X, y), (X, y), quiet(epochs=2))
    compiled = fit(tiny_model(), (X, y), (X, y), quiet(epochs=2, compile=True))
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] >= 1  # the training forward was captured
    np.testing.assert_allclose(compiled["train_loss"], eager["train_loss"], rtol=1e-5)
    np.testing.assert_allclose(compiled["val_loss"], eager["val_loss"], rtol=1e-5)


def test_compile_flag_wraps_the_model(monkeypatch):
    compiled = []
    monkeypatch.setattr(torch, "compile", lambda m, **kw: compiled.append(m) or m)
    X, y = make_data(16)
    fit(tiny_model(), (X, y), None, quiet(epochs=1, compile=True))
    assert len(compiled) == 1


def test_predict_proba_and_evaluate():
    X, y = make_data(40)
    model = tiny_model()
    model.train()
    p = predict_proba(model, X, batch_size=7)
    assert p.shape == (40, 2) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-5)
    assert model.training  # mode restored
    m = evaluate(model, X, y)
    assert set(m) == {"loss", "accuracy", "macro_f1", "roc_auc"}
    assert m["accuracy"] == np.mean(p.argmax(1) == y)


def test_module_exports_the_contract_names():
    for name in ("TrainConfig", "fit", "History", "predict_proba", "set_seed", "evaluate", "aggregate_by_record",
                 "predict_records"):
        assert hasattr(train_mod, name)


def test_num_threads_is_set_for_the_run_and_restored_afterwards(monkeypatch):
    X, y = make_data(32)
    before = torch.get_num_threads()
    seen = []
    model = tiny_model()
    real_forward = model.forward
    monkeypatch.setattr(model, "forward", lambda x, **kw: seen.append(torch.get_num_threads()) or real_forward(x))
    fit(model, (X, y), None, quiet(epochs=1, num_threads=1))
    assert set(seen) == {1} and torch.get_num_threads() == before
    seen.clear()
    fit(model, (X, y), None, quiet(epochs=1))  # None: torch's own setting, untouched
    assert set(seen) == {before} and torch.get_num_threads() == before
    with pytest.raises(ValueError, match="num_threads must be None or an integer >= 1, got 0"):
        fit(model, (X, y), None, quiet(epochs=1, num_threads=0))


def test_num_threads_is_restored_when_training_fails():
    X, y = make_data(32)
    before = torch.get_num_threads()
    with pytest.raises(ValueError, match="labels must be in"):
        fit(tiny_model(), (X, y + 5), None, quiet(epochs=1, num_threads=1))
    assert torch.get_num_threads() == before


def test_progress_epoch_prints_one_plain_line_per_epoch_and_no_bars(capsys):
    X, y = make_data(32)
    h = fit(tiny_model(), (X, y), (X, y), TrainConfig(epochs=3, batch_size=16, progress="epoch"))
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    epoch_lines = [line for line in lines if line.startswith("epoch ")]
    assert len(epoch_lines) == 3 and epoch_lines[0].startswith("epoch 1/3  train_loss ")
    assert all("val_loss" in line and "val_roc_auc" in line and line.removesuffix("  (best)").endswith(" s")
               for line in epoch_lines)
    assert "\r" not in out and err == ""  # no tqdm bar anywhere
    assert lines[0].startswith("fit CNN1D: 32 training examples (2 batches of 16)")
    assert "keeping the best val_roc_auc (max)" in lines[0]  # the monitor as resolved, never "auto"
    assert lines[-1] == repr(h) and len(lines) == 3 + 2


def test_progress_false_is_silent_and_true_draws_bars(capsys):
    X, y = make_data(32)
    fit(tiny_model(), (X, y), None, quiet(epochs=1))
    assert capsys.readouterr() == ("", "")
    fit(tiny_model(), (X, y), None, TrainConfig(epochs=2, batch_size=16, progress=True))
    out, err = capsys.readouterr()
    assert "epochs" in err and "keeping the last epoch" in out + err
    with pytest.raises(ValueError, match="progress must be True .* got 'bars'"):
        fit(tiny_model(), (X, y), None, TrainConfig(epochs=1, progress="bars"))


def test_aggregate_by_record_averages_the_windows_of_each_record_in_sorted_order():
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.7, 0.3], [0.0, 1.0]])
    record_ids = np.array([7, 3, 7, 7, 5])  # record 5 has a single window
    records, p = aggregate_by_record(proba, record_ids)
    assert records.tolist() == [3, 5, 7]
    np.testing.assert_allclose(p, [[0.2, 0.8], [0.0, 1.0], [2.0 / 3, 1.0 / 3]])
    np.testing.assert_allclose(aggregate_by_record(proba, record_ids, how="max")[1], [[0.2, 0.8], [0, 1], [0.9, 0.6]])
    np.testing.assert_allclose(aggregate_by_record(proba, record_ids, how="median")[1],
                               [[0.2, 0.8], [0, 1], [0.7, 0.3]])
    names, by_name = aggregate_by_record(proba, ["b", "a", "b", "b", "c"])  # string ids work too
    assert names.tolist() == ["a", "b", "c"] and by_name.shape == (3, 2)


def test_aggregate_by_record_refuses_mismatched_inputs_by_name():
    proba = np.full((4, 2), 0.5)
    with pytest.raises(ValueError, match=r"proba has 4 rows \(windows\) but record_ids has shape \(3,\)"):
        aggregate_by_record(proba, [0, 0, 1])
    with pytest.raises(ValueError, match=r"pass proba\[:, None\]"):
        aggregate_by_record(proba[:, 1], [0, 0, 1, 1])
    with pytest.raises(ValueError, match="how must be one of"):
        aggregate_by_record(proba, [0, 0, 1, 1], how="vote")


def test_predict_records_equals_window_probabilities_aggregated():
    X, _ = make_data(12)
    model = tiny_model()
    record_ids = np.repeat([4, 1, 9], 4)
    records, p = predict_records(model, X, record_ids, batch_size=5)
    assert records.tolist() == [1, 4, 9]
    np.testing.assert_allclose(p, aggregate_by_record(predict_proba(model, X), record_ids)[1], rtol=1e-6)
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="X has 12 windows but record_ids has 11 entries"):
        predict_records(model, X, record_ids[:-1])


class Recorder:
    """A callback that writes down every call it receives."""

    def __init__(self, fail_at_epoch=None):
        self.calls, self.fail_at_epoch = [], fail_at_epoch

    def on_fit_start(self, config, model):
        self.calls.append(("start", config, model))

    def on_epoch_end(self, epoch, metrics):
        self.calls.append(("epoch", epoch, metrics))
        if epoch == self.fail_at_epoch:
            raise ConnectionError("tracking server went away")

    def on_fit_end(self, history):
        self.calls.append(("end", history))


def test_callbacks_see_the_start_every_epoch_row_and_the_history():
    X, y = make_data(32)
    model, rec = tiny_model(), Recorder()
    cfg = quiet(epochs=3, callbacks=[rec, object()])  # an object without the methods is skipped
    h = fit(model, (X, y), (X, y), cfg)
    assert [c[0] for c in rec.calls] == ["start", "epoch", "epoch", "epoch", "end"]
    assert rec.calls[0][1] is cfg and rec.calls[0][2] is model
    for i, (_, epoch, metrics) in enumerate(rec.calls[1:4]):
        assert epoch == i + 1
        assert {"train_loss", "val_loss", "val_accuracy", "val_macro_f1", "lr", "time_s"} <= set(metrics)
        assert metrics == {k: v[i] for k, v in h.items()}  # the epoch's History row
    assert rec.calls[-1][1] is h


def test_a_failing_callback_stops_training_with_its_own_error():
    X, y = make_data(32)
    rec = Recorder(fail_at_epoch=2)
    with pytest.raises(ConnectionError, match="tracking server went away"):
        fit(tiny_model(), (X, y), None, quiet(epochs=5, callbacks=[rec]))
    assert [c[0] for c in rec.calls] == ["start", "epoch", "epoch"]  # no third epoch, no on_fit_end


def test_callbacks_must_be_a_list():
    X, y = make_data(16)
    with pytest.raises(ValueError, match="callbacks must be a list or tuple.*got Recorder"):
        fit(tiny_model(), (X, y), None, quiet(epochs=1, callbacks=Recorder()))


def test_time_budget_stops_training_after_the_step_that_runs_out(monkeypatch):
    X, y = make_data(64)
    clock = iter(range(10_000))  # every perf_counter() call is one "second" later
    monkeypatch.setattr(train_mod.loop.time, "perf_counter", lambda: float(next(clock)))
    h = fit(tiny_model(), (X, y), (X, y), quiet(epochs=50, time_budget_s=20))
    assert len(h["epoch"]) < 50 and h.out_of_time and not h.stopped_early
    assert "out of time" in repr(h)
    assert len(h["val_loss"]) == len(h["epoch"])  # the interrupted epoch was still validated


def test_a_user_metric_is_reported_and_can_be_the_monitor():
    X, y = make_data(48)
    seen = []

    def recall_of_class_1(y_true, proba):
        seen.append(proba.shape)
        return float((proba.argmax(1)[y_true == 1] == 1).mean())

    h = fit(tiny_model(), (X, y), (X, y), quiet(epochs=3, metrics={"recall1": recall_of_class_1},
                                                 monitor="val_recall1"))
    assert len(h["val_recall1"]) == 3 and h.monitor == "val_recall1" and seen[0] == (48, 2)
    assert h.best_score == max(h["val_recall1"])
    with pytest.raises(ValueError, match="monitor must be one of .*val_recall1.*got 'val_recal'"):
        fit(tiny_model(), (X, y), (X, y), quiet(epochs=1, metrics={"recall1": recall_of_class_1},
                                                monitor="val_recal"))


def test_compile_mode_and_inductor_options_reach_torch_compile(monkeypatch):
    calls = []
    monkeypatch.setattr(torch, "compile", lambda m, **kw: calls.append(kw) or m)
    X, y = make_data(16)
    fit(tiny_model(), (X, y), None, quiet(epochs=1, compile="reduce-overhead"))
    fit(tiny_model(), (X, y), None, quiet(epochs=1, compile="reduce-overhead",
                                          compile_options={"fallback_random": True}))
    assert calls[0] == {"mode": "reduce-overhead"}
    assert calls[1] == {"options": {"triton.cudagraphs": True, "fallback_random": True}}
    with pytest.raises(ValueError, match="compile must be True, False or one of .*got 'fast'"):
        fit(tiny_model(), (X, y), None, quiet(epochs=1, compile="fast"))


def test_epoch_rows_carry_training_throughput():
    X, y = make_data(32)
    h = fit(tiny_model(), (X, y), None, quiet(epochs=2))
    assert len(h["train_seq_s"]) == 2 and all(v > 0 for v in h["train_seq_s"])


def test_rmsnorm_keeps_the_fused_kernel_under_bf16_autocast():
    import warnings

    from helpers.models.layers import RMSNorm

    ours, torchs = RMSNorm(16, eps=1e-6), torch.nn.RMSNorm(16, eps=1e-6)
    torchs.load_state_dict(ours.state_dict())  # same parameters, same state dict keys
    x = torch.randn(4, 16)
    torch.testing.assert_close(ours(x), torchs(x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nn.RMSNorm warns "Mismatch dtype between input and weight" here
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = ours(x.bfloat16())
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), torchs(x), atol=3e-2, rtol=3e-2)


def test_no_singleton_batches_leaves_out_only_a_last_batch_of_one():
    from helpers.train.batches import NoSingletonBatches

    assert [len(b) for b in NoSingletonBatches(range(33), 16)] == [16, 16]
    assert len(NoSingletonBatches(range(33), 16)) == 2
    assert [len(b) for b in NoSingletonBatches(range(34), 16)] == [16, 16, 2]
    assert [len(b) for b in NoSingletonBatches(range(1), 16)] == [1]   # a one-example set stays (and says so)
    assert sorted(i for b in NoSingletonBatches(range(34), 16) for i in b) == list(range(34))


def test_fit_trains_batchnorm_when_the_last_batch_would_hold_one_window():
    # 33 windows in batches of 16: the third batch would be one window, which BatchNorm cannot train on
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv1d(1, 4, 5), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool1d(1),
                                torch.nn.Flatten(), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))  # BN on (B, 4)
    X = np.random.default_rng(0).standard_normal((33, 1, 64)).astype(np.float32)
    y = np.arange(33) % 2
    history = fit(model, (X, y), config=TrainConfig(epochs=2, batch_size=16, progress=False))
    assert len(history["train_loss"]) == 2 and np.isfinite(history["train_loss"]).all()
    from helpers.train.batches import as_dataset, make_loader

    loader = make_loader(as_dataset((X, y), 2, "train"), batch_size=16, sampler=range(33), training=True)
    assert [len(xb) for xb, _ in loader] == [16, 16]
