"""The GPU throughput benchmark keeps working: its CPU smoke mode, its knobs and its profile summary."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "transformer_throughput.py"
sys.path.insert(0, str(SCRIPT.parent))
import transformer_throughput as bench


def run_bench(*args, tmp_path):
    tmp_path.mkdir(parents=True, exist_ok=True)
    out = tmp_path / "lines.jsonl"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--tiny", "--out", str(out), *args],
                          capture_output=True, text=True, timeout=300, cwd=REPO, check=False)
    return proc, [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def test_cpu_smoke_run_prints_one_complete_json_line(tmp_path):
    proc, lines = run_bench("--set", "n_layers=1", "--attention-dropout", "0.2", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (line,) = lines
    assert "error" not in line, line
    assert line["device"] == "cpu" and line["config"] == "small" and line["set"] == "n_layers=1"
    assert line["attention_dropout"] == 0.2 and line["dropout"] == 0.1 and line["layout"] == "channels_last"
    assert line["train_seq_per_s"] > 0 and line["infer_seq_per_s"] > 0
    assert line["train_GFLOP_per_seq"] > line["infer_GFLOP_per_seq"] > 0  # backward costs more than forward
    assert line["train_mfu"] is None  # no datasheet peak for a CPU: no invented utilisation
    _, full = run_bench(tmp_path=tmp_path / "full")
    assert full[0]["params_M"] > line["params_M"]  # the override removed a Transformer layer


def test_unknown_inductor_setting_is_refused_by_name(tmp_path):
    proc, lines = run_bench("--inductor", "no_such_setting=1", tmp_path=tmp_path)
    assert proc.returncode != 0 and "no_such_setting" in proc.stderr and not lines


@pytest.mark.parametrize("name, kind", [
    ("nvjet_sm90_tst_256x128_64x4_1x2_h_bz_coopA_TNT", "matmul"),
    ("sm90_xmma_wgrad_indexed_implicit_gemm_bf16bf16_bf16f32_f32_nhwckrsc_nhwc", "convolution"),
    ("cudnn_generated_fort_native_sdpa_sm90_flash_bprop_wgmma_f16_knob_26", "attention"),
    ("triton_per_fused__to_copy__unsafe_view_add_mean_mul_native_dropout_pow_rsqrt_58", "triton reduction"),
    ("triton_poi_fused__unsafe_view_mul_silu_split_56", "triton pointwise"),
    ("void at::native::(anonymous namespace)::multi_tensor_apply_kernel<FusedOptimizerTensorListMetadata<4>>",
     "optimizer"),
])
def test_profile_sorts_kernels_by_the_work_they_do(name, kind):
    assert bench.kernel_kind(name) == kind
