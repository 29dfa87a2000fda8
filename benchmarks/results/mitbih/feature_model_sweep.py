"""Feature-model variants on real DS1, leave-patients-out (the benchmark's 5 grouped folds); OOF probs saved.

The script behind ``nvidia-h100-x1_2026-12-06_feature_model_sweep.{log,jsonl}`` (issue 22), kept as it ran: from the
repository root on the device, ``python3 .device_data/sweep22.py 7`` with the DS1 beats cached by
``mitbih_interpatient.py --beats-cache .device_data/ds1_beats.npz``. At that time the trees' default was 200.
"""
import json, os, sys, time
import numpy as np
sys.path.insert(0, "benchmarks"); sys.path.insert(0, ".")
from concurrent.futures import ProcessPoolExecutor
from mitbih_interpatient import load_beats
from mitbih_folds import grouped_folds
from mitbih_scores import score
from mitbih_features import feature_table, fit_predict_features
from helpers.signal.patient_features import normalised_rr_features, robust_per_record
from helpers.signal.beat_morphology import beat_shape_features

d = load_beats(None, None, 2, ".device_data/ds1_beats.npz")
y = d["y"]; folds = grouped_folds(y, d["subject"], 5)
TABLES = {}
def table(name):
    if name not in TABLES:
        if name == "base":
            TABLES[name] = feature_table(d["X"], d["rr"], d["record"], 180.0, "running")
        elif name == "record_rr":
            TABLES[name] = feature_table(d["X"], d["rr"], d["record"], 180.0, "record")
        elif name == "both_rr":
            a = feature_table(d["X"], d["rr"], d["record"], 180.0, "running")
            r = np.log(normalised_rr_features(d["rr"], d["record"], mode="record"))
            TABLES[name] = np.hstack([a, r, robust_per_record(r, d["record"])])
        elif name == "robust_only":
            a = TABLES.get("base", feature_table(d["X"], d["rr"], d["record"], 180.0, "running"))
            TABLES[name] = a[:, a.shape[1] // 2:]
        elif name == "no_robust":
            a = feature_table(d["X"], d["rr"], d["record"], 180.0, "running")
            TABLES[name] = a[:, : a.shape[1] // 2]
    return TABLES[name]

def job(cfg):
    name, tab, seed, kw = cfg
    F = table(tab); t = time.time()
    P = np.zeros((len(y), 4))
    for tr, te in folds:
        P[te], _ = fit_predict_features(F, y, tr, te, seed, n_outputs=4, threads=1, **kw)
    s = score(y, P.argmax(1))
    return name, seed, s, P.astype(np.float32), time.time() - t

CFGS = []
for seed in (0, 1, 2):
    CFGS.append(("base", "base", seed, {}))
for seed in (0,):
    CFGS += [("mf1", "base", seed, {"max_features": 1.0}),
             ("pow0.5", "base", seed, {"weight_power": 0.5}),
             ("pow0.75", "base", seed, {"weight_power": 0.75}),
             ("it400", "base", seed, {"max_iter": 400}),
             ("leaf31", "base", seed, {"max_leaf_nodes": 31}),
             ("leaf7", "base", seed, {"max_leaf_nodes": 7}),
             ("lr0.1", "base", seed, {"learning_rate": 0.1}),
             ("minleaf200", "base", seed, {"min_samples_leaf": 200}),
             ("it100", "base", seed, {"max_iter": 100}),
             ("record_rr", "record_rr", seed, {}),
             ("both_rr", "both_rr", seed, {}),
             ("robust_only", "robust_only", seed, {}),
             ("no_robust", "no_robust", seed, {})]
if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    out = os.environ.get("OUT", "/tmp")
    arrays = {}
    with ProcessPoolExecutor(n) as ex, open(f"{out}/sweep.jsonl", "w") as fh:
        for name, seed, s, P, sec in ex.map(job, CFGS):
            pc = s["per_class"]
            print(f"{name:12s} seed {seed} mF1 {s['macro_f1']:.3f} S {pc['S']['se']:.3f}/{pc['S']['ppv']:.3f} "
                  f"V {pc['V']['se']:.3f}/{pc['V']['ppv']:.3f} F {pc['F']['se']}/{pc['F']['ppv']} {sec:.0f}s", flush=True)
            fh.write(json.dumps({"name": name, "seed": seed, **s}) + "\n")
            arrays[f"{name}_seed{seed}"] = P
    np.savez_compressed(f"{out}/sweep_proba.npz", y=y, **arrays)
