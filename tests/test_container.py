"""SignalDataset v2: the optional fields later units need, each validated with a message naming the record."""
from __future__ import annotations

import numpy as np
import pytest

from helpers.data import Annotations, Intervals, SignalDataset

FS = 100.0


def make(**extra) -> SignalDataset:
    signals = [np.zeros((2, 500), np.float32), np.zeros((2, 300), np.float32)]
    return SignalDataset(signals, [0, 1], FS, ["p1", "p2"], ["r1", "r2"], ("rest", "stress"), "real", "toy", **extra)


def test_unit_1_datasets_need_none_of_the_new_fields():
    ds = SignalDataset([np.zeros(50, np.float32)], [0], FS, ["s"], ["r"], ("a",), "real", "toy")
    assert ds.channel_names is ds.annotations is ds.intervals is ds.targets is None
    assert ds.info()["n_channels"] == 1 and "annotation_counts" not in ds.info()


def test_all_fields_round_trip_through_subset_and_info():
    ds = make(channel_names=("BVP", "EDA"),
              annotations=[Annotations([10, 200], ["N", "V"]), Annotations([5], ["+"], aux=["(AFIB"])],
              intervals=[Intervals([0.0], [4.0], ["baseline"]), Intervals([0.5, 1.5], [1.0, 3.0], ["stress", "amusement"])],
              targets=np.array([[5.0, 2.5], [7.0, 8.0]]), target_names=("valence", "arousal"))
    sub = ds.subset([1])
    assert sub.record_ids.tolist() == ["r2"] and sub.channel_names == ("BVP", "EDA")
    assert sub.annotations[0].aux.tolist() == ["(AFIB"] and sub.intervals[0].label.tolist() == ["stress", "amusement"]
    assert sub.targets.tolist() == [[7.0, 8.0]] and sub.target_names == ("valence", "arousal")
    info = ds.info()
    assert info["channel_names"] == ["BVP", "EDA"] and info["n_channels"] == 2
    assert info["annotation_counts"] == {"+": 1, "N": 1, "V": 1}
    assert info["interval_labels"] == {"amusement": 1, "baseline": 1, "stress": 1}
    assert info["targets"] == {"valence": [5.0, 7.0], "arousal": [2.5, 8.0]}


@pytest.mark.parametrize("extra, message", [
    ({"channel_names": ("BVP",)}, "record r1 has 2 channel"),
    ({"annotations": [Annotations([10], ["N"])]}, "annotations has 1 entries, expected 2"),
    ({"annotations": [Annotations([10], ["N"]), Annotations([300], ["N"])]}, "record r2 must lie in 0..299"),
    ({"annotations": [Annotations([10, 5], ["N", "N"]), Annotations([], [])]}, "record r1 are not in time order"),
    ({"annotations": [Annotations([10, 20], ["N"]), Annotations([], [])]}, "record r1 have 2 samples, 1 symbols"),
    ({"intervals": [Intervals([0.0], [6.0], ["x"]), Intervals([], [], [])]}, "record r1 spans 0-6 s"),
    ({"intervals": [Intervals([2.0], [1.0], ["x"]), Intervals([], [], [])]}, "start < end"),
    ({"targets": np.ones((3, 1)), "target_names": ("v",)}, "targets must have shape (n_records=2"),
    ({"targets": np.ones((2, 2)), "target_names": ("v",)}, "2 column(s), target_names lists 1"),
    ({"targets": np.array([[1.0], [np.nan]]), "target_names": ("v",)}, "targets of record r2 are not finite"),
    ({"target_names": ("v",)}, "target_names given without targets"),
])
def test_bad_optional_fields_are_refused_naming_the_record(extra, message):
    with pytest.raises(ValueError) as err:
        make(**extra)
    assert message in str(err.value)


def test_a_wrong_kind_of_annotation_is_a_type_error():
    with pytest.raises(TypeError, match="record r1 must be a Annotations, got dict"):
        make(annotations=[{"sample": [1]}, {"sample": [2]}])
