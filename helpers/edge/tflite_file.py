"""Reading a .tflite flatbuffer: its operators, tensors and quantisation, without running it.

The schema is the one ``ai_edge_litert`` ships (``schema_py_generated``), so nothing here needs TensorFlow. Used to
list the ops a model needs (the TFLM op resolver, the plain-C generator), to count MACs, and to drop the tensor
names the converter writes (MLIR locations such as ``helpers.models...Block_1/...Linear_q;1``: ~19 KB of a ~73 KB
int8 model, useless on a device).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _schema():
    from ai_edge_litert import (
        schema_py_generated as schema,  # lazy: the edge extra is optional
    )

    return schema


def read_model(tflite: bytes):
    """The flatbuffer as the schema's mutable object tree (``ModelT``)."""
    return _schema().ModelT.InitFromPackedBuf(bytearray(tflite), 0)


def write_model(model) -> bytes:
    """Serialise a ``ModelT`` back to .tflite bytes."""
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


_TYPE_NAMES: dict[int, str] | None = None


def _type_name(code: int) -> str:
    global _TYPE_NAMES
    if _TYPE_NAMES is None:
        _TYPE_NAMES = {v: k for k, v in vars(_schema().TensorType).items() if not k.startswith("_")}
    return _TYPE_NAMES[code]


@dataclass
class Tensor:
    """One tensor of the graph: shape, dtype name (``"INT8"``...), quantisation, and its constant data if any."""

    index: int
    shape: tuple[int, ...]
    dtype: str
    scale: np.ndarray | None  # float32 (1,) per tensor or (channels,) per channel
    zero_point: np.ndarray | None  # int64, same shape as scale
    quantized_dimension: int
    data: np.ndarray | None  # constant (weights, biases, shapes) or None for activations


@dataclass
class Operator:
    """One node: builtin name (``"CONV_2D"``...), input/output tensor indices (-1: optional input absent), options."""

    name: str
    inputs: list[int]
    outputs: list[int]
    options: object | None


_NUMPY = {"INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64, "FLOAT32": np.float32,
          "UINT8": np.uint8, "BOOL": np.bool_}


def graph(tflite: bytes) -> tuple[list[Operator], list[Tensor], list[int], list[int]]:
    """Operators, tensors, input and output tensor indices of subgraph 0 (the only one our models have)."""
    schema = _schema()
    model = read_model(tflite)
    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    sg = model.subgraphs[0]
    tensors = []
    for i, t in enumerate(sg.tensors):
        dtype = _type_name(t.type)
        shape = tuple(int(s) for s in (t.shape if t.shape is not None else ()))
        buf = model.buffers[t.buffer].data if t.buffer < len(model.buffers) else None
        data = None
        if buf is not None and len(buf):
            data = np.frombuffer(np.asarray(buf, np.uint8).tobytes(), _NUMPY[dtype]).reshape(shape)
        q = t.quantization
        scale = zp = None
        qdim = 0
        if q is not None and q.scale is not None and len(q.scale):
            scale = np.asarray(q.scale, np.float32)
            zp = np.asarray(q.zeroPoint, np.int64)
            qdim = int(q.quantizedDimension)
        tensors.append(Tensor(i, shape, dtype, scale, zp, qdim, data))
    ops = []
    for op in sg.operators:
        code = model.operatorCodes[op.opcodeIndex]
        # builtin codes above 127 live in builtinCode only; older files fill deprecatedBuiltinCode
        name = op_names[max(code.builtinCode, code.deprecatedBuiltinCode)]
        ops.append(Operator(name, [int(i) for i in op.inputs], [int(i) for i in op.outputs], op.builtinOptions))
    return ops, tensors, [int(i) for i in sg.inputs], [int(i) for i in sg.outputs]


def op_names(tflite: bytes) -> list[str]:
    """The distinct builtin ops of a model, sorted, e.g. ``["ADD", "BATCH_MATMUL", "CONV_2D", ...]``."""
    return sorted({op.name for op in graph(tflite)[0]})


def io_details(tflite: bytes) -> dict[str, dict]:
    """Input and output tensors' dtype, shape and (scale, zero point): what a device must feed and read.

    Returns
    -------
    dict
        ``{"input": {"dtype": "INT8", "shape": (1, 1, 3840), "scale": 0.036, "zero_point": -4}, "output": {...}}``
        (scale and zero point are None for a float tensor).
    """
    _, tensors, inputs, outputs = graph(tflite)
    out = {}
    for key, idx in (("input", inputs[0]), ("output", outputs[0])):
        t = tensors[idx]
        out[key] = {"dtype": t.dtype, "shape": t.shape,
                    "scale": None if t.scale is None else float(t.scale[0]),
                    "zero_point": None if t.zero_point is None else int(t.zero_point[0])}
    return out


def strip_tensor_names(tflite: bytes) -> bytes:
    """The same model with tensors named ``t0, t1, ...`` and the converter's ``keep_stablehlo_constant`` metadata gone.

    Nothing at run time reads tensor names (signatures refer to tensor indices), so the model computes exactly
    what it did; only the file shrinks.
    """
    model = read_model(tflite)
    for sg in model.subgraphs:
        for i, t in enumerate(sg.tensors):
            t.name = f"t{i}".encode()
    if model.metadata:
        model.metadata = [m for m in model.metadata if m.name != b"keep_stablehlo_constant"]
    return write_model(model)
