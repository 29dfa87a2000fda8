"""An int8 .tflite as plain C: one call per operator into int8 kernels with TFLM's fixed-point arithmetic.

This is what proves the arithmetic on a Cortex-M without porting TFLM: ``model.c`` holds the weights and the
requantisation parameters (computed here exactly as TFLM's ``Prepare`` functions compute them, in double precision
from the float32 scales), one static activation arena laid out by a greedy planner, and ``model_run(in, out)``.
``kernels.c`` (from ``templates/``) has one function per op. The op set is read from the file; an op or option the
generator does not know is refused by name rather than approximated.
"""

from __future__ import annotations

import math
import shutil
from importlib import resources
from pathlib import Path

import numpy as np

from .tflite_file import Operator, Tensor, graph

SUPPORTED = ("ADD", "BATCH_MATMUL", "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MEAN", "MUL", "PAD",
             "RESHAPE", "SOFTMAX", "TRANSPOSE")


# ---- TFLM's quantisation_util.cc, reproduced in Python -------------------------------------------------------
def _round_away(x: float) -> int:
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """``QuantizeMultiplier``: real = m * 2**(shift - 31), m in [2**30, 2**31), round half away from zero."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = _round_away(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    return int(q_fixed), int(shift)


def _act_range(fused: int, out: Tensor) -> tuple[int, int]:
    """``CalculateActivationRangeQuantized`` for int8 (NONE=0, RELU=1, RELU_N1_TO_1=2, RELU6=3)."""
    scale, zp = float(out.scale[0]), int(out.zero_point[0])

    def q(v: float) -> int:
        return zp + _round_away(v / scale)

    lo, hi = {0: (-128, 127), 1: (max(-128, q(0.0)), 127), 2: (max(-128, q(-1.0)), min(127, q(1.0))),
              3: (max(-128, q(0.0)), min(127, q(6.0)))}[fused]
    return lo, hi


def _shape4(shape: tuple[int, ...]) -> list[int]:
    return [1] * (4 - len(shape)) + list(shape)


def _same_padding(in_size: int, k: int, stride: int, dilation: int, out_size: int) -> int:
    total = max((out_size - 1) * stride + (k - 1) * dilation + 1 - in_size, 0)
    return total // 2


class _Emitter:
    """Collects the constant arrays and the body of ``model_run``."""

    def __init__(self, tensors: list[Tensor]):
        self.tensors, self.consts, self.body, self.n = tensors, [], [], 0
        self.scratch = 0

    def const(self, values, ctype: str, name: str | None = None) -> str:
        name = name or f"c{self.n}"
        self.n += 1
        vals = ", ".join(str(int(v)) for v in np.asarray(values).ravel())
        self.consts.append(f"static const {ctype} {name}[] = {{{vals}}};")
        return name

    def call(self, line: str) -> None:
        self.body.append(f"  {line};")


def _plan(ops: list[Operator], tensors: list[Tensor], inputs: list[int], outputs: list[int]) -> tuple[dict, int]:
    """Greedy arena layout (as TFLM's GreedyMemoryPlanner): biggest first, lowest offset free over its lifetime."""
    first, last = {}, {}
    for i in inputs:
        first[i] = -1
    for step, op in enumerate(ops):
        for i in op.inputs:
            if i >= 0 and tensors[i].data is None:
                last[i] = step
        for i in op.outputs:
            first.setdefault(i, step)
            last.setdefault(i, step)
    for i in outputs:
        last[i] = len(ops)
    sizes = {i: -(-int(np.prod(tensors[i].shape)) // 4) * 4 for i in first}
    placed: list[tuple[int, int, int, int]] = []  # offset, size, first, last
    offsets = {}
    for i in sorted(first, key=lambda i: -sizes[i]):
        clashes = sorted((o, s) for o, s, f, l in placed if not (l < first[i] or last[i] < f))
        offset = 0
        for o, s in clashes:
            if offset + sizes[i] <= o:
                break
            offset = max(offset, o + s)
        offsets[i] = offset
        placed.append((offset, sizes[i], first[i], last[i]))
    return offsets, max((o + s for o, s, _, _ in placed), default=0)


def generate(int8_tflite: bytes) -> tuple[str, dict]:
    """C source of the model (``model.c``) and a summary (ops, arena bytes, input/output sizes)."""
    ops, tensors, inputs, outputs = graph(int8_tflite)
    unknown = sorted({op.name for op in ops} - set(SUPPORTED))
    if unknown:
        raise NotImplementedError(f"no plain-C kernel for {unknown}; supported: {list(SUPPORTED)}")
    for i in (*inputs, *outputs):
        if tensors[i].dtype != "INT8":
            raise ValueError(f"plain C needs int8 input and output; tensor {i} is {tensors[i].dtype}")
    offsets, arena = _plan(ops, tensors, inputs, outputs)
    em = _Emitter(tensors)

    def buf(i: int) -> str:
        t = tensors[i]
        if t.data is not None:
            return em.const(t.data, "int8_t")
        return f"(arena + {offsets[i]})"

    def zp(i: int) -> int:
        return int(tensors[i].zero_point[0])

    def sc(i: int) -> float:
        return float(tensors[i].scale[0])

    for op in ops:
        getattr(_EMIT, op.name)(op, tensors, em, buf, zp, sc)
        y = op.outputs[0]
        em.call(f"EDGE_TRACE({buf(y)}, {int(np.prod(tensors[y].shape))})")
    for op in ops:  # MEAN needs an int32 scratch of its output size
        if op.name == "MEAN":
            em.scratch = max(em.scratch, int(np.prod(tensors[op.outputs[0]].shape)))
    n_in, n_out = int(np.prod(tensors[inputs[0]].shape)), int(np.prod(tensors[outputs[0]].shape))
    src = "\n".join([
        "/* The int8 model as plain C (generated by helpers.edge.c_codegen). */",
        '#include <string.h>', '#include "kernels.h"', '#include "model.h"', "",
        "/* EDGE_TRACE(ptr, n) sees every op's int8 output: define it (e.g. to fwrite) to compare layer by layer. */",
        "#ifndef EDGE_TRACE", "#define EDGE_TRACE(ptr, n) ((void)0)", "#endif",
        f"static int8_t arena[{max(arena, 4)}] __attribute__((aligned(4)));",
        f"static int32_t scratch[{max(em.scratch, 1)}];", *em.consts, "",
        "void model_run(const int8_t* input, int8_t* output) {",
        f"  memcpy(arena + {offsets[inputs[0]]}, input, {n_in});", *em.body,
        f"  memcpy(output, arena + {offsets[outputs[0]]}, {n_out});", "}", ""])
    return src, {"ops": sorted({op.name for op in ops}), "arena_bytes": arena, "input_size": n_in,
                 "output_size": n_out}


class _EMIT:
    """One static method per op: append its kernel call (and constants) to the emitter."""

    @staticmethod
    def RESHAPE(op, T, em, buf, zp, sc):
        n = int(np.prod(T[op.outputs[0]].shape))
        em.call(f"k_copy({buf(op.inputs[0])}, {buf(op.outputs[0])}, {n})")

    @staticmethod
    def PAD(op, T, em, buf, zp, sc):
        x, y = op.inputs[0], op.outputs[0]
        pads = T[op.inputs[1]].data.reshape(-1, 2)
        before = [0] * (4 - len(pads)) + [int(p) for p in pads[:, 0]]
        em.call(f"k_pad({buf(x)}, {em.const(_shape4(T[x].shape), 'int32_t')}, {em.const(before, 'int32_t')}, "
                f"{em.const(_shape4(T[y].shape), 'int32_t')}, {zp(y)}, {buf(y)})")

    @staticmethod
    def _conv_params(op, T, em, zp, sc):
        x, w, y = op.inputs[0], op.inputs[1], op.outputs[0]
        wscale = T[w].scale
        mults, shifts = zip(*(quantize_multiplier(float(np.float64(sc(x)) * np.float64(s) / np.float64(sc(y))))
                              for s in wscale))
        n_out = T[y].shape[-1]
        if len(mults) == 1:
            mults, shifts = mults * n_out, shifts * n_out
        lo, hi = _act_range(op.options.fusedActivationFunction, T[y])
        bias = em.const(T[op.inputs[2]].data, "int32_t") if len(op.inputs) > 2 and op.inputs[2] >= 0 else "0"
        return bias, em.const(mults, "int32_t"), em.const(shifts, "int32_t"), lo, hi

    @staticmethod
    def _spatial(op, T):
        x, w, y = op.inputs[0], op.inputs[1], op.outputs[0]
        o = op.options
        ih, iw = T[x].shape[1:3]
        kh, kw = T[w].shape[1:3]
        oh, ow = T[y].shape[1:3]
        if o.padding == 0:  # SAME
            ph = _same_padding(ih, kh, o.strideH, o.dilationHFactor, oh)
            pw = _same_padding(iw, kw, o.strideW, o.dilationWFactor, ow)
        else:
            ph = pw = 0
        return f"{o.strideH}, {o.strideW}, {ph}, {pw}, {o.dilationHFactor}, {o.dilationWFactor}"

    @staticmethod
    def _conv_call(kernel, op, T, em, buf, zp, sc, depthwise: bool = False):
        """One call of a convolution kernel (the arguments in the order the C kernels take them); a depthwise
        convolution also passes its channel multiplier."""
        x, w, y = op.inputs[0], op.inputs[1], op.outputs[0]
        bias, m, s, lo, hi = _EMIT._conv_params(op, T, em, zp, sc)
        args = [buf(x), em.const(T[x].shape, 'int32_t'), buf(w), em.const(T[w].shape, 'int32_t'), bias, buf(y),
                em.const(T[y].shape, 'int32_t'), _EMIT._spatial(op, T)]
        if depthwise:
            args.append(T[w].shape[3] // T[x].shape[3])
        args += [-zp(x), zp(y), m, s, lo, hi]
        em.call(f"{kernel}({', '.join(str(a) for a in args)})")

    @staticmethod
    def CONV_2D(op, T, em, buf, zp, sc):
        _EMIT._conv_call("k_conv2d", op, T, em, buf, zp, sc)

    @staticmethod
    def DEPTHWISE_CONV_2D(op, T, em, buf, zp, sc):
        _EMIT._conv_call("k_depthwise_conv2d", op, T, em, buf, zp, sc, depthwise=True)

    @staticmethod
    def FULLY_CONNECTED(op, T, em, buf, zp, sc):
        x, w, y = op.inputs[0], op.inputs[1], op.outputs[0]
        out_depth, depth = T[w].shape
        rows = int(np.prod(T[x].shape)) // depth
        per_channel = len(T[w].scale) > 1
        if per_channel:  # PopulateConvolutionQuantizationParams: double products
            reals = [np.float64(sc(x)) * np.float64(s) / np.float64(sc(y)) for s in T[w].scale]
        else:  # GetQuantizedConvolutionMultipler: the float32 product, then double
            reals = [np.float64(np.float32(sc(x)) * np.float32(T[w].scale[0])) / np.float64(sc(y))]
        mults, shifts = zip(*(quantize_multiplier(float(r)) for r in reals))
        lo, hi = _act_range(op.options.fusedActivationFunction, T[y])
        bias = em.const(T[op.inputs[2]].data, "int32_t") if len(op.inputs) > 2 and op.inputs[2] >= 0 else "0"
        em.call(f"k_fully_connected({buf(x)}, {rows}, {depth}, {buf(w)}, {out_depth}, {bias}, {buf(y)}, {-zp(x)}, "
                f"{-zp(w)}, {zp(y)}, {em.const(mults, 'int32_t')}, {em.const(shifts, 'int32_t')}, {int(per_channel)}, {lo}, {hi})")

    @staticmethod
    def _binary_sizes(op, T):
        a, b, y = op.inputs[0], op.inputs[1], op.outputs[0]
        na, nb, n = (int(np.prod(T[i].shape)) for i in (a, b, y))
        for k in (na, nb):
            if k not in (1, n):
                raise NotImplementedError(f"{op.name}: broadcasting {T[a].shape} with {T[b].shape} is not supported "
                                          "(only same-size or scalar operands)")
        return na, nb, n

    @staticmethod
    def ADD(op, T, em, buf, zp, sc):
        a, b, y = op.inputs[0], op.inputs[1], op.outputs[0]
        na, nb, n = _EMIT._binary_sizes(op, T)
        left_shift = 20
        twice_max = 2 * max(np.float64(sc(a)), np.float64(sc(b)))
        ma, sa = quantize_multiplier(float(np.float64(sc(a)) / twice_max))
        mb, sb = quantize_multiplier(float(np.float64(sc(b)) / twice_max))
        mo, so = quantize_multiplier(float(twice_max / ((1 << left_shift) * np.float64(sc(y)))))
        lo, hi = _act_range(op.options.fusedActivationFunction, T[y])
        em.call(f"k_add({buf(a)}, {na}, {buf(b)}, {nb}, {buf(y)}, {n}, {-zp(a)}, {-zp(b)}, {left_shift}, {ma}, {sa}, "
                f"{mb}, {sb}, {mo}, {so}, {zp(y)}, {lo}, {hi})")

    @staticmethod
    def MUL(op, T, em, buf, zp, sc):
        a, b, y = op.inputs[0], op.inputs[1], op.outputs[0]
        na, nb, n = _EMIT._binary_sizes(op, T)
        m, s = quantize_multiplier(float(np.float64(sc(a)) * np.float64(sc(b)) / np.float64(sc(y))))
        lo, hi = _act_range(op.options.fusedActivationFunction, T[y])
        em.call(f"k_mul({buf(a)}, {na}, {buf(b)}, {nb}, {buf(y)}, {n}, {-zp(a)}, {-zp(b)}, {zp(y)}, {m}, {s}, {lo}, {hi})")

    @staticmethod
    def BATCH_MATMUL(op, T, em, buf, zp, sc):
        a, b, y = op.inputs[0], op.inputs[1], op.outputs[0]
        o = op.options
        sa, sb = T[a].shape, T[b].shape
        if sa[:-2] != sb[:-2]:
            raise NotImplementedError(f"BATCH_MATMUL with broadcast batch dims {sa} x {sb} is not supported")
        m, k = (sa[-1], sa[-2]) if o.adjX else (sa[-2], sa[-1])
        n = sb[-2] if o.adjY else sb[-1]
        batches = int(np.prod(sa[:-2]))
        mult, shift = quantize_multiplier(float(np.float64(sc(a)) * np.float64(sc(b)) / np.float64(sc(y))))
        em.call(f"k_batch_matmul({buf(a)}, {buf(b)}, {buf(y)}, {batches}, {m}, {k}, {n}, {int(o.adjX)}, "
                f"{int(o.adjY)}, {-zp(a)}, {-zp(b)}, {zp(y)}, {mult}, {shift}, -128, 127)")

    @staticmethod
    def SOFTMAX(op, T, em, buf, zp, sc):
        x, y = op.inputs[0], op.outputs[0]
        if abs(sc(y) - 1 / 256) > 1e-9 or zp(y) != -128:
            raise ValueError(f"int8 SOFTMAX needs output scale 1/256 and zero point -128, got {sc(y)}, {zp(y)}")
        beta = float(op.options.beta)
        # PreprocessSoftmaxScaling with 5 integer bits for the scaled difference
        real = min(np.float64(beta) * np.float64(sc(x)) * (1 << 26), float((1 << 31) - 1))
        mult, left_shift = quantize_multiplier(float(real))
        radius = math.floor(1.0 * ((1 << 5) - 1) * (1 << 26) / (1 << left_shift))
        depth = T[x].shape[-1]
        rows = int(np.prod(T[x].shape)) // depth
        em.call(f"k_softmax({buf(x)}, {buf(y)}, {rows}, {depth}, {mult}, {left_shift}, {-radius})")

    @staticmethod
    def MEAN(op, T, em, buf, zp, sc):
        x, y = op.inputs[0], op.outputs[0]
        rank = len(T[x].shape)
        axes = [int(a) % rank + (4 - rank) for a in np.ravel(T[op.inputs[1]].data)]
        reduce = [int(d in axes) for d in range(4)]
        same = int(zp(x) == zp(y) and np.float32(sc(x)) == np.float32(sc(y)))
        m, s = quantize_multiplier(float(np.float64(sc(x)) / np.float64(sc(y))))
        n_out = int(np.prod(T[y].shape))
        em.call(f"k_mean({buf(x)}, {em.const(_shape4(T[x].shape), 'int32_t')}, {em.const(reduce, 'int32_t')}, "
                f"{buf(y)}, {n_out}, {zp(x)}, {zp(y)}, {m}, {s}, {same}, scratch)")

    @staticmethod
    def TRANSPOSE(op, T, em, buf, zp, sc):
        x, y = op.inputs[0], op.outputs[0]
        perm = [int(p) for p in np.ravel(T[op.inputs[1]].data)]
        pad = 4 - len(perm)
        perm4 = list(range(pad)) + [p + pad for p in perm]
        em.call(f"k_transpose({buf(x)}, {em.const(_shape4(T[x].shape), 'int32_t')}, {em.const(perm4, 'int32_t')}, "
                f"{buf(y)})")


def write_plain_c(int8_tflite: bytes, out_dir: str | Path) -> dict:
    """Write ``model.c``, ``model.h``, ``kernels.c``, ``kernels.h`` into ``out_dir``; return the summary."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    src, info = generate(int8_tflite)
    (out / "model.c").write_text(src)
    (out / "model.h").write_text(
        "#ifndef EDGE_MODEL_H\n#define EDGE_MODEL_H\n#include <stdint.h>\n"
        f"#define MODEL_INPUT_SIZE {info['input_size']}\n#define MODEL_OUTPUT_SIZE {info['output_size']}\n"
        "/* int8 input (MODEL_INPUT_SIZE bytes) -> int8 output (MODEL_OUTPUT_SIZE bytes) */\n"
        "void model_run(const int8_t* input, int8_t* output);\n#endif\n")
    templates = resources.files("helpers.edge").joinpath("templates")
    for name in ("kernels.c", "kernels.h"):
        with resources.as_file(templates.joinpath(name)) as path:
            shutil.copyfile(path, out / name)
    return info
