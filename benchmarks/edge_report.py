"""Unit 4's deployment in numbers: a PPG stress monitor exported to int8 and run as a microcontroller would run it.

Trains :class:`~helpers.models.tiny_transformer.TinyPPGTransformer` on 60 s BVP windows (64 Hz) of the embedded
synthetic WESAD set (stress vs. the other conditions; subjects split, never windows), then:

1. exports it to a float .tflite (``litert_torch``) and a full-int8 one (ai-edge-quantizer, min/max calibration
   over 128 training windows);
2. runs both in ai-edge-litert and in the TensorFlow Lite Micro interpreter on the held-out subjects' windows and
   compares them with PyTorch (max abs logit error, argmax agreement, accuracy);
3. measures the .tflite size, the smallest tensor arena TFLM accepts and the MACs per inference;
4. writes the deployment bundle (C array, TFLM ``main``, CMake) under ``build/edge/bundle``;
5. when ``arm-none-eabi-gcc`` and ``qemu-system-arm`` are present, turns the int8 model into plain C, runs it on an
   emulated Cortex-M4 (``mps2-an386``) over the test windows and checks its int8 outputs against TFLM's byte for
   byte; the ELF's code and data sizes come from ``arm-none-eabi-size``;
6. exports ONNX and times onnxruntime on the desktop CPU.

Prints one JSON object last. ``--tiny``: fewer windows and one epoch (a smoke test, not the figures).

    python benchmarks/edge_report.py            # ~3 min on 2 CPU cores
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers import data, edge
from helpers.models.tiny_transformer import TinyPPGTransformer
from helpers.signal import make_windows
from helpers.train import TrainConfig, fit, set_seed

WINDOW_S, FS = 60.0, 64.0
TEST_SUBJECTS = ("S6", "S7")
CLOCK_HZ = 64e6  # the stated Cortex-M4 clock for the latency estimate (QEMU proves correctness, not timing)
CYCLES_PER_MAC = 2.0  # plain C int8 MAC on an M4 without SIMD: load, load, multiply-accumulate, ~2 cycles amortised


def stress_windows(tiny: bool):
    """60 s BVP windows, label 1 = stress, 0 = baseline/amusement/meditation; (train, test) by subject."""
    ds = data.load("wesad", source="synthetic", channels=("BVP",))
    w = make_windows(ds, WINDOW_S, step_s=20.0 if not tiny else 60.0, low_hz=0.5, high_hz=8.0)
    y = (np.asarray(ds.class_names)[w.y] == "stress").astype(np.int64)
    test = np.isin(w.groups, TEST_SUBJECTS)
    return (w.X[~test], y[~test]), (w.X[test], y[test]), ds.source


def torch_logits(model, X: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model.eval()(torch.from_numpy(X)).numpy()


def _edge_extra_missing() -> list[str]:
    import importlib.util

    return [m for m in ("litert_torch", "ai_edge_quantizer", "ai_edge_litert", "tflite_micro")
            if importlib.util.find_spec(m) is None]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiny", action="store_true", help="smoke test: fewer windows, one epoch")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "edge")
    args = ap.parse_args(argv)
    t_start = time.time()
    set_seed(0)
    (Xtr, ytr), (Xte, yte), source = stress_windows(args.tiny)
    if args.tiny:
        Xte, yte = Xte[:32], yte[:32]
    T = Xtr.shape[-1]
    model = TinyPPGTransformer(1, 2, T, verbose=False)
    fit(model, (Xtr, ytr), (Xte, yte), TrainConfig(epochs=1 if args.tiny else args.epochs, batch_size=32, lr=2e-3,
                                                   class_weights="balanced", progress=False, num_threads=2))
    ref = torch_logits(model, Xte)

    rng = np.random.default_rng(0)
    calib = Xtr[rng.choice(len(Xtr), size=min(128, len(Xtr)), replace=False)]
    float_tfl = edge.export_float_tflite(model, (1, 1, T))
    int8_tfl = edge.quantize_int8(float_tfl, calib)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "model_float.tflite").write_bytes(float_tfl)
    (args.out / "model_int8.tflite").write_bytes(int8_tfl)

    runs = {}
    for name, tfl in (("float", float_tfl), ("int8", int8_tfl)):
        runs[f"{name}_litert"] = edge.run_litert(tfl, Xte)
        runs[f"{name}_tflm"] = edge.run_tflm(tfl, Xte)
    cmp = {k: edge.compare_logits(ref, logits, yte) for k, (logits, _) in runs.items()}
    arena = edge.smallest_arena(int8_tfl)  # bisection on real TFLM runs
    macs = edge.count_macs(int8_tfl)
    edge.write_bundle(int8_tfl, args.out / "bundle", arena_bytes=arena)
    report = {
        "data": f"wesad {source}, BVP 60 s windows at 64 Hz, stress vs rest, test subjects {list(TEST_SUBJECTS)}",
        "n_train": len(ytr), "n_test": len(yte), "parameters": model.num_parameters(),
        "tflite_bytes": len(int8_tfl), "tflite_float_bytes": len(float_tfl), "arena_bytes": arena,
        "arena_reported_bytes": edge.arena_used(int8_tfl), "macs": macs,
        "ops": edge.op_names(int8_tfl), "io": edge.io_details(int8_tfl),
        "torch_accuracy": float((ref.argmax(1) == yte).mean()),
        "float_accuracy": cmp["float_tflm"]["accuracy"], "int8_accuracy": cmp["int8_tflm"]["accuracy"],
        "majority_accuracy": float(max(yte.mean(), 1 - yte.mean())),
        "float_balanced_accuracy": cmp["float_tflm"]["balanced_accuracy"],
        "int8_balanced_accuracy": cmp["int8_tflm"]["balanced_accuracy"],
        "argmax_agreement": cmp["int8_tflm"]["argmax_agreement"],
        "max_logit_error": cmp["int8_tflm"]["max_logit_error"],
        "float_max_logit_error": cmp["float_tflm"]["max_logit_error"],
        # LiteRT's and TFLM's reference kernels requantise differently in places (first seen in a FULLY_CONNECTED,
        # 1 LSB), so the two int8 runtimes agree closely but not bit for bit; TFLM is the device's reference
        "litert_vs_tflm_int8_max_lsb": int(np.abs(runs["int8_litert"][1].astype(np.int32)
                                                  - runs["int8_tflm"][1].astype(np.int32)).max()),
        "compare": cmp,
        "latency_estimate_ms": round(macs * CYCLES_PER_MAC / CLOCK_HZ * 1e3, 1),
        "latency_assumption": f"{CYCLES_PER_MAC:g} cycles/MAC at {CLOCK_HZ / 1e6:g} MHz (estimate, not measured)",
    }
    report.update(qemu_part(int8_tfl, Xte, runs["int8_tflm"][1], args.out))
    report.update(onnx_part(model, Xte, ref))
    report["seconds"] = round(time.time() - t_start, 1)
    print(json.dumps(report))
    return report


def qemu_part(int8_tfl: bytes, X: np.ndarray, tflm_raw: np.ndarray, out: Path) -> dict:
    from helpers.edge import mcu

    missing = mcu.missing_tools()
    if missing:
        return {"qemu_bit_exact": None, "elf_text_bytes": None, "elf_data_bytes": None,
                "qemu_skipped": f"not found: {', '.join(missing)}"}
    result = mcu.run_on_qemu(int8_tfl, X, out / "qemu")
    return {"qemu_bit_exact": bool(np.array_equal(result.outputs, tflm_raw)), "qemu_windows": len(X),
            "elf_text_bytes": result.text_bytes, "elf_data_bytes": result.data_bytes, "elf_bss_bytes": result.bss_bytes,
            "elf_model_text_bytes": result.model_text_bytes, "plain_c_arena_bytes": result.arena_bytes}


def onnx_part(model, X: np.ndarray, ref: np.ndarray) -> dict:
    from helpers.edge import onnx_export

    try:
        onnx_bytes = onnx_export.export_onnx(model, (1, 1, X.shape[-1]))
    except Exception as err:  # noqa: BLE001 -- ONNX is the desktop comparison: report, never fail the deployment report for it
        return {"onnx_error": f"{type(err).__name__}: {err}"[:300]}
    logits, ms = onnx_export.run_onnxruntime(onnx_bytes, X)
    return {"onnx_bytes": len(onnx_bytes), "onnx_max_logit_error": float(np.abs(logits - ref).max()),
            "onnxruntime_ms_per_window": round(ms, 3)}


if __name__ == "__main__":
    missing = _edge_extra_missing()
    if missing:  # `make bench` runs every script: say what is missing instead of failing halfway through
        print(f"edge_report: SKIPPED, the edge extra is not installed (missing {', '.join(missing)}); install it with "
              "pip install -c constraints.txt -e '.[edge]'", file=sys.stderr)
        sys.exit(0)
    main()
