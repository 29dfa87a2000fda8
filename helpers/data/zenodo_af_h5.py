"""The one on-disk layout the Zenodo AF reader supports: the HDF5 file that ``zenodo_af.write_synthetic`` writes.

Source of the layout: :func:`helpers.data.zenodo_af.write_synthetic`, documented in :mod:`helpers.data.zenodo_af`'s
module docstring. The real Zenodo record 15302489 has not been inspected, so none of its possible layouts is
guessed: a folder is read only when it holds one ``.h5``/``.hdf5`` file with

* ``signals``: variable-length float, ``(n,)``, one ECG per record (10-60 s, no padding);
* ``labels``: integers ``(n,)``, 0 normal sinus rhythm, 1 AF;
* optionally ``patient_ids`` and ``record_ids``: strings ``(n,)``;
* optionally the file attribute ``fs`` (Hz).

A CSV, NPY, NPZ or MAT file (the formats an earlier reader guessed at), a second HDF5 file or an HDF5 file in
another arrangement is refused with :class:`~helpers.data.errors.DataFormatError` naming the file and this layout.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from helpers.data.errors import DamagedFileError, DataFormatError

H5_SUFFIXES = (".h5", ".hdf5")
# Formats an earlier version of the reader guessed the record might use: named in the error, so that a user with
# such a file learns it is not read rather than that their folder looks empty.
UNSUPPORTED = {".csv": "CSV", ".tsv": "TSV", ".npy": "NPY", ".npz": "NPZ", ".mat": "MATLAB"}
SUPPORTED = ("supported: one HDF5 file (.h5/.hdf5) holding 'signals' (variable-length float, one ECG per record), "
             "'labels' (0 normal, 1 AF), optionally 'patient_ids' and 'record_ids' (strings) and the attribute 'fs' "
             "(Hz), as helpers.data.zenodo_af.write_synthetic writes it")
# An HDF5 file can declare a dataset far larger than the bytes it stores (unwritten space reads as zeros): refuse
# declared sizes past this before allocating anything. 8 GiB is a third of the course machine's memory.
MAX_DECLARED_BYTES = 8 << 30


@dataclass
class Parsed:
    """The records of one file, before they become a :class:`~helpers.data.container.SignalDataset`."""

    signals: list[np.ndarray]          # float32 (T,) each
    labels: np.ndarray                 # int64 (n,)
    patient_ids: np.ndarray | None     # str (n,) or None when the file carries none
    record_ids: np.ndarray | None      # str (n,) or None
    fs: float | None                   # the file's attribute fs, Hz
    file: Path


def _visible_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def find_file(folders: list[Path]) -> Path:
    """The one HDF5 file under ``folders`` (searched recursively; hidden files and partial downloads skipped).

    Raises
    ------
    DataFormatError
        A file of another format, no HDF5 file, or several (the message names them and the supported layout).
    """
    files = [p for folder in folders for p in _visible_files(folder)]
    unsupported = [p for p in files if p.suffix.lower() in UNSUPPORTED]
    if unsupported:
        p = unsupported[0]
        more = f" (and {len(unsupported) - 1} more such files)" if len(unsupported) > 1 else ""
        raise DataFormatError(f"{p}: {UNSUPPORTED[p.suffix.lower()]} files are not read by this reader{more}; "
                              f"{SUPPORTED}")
    h5 = [p for p in files if p.suffix.lower() in H5_SUFFIXES]
    if not h5:
        raise DataFormatError(f"{folders[0]}: no zenodo_af records: the folder holds no HDF5 file; expected "
                              f"{SUPPORTED.removeprefix('supported: ')}")
    if len(h5) > 1:
        raise DataFormatError(f"{folders[0]}: several HDF5 files ({', '.join(p.name for p in h5)}); {SUPPORTED}")
    return h5[0]


def _dataset(f: h5py.File, path: Path, name: str) -> h5py.Dataset | None:
    """The top-level dataset ``name`` checked against its declared size, or None when absent."""
    obj = f.get(name)
    if obj is None:
        return None
    if not isinstance(obj, h5py.Dataset):
        raise DataFormatError(f"{path}: {name!r} is a group, not a dataset; {SUPPORTED}")
    declared = int(obj.size) * obj.dtype.itemsize
    stored = obj.id.get_storage_size()
    if declared > MAX_DECLARED_BYTES:
        raise DataFormatError(f"{path}: dataset {name!r} declares shape {obj.shape} ({declared / 2**30:.1f} GiB), more "
                              f"than the {MAX_DECLARED_BYTES / 2**30:.0f} GiB this reader accepts")
    compressed = bool(obj.compression) or bool(obj.id.get_create_plist().get_nfilters())
    # Uncompressed data occupy their full size on disk; compressed data may shrink, but not a thousandfold.
    if declared and (stored == 0 or (not compressed and stored < declared) or declared > 1000 * stored):
        raise DataFormatError(f"{path}: dataset {name!r} declares shape {obj.shape} ({declared:,} bytes) but the file "
                              f"stores {stored:,} bytes for it: unwritten or truncated data, refused")
    return obj


def _signals(path: Path, obj: h5py.Dataset | None, top: list[str]) -> list[np.ndarray]:
    """``signals`` as float32 records; each must be non-empty and finite."""
    if obj is None:
        raise DataFormatError(f"{path}: no dataset 'signals' at the top level (found: {', '.join(top) or 'nothing'}); "
                              f"{SUPPORTED}")
    vlen = h5py.check_vlen_dtype(obj.dtype)
    if obj.ndim != 1 or vlen is None or np.dtype(vlen).kind not in "fiu":
        raise DataFormatError(f"{path}: 'signals' is {obj.dtype} {obj.shape}, not variable-length numbers (n,); "
                              f"{SUPPORTED}")
    signals = [np.asarray(r, dtype=np.float32) for r in obj[()]]
    for i, x in enumerate(signals):
        if x.size == 0:
            raise DataFormatError(f"{path}: record {i} of 'signals' is empty")
        if not np.isfinite(x).all():
            raise DataFormatError(f"{path}: record {i} of 'signals' contains {int((~np.isfinite(x)).sum())} NaN/inf "
                                  "samples (missing values, or a truncated file?)")
    return signals


def _labels(path: Path, obj: h5py.Dataset | None, n: int) -> np.ndarray:
    """``labels`` as int64 0/1, one per record."""
    if obj is None:
        raise DataFormatError(f"{path}: no dataset 'labels' at the top level; {SUPPORTED}")
    raw = np.asarray(obj[()])
    if raw.shape != (n,) or raw.dtype.kind not in "fiub":
        raise DataFormatError(f"{path}: 'labels' is {raw.dtype} {raw.shape}; expected {n} numbers, one per signal")
    bad = ~np.isin(raw.astype(np.float64), (0.0, 1.0))
    if bad.any():
        shown = sorted({str(x) for x in raw[bad][:20]})
        raise DataFormatError(f"{path}: labels in 'labels' must be 0 (normal) or 1 (AF); found {bad.sum()} other "
                              f"value(s) such as {shown[:5]} (first at record {np.argmax(bad)})")
    return raw.astype(np.int64)


def _ids(path: Path, obj: h5py.Dataset | None, n: int, what: str) -> np.ndarray | None:
    """Patient or record ids as stripped strings, or None when the file has none; record ids must be unique."""
    if obj is None:
        return None
    if obj.dtype.kind not in "OS" or obj.shape != (n,):
        raise DataFormatError(f"{path}: {what} {obj.name!r} are {obj.dtype} {obj.shape}; expected {n} strings")
    arr = np.char.strip((obj.asstr()[()] if obj.dtype.kind == "O" else np.char.decode(obj[()], "utf-8")).astype(str))
    if what == "record ids":
        ids, counts = np.unique(arr, return_counts=True)
        if (counts > 1).any():
            raise DataFormatError(f"{path}: record ids in {obj.name!r} must be unique; "
                                  f"{int((counts > 1).sum())} repeat, e.g. {ids[counts > 1][:5].tolist()}")
    return arr


def _fs(path: Path, f: h5py.File) -> float | None:
    """The file attribute ``fs`` in Hz, or None; 0, negative, NaN or inf is an error."""
    if "fs" not in f.attrs:
        return None
    value = f.attrs["fs"]
    try:
        fs = float(np.ravel(value)[0])
    except (TypeError, ValueError, IndexError):
        raise DataFormatError(f"{path}, attribute fs: sampling rate {value!r} is not a number") from None
    if not (np.isfinite(fs) and fs > 0):
        raise DataFormatError(f"{path}, attribute fs: sampling rate {fs!r} Hz is not a positive number")
    return fs


def read_file(path: Path) -> Parsed:
    """Read one file in the supported layout (see the module docstring).

    Raises
    ------
    DamagedFileError
        The file is not readable HDF5 (truncated or corrupt).
    DataFormatError
        A missing or misshapen dataset, counts that do not match, labels other than 0/1, NaN/inf samples, duplicated
        record ids or an impossible sampling rate; the message names the file.
    """
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise DamagedFileError(path, f"could not read it as HDF5 ({type(err).__name__}: {err}); the file may be "
                                     "truncated or corrupt") from err
    with f:
        top = sorted(f.keys())
        signals = _signals(path, _dataset(f, path, "signals"), top)
        n = len(signals)
        return Parsed(signals=signals, labels=_labels(path, _dataset(f, path, "labels"), n),
                      patient_ids=_ids(path, _dataset(f, path, "patient_ids"), n, "patient ids"),
                      record_ids=_ids(path, _dataset(f, path, "record_ids"), n, "record ids"),
                      fs=_fs(path, f), file=path)
