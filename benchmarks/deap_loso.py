"""Valence and arousal from EEG: leave-one-subject-out vs subject-dependent, and EEG + peripheral fusion (DEAP).

One JSON line per (model, target, protocol) with ``mean_accuracy``, ``std_accuracy`` (across subjects),
``per_subject`` and ``data`` ("real" or "synthetic"):

* models: ``baseline`` (log band power of 1 s windows with 50% overlap, relative to the trial's 3 s pre-trial
  baseline, standardised per subject, then logistic regression) and ``cnn_lstm`` (EEGCNNLSTM on 4 s segments
  scaled by each trial's baseline and standardised per subject, cut inside the model into 1 s windows with 50%
  overlap; 3 epochs on the first 16 s of each trial by default: a CPU budget, not a tuned model);
* protocols: ``loso`` (subject-independent; the held-out subject normalised with its own unlabelled data),
  ``subject_dependent_window`` (k-fold over one subject's windows/segments: windows of a trial on both sides, the
  flattering protocol), ``subject_dependent_trial`` (k-fold over one subject's trials);
* ``--fusion``: EEG band power, peripheral features (hEOG, vEOG, GSR, respiration), early fusion (concatenated
  features, one classifier) and late fusion (one classifier per modality, averaged probabilities), under LOSO.

Published subject-independent accuracies on real DEAP are modest, often 55-65% for high/low valence or arousal.
On the synthetic set the figures describe the simulator (helpers/data/synthetic/deap_eeg.py), not people: never
read them as a clinical result.

    python benchmarks/deap_loso.py --tiny                          # CI-sized: 3 synthetic subjects, seconds
    python benchmarks/deap_loso.py --subjects 8 --fusion           # synthetic default (writes ~103 MB/subject once)
    python benchmarks/deap_loso.py --path ~/data/deap              # your copy of DEAP, read in place
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

import helpers.data
from helpers.data import deap
from helpers.eeg import (
    LateFusion,
    eeg_windows,
    loso_evaluate,
    make_baseline,
    peripheral_features,
    relative_band_power,
    subject_dependent_evaluate,
    summarise_folds,
)
from helpers.signal.normalise import normalise_per_subject

NOTE = ("published subject-independent DEAP accuracies are often 55-65%; synthetic-data accuracies describe the "
        "simulator, not a clinical result")
FUSION_CHANNELS = ("hEOG", "vEOG", "GSR", "Respiration belt")


def emit(line: dict, out) -> None:
    text = json.dumps(line)
    print(text, flush=True)
    if out is not None:
        out.write(text + "\n")
        out.flush()


def result(model: str, target: str, protocol: str, per_subject, data: str, seconds: float, **extra) -> dict:
    s = summarise_folds(per_subject)
    line = {"benchmark": "deap_loso", "model": model, "target": target, "protocol": protocol,
            "mean_accuracy": round(s["mean_accuracy"], 4), "std_accuracy": round(s["std_accuracy"], 4),
            "mean_balanced_accuracy": round(float(per_subject["balanced_accuracy"].mean()), 4),
            "mean_majority": round(float(per_subject["majority"].mean()), 4)}
    if "trial_accuracy" in per_subject:
        line["mean_trial_accuracy"] = round(float(per_subject["trial_accuracy"].mean()), 4)
    line.update({"per_subject": {r.subject: round(r.accuracy, 4) for r in per_subject.itertuples()},
                 "n_subjects": s["n_subjects"], "data": data, "seconds": round(seconds, 1), **extra})
    return line


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--path", help="folder of DEAP's preprocessed files (read in place); default synthetic")
    ap.add_argument("--subjects", type=int, default=8, help="first N subjects (default 8)")
    ap.add_argument("--tiny", action="store_true", help="CI-sized: 3 subjects, 8 s per trial, 1 epoch")
    ap.add_argument("--models", default="baseline,cnn_lstm")
    ap.add_argument("--targets", default="valence,arousal")
    ap.add_argument("--protocols", default="loso,subject_dependent_window,subject_dependent_trial")
    ap.add_argument("--fusion", action="store_true", help="also the EEG + peripheral fusion comparison (LOSO)")
    ap.add_argument("--max-s", type=float, default=None, help="seconds of each trial used (default all 60)")
    ap.add_argument("--cnn-max-s", type=float, default=16.0, help="seconds per trial for the CNN (CPU budget)")
    ap.add_argument("--cnn-baseline", default="scale", choices=["scale", "mean"],
                    help="baseline correction of the CNN's input (eeg_windows(baseline=...)); default scale")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--folds", type=int, default=2, help="folds of the subject-dependent protocols")
    ap.add_argument("--out", help="also append the JSON lines to this file")
    args = ap.parse_args(argv)
    if args.tiny:
        args.subjects, args.max_s, args.cnn_max_s, args.epochs = 3, 8.0, 8.0, 1
    out = open(args.out, "a") if args.out else None  # noqa: SIM115 (closed at the end; lines flushed as they come)

    t0 = time.perf_counter()
    if args.path:
        ds = helpers.data.load("deap", path=args.path)
    else:
        ds = helpers.data.load("deap", source="synthetic")
    data = ds.source
    subjects = sorted(np.unique(ds.subject_ids).tolist())[:args.subjects]
    ds = ds.subset(np.flatnonzero(np.isin(ds.subject_ids, subjects)))
    emit({"benchmark": "deap_loso", "data": data, "subjects": subjects, "records": len(ds),
          "folder": ds.metadata.get("folder"), "load_s": round(time.perf_counter() - t0, 1),
          "normalisation": "per subject with its own statistics; the held-out subject's from its own unlabelled "
                           "windows (test-time normalisation)", "note": NOTE}, out)
    targets = args.targets.split(",")
    protocols = args.protocols.split(",")
    models = args.models.split(",")

    def run(model_name, model, X, labels, groups, trial_ids, target, train_config=None, **extra):
        for protocol in protocols:
            t = time.perf_counter()
            if protocol == "loso":
                per = loso_evaluate(model, X, labels, groups, trial_ids=trial_ids, train_config=train_config)
            else:
                split = protocol.removeprefix("subject_dependent_")
                per = subject_dependent_evaluate(model, X, labels, groups, trial_ids=trial_ids, split=split,
                                                 n_splits=args.folds, train_config=train_config)
            emit(result(model_name, target, protocol, per, data, time.perf_counter() - t, **extra), out)

    eeg = list(deap.EEG_CHANNELS)
    if "baseline" in models or args.fusion:
        # 1 s windows, 50% overlap; features once for both targets (the windows do not depend on the label)
        t = time.perf_counter()
        W = eeg_windows(ds, channels=eeg + [c for c in FUSION_CHANNELS if args.fusion], max_s=args.max_s)
        eeg_cols = [W.channel_names.index(c) for c in eeg]
        features = relative_band_power(_channels(W, eeg_cols))
        features = normalise_per_subject(features, W.groups)
        print(f"# windows {W.X.shape}, band power features {features.shape} in {time.perf_counter() - t:.0f} s",
              flush=True)
        for target in targets:
            y = deap.binary_labels(ds, target)[W.record_index]
            if "baseline" in models:
                run("baseline", make_baseline(), features, y, W.groups, W.trial_ids, target,
                    features="log band power (theta, alpha, beta, gamma) relative to the pre-trial baseline")
            if args.fusion:
                per_cols = [W.channel_names.index(c) for c in FUSION_CHANNELS]
                periph = normalise_per_subject(peripheral_features(W.X[:, per_cols], W.fs), W.groups)
                both = np.concatenate([features, periph], axis=1)
                n_eeg = features.shape[1]
                variants = {"eeg_only": (make_baseline(), features), "peripheral_only": (make_baseline(), periph),
                            "early_fusion": (make_baseline(), both),
                            "late_fusion": (LateFusion(make_baseline(), {"eeg": list(range(n_eeg)),
                                                                         "peripheral": list(range(n_eeg, both.shape[1]))}),
                                            both)}
                for name, (est, X) in variants.items():
                    t = time.perf_counter()
                    per = loso_evaluate(est, X, y, W.groups, trial_ids=W.trial_ids)
                    emit(result(f"fusion_{name}", target, "loso", per, data, time.perf_counter() - t,
                                peripheral_channels=list(FUSION_CHANNELS)), out)
        del W, features

    if "cnn_lstm" in models:
        import torch

        from helpers.models import EEGCNNLSTM
        from helpers.train import TrainConfig

        # 4 s segments (7 windows of 1 s, 50% overlap, cut inside the model); fewer seconds per trial: CPU budget
        # baseline="scale": each channel in units of its own pre-trial amplitude (measured on 8 synthetic subjects,
        # arousal LOSO: 65.9% vs 61.0% with "mean"), then per-subject standardisation
        S = eeg_windows(ds, window_s=4.0, step_s=4.0, channels=eeg, max_s=args.cnn_max_s, baseline=args.cnn_baseline)
        X = normalise_per_subject(S.X, S.groups)
        L = X.shape[-1]
        cfg = TrainConfig(epochs=args.epochs, batch_size=32, lr=3e-3, progress=False, device="cpu")
        n_params = EEGCNNLSTM(len(eeg), 2, L, verbose=False).num_parameters()
        for target in targets:
            y = deap.binary_labels(ds, target)[S.record_index]

            def factory():
                return EEGCNNLSTM(len(eeg), 2, L, verbose=False)
            torch.manual_seed(0)
            run("cnn_lstm", factory, X, y, S.groups, S.trial_ids, target, train_config=cfg,
                n_parameters=n_params, segment_s=4.0, seconds_per_trial=args.cnn_max_s, epochs=args.epochs,
                input_baseline=args.cnn_baseline)
    if out is not None:
        out.close()


def _channels(W, cols):
    """A view of ``W`` restricted to some channels (features need the EEG only)."""
    from dataclasses import replace
    return replace(W, X=W.X[:, cols], baseline=W.baseline[:, cols],
                   channel_names=tuple(W.channel_names[c] for c in cols))


if __name__ == "__main__":
    main()
