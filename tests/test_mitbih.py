"""helpers.data.mitbih on WFDB records written here (wfdb.wrsamp/wrann), the PhysioNet layout and its quirks:
MLII not always first, no MLII at all, two records of one patient, paced records, rhythm annotations."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import wfdb

from helpers.data import mitbih
from helpers.data.errors import ChecksumError, DataFormatError

try:
    from http_server import LocalServer
except ImportError:  # tests/ imported as a package
    from tests.http_server import LocalServer

FS = 360


def write(folder: Path, name: str, leads=("MLII", "V1"), n=3600, beats=None, symbols=None, aux=None) -> None:
    """One record as PhysioNet publishes it: format 212, 200 adu/mV, baseline 1024, an .atr file."""
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(n) / FS
    sig = np.stack([np.sin(2 * np.pi * (1 + i) * t) * (0.5 + i) for i in range(len(leads))], axis=1)
    wfdb.wrsamp(name, fs=FS, units=["mV"] * len(leads), sig_name=list(leads), p_signal=sig, fmt=["212"] * len(leads),
                adc_gain=[200.0] * len(leads), baseline=[1024] * len(leads), write_dir=str(folder))
    beats = np.arange(180, n - 100, 300) if beats is None else np.asarray(beats)
    symbols = ["N"] * len(beats) if symbols is None else symbols
    wfdb.wrann(name, "atr", beats, symbol=symbols, aux_note=aux or [""] * len(beats), write_dir=str(folder))


def test_aami_mapping_follows_ec57():
    got = mitbih.aami_classes(np.array(["N", "L", "R", "e", "j", "A", "a", "J", "S", "V", "E", "F", "/", "f", "Q",
                                        "+", "~", "|"]))
    assert "".join(got) == "NNNNNSSSSVVFQQQ"  # non-beat symbols map to ""
    assert got[-3:].tolist() == ["", "", ""]


def test_mlii_is_chosen_by_name_and_a_missing_mlii_is_substituted_and_said(tmp_path):
    write(tmp_path, "100", leads=("MLII", "V5"))
    write(tmp_path, "114", leads=("V5", "MLII"))   # MLII second, as in the real record 114
    write(tmp_path, "102", leads=("V5", "V2"))     # no MLII, as in 102 and 104
    ds = mitbih.read(tmp_path)
    assert ds.record_ids.tolist() == ["100", "102", "114"] and ds.channel_names == ("MLII",)
    # MLII was written as the lead with amplitude 0.5 when first, 1.5 when second: the reader found it by name.
    assert np.ptp(ds.signals[0]) == pytest.approx(1.0, abs=0.02) and np.ptp(ds.signals[2]) == pytest.approx(3.0, abs=0.02)
    assert ds.metadata["leads"] == {"100": ("MLII",), "102": ("V5",), "114": ("MLII",)}
    assert ds.metadata["lead_substituted"] == ["102"]
    both = mitbih.read(tmp_path, lead="both")
    assert both.signals[2].shape == (2, 3600) and both.metadata["leads"]["114"] == ("MLII", "V5")


def test_annotations_keep_beats_and_rhythm_changes_with_clean_aux_notes(tmp_path):
    write(tmp_path, "201", beats=[10, 400, 800, 1200], symbols=["+", "N", "V", "A"], aux=["(AFIB", "", "", ""])
    write(tmp_path, "202")
    ds = mitbih.read(tmp_path)
    ann = ds.annotations[0]
    assert ann.sample.tolist() == [10, 400, 800, 1200] and ann.symbol.tolist() == ["+", "N", "V", "A"]
    assert ann.aux.tolist() == ["(AFIB", "", "", ""]  # PhysioNet's NUL padding stripped
    assert ds.subject_ids.tolist() == ["201", "201"]  # one patient, two records
    assert mitbih.summarise(ds)["aami_beat_counts"] == {"N": 1 + 12, "S": 1, "V": 1, "F": 0, "Q": 0}  # 202: 12 N


def test_paced_records_are_labelled_and_the_records_file_decides_what_is_read(tmp_path):
    write(tmp_path, "107", symbols=["/"] * 12)
    write(tmp_path, "108")
    write(tmp_path, "109")
    (tmp_path / "RECORDS").write_text("107\n108\n")
    ds = mitbih.read(tmp_path)
    assert ds.record_ids.tolist() == ["107", "108"] and ds.labels.tolist() == [1, 0]
    assert mitbih.read(tmp_path, records=["109"]).record_ids.tolist() == ["109"]


def test_an_annotation_past_the_end_names_the_file(tmp_path):
    write(tmp_path, "100", n=1000, beats=[100, 999], symbols=["N", "N"])
    sig = tmp_path / "100.hea"
    sig.write_text(sig.read_text().replace(" 1000", " 900", 1))  # the header now says 900 samples
    (tmp_path / "100.dat").write_bytes((tmp_path / "100.dat").read_bytes()[:900 * 3])
    with pytest.raises(DataFormatError, match=r"100\.atr.*outside"):
        mitbih.read(tmp_path)


def test_a_truncated_signal_file_names_the_record(tmp_path):
    write(tmp_path, "100")
    (tmp_path / "100.dat").write_bytes(b"\x00" * 7)
    with pytest.raises(DataFormatError, match=r"100"):
        mitbih.read(tmp_path)


def test_fetch_checks_every_file_against_physionets_sha256sums(tmp_path):
    src = tmp_path / "src"
    write(src, "100")
    write(src, "101")
    files = {f"/mitdb/{p.name}": p.read_bytes() for p in sorted(src.iterdir())}
    sums = "".join(f"{hashlib.sha256(b).hexdigest()}  {n.rsplit('/', 1)[1]}\n" for n, b in files.items())
    files["/mitdb/SHA256SUMS.txt"] = sums.encode()
    with LocalServer(dict(files)) as server:
        dest = mitbih.fetch(tmp_path / "cache", base_url=server.url("/mitdb/"), records=("100", "101"),
                            progress=False)
    ds = mitbih.read(dest)
    assert ds.record_ids.tolist() == ["100", "101"] and ds.source == "real"
    files["/mitdb/101.atr"] = b"\x07" + files["/mitdb/101.atr"][1:]  # tampered: not what PhysioNet lists
    with LocalServer(files) as server, pytest.raises(ChecksumError, match="101.atr"):
        mitbih.fetch(tmp_path / "cache2", base_url=server.url("/mitdb/"), records=("100", "101"), progress=False)
    assert not (tmp_path / "cache2" / "101.atr").exists()


def test_the_real_records_100_and_208_read_as_published():
    real = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "mitdb"
    if not real.is_dir():
        pytest.skip("../shared/realdata/mitdb is not beside this checkout")
    ds = mitbih.read(real)
    assert ds.record_ids.tolist() == ["100", "208"] and ds.fs == 360.0
    assert [s.shape for s in ds.signals] == [(650000,), (650000,)]
    assert mitbih.summarise(ds)["aami_beat_counts"] == {"N": 3825, "S": 35, "V": 993, "F": 373, "Q": 2}


# ---------------------------------------------------------------- crafted files (issue 19)

try:
    from crafted import PEAK_LIMIT_MB, run_cli
except ImportError:  # tests/ imported as a package
    from tests.crafted import PEAK_LIMIT_MB, run_cli


@pytest.mark.parametrize("field", ["nan", "inf", "-360", "0", "abc/360"])
def test_a_header_sampling_rate_wfdb_cannot_read_is_an_error_not_250_hz(tmp_path, field):
    write(tmp_path, "100")
    hea = tmp_path / "100.hea"
    hea.write_text(hea.read_text().replace("100 2 360 ", f"100 2 {field} ", 1))
    with pytest.raises(DataFormatError) as err:
        mitbih.read(tmp_path)
    assert str(err.value) == (f"{hea}: sampling rate must be a positive number of Hz, the record line says "
                              f"{field!r}")


def test_a_header_without_a_sampling_rate_is_an_error_not_wfdbs_default(tmp_path):
    write(tmp_path, "100")
    hea = tmp_path / "100.hea"
    lines = hea.read_text().splitlines()
    hea.write_text("\n".join(["100 2", *lines[1:]]) + "\n")
    with pytest.raises(DataFormatError, match=r"100\.hea: the record line '100 2' states no sampling rate"):
        mitbih.read(tmp_path)


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_a_truncated_annotation_file_names_the_file_and_the_last_good_sample(tmp_path, keep):
    beats = np.arange(180, 3500, 300)
    write(tmp_path, "100", beats=beats)
    atr = tmp_path / "100.atr"
    raw = atr.read_bytes()
    atr.write_bytes(raw[: int(len(raw) * keep)])
    with pytest.raises(DataFormatError) as err:
        mitbih.read(tmp_path)
    msg = str(err.value)
    assert msg.startswith(f"{atr}: truncated: the annotations stop after sample ")
    last = int(msg.split("after sample ")[1].split()[0])
    assert last in beats.tolist() and last < beats[-1]  # a real beat, before the end


def test_a_whole_annotation_file_reads_to_its_end_marker(tmp_path):
    write(tmp_path, "100", beats=[100, 400, 700], symbols=["N", "V", "+"], aux=["", "", "(AFIB"])
    assert mitbih.check_annotation_stream(tmp_path / "100.atr") == 3
    assert mitbih.read(tmp_path).annotations[0].aux.tolist() == ["", "", "(AFIB"]


def test_the_cli_names_a_damaged_annotation_file_in_a_users_folder_and_says_replace_it(tmp_path):
    write(tmp_path / "mine", "100")
    atr = tmp_path / "mine" / "100.atr"
    atr.write_bytes(atr.read_bytes()[:-9])
    out = run_cli("data", "info", "mitbih", "--path", str(tmp_path / "mine"))
    assert out.code == 1 and len(out.stderr.splitlines()) == 1, out.stderr
    assert out.stderr.startswith(f"error: bad data: {atr}: truncated: the annotations stop after sample ")
    assert out.stderr.endswith("this file is damaged: replace it from your source (the course never writes to "
                               "this folder)")
    assert "fetch" not in out.stderr and "delete" not in out.stderr
    assert out.peak_mb < PEAK_LIMIT_MB


def test_the_cli_refuses_a_nan_sampling_rate_in_one_line(tmp_path):
    write(tmp_path, "100")
    hea = tmp_path / "100.hea"
    hea.write_text(hea.read_text().replace("100 2 360 ", "100 2 nan ", 1))
    out = run_cli("data", "info", "mitbih", "--path", str(tmp_path))
    assert out.code == 1 and out.stderr == (f"error: bad data: {hea}: sampling rate must be a positive number of Hz, "
                                            "the record line says 'nan'")
    assert out.peak_mb < PEAK_LIMIT_MB
