"""helpers.data.cinc2017 on files written here in the ORIGINAL CinC 2017 layout (no network, no /work/shared)."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io

import helpers.data
from helpers.data import cinc2017, cinc2017_record
from helpers.data.errors import DataFormatError, DataUnavailableError

try:
    from http_server import LocalServer, closed_port_url
except ImportError:  # tests/ imported as a package
    from tests.http_server import LocalServer, closed_port_url


def write_record(folder: Path, rec: str, adu: np.ndarray, *, gain: str = "1000/mV",
                 sig_len: int | None = None) -> None:
    """One record exactly as published: v4 .mat with int16 'val', CRLF header with ISO date before time."""
    folder.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(folder / f"{rec}.mat", {"val": adu.astype(np.int16)[None, :]}, format="4")
    n = adu.size if sig_len is None else sig_len
    (folder / f"{rec}.hea").write_bytes(
        f"{rec} 1 300 {n} 2014-05-08 05:05:15 \r\n"
        f"{rec}.mat 16+24 {gain} 16 0 {int(adu[0])} 0 0 ECG \r\n".encode())


def make_set(folder: Path, labels: str = "NAO~NA", *, subfolders: bool = False,
             reference: str = "REFERENCE.csv") -> list[str]:
    rng = np.random.default_rng(0)
    recs = [f"A{i:05d}" for i in range(1, len(labels) + 1)]
    for rec in recs:
        write_record(folder / rec[:3] if subfolders else folder, rec, rng.integers(-800, 800, 900 + 30 * int(rec[1:])))
    (folder / reference).write_text("".join(f"{r},{c}\n" for r, c in zip(recs, labels)))
    return recs


def test_header_with_date_before_time_is_parsed(tmp_path):
    write_record(tmp_path, "A00001", np.arange(10))
    h = cinc2017_record.read_header(tmp_path / "A00001.hea")
    assert (h.fs, h.sig_len, h.gain, h.baseline, h.units) == (300.0, 10, 1000.0, 0, "mV")
    assert h.base_datetime.isoformat() == "2014-05-08T05:05:15"


def test_record_is_converted_to_millivolts_with_gain_and_baseline(tmp_path):
    write_record(tmp_path, "A00001", np.array([1000, -500, 0]))
    write_record(tmp_path, "A00002", np.array([210, 10, 0]), gain="200(10)/mV")
    assert cinc2017_record.read_record(tmp_path / "A00001.hea").tolist() == [1.0, -0.5, 0.0]
    x = cinc2017_record.read_record(tmp_path / "A00002.hea")
    assert x.dtype == np.float32 and x.tolist() == [1.0, 0.0, -0.05000000074505806]


def test_flat_and_physionet_subfolder_layouts_read_the_same(tmp_path):
    make_set(tmp_path / "flat")
    make_set(tmp_path / "nested", subfolders=True)
    a, b = cinc2017.read_folder(tmp_path / "flat"), cinc2017.read_folder(tmp_path / "nested")
    assert a.record_ids.tolist() == b.record_ids.tolist()
    assert all(np.array_equal(x, y) for x, y in zip(a.signals, b.signals))
    assert a.label_counts() == {"normal": 2, "af": 2, "other": 1, "noisy": 1}
    assert a.fs == 300.0 and a.source == "real" and (a.subject_ids == a.record_ids).all()


def test_final_v3_labels_win_over_original_reference(tmp_path):
    make_set(tmp_path / "training", "NNNNNN", subfolders=True)
    (tmp_path / "REFERENCE-v3.csv").write_text("A00001,A\nA00002,N\n")  # PhysioNet: next to training/
    ds = cinc2017.read_folder(tmp_path / "training")
    assert ds.metadata["reference"] == "REFERENCE-v3.csv" and ds.labels.tolist() == [1, 0]


def test_classes_na_keeps_normal_and_af_only(tmp_path):
    make_set(tmp_path, "NAO~NA")
    ds = cinc2017.read_folder(tmp_path, classes="NA")
    assert ds.class_names == ("normal", "af") and ds.labels.tolist() == [0, 1, 0, 1]
    assert helpers.data.load("cinc2017", tmp_path, classes="NA", limit=3).labels.tolist() == [0, 1, 0]


@pytest.mark.parametrize("keep", [0, 10, 40, 1000])
def test_truncated_or_empty_mat_names_the_file(tmp_path, keep):
    make_set(tmp_path)
    mat = tmp_path / "A00002.mat"
    mat.write_bytes(mat.read_bytes()[:keep])
    with pytest.raises(DataFormatError, match="A00002.mat"):
        cinc2017.read_folder(tmp_path)


def test_header_and_mat_length_mismatch_names_the_file(tmp_path):
    write_record(tmp_path, "A00001", np.arange(100), sig_len=9000)
    (tmp_path / "REFERENCE.csv").write_text("A00001,N\n")
    with pytest.raises(DataFormatError, match=r"A00001.mat.*9000"):
        cinc2017.read_folder(tmp_path)


def test_unknown_label_names_file_line_and_value(tmp_path):
    make_set(tmp_path)
    (tmp_path / "REFERENCE.csv").write_text("A00001,N\nA00002,X\n")
    with pytest.raises(DataFormatError, match=r"REFERENCE.csv, line 2: unknown label 'X'"):
        cinc2017.read_folder(tmp_path)


def test_record_listed_but_missing_is_named(tmp_path):
    make_set(tmp_path)
    (tmp_path / "A00003.hea").unlink()
    with pytest.raises(DataFormatError, match="A00003"):
        cinc2017.read_folder(tmp_path)


def test_load_real_without_data_says_how_to_fetch_or_point_at_a_folder(tmp_path):
    with pytest.raises(DataUnavailableError) as err:
        helpers.data.load("cinc2017", root=tmp_path, source="real")
    assert "python -m helpers data fetch cinc2017" in str(err.value) and "path=DIR" in str(err.value)
    assert not (tmp_path / "cinc2017").exists()  # looking did not create anything


SMALL = 24


@pytest.fixture
def small_synthetic(monkeypatch):
    monkeypatch.setattr(cinc2017, "SPEC", dataclasses.replace(cinc2017.SPEC, synthetic_size=SMALL))


def test_load_auto_falls_back_to_synthetic_with_one_banner_on_stderr(tmp_path, capsys, small_synthetic):
    ds = helpers.data.load("cinc2017", source="auto", root=tmp_path)
    assert ds.source == "synthetic" and len(ds) == SMALL and ds.fs == 300.0
    out, err = capsys.readouterr()
    assert err.count("SYNTHETIC DATA (cinc2017)") == 1 and "SYNTHETIC" not in out
    folder = next((tmp_path / "cinc2017" / "synthetic").iterdir())
    assert (folder / "SYNTHETIC.json").is_file() and folder.name.endswith(f"-seed0-n{SMALL}")
    again = helpers.data.load("cinc2017", root=tmp_path, source="synthetic", classes="NA")  # cached: read back, not rewritten
    assert set(again.labels.tolist()) <= {0, 1} and capsys.readouterr().err == ""


def test_write_synthetic_uses_the_original_format(tmp_path):
    out = helpers.data.write_synthetic("cinc2017", tmp_path / "syn", seed=3, size=30)
    first = (out / "A00001.hea").read_bytes().split(b"\r\n")[0].split()
    assert first[1:3] == [b"1", b"300"] and first[4].count(b"-") == 2 and first[5].count(b":") == 2
    assert scipy.io.loadmat(out / "A00001.mat")["val"].dtype == np.int16
    codes = {line.split(",")[1] for line in (out / "REFERENCE.csv").read_text().splitlines()}
    assert codes <= {"N", "A", "O"} and {"N", "A"} <= codes
    ds = helpers.data.read("cinc2017", out)
    assert ds.source == "synthetic" and len(ds) == 30
    again = helpers.data.read("cinc2017", helpers.data.write_synthetic("cinc2017", tmp_path / "syn2", seed=3, size=30))
    assert all(np.array_equal(a, b) for a, b in zip(ds.signals, again.signals))


def test_real_data_in_the_cache_is_preferred_when_present(tmp_path):
    make_set(tmp_path / "cinc2017" / "real" / "training2017")
    ds = helpers.data.load("cinc2017", root=tmp_path, source="auto")
    assert ds.source == "real" and len(ds) == 6


@pytest.mark.parametrize("layout", ["flat", "parent_of_training2017", "physionet_training"])
def test_a_users_folder_is_read_in_place_in_each_published_layout(tmp_path, layout):
    where = {"flat": tmp_path / "mine", "parent_of_training2017": tmp_path / "mine" / "training2017",
             "physionet_training": tmp_path / "mine" / "training"}[layout]
    make_set(where, "NANA", subfolders=layout == "physionet_training")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    ds = helpers.data.load("cinc2017", tmp_path / "mine")
    assert ds.source == "real" and ds.labels.tolist() == [0, 1, 0, 1]
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_fetch_offline_raises_clear_error(tmp_path):
    with pytest.raises(DataUnavailableError) as err:
        cinc2017.fetch(tmp_path, base_url=closed_port_url("/challenge-2017/1.0.0/"), progress=False)
    assert "127.0.0.1" in str(err.value) and "data fetch cinc2017" in str(err.value)


def _published(labels: str, tmp_path: Path) -> dict[str, bytes]:
    src = tmp_path / "src" / "training2017"
    make_set(src, labels)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for f in sorted(src.iterdir()):
            zf.write(f, f"training2017/{f.name}")
    archive = buf.getvalue()
    ref = "".join(f"A{i:05d},{c}\n" for i, c in enumerate(labels, start=1)).encode()
    sums = "".join(f"{hashlib.sha256(b).hexdigest()} {n}\n" for n, b in
                   [("training2017.zip", archive), ("REFERENCE-v3.csv", ref)]).encode()
    return {"/p/SHA256SUMS.txt": sums, "/p/training2017.zip": archive, "/p/REFERENCE-v3.csv": ref}


def test_fetch_downloads_verifies_and_extracts_into_the_cache(tmp_path, monkeypatch):
    with LocalServer(_published("AANN", tmp_path)) as server:
        monkeypatch.setattr(cinc2017, "BASE_URL", server.url("/p/"))
        folder = helpers.data.fetch("cinc2017", tmp_path / "cache", progress=False)
        n = len(server.requests)
        assert helpers.data.fetch("cinc2017", tmp_path / "cache", progress=False) == folder
        assert len(server.requests) == n  # a verified cache is not downloaded again
    ds = helpers.data.load("cinc2017", root=tmp_path / "cache", source="real")
    assert ds.labels.tolist() == [1, 1, 0, 0] and ds.source == "real"
    assert not list((tmp_path / "cache").rglob("training2017.zip"))  # extracted, then removed


def test_fetch_rejects_a_corrupt_archive_and_leaves_no_record_folder(tmp_path, monkeypatch):
    archive, ref = b"not a zip at all", b"A00001,N\n"
    sums = "".join(f"{hashlib.sha256(b).hexdigest()} {n}\n" for n, b in
                   [("training2017.zip", archive), ("REFERENCE-v3.csv", ref)]).encode()
    files = {"/p/SHA256SUMS.txt": sums, "/p/training2017.zip": archive, "/p/REFERENCE-v3.csv": ref}
    with LocalServer(files) as server, pytest.raises(DataFormatError, match="training2017.zip"):
        monkeypatch.setattr(cinc2017, "BASE_URL", server.url("/p/"))
        helpers.data.fetch("cinc2017", tmp_path, progress=False)
    assert not (tmp_path / "cinc2017" / "real" / "training2017").exists()
    with pytest.raises(DataUnavailableError, match="interrupted"):
        helpers.data.load("cinc2017", root=tmp_path, source="real")
