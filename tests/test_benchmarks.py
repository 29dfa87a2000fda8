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
    proc, lines = run_bench("--set", "n_layers=1,attention_dropout=0.2", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (line,) = lines
    assert "error" not in line, line
    assert line["device"] == "cpu" and line["config"] == "small" and line["set"] == "n_layers=1,attention_dropout=0.2"
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
    ("void cudnn::fusion::convert_dq_to_16bits<true>(void const*, void*, unsigned int)", "attention"),
    ("void cudnn::fusion::compute_dot_do_o<true>(void const*, void const*, void*)", "attention"),
    ("_ZN17cutlass__5x_cudnn6KernelINS_4conv6kernel23ImplicitGemmConvolutionINS1_11threadblock", "convolution"),
    ("void cutlass__5x_cudnn::Kernel<cutlass_tensorop_bf16_s16816fprop_optimized_bf16_256x64_32x4_nhwc_align8>",
     "convolution"),
    ("void cudnn::engines_precompiled::nchwToNhwcKernel<__nv_bfloat16, __nv_bfloat16, float>", "convolution"),
])
def test_profile_sorts_kernels_by_the_work_they_do(name, kind):
    assert bench.kernel_kind(name) == kind


@pytest.mark.parametrize("name, part", [
    ("triton_poi_fused__native_batch_norm_legit_functional__to_copy_add_clamp_div_exp_mul_31", "backbone"),
    ("triton_poi_fused__to_copy_add_clamp_div_exp_expand_le_mul_neg_sigmoid_squeeze_unsqueeze_where_68", "backbone"),
    ("sm90_xmma_dgrad_implicit_gemm_bf16bf16_bf16f32_f32_nhwckrsc_nhwc_tilesize128x128x64", "backbone"),
    ("void cudnn::fusion::convert_dq_to_16bits<true>(void const*, void*, unsigned int)", "transformer, head, optimizer"),
    ("triton_poi_fused__unsafe_view_cat_mul_silu_silu_backward_split_view_16", "transformer, head, optimizer"),
])
def test_profile_attributes_kernels_to_backbone_or_transformer(name, part):
    assert bench.kernel_part(name) == part


def test_settings_are_parsed_to_the_type_of_their_current_value():
    assert bench.parse_settings("a=1, b.c = x,", "--set") == [("a", "1"), ("b.c", "x")]
    assert bench.setting_value(True, "0", "x") is False and bench.setting_value(False, "true", "x") is True
    assert bench.setting_value(3, "7", "x") == 7 and bench.setting_value(0.5, "0.25", "x") == 0.25
    assert bench.setting_value("a", "b", "x") == "b"
    for current, text in [(True, "maybe"), (3, "1.5"), (None, "1"), ((32, 64), "32")]:
        with pytest.raises(SystemExit, match="x"):
            bench.setting_value(current, text, "x")
    with pytest.raises(SystemExit, match="KEY=VALUE"):
        bench.parse_settings("n_layers", "--set")


def test_set_switches_a_boolean_field_off(tmp_path):
    proc, lines = run_bench("--set", "channels_last=0", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert lines[0]["layout"] == "ncw" and lines[0]["inductor"] is None  # eager: no Inductor setting applies
