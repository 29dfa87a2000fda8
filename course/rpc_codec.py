"""The data format of the grader <-> kernel link: JSON, arrays as base64 ``.npy``, never pickle.

Used on both sides: the trusted grader imports this module; ``trusted_execute`` sends its source into the
student's kernel (module ``_course_rpc_codec``), where ``kernel_rpc`` uses it. Only plain data travels by value:

- ``None``, ``bool``, ``int``, ``float``, ``str`` as JSON (so ``1`` and ``1.0`` stay an int and a float);
- ``complex``, ``bytes``, ``slice``, ``range``, ``Ellipsis``; exact ``list``/``tuple``/``dict``/``set``/``frozenset``
  of data;
- numpy arrays of a non-object dtype and numpy scalars (their dtype kept: ``np.int64(3)`` is not ``3``);
- torch tensors that need no gradient (no ``requires_grad``, no ``grad_fn``), ``torch.Size``, ``dtype``, ``device``;
- pandas ``Series``/``DataFrame``/``Index`` of such values.

Anything else (functions, models, generators, tensors in an autograd graph, object arrays, subclasses of the
containers) is passed by reference: ``encode`` asks its ``to_ref`` callback for a tag. ``decode`` accepts only
the tags above and a reference, with a depth cap (:data:`MAX_DEPTH`) and a size cap on the whole message
(:data:`MAX_BYTES`); anything else raises :class:`CodecError`. ``np.load(allow_pickle=False)`` reads arrays, so a
reply cannot make the grader unpickle anything.
"""
from __future__ import annotations

import base64
import io
import sys

MAX_DEPTH = 32
MAX_BYTES = 256 * 2**20          # the JSON text of one message; the largest array a test fetches is a few MB
_RAW = (type(None), bool, int, float, str)
_SEQUENCES = {list: "list", tuple: "tuple", set: "set", frozenset: "frozenset"}
_FROM_SEQ = {v: k for k, v in _SEQUENCES.items()}


class CodecError(ValueError):
    """A value that cannot be sent, or a message that is not in this format."""


def _npy(array) -> str:
    import numpy as np

    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _from_npy(text):
    import numpy as np

    if not isinstance(text, str):
        raise CodecError("an array must be base64 text")
    try:
        return np.load(io.BytesIO(base64.b64decode(text, validate=True)), allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise CodecError(f"not a .npy array: {error}") from None


def _is_plain_array(np, value) -> bool:
    return type(value) is np.ndarray and value.dtype.kind not in "OV"


def encode(value, to_ref, depth: int = 0):
    """A JSON-ready tree for ``value``; ``to_ref(obj)`` gives the tag of an object passed by reference."""
    if depth > MAX_DEPTH:
        raise CodecError(f"data nested deeper than {MAX_DEPTH} levels")
    kind = type(value)
    if kind in _RAW:
        return value
    if kind in _SEQUENCES:
        return {"t": _SEQUENCES[kind], "v": [encode(v, to_ref, depth + 1) for v in value]}
    if kind is dict:
        return {"t": "dict", "v": [[encode(k, to_ref, depth + 1), encode(v, to_ref, depth + 1)]
                                   for k, v in value.items()]}
    if kind is complex:
        return {"t": "complex", "v": [value.real, value.imag]}
    if kind in (bytes, bytearray):
        return {"t": "bytes", "v": base64.b64encode(bytes(value)).decode("ascii")}
    if kind is slice:
        return {"t": "slice", "v": [encode(p, to_ref, depth + 1) for p in (value.start, value.stop, value.step)]}
    if kind is range:
        return {"t": "range", "v": [value.start, value.stop, value.step]}
    if value is Ellipsis:
        return {"t": "ellipsis"}
    if getattr(kind, "passed_by_reference", False):  # a proxy: asking it what it is would cost kernel requests
        return to_ref(value)
    tagged = _encode_library(value, to_ref, depth)
    return tagged if tagged is not None else to_ref(value)


def _encode_library(value, to_ref, depth):
    """numpy, torch and pandas values, looked up only if the module is already imported."""
    np = sys.modules.get("numpy")
    if np is not None:
        if _is_plain_array(np, value):
            return {"t": "ndarray", "v": _npy(value)}
        if isinstance(value, np.generic) and value.dtype.kind not in "OV":
            return {"t": "npscalar", "v": _npy(np.asarray(value))}
    torch = sys.modules.get("torch")
    if torch is not None:
        if type(value) is torch.Size:
            return {"t": "size", "v": [int(v) for v in value]}
        if isinstance(value, torch.dtype):
            return {"t": "tdtype", "v": str(value).removeprefix("torch.")}
        if isinstance(value, torch.device):
            return {"t": "device", "v": str(value)}
        if isinstance(value, torch.Tensor) and not value.requires_grad and value.grad_fn is None \
                and value.dtype is not torch.bfloat16 and not value.is_sparse:
            return {"t": "tensor", "v": _npy(value.detach().cpu().numpy())}
    pd = sys.modules.get("pandas")
    if pd is not None:
        if type(value) is pd.Series:
            return {"t": "series", "v": _column(np, value.to_numpy(), to_ref, depth),
                    "index": encode(value.index, to_ref, depth + 1), "name": encode(value.name, to_ref, depth + 1)}
        if type(value) is pd.DataFrame:
            return {"t": "frame", "v": [_column(np, value.iloc[:, i].to_numpy(), to_ref, depth)
                                        for i in range(value.shape[1])],
                    "index": encode(value.index, to_ref, depth + 1),
                    "columns": encode(value.columns, to_ref, depth + 1)}
        if isinstance(value, pd.Index) and not isinstance(value, pd.MultiIndex):
            return {"t": "index", "v": _column(np, value.to_numpy(), to_ref, depth),
                    "name": encode(value.name, to_ref, depth + 1)}
    return None


def _column(np, values, to_ref, depth):
    """A pandas column or index: an array, or a list when its dtype is object (strings, mixed)."""
    if _is_plain_array(np, values):
        return {"t": "ndarray", "v": _npy(values)}
    return encode([v.item() if isinstance(v, np.generic) else v for v in values.tolist()], to_ref, depth + 1)


def decode(tree, from_ref, depth: int = 0):
    """The value of a tree ``encode`` made; ``from_ref(tag)`` resolves a reference. Raises CodecError."""
    if depth > MAX_DEPTH:
        raise CodecError(f"data nested deeper than {MAX_DEPTH} levels")
    if type(tree) in _RAW:
        return tree
    if type(tree) is not dict or not isinstance(tree.get("t"), str):
        raise CodecError(f"not a tagged value: {type(tree).__name__}")
    tag, v = tree["t"], tree.get("v")

    def sub(x):
        return decode(x, from_ref, depth + 1)

    if tag in _FROM_SEQ:
        _expect(v, list, tag)
        return _FROM_SEQ[tag](sub(x) for x in v)
    if tag == "dict":
        _expect(v, list, tag)
        if not all(type(p) is list and len(p) == 2 for p in v):
            raise CodecError("a dict must be a list of [key, value] pairs")
        return {sub(k): sub(x) for k, x in v}
    if tag == "complex":
        _expect(v, list, tag)
        return complex(*[float(x) for x in v[:2]])
    if tag == "bytes":
        _expect(v, str, tag)
        return base64.b64decode(v, validate=True)
    if tag == "slice":
        _expect(v, list, tag)
        return slice(*[sub(x) for x in v[:3]])
    if tag == "range":
        _expect(v, list, tag)
        return range(*[int(x) for x in v[:3]])
    if tag == "ellipsis":
        return Ellipsis
    if tag == "ref":
        return from_ref(tree)
    return _decode_library(tag, v, tree, sub)


def _decode_library(tag, v, tree, sub):
    import numpy as np

    if tag == "ndarray":
        return _from_npy(v)
    if tag == "npscalar":
        array = _from_npy(v)
        if array.ndim != 0:
            raise CodecError("a numpy scalar must be a 0-d array")
        return array[()]
    if tag in ("size", "tdtype", "device", "tensor"):
        import torch

        if tag == "size":
            _expect(v, list, tag)
            return torch.Size([int(x) for x in v])
        if tag == "tdtype":
            dtype = getattr(torch, str(v), None)
            if not isinstance(dtype, torch.dtype):
                raise CodecError(f"not a torch dtype: {v!r}")
            return dtype
        if tag == "device":
            return torch.device(str(v))
        return torch.from_numpy(np.array(_from_npy(v)))
    if tag in ("series", "frame", "index"):
        import pandas as pd

        if tag == "index":
            return pd.Index(sub(v), name=sub(tree.get("name")))
        if tag == "series":
            return pd.Series(sub(v), index=sub(tree.get("index")), name=sub(tree.get("name")))
        _expect(v, list, tag)
        columns = [sub(c) for c in v]
        frame = pd.DataFrame({i: c for i, c in enumerate(columns)}, index=sub(tree.get("index")))
        frame.columns = sub(tree.get("columns"))
        return frame
    raise CodecError(f"unknown tag {tag!r}")


def _expect(value, kind, tag):
    if type(value) is not kind:
        raise CodecError(f"a {tag!r} value must hold a {kind.__name__}")
