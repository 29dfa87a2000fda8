"""The PhysioNet/CinC Challenge 2017 task, cross-validated with the course's own ``fit`` and models.

    python benchmarks/cinc2017_challenge.py --path DIR --device cuda                    # 5 folds, SignalTransformer
    python benchmarks/cinc2017_challenge.py --path DIR --device cuda --model cnn1d      # the baseline
    python benchmarks/cinc2017_challenge.py --synthetic 1000 --device cuda              # the course's synthetic set
    python benchmarks/cinc2017_challenge.py --tiny                                      # seconds on a CPU (CI)
    python benchmarks/cinc2017_challenge.py --path DIR --device cuda --step-vs-fit      # fit beside the bare step

Task: 8,528 single-lead ECGs (300 Hz, 9-61 s) labelled normal (N), AF (A), other rhythm (O) or noisy (~); the
challenge score is the mean F1 of N, A and O (``challenge_f1``, 0-1). Pipeline, all library code:
``helpers.data.load("cinc2017", path=DIR)`` reads the records in place; each is band-passed 0.5-40 Hz,
resampled to 100 Hz and z-scored; stratified k-fold over records (fixed seed), a stratified 10% of each training
part held out to choose the epoch (by ``val_challenge_f1``); training on random 30 s crops (``Records``:
length-bucketed batches with padding masks, preloaded on the GPU), class-balanced cross-entropy, bf16 on CUDA;
the test fold scored on whole records with their padding masks.

Output: one JSON line per fold (per-class F1, ``challenge_f1``, accuracy, training seconds, training sequences/s
measured inside ``fit``, and the loader's own sequences/s for comparison), then one summary line
(``"summary": true``) with the mean and standard deviation over folds. ``--out FILE`` appends the lines to FILE too.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import confusion_matrix, f1_score
from sklearn.model_selection import StratifiedKFold, train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing helpers
import helpers.data
from helpers.models import CNN1D
from helpers.models.signal_transformer import SignalTransformer, SignalTransformerConfig
from helpers.signal import bandpass, resample, standardize
from helpers.train import Records, TrainConfig, fit, predict_proba, set_seed

FS_MODEL = 100.0  # Hz: QRS, P and f-waves survive the 40 Hz low-pass; 3x fewer samples than 300 Hz
CLASS_CODES = ("N", "A", "O", "~")
SCORED = (0, 1, 2)  # the challenge scores N, A and O; noisy (~) records count only through their errors


def challenge_f1(y_true: np.ndarray, proba: np.ndarray) -> float:
    """The CinC 2017 score: mean F1 of normal, AF and other rhythm (0-1), from labels (n,) and scores (n, 4)."""
    return float(np.mean(f1_score(y_true, proba.argmax(1), labels=list(SCORED), average=None, zero_division=0)))


# --------------------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------------------
def load_records(args) -> tuple[list[np.ndarray], np.ndarray, str]:
    """Signals at ``FS_MODEL`` Hz, band-passed and z-scored (float32, one array per record), labels, source."""
    if args.tiny:  # a few records in the real on-disk format, written and read back by the real reader
        folder = Path(tempfile.mkdtemp(prefix="cinc2017_tiny_"))
        helpers.data.write_synthetic("cinc2017", folder, size=args.synthetic or 40, seed=args.seed)
        ds = helpers.data.load("cinc2017", path=folder)
    elif args.path is not None:
        ds = helpers.data.load("cinc2017", path=args.path)
    else:
        ds = helpers.data.load("cinc2017", source="synthetic", limit=args.synthetic, seed=args.seed)
    signals = [standardize(resample(bandpass(x, ds.fs, 0.5, 40.0), ds.fs, FS_MODEL)).astype(np.float32)
               for x in ds.signals]
    return signals, np.asarray(ds.labels), ds.source


def folds(labels: np.ndarray, n_folds: int, seed: int):
    """(train, val, test) record indices per fold: stratified k-fold, then a stratified 10% of train for val."""
    for train_val, test in StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(labels, labels):
        counts = np.bincount(labels[train_val])
        n_val = max(round(0.1 * len(train_val)), int((counts > 0).sum()))  # room for every class
        stratify = labels[train_val] if counts[counts > 0].min() >= 2 else None  # tiny sets: a class of one
        train, val = train_test_split(train_val, test_size=n_val, random_state=seed, stratify=stratify)
        yield np.sort(train), np.sort(val), test


# --------------------------------------------------------------------------------------------------------------
# Models and training configuration
# --------------------------------------------------------------------------------------------------------------
def build_model(name: str, tiny: bool) -> torch.nn.Module:
    if name == "signal_transformer":
        cfg = SignalTransformerConfig.small(verbose=False) if tiny else SignalTransformerConfig(verbose=False)
        return SignalTransformer(1, 4, config=cfg)
    if name == "cnn1d":
        return CNN1D(1, 4, channels=(8, 16) if tiny else (16, 32, 32, 64, 64), verbose=False)
    raise SystemExit(f"--model must be signal_transformer or cnn1d, got {name!r}")


def class_weights(y: np.ndarray, n_outputs: int = 4) -> list[float]:
    """Balanced weights n / (K * n_k) over the classes present; 1 for an absent one (the synthetic set has no ~)."""
    counts = np.bincount(y, minlength=n_outputs)
    present = counts > 0
    return [len(y) / (present.sum() * c) if c else 1.0 for c in counts]


def train_config(args, device: torch.device, y_train: np.ndarray) -> TrainConfig:
    return TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, warmup_epochs=args.warmup_epochs,
        class_weights=class_weights(y_train), early_stopping_patience=args.patience, metrics={"challenge_f1": challenge_f1},
        monitor="val_challenge_f1", amp="bf16" if device.type == "cuda" else "off", device=str(device),
        compile=args.compile or False, compile_options=compile_options(args), time_budget_s=args.budget_s,
        seed=args.seed, progress="epoch" if args.verbose else False, eval_batch_size=args.eval_batch_size)


def compile_options(args) -> dict | None:
    """--inductor a=1,b=0 -> {"a": True, "b": False}: the Inductor settings of the throughput benchmark."""
    if not args.inductor:
        return None
    out = {}
    for item in args.inductor.split(","):
        key, _, value = item.partition("=")
        out[key.strip()] = {"1": True, "0": False, "true": True, "false": False}.get(value.strip().lower(), value)
    return out


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def loader_seq_s(records: Records, batch_size: int, device: torch.device, epochs: int = 2) -> float:
    """Training sequences/s that the batch builder alone delivers (crops, bucketing, padding, masks; no model)."""
    batches = records.batches(batch_size, shuffle=True, drop_last=True)
    count, t0 = 0, time.perf_counter()
    for epoch in range(epochs):
        batches.set_epoch(epoch)
        for x, y, mask in batches:
            count += len(y)
    sync(device)
    return count / (time.perf_counter() - t0)


# --------------------------------------------------------------------------------------------------------------
# One fold
# --------------------------------------------------------------------------------------------------------------
def run_fold(args, k: int, signals, labels, split, device: torch.device, source: str) -> dict:
    train, val, test = split
    crop = int(args.crop_s * FS_MODEL)
    pick = lambda idx: [signals[i] for i in idx]
    # under torch.compile every new batch length is a new graph (and CUDA graph): pad every training batch to
    # the crop length, so that one shape (with or without a mask) is compiled once
    pad = args.pad_multiple or (crop if args.compile else 64)
    tr = Records(pick(train), labels[train], crop=crop, device=device, pad_multiple=pad)
    va = Records(pick(val), labels[val], device=device)
    te = Records(pick(test), labels[test], device=device)
    set_seed(args.seed + k)
    model = build_model(args.model, args.tiny)
    sync(device)
    t0 = time.perf_counter()
    history = fit(model, tr, va, train_config(args, device, labels[train]))
    sync(device)
    train_s = time.perf_counter() - t0
    proba = predict_proba(model, te, batch_size=args.eval_batch_size)
    y, pred = labels[test], proba.argmax(1)
    f1 = f1_score(y, pred, labels=[0, 1, 2, 3], average=None, zero_division=np.nan)
    seq_s = history["train_seq_s"]
    steady = seq_s[1:] or seq_s  # epoch 1 includes compilation and cuDNN autotuning
    return {
        "fold": k, "model": args.model, "params": model.num_parameters(), "data": source, "device": device_name(device),
        "n_train": len(train), "n_val": len(val), "n_test": len(test),
        **{f"f1_{c}": None if np.isnan(v) else round(float(v), 4) for c, v in zip(CLASS_CODES, f1)},
        "challenge_f1": round(challenge_f1(y, proba), 4), "accuracy": round(float((pred == y).mean()), 4),
        "confusion": confusion_matrix(y, pred, labels=[0, 1, 2, 3]).tolist(),
        "train_s": round(train_s, 1), "epochs": len(history["epoch"]), "best_epoch": history.best_epoch,
        "out_of_time": history.out_of_time, "stopped_early": history.stopped_early,
        "train_seq_s": round(statistics.median(steady), 1), "train_seq_s_epoch1": round(seq_s[0], 1),
        "loader_seq_s": round(loader_seq_s(tr, args.batch_size, device), 1),
        "batch": args.batch_size, "lr": args.lr, "crop_s": args.crop_s, "fs": FS_MODEL, "amp": "bf16" if device.type == "cuda" else "off",
        "compile": args.compile or False, "inductor": args.inductor or None,
    }


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def summarize(rows: list[dict]) -> dict:
    def stat(key):
        values = [r[key] for r in rows if r[key] is not None]
        if not values:
            return None, None
        return round(statistics.mean(values), 4), round(statistics.stdev(values), 4) if len(values) > 1 else 0.0
    out = {"summary": True, "model": rows[0]["model"], "params": rows[0]["params"], "data": rows[0]["data"],
           "device": rows[0]["device"], "folds": len(rows)}
    for key in ("challenge_f1", "accuracy", "f1_N", "f1_A", "f1_O", "f1_~", "train_s", "train_seq_s"):
        out[key], out[f"{key}_std"] = stat(key)
    out["challenge_f1_per_fold"] = [r["challenge_f1"] for r in rows]
    out.update({k: rows[0].get(k) for k in ("compile", "amp", "batch", "lr", "crop_s")})
    out.update(torch=torch.__version__, date=datetime.now(UTC).strftime("%Y-%m-%d"))
    return out


# --------------------------------------------------------------------------------------------------------------
# fit beside the bare training step (--step-vs-fit)
# --------------------------------------------------------------------------------------------------------------
def step_vs_fit(args, device: torch.device) -> list[dict]:
    """Training sequences/s of the bare step and of ``fit``, same model, data, batch, precision and compile.

    Fixed-length random sequences preloaded on the device, as in ``transformer_throughput.py``: what is left
    between the two is what ``fit`` adds per step (gradient clipping, the schedule, metrics bookkeeping, batching).
    """
    T, B, n = args.step_len, args.batch_size, args.batch_size * args.step_batches
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(n, 1, T, generator=gen).to(device)
    y = torch.randint(0, 4, (n,), generator=gen).to(device)
    opts = compile_options(args)
    rows = []
    # the bare step: compiled loss function, fused AdamW, no clipping, no schedule
    torch._dynamo.reset()
    set_seed(0)
    model = build_model(args.model, args.tiny).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda")

    def loss_fn(x, t):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            return F.cross_entropy(model(x).float(), t)

    if args.compile:
        from torch._inductor import list_mode_options
        loss_fn = torch.compile(loss_fn, options={**list_mode_options(args.compile), **(opts or {})})

    def step(i):
        if args.compile:
            torch.compiler.cudagraph_mark_step_begin()
        j = (i * B) % (n - B + 1)
        loss_fn(X[j:j + B], y[j:j + B]).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for i in range(3):
        step(i)
    sync(device)
    t0 = time.perf_counter()
    for i in range(args.step_batches):
        step(i)
    sync(device)
    bare = B * args.step_batches / (time.perf_counter() - t0)
    rows.append({"what": "bare step", "seq_s": round(bare, 1)})
    # fit on the same data: two epochs, the second one timed (history's train_seq_s)
    for variant, clip in (("fit", 1.0), ("fit, no gradient clipping", None)):
        torch._dynamo.reset()
        set_seed(0)
        model = build_model(args.model, args.tiny)
        cfg = TrainConfig(epochs=3, batch_size=B, lr=1e-4, amp="bf16" if device.type == "cuda" else "off",
                          device=str(device), compile=args.compile or False, compile_options=opts, progress=False,
                          grad_clip=clip)
        h = fit(model, (X, y), None, cfg)
        rows.append({"what": variant, "seq_s": round(statistics.median(h["train_seq_s"][1:]), 1)})
    for r in rows:
        r.update(model=args.model, device=device_name(device), batch=B, seq_len=T, compile=args.compile or False,
                 inductor=args.inductor or None, bare_over_this=round(bare / r["seq_s"], 3))
    if args.profile:
        rows.append(profile_fit(args, device, X, y))
    return rows


def profile_fit(args, device: torch.device, X: torch.Tensor, y: torch.Tensor) -> dict:
    """torch.profiler over ``fit``'s second epoch, started and stopped by a callback; table written to a file."""
    from torch.profiler import ProfilerActivity, profile

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    prof = profile(activities=acts)

    class Window:  # the second epoch only: the first holds compilation
        def on_epoch_end(self, epoch, metrics):
            if epoch == 1:
                prof.start()
            elif epoch == 2:
                sync(device)
                prof.stop()

    torch._dynamo.reset()
    set_seed(0)
    model = build_model(args.model, args.tiny)
    cfg = TrainConfig(epochs=2, batch_size=args.batch_size, lr=1e-4, amp="bf16" if device.type == "cuda" else "off",
                      device=str(device), compile=args.compile or False, compile_options=compile_options(args),
                      progress=False, callbacks=[Window()])
    t0 = time.perf_counter()
    h = fit(model, (X, y), None, cfg)
    key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    averages = prof.key_averages()
    table = averages.table(sort_by=key, row_limit=30, max_name_column_width=80)
    # the host's side too: a step whose GPU kernels take less time than its wall clock waits on the host
    table += "\n\nSorted by the host's time:\n" + averages.table(sort_by="cpu_time_total", row_limit=40,
                                                                 max_name_column_width=80)
    steps = len(X) // args.batch_size
    kernels = [e for e in prof.events()
               if e.device_type == torch.autograd.DeviceType.CUDA and not getattr(e, "is_user_annotation", False)]
    busy_ms = sum(e.device_time for e in kernels) / steps / 1e3 if kernels else None
    wall_ms = h["time_s"][1] / steps * 1e3
    if args.profile_out:
        Path(args.profile_out).write_text(f"fit epoch 2, {steps} steps of batch {args.batch_size}, length "
                                          f"{X.shape[-1]}: wall {wall_ms:.2f} ms/step, GPU kernels "
                                          f"{busy_ms} ms/step\n{table}")
    return {"what": "profile of fit", "wall_ms_per_step": round(wall_ms, 3),
            "gpu_kernel_ms_per_step": None if busy_ms is None else round(busy_ms, 3),
            "kernels_per_step": len(kernels) // steps, "file": args.profile_out, "total_s": round(time.perf_counter() - t0, 1)}


# --------------------------------------------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--path", help="folder with the CinC 2017 training set (training2017/ as published)")
    p.add_argument("--synthetic", type=int, help="without --path: the course's synthetic set of this many records")
    p.add_argument("--tiny", action="store_true", help="seconds-long CPU smoke run on a few synthetic records")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--model", default="signal_transformer", choices=("signal_transformer", "cnn1d"))
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--only-folds", help="comma-separated fold numbers to run (default: all)")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--eval-batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (default 3e-4 Transformer, 1e-3 CNN)")
    p.add_argument("--warmup-epochs", type=float, default=None, help="default 5 Transformer, 2 CNN")
    p.add_argument("--patience", type=int, default=15)
    p.add_argument("--crop-s", type=float, default=30.0, help="training crop, seconds")
    p.add_argument("--budget-s", type=float, default=280.0, help="wall-clock limit of one fold's fit, seconds")
    p.add_argument("--compile", default="auto",
                   help="torch.compile mode for fit: auto (reduce-overhead on CUDA, none on CPU), none, default, "
                        "reduce-overhead, max-autotune")
    p.add_argument("--inductor", default="auto", help="Inductor options, e.g. fallback_random=1 (auto: that "
                                                      "when compiling, as in transformer_throughput.py)")
    p.add_argument("--pad-multiple", type=int, default=None,
                   help="training batches are padded to a multiple of this many samples (default 64; the crop compiled)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--step-vs-fit", action="store_true", help="time the bare step and fit on random data instead")
    p.add_argument("--step-len", type=int, default=3000, help="--step-vs-fit: samples per sequence")
    p.add_argument("--step-batches", type=int, default=50, help="--step-vs-fit: batches per epoch")
    p.add_argument("--profile", action="store_true", help="--step-vs-fit: also profile fit's second epoch")
    p.add_argument("--profile-out", default=None, help="file for the profile table")
    p.add_argument("--out", help="also append the JSON lines to this file")
    p.add_argument("--verbose", action="store_true", help="fit prints one line per epoch")
    args = p.parse_args(argv)
    cuda = args.device.startswith("cuda")
    if args.compile == "auto":  # compiled with CUDA graphs: 4.3x eager fit on the synthetic folds (README)
        args.compile = "reduce-overhead" if cuda and not args.tiny else None
    args.compile = None if args.compile == "none" else args.compile
    if args.inductor == "auto":
        args.inductor = "fallback_random=1" if args.compile else ""
    transformer = args.model == "signal_transformer"
    # attention trained from scratch wants a gentler start than a CNN (at 1e-3 after a 2-epoch warm-up, 3 of 5
    # synthetic folds sat at chance until early stopping; benchmarks/README.md)
    args.lr = args.lr or (3e-4 if transformer else 1e-3)
    args.warmup_epochs = args.warmup_epochs if args.warmup_epochs is not None else (5.0 if transformer else 2.0)
    if args.tiny:  # a CI-sized run: a few records, 2 folds, 2 epochs, short crops, the small models, CPU
        args.folds, args.epochs, args.crop_s, args.batch_size, args.patience = 2, 2, 5.0, 8, None
        args.device, args.budget_s, args.compile = "cpu", None, None
        args.step_len, args.step_batches = 256, 4
    if args.path is not None and (args.tiny or args.synthetic):
        p.error("--path reads your copy of the data; leave out --tiny and --synthetic with it")
    return args


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    device = torch.device(args.device)

    def emit(row: dict) -> None:
        print(json.dumps(row), flush=True)
        if args.out:
            with Path(args.out).open("a") as f:
                f.write(json.dumps(row) + "\n")

    if args.step_vs_fit:
        rows = step_vs_fit(args, device)
        for r in rows:
            emit(r)
        return rows
    signals, labels, source = load_records(args)
    only = None if not args.only_folds else {int(k) for k in args.only_folds.split(",")}
    rows = []
    for k, split in enumerate(folds(labels, args.folds, args.seed)):
        if only is None or k in only:
            rows.append(run_fold(args, k, signals, labels, split, device, source))
            emit(rows[-1])
    summary = summarize(rows)
    emit(summary)
    return rows + [summary]


if __name__ == "__main__":
    main()
