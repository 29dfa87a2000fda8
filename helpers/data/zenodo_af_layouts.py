"""Readers for the file layouts the Zenodo AF set (record 15302489) may ship in.

The record's layout could not be inspected when this was written, so instead of one parser we read every
supported file into named *variables* and then look for the pieces by name and shape:

* formats: CSV/TSV, NPY, NPZ, MAT (v5 via ``scipy.io.loadmat``, v7.3 via ``h5py``), HDF5;
* signals as rows or as columns of a matrix (the label count decides which), as ``(n, T, 1)`` arrays, or as
  variable-length records (HDF5 variable-length datasets, a group of per-record datasets, MATLAB cell arrays);
* labels as a column of the signal table (named, or an unnamed 0/1 first/last column of a header-less CSV) or as a
  variable/file of their own (``labels.csv``, ``y.npy``, ...);
* optional patient ids, record ids and sampling rate (variables, HDF5 attributes or a JSON sidecar).

Anything else fails with :class:`~helpers.data.errors.DataFormatError` listing the files and variables found.
Pickled objects are never loaded (``allow_pickle=False``): a downloaded file must not be able to run code.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import scipy.io

from helpers.data.errors import DamagedFileError, DataFormatError

SUFFIXES = {".csv": "csv", ".tsv": "csv", ".npy": "npy", ".npz": "npz", ".mat": "mat",
            ".h5": "hdf5", ".hdf5": "hdf5", ".hdf": "hdf5"}
LABEL_NAMES = ("label", "labels", "y", "target", "targets", "class", "classes", "af", "reference",
               "annotation", "annotations", "diagnosis", "rhythm", "outcome")
SIGNAL_NAMES = ("signals", "signal", "x", "data", "ecg", "ecgs", "records", "waveforms", "values", "samples")
PATIENT_NAMES = ("patient", "patients", "patient_id", "patient_ids", "subject", "subjects", "subject_id",
                 "subject_ids", "pid")
# Educational sets often ship pre-split (X_train.npy / y_test.npy, train.csv / test.csv): read every part.
SPLIT_WORDS = ("train", "training", "test", "testing", "val", "valid", "validation", "dev")
SPLIT_ALIASES = {"training": "train", "testing": "test", "valid": "val", "validation": "val", "dev": "val"}
RECORD_NAMES = ("record", "records_id", "record_id", "record_ids", "record_name", "filename", "file", "id", "ids",
                "name", "names")
# An HDF5 file can declare a dataset far larger than the bytes it stores (unwritten space reads as zeros): refuse
# declared sizes past this before allocating anything. 8 GiB is a third of the course machine's memory.
MAX_DECLARED_BYTES = 8 << 30
FS_NAMES = ("fs", "sampling_rate", "sample_rate", "sampling_frequency", "sampling_freq", "samplingrate", "srate",
            "freq", "frequency", "fs_hz")


@dataclass
class Var:
    """One named thing found in a file: a numeric array, a list of 1-D arrays (ragged) or strings."""

    file: Path
    name: str
    value: Any            # np.ndarray, or list of 1-D np.ndarray when ragged
    ragged: bool = False

    @property
    def key(self) -> str:
        """The variable's base name: last path component, lower case, split words removed (``X_train`` -> ``x``)."""
        last = self.name.lower().split("/")[-1]
        tokens = [t for t in re.split(r"[_\-. ]+", last) if t]
        base = [t for t in tokens if t not in SPLIT_WORDS]
        return "_".join(base) if base and len(base) < len(tokens) else last

    @property
    def split(self) -> str:
        """The data split the variable belongs to (``train``, ``test``, ...) from its name or file name, or ``""``."""
        for text in (self.name.lower(), self.file.stem.lower()):
            for t in re.split(r"[_\-. /]+", text):
                if t in SPLIT_WORDS:
                    return SPLIT_ALIASES.get(t, t)
        return ""

    def describe(self) -> str:
        if self.ragged:
            return f"{self.name} ({len(self.value)} variable-length arrays)"
        return f"{self.name} {getattr(self.value, 'dtype', '?')}{tuple(np.shape(self.value))}"


@dataclass
class Found:
    """Everything read from a folder: variables and sampling-rate hints (value, where it came from)."""

    vars: list[Var]
    fs_hints: list[tuple[float, str]]
    skipped: list[str] = field(default_factory=list)  # things seen but not read, e.g. "x.mat: struct 's'"


# ---------------------------------------------------------------- per-format readers

def _fs_hint(found: Found, value: Any, where: str) -> None:
    """Record a sampling rate read from a file; 0, negative, NaN or inf is an error naming where it was."""
    try:
        fs = float(np.ravel(value)[0])
    except (TypeError, ValueError, IndexError):
        raise DataFormatError(f"{where}: sampling rate {value!r} is not a number") from None
    if not (np.isfinite(fs) and fs > 0):
        raise DataFormatError(f"{where}: sampling rate {fs!r} Hz is not a positive number")
    found.fs_hints.append((fs, where))


def _is_number(token: str) -> bool:
    try:
        float(token)
        return True
    except ValueError:
        return False


def _read_csv(path: Path, found: Found) -> None:
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    with open(path, newline="") as f:
        first = f.readline().strip()
    if not first:
        raise DataFormatError(f"{path}: empty CSV file")
    has_header = not all(_is_number(t) for t in first.split(sep) if t.strip() != "")
    df = pd.read_csv(path, sep=sep, header=0 if has_header else None)
    if not has_header:
        df.columns = [f"col{i}" for i in range(df.shape[1])]
    known = LABEL_NAMES + PATIENT_NAMES + RECORD_NAMES + FS_NAMES
    special = [c for c in df.columns if str(c).strip().lower() in known]
    for c in special:
        key = str(c).strip().lower()
        if key in FS_NAMES:
            vals = pd.to_numeric(df[c], errors="coerce").dropna().unique()
            if len(vals) == 1:
                _fs_hint(found, vals[0], f"{path}, column {c}")
            continue
        found.vars.append(Var(path, key, df[c].to_numpy()))
    rest = df.drop(columns=special)
    if rest.shape[1] == 0:
        return
    numeric = rest.apply(pd.to_numeric, errors="coerce")
    text = [c for c in rest.columns if numeric[c].isna().all() and rest[c].notna().any()]
    for c in text:  # a text column that is not a known id (e.g. a comment): keep it visible, not as a signal
        found.vars.append(Var(path, str(c).strip().lower(), rest[c].astype(str).to_numpy()))
    numeric = numeric.drop(columns=text)
    if numeric.shape[1] == 0:
        return
    if not has_header and not special and rest.shape[1] == 1:
        # A header-less single column is whatever the file is called (labels.csv, y.csv, signal.csv, ...).
        found.vars.append(Var(path, path.stem.lower(), numeric.iloc[:, 0].to_numpy()))
        return
    matrix = numeric.to_numpy(dtype=np.float64)
    if not has_header and not special and matrix.shape[1] > 2:
        # Header-less "samples..., label" rows (the Kaggle heartbeat style): an all-0/1 edge column is the label.
        for col in (-1, 0):
            edge, others = matrix[:, col], np.delete(matrix, col, axis=1)
            if np.isin(edge, (0, 1)).all() and not np.isin(others, (0, 1)).all():
                found.vars.append(Var(path, f"label (unnamed column {col % matrix.shape[1]})", edge))
                matrix = others
                break
    found.vars.append(Var(path, path.stem.lower() if path.stem.lower() in SIGNAL_NAMES else f"{path.stem} table",
                          matrix))


def _read_npy(path: Path, found: Found) -> None:
    found.vars.append(Var(path, path.stem.lower(), np.load(path, allow_pickle=False)))


def _read_npz(path: Path, found: Found) -> None:
    with np.load(path, allow_pickle=False) as z:
        for k in z.files:
            _add_array(found, path, k, z[k])


def _add_array(found: Found, path: Path, name: str, arr: np.ndarray) -> None:
    if name.lower().split("/")[-1] in FS_NAMES and np.size(arr) == 1 and np.issubdtype(np.asarray(arr).dtype,
                                                                                       np.number):
        _fs_hint(found, arr, f"{path}:{name}")
        return
    found.vars.append(Var(path, name, arr))


def _read_mat(path: Path, found: Found) -> None:
    try:
        mat = scipy.io.loadmat(path, squeeze_me=False, chars_as_strings=True)
    except NotImplementedError:  # MATLAB v7.3 files are HDF5 underneath
        _read_hdf5(path, found, matlab=True)
        return
    for k, v in mat.items():
        if k.startswith("__"):
            continue
        if v.dtype == object:  # a cell array: one (possibly different-length) record per cell
            cells = [np.asarray(c) for c in v.ravel()]
            if cells and all(c.dtype.kind in "US" for c in cells):
                found.vars.append(Var(path, k, np.array([str(np.squeeze(c)) for c in cells])))
            else:
                found.vars.append(Var(path, k, [np.asarray(c, dtype=np.float64).ravel() for c in cells], ragged=True))
        elif v.dtype.kind in "US":
            found.vars.append(Var(path, k, np.char.strip(v.ravel().astype(str))))
        elif v.dtype.names is None:
            _add_array(found, path, k, v)
        else:
            found.skipped.append(f"{path.name}: MATLAB struct {k!r} with fields {list(v.dtype.names)} (structs are "
                                 "not read: save the fields as separate variables)")


def _read_hdf5(path: Path, found: Found, matlab: bool = False) -> None:
    with h5py.File(path, "r") as f:
        for key, val in f.attrs.items():
            if key.lower() in FS_NAMES:
                _fs_hint(found, val, f"{path}, attribute {key}")

        def visit(name: str, obj: Any) -> None:
            if name.startswith("#"):  # MATLAB v7.3 internals (#refs#, #subsystem#)
                return
            if isinstance(obj, h5py.Group):
                children = [obj[c] for c in obj]
                if len(children) > 1 and all(isinstance(c, h5py.Dataset) and c.ndim <= 2 and c.dtype.kind in "fiu"
                                             for c in children):
                    # One dataset per record inside a group: variable-length records.
                    found.vars.append(Var(path, name, [np.asarray(c[()], dtype=np.float64).ravel()
                                                       for c in children], ragged=True))
                    found.vars.append(Var(path, f"{name}/record_id", np.array(list(obj.keys()))))
                return
            if isinstance(obj.parent, h5py.Group) and obj.parent.name != "/" and _is_record_group(obj.parent):
                return
            for key, val in obj.attrs.items():
                if key.lower() in FS_NAMES:
                    _fs_hint(found, val, f"{path}:{name}, attribute {key}")
            _check_declared_size(path, name, obj)
            vlen = h5py.check_vlen_dtype(obj.dtype)
            if vlen is not None and np.dtype(vlen).kind in "fiu":
                found.vars.append(Var(path, name, [np.asarray(r, dtype=np.float64) for r in obj[()]], ragged=True))
            elif obj.dtype.kind == "O" and h5py.check_string_dtype(obj.dtype) is not None or obj.dtype.kind == "S":
                found.vars.append(Var(path, name, obj.asstr()[()] if obj.dtype.kind == "O" else
                                      np.char.decode(obj[()], "utf-8")))
            elif obj.dtype == h5py.ref_dtype:  # MATLAB v7.3 cell array: references to per-cell datasets
                found.vars.append(Var(path, name, [np.asarray(f[r][()], dtype=np.float64).ravel()
                                                   for r in obj[()].ravel()], ragged=True))
            elif obj.dtype.kind in "fiub":
                arr = obj[()]
                # MATLAB stores column-major: h5py sees the transpose of what MATLAB shows.
                _add_array(found, path, name, arr.T if matlab and arr.ndim == 2 else arr)

        f.visititems(visit)


def _check_declared_size(path: Path, name: str, obj: h5py.Dataset) -> None:
    """Refuse a dataset whose declared size is huge or not backed by stored bytes, before reading it."""
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


def _is_record_group(group: h5py.Group) -> bool:
    children = [group[c] for c in group]
    return len(children) > 1 and all(isinstance(c, h5py.Dataset) and c.ndim <= 2 and c.dtype.kind in "fiu"
                                      for c in children)


def _read_json_hints(path: Path, found: Found) -> None:
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    stack = [meta]
    while stack:  # look for an fs-like key anywhere in the document
        node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                if k.lower() in FS_NAMES and isinstance(v, (int, float)) and not isinstance(v, bool):
                    _fs_hint(found, v, f"{path}:{k}")
                elif isinstance(v, (dict, list)):
                    stack.append(v)
                elif k == "description" and isinstance(v, str):
                    m = re.search(r"sampl\w*(?:\s+(?:rate|frequency))?\s*(?:of|at|:|=|is)?\s*(\d+(?:\.\d+)?)\s*hz",
                                  v, flags=re.IGNORECASE)
                    if m:
                        _fs_hint(found, float(m.group(1)), f"{path}: description")
        elif isinstance(node, list):
            stack.extend(node)


READERS = {"csv": _read_csv, "npy": _read_npy, "npz": _read_npz, "mat": _read_mat, "hdf5": _read_hdf5}


def data_files(folder: Path) -> list[Path]:
    """Supported data files under ``folder`` (recursively; hidden files and partial downloads skipped)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def read_folder_variables(folder: Path) -> Found:
    """Read every supported file in ``folder`` into :class:`Var` objects (errors name the file)."""
    found = Found([], [])
    for path in data_files(folder):
        kind = SUFFIXES[path.suffix.lower()]
        try:
            READERS[kind](path, found)
        except DataFormatError:
            raise
        except Exception as err:
            raise DamagedFileError(path, f"could not read it as {kind.upper()} ({type(err).__name__}: {err}); the "
                                         "file may be truncated or corrupt") from err
    # Sidecar JSON (and the Zenodo description) come after the data files' own metadata: the first hint wins.
    for p in sorted(folder.rglob("*.json")):
        _read_json_hints(p, found)
    return found


# ---------------------------------------------------------------- from variables to records

@dataclass
class Parsed:
    """Records resolved from a folder, before they become a :class:`~helpers.data.container.SignalDataset`."""

    signals: list[np.ndarray]          # float32 (T,) each
    labels: np.ndarray                 # int64 (n,)
    patient_ids: np.ndarray | None     # str (n,) or None when the files carry none
    record_ids: np.ndarray | None      # str (n,) or None
    fs_hints: list[tuple[float, str]]
    files: dict[str, str]              # role -> file the piece came from


def _rel(path: Path, folder: Path) -> str:
    try:
        return str(path.relative_to(folder))
    except ValueError:  # extracted from a zip into a temporary folder
        return path.name


def _listing(folder: Path, found: Found) -> str:
    lines = [f"  {_rel(v.file, folder)}: {v.describe()}" for v in found.vars]
    lines += [f"  {s} (skipped)" for s in found.skipped]
    others = [p for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix.lower() not in SUFFIXES
              and not p.name.startswith(".")]  # download records and parts are ours, not the dataset's
    lines += [f"  {p.relative_to(folder)} (not a supported data file)" for p in others]
    if not lines:
        lines = ["  (nothing: the folder is empty)"]
    if len(lines) > 40:  # thousands of per-record files would drown the message
        lines = [*lines[:40], f"  ... and {len(lines) - 40} more"]
    return "\n".join(lines)


def _unknown_layout(folder: Path, found: Found, problem: str) -> DataFormatError:
    return DataFormatError(
        f"{folder}: {problem}. Expected: CSV/NPY/NPZ/MAT/HDF5 holding a signal matrix (records as rows or columns) "
        f"or variable-length records, and labels as a column or variable named one of {LABEL_NAMES[:6]}... "
        f"Found:\n{_listing(folder, found)}")


def _as_1d(v: Var) -> np.ndarray | None:
    if v.ragged:
        return None
    arr = np.asarray(v.value)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.ravel()
    return arr if arr.ndim == 1 else None


def _pick(found: Found, names: tuple[str, ...], exclude: list[Var]) -> list[Var]:
    out = [v for v in found.vars if v.key in names and v not in exclude and _as_1d(v) is not None]
    # "label (unnamed column k)" from header-less CSVs also counts as a label.
    if names is LABEL_NAMES:
        out += [v for v in found.vars if v.key.startswith("label (unnamed") and v not in exclude]
    return sorted(out, key=lambda v: names.index(v.key) if v.key in names else len(names))


def _labels(v: Var) -> np.ndarray:
    raw = _as_1d(v)
    if raw.dtype.kind in "OUS":
        # Labels stored as text ("0"/"1", possibly with whitespace) are fine; anything else is reported below.
        raw = pd.to_numeric(pd.Series(raw).astype(str).str.strip(), errors="coerce").to_numpy()
    raw = raw.astype(np.float64)
    bad = ~np.isin(raw, (0.0, 1.0))
    if bad.any():
        shown = sorted({str(x) for x in np.asarray(_as_1d(v))[bad][:20]})
        raise DataFormatError(f"{v.file}: labels in {v.name!r} must be 0 (normal) or 1 (AF); found "
                              f"{bad.sum()} other value(s) such as {shown[:5]} (first at record {np.argmax(bad)})")
    return raw.astype(np.int64)


def _records(v: Var, n: int, label_var: Var) -> list[np.ndarray]:
    """Split a signal variable into ``n`` 1-D records, deciding rows vs columns from the label count."""
    if v.ragged:
        recs = list(v.value)
        if len(recs) != n:
            raise DataFormatError(f"{v.file}: {len(recs)} signals in {v.name!r} but {n} labels in "
                                  f"{label_var.file.name}:{label_var.name}; the counts must match")
        return [np.asarray(r, dtype=np.float64).ravel() for r in recs]
    arr = np.asarray(v.value)
    if arr.ndim == 3 and 1 in arr.shape[1:]:  # (n, T, 1) or (n, 1, T): a single-lead channel axis
        arr = arr.reshape(arr.shape[0], -1)
    if arr.ndim == 1 and n == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise DataFormatError(f"{v.file}: signals {v.name!r} have shape {arr.shape}; expected a 2-D matrix "
                              "(records x samples or samples x records) or variable-length records")
    if arr.shape[0] == n == arr.shape[1]:
        raise DataFormatError(f"{v.file}: signals {v.name!r} form a square {n} x {n} matrix with {n} labels, so it is "
                              "impossible to tell records-as-rows from records-as-columns; store the records as "
                              "rows of a non-square matrix or as variable-length records")
    if arr.shape[0] == n:
        pass  # records as rows
    elif arr.shape[1] == n:
        arr = arr.T  # records as columns
    else:
        raise DataFormatError(f"{v.file}: signals {v.name!r} have shape {arr.shape} but there are {n} labels in "
                              f"{label_var.file.name}:{label_var.name}; neither the number of rows nor of "
                              "columns matches the number of labels")
    if arr.dtype.kind not in "fiub":
        raise DataFormatError(f"{v.file}: signals {v.name!r} are not numeric (dtype {arr.dtype})")
    return list(arr.astype(np.float64))


def _check_finite(sig_var: Var, signals: list[np.ndarray]) -> None:
    for i, x in enumerate(signals):
        if x.size == 0:
            raise DataFormatError(f"{sig_var.file}: record {i} of {sig_var.name!r} is empty")
        if not np.isfinite(x).all():
            raise DataFormatError(f"{sig_var.file}: record {i} of {sig_var.name!r} contains "
                                  f"{int((~np.isfinite(x)).sum())} NaN/inf samples (missing values, or a truncated "
                                  "file?)")


def _ids(vs: list[Var], n: int, what: str) -> np.ndarray | None:
    if not vs:
        return None
    arr = np.asarray(_as_1d(vs[0])).astype(str)
    if arr.size != n:
        raise DataFormatError(f"{vs[0].file}: {arr.size} {what} in {vs[0].name!r} but {n} labels; "
                              "the counts must match")
    arr = np.char.strip(arr)
    if what == "record ids":
        ids, counts = np.unique(arr, return_counts=True)
        if (counts > 1).any():
            raise DataFormatError(f"{vs[0].file}: record ids in {vs[0].name!r} must be unique; "
                                  f"{int((counts > 1).sum())} repeat, e.g. {ids[counts > 1][:5].tolist()}")
    return arr


def _resolve_part(folder: Path, found: Found, label_var: Var, label_vars: list[Var], split: str | None) -> Parsed:
    """Labels, signals and ids of one part (all of the data, or one split when the set ships pre-split)."""
    def same_part(v: Var) -> bool:
        return split is None or v.split == split

    labels = _labels(label_var)
    n = labels.size
    used = [label_var]
    patients = [v for v in _pick(found, PATIENT_NAMES, used) if same_part(v)]
    records = [v for v in _pick(found, RECORD_NAMES, used) if same_part(v)]
    used += patients[:1] + records[:1]

    candidates = [v for v in found.vars if v not in used and v not in label_vars and same_part(v)
                  and v.key not in PATIENT_NAMES + RECORD_NAMES
                  and (v.ragged or (np.asarray(v.value).ndim >= 2 and np.asarray(v.value).dtype.kind in "fiub"))]
    named = [v for v in candidates if v.key in SIGNAL_NAMES]
    matching = [v for v in (named or candidates) if v.ragged and len(v.value) == n
                or not v.ragged and n in np.asarray(v.value).shape[:2]]
    pool = matching or named or candidates
    where = f"{label_var.file.name}:{label_var.name}"
    if not pool:
        raise _unknown_layout(folder, found, f"found labels ({where}) but no signal matrix or variable-length "
                                             "records" + (f" for the {split!r} split" if split else ""))
    if len(pool) > 1 and len({v.key for v in pool if v.key in SIGNAL_NAMES}) != 1:
        raise _unknown_layout(folder, found, "found several possible signal arrays "
                                             f"({', '.join(v.name for v in pool)}) and cannot tell which to use")
    sig_var = pool[0]
    signals = _records(sig_var, n, label_var)
    _check_finite(sig_var, signals)
    rec_ids = _ids(records, n, "record ids")
    if rec_ids is None:
        # Variable-length records stored one dataset per record carry their names with them.
        rec_ids = _ids([v for v in found.vars if v.name == f"{sig_var.name}/record_id"], n, "record ids")
    return Parsed(signals=[x.astype(np.float32) for x in signals], labels=labels,
                  patient_ids=_ids(patients, n, "patient ids"), record_ids=rec_ids, fs_hints=found.fs_hints,
                  files={"signals": f"{_rel(sig_var.file, folder)}:{sig_var.name}",
                         "labels": f"{_rel(label_var.file, folder)}:{label_var.name}"})


def resolve(folder: Path, found: Found) -> Parsed:
    """Find labels, signals, patient and record ids among the variables of ``found``.

    A set shipped as several splits (``X_train``/``y_train`` + ``X_test``/``y_test``, or ``train.csv`` +
    ``test.csv``) is read part by part and concatenated; record ids then start with the split name
    (``train/...``), so the original split can be rebuilt.

    Raises
    ------
    DataFormatError
        No labels or no signals recognised (the message lists what was found), counts that do not match, label
        values other than 0/1, or NaN/inf samples (each naming the file).
    """
    label_vars = _pick(found, LABEL_NAMES, [])
    if not label_vars:
        raise _unknown_layout(folder, found, "found no labels")
    splits = list(dict.fromkeys(v.split for v in label_vars))
    if len(splits) == 1:
        return _resolve_part(folder, found, label_vars[0], label_vars, None)
    parts = {sp: _resolve_part(folder, found, next(v for v in label_vars if v.split == sp), label_vars, sp)
             for sp in splits}

    pids = [pt.patient_ids for pt in parts.values()]
    rec = [np.char.add(f"{sp or 'other'}/", pt.record_ids if pt.record_ids is not None else
                       np.array([f"r{i:05d}" for i in range(pt.labels.size)])) for sp, pt in parts.items()]
    return Parsed(signals=[x for pt in parts.values() for x in pt.signals],
                  labels=np.concatenate([pt.labels for pt in parts.values()]),
                  # Patient ids only if every part has them; a mix would make some subjects up.
                  patient_ids=np.concatenate(pids) if all(p is not None for p in pids) else None,
                  record_ids=np.concatenate(rec), fs_hints=found.fs_hints,
                  files={f"{role} ({sp or 'other'})": f for sp, pt in parts.items() for role, f in pt.files.items()})
