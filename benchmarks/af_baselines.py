"""How hard is the AF task? Three models on the same patient-wise split, one JSON line each.

1. majority class (the floor: accuracy = share of normal windows, ROC AUC 0.5);
2. RR-interval irregularity features (R peaks by neurokit2) + logistic regression (the classical detector);
3. a small 1D-CNN (4 conv blocks) trained for a few epochs on CPU.

The synthetic set is tuned so that 2 clearly beats 1 but is imperfect (ROC AUC ~0.80-0.90: sinus arrhythmia,
ectopic beats, rate-controlled AF and noise fool an RR rule) and 3 clearly beats 2 (it can also see P waves and
f-waves) without being perfect. Run it after changing the simulator::

    python benchmarks/af_baselines.py                        # embedded synthetic default (3000 records)
    python benchmarks/af_baselines.py --source real          # the fetched Zenodo files
    python benchmarks/af_baselines.py --path DIR             # a copy of the Zenodo files you have, read in place
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from helpers.data import load
from helpers.models.cnn1d import CNN1D
from helpers.signal import make_windows, rr_features
from helpers.evaluate.splits import check_no_leakage, train_val_test_split
from helpers.train import TrainConfig, fit, predict_proba, set_seed

RR_COLUMNS = ("n_beats", "heart_rate_bpm", "sdnn_ms", "rmssd_ms", "nrmssd", "pnn50", "cv_rr", "mad_rr_rel")


def report(model: str, y: np.ndarray, score: np.ndarray, **extra) -> dict:
    """Print and return one JSON line: accuracy at 0.5, balanced accuracy, ROC AUC, plus timings."""
    pred = (score >= 0.5).astype(int)
    out = {"model": model, "accuracy": round(float(accuracy_score(y, pred)), 4),
           "balanced_accuracy": round(float(balanced_accuracy_score(y, pred)), 4),
           "roc_auc": round(float(roc_auc_score(y, score)), 4) if len(np.unique(y)) == 2 else None,
           "n_test": len(y), **extra}
    print(json.dumps(out), flush=True)
    return out


def rr_matrix(X: np.ndarray, fs: float) -> np.ndarray:
    """RR features of every window, shape ``(n, len(RR_COLUMNS))``; NaN where detection found < 3 beats."""
    rows = []
    for w in X[:, 0]:
        try:
            f = rr_features(w, fs)
        except Exception:  # noqa: BLE001 - neurokit2 fails on some pure-noise windows: that is a missed record
            f = {}
        rows.append([f.get(c, np.nan) for c in RR_COLUMNS])
    return np.asarray(rows, dtype=np.float64)


def train_cnn(Xtr, ytr, Xte, epochs: int, seed: int, channels: tuple[int, ...], device: str = "cpu",
              batch_size: int = 64, lr: float = 3e-3) -> tuple[np.ndarray, float]:
    """The course's CNN1D trained by the course's loop (AdamW, warm-up + cosine, balanced class weights);
    returns P(AF) on ``Xte`` and fit seconds, so the figure is the one a student's pipeline reaches."""
    set_seed(seed)
    model = CNN1D(1, 2, Xtr.shape[-1], channels=channels, verbose=False)
    # Balanced class weights: otherwise the 15% AF class is under-fitted in a few epochs.
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=1e-2, warmup_frac=0.1,
                         class_weights="balanced", seed=seed, device=device, progress=False)
    t0 = time.time()
    fit(model, (Xtr, ytr), None, config)
    fit_s = time.time() - t0
    return predict_proba(model, Xte, batch_size=512)[:, 1], fit_s


def errors_by_rhythm(ds, windows, score: np.ndarray) -> dict | None:
    """Error rate per simulated rhythm (synthetic data only): which confounders fool the model."""
    rhythm_of = ds.metadata.get("rhythms")
    if not rhythm_of:
        return None
    rh = np.array([rhythm_of[r] for r in ds.record_ids])[windows.record_index]
    wrong = (score >= 0.5) != windows.y
    return {k: round(float(wrong[rh == k].mean()), 3) for k in np.unique(rh)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", default="synthetic", choices=["synthetic", "real", "auto"])
    ap.add_argument("--root", default=None, help="cache root (default $BIOSIGNAL_DATA or ~/.cache/...)")
    ap.add_argument("--path", default=None, help="a folder holding the Zenodo files: read in place")
    ap.add_argument("--window-s", type=float, default=10.0)
    ap.add_argument("--fs-out", type=float, default=125.0)
    ap.add_argument("--max-windows", type=int, default=2, help="windows per record")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--limit", type=int, default=None, help="use a subset of records")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--channels", default="8,16,32,32", help="feature maps of the 4 conv blocks")
    ap.add_argument("--device", default="cpu", help="torch device for the CNN (cpu, cuda)")
    ap.add_argument("--skip-cnn", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1))

    t0 = time.time()
    ds = load("zenodo_af", args.path, source="auto" if args.path else args.source, root=args.root, limit=args.limit,
              seed=args.seed)
    load_s = time.time() - t0
    # Patient-wise: windows (and records) of one patient never sit on both sides.
    train, _, test = train_val_test_split(ds.labels, ds.subject_ids, test_size=0.3, val_size=0.0, seed=args.seed)
    check_no_leakage(ds.subject_ids, train, test, names=["train", "test"])
    t0 = time.time()
    wtr = make_windows(ds.subset(train), args.window_s, fs_out=args.fs_out, max_windows_per_record=args.max_windows)
    test_ds = ds.subset(test)
    wte = make_windows(test_ds, args.window_s, fs_out=args.fs_out, max_windows_per_record=args.max_windows)
    print(json.dumps({"data": ds.source, "records": len(ds), "subjects": ds.n_subjects, "load_s": round(load_s, 2),
                      "windows_s": round(time.time() - t0, 2), "train_windows": len(wtr), "test_windows": len(wte),
                      "test_af_fraction": round(float(wte.y.mean()), 3), "fs_out": wtr.fs}), flush=True)

    t0 = time.time()
    prior = float(wtr.y.mean())
    report("majority", wte.y, np.full(len(wte), prior), fit_s=round(time.time() - t0, 3))

    t0 = time.time()
    Ftr, Fte = rr_matrix(wtr.X, wtr.fs), rr_matrix(wte.X, wte.fs)
    feat_s = time.time() - t0
    t0 = time.time()
    lr = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                       LogisticRegression(class_weight="balanced", max_iter=1000))
    lr.fit(Ftr, wtr.y)
    p = lr.predict_proba(Fte)[:, 1]
    report("rr_logreg", wte.y, p, features_s=round(feat_s, 2), fit_s=round(time.time() - t0, 3),
           missing_rr=int(np.isnan(Fte[:, 1]).sum()), errors_by_rhythm=errors_by_rhythm(test_ds, wte, p))

    if not args.skip_cnn:
        channels = tuple(int(c) for c in args.channels.split(","))
        p, fit_s = train_cnn(wtr.X, wtr.y, wte.X, args.epochs, args.seed, channels, args.device)
        report("cnn1d_4block", wte.y, p, epochs=args.epochs, channels=list(channels), device=args.device,
               fit_s=round(fit_s, 1), train_windows=len(wtr), errors_by_rhythm=errors_by_rhythm(test_ds, wte, p))


if __name__ == "__main__":
    main()
