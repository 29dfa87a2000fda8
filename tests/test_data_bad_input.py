"""Bad input the data layer refuses: each case gets one clear error naming the file and the problem.

These were accepted (or hung, or raised bare exceptions) before the dataset contract: a sampling rate of 0 or NaN,
duplicated record ids, an empty dataset, an HDF5 file declaring gigabytes it does not store, a non-UTF-8 reference
file, a header pointing outside its folder, and a FIFO where a data file should be.
"""
from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import pytest

import helpers.data
from helpers.cli import EXIT_FORMAT, main
from helpers.data import SignalDataset, zenodo_af
from helpers.data.errors import DataFormatError

try:
    from test_cinc2017 import make_set, write_record
    from test_zenodo_af import write_h5
except ImportError:  # tests/ imported as a package
    from tests.test_cinc2017 import make_set, write_record
    from tests.test_zenodo_af import write_h5

pytestmark = pytest.mark.filterwarnings("ignore:.*no patient ids in the files:UserWarning")


def cli_error(name: str, folder: Path, capsys) -> str:
    """Run `data info NAME --path FOLDER`, expect the bad-data exit code, return the one error line."""
    assert main(["data", "info", name, "--path", str(folder), "--json"]) == EXIT_FORMAT
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err and err.startswith("error: ")
    return err


# ---------------------------------------------------------------- sampling rates

@pytest.mark.parametrize("fs", ["0", "nan", "-300", "inf"])
def test_a_header_with_an_impossible_sampling_rate_names_the_file(tmp_path, fs, capsys):
    make_set(tmp_path, "NA")
    hea = tmp_path / "A00002.hea"
    hea.write_bytes(hea.read_bytes().replace(b" 1 300 ", f" 1 {fs} ".encode(), 1))
    err = cli_error("cinc2017", tmp_path, capsys)
    assert "A00002.hea" in err and "sampling rate" in err


@pytest.mark.parametrize("fs", [0.0, np.nan])
def test_an_hdf5_sampling_rate_of_0_or_nan_names_the_file(tmp_path, fs):
    write_h5(tmp_path / "ecg.h5", np.zeros((3, 50), np.float32) + np.arange(50), np.array([0, 1, 0]), fs=fs)
    with pytest.raises(DataFormatError, match=r"ecg\.h5.*attribute fs.*sampling rate"):
        zenodo_af.read(tmp_path)


def test_the_container_refuses_nan_and_zero_rates():
    for fs in (float("nan"), 0, -1, float("inf"), "fast"):
        with pytest.raises(ValueError, match="sampling rate"):
            SignalDataset([np.zeros(10, np.float32)], [0], fs, ["s"], ["r"], ("a",), "real", "x")


# ---------------------------------------------------------------- ids and emptiness

def test_duplicated_record_ids_are_refused_naming_them(tmp_path):
    write_h5(tmp_path / "ecg.h5", np.random.default_rng(0).normal(size=(6, 40)), np.array([0, 1, 0, 1, 0, 1]),
             record_ids=["a", "a", "a", "b", "b", "c"])
    with pytest.raises(DataFormatError, match=r"ecg\.h5: record ids.*unique.*'a', 'b'"):
        zenodo_af.read(tmp_path, fs=100)
    with pytest.raises(ValueError, match="record ids must be unique"):
        SignalDataset([np.zeros(5, np.float32)] * 2, [0, 0], 100, ["s", "s"], ["r", "r"], ("a",), "real", "x")


def test_a_record_listed_twice_in_the_reference_is_refused(tmp_path, capsys):
    make_set(tmp_path, "NA")
    (tmp_path / "REFERENCE.csv").write_text("A00001,N\nA00002,A\nA00001,N\n")
    assert "listed twice" in cli_error("cinc2017", tmp_path, capsys)


def test_a_zero_byte_reference_file_is_an_empty_dataset_error(tmp_path, capsys):
    make_set(tmp_path, "NA")
    (tmp_path / "REFERENCE.csv").write_bytes(b"")
    err = cli_error("cinc2017", tmp_path, capsys)
    assert "REFERENCE.csv" in err and "lists no records" in err


def test_zero_records_are_an_empty_dataset_error(tmp_path, capsys):
    write_h5(tmp_path / "ecg.h5", [], np.zeros(0, dtype=np.int64), fs=300.0)
    err = cli_error("zenodo_af", tmp_path, capsys)
    assert str(tmp_path) in err and "holds no zenodo_af records" in err


# ---------------------------------------------------------------- shapes and declared sizes

def test_an_hdf5_file_declaring_gigabytes_it_does_not_store_is_refused_before_allocating(tmp_path):
    path = tmp_path / "ecg.h5"
    with h5py.File(path, "w") as f:
        # 2 GiB of variable-length handles (16 bytes each) declared, nothing written
        f.create_dataset("signals", shape=(2 ** 27,), dtype=h5py.vlen_dtype(np.float32))
        f["labels"] = np.zeros(1000, dtype=np.int64)
    assert path.stat().st_size < 100_000
    with pytest.raises(DataFormatError, match=r"ecg\.h5.*'signals'.*stores 0 bytes"):
        zenodo_af.read(tmp_path, fs=300)


# ---------------------------------------------------------------- text and paths

def test_a_non_utf8_reference_file_names_the_file(tmp_path, capsys):
    make_set(tmp_path, "NA")
    (tmp_path / "REFERENCE.csv").write_bytes("A00001,N\nA00002,\xc4\n".encode("latin-1"))
    err = cli_error("cinc2017", tmp_path, capsys)
    assert "REFERENCE.csv" in err and "UTF-8" in err


def test_a_header_naming_a_file_outside_its_folder_is_refused(tmp_path, capsys):
    write_record(tmp_path / "data", "A00001", np.arange(100))
    (tmp_path / "data" / "REFERENCE.csv").write_text("A00001,N\n")
    hea = tmp_path / "data" / "A00001.hea"
    hea.write_bytes(hea.read_bytes().replace(b"A00001.mat 16", b"../../x.mat 16"))
    err = cli_error("cinc2017", tmp_path / "data", capsys)
    assert "A00001.hea" in err and "'../../x.mat'" in err and "plain file name" in err


@pytest.mark.timeout(20)
def test_a_fifo_where_a_mat_file_should_be_is_refused_without_hanging(tmp_path, capsys):
    make_set(tmp_path, "NA")
    (tmp_path / "A00002.mat").unlink()
    os.mkfifo(tmp_path / "A00002.mat")
    err = cli_error("cinc2017", tmp_path, capsys)
    assert "A00002.mat" in err and "not a regular file" in err


def test_nothing_is_written_while_refusing(tmp_path, capsys):
    make_set(tmp_path, "NA")
    (tmp_path / "REFERENCE.csv").write_bytes(b"")
    before = sorted(p.name for p in tmp_path.iterdir())
    cli_error("cinc2017", tmp_path, capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_the_real_cinc_files_in_a_read_only_folder_are_read_in_place():
    # The records under ../shared are the real published files (read-only): skip on a fresh clone without them.
    real = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "cinc2017"
    if not real.is_dir():
        pytest.skip("../shared/realdata/cinc2017 is not beside this checkout")
    ds = helpers.data.load("cinc2017", real)
    assert ds.source == "real" and len(ds) == 16 and ds.fs == 300.0


# ---------------------------------------------------------------- advice that fits the folder (issue 19)

def write_corrupt_h5_set(folder: Path) -> Path:
    """A Zenodo-AF folder whose ecg.h5 is cut to its first 100 bytes; returns that file."""
    folder.mkdir(parents=True)
    bad = write_h5(folder / "ecg.h5", np.zeros((4, 300), dtype=np.float32), np.array([0, 1, 0, 1]))
    bad.write_bytes(bad.read_bytes()[:100])
    return bad


def test_a_damaged_file_in_a_users_folder_says_replace_it_from_your_source(tmp_path, capsys):
    bad = write_corrupt_h5_set(tmp_path / "mine")
    err = cli_error("zenodo_af", tmp_path / "mine", capsys)
    assert err.startswith(f"error: bad data: {bad}: could not read it as HDF5 (")
    assert err.rstrip().endswith("the file may be truncated or corrupt; this file is damaged: replace it from "
                                 "your source (the course never writes to this folder)")
    assert "fetch" not in err and "delete" not in err and len(err.splitlines()) == 1


def test_a_damaged_file_in_the_cache_says_delete_it_and_fetch_again(tmp_path):
    bad = write_corrupt_h5_set(tmp_path / "cache" / "zenodo_af" / "real")
    with pytest.raises(DataFormatError) as err:
        helpers.data.load("zenodo_af", root=tmp_path / "cache", source="real")
    assert str(err.value).startswith(f"{bad}: could not read it as HDF5 (")
    assert str(err.value).endswith("; delete it and run `python -m helpers data fetch zenodo_af` again")


def test_a_path_that_is_a_symlink_loop_is_called_one(tmp_path, capsys):
    loop = tmp_path / "loop"
    loop.symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(loop)
    assert main(["data", "info", "mitbih", "--path", str(loop)]) == EXIT_FORMAT
    err = capsys.readouterr().err
    assert err.startswith(f"error: bad data: {loop}: is a symbolic-link loop (a link that leads back to itself)")
    assert "no such folder" not in err and len(err.splitlines()) == 1


def test_a_data_file_that_is_a_symlink_loop_is_called_one(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "100.hea").symlink_to(folder / "100.hea")
    (folder / "100.dat").write_bytes(b"")
    assert main(["data", "info", "mitbih", "--path", str(folder)]) == EXIT_FORMAT
    err = capsys.readouterr().err
    assert err.startswith(f"error: bad data: {folder / '100.hea'}: is a symbolic-link loop")


@pytest.mark.parametrize("damage", ["truncated", "not a checkpoint"])
def test_a_damaged_checkpoint_names_the_file(tmp_path, damage):
    import torch

    from helpers.train import load_checkpoint, save_checkpoint

    model = torch.nn.Linear(3, 2)
    path = save_checkpoint(tmp_path / "best.pt", model)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        torch.save({"weights": [1, 2]}, path)
    with pytest.raises(DataFormatError) as err:
        load_checkpoint(path, torch.nn.Linear(3, 2))
    msg = str(err.value)
    assert msg.startswith(f"{path}: ") and "\n" not in msg
    assert ("not a readable checkpoint, truncated or corrupt (" in msg) == (damage == "truncated")


def test_a_zip_bomb_in_a_users_zenodo_folder_is_refused_before_extracting(tmp_path):
    try:
        from test_wesad import write_zip_bomb
    except ImportError:  # tests/ imported as a package
        from tests.test_wesad import write_zip_bomb
    try:
        from crafted import PEAK_LIMIT_MB, run_cli
    except ImportError:
        from tests.crafted import PEAK_LIMIT_MB, run_cli

    (tmp_path / "mine").mkdir()
    bomb = tmp_path / "mine" / "record.zip"
    write_zip_bomb(bomb, "ecg.h5", 3 << 30)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    out = run_cli("data", "info", "zenodo_af", "--path", str(tmp_path / "mine"), env={"TMPDIR": str(scratch)})
    assert out.code == EXIT_FORMAT and len(out.stderr.splitlines()) == 1, out.stderr
    assert out.stderr.startswith(f"error: bad data: {bomb}: member ecg.h5 declares 3,221,225,472 bytes from ")
    assert out.stderr.endswith("so this is a zip bomb or a corrupt archive: nothing was extracted")
    assert out.peak_mb < PEAK_LIMIT_MB
    assert list(scratch.iterdir()) == []  # the temporary extraction folder is gone, and nothing was written into it
