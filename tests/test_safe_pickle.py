"""The restricted unpickler: numpy arrays in plain containers load; a pickle that would run code does not."""
from __future__ import annotations

import os
import pickle
from collections import OrderedDict

import numpy as np
import pytest

from helpers.data import safe_pickle
from helpers.data.fetch import DataFormatError


class _CreatesAFile:
    """Unpickling this object calls os.system: what a crafted data file would do."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return os.system, (f"touch {self.target}",)


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_numpy_arrays_in_plain_containers_round_trip(tmp_path, protocol):
    data = {"data": np.arange(24, dtype=np.float32).reshape(2, 3, 4), "labels": np.array([[1.5, 9.0]]),
            "meta": OrderedDict(subject="s01", n=np.int64(3)), "parts": [np.zeros(2), (1, 2.5, "x")]}
    (tmp_path / "s01.dat").write_bytes(pickle.dumps(data, protocol=protocol))
    got = safe_pickle.load(tmp_path / "s01.dat")
    assert np.array_equal(got["data"], data["data"]) and got["data"].dtype == np.float32
    assert got["meta"]["subject"] == "s01" and got["meta"]["n"] == 3 and got["parts"][1] == (1, 2.5, "x")


def test_a_pickle_that_would_create_a_file_is_refused_and_the_file_is_not_created(tmp_path):
    target = tmp_path / "pwned"
    (tmp_path / "s02.dat").write_bytes(pickle.dumps({"data": _CreatesAFile(str(target))}))
    with pytest.raises(safe_pickle.UnsafePickleError, match=r"s02\.dat.*(posix|os)\.system"):
        safe_pickle.load(tmp_path / "s02.dat")
    assert not target.exists()


def test_a_truncated_or_foreign_file_names_the_file(tmp_path):
    (tmp_path / "s03.dat").write_bytes(pickle.dumps({"x": np.zeros(1000)})[:50])
    with pytest.raises(DataFormatError, match=r"s03\.dat.*truncated"):
        safe_pickle.load(tmp_path / "s03.dat")
    (tmp_path / "s04.dat").write_text("not a pickle at all")
    with pytest.raises(DataFormatError, match=r"s04\.dat"):
        safe_pickle.load(tmp_path / "s04.dat")
