"""WESAD's wrist data: the E4 CSV and quest formats, the clock alignment, the pkl form, records and refusals.

The real S2 sample (/work/shared/realdata/wesad_e4) is used only where present; every other test writes its own
files.
"""
from __future__ import annotations

import os
import pickle
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

import helpers.data
from helpers.data import archives, wesad, wesad_e4, wesad_protocol
from helpers.data.container import Intervals
from helpers.data.errors import DataFormatError, DataUnavailableError
from helpers.data.safe_pickle import UnsafePickleError
from helpers.data.synthetic.wesad_ppg import simulate_wesad_subjects

REAL = Path("/work/shared/realdata/wesad_e4")
# The published S2_respiban.txt starts the chest recording at 9:39:1.0 local time on 2017-5-22, and the E4 CSVs
# of S2 start at 1495437325 (07:15:25 UTC): the chest device started 23 min 36 s into the E4 recording.
S2_OFFSET_S = 1416.0
S2_QUEST = """# Subj;S2;;;;;;;;;;;;;;;;;;;;;;;;;
# ORDER;Base;TSST;Medi 1;Fun;Medi 2;sRead;fRead;;;;;;;;;;;;;;;;;;;
# START;7.08;39.55;70.19;81.25;93.38;54.42;89.51;;;;;;;;;;;;;;;;;;;
# END;26.32;50.3;77.1;87.47;100.15;56.07;91.15;;;;;;;;;;;;;;;;;;;
;;;;;;;;;;;;;;;;;;;;;;;;;;
# PANAS;1;1;3;2;1;3;1;1;1;2;2;2;2;1;4;3;4;4;2;2;2;1;2;1;;
"""


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    """Two short synthetic subjects in both forms (E4 CSVs and SX.pkl)."""
    out = tmp_path_factory.mktemp("wesad") / "WESAD"
    return wesad.write_synthetic(out, seed=5, size=2, time_scale=0.25, pkl=True)


def copy_subject(src: Path, dest: Path, *, drop: tuple[str, ...] = ()) -> Path:
    """A copy of one subject folder without ``drop`` (file names, any depth)."""
    shutil.copytree(src, dest, ignore=lambda _, names: [n for n in names if n in drop])
    return dest


# ---------------------------------------------------------------- the E4 CSV format

def test_e4_csv_gives_start_time_rate_and_samples():
    s = wesad_e4.parse_e4_csv("1495437325.00\n64.000000\n-0.00\n1.25\n-3.50\n", "BVP.csv")
    assert s.start_unix == 1495437325.0 and s.fs == 64.0
    assert s.samples.shape == (3, 1) and s.samples[:, 0].tolist() == [0.0, 1.25, -3.5]
    assert s.duration_s == pytest.approx(3 / 64)


def test_acc_csv_has_three_columns_and_repeats_the_header_per_column():
    text = ("1495437325.000000, 1495437325.000000, 1495437325.000000\n32.000000, 32.000000, 32.000000\n"
            "29,-6,55\n28,-6,54\n")
    s = wesad_e4.parse_e4_csv(text, "ACC.csv", columns=3)
    assert s.fs == 32.0 and s.samples.tolist() == [[29, -6, 55], [28, -6, 54]]
    with pytest.raises(DataFormatError, match="ACC.csv: expected 3 column"):
        wesad_e4.parse_e4_csv("1.0\n32.0\n1,2\n", "ACC.csv", columns=3)


@pytest.mark.parametrize("rate", ["0.000000", "nan", "-4", "four"])
def test_a_rate_that_is_not_a_positive_number_is_refused_naming_the_file(rate):
    with pytest.raises(DataFormatError, match=r"EDA\.csv: row 2"):
        wesad_e4.parse_e4_csv(f"1495437325.0\n{rate}\n0.1\n0.2\n", "EDA.csv")


@pytest.mark.parametrize("text, problem", [("1495437325.0\n4.0\n", "no samples"),
                                           ("1495437325.0\n", "fewer than three"),
                                           ("1495437325.0\n4.0\n0.1\nabc\n", "numbers"),
                                           ("when\n4.0\n0.1\n", "row 1")])
def test_malformed_e4_csvs_are_refused_naming_the_file(text, problem):
    with pytest.raises(DataFormatError, match=f"TEMP.csv.*{problem}"):
        wesad_e4.parse_e4_csv(text, "TEMP.csv")


# ---------------------------------------------------------------- the protocol sheet

@pytest.mark.parametrize("text, seconds", [("7.08", 428), ("39.55", 2395), ("50.3", 3030), ("77.1", 4630),
                                           ("100.15", 6015), ("26.32", 1592), ("12", 720), ("0.59", 59),
                                           (7.08, 428), (50.3, 3030)])
def test_minutes_dot_seconds_are_minutes_and_seconds_not_decimal_minutes(text, seconds):
    assert wesad_protocol.minsec_to_seconds(text) == seconds


@pytest.mark.parametrize("text", ["7.75", "-1.20", "abc", "7.123", ""])
def test_impossible_minutes_dot_seconds_are_refused(text):
    with pytest.raises(ValueError, match="minutes.seconds"):
        wesad_protocol.minsec_to_seconds(text)


def test_quest_sheet_gives_the_four_conditions_in_seconds_and_leaves_the_readings_out(tmp_path):
    (tmp_path / "S2_quest.csv").write_text(S2_QUEST)
    p = wesad_protocol.read_quest(tmp_path / "S2_quest.csv")
    assert p.subject == "S2" and p.ignored == ["sRead", "fRead"]
    assert p.intervals.label.tolist() == ["baseline", "stress", "meditation", "amusement", "meditation"]
    assert p.intervals.start_s.tolist() == [428, 2395, 4219, 4885, 5618]
    assert p.intervals.end_s.tolist() == [1592, 3030, 4630, 5267, 6015]


@pytest.mark.parametrize("row", ["START", "END", "ORDER"])
def test_a_quest_sheet_without_a_row_is_refused_naming_the_file(tmp_path, row):
    (tmp_path / "S2_quest.csv").write_text("\n".join(ln for ln in S2_QUEST.splitlines() if f"# {row};" not in ln))
    with pytest.raises(DataFormatError, match=f"S2_quest.csv: no '# {row}' row"):
        wesad_protocol.read_quest(tmp_path / "S2_quest.csv")


def test_a_quest_sheet_whose_end_precedes_its_start_is_refused(tmp_path):
    (tmp_path / "S2_quest.csv").write_text(S2_QUEST.replace("# END;26.32", "# END;6.32"))
    with pytest.raises(DataFormatError, match="S2_quest.csv: condition 'Base' ends"):
        wesad_protocol.read_quest(tmp_path / "S2_quest.csv")


def test_trimming_cuts_both_ends_and_drops_blocks_left_empty():
    iv = Intervals([10.0, 100.0, 200.0], [90.0, 150.0, 250.0], ["baseline", "stress", "meditation"])
    kept, dropped = wesad_protocol.trim_intervals(iv, 30.0)
    assert kept.start_s.tolist() == [40.0] and kept.end_s.tolist() == [60.0]
    assert kept.label.tolist() == ["baseline"] and dropped == ["stress", "meditation"]
    kept, dropped = wesad_protocol.trim_intervals(iv, 0.0, duration_s=220.0)
    assert kept.end_s.tolist() == [90.0, 150.0, 220.0] and dropped == []


# ---------------------------------------------------------------- aligning the E4 clock with the protocol

def test_german_local_time_is_converted_with_summer_time():
    assert wesad_protocol.germany_to_utc(datetime(2017, 5, 22, 9, 39, 1)) == datetime(2017, 5, 22, 7, 39, 1, tzinfo=UTC)
    assert wesad_protocol.germany_to_utc(datetime(2017, 1, 10, 12, 0)) == datetime(2017, 1, 10, 11, 0, tzinfo=UTC)
    assert wesad_protocol.germany_to_utc(datetime(2017, 3, 26, 1, 30)).hour == 0   # before the switch (2:00 local)
    assert wesad_protocol.germany_to_utc(datetime(2017, 3, 26, 3, 30)).hour == 1   # after it


def write_respiban_header(path: Path, date: str, time: str) -> None:
    path.write_text('# OpenSignals Text File Format\n# {"00:07:80:D8:AB:58": {"sensor": ["ECG"], "device name": '
                    f'"RespiBan", "time": "{time}", "date": "{date}", "sampling rate": 700}}}}\n# EndOfHeader\n'
                    "0\t0\t1\t2\n")


def test_chest_start_comes_from_the_respiban_header(tmp_path):
    write_respiban_header(tmp_path / "S2_respiban.txt", "2017-5-22", "9:39:1.0")
    assert wesad_protocol.read_chest_start(tmp_path / "S2_respiban.txt") == 1495437325.0 + S2_OFFSET_S
    (tmp_path / "S3_respiban.txt").write_text("# OpenSignals Text File Format\n# {\"x\": {}}\n")
    with pytest.raises(DataFormatError, match="S3_respiban.txt: expected an OpenSignals header"):
        wesad_protocol.read_chest_start(tmp_path / "S3_respiban.txt")


def test_without_respiban_header_or_pkl_the_e4_form_says_what_is_missing(synthetic, tmp_path):
    sub = copy_subject(synthetic / "S2", tmp_path / "S2", drop=("S2_respiban.txt", "S2.pkl"))
    with pytest.raises(DataFormatError, match=r"S2_respiban.txt: missing.*e4_offsets"):
        helpers.data.read("wesad", sub)
    ds = wesad.read(sub, e4_offsets={"S2": 100.0}, records="subjects", trim_s=0)
    assert ds.metadata["e4_offset_s"]["S2"] == 100.0 and "given" in ds.metadata["alignment"]["S2"]


def test_e4_offset_places_the_protocol_on_the_e4_clock(synthetic):
    ds = wesad.read(synthetic, form="e4", records="subjects", trim_s=0)
    sims = {s.subject: s for s in simulate_wesad_subjects(2, seed=5, time_scale=0.25)}
    for i, sid in enumerate(ds.record_ids):
        assert ds.metadata["e4_offset_s"][sid] == sims[sid].chest_start_s
        truth = np.array([p[2] for p in sims[sid].protocol]) + sims[sid].chest_start_s
        np.testing.assert_allclose(ds.intervals[i].start_s, truth)


# ---------------------------------------------------------------- the pkl form

def test_a_pkl_with_wesads_keys_gives_64hz_channels_and_label_intervals(tmp_path):
    seconds = 40
    label = np.zeros(seconds * 700, dtype=np.int32)
    label[5 * 700:15 * 700] = 1
    label[15 * 700:16 * 700] = 6     # a reading task: ignored
    label[20 * 700:35 * 700] = 2
    t64 = np.arange(seconds * 64) / 64
    data = {"subject": "S5", "label": label,
            "signal": {"chest": {"ECG": np.zeros((seconds * 700, 1))},
                       "wrist": {"BVP": np.sin(2 * np.pi * 1.2 * t64)[:, None] * 50,
                                 "ACC": np.tile([[64, 0, -64]], (seconds * 32, 1)).astype(np.float64),
                                 "EDA": np.full((seconds * 4, 1), 0.5), "TEMP": np.full((seconds * 4, 1), 33.0)}}}
    (tmp_path / "S5").mkdir()
    with open(tmp_path / "S5" / "S5.pkl", "wb") as f:
        pickle.dump(data, f, protocol=2)
    ds = helpers.data.read("wesad", tmp_path, trim_s=1.0)
    assert ds.record_ids.tolist() == ["S5_baseline", "S5_stress"] and ds.labels.tolist() == [0, 1]
    assert ds.metadata["forms"] == {"S5": "pkl"} and ds.fs == 64.0 and ds.channel_names == wesad.CHANNELS
    assert [s.shape for s in ds.signals] == [(6, 8 * 64), (6, 13 * 64)]
    x = ds.signals[0]
    np.testing.assert_allclose(x[1:4, 64:-64].mean(axis=1), [1.0, 0.0, -1.0], atol=1e-3)  # 1/64 g -> g
    assert x[4].mean() == pytest.approx(0.5) and x[5].mean() == pytest.approx(33.0)
    full = wesad.read(tmp_path, records="subjects", trim_s=0)
    assert full.intervals[0].start_s.tolist() == [5.0, 20.0] and full.intervals[0].end_s.tolist() == [15.0, 35.0]


def test_a_pkl_without_the_wrist_signals_is_refused_naming_the_key(tmp_path):
    (tmp_path / "S5").mkdir()
    with open(tmp_path / "S5" / "S5.pkl", "wb") as f:
        pickle.dump({"subject": "S5", "label": np.zeros(10), "signal": {"chest": {}}}, f, protocol=2)
    with pytest.raises(DataFormatError, match=r"S5.pkl: no 'signal' -> 'wrist'"):
        helpers.data.read("wesad", tmp_path)


class _CreatesAFile:
    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_a_pickle_that_would_create_a_file_is_refused_through_load(tmp_path):
    target = tmp_path / "pwned.txt"
    (tmp_path / "WESAD" / "S2").mkdir(parents=True)
    with open(tmp_path / "WESAD" / "S2" / "S2.pkl", "wb") as f:
        pickle.dump({"subject": "S2", "signal": _CreatesAFile(str(target))}, f, protocol=2)
    with pytest.raises(UnsafePickleError, match=r"S2.pkl: refuses to load"):
        helpers.data.load("wesad", path=tmp_path / "WESAD")
    assert not target.exists()


def test_both_forms_give_the_same_intervals_and_signals(synthetic):
    e4 = wesad.read(synthetic, form="e4", records="subjects", trim_s=0)
    pk = wesad.read(synthetic, form="pkl", records="subjects", trim_s=0)
    assert e4.metadata["forms"] == {"S2": "e4", "S3": "e4"} and pk.metadata["forms"] == {"S2": "pkl", "S3": "pkl"}
    for i, sid in enumerate(e4.record_ids):
        off = e4.metadata["e4_offset_s"][sid]
        assert e4.intervals[i].label.tolist() == pk.intervals[i].label.tolist()
        np.testing.assert_allclose(e4.intervals[i].start_s - off, pk.intervals[i].start_s, atol=1 / 64)
        np.testing.assert_allclose(e4.intervals[i].end_s - off, pk.intervals[i].end_s, atol=1 / 64)
        k, n = int(off * 64), pk.signals[i].shape[1]
        inner = slice(64, n - 64)  # ACC's resampling filter differs within a second of the pkl's cut ends
        np.testing.assert_allclose(e4.signals[i][:, k:k + n][:, inner], pk.signals[i][:, inner], atol=0.02)
    by_condition = [wesad.read(synthetic, form=f) for f in ("e4", "pkl")]
    assert by_condition[0].record_ids.tolist() == by_condition[1].record_ids.tolist()
    np.testing.assert_allclose(by_condition[0].durations_s(), by_condition[1].durations_s(), atol=2 / 64)


# ---------------------------------------------------------------- records, channels, layouts

def test_records_are_condition_blocks_grouped_by_subject(synthetic):
    ds = wesad.read(synthetic, form="e4")
    assert ds.class_names == wesad.CONDITIONS and ds.channel_names == wesad.CHANNELS
    assert set(ds.subject_ids) == {"S2", "S3"}
    assert sorted(ds.record_ids[ds.subject_ids == "S2"]) == ["S2_amusement", "S2_baseline", "S2_meditation_1",
                                                             "S2_meditation_2", "S2_stress"]
    full = wesad.read(synthetic, form="e4", records="subjects")
    assert full.class_names == ("recording",) and full.labels.tolist() == [0, 0]
    for rid, x, label, iv in zip(ds.record_ids, ds.signals, ds.labels, ds.intervals):
        seg = ds.metadata["segments"][rid]
        assert iv.label.tolist() == [ds.class_names[label]] == [seg["condition"]]
        assert x.shape[1] / 64 == pytest.approx(iv.end_s[0]) == pytest.approx(seg["end_s"] - seg["start_s"])
        whole = full.signals[full.record_ids.tolist().index(seg["subject"])]
        i0 = round(seg["start_s"] * 64)
        np.testing.assert_array_equal(x, whole[:, i0:i0 + x.shape[1]])
    # The default trim: 30 s off each end of every block.
    base = wesad.read(synthetic, form="e4", trim_s=0)
    assert ds.durations_s().sum() == pytest.approx(base.durations_s().sum() - 60 * len(base), abs=1)


def test_channels_can_be_chosen_and_subjects_picked(synthetic):
    ds = wesad.read(synthetic, channels=("BVP", "EDA"), subjects=["S3"])
    assert ds.channel_names == ("BVP", "EDA") and set(ds.subject_ids) == {"S3"}
    assert all(s.shape[0] == 2 for s in ds.signals) and ds.metadata["units"] == {"BVP": "a.u. (E4 BVP)", "EDA": "uS"}
    with pytest.raises(ValueError, match="channels"):
        wesad.read(synthetic, channels=("PPG",))
    with pytest.raises(DataFormatError, match="S99"):
        wesad.read(synthetic, subjects=["S99"])


def test_the_zipped_e4_folder_wesad_ships_is_read_in_place(synthetic, tmp_path):
    sub = copy_subject(synthetic / "S2", tmp_path / "S2", drop=("S2.pkl",))
    with zipfile.ZipFile(sub / "S2_E4_Data.zip", "w") as z:
        for p in (sub / "S2_E4_Data").iterdir():
            z.write(p, p.name)
    shutil.rmtree(sub / "S2_E4_Data")
    before = sorted(os.listdir(sub))
    ds = wesad.read(sub, records="subjects")
    ref = wesad.read(synthetic, form="e4", records="subjects", subjects=["S2"])
    np.testing.assert_array_equal(ds.signals[0], ref.signals[0])
    assert sorted(os.listdir(sub)) == before


def test_a_missing_bvp_file_is_named(synthetic, tmp_path):
    sub = copy_subject(synthetic / "S2", tmp_path / "S2", drop=("BVP.csv", "S2.pkl"))
    with pytest.raises(DataFormatError, match=r"S2_E4_Data/BVP.csv: missing"):
        helpers.data.read("wesad", sub)


@pytest.mark.parametrize("rate", ["0.000000", "nan"])
def test_a_bad_rate_in_a_real_layout_is_named_with_its_file(synthetic, tmp_path, rate):
    sub = copy_subject(synthetic / "S2", tmp_path / "S2", drop=("S2.pkl",))
    bvp = sub / "S2_E4_Data" / "BVP.csv"
    lines = bvp.read_text().split("\n", 2)
    bvp.write_text(f"{lines[0]}\n{rate}\n{lines[2]}")
    with pytest.raises(DataFormatError, match=r"BVP.csv: row 2 must give the sample rate"):
        helpers.data.load("wesad", path=sub)


def test_a_quest_sheet_without_start_is_named_through_load(synthetic, tmp_path):
    sub = copy_subject(synthetic / "S2", tmp_path / "S2", drop=("S2.pkl",))
    quest = sub / "S2_quest.csv"
    quest.write_text("\n".join(ln for ln in quest.read_text().splitlines() if not ln.startswith("# START")))
    with pytest.raises(DataFormatError, match=r"S2_quest.csv: no '# START' row"):
        helpers.data.load("wesad", path=sub)


def test_fetch_refuses_and_says_where_wesad_comes_from(tmp_path):
    for call in (lambda: wesad.fetch(tmp_path / "dest"), lambda: helpers.data.fetch("wesad", root=tmp_path)):
        with pytest.raises(DataUnavailableError) as err:
            call()
        text = str(err.value)
        assert "non-commercial" in text and "Schmidt" in text and "--path" in text and "WESAD/" in text
    assert list(tmp_path.iterdir()) == []


def test_summary_counts_seconds_per_condition_and_subjects(synthetic):
    ds = wesad.read(synthetic, trim_s=0)
    s = wesad.summarise(ds)
    assert s["subject_list"] == ["S2", "S3"]
    # time_scale 0.25: baseline 300 s, stress 150 s, amusement 98 s, two meditations of 105 s, per subject.
    assert s["seconds_per_condition"] == pytest.approx({"baseline": 600, "stress": 300, "amusement": 196,
                                                         "meditation": 420}, abs=1)


# ---------------------------------------------------------------- the real S2 sample (skipped when absent)

needs_real = pytest.mark.skipif(not (REAL / "S2" / "S2_E4_Data" / "BVP.csv").is_file(),
                                reason="real WESAD S2 sample not present")


@needs_real
def test_real_s2_conditions_have_the_protocols_durations():
    ds = wesad.read(REAL, e4_offsets={"S2": S2_OFFSET_S}, trim_s=0)
    assert ds.metadata["forms"] == {"S2": "e4"}
    minutes = dict(zip(ds.record_ids.tolist(), (ds.durations_s() / 60).round(1).tolist()))
    assert minutes == {"S2_baseline": 19.4, "S2_stress": 10.6, "S2_meditation_1": 6.8, "S2_amusement": 6.4,
                       "S2_meditation_2": 6.6}
    full = wesad.read(REAL, e4_offsets={"S2": S2_OFFSET_S}, records="subjects", trim_s=0)
    assert full.durations_s()[0] == pytest.approx(7873.5, abs=1)   # 2 h 11 min of E4 recording
    assert full.signals[0].shape == (6, 503904)


@needs_real
def test_real_s2_respiban_header_alignment_puts_meditation_where_the_wrist_is_still(tmp_path):
    sub = tmp_path / "S2"
    sub.mkdir()
    for name in ("S2_E4_Data", "S2_quest.csv"):
        (sub / name).symlink_to(REAL / "S2" / name)
    write_respiban_header(sub / "S2_respiban.txt", "2017-5-22", "9:39:1.0")  # the published header's values
    full = wesad.read(sub, records="subjects", trim_s=0)
    assert full.metadata["e4_offset_s"]["S2"] == pytest.approx(S2_OFFSET_S)
    acc = full.signals[0][1:4]
    activity = np.abs(np.diff(np.linalg.norm(acc, axis=0)))
    iv = full.intervals[0]
    med = np.zeros(activity.size, bool)
    for a, b, cond in zip(iv.start_s, iv.end_s, iv.label):
        if cond == "meditation":
            med[int(a * 64) + 5 * 64:int(b * 64) - 5 * 64] = True  # within 5 s of the edges the hands still move
    assert activity[med].mean() < 0.3 * activity[~med].mean()


# ---------------------------------------------------------------- crafted files (issue 19)

try:
    from crafted import PEAK_LIMIT_MB, run_cli
except ImportError:  # tests/ imported as a package
    from tests.crafted import PEAK_LIMIT_MB, run_cli


def cut_rows(path: Path, keep: float) -> None:
    """Keep the two header rows and the first ``keep`` share of the sample rows of an E4 CSV."""
    head1, head2, body = path.read_text().split("\n", 2)
    rows = body.splitlines()
    path.write_text("\n".join([head1, head2, *rows[: int(len(rows) * keep)]]) + "\n")


@pytest.mark.parametrize("keep", [0.6, 0.1])
def test_a_truncated_acc_csv_names_the_streams_and_their_durations(synthetic, tmp_path, keep):
    sub = copy_subject(synthetic / "S2", tmp_path / "S2", drop=("S2.pkl",))
    cut_rows(sub / "S2_E4_Data" / "ACC.csv", keep)
    with pytest.raises(DataFormatError) as err:
        helpers.data.load("wesad", path=sub)
    msg = str(err.value)
    assert msg.startswith(f"{sub / 'S2_E4_Data'}: the streams of one recording must cover the same span (within 2 s)")
    bvp_s = wesad_e4.parse_e4_csv((sub / "S2_E4_Data" / "BVP.csv").read_text(), "BVP").duration_s
    acc_s = wesad_e4.parse_e4_csv((sub / "S2_E4_Data" / "ACC.csv").read_text(), "ACC", columns=3).duration_s
    assert f"BVP.csv {bvp_s:.1f} s" in msg and f"ACC.csv {acc_s:.1f} s" in msg
    assert "holds no wesad records" not in msg


def test_blank_rows_inside_acc_csv_are_an_error_not_skipped(synthetic, tmp_path):
    sub = copy_subject(synthetic / "S2", tmp_path / "S2", drop=("S2.pkl",))
    acc = sub / "S2_E4_Data" / "ACC.csv"
    lines = acc.read_text().split("\n")
    acc.write_text("\n".join(lines[:1000] + [""] * 500 + lines[1000:]))
    with pytest.raises(DataFormatError) as err:
        helpers.data.load("wesad", path=sub)
    assert str(err.value) == f"{acc}: sample row 1001 is empty or not a number"


def test_blank_lines_at_the_very_end_of_a_csv_shift_nothing_and_are_accepted():
    stream = wesad_e4.parse_e4_csv("100.0\n4.0\n1\n2\n3\n\n\n", "EDA.csv")
    assert stream.samples.ravel().tolist() == [1.0, 2.0, 3.0]


def _pkl(synthetic: Path, tmp_path: Path) -> tuple[Path, dict]:
    sub = copy_subject(synthetic / "S2", tmp_path / "S2", drop=("S2_E4_Data",))
    with open(sub / "S2.pkl", "rb") as f:
        return sub / "S2.pkl", pickle.load(f)


def test_a_label_stream_longer_than_the_signals_is_refused(synthetic, tmp_path):
    path, data = _pkl(synthetic, tmp_path)
    data["label"] = np.concatenate([data["label"], data["label"]])
    path.write_bytes(pickle.dumps(data, protocol=2))
    with pytest.raises(DataFormatError) as err:
        helpers.data.load("wesad", path=path.parent)
    msg = str(err.value)
    wrist_s, label_s = len(data["signal"]["wrist"]["BVP"]) / 64, len(data["label"]) / 700
    assert msg.startswith(f"{path}: the streams of one recording must cover the same span")
    assert f"wrist BVP {wrist_s:.1f} s" in msg and f"label {label_s:.1f} s" in msg


def test_a_pkl_whose_bvp_is_cut_to_80_percent_is_refused(synthetic, tmp_path):
    path, data = _pkl(synthetic, tmp_path)
    bvp = data["signal"]["wrist"]["BVP"]
    data["signal"]["wrist"]["BVP"] = bvp[: int(len(bvp) * 0.8)]
    path.write_bytes(pickle.dumps(data, protocol=2))
    with pytest.raises(DataFormatError, match=r"S2\.pkl: the streams of one recording .* wrist BVP [\d.]+ s"):
        helpers.data.load("wesad", path=path.parent)


def _deflated_zeros(n_bytes: int) -> tuple[bytes, int]:
    """A raw deflate stream inflating to ``n_bytes`` zeros, and their CRC-32, built from one repeated block."""
    import zlib

    block_size = 64 << 20
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(bytes(block_size)) + comp.flush(zlib.Z_FULL_FLUSH)  # self-contained: repeatable
    crc, zeros = 0, bytes(1 << 20)
    for _ in range(n_bytes >> 20):
        crc = zlib.crc32(zeros, crc)
    return block * (n_bytes // block_size) + zlib.compressobj(9, zlib.DEFLATED, -15).flush(), crc


def write_zip_bomb(path: Path, member: str, n_bytes: int) -> None:
    """A one-member zip whose member inflates to ``n_bytes`` (< 4 GiB) zeros, written record by record."""
    import struct

    data, crc = _deflated_zeros(n_bytes)
    name = member.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), n_bytes, len(name), 0)
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), n_bytes,
                          len(name), 0, 0, 0, 0, 0, 0)
    offset = len(local) + len(name) + len(data)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central) + len(name), offset, 0)
    path.write_bytes(local + name + data + central + name + end)


def test_a_zip_bomb_in_place_of_the_e4_archive_is_refused_before_inflating(synthetic, tmp_path):
    sub = copy_subject(synthetic / "S2", tmp_path / "S2", drop=("S2.pkl", "S2_E4_Data"))
    zipped = sub / "S2_E4_Data.zip"
    write_zip_bomb(zipped, "ACC.csv", 3 << 30)
    assert zipped.stat().st_size < 4 << 20
    out = run_cli("data", "info", "wesad", "--path", str(sub))
    assert out.code == 1 and len(out.stderr.splitlines()) == 1, out.stderr
    assert out.stderr.startswith(f"error: bad data: {zipped}: member ACC.csv declares 3,221,225,472 bytes from ")
    assert out.stderr.endswith("so this is a zip bomb or a corrupt archive: nothing was extracted")
    assert out.peak_mb < PEAK_LIMIT_MB


def test_a_zip_member_larger_than_its_header_says_is_never_inflated_past_it(tmp_path):
    path = tmp_path / "S2_E4_Data.zip"
    write_zip_bomb(path, "ACC.csv", 64 << 20)
    raw = bytearray(path.read_bytes())
    for sig, at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # understate the size in both headers: 1 MB
        i = raw.index(sig) + at
        raw[i:i + 4] = (1 << 20).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    with zipfile.ZipFile(path) as archive, \
            pytest.raises(DataFormatError, match=r"S2_E4_Data.zip:ACC.csv: corrupt or truncated|inflates to"):
        archives.read_zip_member(archive, archive.getinfo("ACC.csv"), f"{path}:ACC.csv")
