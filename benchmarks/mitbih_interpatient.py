"""MIT-BIH beat classification, evaluated honestly: train on DS1's patients, test on DS2's (de Chazal et al. 2004).

Unit 2's models, on the four AAMI classes N, S, V, F (Q, a handful of unclassifiable beats once the paced records
are excluded, is left out, as is common), trained once per seed (``--model``):

- ``features`` (the default): patient-relative RR and morphology numbers and their robust per-record z-scores,
  gradient-boosted trees (``mitbih_features.py``); about a minute of one CPU core per seed on DS1;
- ``cnn``: :class:`~helpers.models.beat_cnn.BeatCNN` on the beat minus the patient's median beat and five RR
  features over the patient's running mean RR (:mod:`helpers.signal.patient_features`), balanced class weights;
- ``ensemble``: the mean of both models' probabilities (``--cnn-weight``); the JSON adds each part's scores
  under ``components``.

The model's probabilities are multiplied by ``--decision-weights`` (N S V F) before the argmax. Two evaluations:

- ``ds2``: trained on the 22 DS1 records, tested on the 22 DS2 records (other patients): the inter-patient score,
  the one that says how the model does on a new patient;
- ``intra_patient``: trained and tested on a random beat-level split of the same 44 records with as many training
  beats: every test patient is also a training patient. It scores clearly higher: the leakage this unit is about.

``--cv ds1`` needs only the training half: leave-patients-out within DS1 (``--folds`` grouped folds over its 22
patients, 201 and 202 one group, the same folds for every seed; out-of-fold predictions pooled, then scored) under
the key ``ds1_cv``, and ``intra_patient`` as a beat-level k-fold of the same DS1 beats. Tune there, never on DS2.

Every metric is the mean over ``--seeds`` (default 0 1 2) with its sample standard deviation beside it
(``*_std``); the last line printed is one JSON object::

    {"ds2" | "ds1_cv": {"accuracy", "accuracy_std", "macro_f1", "macro_f1_std",
                        "per_class": {"N": {"se", "se_std", "ppv", "ppv_std", "f1", "f1_std", "n"}, "S": ...},
                        "per_seed": [{"seed", "accuracy", "macro_f1", "S_se", "S_ppv", "V_se", "V_ppv"}, ...],
                        "n_train", "n_test"},
     "intra_patient": {... the same ...}, "seeds": [0, 1, 2], "train_seconds", "data": "real" | "synthetic",
     "rr_only_logistic": {"raw": {...}, "normalised": {...}}, ...}

``rr_only_logistic`` is the lesson in one line: a logistic regression on the five RR features alone, once in
seconds and once over each patient's own mean RR, on the same patients and folds.

(fractions 0-1; ``null`` where a value is undefined, e.g. a class absent from a tiny test set). Runs::

    python benchmarks/mitbih_interpatient.py                         # embedded synthetic MIT-BIH-like database
    python benchmarks/mitbih_interpatient.py --path DIR              # your copy of PhysioNet's mitdb 1.0.0
    python benchmarks/mitbih_interpatient.py --cv ds1 --path DIR     # DS1 only: leave-patients-out, for tuning
    python benchmarks/mitbih_interpatient.py --model cnn --device cuda   # the BeatCNN (--features raw: RR in s)
    python benchmarks/mitbih_interpatient.py --tiny [--cv ds1]       # smoke test: 8 records, 1 epoch, 2 seeds

Stability: each seed fixes torch's, numpy's and the DataLoader's random state and the trees' feature draws; the
script fixes the CPU thread count (``--threads``, default 1; torch's and OpenMP's) and asks torch for
deterministic algorithms (warn-only where a kernel has none). ``--jobs`` runs seeds in parallel processes.
A different thread count still sums in another order and ends in other weights; the spread over seeds is the
measure of that noise, and the reason every figure is a mean over seeds.

Defaults, chosen by ``--cv ds1`` on the real DS1 records only (2026-12-06, 5 grouped folds, seeds 0-4, one H100;
``results/mitbih/``, ``benchmarks/README.md`` has the whole comparison): the feature model with 100 trees and
decision weights 1, 1, 1.5, 1: macro F1 0.672 +- 0.001, S Se 0.830 +- 0.003 / +P 0.771, V Se 0.922 +- 0.003 /
+P 0.859 (without the V weight: V Se 0.902 / +P 0.876). The tree count and the V weight were chosen on these same
folds, so these figures flatter the model somewhat; DS2 is the test. The BeatCNN's best settings (``--model cnn``:
macro F1 0.588 +- 0.018, S Se 0.626 +- 0.033 / +P 0.284) and the ensemble (0.636 +- 0.004) scored lower there.

The anchor on real DS2, de Chazal, O'Dwyer and Reilly, IEEE TBME 51(7), 2004, linear discriminants on RR and
morphology features: accuracy 86.2%; S Se 75.9% / +P 38.5%; V Se 77.7% / +P 81.9%.

Choices: reference beat positions (the classifier is compared, not the detector), MLII, band-pass 0.5-40 Hz, beats
of 0.25 s + 0.45 s, decimated to 180 Hz (``--decimate 2``; alias-free after the 40 Hz low-pass); a fixed number of
epochs and the last epoch kept (choosing an epoch on the test patients would tune on them). The per-record
references (mean RR, median beat) are computed over the record's N, S, V and F beats.

A flaw of the convention, kept by default for comparability: records 201 (DS1) and 202 (DS2) come from the same
patient. The JSON says so (``shared_patients``); ``--strict-patients`` drops that patient's DS2 beats.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS is deterministic only with this set early
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from helpers.models import BeatCNN, beat_inputs
from helpers.signal.patient_features import normalised_rr_features, relative_to_median_beat
from helpers.train import TrainConfig, fit, predict_proba, set_seed
from helpers.train.imbalance import STRATEGIES, rebalance

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the benchmark's own modules, beside this file
from mitbih_data import load_beats  # noqa: E402
from mitbih_features import feature_table, fit_predict_features  # noqa: E402
from mitbih_folds import beat_folds, grouped_folds, inter_patient_folds, intra_patient_split  # noqa: E402,F401
from mitbih_scores import CLASSES, fmt, gap, over_seeds, report_line, score  # noqa: E402

#: What is benchmarked: the BeatCNN, the feature model (mitbih_features.py) or the mean of their probabilities.
MODELS = ("cnn", "features", "ensemble")
#: Model inputs: "raw" is the beat and the RR features in seconds; "rr_norm" the beat and the RR features over
#: the patient's mean RR; "rr_norm_shape" adds the beat minus the patient's median beat (over its amplitude);
#: "rr_norm_rel" keeps that difference alone (no raw waveform: nothing patient-specific left to memorise).
FEATURES = ("raw", "rr_norm", "rr_norm_shape", "rr_norm_rel")
# --tiny: four DS1 and four DS2 records that hold S, V and F beats (synthetic and real alike)
TINY_RECORDS = ("106", "208", "209", "223", "100", "200", "213", "232")
ANCHOR = {"source": "de Chazal, O'Dwyer, Reilly, IEEE TBME 51(7):1196-1206, 2004; real DS2 only",
          "accuracy": 0.862, "S": {"se": 0.759, "ppv": 0.385}, "V": {"se": 0.777, "ppv": 0.819}}


def model_inputs(features: str, X: np.ndarray, rr: np.ndarray, record: np.ndarray,
                 reference: str = "record") -> np.ndarray:
    """The BeatCNN input ``(n, C_wave + 5, L)`` for one choice of :data:`FEATURES` (references per record;
    ``reference``: the record's mean RR or a running mean, :func:`normalised_rr_features`'s ``mode``)."""
    if features == "raw":
        return beat_inputs(X, rr)
    rr_n = normalised_rr_features(rr, record, mode=reference)
    if features == "rr_norm":
        return beat_inputs(X, rr_n)
    rel = relative_to_median_beat(X, record)
    return beat_inputs(rel if features == "rr_norm_rel" else np.concatenate([X, rel], axis=1), rr_n)


def check_classes(y: np.ndarray, train: np.ndarray) -> None:
    """Refuse a training set that lacks a class (the model could never predict it), naming the class."""
    absent = [c for i, c in enumerate(CLASSES) if not np.any(y[train] == i)]
    if absent:
        raise SystemExit(f"no training beats of class(es) {absent} in these records; choose --records that hold "
                         f"them (e.g. {' '.join(TINY_RECORDS)})")


def cnn_fit_predict(X, y, train, test, args, seed: int, name: str = "run") -> tuple[np.ndarray, float]:
    """Train a fresh BeatCNN on ``train`` (one seed); class probabilities of ``test`` (n_test, 4) and seconds."""
    set_seed(seed, deterministic=True)
    model = BeatCNN(X.shape[1], len(CLASSES), X.shape[2], channels=tuple(args.channels), verbose=False)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=seed,
                         device=args.device, progress="epoch" if args.verbose else False,
                         num_threads=args.threads, restore_best=False)
    X_tr, y_tr, config = rebalance(args.strategy, X[train], y[train], config, sampling_strategy=args.sampling,
                                   seed=seed)
    if args.track:
        from dataclasses import replace

        from helpers.train.tracking import MLflowCallback
        config = replace(config, callbacks=[MLflowCallback("mitbih_interpatient", run_name=name, params={
            "features": args.features, "strategy": args.strategy, "seed": seed, "decimate": args.decimate})])
    t0 = time.perf_counter()
    fit(model, (X_tr, y_tr), config=config)
    seconds = time.perf_counter() - t0
    return predict_proba(model, X[test]), seconds


def components(model: str) -> tuple[str, ...]:
    """The models that ``--model`` trains: one, or both for the ensemble."""
    return ("cnn", "features") if model == "ensemble" else (model,)


def run_folds(inputs: dict, y, folds, args, seed: int, name: str) -> tuple[dict, np.ndarray, float]:
    """Train each component model on each ``(train, test)`` fold: its pooled out-of-fold probabilities
    ``{"cnn" | "features": (n_tested, 4)}``, the tested beats' indices (in that order) and the training seconds."""
    probs: dict = {m: [] for m in components(args.model)}
    seconds = 0.0
    for i, (train, test) in enumerate(folds):
        check_classes(y, train)
        if "cnn" in probs:
            p, s = cnn_fit_predict(inputs["cnn"], y, train, test, args, seed, f"{name}_seed{seed}_fold{i}")
            probs["cnn"].append(p)
            seconds += s
        if "features" in probs:
            p, s = fit_predict_features(inputs["features"], y, train, test, seed, n_outputs=len(CLASSES),
                                        threads=args.threads, max_iter=args.trees)
            probs["features"].append(p)
            seconds += s
    return {m: np.concatenate(v) for m, v in probs.items()}, np.concatenate([te for _, te in folds]), seconds


def combine(probs: dict, args) -> np.ndarray:
    """The benchmarked model's scores per class: one component's probabilities, or the ensemble's weighted mean
    of both, times ``--decision-weights`` (a prior shift: a weight above 1 calls a class on less evidence)."""
    if args.model == "ensemble":
        p = args.cnn_weight * probs["cnn"] + (1 - args.cnn_weight) * probs["features"]
    else:
        p = probs[args.model]
    return p * np.asarray(args.decision_weights)


def run_seed(seed: int, inputs: dict, y: np.ndarray, folds: list, intra: list | None, args, key: str) -> dict:
    """One seed, inter-patient and (``intra`` folds given) intra-patient: scores of the model and of each
    component, seconds and the out-of-fold probabilities. Runs in a worker process under ``--jobs``."""
    import torch

    torch.set_num_threads(args.threads)  # fixed here, not by the environment: the sums' order is part of a result
    out: dict = {"seed": seed, "seconds": {}, "proba": {}}
    for part, part_folds in ((key, folds), ("intra_patient", intra)):
        if part_folds is None:
            continue
        probs, tested, seconds = run_folds(inputs, y, part_folds, args, seed, part)
        out[part] = {m: score(y[tested], p.argmax(1)) for m, p in probs.items()}  # the components as they are
        out[part][args.model] = score(y[tested], combine(probs, args).argmax(1))
        out["seconds"][part] = seconds
        out["proba"][part] = {"tested": tested, **probs}
    return out


def run_seeds(inputs: dict, y, folds, intra_for, args, key: str) -> list[dict]:
    """:func:`run_seed` for every seed, in ``--jobs`` worker processes (spawned: CUDA and OpenMP are not
    fork-safe) or in this one; results in the order of ``args.seeds``."""
    jobs = [(s, inputs, y, folds, intra_for(s), args, key) for s in args.seeds]
    if args.jobs <= 1:
        return [run_seed(*job) for job in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(min(args.jobs, len(jobs)), mp_context=multiprocessing.get_context("spawn")) as ex:
        return list(ex.map(run_seed, *zip(*jobs)))


def rr_only_baseline(d: dict, folds, reference: str) -> dict:
    """Why the RR features are normalised: a logistic regression on the five RR features alone, in seconds
    (``raw``) and over each patient's mean RR (``normalised``), on the same folds; scores of :func:`score`."""
    from sklearn.linear_model import LogisticRegression

    out = {}
    for name, rr in (("raw", d["rr"]), ("normalised", normalised_rr_features(d["rr"], d["record"], mode=reference))):
        z = np.log(rr)  # ratios and intervals are positive and act multiplicatively
        y_true, y_pred = [], []
        for train, test in folds:
            clf = LogisticRegression(max_iter=2000, class_weight="balanced").fit(z[train], d["y"][train])
            y_true.append(d["y"][test])
            y_pred.append(clf.predict(z[test]))
        out[name] = score(np.concatenate(y_true), np.concatenate(y_pred))
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--path", default=None, help="folder of PhysioNet's mitdb records (read in place); default: "
                                                 "the embedded synthetic database")
    ap.add_argument("--records", nargs="+", default=None, help="only these records (e.g. 101 106 100 103)")
    ap.add_argument("--cv", choices=("ds1",), default=None,
                    help="ds1: leave-patients-out within DS1 only (DS2 neither needed nor read)")
    ap.add_argument("--folds", type=int, default=5, help="--cv: grouped folds over the DS1 patients")
    ap.add_argument("--model", choices=MODELS, default="features", help="what is benchmarked (see MODELS)")
    ap.add_argument("--cnn-weight", type=float, default=0.5, help="ensemble: the CNN's share of the probabilities")
    ap.add_argument("--trees", type=int, default=100, help="feature model: boosting iterations")
    ap.add_argument("--decision-weights", type=float, nargs=4, default=[1.0, 1.0, 1.5, 1.0], metavar="W",
                    help="N S V F: the model's probabilities are multiplied by these before the argmax")
    ap.add_argument("--features", choices=FEATURES, default="rr_norm_rel", help="CNN input (see FEATURES)")
    ap.add_argument("--rr-reference", choices=("record", "running"), default="running",
                    help="the patient's mean RR: over the whole record, or the running mean of the last 300 beats")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--strategy", default="class_weights", choices=STRATEGIES, help="imbalance remedy (helpers.train.imbalance)")
    ap.add_argument("--sampling", type=float, default=0.25,
                    help="oversampling strategies: rare classes raised to this fraction of the N beats")
    ap.add_argument("--channels", type=int, nargs="+", default=[16, 32, 32, 32], help="BeatCNN feature maps")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--decimate", type=int, default=2, help="keep every k-th sample (360 Hz -> 180 Hz)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads, fixed for the whole run")
    ap.add_argument("--device", default="cpu", help="cpu | cuda | auto")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="one training run per seed")
    ap.add_argument("--jobs", type=int, default=1, help="seeds run in this many worker processes at once")
    ap.add_argument("--save-proba", default=None, help=".npz of every seed's out-of-fold probabilities")
    ap.add_argument("--beats-cache", default=None, help=".npz of the beats: read if it exists, else written")
    ap.add_argument("--no-intra-patient", action="store_true", help="skip the leaky comparison (faster tuning)")
    ap.add_argument("--strict-patients", action="store_true",
                    help="leave out of DS2 the patient DS1 shares with it (record 202 = patient of 201)")
    ap.add_argument("--track", action="store_true", help="record every training run with MLflow")
    ap.add_argument("--verbose", action="store_true", help="one line per epoch")
    ap.add_argument("--tiny", action="store_true", help="smoke test: 8 records, 1 epoch, 40 trees, seeds 0 and 1")
    args = ap.parse_args(argv)
    if min(args.decision_weights) <= 0:
        ap.error(f"--decision-weights must be positive, got {args.decision_weights}")
    if not 0 <= args.cnn_weight <= 1:
        ap.error(f"--cnn-weight must be between 0 and 1, got {args.cnn_weight}")
    if args.tiny:
        args.records, args.epochs = args.records or list(TINY_RECORDS), 1
        args.trees = min(args.trees, 40)
        given = sys.argv[1:] if argv is None else argv
        args.seeds = args.seeds if "--seeds" in given else [0, 1]
        args.folds = min(args.folds, 2)
    return args


def intra_folds_for(y: np.ndarray, folds: list, args):
    """The leaky comparison's folds for one seed (None when skipped): the same beats and as many training beats,
    split at random, patients on both sides."""
    pool = np.sort(np.concatenate(folds[0]))  # the beats of the inter-patient evaluation

    def make(seed: int) -> list | None:
        if args.no_intra_patient:
            return None
        if len(folds) > 1:
            return [(pool[a], pool[b]) for a, b in beat_folds(y[pool], len(folds))]
        return [intra_patient_split(y, pool, len(folds[0][0]), seed)]
    return make


def summarise(runs: list[dict], part: str, model: str, args, sizes: dict) -> dict:
    """The model's scores over seeds for one part, with its components' under ``components`` (ensemble)."""
    out = {**over_seeds([r[part][model] for r in runs], args.seeds), **sizes}
    if model == "ensemble":
        out["components"] = {m: {**over_seeds([r[part][m] for r in runs], args.seeds), **sizes}
                             for m in components(model)}
    return out


def save_proba(path: str, runs: list[dict], y: np.ndarray, record: np.ndarray) -> None:
    """Every seed's out-of-fold probabilities of every component (``{part}_{model}_seed{s}``), for offline study."""
    arrays = {"y": y, "record": record.astype(str)}
    for r in runs:
        for part, probs in r["proba"].items():
            for name, p in probs.items():
                # probabilities in float32 (half the size, ample precision); the tested indices stay integers
                arrays[f"{part}_{name}_seed{r['seed']}"] = p if name == "tested" else p.astype(np.float32)
    np.savez_compressed(path, **arrays)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    t_start = time.perf_counter()
    d = load_beats(args.path, args.records, args.decimate, args.beats_cache)
    info = d["info"]
    what = "the real MIT-BIH Arrhythmia Database" if info["data"] == "real" else \
        "SYNTHETIC MIT-BIH-like records (helpers.data.synthetic.mitbih_ecg), not the real database"
    print(f"data: {what}; {info['records']} records, {info['beats']:,} N/S/V/F beats at {info['fs_hz']:g} Hz; "
          f"model {args.model}", flush=True)
    inputs = {}
    if "cnn" in components(args.model):
        inputs["cnn"] = model_inputs(args.features, d["X"], d["rr"], d["record"], args.rr_reference)
    if "features" in components(args.model):
        inputs["features"] = feature_table(d["X"], d["rr"], d["record"], info["fs_hz"], args.rr_reference)
    y = d["y"]
    key, folds, shared = inter_patient_folds(d, args)
    runs = run_seeds(inputs, y, folds, intra_folds_for(y, folds, args), args, key)
    for r in runs:
        s = r[key][args.model]
        print(f"seed {r['seed']}: {key} macro F1 {fmt(s['macro_f1'])}, S Se {fmt(s['per_class']['S']['se'])} +P "
              f"{fmt(s['per_class']['S']['ppv'])}, V Se {fmt(s['per_class']['V']['se'])} +P "
              f"{fmt(s['per_class']['V']['ppv'])}", flush=True)
    if args.save_proba:
        save_proba(args.save_proba, runs, y, d["record"])
    sizes = {"n_train": int(np.mean([len(tr) for tr, _ in folds])), "n_test": int(sum(len(te) for _, te in folds))}
    seconds = {part: sum(r["seconds"].get(part, 0.0) for r in runs) for part in (key, "intra_patient")}
    result: dict = {key: summarise(runs, key, args.model, args, sizes)}
    result["rr_only_logistic"] = rr_only_baseline(d, folds, args.rr_reference)
    print(f"{key}, logistic regression on RR alone: " + "; ".join(
        f"{k} RR macro F1 {fmt(v['macro_f1'])}, S Se {fmt(v['per_class']['S']['se'])} +P "
        f"{fmt(v['per_class']['S']['ppv'])}" for k, v in result["rr_only_logistic"].items()), flush=True)
    for name, part in result[key].get("components", {}).items():
        print(report_line(f"{key} ({name} alone)", part), flush=True)
    print(report_line(f"{key} ({args.model})", result[key], seconds[key]), flush=True)
    result["intra_patient"] = None if args.no_intra_patient else summarise(runs, "intra_patient", args.model,
                                                                          args, sizes)
    if result["intra_patient"]:
        print(report_line("intra_patient", result["intra_patient"], seconds["intra_patient"]), flush=True)
        print(f"intra-patient minus {key} macro F1: {gap(result['intra_patient'], result[key])} "
              "(the patient-leakage gap)", flush=True)
    uses_cnn = "cnn" in inputs
    result.update({
        "evaluation": f"DS1 leave-patients-out, {args.folds} grouped folds, pooled" if args.cv else "DS1 -> DS2",
        "seeds": list(args.seeds), "train_seconds": round(seconds[key] + seconds["intra_patient"], 1),
        "total_seconds": round(time.perf_counter() - t_start, 1), "data": info["data"], "model": args.model,
        "num_parameters": BeatCNN(inputs["cnn"].shape[1], len(CLASSES), channels=tuple(args.channels),
                                  verbose=False).num_parameters() if uses_cnn else None,
        "num_features": inputs["features"].shape[1] if "features" in inputs else None,
        "features": args.features, "rr_reference": args.rr_reference, "shared_patients": shared,
        "waveform_channels": inputs["cnn"].shape[1] - 5 if uses_cnn else None, "cnn_weight": args.cnn_weight,
        "decision_weights": dict(zip(CLASSES, args.decision_weights)),
        "trees": args.trees, "strategy": args.strategy, "epochs": args.epochs, "channels": list(args.channels),
        "lr": args.lr, "batch_size": args.batch_size, "threads": args.threads, "device": args.device,
        "records": info["records"], "beats": info["beats"], "fs_hz": info["fs_hz"],
        "anchor_de_chazal_2004": ANCHOR})
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
