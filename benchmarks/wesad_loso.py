"""WESAD stress vs non-stress from the wrist, leave-one-subject-out, with Unit 4's tiny PPG Transformer.

Each subject in turn is the test subject; a :class:`~helpers.models.tiny_transformer.TinyPPGTransformer` is trained
from scratch on the other subjects' 60 s windows and scored on the held-out subject's windows (accuracy and macro
F1 of stress vs baseline/amusement/meditation, WESAD's binary task). Two sensor sets, one JSON line each::

    {"study": "loso", "sensors": "bvp" | "bvp+acc+eda", "data": "synthetic" | "real", "evaluation": "loso",
     "subjects": [...], "mean_accuracy", "mean_macro_f1", "per_subject": {"S2": {"accuracy", "macro_f1",
     "n_windows", "n_stress"}, ...}, "parameters", "seconds", ...}

(fractions 0-1). Runs::

    python benchmarks/wesad_loso.py                           # the embedded synthetic WESAD set (6 subjects)
    python benchmarks/wesad_loso.py --path DIR                # your unpacked WESAD/ folder, read in place
    python benchmarks/wesad_loso.py --path DIR --e4-offset S2=1416   # E4 CSVs without SX_respiban.txt
    python benchmarks/wesad_loso.py --tiny                    # smoke test: 3 small synthetic subjects, seconds
    python benchmarks/wesad_loso.py --study label-efficiency  # SSL pre-training + 10% labels vs scratch (BVP)
    python benchmarks/wesad_loso.py --study distillation      # teacher, student from scratch, distilled student

Anchor (not verifiable here): Schmidt et al. (ICMI 2018) report ~88% LOSO accuracy (F1 ~0.86) for binary stress
from all wrist sensors with hand-made features and AdaBoost; from wrist BVP alone they are lower (~80-85%).

With one subject (e.g. the single-subject sample), LOSO is impossible: the script says so and scores a
within-subject chronological split instead (the first 70% of every condition block trains, the last 30% tests,
``"evaluation": "within-subject"``). That shows the pipeline runs on real files and whether the windows of one
person separate at all; it says nothing about a new wearer.

Choices: windows of 60 s every 30 s (15 s on the synthetic set, which is shorter), z-scored per subject and channel
(:mod:`helpers.ppg`; no labels, but the test subject's own statistics); balanced class weights (stress is about a
fifth of the windows); a fixed number of epochs and the last epoch kept (choosing an epoch on the test subject
would tune on it). One CPU thread by default.

Studies (BVP only, LOSO, printed as one JSON line per arm):

* ``label-efficiency``: for each fold, masked-segment pre-training (:mod:`helpers.train.ssl`) on all training-subject
  windows without labels, then fine-tuning on a stratified 10% (``--label-fraction``) of their labelled windows,
  against the same model trained from scratch on the same 10%.
* ``distillation``: a teacher (the CNN+Transformer ``signal_transformer``, small config, fed 16 Hz: a 4x average
  pool in front, since at 64 Hz it takes seconds per batch on a CPU), the student trained from scratch, and the
  student distilled from the teacher (:class:`helpers.train.distill.DistillationLoss`, T=4, alpha=0.5).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score
from torch import nn

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from helpers.train import augment as aug
from helpers.data import wesad
from helpers.train.distill import DistillationLoss
from helpers.models import create_model
from helpers.models.signal_transformer import SignalTransformerConfig
from helpers.ppg import label_subset, stress_windows
from helpers.evaluate.splits import LeaveOneSubjectOut
from helpers.train.ssl import PretrainConfig, pretrain
from helpers.train import TrainConfig, fit, predict_proba, set_seed

SENSOR_SETS = {"bvp": ("BVP",), "bvp+acc+eda": ("BVP", "ACC_X", "ACC_Y", "ACC_Z", "EDA")}
STUDIES = ("loso", "label-efficiency", "distillation")
ANCHOR = {"paper": "Schmidt et al. 2018 (ICMI), binary stress, LOSO, all wrist sensors", "accuracy": 0.88}


# ---------------------------------------------------------------------------------------------------- data
def load_windows(args) -> tuple[object, str, dict]:
    """All wrist channels windowed once (sensor sets are slices of it): (Windows, data, details)."""
    if args.tiny:
        # 3 subjects at 15% of the protocol's durations: blocks of 1-3 min, so shorter trims and windows
        with tempfile.TemporaryDirectory(prefix="wesad_tiny_") as folder:  # read into memory, then removed
            wesad.write_synthetic(folder, seed=args.seed, size=3, time_scale=0.15)
            ds = wesad.read(folder, trim_s=5.0)
        data, details = "synthetic", {"synthetic": "3 subjects, time_scale 0.15 (--tiny)"}
    elif args.path is None:
        from helpers.data import load

        ds = load("wesad", source="synthetic", seed=args.seed)
        data, details = "synthetic", {"synthetic": f"embedded default, {len(set(ds.subject_ids))} subjects"}
    else:
        offsets = dict(_parse_offset(s) for s in args.e4_offset)
        ds = wesad.read(args.path, e4_offsets=offsets or None)
        data, details = "real", {"path": str(args.path), "forms": ds.metadata["forms"],
                                 "e4_offset_s": ds.metadata["e4_offset_s"]}
    step = args.step_s if args.step_s is not None else (15.0 if data == "synthetic" else 30.0)
    w = stress_windows(ds, args.window_s, step)
    details.update(window_s=args.window_s, step_s=step, n_windows=len(w), n_stress=int(w.y.sum()))
    if args.tiny or args.path is None:
        print(f"data: SYNTHETIC WESAD-like set ({details['synthetic']}), not recordings of people", flush=True)
    else:
        print(f"data: real WESAD files from {args.path}", flush=True)
    return w, data, details


def _parse_offset(text: str) -> tuple[str, float]:
    subject, sep, seconds = text.partition("=")
    try:
        return subject, float(seconds) if sep else float("nan")
    except ValueError:
        raise SystemExit(f"--e4-offset takes SUBJECT=SECONDS (e.g. S2=1416), got {text!r}") from None


def folds(w) -> tuple[str, list[tuple[str, np.ndarray, np.ndarray]]]:
    """LOSO folds (subject, train, test); with one subject, one within-subject chronological split."""
    subjects = np.unique(w.groups)
    if len(subjects) >= 2:
        return "loso", [(str(w.groups[te[0]]), tr, te) for tr, te in LeaveOneSubjectOut().split(groups=w.groups)]
    train, test = [], []
    for r in np.unique(w.record_index):  # per condition block: its first 70% trains, its last 30% tests
        pos = np.flatnonzero(w.record_index == r)
        pos = pos[np.argsort(w.start_s[pos])]
        cut = round(0.7 * len(pos))
        # drop the windows that overlap the cut, so that no test sample was also a training sample
        overlap = int(np.ceil(w.X.shape[-1] / w.fs / max(np.diff(w.start_s[pos]).min(initial=1e9), 1e-9))) - 1
        train.append(pos[:max(cut - overlap, 0)])
        test.append(pos[cut:])
    print(f"only one subject ({subjects[0]}): leave-one-subject-out is impossible; scoring a within-subject "
          "chronological split (first 70% of each condition block trains, last 30% tests)", flush=True)
    return "within-subject", [(str(subjects[0]), np.concatenate(train), np.concatenate(test))]


# --------------------------------------------------------------------------------------------------- models
def student(in_channels: int, T: int, seed: int) -> nn.Module:
    set_seed(seed)
    return create_model("tiny_transformer", in_channels=in_channels, n_outputs=2, input_length=T, verbose=False)


class Downsampled(nn.Module):
    """A model fed the signal average-pooled by ``factor`` (64 -> 16 Hz): the teacher, affordable on a CPU."""

    def __init__(self, model: nn.Module, factor: int):
        super().__init__()
        self.pool, self.model = nn.AvgPool1d(factor), model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(self.pool(x))


def teacher(in_channels: int, seed: int) -> nn.Module:
    set_seed(seed)
    cfg = SignalTransformerConfig.small(channels_last=False, verbose=False)
    return Downsampled(create_model("signal_transformer", in_channels=in_channels, n_outputs=2, config=cfg), 4)


def train_config(args, **overrides) -> TrainConfig:
    base = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "class_weights": "balanced",
                "progress": "epoch" if args.verbose else False, "num_threads": args.threads, "seed": args.seed}
    return TrainConfig(**{**base, **overrides})


def score(model: nn.Module, X: np.ndarray, y: np.ndarray) -> dict:
    pred = predict_proba(model, X).argmax(axis=1)
    return {"accuracy": float(accuracy_score(y, pred)),
            "macro_f1": float(f1_score(y, pred, average="macro", labels=[0, 1], zero_division=0)),
            "n_windows": len(y), "n_stress": int(y.sum())}


def progress(args, what: str, scores: dict) -> None:
    """One plain line per finished fold (not JSON), so that a long run shows where it is."""
    if not args.tiny:
        print(f"fold {what}: {json.dumps(scores)}", flush=True)


def summary(per_subject: dict) -> dict:
    return {"subjects": sorted(per_subject, key=lambda s: (len(s), s)),
            "mean_accuracy": float(np.mean([v["accuracy"] for v in per_subject.values()])),
            "mean_macro_f1": float(np.mean([v["macro_f1"] for v in per_subject.values()])),
            "per_subject": per_subject}


# -------------------------------------------------------------------------------------------------- studies
def run_loso(w, args, common: dict) -> list[dict]:
    evaluation, splits = folds(w)
    results = []
    for sensors in args.sensors:
        rows = [wesad.CHANNELS.index(c) for c in SENSOR_SETS[sensors]]
        X = w.X[:, rows]
        t0, per_subject = time.perf_counter(), {}
        for subject, tr, te in splits:
            model = student(len(rows), X.shape[-1], args.seed)
            fit(model, (X[tr], w.y[tr]), config=train_config(args))
            per_subject[subject] = score(model, X[te], w.y[te])
            progress(args, f"{sensors} {subject}", per_subject[subject])
        results.append({"study": "loso", "sensors": sensors, "channels": list(SENSOR_SETS[sensors]),
                        "evaluation": evaluation, **summary(per_subject), "model": "tiny_transformer",
                        "parameters": model.num_parameters(), "epochs": args.epochs,
                        "seconds": round(time.perf_counter() - t0, 1), **common})
    return results


def run_label_efficiency(w, args, common: dict) -> list[dict]:
    """Per fold: SSL on all training windows (no labels) + fine-tune on a fraction, vs scratch on that fraction."""
    evaluation, splits = folds(w)
    X = w.X[:, [wesad.CHANNELS.index("BVP")]]
    arms = {"scratch": {}, "pretrained": {}}
    seconds = {"scratch": 0.0, "pretrained": 0.0}
    ssl_curves = {}
    # the course's augmentations, so that pre-training cannot just memorise each window's exact samples
    augment = aug.Compose([aug.amplitude_scale, partial(aug.add_noise, snr_db=(15.0, 30.0))], p=0.5,
                          seed=args.seed)
    extra = np.zeros((0, *X.shape[1:]), X.dtype)
    if args.pretrain_extra == "heartpy":
        from helpers.data.heartpy_ppg import unlabelled_windows

        extra, _ = unlabelled_windows(fs=w.fs, window_s=args.window_s, step_s=15.0)
        print(f"pre-training adds {len(extra)} unlabelled windows of HeartPy's real PPG recordings", flush=True)
    for subject, tr, te in splits:
        labelled = tr[label_subset(w.y[tr], args.label_fraction, seed=args.seed)]
        # fewer labelled windows, so more epochs for the same number of optimizer steps (at least 4 per epoch)
        cfg = train_config(args, epochs=args.finetune_epochs, batch_size=min(args.batch_size,
                                                                              max(8, len(labelled) // 4)))
        t0 = time.perf_counter()
        model = student(1, X.shape[-1], args.seed)
        fit(model, (X[labelled], w.y[labelled]), config=cfg)
        arms["scratch"][subject] = score(model, X[te], w.y[te])
        t1 = time.perf_counter()
        model = student(1, X.shape[-1], args.seed)
        ssl_curves[subject] = pretrain(model, np.concatenate([X[tr], extra]), PretrainConfig(
            epochs=args.pretrain_epochs, batch_size=args.batch_size, augment=augment, seed=args.seed,
            num_threads=args.threads, verbose=args.verbose))
        fit(model, (X[labelled], w.y[labelled]), config=cfg)
        arms["pretrained"][subject] = score(model, X[te], w.y[te])
        progress(args, f"label-efficiency {subject}", {a: arms[a][subject] for a in arms})
        seconds["scratch"] += t1 - t0
        seconds["pretrained"] += time.perf_counter() - t1
    out = []
    for arm, per_subject in arms.items():
        row = {"study": "label-efficiency", "arm": arm, "sensors": "bvp", "evaluation": evaluation,
               "label_fraction": args.label_fraction, **summary(per_subject), "finetune_epochs": args.finetune_epochs,
               "seconds": round(seconds[arm], 1), **common}
        if arm == "pretrained":
            row.update(pretrain_epochs=args.pretrain_epochs, pretrain="masked-segment reconstruction (helpers.train.ssl)",
                       pretrain_extra=args.pretrain_extra, pretrain_extra_windows=len(extra),
                       ssl_loss_first_last={s: [round(c[0], 4), round(c[-1], 4)] for s, c in ssl_curves.items()})
        out.append(row)
    return out


def run_distillation(w, args, common: dict) -> list[dict]:
    """Per fold: teacher (full labels), student from scratch, student distilled from the teacher."""
    evaluation, splits = folds(w)
    X = w.X[:, [wesad.CHANNELS.index("BVP")]]
    arms = {"teacher": {}, "student_scratch": {}, "student_distilled": {}}
    seconds = dict.fromkeys(arms, 0.0)
    sizes = {}
    for subject, tr, te in splits:
        t0 = time.perf_counter()
        big = teacher(1, args.seed)
        fit(big, (X[tr], w.y[tr]), config=train_config(args, epochs=args.teacher_epochs))
        arms["teacher"][subject] = score(big, X[te], w.y[te])
        t1 = time.perf_counter()
        small = student(1, X.shape[-1], args.seed)
        fit(small, (X[tr], w.y[tr]), config=train_config(args))
        arms["student_scratch"][subject] = score(small, X[te], w.y[te])
        t2 = time.perf_counter()
        small = student(1, X.shape[-1], args.seed)
        kd = DistillationLoss(big, T=args.temperature, alpha=args.alpha)
        # class weights do not apply to a loss hook: the teacher's soft targets already carry its balance
        fit(small, (X[tr], w.y[tr]), config=train_config(args, loss_fn=kd, class_weights=None))
        arms["student_distilled"][subject] = score(small, X[te], w.y[te])
        progress(args, f"distillation {subject}", {a: arms[a][subject] for a in arms})
        for arm, dt in zip(arms, (t1 - t0, t2 - t1, time.perf_counter() - t2)):
            seconds[arm] += dt
        sizes = {"teacher": sum(p.numel() for p in big.parameters()), "student_scratch": small.num_parameters(),
                 "student_distilled": small.num_parameters()}
    return [{"study": "distillation", "arm": arm, "sensors": "bvp", "evaluation": evaluation, **summary(per_subject),
             "parameters": sizes[arm], "seconds": round(seconds[arm], 1),
             **({"temperature": args.temperature, "alpha": args.alpha} if arm == "student_distilled" else {}),
             **common} for arm, per_subject in arms.items()]


# ----------------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--path", default=None, help="unpacked WESAD/ folder (read in place); default: synthetic set")
    ap.add_argument("--e4-offset", action="append", default=[], metavar="SUBJECT=SECONDS",
                    help="E4 seconds at the chest device's start, for subjects without SX_respiban.txt")
    ap.add_argument("--study", default="loso", choices=STUDIES)
    ap.add_argument("--sensors", default="bvp,bvp+acc+eda", help=f"comma-separated, from {sorted(SENSOR_SETS)}")
    ap.add_argument("--window-s", type=float, default=60.0)
    ap.add_argument("--step-s", type=float, default=None, help="hop between windows (default 30 s; 15 synthetic)")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--label-fraction", type=float, default=0.1)
    ap.add_argument("--pretrain-epochs", type=int, default=15)
    ap.add_argument("--pretrain-extra", choices=("none", "heartpy"), default="none",
                    help="label-efficiency: add HeartPy's real PPG recordings to the unlabelled pre-training set")
    ap.add_argument("--finetune-epochs", type=int, default=30)
    ap.add_argument("--teacher-epochs", type=int, default=10)
    ap.add_argument("--temperature", type=float, default=4.0)
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--verbose", action="store_true", help="one line per epoch")
    ap.add_argument("--tiny", action="store_true", help="smoke test: 3 small synthetic subjects, 1 epoch, seconds")
    args = ap.parse_args(argv)
    args.sensors = [s.strip() for s in args.sensors.split(",") if s.strip()]
    unknown = [s for s in args.sensors if s not in SENSOR_SETS]
    if unknown or not args.sensors:
        ap.error(f"--sensors must name sets from {sorted(SENSOR_SETS)}, got {unknown or args.sensors}")
    if args.tiny:
        if args.path is not None:
            ap.error("--tiny uses its own small synthetic set; drop --path")
        args.window_s = 20.0 if args.window_s == 60.0 else args.window_s
        args.epochs = args.pretrain_epochs = args.finetune_epochs = args.teacher_epochs = 1
        args.label_fraction = max(args.label_fraction, 0.3)
    if round(args.window_s * wesad.FS) % 64:
        ap.error(f"--window-s {args.window_s:g} s is {args.window_s * wesad.FS:g} samples; the model's tokens "
                 "are 64 samples (1 s): use a whole number of seconds")
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    w, data, details = load_windows(args)
    common = {"data": data, **details, "anchor": ANCHOR}
    study = {"loso": run_loso, "label-efficiency": run_label_efficiency, "distillation": run_distillation}
    results = study[args.study](w, args, common)
    for r in results:
        r["total_seconds"] = round(time.perf_counter() - t0, 1)
        print(json.dumps(r), flush=True)
    return results


if __name__ == "__main__":
    main()
