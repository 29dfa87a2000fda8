"""helpers.data.zenodo_af: the supported layout round-trips, other layouts and bad files fail naming the file,
fetch() works against a local fake of the Zenodo records API (never the internet), and the synthetic default is
cached."""
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
from helpers.data.errors import ChecksumError, DataFormatError, DataUnavailableError

try:
    from http_server import LocalServer, closed_port_url
except ImportError:  # tests/ imported as a package
    from tests.http_server import LocalServer, closed_port_url

# Most files below carry no patient ids; the warning that says so is checked once, in its own test.
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


# ---------------------------------------------------------------- the supported layout round-trips

def write_h5(path: Path, signals=X, labels=LABELS, *, fs: float | None = None, **ids) -> Path:
    """A file in the supported layout (write_synthetic's): variable-length signals, labels, optional ids and fs."""
    with h5py.File(path, "w") as f:
        if fs is not None:
            f.attrs["fs"] = fs
        sig = f.create_dataset("signals", (len(signals),), dtype=h5py.vlen_dtype(np.float32))
        for i, x in enumerate(signals):
            sig[i] = x
        f["labels"] = labels
        for name, values in ids.items():  # patient_ids=..., record_ids=...
            f.create_dataset(name, data=np.asarray(values, dtype=object), dtype=h5py.string_dtype())
    return path


def h5_bytes(**kwargs) -> bytes:
    buf = io.BytesIO()
    write_h5(buf, **kwargs)
    return buf.getvalue()


def test_the_supported_layout_round_trips_with_fs_and_patient_and_record_ids(tmp_path):
    write_h5(tmp_path / "ecg.h5", fs=200.0, patient_ids=PATIENTS, record_ids=[f"r{i}" for i in range(N)])
    ds = zenodo_af.read(tmp_path)
    _check(ds, fs=200.0)
    assert ds.record_ids.tolist() == [f"r{i}" for i in range(N)]
    assert ds.metadata["fs_from"].endswith("ecg.h5, attribute fs")


def test_variable_length_records_keep_their_lengths_and_fs_argument_wins(tmp_path):
    lengths = [300, 350, 400, 320, 390, 310]
    write_h5(tmp_path / "af.hdf5", [X[i, :n] for i, n in enumerate(lengths)], fs=500.0, patient_ids=PATIENTS)
    _check(zenodo_af.read(tmp_path, fs=360), fs=360.0, lengths=lengths)


def test_missing_patient_ids_are_announced(tmp_path):
    write_h5(tmp_path / "ecg.h5", fs=300.0)
    with pytest.warns(UserWarning, match="no patient ids in the files"):
        _check(zenodo_af.read(tmp_path), patients=False)


def test_a_missing_sampling_rate_assumes_300_hz_and_says_so(tmp_path):
    write_h5(tmp_path / "ecg.h5", patient_ids=PATIENTS)
    with pytest.warns(UserWarning, match="no sampling rate in the files; assuming 300 Hz"):
        ds = zenodo_af.read(tmp_path)
    assert ds.fs == 300.0 and ds.metadata["fs_from"].startswith("assumed default")


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
        z.writestr("inner/ecg.h5", h5_bytes())
    (tmp_path / "bundle.zip").write_bytes(buf.getvalue())
    _check(zenodo_af.read(tmp_path, fs=300), patients=False)
    assert [p.name for p in tmp_path.iterdir()] == ["bundle.zip"]  # read in place: nothing extracted here


# ---------------------------------------------------------------- other layouts are refused, naming the file

@pytest.mark.parametrize("name, write", [
    ("X.npy", lambda p: np.save(p, X)),
    ("ecg.csv", lambda p: pd.DataFrame(X).assign(label=LABELS).to_csv(p, index=False)),
    ("af.npz", lambda p: np.savez(p, signals=X, labels=LABELS)),
    ("af.mat", lambda p: scipy.io.savemat(p, {"ECG": X, "label": LABELS[:, None]})),
])
def test_a_file_in_another_format_is_refused_naming_it_and_the_supported_layout(tmp_path, name, write):
    write(tmp_path / name)
    (tmp_path / "README.txt").write_text("not data")
    with pytest.raises(DataFormatError) as err:
        zenodo_af.read(tmp_path, fs=300)
    msg = str(err.value)
    assert msg.startswith(f"{tmp_path / name}: ") and "files are not read by this reader" in msg
    assert "supported: one HDF5 file (.h5/.hdf5) holding 'signals' (variable-length float" in msg


def test_a_file_in_another_format_beside_a_supported_one_is_still_refused(tmp_path):
    write_h5(tmp_path / "ecg.h5", fs=300.0)
    np.save(tmp_path / "y.npy", LABELS)
    with pytest.raises(DataFormatError, match=r"y\.npy: NPY files are not read"):
        zenodo_af.read(tmp_path)


@pytest.mark.parametrize("arrangement, problem", [
    ("matrix", r"'signals' is float32 \(6, 400\), not variable-length numbers"),
    ("nested", r"no dataset 'signals' at the top level \(found: data, labels\)"),
    ("per-record group", r"'signals' is a group, not a dataset"),
])
def test_an_hdf5_file_in_another_arrangement_names_the_file_and_the_layout(tmp_path, arrangement, problem):
    with h5py.File(tmp_path / "af.h5", "w") as f:
        if arrangement == "matrix":
            f["signals"] = X
        elif arrangement == "nested":
            f["data/signals"] = X
        else:
            for i in range(N):
                f[f"signals/rec{i}"] = X[i]
        f["labels"] = LABELS
    with pytest.raises(DataFormatError, match=rf"af\.h5: {problem}.*supported: one HDF5 file"):
        zenodo_af.read(tmp_path, fs=300)


def test_two_hdf5_files_are_refused_naming_both(tmp_path):
    write_h5(tmp_path / "a.h5")
    write_h5(tmp_path / "b.h5")
    with pytest.raises(DataFormatError, match=r"several HDF5 files \(a\.h5, b\.h5\)"):
        zenodo_af.read(tmp_path, fs=300)


def test_a_folder_without_data_says_what_is_supported(tmp_path):
    (tmp_path / "README.txt").write_text("hello")
    with pytest.raises(DataFormatError, match="no zenodo_af records: the folder holds no HDF5 file; expected one HDF5"):
        zenodo_af.read(tmp_path, fs=300)


# ---------------------------------------------------------------- bad content names the file

def test_truncated_hdf5_names_the_file(tmp_path):
    data = h5_bytes()
    (tmp_path / "af.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match=r"af\.h5: could not read it as HDF5"):
        zenodo_af.read(tmp_path, fs=300)


def test_nan_samples_name_the_file_and_record(tmp_path):
    bad = X.copy()
    bad[3, 10] = np.nan
    write_h5(tmp_path / "af.h5", bad)
    with pytest.raises(DataFormatError, match=r"af\.h5: record 3.*NaN"):
        zenodo_af.read(tmp_path, fs=300)


def test_label_values_other_than_0_and_1_name_the_file(tmp_path):
    write_h5(tmp_path / "af.h5", labels=np.array([0, 1, 2, 0, 1, 0]))
    with pytest.raises(DataFormatError, match=r"af\.h5.*must be 0 \(normal\) or 1 \(AF\)"):
        zenodo_af.read(tmp_path, fs=300)


def test_label_count_not_matching_signal_count_names_the_file(tmp_path):
    write_h5(tmp_path / "af.h5", labels=LABELS[:4])
    with pytest.raises(DataFormatError, match=r"af\.h5: 'labels' is int64 \(4,\); expected 6 numbers"):
        zenodo_af.read(tmp_path, fs=300)


def test_patient_ids_of_the_wrong_count_name_the_file(tmp_path):
    write_h5(tmp_path / "af.h5", patient_ids=PATIENTS[:5])
    with pytest.raises(DataFormatError, match=r"af\.h5: patient ids '/patient_ids'.*expected 6 strings"):
        zenodo_af.read(tmp_path, fs=300)


# ---------------------------------------------------------------- fetch against a local fake Zenodo

def _fake_record(server_files: dict[str, bytes], port_url, md5_override: dict[str, str] | None = None) -> bytes:
    entries = []
    for path, body in server_files.items():
        name = path.rsplit("/", 1)[-1]
        md5 = (md5_override or {}).get(name, hashlib.md5(body).hexdigest())
        entries.append({"key": name, "size": len(body), "checksum": f"md5:{md5}",
                        "links": {"self": port_url(path)}})
    return json.dumps({"id": 15302489, "metadata": {"title": "fake", "description": "a fake record"},
                       "files": entries}).encode()


def _serve(files: dict[str, bytes], md5_override=None) -> LocalServer:
    server = LocalServer(dict(files))
    server.files["/api/records/15302489"] = _fake_record(files, server.url, md5_override)
    return server


def _fetch(root: Path, server: LocalServer, **kwargs):
    return helpers.data.fetch("zenodo_af", root, api_url=server.url("/api/records"), progress=False, **kwargs)


def test_fetch_downloads_every_listed_file_and_load_reads_them(tmp_path):
    files = {"/files/ecg.h5": h5_bytes(fs=250.0), "/files/README.md": b"about the record\n"}
    with _serve(files) as server:
        dest = _fetch(tmp_path, server)
        assert sorted(p.name for p in dest.iterdir()) == [".README.md.sha256", ".ecg.h5.sha256", "README.md",
                                                          "ZENODO_RECORD.json", "ecg.h5"]
        # A second fetch finds verified files and downloads nothing.
        n_before = len(server.requests)
        _fetch(tmp_path, server)
        assert server.requests[n_before:] == ["/api/records/15302489"]
    ds = helpers.data.load("zenodo_af", root=tmp_path, source="real")
    _check(ds, fs=250.0, patients=False)  # the rate comes from the file's fs attribute
    assert helpers.data.load("zenodo_af", root=tmp_path, source="auto").source == "real"


def test_fetch_with_a_checksum_mismatch_raises_and_keeps_nothing(tmp_path):
    files = {"/files/ecg.h5": h5_bytes()}
    with _serve(files, md5_override={"ecg.h5": "0" * 32}) as server, pytest.raises(ChecksumError, match="ecg.h5"):
        _fetch(tmp_path, server)
    assert not any(p.suffix == ".h5" for p in (tmp_path / "zenodo_af" / "real").iterdir())


def test_fetch_with_the_server_down_says_what_to_do(tmp_path):
    with pytest.raises(DataUnavailableError, match="synthetic"):
        helpers.data.fetch("zenodo_af", tmp_path, api_url=closed_port_url("/api/records"), timeout=5,
                           progress=False)


def test_an_interrupted_fetch_is_never_loaded_as_the_real_data(tmp_path, small_default, capsys):
    # ecg.h5 arrives, then the server is gone before README.md: the folder holds a readable file but is incomplete.
    files = {"/files/ecg.h5": h5_bytes(fs=300.0), "/files/README.md": b"about the record\n"}
    with _serve(files) as server:
        del server.files["/files/README.md"]
        with pytest.raises(DataUnavailableError):
            _fetch(tmp_path, server)
    assert (tmp_path / "zenodo_af" / "real" / "ecg.h5").exists()
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
        z.writestr("ecg.h5", h5_bytes(fs=300.0))
    with _serve({"/files/data.zip": buf.getvalue()}) as server:
        dest = _fetch(tmp_path, server)
    assert (dest / "data" / "ecg.h5").exists()
    _check(helpers.data.load("zenodo_af", root=tmp_path, source="real"), patients=False)


def test_a_zipped_copy_in_a_users_folder_is_read_without_writing_there(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("ecg.h5", h5_bytes())
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
