"""Run a .tflite on windows with the desktop runtime (ai-edge-litert) or the TensorFlow Lite Micro interpreter.

Both functions take float windows and return float logits, quantising the input and dequantising the output when
the model's input/output are int8, so a float model, an int8 model and PyTorch compare on the same footing. The raw
int8 outputs are returned as well: they are what bit-exactness is judged on.
"""

from __future__ import annotations

import numpy as np

from .quantize import dequantize, quantize_input
from .tflite_file import io_details

DEFAULT_ARENA_BYTES = 256 * 1024  # ample for the course's models; measure the real need with smallest_arena


def _prepare(tflite: bytes, X: np.ndarray):
    X = np.asarray(X, np.float32)
    info = io_details(tflite)
    shape = tuple(info["input"]["shape"])
    if X.ndim != 3 or X.shape[1:] != shape[1:]:
        raise ValueError(f"windows must have shape (n, {shape[1]}, {shape[2]}) to match the model's input {shape}, "
                         f"got {X.shape}")
    if info["input"]["dtype"] == "INT8":
        X = quantize_input(X, info["input"]["scale"], info["input"]["zero_point"])
    return X, info


def _finish(raw: np.ndarray, info: dict) -> tuple[np.ndarray, np.ndarray]:
    out = info["output"]
    logits = dequantize(raw, out["scale"], out["zero_point"]) if out["dtype"] == "INT8" else raw.astype(np.float32)
    return logits, raw


def run_litert(tflite: bytes, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run every window through ai-edge-litert's interpreter (the desktop/phone runtime, XNNPACK off).

    Parameters
    ----------
    tflite : bytes
        A float or int8 model with a ``(1, C, T)`` input.
    X : np.ndarray
        float32 ``(n, C, T)``.

    Returns
    -------
    logits : np.ndarray
        float32 ``(n, K)``.
    raw : np.ndarray
        ``(n, K)`` in the output tensor's own dtype (int8 for a quantised model).
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    Xq, info = _prepare(tflite, X)
    # the reference kernels, not XNNPACK: the same arithmetic as TFLM, so int8 outputs can be compared exactly
    it = Interpreter(model_content=tflite, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    i_in, i_out = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
    raw = []
    for x in Xq:
        it.set_tensor(i_in, x[None])
        it.invoke()
        raw.append(it.get_tensor(i_out)[0].copy())
    return _finish(np.stack(raw), info)


def run_tflm(tflite: bytes, X: np.ndarray, arena_bytes: int = DEFAULT_ARENA_BYTES) -> tuple[np.ndarray, np.ndarray]:
    """Run every window through the TensorFlow Lite Micro interpreter (the microcontroller runtime, on the desktop).

    Parameters
    ----------
    tflite : bytes
    X : np.ndarray
        float32 ``(n, C, T)``.
    arena_bytes : int
        Tensor arena size; raises ``RuntimeError`` when too small (see :func:`helpers.edge.smallest_arena`).

    Returns
    -------
    logits, raw : np.ndarray
        As :func:`run_litert`.
    """
    from tflite_micro import runtime

    Xq, info = _prepare(tflite, X)
    it = runtime.Interpreter.from_bytes(tflite, arena_size=int(arena_bytes))
    raw = []
    for x in Xq:
        it.set_input(x[None], 0)
        it.invoke()
        raw.append(it.get_output(0)[0].copy())
    return _finish(np.stack(raw), info)
