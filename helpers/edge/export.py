"""PyTorch -> float .tflite with ``litert_torch.convert`` (the step before int8 quantisation).

The converter does not fold BatchNorm into the layer next to it, and TFLite Micro has no GELU: a model meant for a
microcontroller provides ``fuse_for_export()`` (an eval-mode copy with BatchNorm folded), which is used when present.
"""

from __future__ import annotations

import torch
from torch import nn

from .quiet import quiet
from .tflite_file import strip_tensor_names


def export_float_tflite(model: nn.Module, input_shape: tuple[int, int, int], strip_names: bool = True) -> bytes:
    """Convert a model to a float32 .tflite flatbuffer with a fixed input shape.

    Parameters
    ----------
    model : nn.Module
        ``(B, C, T)`` float32 -> logits ``(B, K)``. Its ``fuse_for_export()`` is called when it has one (the model
        itself is left untouched); otherwise an eval-mode copy is converted.
    input_shape : tuple of int
        ``(1, C, T)``: the exported model takes exactly this shape (batch 1, as a device runs it).
    strip_names : bool
        Replace the converter's long tensor names by ``t0, t1...`` (smaller file, same computation).

    Returns
    -------
    bytes
        The .tflite file's contents.
    """
    if len(input_shape) != 3 or input_shape[0] != 1:
        raise ValueError(f"input_shape must be (1, channels, samples), got {input_shape}")
    deployed = model.fuse_for_export() if hasattr(model, "fuse_for_export") else _eval_copy(model)
    deployed.eval()
    example = (torch.zeros(input_shape, dtype=torch.float32),)
    with quiet():  # the converter prints a progress line per stage, TensorFlow its start-up log
        import litert_torch  # lazy: the edge extra is optional

        exported = litert_torch.convert(deployed, example)
        buf = exported.model_content()
    buf = bytes(buf)
    return strip_tensor_names(buf) if strip_names else buf


def _eval_copy(model: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(model).eval()
