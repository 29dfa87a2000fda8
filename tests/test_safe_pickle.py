"""The restricted unpickler: numpy arrays in plain containers load; a pickle that would run code does not."""
from __future__ import annotations

import os
import pickle
from collections import OrderedDict

import numpy as np
import pytest

from helpers.data import safe_pickle
from helpers.data.errors import DataFormatError


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


# ---------------------------------------------------------------- allocation bombs (issue 19)

try:
    from crafted import PEAK_LIMIT_MB, run_cli
except ImportError:  # tests/ imported as a package
    from tests.crafted import PEAK_LIMIT_MB, run_cli

# 32 bytes: protocol 2, GLOBAL builtins.bytearray, LONG1 3_000_000_000, TUPLE1, REDUCE, STOP.
BYTEARRAY_3GB = b"\x80\x02cbuiltins\nbytearray\n\x8a\x05\x00^\xd0\xb2\x00\x85R."


class _Calls:
    """Unpickles as ``func(*args)``: a constructor the unpickler admits, with sizes chosen by the file."""

    def __init__(self, func, *args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _bombs():
    import copyreg

    from numpy._core.multiarray import _reconstruct, scalar
    return {
        "bytearray": _Calls(bytearray, 10**10),
        "ndarray shape": _Calls(np.ndarray, (10**10,)),
        "_reconstruct shape": _Calls(_reconstruct, np.ndarray, (10**9,), b"b"),
        "void dtype": _Calls(_reconstruct, np.ndarray, (1,), np.dtype(("V", 2_000_000_000))),
        "subarray dtype scalar": _Calls(scalar, np.dtype(("f8", (200_000_000,))), b""),
        "copyreg._reconstructor": _Calls(copyreg._reconstructor, bytearray, bytearray, 3_000_000_000),
    }


def test_a_32_byte_file_building_a_3_gb_bytearray_is_refused_naming_it(tmp_path):
    assert len(BYTEARRAY_3GB) == 32
    (tmp_path / "s01.dat").write_bytes(BYTEARRAY_3GB)
    with pytest.raises(safe_pickle.PickleBombError) as err:
        safe_pickle.load(tmp_path / "s01.dat")
    msg = str(err.value)
    assert msg.startswith(f"{tmp_path / 's01.dat'}: refuses to build bytearray(3000000000)")
    assert "3,000,000,000 bytes" in msg and "a file of 32 bytes" in msg and "\n" not in msg


@pytest.mark.parametrize("name", list(_bombs()))
def test_constructors_that_allocate_from_their_arguments_are_refused(tmp_path, name):
    (tmp_path / "s01.dat").write_bytes(pickle.dumps({"data": _bombs()[name]}, protocol=4))
    with pytest.raises(safe_pickle.PickleBombError, match=r"s01\.dat: refuses to build .* bytes"):
        safe_pickle.load(tmp_path / "s01.dat")


def test_the_allocation_limit_grows_with_the_file_so_real_arrays_load(tmp_path):
    big = np.arange(3_000_000, dtype=np.float64)  # 24 MB, far above the 1 MiB floor
    for protocol in (0, 2, 5):
        (tmp_path / "s01.dat").write_bytes(pickle.dumps({"data": big}, protocol=protocol))
        assert np.array_equal(safe_pickle.load(tmp_path / "s01.dat")["data"], big)


@pytest.mark.parametrize("size", [3_000_000_000, 10**10])
def test_the_cli_refuses_a_bytearray_bomb_in_one_line_with_little_memory(tmp_path, size):
    folder = tmp_path / "deap"
    folder.mkdir()
    (folder / "s01.dat").write_bytes(pickle.dumps({"data": _Calls(bytearray, size)}, protocol=4))
    out = run_cli("data", "info", "deap", "--path", str(folder))
    assert out.code == 1, out.stderr
    assert out.stderr.startswith(f"error: bad data: {folder / 's01.dat'}: refuses to build bytearray(")
    assert "Traceback" not in out.stderr and len(out.stderr.splitlines()) == 1
    assert out.peak_mb < PEAK_LIMIT_MB
