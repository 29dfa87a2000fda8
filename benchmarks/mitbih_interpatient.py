"""MIT-BIH beat classification, evaluated honestly: train on DS1's patients, test on DS2's (de Chazal et al. 2004).

Unit 2's model (:class:`~helpers.models.beat_cnn.BeatCNN` on the beat's shape relative to the patient's median
beat and five RR features relative to the patient's running mean RR, :mod:`helpers.signal.patient_features`;
balanced class weights) is trained on the four AAMI classes N, S, V, F (Q, a handful of
unclassifiable beats once the paced records are excluded, is left out, as is common), once per seed:

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
    python benchmarks/mitbih_interpatient.py --features raw          # the RR features in seconds (the old input)
    python benchmarks/mitbih_interpatient.py --tiny [--cv ds1]       # smoke test: 8 records, 1 epoch, 2 seeds

Stability: each seed fixes torch's, numpy's and the DataLoader's random state; the script fixes the CPU thread
count (``--threads``, default 1) and asks torch for deterministic algorithms (warn-only where a kernel has none).
A different thread count still sums in another order and ends in other weights; the spread over seeds is the
measure of that noise, and the reason every figure is a mean over seeds.

Defaults, chosen by ``--cv ds1`` on the real DS1 records only (2026-12-06, 5 grouped folds, seeds 0-2, one H100
with bf16 autocast, ``--device cuda``; ``results/mitbih/``): features ``rr_norm_rel`` with the running RR
reference, balanced class weights, batch 256, lr 4e-3, 10 epochs: macro F1 0.580 +- 0.019, S Se 0.663 +- 0.014 /
+P 0.316, V Se 0.835 / +P 0.795 over seeds 0-2; over seeds 0-4, S Se 0.624 +- 0.068 and macro F1 0.574 +- 0.022
(three seeds can understate the spread). The former default (raw RR in seconds, focal loss, batch 128, lr 2e-3) scored
macro F1 0.445 +- 0.010, S Se 0.269 +- 0.016 / +P 0.429 there. ``benchmarks/README.md`` has the whole comparison.

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
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS is deterministic only with this set early
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from helpers.train.imbalance import STRATEGIES, rebalance
from helpers.evaluate.metrics import multiclass_report
from helpers.models import BeatCNN, beat_inputs
from helpers.signal.patient_features import (
    normalised_rr_features,
    relative_to_median_beat,
)
from helpers.evaluate.splits import DS1_RECORDS, DS2_RECORDS, check_no_leakage, de_chazal_split
from helpers.train import TrainConfig, fit, predict_proba, set_seed

CLASSES = ("N", "S", "V", "F")
#: Model inputs: "raw" is the beat and the RR features in seconds; "rr_norm" the beat and the RR features over
#: the patient's mean RR; "rr_norm_shape" adds the beat minus the patient's median beat (over its amplitude);
#: "rr_norm_rel" keeps that difference alone (no raw waveform: nothing patient-specific left to memorise).
FEATURES = ("raw", "rr_norm", "rr_norm_shape", "rr_norm_rel")
# --tiny: four DS1 and four DS2 records that hold S, V and F beats (synthetic and real alike)
TINY_RECORDS = ("106", "208", "209", "223", "100", "200", "213", "232")
ANCHOR = {"source": "de Chazal, O'Dwyer, Reilly, IEEE TBME 51(7):1196-1206, 2004; real DS2 only",
          "accuracy": 0.862, "S": {"se": 0.759, "ppv": 0.385}, "V": {"se": 0.777, "ppv": 0.819}}


def load_beats(path: str | None, records: list[str] | None, decimate: int, cache: str | None = None) -> dict:
    """Beats of N, S, V, F: waveforms ``X`` (n, 1, L), raw RR features ``rr`` (n, 5), ``y``, ``record``,
    ``subject`` and ``info``; read from (or written to) the ``.npz`` ``cache`` when given."""
    if cache and Path(cache).is_file():
        with np.load(cache, allow_pickle=False) as z:
            d = {k: z[k] for k in ("X", "rr", "y", "record", "subject")}
            d["info"] = json.loads(str(z["info"]))
        if records:
            keep = np.isin(d["record"], records)
            d = {**{k: v[keep] for k, v in d.items() if k != "info"}, "info": d["info"]}
        d["info"]["beats"] = len(d["y"])
        d["info"]["records"] = int(np.unique(d["record"]).size)
        return d
    from helpers.data import load
    from helpers.data.mitbih import AAMI
    from helpers.signal.beats import beats_from_dataset

    t0 = time.perf_counter()
    if path is not None:
        ds = load("mitbih", path=path, **({"records": records} if records else {}))
    else:
        ds = load("mitbih", source="synthetic")
        if records:
            missing = sorted(set(records) - set(ds.record_ids.tolist()))
            if missing:
                raise SystemExit(f"--records: {missing} are not MIT-BIH record names")
            ds = ds.subset(np.flatnonzero(np.isin(ds.record_ids, records)))
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    beats = beats_from_dataset(ds, "MLII", symbol_to_class={s: c for s, c in AAMI.items() if c in CLASSES})
    ok = np.isfinite(beats.rr).all(axis=1)  # a record with < 2 beats has no RR interval
    index = {c: i for i, c in enumerate(CLASSES)}
    d = {"X": np.ascontiguousarray(beats.X[ok][..., ::decimate]), "rr": beats.rr[ok],
         "y": np.array([index[c] for c in beats.label[ok].tolist()], dtype=np.int64),
         "record": beats.record[ok], "subject": beats.subject[ok],
         "info": {"data": ds.source, "records": len(ds), "beats": int(ok.sum()), "fs_hz": beats.fs / decimate,
                  "load_seconds": round(load_s, 1), "beats_seconds": round(time.perf_counter() - t0, 1)}}
    if cache:
        np.savez_compressed(cache, **{k: v for k, v in d.items() if k != "info"}, info=json.dumps(d["info"]))
    return d


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


def train_predict(X, y, train, test, args, seed: int, name: str = "run") -> tuple[np.ndarray, float]:
    """Train a fresh BeatCNN on ``train`` (one seed); predicted classes of ``test`` and training seconds."""
    absent = [c for i, c in enumerate(CLASSES) if not np.any(y[train] == i)]
    if absent:
        raise SystemExit(f"no training beats of class(es) {absent} in these records; choose --records that hold "
                         f"them (e.g. {' '.join(TINY_RECORDS)})")
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
    return predict_proba(model, X[test]).argmax(1), seconds


def run_folds(X, y, folds, args, seed: int, name: str) -> tuple[dict, float]:
    """Train and test on each ``(train, test)`` fold; the scores of the pooled test predictions."""
    y_true, y_pred, seconds = [], [], 0.0
    for i, (train, test) in enumerate(folds):
        pred, s = train_predict(X, y, train, test, args, seed, f"{name}_seed{seed}_fold{i}")
        y_true.append(y[test])
        y_pred.append(pred)
        seconds += s
    return score(np.concatenate(y_true), np.concatenate(y_pred)), seconds


def score(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Accuracy, macro F1 over N, S, V, F and per-class Se/+P/F1 (None where undefined)."""
    table = multiclass_report(y_true, y_pred, CLASSES)
    per_class = {c: {"se": _num(table.loc[c, "sensitivity"]), "ppv": _num(table.loc[c, "ppv"]),
                     "f1": _num(table.loc[c, "f1"]), "n": int(table.loc[c, "support"])} for c in CLASSES}
    return {"accuracy": _num(np.mean(y_true == y_pred)), "macro_f1": _num(table.loc["macro avg", "f1"]),
            "per_class": per_class}


def over_seeds(runs: list[dict], seeds: list[int]) -> dict:
    """Mean and sample standard deviation over seeds of every metric of :func:`score`; a short per-seed list."""
    def stat(values: list) -> tuple[float | None, float | None]:
        v = [x for x in values if x is not None]
        if not v:
            return None, None
        return _num(np.mean(v)), (_num(np.std(v, ddof=1)) if len(v) > 1 else None)

    out: dict = {}
    for key in ("accuracy", "macro_f1"):
        out[key], out[f"{key}_std"] = stat([r[key] for r in runs])
    out["per_class"] = {}
    for c in CLASSES:
        pc = {}
        for m in ("se", "ppv", "f1"):
            pc[m], pc[f"{m}_std"] = stat([r["per_class"][c][m] for r in runs])
        pc["n"] = runs[0]["per_class"][c]["n"]
        out["per_class"][c] = pc
    out["per_seed"] = [{"seed": s, "accuracy": r["accuracy"], "macro_f1": r["macro_f1"],
                        **{f"{c}_{m}": r["per_class"][c][m] for c in ("S", "V") for m in ("se", "ppv")}}
                       for s, r in zip(seeds, runs)]
    return out


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


def grouped_folds(y, groups, n_folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Leave-patients-out folds: every patient's beats in one test fold; classes spread over folds."""
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = np.unique(groups).size
    if not 2 <= n_folds <= n_groups:
        raise SystemExit(f"--folds must be between 2 and the number of patients ({n_groups}), got {n_folds}")
    cv = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=0)  # one set of folds for every seed
    return list(cv.split(np.zeros(len(y)), y, groups))


def beat_folds(y, n_folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The leaky counterpart: a class-stratified k-fold over beats, patients on both sides."""
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=0).split(np.zeros(len(y)), y))


def intra_patient_split(y: np.ndarray, pool: np.ndarray, n_train: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random, class-stratified beat-level split of ``pool`` with ``n_train`` beats to train on."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(pool, train_size=n_train, stratify=y[pool], random_state=seed)
    return np.sort(train), np.sort(test)


def _num(v) -> float | None:
    v = float(v)
    return None if math.isnan(v) else round(v, 4)


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def _report(name: str, part: dict, seconds: float) -> None:
    pc = part["per_class"]
    print(f"{name}: {part['n_train']:,} training beats, {part['n_test']:,} test beats, {seconds:.0f} s of training; "
          f"accuracy {_fmt(part['accuracy'])} +- {_fmt(part['accuracy_std'])}, macro F1 {_fmt(part['macro_f1'])} "
          f"+- {_fmt(part['macro_f1_std'])}; "
          + ", ".join(f"{c} Se {_fmt(v['se'])} +- {_fmt(v['se_std'])} +P {_fmt(v['ppv'])} +- {_fmt(v['ppv_std'])}"
                      for c, v in pc.items()), flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--path", default=None, help="folder of PhysioNet's mitdb records (read in place); default: "
                                                 "the embedded synthetic database")
    ap.add_argument("--records", nargs="+", default=None, help="only these records (e.g. 101 106 100 103)")
    ap.add_argument("--cv", choices=("ds1",), default=None,
                    help="ds1: leave-patients-out within DS1 only (DS2 neither needed nor read)")
    ap.add_argument("--folds", type=int, default=5, help="--cv: grouped folds over the DS1 patients")
    ap.add_argument("--features", choices=FEATURES, default="rr_norm_rel", help="model input (see FEATURES)")
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
    ap.add_argument("--beats-cache", default=None, help=".npz of the beats: read if it exists, else written")
    ap.add_argument("--no-intra-patient", action="store_true", help="skip the leaky comparison (faster tuning)")
    ap.add_argument("--strict-patients", action="store_true",
                    help="leave out of DS2 the patient DS1 shares with it (record 202 = patient of 201)")
    ap.add_argument("--track", action="store_true", help="record every training run with MLflow")
    ap.add_argument("--verbose", action="store_true", help="one line per epoch")
    ap.add_argument("--tiny", action="store_true", help="smoke test: 8 records, 1 epoch, seeds 0 and 1")
    args = ap.parse_args(argv)
    if args.tiny:
        args.records, args.epochs = args.records or list(TINY_RECORDS), 1
        args.seeds = args.seeds if argv and "--seeds" in argv else [0, 1]
        args.folds = min(args.folds, 2)
    return args


def inter_patient_folds(d: dict, args) -> tuple[str, list, list[str]]:
    """The key, the (train, test) folds and the shared patients of the inter-patient evaluation."""
    record, subject = d["record"], d["subject"]
    if args.cv == "ds1":
        ds1 = np.flatnonzero(np.isin(record, DS1_RECORDS))
        if ds1.size == 0:
            raise SystemExit(f"--cv ds1 needs DS1 records {DS1_RECORDS}; none among these")
        folds = [(ds1[tr], ds1[te]) for tr, te in grouped_folds(d["y"][ds1], subject[ds1], args.folds)]
        for tr, te in folds:
            check_no_leakage(subject, tr, te, names=["train patients", "held-out patients"])
        return "ds1_cv", folds, []
    train, test = de_chazal_split(record)
    if len(train) == 0 or len(test) == 0:
        raise SystemExit(f"--records must include DS1 and DS2 records; DS1 {DS1_RECORDS}, DS2 {DS2_RECORDS}")
    shared = sorted(set(subject[train].tolist()) & set(subject[test].tolist()))
    if args.strict_patients and shared:
        test = test[~np.isin(subject[test], shared)]
        print(f"--strict-patients: DS2 beats of patient(s) {shared} (also in DS1) left out of the test set")
        shared = []
    elif shared:
        print(f"note: the conventional DS1/DS2 split shares patient(s) {shared} (records 201 in DS1 and 202 in DS2 "
              "come from one man); kept for comparability with the literature; --strict-patients drops them")
    check_no_leakage(record, train, test, names=["DS1", "DS2"])
    return "ds2", [(train, test)], shared


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)  # fixed here, not by the environment: the sums' order is part of a result
    t_start = time.perf_counter()
    d = load_beats(args.path, args.records, args.decimate, args.beats_cache)
    info = d["info"]
    what = "the real MIT-BIH Arrhythmia Database" if info["data"] == "real" else \
        "SYNTHETIC MIT-BIH-like records (helpers.data.synthetic.mitbih_ecg), not the real database"
    print(f"data: {what}; {info['records']} records, {info['beats']:,} N/S/V/F beats at {info['fs_hz']:g} Hz",
          flush=True)
    X = model_inputs(args.features, d["X"], d["rr"], d["record"], args.rr_reference)
    y = d["y"]
    key, folds, shared = inter_patient_folds(d, args)
    pool = np.sort(np.concatenate(folds[0]))  # the beats of the inter-patient evaluation
    result: dict = {}
    seconds = {"inter": 0.0, "intra": 0.0}
    inter_runs, intra_runs = [], []
    for seed in args.seeds:
        s_inter, s = run_folds(X, y, folds, args, seed, key)
        inter_runs.append(s_inter)
        seconds["inter"] += s
        if not args.no_intra_patient:
            # the same beats and as many training beats, split at random: patients on both sides
            intra = beat_folds(y[pool], len(folds)) if len(folds) > 1 else \
                [intra_patient_split(y, pool, len(folds[0][0]), seed)]
            intra = [(pool[a], pool[b]) for a, b in intra] if len(folds) > 1 else intra
            s_intra, s = run_folds(X, y, intra, args, seed, "intra_patient")
            intra_runs.append(s_intra)
            seconds["intra"] += s
        print(f"seed {seed}: {key} macro F1 {_fmt(s_inter['macro_f1'])}, S Se {_fmt(s_inter['per_class']['S']['se'])}"
              f" +P {_fmt(s_inter['per_class']['S']['ppv'])}, V Se {_fmt(s_inter['per_class']['V']['se'])} +P "
              f"{_fmt(s_inter['per_class']['V']['ppv'])}", flush=True)
    sizes = {"n_train": int(np.mean([len(tr) for tr, _ in folds])), "n_test": int(sum(len(te) for _, te in folds))}
    result[key] = {**over_seeds(inter_runs, args.seeds), **sizes}
    result["rr_only_logistic"] = rr_only_baseline(d, folds, args.rr_reference)
    print(f"{key}, logistic regression on RR alone: " + "; ".join(
        f"{k} RR macro F1 {_fmt(v['macro_f1'])}, S Se {_fmt(v['per_class']['S']['se'])} +P "
        f"{_fmt(v['per_class']['S']['ppv'])}" for k, v in result["rr_only_logistic"].items()), flush=True)
    _report(key, result[key], seconds["inter"])
    result["intra_patient"] = {**over_seeds(intra_runs, args.seeds), **sizes} if intra_runs else None
    if intra_runs:
        _report("intra_patient", result["intra_patient"], seconds["intra"])
        print(f"intra-patient minus {key} macro F1: {_gap(result['intra_patient'], result[key])} "
              "(the patient-leakage gap)", flush=True)
    n_wave = X.shape[1] - 5
    result.update({
        "evaluation": f"DS1 leave-patients-out, {args.folds} grouped folds, pooled" if args.cv else "DS1 -> DS2",
        "seeds": list(args.seeds), "train_seconds": round(seconds["inter"] + seconds["intra"], 1),
        "total_seconds": round(time.perf_counter() - t_start, 1), "data": info["data"], "model": "BeatCNN",
        "num_parameters": BeatCNN(X.shape[1], len(CLASSES), channels=tuple(args.channels),
                                  verbose=False).num_parameters(),
        "features": args.features, "rr_reference": args.rr_reference, "waveform_channels": n_wave, "shared_patients": shared,
        "strategy": args.strategy, "epochs": args.epochs, "channels": list(args.channels), "lr": args.lr,
        "batch_size": args.batch_size, "threads": args.threads, "device": args.device,
        "records": info["records"], "beats": info["beats"], "fs_hz": info["fs_hz"],
        "anchor_de_chazal_2004": ANCHOR})
    print(json.dumps(result), flush=True)
    return result


def _gap(a: dict, b: dict) -> str:
    if a["macro_f1"] is None or b["macro_f1"] is None:
        return "n/a"
    return f"{a['macro_f1'] - b['macro_f1']:+.3f}"


if __name__ == "__main__":
    main()
