"""DEAP's preprocessed release, read in place: both formats, any subset, every malformed file named, no code run."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import scipy.io

import helpers.data
from helpers.data import deap
from helpers.data.errors import DataFormatError, DataUnavailableError
from helpers.data.safe_pickle import UnsafePickleError

SHORT = 512  # samples per trial in the small hand-made files (4 s: the 3 s baseline and a bit), read non-strictly


def subject_arrays(subject: int, n_trials: int = 3, n_samples: int = SHORT) -> tuple[np.ndarray, np.ndarray]:
    """``data`` (n_trials, 40, n_samples) float64 and ``labels`` (n_trials, 4) ratings, distinct per subject."""
    rng = np.random.default_rng(subject)
    data = rng.normal(0, 10, (n_trials, 40, n_samples))
    data[:, :, 0] = subject * 1000 + np.arange(n_trials)[:, None] * 100 + np.arange(40)  # recognisable samples
    labels = rng.uniform(1, 9, (n_trials, 4))
    labels[0] = [5.0, 7.5, 1.0, 9.0]  # a rating of exactly 5 is low; the ends of the scale are valid
    return data, labels


def write_python(folder, subjects=(1, 2), **kwargs) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for s in subjects:
        out[s] = subject_arrays(s, **kwargs)
        deap.write_subject(folder / f"s{s:02d}.dat", *out[s])
    return out


def write_matlab(folder, subjects=(1, 2), **kwargs) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for s in subjects:
        out[s] = subject_arrays(s, **kwargs)
        scipy.io.savemat(folder / f"s{s:02d}.mat", {"data": out[s][0], "labels": out[s][1]})
    return out


def write_pickle(path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(obj, protocol=2))


# ---------------------------------------------------------------- reading both releases

def test_python_release_gives_one_record_per_subject_and_trial(tmp_path):
    truth = write_python(tmp_path, subjects=(1, 2))
    ds = deap.read(tmp_path, strict=False)
    assert len(ds) == 6 and ds.fs == 128.0 and ds.name == "deap" and ds.source == "real"
    assert ds.record_ids.tolist() == ["s01_t01", "s01_t02", "s01_t03", "s02_t01", "s02_t02", "s02_t03"]
    assert ds.subject_ids.tolist() == ["s01"] * 3 + ["s02"] * 3
    for i, (s, t) in enumerate([(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]):
        assert ds.signals[i].dtype == np.float32 and ds.signals[i].shape == (40, SHORT)
        np.testing.assert_allclose(ds.signals[i], truth[s][0][t], rtol=1e-6, atol=1e-4)
        np.testing.assert_array_equal(ds.targets[i], truth[s][1][t])
    assert ds.metadata["release"] == "python" and ds.metadata["baseline_s"] == 3.0


def test_channels_are_named_in_deaps_order(tmp_path):
    write_python(tmp_path, subjects=(1,))
    ds = deap.read(tmp_path, strict=False)
    assert len(ds.channel_names) == 40
    assert ds.channel_names[:4] == ("Fp1", "AF3", "F3", "F7") and ds.channel_names[13:17] == ("O1", "Oz", "Pz", "Fp2")
    assert ds.channel_names[31] == "O2"
    assert ds.channel_names[32:] == ("hEOG", "vEOG", "zEMG", "tEMG", "GSR", "Respiration belt", "Plethysmograph",
                                     "Temperature")
    # channel k of the file is row k of the record (the first sample was set to 1000 * subject + 100 * trial + k)
    assert ds.signals[1][:, 0].tolist() == [1100 + k for k in range(40)]


def test_targets_are_the_four_ratings_and_labels_are_high_valence(tmp_path):
    write_python(tmp_path, subjects=(1,))
    ds = deap.read(tmp_path, strict=False)
    assert ds.target_names == ("valence", "arousal", "dominance", "liking")
    assert ds.class_names == ("low valence", "high valence")
    np.testing.assert_array_equal(ds.labels, (ds.targets[:, 0] > 5).astype(int))
    assert ds.labels[0] == 0  # a valence of exactly 5 is not high
    np.testing.assert_array_equal(deap.binary_labels(ds, "arousal"), (ds.targets[:, 1] > 5).astype(int))
    assert deap.binary_labels(ds, "arousal")[0] == 1
    assert deap.binary_labels(ds, "liking", threshold=8.5)[0] == 1
    by_arousal = deap.with_target(ds, "arousal")
    assert by_arousal.class_names == ("low arousal", "high arousal") and by_arousal.labels[0] == 1
    assert ds.class_names == ("low valence", "high valence")  # the original is left alone
    with pytest.raises(ValueError, match="unknown target 'joy'"):
        deap.binary_labels(ds, "joy")


def test_matlab_release_reads_the_same_records(tmp_path):
    write_python(tmp_path / "py", subjects=(1, 3))
    write_matlab(tmp_path / "mat", subjects=(1, 3))
    a, b = deap.read(tmp_path / "py", strict=False), deap.read(tmp_path / "mat", strict=False)
    assert b.metadata["release"] == "matlab"
    assert a.record_ids.tolist() == b.record_ids.tolist() and a.channel_names == b.channel_names
    np.testing.assert_array_equal(a.targets, b.targets)
    for x, y in zip(a.signals, b.signals):
        np.testing.assert_array_equal(x, y)


def test_a_parent_folder_holding_either_release_is_found(tmp_path):
    write_matlab(tmp_path / "only_mat" / "data_preprocessed_matlab", subjects=(2,))
    assert deap.read(tmp_path / "only_mat", strict=False).metadata["release"] == "matlab"
    both = tmp_path / "both"
    write_python(both / "data_preprocessed_python", subjects=(1,))
    write_matlab(both / "data_preprocessed_matlab", subjects=(2,))
    ds = deap.read(both, strict=False)
    assert ds.metadata["release"] == "python" and ds.subject_ids[0] == "s01"
    assert ds.metadata["path"] == str(both) and ds.metadata["folder"] == str(both / "data_preprocessed_python")
    ds = deap.read(both, strict=False, release="matlab")
    assert ds.metadata["release"] == "matlab" and ds.subject_ids[0] == "s02"


def test_a_subset_of_subjects_and_channels(tmp_path):
    write_python(tmp_path, subjects=(1, 2, 3))
    ds = deap.read(tmp_path, strict=False, subjects=["s03", 1])
    assert sorted(set(ds.subject_ids)) == ["s01", "s03"] and len(ds) == 6
    ds = deap.read(tmp_path, strict=False, channels=deap.EEG_CHANNELS)
    assert ds.channel_names == deap.EEG_CHANNELS and ds.signals[0].shape == (32, SHORT)
    ds = deap.read(tmp_path, strict=False, channels=["O2", "vEOG"])
    assert ds.signals[1][:, 0].tolist() == [1100 + 31, 1100 + 33]
    with pytest.raises(DataUnavailableError, match=r"s07 not there; it holds s01, s02, s03"):
        deap.read(tmp_path, strict=False, subjects=[7])
    with pytest.raises(ValueError, match="unknown DEAP channel"):
        deap.read(tmp_path, strict=False, channels=["Fpz"])


def test_only_deaps_subject_files_count(tmp_path):
    write_python(tmp_path, subjects=(1,))
    (tmp_path / "readme.txt").write_text("notes")
    (tmp_path / "s1.dat").write_text("not a subject file name DEAP uses")
    assert deap.read(tmp_path, strict=False).subject_ids.tolist() == ["s01"] * 3
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match=r"empty: no DEAP subject files found \(expected"):
        deap.read(tmp_path / "empty")


# ---------------------------------------------------------------- the real shape, and malformed files

def test_strict_reading_requires_deaps_real_shape(tmp_path):
    write_python(tmp_path, subjects=(1,))
    with pytest.raises(DataFormatError, match=r"s01\.dat: 'data' has shape \(3, 40, 512\), expected \(40, 40, 8064\)"):
        deap.read(tmp_path)


def test_a_real_shaped_file_reads_strictly(tmp_path):
    write_python(tmp_path, subjects=(4,), n_trials=40, n_samples=8064)
    ds = deap.read(tmp_path)
    assert len(ds) == 40 and ds.signals[0].shape == (40, 8064) and ds.record_ids[-1] == "s04_t40"
    # float64 like the real files: (40 x 40 x 8064 + 40 x 4) x 8 bytes plus a few hundred bytes of pickle
    assert 0 < (tmp_path / "s04.dat").stat().st_size - (40 * 40 * 8064 + 40 * 4) * 8 < 1000


@pytest.mark.parametrize("content, message", [
    ({"data": np.zeros((3, 39, SHORT)), "labels": np.full((3, 4), 5.0)}, r"'data' has shape \(3, 39, 512\)"),
    ({"data": np.zeros((3, 40, 300)), "labels": np.full((3, 4), 5.0)}, r"at least 384 samples"),
    ({"data": np.zeros((3, 40, SHORT)), "labels": np.full((3, 3), 5.0)}, r"'labels' has shape \(3, 3\), expected \(3, 4\)"),
    ({"data": np.zeros((3, 40, SHORT)), "labels": np.full((2, 4), 5.0)}, r"'labels' has shape \(2, 4\)"),
    ({"data": np.zeros((3, 40, SHORT)), "labels": np.array([[5, 5, 5, 5], [5, 9.5, 5, 5], [5, 5, 5, 5.0]])},
     r"arousal rating of trial 2 is 9\.5, expected a rating in 1-9"),
    ({"data": np.zeros((3, 40, SHORT)), "labels": np.array([[5, 5, 5, 5], [5, 5, 5, 5], [0, 5, 5, 5.0]])},
     r"valence rating of trial 3 is 0, expected"),
    ({"data": np.zeros((3, 40, SHORT)), "labels": np.array([[5, 5, 5, np.nan]] * 3)}, r"liking rating of trial 1"),
    ({"data": np.full((3, 40, SHORT), np.nan), "labels": np.full((3, 4), 5.0)},
     r"NaN or infinite samples \(first in trial 1, channel Fp1\)"),
    ({"data": np.zeros((3, 40, SHORT)).astype(str), "labels": np.full((3, 4), 5.0)}, r"'data' must be a numeric"),
    ({"eeg": np.zeros((3, 40, SHORT)), "labels": np.full((3, 4), 5.0)}, r"expected a dict with 'data' and 'labels'"),
    ([np.zeros(3)], r"expected a dict with 'data' and 'labels'.*found list"),
])
def test_a_malformed_file_is_an_error_naming_it(tmp_path, content, message):
    write_python(tmp_path, subjects=(1,))
    write_pickle(tmp_path / "s02.dat", content)
    with pytest.raises(DataFormatError, match=r"s02\.dat: .*" + message):
        deap.read(tmp_path, strict=False)


def test_a_malformed_matlab_file_is_an_error_naming_it(tmp_path):
    (tmp_path / "s01.mat").write_bytes(b"MATLAB 5.0 MAT-file, truncated")
    with pytest.raises(DataFormatError, match=r"s01\.mat: not a readable MATLAB file"):
        deap.read(tmp_path)
    scipy.io.savemat(tmp_path / "s01.mat", {"data": np.zeros((40, 40, 100))})
    with pytest.raises(DataFormatError, match=r"s01\.mat: expected a dict with 'data' and 'labels'"):
        deap.read(tmp_path)


def test_a_file_where_a_folder_is_expected_is_named(tmp_path):
    (tmp_path / "s01.dat").write_text("x")
    with pytest.raises(DataFormatError, match=r"s01\.dat: is a file; give the folder"):
        deap.read(tmp_path / "s01.dat")


class _CreatesAFile:
    """Unpickling this runs a shell command: what a crafted ``s01.dat`` could do with plain ``pickle.load``."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return os.system, (f"touch {self.target}",)


def test_a_crafted_dat_is_refused_through_load_and_runs_nothing(tmp_path):
    target = tmp_path / "pwned"
    folder = tmp_path / "deap"
    write_pickle(folder / "s01.dat", {"data": _CreatesAFile(str(target)), "labels": np.full((40, 4), 5.0)})
    with pytest.raises(UnsafePickleError, match=r"s01\.dat: refuses to load (posix|os)\.system"):
        helpers.data.load("deap", path=folder)
    assert not target.exists()


# ---------------------------------------------------------------- licence, summary, the python-2 format

def test_fetch_refuses_and_says_how_to_get_deap(tmp_path):
    with pytest.raises(DataUnavailableError) as err:
        deap.fetch(tmp_path / "dest")
    message = str(err.value)
    for needed in ("https://www.eecs.qmul.ac.uk/mmv/datasets/deap/", "EULA", "academic research", "--path",
                   "data_preprocessed_python"):
        assert needed in message
    assert not (tmp_path / "dest").exists()
    assert deap.SPEC.auto_download is False
    with pytest.raises(DataUnavailableError, match="cannot be downloaded for you.*EULA"):
        helpers.data.fetch("deap", root=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_summary_counts_trials_ratings_and_high_shares(tmp_path):
    write_python(tmp_path, subjects=(1, 2))
    ds = deap.read(tmp_path, strict=False)
    summary = deap.summarise(ds)
    assert summary["trials_per_subject"] == {"min": 3, "max": 3}
    assert summary["rating_means"]["valence"] == pytest.approx(ds.targets[:, 0].mean(), abs=1e-3)
    assert summary["fraction_high"] == {"valence": pytest.approx(ds.labels.mean(), abs=1e-3),
                                        "arousal": pytest.approx((ds.targets[:, 1] > 5).mean(), abs=1e-3)}


def test_written_files_are_python2_style_pickles(tmp_path):
    data, labels = subject_arrays(1)
    deap.write_subject(tmp_path / "s01.dat", data, labels)
    raw = (tmp_path / "s01.dat").read_bytes()
    # Python 2 wrote raw byte strings and numpy 1.x's module name; Python 3's protocol 2 would use _codecs/UTF-8
    assert raw[:2] == b"\x80\x02" and b"numpy.core.multiarray" in raw and b"_codecs" not in raw
    with pytest.raises(UnicodeDecodeError):  # like the real files: plain pickle.load needs encoding="latin1"
        pickle.loads(raw)
    content = pickle.loads(raw, encoding="latin1")
    assert set(content) == {"data", "labels"}
    np.testing.assert_array_equal(content["data"], data)
