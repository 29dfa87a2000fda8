"""Unit 1's seed dataset: augmented single-lead ECG, 0 = normal sinus rhythm, 1 = atrial fibrillation (AF).

Source: Zenodo record 15302489 (https://zenodo.org/records/15302489), an educational set derived from real
patient data. :func:`fetch` asks the Zenodo records API which files the record holds (names, sizes, md5
checksums) and downloads them into ``<cache>/zenodo_af/real/``. The record's own layout has not been inspected, so
the reader supports one layout only, the one documented below (:mod:`helpers.data.zenodo_af_h5`); a file in any
other layout is refused with an error naming it.

Without the real files, :func:`load` falls back to the embedded synthetic default
(:func:`helpers.data.synthetic.simulate_af_records`), written to disk by :func:`write_synthetic` in that layout and
read back through the same reader, and marked ``source="synthetic"`` everywhere.

Synthetic on-disk layout (one HDF5 file, ``ecg.h5``, plus ``SYNTHETIC.json``):

=====================  =======================================  ============================================
dataset                dtype / shape                            meaning
=====================  =======================================  ============================================
``signals``            variable-length float32, ``(n,)``        one ECG per record, mV
``labels``             int64 ``(n,)``                           0 normal sinus rhythm, 1 AF
``patient_ids``        str ``(n,)``                             several records per simulated patient
``record_ids``         str ``(n,)``                             ``S00000``, ``S00001``, ...
``rhythms``            str ``(n,)``                             simulated rhythm (sinus, sinus_ectopy, af, ...)
file attribute ``fs``  float                                    sampling rate in Hz
=====================  =======================================  ============================================

HDF5 variable-length datasets hold 10-60 s records without padding (padding would need a mask, and a NaN
padding would look like missing data), and the patient ids sit next to the signals.
"""
from __future__ import annotations

import json
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .archives import check_zip
from .cache import atomic_dir, atomic_write, synthetic_target
from .container import SignalDataset
from .errors import DamagedFileError, DataFormatError
from .fetch import fetch_files
from .registry import is_synthetic_folder
from .repositories import zenodo_files, zenodo_record
from .spec import DatasetSpec
from .synthetic import AF_GENERATOR_VERSION, simulate_af_records
from .zenodo_af_h5 import SUPPORTED, find_file, read_file

NAME = "zenodo_af"
CLASS_NAMES = ("normal", "AF")
RECORD_ID = "15302489"
API_URL = "https://zenodo.org/api/records"
# A file without the fs attribute: 300 Hz is that of the single-lead AliveCor recordings (PhysioNet/CinC 2017)
# that public AF teaching sets are usually derived from; pass fs= when you know better.
DEFAULT_FS = 300.0
RECORD_JSON = "ZENODO_RECORD.json"
SYNTHETIC_FILE = "ecg.h5"
# Bounds for extracting a zip (in the cache, or a user's into a temporary folder): generous on purpose, since the
# compression-ratio check of helpers.data.archives is what stops a zip bomb before it fills the disk.
MAX_MEMBER_BYTES = 4 << 30
MAX_ARCHIVE_BYTES = 8 << 30
SPEC = DatasetSpec(
    name=NAME,
    title="Educational AF ECG set (Zenodo record 15302489: augmented single-lead ECG, normal vs AF)",
    class_names=CLASS_NAMES,
    licence="as stated on the Zenodo record (check it before redistributing)",
    citation="Zenodo record 15302489, augmented one-lead ECG (0 = normal, 1 = AF), doi:10.5281/zenodo.15302489",
    homepage="https://zenodo.org/records/15302489",
    get_it="Download the files of https://zenodo.org/records/15302489 (doi:10.5281/zenodo.15302489).",
    expected_layout="a folder (searched recursively, zips included) with " + SUPPORTED.removeprefix("supported: "),
    auto_download=True,
    synthetic_size=3000,  # ~29 h of ECG, ~126 MB on disk, ~10 s to generate
    synthetic_version=AF_GENERATOR_VERSION,
)


# ---------------------------------------------------------------- fetch

def _extract(archive: Path, target: Path) -> None:
    """Extract a zip into ``target`` (atomically, so a crash leaves no half folder)."""
    try:
        with zipfile.ZipFile(archive) as z, atomic_dir(target) as tmp:
            check_zip(archive, z, max_bytes=MAX_MEMBER_BYTES, max_total=MAX_ARCHIVE_BYTES, what="a data file of this record")
            bad = z.testzip()
            if bad is not None:
                raise DamagedFileError(archive, f"member {bad} is corrupt")
            z.extractall(tmp)  # zipfile strips absolute paths and '..' from member names
    except zipfile.BadZipFile as err:
        raise DamagedFileError(archive, f"not a valid zip file ({err})") from None


def fetch(dest: Path | str, *, api_url: str = API_URL, record_id: str = RECORD_ID, timeout: float = 30,
          progress: bool = True) -> Path:
    """Download Zenodo record 15302489 into ``dest`` (files already there and verified are not fetched again).

    Call it through :func:`helpers.data.source.fetch` (``python -m helpers data fetch zenodo_af``), which picks
    ``dest`` in the cache and marks an interrupted fetch.

    Parameters
    ----------
    dest : path-like
        The cache folder for the real files (``<cache>/zenodo_af/real``).
    api_url : str
        Base of the Zenodo records API; the record is read from ``{api_url}/{record_id}``. Tests point it at a
        local server.
    record_id : str
        Zenodo record id.
    timeout : float
        Seconds to wait for each connection or read.
    progress : bool
        Show download progress bars.

    Returns
    -------
    Path
        ``dest``, holding the files (zips extracted into sub-folders) and ``ZENODO_RECORD.json`` (the API answer,
        for provenance).

    Raises
    ------
    DataUnavailableError
        Offline, or the API / a file is not reachable (the message says what to do).
    ChecksumError
        A file does not match the md5 published by Zenodo.
    """
    dest = Path(dest)
    record = zenodo_record(record_id, api_url=api_url, timeout=timeout, dataset=NAME)
    files = zenodo_files(record, api_url=api_url)
    for path in fetch_files(files, dest, progress=progress, timeout=timeout, dataset=NAME):
        if zipfile.is_zipfile(path) and not path.with_suffix("").is_dir():
            _extract(path, path.with_suffix(""))
    keep = {k: record.get(k) for k in ("id", "doi", "created", "updated", "metadata", "links") if k in record}
    keep["files"] = [{"name": f.name, "url": f.url, "md5": f.md5, "size": f.size} for f in files]
    with atomic_write(dest / RECORD_JSON, "w") as f:
        json.dump(keep, f, indent=1)
    return dest


# ---------------------------------------------------------------- read

def read(folder: Path | str, *, fs: float | None = None) -> SignalDataset:
    """Read a folder in the supported layout (real download or synthetic copy), in place.

    Nothing is written into ``folder``: zip archives without an extracted copy beside them are extracted into a
    temporary folder that is deleted afterwards.

    Parameters
    ----------
    folder : path-like
        Folder with the data files (searched recursively).
    fs : float, optional
        Sampling rate in Hz; overrides the file's ``fs`` attribute. Without either, :data:`DEFAULT_FS` is assumed
        (with a warning).

    Returns
    -------
    SignalDataset
        float32 signals ``(T,)`` in the files' units (mV for the synthetic set), labels int64 (1 = AF).
        Without patient ids in the files, each record is its own subject (``metadata["subject_ids"]`` says so),
        so patient-wise splits degrade to record-wise ones.

    Raises
    ------
    DataFormatError
        A file in another layout (named, with the supported one), corrupt/truncated file, NaN samples, labels
        other than 0/1, counts that do not match, or an impossible sampling rate; the message names the file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataFormatError(f"{folder}: expected a folder of data files")
    zips = [z for z in sorted(folder.rglob("*.zip")) if not z.with_suffix("").is_dir()]
    if not zips:
        return _read_unpacked(folder, folder, fs)
    with tempfile.TemporaryDirectory(prefix="zenodo_af-") as tmp:
        for z in zips:
            _extract(z, Path(tmp) / z.relative_to(folder).with_suffix(""))
        return _read_unpacked(folder, Path(tmp), fs)


def _read_unpacked(folder: Path, extracted: Path, fs: float | None) -> SignalDataset:
    parsed = read_file(find_file([folder] if extracted == folder else [folder, extracted]))
    if fs is not None:
        fs_used, fs_from = float(fs), "fs= argument"
    elif parsed.fs is not None:
        fs_used, fs_from = parsed.fs, f"{parsed.file}, attribute fs"
    else:
        fs_used, fs_from = DEFAULT_FS, f"assumed default {DEFAULT_FS:g} Hz (no sampling rate in the files)"
        warnings.warn(f"{folder}: no sampling rate in the files; assuming {DEFAULT_FS:g} Hz. Pass fs= if the "
                      "record's documentation says otherwise.", stacklevel=3)
    if not (np.isfinite(fs_used) and fs_used > 0):
        raise DataFormatError(f"{folder}: sampling rate {fs_used!r} Hz (from {fs_from}) is not a positive number")
    n = parsed.labels.size
    record_ids = parsed.record_ids if parsed.record_ids is not None else np.array([f"r{i:05d}" for i in range(n)])
    synthetic = is_synthetic_folder(folder)
    # The synthetic set is written in mV; the real record documents no unit we could check from here.
    meta: dict[str, Any] = {"path": str(folder), "fs_from": fs_from, "file": str(parsed.file),
                            "units": "mV" if synthetic else "as in the Zenodo files (not stated)",
                            "citation": SPEC.citation}
    if parsed.patient_ids is None:
        subject_ids = record_ids
        meta["subject_ids"] = "none in the files: each record is its own subject (splits are record-wise)"
        # Said out loud: with augmented data, copies of one recording can then sit on both sides of a split.
        warnings.warn(f"{folder}: no patient ids in the files, so each record is treated as its own subject; "
                      "splits are record-wise and cannot prevent patient (or augmented-copy) leakage.", stacklevel=3)
    else:
        subject_ids = parsed.patient_ids
        meta["subject_ids"] = "patient ids from the files"
    if synthetic:
        meta["rhythms"] = _synthetic_rhythms(folder, record_ids)
    return SignalDataset(signals=parsed.signals, labels=parsed.labels, fs=fs_used, subject_ids=subject_ids,
                         record_ids=record_ids, class_names=CLASS_NAMES, source="real", name=NAME, metadata=meta,
                         channel_names=("ECG",))


# ---------------------------------------------------------------- synthetic default

def _synthetic_rhythms(folder: Path, record_ids: np.ndarray) -> dict[str, str]:
    """Record id -> simulated rhythm (sinus, sinus_ectopy, af_regular, ...), to see which cases a model misses."""
    path = folder / SYNTHETIC_FILE
    if not path.exists():
        return {}
    with h5py.File(path, "r") as f:
        if "rhythms" not in f or len(f["rhythms"]) != len(record_ids):
            return {}
        return dict(zip(record_ids.tolist(), f["rhythms"].asstr()[()].tolist()))


def write_synthetic(out_dir: Path | str, *, seed: int = 0, size: int | None = None, fs: float = 300.0) -> Path:
    """Write the embedded synthetic AF set in the HDF5 layout described in the module docstring.

    Parameters
    ----------
    out_dir : path-like
        Folder to write ``ecg.h5`` into (created if missing).
    seed : int
        Simulator seed.
    size : int, optional
        Number of 10-60 s records (default ``SPEC.synthetic_size``; about 15% AF, about four per simulated
        patient).
    fs : float
        Sampling rate in Hz.

    Returns
    -------
    Path
        ``out_dir``, holding :data:`SYNTHETIC_FILE`.
    """
    out_dir, size = synthetic_target(out_dir, size, SPEC.synthetic_size)
    sim = simulate_af_records(size, fs=fs, seed=seed)
    with atomic_write(out_dir / SYNTHETIC_FILE) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["fs"] = float(sim.fs)
        f.attrs["units"] = "mV"
        f.attrs["class_names"] = ",".join(CLASS_NAMES)
        sig = f.create_dataset("signals", (len(sim),), dtype=h5py.vlen_dtype(np.float32))
        for i, s in enumerate(sim.signals):
            sig[i] = s
        f.create_dataset("labels", data=sim.labels)
        f.create_dataset("patient_ids", data=sim.patient_ids.astype(object), dtype=h5py.string_dtype())
        f.create_dataset("record_ids", data=np.array([f"S{i:05d}" for i in range(len(sim))], dtype=object),
                         dtype=h5py.string_dtype())
        f.create_dataset("rhythms", data=sim.rhythms.astype(object), dtype=h5py.string_dtype())
    return out_dir
