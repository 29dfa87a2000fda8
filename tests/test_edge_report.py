"""benchmarks/edge_report.py keeps its contract: one JSON object last, with the keys issue 11 asks for."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT, require_edge_extra

require_edge_extra()

from helpers.edge import missing_tools

KEYS = ("tflite_bytes", "arena_bytes", "macs", "float_accuracy", "int8_accuracy", "argmax_agreement",
        "max_logit_error", "qemu_bit_exact", "elf_text_bytes", "elf_data_bytes")


@pytest.mark.slow
def test_edge_report_tiny_prints_the_deployment_numbers(tmp_path, course_env):
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "edge_report.py"), "--tiny", "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(KEYS) <= set(report)
    assert report["io"]["input"]["dtype"] == report["io"]["output"]["dtype"] == "INT8"
    assert 0 < report["tflite_bytes"] == (tmp_path / "model_int8.tflite").stat().st_size
    assert report["arena_bytes"] > 0 and report["macs"] > 0
    assert (tmp_path / "bundle" / "main.cc").exists() and (tmp_path / "bundle" / "model_data.cc").exists()
    if not missing_tools():
        assert report["qemu_bit_exact"] is True and report["elf_text_bytes"] > 0
