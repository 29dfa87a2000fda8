"""Numbers a deployment is judged on, measured from the model file and the runtimes rather than typed in.

- :func:`smallest_arena`: the fewest tensor-arena bytes with which TFLM allocates and runs the model
  (:func:`arena_used`: what TFLM itself reports allocating; :func:`runs_with_arena`: does it run in this many?);
- :func:`count_macs`: multiply-accumulates per inference, counted op by op from the .tflite;
- :func:`compare_logits`: max abs logit error, argmax agreement and accuracy of one runtime against another.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from .tflite_file import graph

_PROBE = """
import sys, numpy as np
from tflite_micro import runtime
buf = open(sys.argv[1], "rb").read()
info = runtime.Interpreter.from_bytes(buf, arena_size=1 << 22).get_input_details(0)
try:
    it = runtime.Interpreter.from_bytes(buf, arena_size=int(sys.argv[2]))
    it.set_input(np.zeros(info["shape"], info["dtype"]), 0)
    it.invoke()
except RuntimeError:
    sys.exit(1)
"""


def runs_with_arena(tflite: bytes, arena_bytes: int) -> bool:
    """Does TFLM allocate and invoke the model with a tensor arena of ``arena_bytes``? Asked in a child process:
    some too-small arenas crash the interpreter (a segmentation fault in tflite-micro 0.dev20261023182759) instead
    of raising. A check of a claimed smallest arena ``a``: ``runs_with_arena(m, a) and not runs_with_arena(m, a - 16)``.
    """
    if arena_bytes <= 0:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(tflite)
        proc = subprocess.run([sys.executable, "-c", _PROBE, str(path), str(int(arena_bytes))],
                              capture_output=True, timeout=120, check=False)
    return proc.returncode == 0


def arena_used(tflite: bytes) -> int:
    """Arena bytes TFLM reports as allocated (``print_allocations()``'s "Arena allocation total") in a 4 MB arena.

    The interpreter prints on the C-level stderr, so file descriptor 2 is redirected to read it.
    """
    from tflite_micro import runtime

    it = runtime.Interpreter.from_bytes(tflite, arena_size=1 << 22)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            it.print_allocations()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        text = capture.read().decode(errors="replace")
    found = re.search(r"Arena allocation total (\d+) bytes", text)
    if not found:
        raise RuntimeError(f"no allocation total in TFLM's report: {text[:300]!r}")
    return int(found.group(1))


def smallest_arena(tflite: bytes, granularity: int = 16) -> int:
    """Smallest tensor arena (bytes) with which TFLM's interpreter allocates and invokes the model: measured.

    Starts from TFLM's own allocation report (:func:`arena_used`), then bisects on actual runs (each in a child
    process, ~0.5 s) to the size where the model runs and ``granularity`` bytes less does not. The Python
    interpreter records its allocations (a little bookkeeping a board's plain allocator does not do), so the
    number is a safe upper bound for the board; keep some headroom anyway.

    Returns
    -------
    int
        Bytes, a multiple of ``granularity``.
    """
    hi = -(-arena_used(tflite) // granularity) * granularity
    while not runs_with_arena(tflite, hi):  # the report can undercount scratch buffers: grow until it runs
        hi *= 2
    step = 1024
    lo = max(hi - step, 0)
    while lo > 0 and runs_with_arena(tflite, lo):  # find a size that fails below hi
        hi, lo = lo, max(lo - step, 0)
    while hi - lo > granularity:
        mid = (lo + hi) // 2 // granularity * granularity
        if runs_with_arena(tflite, mid):
            hi = mid
        else:
            lo = mid
    return hi


def count_macs(tflite: bytes) -> int:
    """Multiply-accumulates of one inference, summed over CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, BATCH_MATMUL
    (and one per output element of MUL); other ops (add, softmax, mean, reshape...) are counted as free.

    Counted from tensor shapes in the file, so it describes what the device executes (after folding and padding).
    """
    ops, tensors, _, _ = graph(tflite)
    total = 0
    for op in ops:
        out = tensors[op.outputs[0]].shape
        n_out = int(np.prod(out))
        if op.name == "CONV_2D":  # weights (O, kh, kw, I)
            total += n_out * int(np.prod(tensors[op.inputs[1]].shape[1:]))
        elif op.name == "DEPTHWISE_CONV_2D":  # weights (1, kh, kw, O): one input channel per output
            w = tensors[op.inputs[1]].shape
            total += n_out * w[1] * w[2]
        elif op.name == "FULLY_CONNECTED":  # weights (O, I)
            total += n_out * tensors[op.inputs[1]].shape[-1]
        elif op.name == "BATCH_MATMUL":  # (..., M, K) @ (..., K, N)
            total += n_out * tensors[op.inputs[0]].shape[-1]
        elif op.name == "MUL":
            total += n_out
    return int(total)


def compare_logits(reference: np.ndarray, other: np.ndarray, y: np.ndarray | None = None) -> dict[str, float]:
    """How closely ``other`` follows ``reference`` (both float logits ``(n, K)``).

    Returns
    -------
    dict
        ``max_logit_error`` (max abs difference), ``argmax_agreement`` (fraction of windows with the same class),
        and, with labels ``y`` ``(n,)``, ``reference_accuracy``, ``accuracy`` and ``balanced_accuracy`` (mean recall
        over the classes present: with ~1 stress window in 7, plain accuracy flatters a model that never says
        stress).
    """
    reference, other = np.asarray(reference, np.float32), np.asarray(other, np.float32)
    if reference.shape != other.shape:
        raise ValueError(f"logits must have the same shape, got {reference.shape} and {other.shape}")
    out = {"max_logit_error": float(np.abs(reference - other).max()),
           "argmax_agreement": float((reference.argmax(1) == other.argmax(1)).mean())}
    if y is not None:
        y = np.asarray(y)
        out["reference_accuracy"] = float((reference.argmax(1) == y).mean())
        out["accuracy"] = float((other.argmax(1) == y).mean())
        out["balanced_accuracy"] = float(np.mean([(other.argmax(1)[y == k] == k).mean() for k in np.unique(y)]))
    return out
