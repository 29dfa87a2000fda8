"""From a trained PyTorch model to a microcontroller: int8 export, TFLite Micro runs and measurements, C bundles.

Needs the ``edge`` extra (``pip install -c constraints.txt -e '.[edge]'``: litert-torch, ai-edge-quantizer,
ai-edge-litert, tflite-micro, onnx, onnxruntime); the heavy packages are imported only when a function needs them.

The path a model takes, one module per step::

    float_tfl = export_float_tflite(model, (1, 1, 3840))            # export: litert_torch, BatchNorm folded
    int8_tfl = quantize_int8(float_tfl, calibration_windows)        # quantize: full int8, min/max calibration
    logits, raw = run_tflm(int8_tfl, X)                             # interpreters: TFLM (and LiteRT) on windows
    compare_logits(torch_logits, logits, y)                         # measure: errors, agreement, accuracy
    smallest_arena(int8_tfl), count_macs(int8_tfl), len(int8_tfl)   # measure: what the board needs
    runs_with_arena(int8_tfl, 30_000)                               # measure: does it run in this arena?
    write_bundle(int8_tfl, "build/stress_monitor")                  # bundle: C array + TFLM main + CMake
    write_plain_c(int8_tfl, "build/plain_c")                        # c_codegen: the model as plain C kernels
    run_on_qemu(int8_tfl, X, "build/qemu").outputs                  # mcu: emulated Cortex-M4, int8 outputs
    run_firmware(int8_tfl, X, "build/fw").raw                       # mcu: QEMU if installed, else a host build

``onnx_export`` gives the desktop comparison (ONNX + onnxruntime latency).
``streaming`` measures a model as a real-time monitor would run it: one window at a time on one thread, the
latency of each step against the budget (Unit 3's latency-vs-accuracy table).
"""

from .bundle import write_bundle
from .c_array import c_array
from .c_codegen import write_plain_c
from .export import export_float_tflite
from .interpreters import run_litert, run_tflm
from .mcu import FirmwareRun, missing_tools, run_firmware, run_on_host, run_on_qemu
from .measure import arena_used, compare_logits, count_macs, runs_with_arena, smallest_arena
from .quantize import dequantize, quantize_input, quantize_int8
from .tflite_file import graph, io_details, op_names, strip_tensor_names

__all__ = ["arena_used", "c_array", "compare_logits", "count_macs", "dequantize", "export_float_tflite", "graph",
           "io_details", "FirmwareRun", "missing_tools", "op_names", "quantize_input", "quantize_int8", "run_firmware", "run_litert", "run_on_host", "run_on_qemu",
           "run_tflm", "runs_with_arena", "smallest_arena", "strip_tensor_names", "write_bundle", "write_plain_c"]
