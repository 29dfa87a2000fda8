"""`python -m helpers data ...`: in-process through main(argv), and once as a real subprocess."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import helpers.data
from helpers.cli import EXIT_FORMAT, EXIT_UNAVAILABLE, EXIT_UNKNOWN, main
from helpers.data import DATASETS, cinc2017

try:
    from http_server import closed_port_url
    from test_cinc2017 import make_set
except ImportError:  # tests/ imported as a package
    from tests.http_server import closed_port_url
    from tests.test_cinc2017 import make_set

REPO = Path(__file__).resolve().parents[1]
INFO_KEYS = {"source", "records", "subjects", "fs_hz", "label_counts", "total_duration_s", "load_seconds"}


@pytest.fixture
def real_root(tmp_path: Path) -> Path:
    make_set(tmp_path / "cinc2017" / "real" / "training2017", "NAO~NA")
    return tmp_path


def test_list_names_every_dataset(capsys):
    assert main(["data", "list"]) == 0
    assert capsys.readouterr().out.split() == sorted(DATASETS) and {"cinc2017", "zenodo_af"} <= set(DATASETS)


def test_info_json_prints_one_object_for_real_data(real_root, capsys):
    assert main(["data", "info", "cinc2017", "--root", str(real_root), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert INFO_KEYS <= info.keys()
    assert info["source"] == "real" and info["records"] == 6 and info["subjects"] == 6 and info["fs_hz"] == 300.0
    assert info["label_counts"] == {"normal": 2, "af": 2, "other": 1, "noisy": 1}


def test_info_json_on_synthetic_keeps_the_banner_off_stdout(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cinc2017, "SPEC", dataclasses.replace(cinc2017.SPEC, synthetic_size=12))
    assert main(["data", "info", "cinc2017", "--cache", str(tmp_path), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["source"] == "synthetic" and "SYNTHETIC DATA" in err


def test_unknown_dataset_lists_the_known_ones(capsys):
    assert main(["data", "info", "nope"]) == EXIT_UNKNOWN
    assert "unknown dataset 'nope'" in capsys.readouterr().err


def test_missing_real_data_exits_2_with_instructions(tmp_path, capsys):
    assert main(["data", "info", "cinc2017", "--cache", str(tmp_path), "--source", "real"]) == EXIT_UNAVAILABLE
    err = capsys.readouterr().err
    assert "python -m helpers data fetch cinc2017" in err and "Traceback" not in err


def test_fetch_offline_exits_2_saying_the_host_is_unreachable(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cinc2017, "BASE_URL", closed_port_url("/files/"))
    assert main(["data", "fetch", "cinc2017", "--cache", str(tmp_path)]) == EXIT_UNAVAILABLE
    err = capsys.readouterr().err
    assert "127.0.0.1" in err and "Traceback" not in err


def test_synth_writes_the_real_format(tmp_path, capsys):
    assert main(["data", "synth", "cinc2017", "--out", str(tmp_path / "out"), "--seed", "2", "--size", "10"]) == 0
    assert (tmp_path / "out" / "REFERENCE.csv").is_file() and (tmp_path / "out" / "A00010.hea").is_file()


def test_path_reads_a_users_folder_where_root_was_only_a_cache(tmp_path, capsys):
    # The bug that started the dataset contract: `--root DIR` on a folder of real files reported synthetic data
    # and wrote 1,000 synthetic records into DIR. --path reads DIR itself and writes nothing.
    make_set(tmp_path / "mine", "NAO~NA")
    before = sorted(p.name for p in (tmp_path / "mine").iterdir())
    assert main(["data", "info", "cinc2017", "--path", str(tmp_path / "mine"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["source"] == "real" and info["records"] == 6 and info["path"] == str(tmp_path / "mine")
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == before


def test_load_lists_one_json_line_per_record(real_root, capsys):
    assert main(["data", "load", "cinc2017", "--cache", str(real_root), "--source", "real", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["record"] for r in rows] == [f"A{i:05d}" for i in range(1, 7)]
    assert [r["label"] for r in rows] == ["normal", "af", "other", "noisy", "normal", "af"]


def test_path_with_source_synthetic_is_a_usage_error(real_root, capsys):
    assert main(["data", "info", "cinc2017", "--path", str(real_root), "--source", "synthetic"]) == 2
    assert "cannot be combined" in capsys.readouterr().err


def test_usage_error_returns_argparse_code():
    assert main(["data", "info"]) == 2


def test_module_entry_point_runs_as_a_subprocess(real_root):
    env = dict(os.environ, BIOSIGNAL_DATA=str(real_root))
    ok = subprocess.run([sys.executable, "-m", "helpers", "data", "info", "cinc2017", "--json"], cwd=REPO,
                        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["records"] == 6
    bad = subprocess.run([sys.executable, "-m", "helpers", "data", "info", "cinc2017", "--source", "real",
                          "--root", str(real_root / "empty")], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=120, check=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "data fetch cinc2017" in bad.stderr


def test_running_out_of_memory_is_one_line_without_traceback(tmp_path, monkeypatch, capsys):
    def exhausted(*args, **kwargs):
        raise MemoryError
    monkeypatch.setattr(helpers.data, "info", exhausted)
    assert main(["data", "info", "deap", "--path", str(tmp_path)]) == EXIT_FORMAT
    err = capsys.readouterr().err
    assert err == (f"error: bad data: ran out of memory reading deap from {tmp_path}: the data are larger than this "
                   "machine can hold, or a file asks for more memory than it holds data\n")
