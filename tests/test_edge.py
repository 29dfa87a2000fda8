"""helpers.edge: int8 export, the TFLite Micro interpreter, measurements, the deployment bundle, plain C.

A small stand-in model of the Unit 4 kind (strided conv stem, one softmax-attention block, mean pooling, linear
head: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, BATCH_MATMUL, SOFTMAX, MUL, ADD, MEAN, RESHAPE, TRANSPOSE, PAD)
keeps these tests fast and independent of any one model family. Needs the ``edge`` extra; skipped without it.
The emulator test (``mcu`` marker) needs Debian's gcc-arm-none-eabi, libnewlib-arm-none-eabi and qemu-system-arm:
skipped when absent outside CI, failed when absent under CI.
"""
from __future__ import annotations

import math
import re
import shutil
import subprocess

import numpy as np
import pytest
import torch
from torch import nn

from conftest import in_ci, require_edge_extra

require_edge_extra()

from helpers import edge
from helpers.edge import c_codegen, mcu

T = 1024  # 16 tokens of 64 samples: the Unit 4 model's shape, shorter


class StandIn(nn.Module):
    """(B, 1, T) -> (B, 2): conv stem (stride 8, 8), one attention block with a ReLU FFN, mean over tokens."""

    def __init__(self, d: int = 16):
        super().__init__()
        self.stem1 = nn.Conv1d(1, 8, 9, stride=8, padding=4)
        self.stem2 = nn.Conv1d(8, d, 5, stride=8, padding=2)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ffn = nn.Sequential(nn.Linear(d, 2 * d), nn.ReLU(), nn.Linear(2 * d, d))
        self.head = nn.Linear(d, 2)

    def forward(self, x):
        h = torch.relu(self.stem2(torch.relu(self.stem1(x)))).transpose(1, 2)  # (B, N, d)
        att = (self.q(h) @ self.k(h).transpose(1, 2)) * (1 / math.sqrt(h.shape[-1]))  # (B, N, N)
        h = h + self.o(att.softmax(-1) @ self.v(h))
        h = h + self.ffn(h)
        return self.head(h.mean(dim=1))  # (B, 2)


def _windows(n: int, seed: int) -> np.ndarray:
    """PPG-like windows: a 1-1.8 Hz pulse with harmonics and noise, z-scored, (n, 1, T) float32 (64 Hz)."""
    rng = np.random.default_rng(seed)
    t = np.arange(T) / 64.0
    f = rng.uniform(1.0, 1.8, (n, 1, 1))
    x = np.sin(2 * np.pi * f * t) + 0.4 * np.sin(4 * np.pi * f * t + 1) + 0.3 * rng.standard_normal((n, 1, T))
    return ((x - x.mean(-1, keepdims=True)) / x.std(-1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def exported():
    torch.manual_seed(0)
    model = StandIn().eval()
    X = _windows(160, seed=1)
    float_tfl = edge.export_float_tflite(model, (1, 1, T))
    int8_tfl = edge.quantize_int8(float_tfl, X[:100])
    with torch.no_grad():
        ref = model(torch.from_numpy(X[100:])).numpy()
    return model, X[100:], ref, float_tfl, int8_tfl


def test_int8_model_is_full_integer_with_int8_input_and_output(exported):
    *_, int8_tfl = exported
    info = edge.io_details(int8_tfl)
    assert info["input"]["dtype"] == "INT8" and info["output"]["dtype"] == "INT8"
    assert info["input"]["shape"] == (1, 1, T) and info["output"]["shape"] == (1, 2)
    from tflite_micro import runtime
    it = runtime.Interpreter.from_bytes(int8_tfl, arena_size=1 << 18)
    assert it.get_input_details(0)["dtype"] == np.int8 and it.get_output_details(0)["dtype"] == np.int8
    _, tensors, _, _ = edge.graph(int8_tfl)
    assert {t.dtype for t in tensors if t.data is None} == {"INT8"}  # every activation is int8


def test_float_tflite_matches_pytorch_in_both_interpreters(exported):
    _, X, ref, float_tfl, _ = exported
    for run in (edge.run_litert, edge.run_tflm):
        logits, _ = run(float_tfl, X)
        assert edge.compare_logits(ref, logits)["max_logit_error"] < 1e-4


def test_int8_follows_the_float_model(exported):
    _, X, ref, _, int8_tfl = exported
    logits, raw = edge.run_tflm(int8_tfl, X)
    cmp = edge.compare_logits(ref, logits)
    spread = ref.max() - ref.min()
    assert cmp["max_logit_error"] < 0.1 * spread, cmp
    assert cmp["argmax_agreement"] >= 0.9, cmp
    assert raw.dtype == np.int8


def test_min_max_calibration_does_not_clip_the_calibration_logits(exported):
    model, _, _, float_tfl, int8_tfl = exported
    X = _windows(160, seed=1)[:100]
    with torch.no_grad():
        calib_logits = model(torch.from_numpy(X)).numpy()
    out = edge.io_details(int8_tfl)["output"]
    lo, hi = (-128 - out["zero_point"]) * out["scale"], (127 - out["zero_point"]) * out["scale"]
    assert lo <= calib_logits.min() + out["scale"] and calib_logits.max() - out["scale"] <= hi
    averaged = edge.io_details(edge.quantize_int8(float_tfl, X, min_max=False))["output"]
    assert averaged["scale"] <= out["scale"]  # the running average never widens the range


def test_smallest_arena_is_the_boundary_where_tflm_starts_to_work(exported):
    *_, int8_tfl = exported
    arena = edge.smallest_arena(int8_tfl)
    assert arena % 16 == 0 and edge.runs_with_arena(int8_tfl, arena) and not edge.runs_with_arena(int8_tfl, arena - 16)
    assert abs(arena - edge.arena_used(int8_tfl)) < 1024  # TFLM's own report agrees to within its scratch
    edge.run_tflm(int8_tfl, _windows(2, 0), arena_bytes=arena)


def test_macs_are_counted_from_the_file(exported):
    *_, int8_tfl = exported
    d, n = 16, T // 64
    expected = (T // 8) * 8 * 9 + n * d * 8 * 5 + n * (4 * d * d + 4 * d * d) + 2 * n * n * d + n * n + d * 2
    assert edge.count_macs(int8_tfl) == expected


def test_tflite_size_shrinks_when_names_are_stripped(exported):
    *_, float_tfl, _ = exported
    ops, _, _, _ = edge.graph(float_tfl)
    assert ops and len(edge.strip_tensor_names(float_tfl)) <= len(float_tfl)


def test_bundle_has_the_model_array_and_a_resolver_with_exactly_its_ops(exported, tmp_path):
    *_, int8_tfl = exported
    out = edge.write_bundle(int8_tfl, tmp_path / "bundle", arena_bytes=4000)
    main = (out / "main.cc").read_text()
    ops = edge.op_names(int8_tfl)
    registered = re.findall(r"resolver\.(Add\w+)\(\);", main)
    assert sorted(registered) == sorted(edge.bundle.RESOLVER_METHODS[op] for op in ops)
    assert f"MicroMutableOpResolver<{len(ops)}>" in main and "constexpr int kArenaBytes = 4400;" in main
    array = (out / "model_data.cc").read_text()
    assert len(re.findall(r"0x[0-9a-f]{2}", array)) == len(int8_tfl) == (out / "model.tflite").stat().st_size
    assert "TFLM_TREE" in (out / "CMakeLists.txt").read_text()
    assert "cortex-m4" in (out / "cortex-m4.cmake").read_text()


def test_bundle_refuses_a_float_model(exported, tmp_path):
    *_, float_tfl, _ = exported
    with pytest.raises(ValueError, match="full-int8"):
        edge.write_bundle(float_tfl, tmp_path, arena_bytes=1000)


def test_compare_logits_reports_errors_agreement_and_balanced_accuracy():
    ref = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    other = ref + np.array([[0.0, 0.5], [0.0, 0.0], [0.0, 0.0], [0.0, 2.0]])  # the last window flips
    cmp = edge.compare_logits(ref, other, y=np.array([0, 1, 0, 1]))
    assert cmp["max_logit_error"] == 2.0 and cmp["argmax_agreement"] == 0.75
    assert cmp["reference_accuracy"] == 0.75 and cmp["accuracy"] == 1.0 and cmp["balanced_accuracy"] == 1.0
    with pytest.raises(ValueError, match="same shape"):
        edge.compare_logits(ref, ref[:2])


def test_c_array_round_trips_bytes():
    src = edge.c_array(bytes([0, 1, 255, 16]), "blob")
    assert "alignas(16) const unsigned char blob[]" in src and "0x00, 0x01, 0xff, 0x10" in src
    assert "blob_len = 4;" in src
    with pytest.raises(ValueError):
        edge.c_array(b"x", "not a name")


def test_quantize_multiplier_and_input_rounding_follow_tflite():
    assert c_codegen.quantize_multiplier(0.5) == (1 << 30, 0)
    assert c_codegen.quantize_multiplier(0.25) == (1 << 30, -1)
    assert c_codegen.quantize_multiplier(1.0) == (1 << 30, 1)
    m, s = c_codegen.quantize_multiplier(0.1234)
    assert abs(m * 2.0 ** (s - 31) - 0.1234) < 1e-9
    # half away from zero, as C's round (numpy would give 0 and -2 for 0.5 and -2.5)
    assert edge.quantize_input(np.array([0.5, -2.5, 1000.0]), 1.0, 0).tolist() == [1, -3, 127]


def test_plain_c_refuses_a_model_that_is_not_int8(exported):
    *_, float_tfl, _ = exported
    with pytest.raises((ValueError, NotImplementedError)):
        c_codegen.generate(float_tfl)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no host C compiler")
def test_plain_c_on_the_host_is_bit_exact_with_tflm(exported, tmp_path):
    *_, int8_tfl = exported
    c_codegen.write_plain_c(int8_tfl, tmp_path)
    from importlib import resources
    shutil.copyfile(resources.files("helpers.edge").joinpath("templates", "run_windows.c"), tmp_path / "run.c")
    subprocess.run(["gcc", "-O2", "-o", "run", "kernels.c", "model.c", "run.c"], cwd=tmp_path, check=True)
    X = _windows(200, seed=7)
    info = edge.io_details(int8_tfl)["input"]
    (tmp_path / "inputs.bin").write_bytes(edge.quantize_input(X, info["scale"], info["zero_point"]).tobytes())
    subprocess.run(["./run"], cwd=tmp_path, check=True, capture_output=True)
    c_out = np.frombuffer((tmp_path / "outputs.bin").read_bytes(), np.int8).reshape(200, 2)
    np.testing.assert_array_equal(c_out, edge.run_tflm(int8_tfl, X)[1])


@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None, reason="no host C compiler")
def test_run_firmware_on_the_host_writes_tflm_s_int8_outputs(exported, tmp_path):
    *_, int8_tfl = exported
    X = _windows(40, seed=11)
    run = edge.run_firmware(int8_tfl, X, tmp_path / "fw", target="host")
    assert run.target == "host" and run.n_windows == 40 and run.note == ""
    assert run.raw == (tmp_path / "fw" / "outputs.bin").read_bytes() and len(run.raw) == 40 * 2
    np.testing.assert_array_equal(np.frombuffer(run.raw, np.int8).reshape(40, 2), edge.run_tflm(int8_tfl, X)[1])
    with pytest.raises(ValueError, match="target must be 'auto', 'qemu' or 'host', got 'arm'"):
        edge.run_firmware(int8_tfl, X, tmp_path, target="arm")


def test_run_firmware_falls_back_to_the_host_build_and_says_why(exported, tmp_path, monkeypatch):
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no host C compiler")
    *_, int8_tfl = exported
    monkeypatch.setattr(mcu, "TOOLS", ("arm-none-eabi-gcc-not-installed",))
    run = edge.run_firmware(int8_tfl, _windows(5, seed=12), tmp_path)
    assert run.target == "host" and "arm-none-eabi-gcc-not-installed not found" in run.note and len(run.raw) == 10


@pytest.mark.mcu
def test_cortex_m4_under_qemu_is_bit_exact_with_tflm(exported, tmp_path):
    missing = mcu.missing_tools()
    if missing:
        message = (f"{', '.join(missing)} not found: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi "
                   "qemu-system-arm")
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    *_, int8_tfl = exported
    X = _windows(300, seed=3)
    result = mcu.run_on_qemu(int8_tfl, X, tmp_path, timeout_s=300)
    np.testing.assert_array_equal(result.outputs, edge.run_tflm(int8_tfl, X)[1])
    assert 0 < result.model_text_bytes < result.text_bytes and result.bss_bytes >= result.arena_bytes > 0
    run = edge.run_firmware(int8_tfl, X[:20], tmp_path / "auto")
    assert run.target == "qemu" and run.raw == result.outputs[:20].tobytes()


def test_onnx_export_matches_pytorch(exported):
    pytest.importorskip("onnxruntime")
    from helpers.edge import onnx_export
    model, X, ref, _, _ = exported
    logits, ms = onnx_export.run_onnxruntime(onnx_export.export_onnx(model, (1, 1, T)), X[:8])
    assert np.abs(logits - ref[:8]).max() < 1e-4 and ms > 0
