"""Near-real-time EEG emotion classification: per-window latency (CPU, one thread) against accuracy, by model size.

For each model: accuracy under leave-one-subject-out on the first ``--folds`` subjects (high/low ``--target``;
the held-out subject standardised with its own statistics), then latency while one held-out trial (63 s) is
replayed sample by sample through :func:`helpers.edge.streaming.stream`: a window completes every 0.5 s (1 s windows,
50% overlap) and is classified at once; the sequence models read the newest 4 s (7 windows). The latency covers
normalisation, features (band power) and the model, on one CPU thread (``torch.set_num_threads(1)``), in ms;
the budget is the 500 ms hop. One JSON line per model, plus a first line saying which data were used.

Published subject-independent DEAP accuracies are often 55-65%; synthetic-data accuracies describe the simulator,
never a clinical result. Latencies depend on the CPU and on its load (median and p99 are printed for that reason).

    python benchmarks/eeg_latency.py --tiny                     # CI-sized: 3 synthetic subjects, seconds
    python benchmarks/eeg_latency.py                            # 8 synthetic subjects, 2 held-out folds
    python benchmarks/eeg_latency.py --path ~/data/deap         # your copy of DEAP, read in place
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

import helpers.data
from helpers.data import deap
from helpers.eeg import (
    band_power_features,
    eeg_windows,
    loso_evaluate,
    make_baseline,
    relative_band_power,
)
from helpers.signal.normalise import normalise_per_subject, subject_statistics
from helpers.models import EEGCNNLSTM, EEGCNNTransformer, EEGSequenceConfig
from helpers.edge.streaming import latency_table
from helpers.train import TrainConfig, fit

NOTE = ("published subject-independent DEAP accuracies are often 55-65%; synthetic-data accuracies describe the "
        "simulator, not a clinical result")
FAMILIES = {"cnn_lstm": EEGCNNLSTM, "cnn_transformer": EEGCNNTransformer}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--path", help="folder of DEAP's preprocessed files (read in place); default synthetic")
    ap.add_argument("--subjects", type=int, default=8)
    ap.add_argument("--folds", type=int, default=2, help="held-out subjects for the accuracy column")
    ap.add_argument("--target", default="arousal")
    ap.add_argument("--models", default="cnn_lstm:tiny,cnn_lstm:small,cnn_lstm:medium,cnn_transformer:small")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--cnn-max-s", type=float, default=24.0, help="seconds per trial the networks train on")
    ap.add_argument("--tiny", action="store_true", help="CI-sized: 3 subjects, 1 fold, 1 epoch, 8 s per trial")
    ap.add_argument("--out", help="also append the JSON lines to this file")
    args = ap.parse_args(argv)
    if args.tiny:
        args.subjects, args.folds, args.epochs, args.cnn_max_s = 3, 1, 1, 8.0
        args.models = "cnn_lstm:tiny,cnn_transformer:tiny"
    out = open(args.out, "a") if args.out else None  # noqa: SIM115 (closed at the end; lines flushed as they come)

    def emit(line):
        print(json.dumps(line), flush=True)
        if out:
            out.write(json.dumps(line) + "\n")

    eeg = list(deap.EEG_CHANNELS)
    ds = helpers.data.load("deap", path=args.path, channels=eeg) if args.path else \
        helpers.data.load("deap", source="synthetic", channels=eeg)
    subjects = sorted(np.unique(ds.subject_ids).tolist())[:args.subjects]
    ds = ds.subset(np.flatnonzero(np.isin(ds.subject_ids, subjects)))
    held_out = subjects[:args.folds]
    emit({"benchmark": "eeg_latency", "data": ds.source, "subjects": subjects, "held_out": held_out,
          "target": args.target, "cpu_threads": 1, "note": NOTE})
    stream_trial = int(np.flatnonzero(ds.subject_ids == held_out[0])[0])  # the first held-out trial is replayed
    signal, fs = np.asarray(ds.signals[stream_trial], np.float32), ds.fs
    n_base = round(deap.BASELINE_S * fs)
    live = signal[:, n_base:]  # the 60 s after the baseline are streamed; the baseline is the calibration

    models, accuracy, context, features, transforms = {}, {}, {}, {}, {}

    # band power + logistic regression: 1 s windows, log power relative to the trial's baseline, per subject z-score
    W = eeg_windows(ds, max_s=None if not args.tiny else 8.0)
    y = deap.binary_labels(ds, args.target)[W.record_index]
    F = relative_band_power(W)
    Fz = normalise_per_subject(F, W.groups)
    per = loso_evaluate(make_baseline(), Fz, y, W.groups, subjects=held_out)
    accuracy["bandpower_logreg"] = float(per["accuracy"].mean())
    clf = make_baseline().fit(Fz[W.groups != held_out[0]], y[W.groups != held_out[0]])
    mean, std = subject_statistics(F, W.groups)[held_out[0]]
    base_power = band_power_features(signal[:, :n_base], fs)  # (C * bands,): the trial's pre-trial seconds

    def bandpower_features(x):  # (1, C, L) -> (1, F): the same steps as training, on one window
        return (band_power_features(x, fs) - base_power - mean) / (std + 1e-6)
    models["bandpower_logreg"], features["bandpower_logreg"] = clf, bandpower_features
    emit({"benchmark": "eeg_latency", "model": "bandpower_logreg", "accuracy": round(accuracy["bandpower_logreg"], 4),
          "per_subject": dict(zip(per["subject"], per["accuracy"].round(4))), "unit": "1 s window"})
    del W, F, Fz

    # sequence models: 4 s segments standardised per subject; each size trained per held-out fold for accuracy,
    # then once without the streamed subject for the latency run
    S = eeg_windows(ds, window_s=4.0, step_s=4.0, max_s=args.cnn_max_s)
    ys = deap.binary_labels(ds, args.target)[S.record_index]
    Xs = normalise_per_subject(S.X, S.groups)
    seg_mean, seg_std = subject_statistics(S.X, S.groups)[held_out[0]]
    cfg = TrainConfig(epochs=args.epochs, batch_size=32, lr=3e-3, progress=False, device="cpu")
    seg_len = Xs.shape[-1]
    for spec in args.models.split(","):
        family, size = spec.split(":")
        name = f"{family}_{size}"

        def factory(family=family, size=size):
            return FAMILIES[family](len(eeg), 2, seg_len, config=EEGSequenceConfig.sized(size, verbose=False))
        t = time.perf_counter()
        torch.manual_seed(0)
        per = loso_evaluate(factory, Xs, ys, S.groups, trial_ids=S.trial_ids, subjects=held_out, train_config=cfg)
        accuracy[name] = float(per["accuracy"].mean())
        torch.manual_seed(0)
        model = factory()
        train = S.groups != held_out[0]
        fit(model, (Xs[train], ys[train]), config=cfg)
        models[name], context[name] = model.eval(), 4.0
        transforms[name] = (seg_mean.astype(np.float32), seg_std.astype(np.float32))
        emit({"benchmark": "eeg_latency", "model": name, "accuracy": round(accuracy[name], 4),
              "trial_accuracy": round(float(per["trial_accuracy"].mean()), 4),
              "per_subject": dict(zip(per["subject"], per["accuracy"].round(4))), "unit": "4 s segment",
              "n_parameters": model.num_parameters(), "train_s": round(time.perf_counter() - t, 1)})
    del S, Xs

    # latency: each model wrapped with its own normalisation, so the timed step is everything a device would do
    wrapped = {}
    for name, model in models.items():
        if name in transforms:
            m, s = transforms[name]
            wrapped[name] = _normalised(model, m, s)
        else:
            wrapped[name] = model
    table = latency_table(wrapped, live, fs, 1.0, 0.5, context_s=context, features=features, accuracy=accuracy)
    for row in table.to_dict("records"):
        row["n_parameters"] = models[row["model"]].num_parameters() if hasattr(models[row["model"]],
                                                                                "num_parameters") else None
        emit({"benchmark": "eeg_latency", **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()},
              "context_s": context.get(row["model"], 1.0), "data": ds.source, "cpu_threads": 1})
    if out:
        out.close()


def _normalised(model, mean, std):
    """``x (C, L) -> P`` of a torch model after the subject's standardisation (part of the timed step)."""
    def classify(x):
        with torch.inference_mode():
            z = torch.from_numpy(((x - mean) / (std + 1e-6)).astype(np.float32))[None]
            return torch.softmax(model(z), dim=-1)[0].double().numpy()
    return classify


if __name__ == "__main__":
    main()
