"""Full-integer int8 quantisation of a float .tflite (weights, activations, input and output) with ai-edge-quantizer.

Calibration runs the float model on windows from the real distribution and records each tensor's range. The
quantizer's default keeps a *running average* of per-window min/max (smoothing 0.95), so a range seen in a few
windows only (the logits of confident windows) ends up clipped: the int8 logits saturate. Here every tensor's range
is the overall min/max over all calibration windows, as TFLite's own converter does.
"""

from __future__ import annotations

import numpy as np

from .quiet import quiet


def quantize_int8(float_tflite: bytes, calibration_x: np.ndarray, *, min_max: bool = True) -> bytes:
    """Quantise a float .tflite to full int8 with the static ``wi8_ai8`` recipe.

    Parameters
    ----------
    float_tflite : bytes
        The float model, from :func:`helpers.edge.export_float_tflite` (batch-1 input ``(1, C, T)``).
    calibration_x : np.ndarray
        float32 ``(N, C, T)``: ~100-200 windows from the training distribution (never the test set), already
        preprocessed as the model expects.
    min_max : bool
        True (default): each range is the overall min/max over the windows. False: the quantizer's running
        average (kept to show why it is not the default: compare the max logit error).

    Returns
    -------
    bytes
        The int8 .tflite: int8 input and output (see :func:`helpers.edge.io_details` for their scale and zero point),
        int8 activations, int8 weights (per-channel for convolutions and fully connected layers), int32 biases.
    """
    calibration_x = np.asarray(calibration_x, dtype=np.float32)
    if calibration_x.ndim != 3:
        raise ValueError(f"calibration_x must be (windows, channels, samples), got shape {calibration_x.shape}")
    with quiet():  # the interpreter announces its XNNPACK delegate on the C-level stderr
        from ai_edge_litert.interpreter import Interpreter
        from ai_edge_quantizer import calibrator, quantizer, recipe
        from ai_edge_quantizer.utils import qsv_utils

        signatures = Interpreter(model_content=float_tflite).get_signature_list()
        (signature, io_names), = signatures.items()
        input_name = io_names["inputs"][0]
        data = {signature: [{input_name: x[None]} for x in calibration_x]}
        qt = quantizer.Quantizer(float_tflite, recipe.static_wi8_ai8())
        update = qsv_utils.min_max_update if min_max else qsv_utils.moving_average_update
        calib = calibrator.Calibrator(float_tflite, qsv_update_func=update)
        calib.calibrate(data, qt._recipe_manager)  # Quantizer.calibrate offers no choice of update rule
        result = qt.quantize(calib.get_model_qsvs(), enable_progress_report=False)
    return bytes(result.quantized_model)


def quantize_input(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """float -> int8 as TFLite's QUANTIZE does: ``clip(round(x / scale) + zero_point, -128, 127)``.

    ``round`` is C's (half away from zero), not numpy's half-to-even, so a device doing the same gets the same bytes.
    """
    v = np.asarray(x, np.float32) / np.float32(scale)
    rounded = np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))
    return np.clip(rounded + zero_point, -128, 127).astype(np.int8)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """int8 -> float32: ``(q - zero_point) * scale``."""
    return ((np.asarray(q, np.int32) - zero_point) * np.float32(scale)).astype(np.float32)
