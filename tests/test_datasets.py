"""The dataset contract, checked on every registered dataset: a new unit registers its dataset and gets this.

For each dataset: its synthetic set is written in the real format and read back by its ``read``; ``info --json``
gives the same fields everywhere; reading a folder with ``--path`` writes nothing into it; a folder that is not
the dataset gets an error naming the folder and what was expected.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import helpers.data
from helpers.cli import EXIT_FORMAT, EXIT_OK, EXIT_UNAVAILABLE, main
from helpers.data import DATASETS, DatasetSpec, SignalDataset, get_dataset

NAMES = sorted(DATASETS)
SMALL = 3  # records (or subjects) in the synthetic sets written here: DEAP writes 103 MB a subject
INFO_KEYS = {"name", "source", "path", "records", "subjects", "fs_hz", "n_channels", "label_counts",
             "total_duration_s", "load_seconds", "licence"}


def listing(folder: Path) -> list[tuple[str, int, int]]:
    """Every entry under ``folder`` with its size and modification time: what "nothing written" compares."""
    return sorted((str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*"))


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, Path]:
    """Each dataset's synthetic set in its real format, written once for the module."""
    root = tmp_path_factory.mktemp("datasets")
    return {name: helpers.data.write_synthetic(name, root / name, seed=3, size=SMALL) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_module_declares_the_contract(name):
    module = get_dataset(name)
    assert isinstance(module.SPEC, DatasetSpec) and module.SPEC.name == name
    for fn in ("read", "write_synthetic", "fetch"):
        assert callable(getattr(module, fn)), f"{name} lacks {fn}()"
    spec = module.SPEC
    assert spec.class_names and spec.licence and spec.citation and spec.get_it and spec.expected_layout


@pytest.mark.parametrize("name", NAMES)
def test_synthetic_set_round_trips_through_read(name, written):
    ds = helpers.data.read(name, written[name])
    assert isinstance(ds, SignalDataset) and ds.name == name and ds.source == "synthetic"
    assert len(ds) >= 1 and ds.fs > 0 and np.isfinite(ds.fs)
    assert all(s.dtype == np.float32 and np.isfinite(s).all() for s in ds.signals)
    assert ds.class_names == get_dataset(name).SPEC.class_names
    assert json.loads((written[name] / "SYNTHETIC.json").read_text())["dataset"] == name


@pytest.mark.parametrize("name", NAMES)
def test_info_json_has_the_same_fields_for_every_dataset(name, written, capsys):
    assert main(["data", "info", name, "--path", str(written[name]), "--json"]) == EXIT_OK
    info = json.loads(capsys.readouterr().out)
    assert INFO_KEYS <= info.keys()
    assert info["name"] == name and info["source"] == "synthetic" and info["path"] == str(written[name])
    assert sum(info["label_counts"].values()) == info["records"] >= 1


@pytest.mark.parametrize("name", NAMES)
def test_path_is_read_in_place_and_nothing_is_written_there(name, written, tmp_path, monkeypatch):
    folder = written[name]
    monkeypatch.setenv("BIOSIGNAL_DATA", str(tmp_path / "cache"))
    before = listing(folder)
    assert main(["data", "info", name, "--path", str(folder), "--json"]) == EXIT_OK
    assert main(["data", "load", name, "--path", str(folder)]) == EXIT_OK
    helpers.data.load(name, folder, limit=2)
    assert listing(folder) == before
    assert not (tmp_path / "cache").exists()  # nor into the cache: reading a user's folder caches nothing


@pytest.mark.parametrize("name", NAMES)
def test_path_is_never_a_silent_switch_to_synthetic(name, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["data", "info", name, "--path", str(empty), "--json"]) == EXIT_FORMAT
    err = capsys.readouterr().err
    assert str(empty) in err and "Traceback" not in err and "expected" in err.lower()
    assert main(["data", "info", name, "--path", str(tmp_path / "missing")]) == EXIT_UNAVAILABLE
    assert str(tmp_path / "missing") in capsys.readouterr().err
    assert list(empty.iterdir()) == []


@pytest.mark.parametrize("name", NAMES)
def test_source_real_looks_in_the_cache_without_creating_it(name, tmp_path, capsys):
    assert main(["data", "info", name, "--cache", str(tmp_path), "--source", "real"]) == EXIT_UNAVAILABLE
    err = capsys.readouterr().err
    assert "path=DIR" in err and "synthetic" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", NAMES)
def test_a_cache_root_that_is_a_file_is_a_clear_error(name, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["data", "info", name, "--cache", str(tmp_path / "file"), "--source", "synthetic"]) == \
        EXIT_UNAVAILABLE
    assert "is a file, not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("name", NAMES)
def test_synth_refuses_a_file_and_a_folder_of_someone_elses_files(name, tmp_path, capsys):
    (tmp_path / "a_file").write_text("mine")
    assert main(["data", "synth", name, "--out", str(tmp_path / "a_file")]) == EXIT_UNAVAILABLE
    assert "is a file" in capsys.readouterr().err
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "notes.txt").write_text("mine")
    assert main(["data", "synth", name, "--out", str(tmp_path / "theirs")]) == EXIT_UNAVAILABLE
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "theirs").iterdir()] == ["notes.txt"]


def test_a_cache_that_cannot_be_written_is_a_clear_error(tmp_path, monkeypatch, capsys):
    # Root ignores permission bits (CI runs as root), so the refusal is simulated where the write happens.
    def refuse(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(helpers.data.source, "atomic_dir", refuse)
    assert main(["data", "info", NAMES[0], "--cache", str(tmp_path), "--source", "synthetic"]) == EXIT_UNAVAILABLE
    err = capsys.readouterr().err
    assert "writable" in err and str(tmp_path) in err and "Traceback" not in err


def test_synthetic_size_is_a_separate_cached_set(tmp_path):
    small = helpers.data.load("cinc2017", source="synthetic", root=tmp_path, synthetic_size=5)
    assert len(small) == 5
    folders = sorted(p.name for p in (tmp_path / "cinc2017" / "synthetic").iterdir())
    assert len(folders) == 1 and folders[0].endswith("-seed0-n5")
    again = helpers.data.load("cinc2017", source="synthetic", root=tmp_path, synthetic_size=5)
    assert again.record_ids.tolist() == small.record_ids.tolist()
