"""Scores of the MIT-BIH benchmark: per-class Se/+P/F1 of one run, their mean and spread over seeds, one line each.

Split out of ``mitbih_interpatient.py`` so that the CNN, the feature model and their ensemble are scored by one
piece of code. Fractions 0-1; ``None`` where a value is undefined (e.g. a class absent from a tiny test set).
"""
from __future__ import annotations

import math

import numpy as np

from helpers.evaluate.metrics import multiclass_report

CLASSES = ("N", "S", "V", "F")


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


def _num(v) -> float | None:
    v = float(v)
    return None if math.isnan(v) else round(v, 4)


def fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def report_line(name: str, part: dict, seconds: float | None = None) -> str:
    """One printed line: sizes, training time, accuracy and macro F1, Se and +P of every class (mean +- sd)."""
    pc = part["per_class"]
    took = "" if seconds is None else f", {seconds:.0f} s of training"
    return (f"{name}: {part['n_train']:,} training beats, {part['n_test']:,} test beats{took}; accuracy "
            f"{fmt(part['accuracy'])} +- {fmt(part['accuracy_std'])}, macro F1 {fmt(part['macro_f1'])} "
            f"+- {fmt(part['macro_f1_std'])}; "
            + ", ".join(f"{c} Se {fmt(v['se'])} +- {fmt(v['se_std'])} +P {fmt(v['ppv'])} +- {fmt(v['ppv_std'])}"
                        for c, v in pc.items()))


def gap(a: dict, b: dict) -> str:
    """``a``'s macro F1 minus ``b``'s, signed, or n/a."""
    if a["macro_f1"] is None or b["macro_f1"] is None:
        return "n/a"
    return f"{a['macro_f1'] - b['macro_f1']:+.3f}"
