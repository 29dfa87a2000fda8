"""helpers.data.zenodo_af: every supported layout round-trips, bad files fail naming the file, fetch() works
against a local fake of the Zenodo records API (never the internet), and the synthetic default is cached."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.io

import helpers.data
from helpers.data import zenodo_af
from helpers.data.fetch import ChecksumError, DataFormatError, DataUnavailableError

try:
    from http_server import LocalServer, closed_port_url
except ImportError:  # tests/ imported as a package
    from tests.http_server import LocalServer, closed_port_url

# Most layouts below carry no patient ids; the warning that says so is checked once, in its own test.
pytestmark = pytest.mark.filterwarnings("ignore:.*no patient ids in the files:UserWarning")

N, T = 6, 400
LABELS = np.array([0, 1, 0, 0, 1, 0])
PATIENTS = np.array(["p1", "p1", "p2", "p3", "p3", "p4"])
X = np.random.default_rng(0).normal(size=(N, T)).round(4).astype(np.float32)


def _check(ds, *, fs=None, patients=True, lengths=None):
    assert len(ds) == N and ds.source == "real" and ds.name == "zenodo_af"
    assert np.array_equal(ds.labels, LABELS)
    assert all(s.dtype == np.float32 for s in ds.signals)
    if lengths is None:
        assert np.allclose(np.stack(ds.signals), X, atol=1e-4)
    else:
        assert [s.size for s in ds.signals] == lengths
    if fs is not None:
        assert ds.fs == fs
    if patients:
        assert list(ds.subject_ids) == list(PATIENTS)
    else:  # no patient ids in the files: each record is its own subject, and the metadata says so
        assert ds.n_subjects == N and "own subject" in ds.metadata["subject_ids"]


# ---------------------------------------------------------------- layouts round-trip

def test_csv_with_signals_as_rows_and_a_label_column(tmp_path):
    df = pd.DataFrame(X, columns=[f"s{i}" for i in range(T)])
    df.insert(0, "patient_id", PATIENTS)
    df["label"] = LABELS
    df.to_csv(tmp_path / "ecg.csv", index=False)
    _check(zenodo_af.read(tmp_path, fs=250), fs=250.0)


def test_csv_text_columns_are_not_mistaken_for_samples_and_fs_argument_wins(tmp_path):
    df = pd.DataFrame(X, columns=[f"s{i}" for i in range(T)])
    df.insert(0, "comment", ["ok"] * N)
    df.insert(0, "label", LABELS)
    df["fs"] = 500
    df.to_csv(tmp_path / "ecg.csv", index=False)
    assert zenodo_af.read(tmp_path).fs == 500.0
    ds = zenodo_af.read(tmp_path, fs=250)
    _check(ds, fs=250.0, patients=False)
    assert ds.metadata["fs_from"] == "fs= argument"


def test_csv_with_signals_as_columns_and_labels_in_a_separate_file(tmp_path):
    pd.DataFrame(X.T).to_csv(tmp_path / "signals.csv", index=False, header=False)
    pd.DataFrame({"record": [f"r{i}" for i in range(N)], "label": LABELS}).to_csv(tmp_path / "labels.csv",
                                                                                     index=False)
    with pytest.warns(UserWarning, match="assuming 300 Hz"):
        ds = zenodo_af.read(tmp_path)
    _check(ds, fs=zenodo_af.DEFAULT_FS, patients=False)
    assert ds.record_ids[0] == "r0"


def test_headerless_csv_with_the_label_as_last_column(tmp_path):
    np.savetxt(tmp_path / "train.csv", np.column_stack([X, LABELS]), delimiter=",", fmt="%.4f")
    _check(zenodo_af.read(tmp_path, fs=125), patients=False)


def test_npy_matrix_and_labels(tmp_path):
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", LABELS)
    _check(zenodo_af.read(tmp_path, fs=300), patients=False)


@pytest.mark.filterwarnings("default")
def test_missing_patient_ids_are_announced(tmp_path):
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", LABELS)
    with pytest.warns(UserWarning, match="each record is treated as its own subject"):
        zenodo_af.read(tmp_path, fs=300)


def test_npy_keras_style_channel_axis(tmp_path):
    np.save(tmp_path / "data.npy", X[:, :, None])
    np.save(tmp_path / "labels.npy", LABELS.astype(np.float32))  # 0.0 / 1.0 floats are fine
    _check(zenodo_af.read(tmp_path, fs=300), patients=False)


def test_npz_with_columns_fs_and_patients(tmp_path):
    np.savez(tmp_path / "af.npz", ecg=X.T, labels=LABELS, fs=np.array(500.0), patient_ids=PATIENTS)
    _check(zenodo_af.read(tmp_path), fs=500.0)


def test_mat_v5_matrix(tmp_path):
    scipy.io.savemat(tmp_path / "af.mat", {"ECG": X, "label": LABELS[:, None], "Fs": 360.0})
    _check(zenodo_af.read(tmp_path), fs=360.0, patients=False)


def test_mat_v5_cell_array_of_variable_length_records(tmp_path):
    lengths = [300, 350, 400, 320, 390, 310]
    cells = np.empty((N, 1), dtype=object)
    for i, n in enumerate(lengths):
        cells[i, 0] = X[i, :n]
    scipy.io.savemat(tmp_path / "af.mat", {"signals": cells, "labels": LABELS, "fs": 300})
    _check(zenodo_af.read(tmp_path), patients=False, lengths=lengths)


def _write_mat73(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """A MATLAB v7.3 file: HDF5 with MATLAB's 128-byte header in a 512-byte user block, arrays column-major."""
    with h5py.File(path, "w", userblock_size=512) as f:
        for k, v in arrays.items():
            f.create_dataset(k, data=v.T)  # MATLAB writes the transpose of what it shows
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    header = header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"
    with open(path, "r+b") as f:
        f.write(header)


def test_mat_v73_through_h5py(tmp_path):
    _write_mat73(tmp_path / "af.mat", {"X": X.astype(np.float64), "y": LABELS[:, None].astype(np.float64),
                                      "fs": np.array([[128.0]])})
    with pytest.raises(NotImplementedError):  # the premise: scipy refuses v7.3
        scipy.io.loadmat(tmp_path / "af.mat")
    _check(zenodo_af.read(tmp_path), fs=128.0, patients=False)


def test_hdf5_matrix_with_fs_attribute(tmp_path):
    with h5py.File(tmp_path / "af.h5", "w") as f:
        f.attrs["sampling_rate"] = 200.0
        f["data/signals"] = X
        f["data/labels"] = LABELS
        f["data/patient_id"] = PATIENTS.astype(object).astype("S")
    _check(zenodo_af.read(tmp_path), fs=200.0)


def test_hdf5_group_with_one_dataset_per_record(tmp_path):
    lengths = [300, 350, 400, 320, 390, 310]
    with h5py.File(tmp_path / "af.hdf5", "w") as f:
        for i, n in enumerate(lengths):
            f[f"records/rec{i}"] = X[i, :n]
        f["labels"] = LABELS
    ds = zenodo_af.read(tmp_path, fs=300)
    _check(ds, patients=False, lengths=lengths)
    assert ds.record_ids[0] == "rec0"


def test_write_synthetic_round_trips_through_the_reader_and_is_marked_synthetic(tmp_path):
    out = helpers.data.write_synthetic("zenodo_af", tmp_path / "syn", seed=1, size=12)
    manifest = json.loads((out / "SYNTHETIC.json").read_text())
    assert manifest["synthetic"] is True and manifest["seed"] == 1 and manifest["size"] == 12
    ds = helpers.data.read("zenodo_af", out)
    assert ds.source == "synthetic" and len(ds) == 12 and ds.fs == 300.0
    assert ds.n_subjects < 12  # patient ids survive the round trip
    durations = ds.durations_s()
    assert durations.min() >= 10 and durations.max() <= 60 and np.ptp(durations) > 0


def test_zip_archives_are_extracted(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("inner/X.npy", _npy_bytes(X))
        z.writestr("inner/y.npy", _npy_bytes(LABELS))
    (tmp_path / "bundle.zip").write_bytes(buf.getvalue())
    _check(zenodo_af.read(tmp_path, fs=300), patients=False)
    assert [p.name for p in tmp_path.iterdir()] == ["bundle.zip"]  # read in place: nothing extracted here


# ---------------------------------------------------------------- bad inputs name the file

def _npy_bytes(a: np.ndarray) -> bytes:
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def test_truncated_npy_names_the_file(tmp_path):
    (tmp_path / "X.npy").write_bytes(_npy_bytes(X)[:-500])
    np.save(tmp_path / "y.npy", LABELS)
    with pytest.raises(DataFormatError, match=r"X\.npy.*truncated"):
        zenodo_af.read(tmp_path, fs=300)


def test_truncated_hdf5_names_the_file(tmp_path):
    with h5py.File(tmp_path / "full.h5", "w") as f:
        f["signals"] = X
        f["labels"] = LABELS
    data = (tmp_path / "full.h5").read_bytes()
    (tmp_path / "full.h5").unlink()
    (tmp_path / "af.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match=r"af\.h5"):
        zenodo_af.read(tmp_path, fs=300)


def test_truncated_csv_row_is_reported_as_missing_values(tmp_path):
    df = pd.DataFrame(X, columns=[f"s{i}" for i in range(T)])
    df.insert(0, "label", LABELS)
    text = df.to_csv(index=False)
    (tmp_path / "ecg.csv").write_text(text[: len(text) - 300])
    with pytest.raises(DataFormatError, match=r"ecg\.csv.*NaN"):
        zenodo_af.read(tmp_path, fs=300)


def test_nan_samples_name_the_file_and_record(tmp_path):
    bad = X.copy()
    bad[3, 10] = np.nan
    np.savez(tmp_path / "af.npz", signals=bad, labels=LABELS)
    with pytest.raises(DataFormatError, match=r"af\.npz: record 3.*NaN"):
        zenodo_af.read(tmp_path, fs=300)


def test_label_values_other_than_0_and_1_name_the_file(tmp_path):
    np.savez(tmp_path / "af.npz", signals=X, labels=np.array([0, 1, 2, 0, 1, 0]))
    with pytest.raises(DataFormatError, match=r"af\.npz.*must be 0 \(normal\) or 1 \(AF\)"):
        zenodo_af.read(tmp_path, fs=300)


def test_label_count_not_matching_signal_count_names_the_files(tmp_path):
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", LABELS[:4])
    with pytest.raises(DataFormatError, match=r"X\.npy.*4 labels in y\.npy"):
        zenodo_af.read(tmp_path, fs=300)


def test_unknown_layout_lists_the_files_and_variables_found(tmp_path):
    np.savez(tmp_path / "weird.npz", a=X, b=X)
    (tmp_path / "README.txt").write_text("hello")
    with pytest.raises(DataFormatError) as err:
        zenodo_af.read(tmp_path, fs=300)
    msg = str(err.value)
    assert "found no labels" in msg and "weird.npz: a" in msg and "README.txt" in msg


def test_pickled_object_arrays_are_refused(tmp_path):
    np.save(tmp_path / "X.npy", np.array([X[0], X[1, :10]], dtype=object), allow_pickle=True)
    np.save(tmp_path / "y.npy", LABELS[:2])
    with pytest.raises(DataFormatError, match=r"X\.npy"):
        zenodo_af.read(tmp_path, fs=300)


# ---------------------------------------------------------------- fetch against a local fake Zenodo

def _fake_record(server_files: dict[str, bytes], port_url, md5_override: dict[str, str] | None = None) -> bytes:
    entries = []
    for path, body in server_files.items():
        name = path.rsplit("/", 1)[-1]
        md5 = (md5_override or {}).get(name, hashlib.md5(body).hexdigest())
        entries.append({"key": name, "size": len(body), "checksum": f"md5:{md5}",
                        "links": {"self": port_url(path)}})
    return json.dumps({"id": 15302489, "metadata": {"title": "fake", "description": "sampled at 250 Hz"},
                       "files": entries}).encode()


def _serve(files: dict[str, bytes], md5_override=None) -> LocalServer:
    server = LocalServer(dict(files))
    server.files["/api/records/15302489"] = _fake_record(files, server.url, md5_override)
    return server


def _fetch(root: Path, server: LocalServer, **kwargs):
    return helpers.data.fetch("zenodo_af", root, api_url=server.url("/api/records"), progress=False, **kwargs)


def test_fetch_downloads_every_listed_file_and_load_reads_them(tmp_path):
    files = {"/files/X.npy": _npy_bytes(X), "/files/y.npy": _npy_bytes(LABELS)}
    with _serve(files) as server:
        dest = _fetch(tmp_path, server)
        assert sorted(p.name for p in dest.iterdir()) == [".X.npy.sha256", ".y.npy.sha256", "X.npy",
                                                          "ZENODO_RECORD.json", "y.npy"]
        # A second fetch finds verified files and downloads nothing.
        n_before = len(server.requests)
        _fetch(tmp_path, server)
        assert server.requests[n_before:] == ["/api/records/15302489"]
    ds = helpers.data.load("zenodo_af", root=tmp_path, source="real")
    _check(ds, fs=250.0, patients=False)  # the rate comes from the record's description
    assert helpers.data.load("zenodo_af", root=tmp_path, source="auto").source == "real"


def test_fetch_with_a_checksum_mismatch_raises_and_keeps_nothing(tmp_path):
    files = {"/files/X.npy": _npy_bytes(X)}
    with _serve(files, md5_override={"X.npy": "0" * 32}) as server, pytest.raises(ChecksumError, match="X.npy"):
        _fetch(tmp_path, server)
    assert not any(p.suffix == ".npy" for p in (tmp_path / "zenodo_af" / "real").iterdir())


def test_fetch_with_the_server_down_says_what_to_do(tmp_path):
    with pytest.raises(DataUnavailableError, match="synthetic"):
        helpers.data.fetch("zenodo_af", tmp_path, api_url=closed_port_url("/api/records"), timeout=5,
                           progress=False)


def test_an_interrupted_fetch_is_never_loaded_as_the_real_data(tmp_path, small_default, capsys):
    # X.npy arrives, then the server is gone before y.npy: the folder holds real files but is incomplete.
    files = {"/files/X.npy": _npy_bytes(X), "/files/y.npy": _npy_bytes(LABELS)}
    with _serve(files) as server:
        del server.files["/files/y.npy"]
        with pytest.raises(DataUnavailableError):
            _fetch(tmp_path, server)
    assert (tmp_path / "zenodo_af" / "real" / "X.npy").exists()
    with pytest.raises(DataUnavailableError, match="interrupted"):
        helpers.data.load("zenodo_af", root=tmp_path, source="real")
    assert helpers.data.load("zenodo_af", root=tmp_path, source="auto").source == "synthetic"
    assert "interrupted download" in capsys.readouterr().err
    with _serve(files) as server:  # fetching again completes the folder, which then counts as real
        _fetch(tmp_path, server)
    assert helpers.data.load("zenodo_af", root=tmp_path, source="auto").source == "real"


def test_fetch_unpacks_a_zipped_record(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("X.npy", _npy_bytes(X))
        z.writestr("y.npy", _npy_bytes(LABELS))
    with _serve({"/files/data.zip": buf.getvalue()}) as server:
        dest = _fetch(tmp_path, server)
    assert (dest / "data" / "X.npy").exists()
    _check(helpers.data.load("zenodo_af", root=tmp_path, source="real"), patients=False)


def test_a_zipped_copy_in_a_users_folder_is_read_without_writing_there(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("X.npy", _npy_bytes(X))
        z.writestr("y.npy", _npy_bytes(LABELS))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "record.zip").write_bytes(buf.getvalue())
    _check(helpers.data.load("zenodo_af", mine, fs=300), patients=False)
    assert [p.name for p in mine.iterdir()] == ["record.zip"]


# ---------------------------------------------------------------- load(): sources and the synthetic cache

@pytest.fixture
def small_default(monkeypatch):
    """Shrink the embedded default so tests stay fast, and count how often it is generated."""
    calls = []
    original = zenodo_af.write_synthetic

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(zenodo_af, "SPEC", dataclasses.replace(zenodo_af.SPEC, synthetic_size=16))
    monkeypatch.setattr(zenodo_af, "write_synthetic", counting)
    return calls


def test_synthetic_load_is_generated_once_then_read_from_the_cache(tmp_path, small_default):
    first = helpers.data.load("zenodo_af", root=tmp_path, source="synthetic")
    second = helpers.data.load("zenodo_af", root=tmp_path, source="synthetic")
    assert len(small_default) == 1
    assert first.source == second.source == "synthetic" and len(second) == 16
    assert np.array_equal(first.signals[3], second.signals[3])
    folder = tmp_path / "zenodo_af" / "synthetic" / f"{zenodo_af.SPEC.synthetic_version}-seed0-n16"
    assert (folder / "SYNTHETIC.json").exists() and second.metadata["synthetic"]["seed"] == 0
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temp folder left behind


def test_auto_without_real_files_prints_one_banner_and_uses_synthetic(tmp_path, small_default, capsys):
    ds = helpers.data.load("zenodo_af", root=tmp_path, source="auto", limit=5)
    assert ds.source == "synthetic" and len(ds) == 5
    out, err = capsys.readouterr()
    assert err.count("SYNTHETIC DATA (zenodo_af)") == 1 and "SYNTHETIC" not in out


def test_limit_takes_whole_subjects_in_a_seeded_order(tmp_path, small_default):
    full = helpers.data.load("zenodo_af", root=tmp_path, source="synthetic")
    a = helpers.data.load("zenodo_af", root=tmp_path, source="synthetic", limit=9, seed=0)
    b = helpers.data.load("zenodo_af", root=tmp_path, source="synthetic", limit=9, seed=0)
    assert len(a) == 9 and a.record_ids.tolist() == b.record_ids.tolist()
    # Every subject but possibly the last one taken keeps all its records.
    cut = [s for s in set(a.subject_ids) if (a.subject_ids == s).sum() != (full.subject_ids == s).sum()]
    assert len(cut) <= 1
    assert list(a.record_ids) == sorted(a.record_ids)  # original order kept


def test_real_without_files_says_how_to_fetch(tmp_path):
    with pytest.raises(DataUnavailableError, match="python -m helpers data fetch zenodo_af"):
        helpers.data.load("zenodo_af", root=tmp_path, source="real")


def test_synthetic_files_in_the_real_folder_are_not_passed_off_as_real(tmp_path):
    helpers.data.write_synthetic("zenodo_af", tmp_path / "zenodo_af" / "real", size=4)
    with pytest.raises(DataFormatError, match="synthetic"):
        helpers.data.load("zenodo_af", root=tmp_path, source="real")


def test_bad_source_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="source"):
        helpers.data.load("zenodo_af", root=tmp_path, source="fake")


# ---------------------------------------------------------------- sets shipped pre-split

def test_npy_train_and_test_splits_are_both_read(tmp_path):
    np.save(tmp_path / "X_train.npy", X[:4])
    np.save(tmp_path / "y_train.npy", LABELS[:4])
    np.save(tmp_path / "X_test.npy", X[4:])
    np.save(tmp_path / "y_test.npy", LABELS[4:])
    ds = zenodo_af.read(tmp_path, fs=300)
    assert len(ds) == N and sorted(ds.labels.tolist()) == sorted(LABELS.tolist())
    assert sum(r.startswith("train/") for r in ds.record_ids) == 4
    assert sum(r.startswith("test/") for r in ds.record_ids) == 2


def test_headerless_train_and_test_csvs_are_both_read(tmp_path):
    np.savetxt(tmp_path / "ecg_train.csv", np.column_stack([X[:4], LABELS[:4]]), delimiter=",", fmt="%.4f")
    np.savetxt(tmp_path / "ecg_test.csv", np.column_stack([X[4:], LABELS[4:]]), delimiter=",", fmt="%.4f")
    ds = zenodo_af.read(tmp_path, fs=300)
    order = np.argsort(ds.record_ids)  # "test/..." sorts before "train/..."
    assert np.allclose(np.stack(ds.signals)[order], np.concatenate([X[4:], X[:4]]), atol=1e-4)
