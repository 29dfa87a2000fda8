"""ONNX export and onnxruntime CPU latency: the desktop comparison for the microcontroller numbers."""

from __future__ import annotations

import io
import time

import numpy as np
import torch
from torch import nn


def export_onnx(model: nn.Module, input_shape: tuple[int, int, int], opset: int = 17) -> bytes:
    """The model (``fuse_for_export()`` copy when it has one) as ONNX bytes with a dynamic batch axis.

    Uses the TorchScript-based exporter (``dynamo=False``): it needs no extra package and handles these small models.
    """
    deployed = model.fuse_for_export() if hasattr(model, "fuse_for_export") else model
    deployed.eval()
    buf = io.BytesIO()
    torch.onnx.export(deployed, (torch.zeros(input_shape),), buf, input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}}, opset_version=opset, dynamo=False)
    return buf.getvalue()


def run_onnxruntime(onnx_bytes: bytes, X: np.ndarray, threads: int = 1) -> tuple[np.ndarray, float]:
    """Logits of every window (one at a time, as a monitor sees them) and the median milliseconds per window.

    Parameters
    ----------
    onnx_bytes : bytes
    X : np.ndarray
        float32 ``(n, C, T)``.
    threads : int
        Intra-op threads (1: comparable with a single-core microcontroller, and fair on a shared machine).

    Returns
    -------
    logits : np.ndarray
        float32 ``(n, K)``.
    ms : float
        Median latency of one window, in milliseconds (after one warm-up run).
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(onnx_bytes, opts, providers=["CPUExecutionProvider"])
    X = np.asarray(X, np.float32)
    sess.run(None, {"x": X[:1]})
    out, times = [], []
    for x in X:
        t0 = time.perf_counter()
        out.append(sess.run(None, {"x": x[None]})[0][0])
        times.append(time.perf_counter() - t0)
    return np.stack(out), float(np.median(times) * 1e3)
