"""Unit 1's seed dataset: augmented single-lead ECG, 0 = normal sinus rhythm, 1 = atrial fibrillation (AF).

Source: Zenodo record 15302489 (https://zenodo.org/records/15302489), an educational set derived from real
patient data. :func:`fetch` asks the Zenodo records API which files the record holds (names, sizes, md5
checksums) and downloads them into ``<cache>/zenodo_af/real/``; :func:`load` reads whatever layout they use (see
:mod:`helpers.data.zenodo_af_layouts`).

Without the real files, :func:`load` falls back to the embedded synthetic default
(:func:`helpers.data.synthetic.simulate_af_records`), written to disk by :func:`write_synthetic` in one of the
supported layouts and read back through the same reader, and marked ``source="synthetic"`` everywhere.

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
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import warnings
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .container import SignalDataset
from .fetch import DataFormatError, DataUnavailableError, atomic_dir, atomic_write, cache_dir, download
from .synthetic import AF_GENERATOR_VERSION, simulate_af_records
from .zenodo_af_layouts import data_files, read_folder_variables, resolve

NAME = "zenodo_af"
CLASS_NAMES = ("normal", "AF")
RECORD_ID = "15302489"
API_URL = "https://zenodo.org/api/records"
# The record's files might not state their sampling rate. 300 Hz is that of the single-lead AliveCor recordings
# (PhysioNet/CinC 2017) that public AF teaching sets are usually derived from; pass fs= when you know better.
DEFAULT_FS = 300.0
MARKER = "SYNTHETIC.json"
RECORD_JSON = "ZENODO_RECORD.json"
FETCH_IN_PROGRESS = "FETCH_IN_PROGRESS"
SYNTHETIC_FILE = "ecg.h5"
SYNTHETIC_N_RECORDS = 3000  # the embedded default: ~29 h of ECG, ~126 MB on disk, ~10 s to generate
CITATION = "Zenodo record 15302489, augmented one-lead ECG (0 = normal, 1 = AF); see its page for licence/citation."


def real_dir(root: Path | str | None = None) -> Path:
    """Folder holding the real files: ``<cache root>/zenodo_af/real``."""
    return cache_dir(NAME, root) / "real"


# ---------------------------------------------------------------- fetch

def _get_json(url: str, timeout: float) -> dict[str, Any]:
    req = urllib.request.Request(url, headers={"Accept": "application/json",
                                               "User-Agent": "biosignal-course-helpers/0.1"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
    except urllib.error.HTTPError as err:
        raise DataUnavailableError(f"The Zenodo API answered HTTP {err.code} for {url}; the record may have moved. "
                                   "Use load(source='synthetic') meanwhile.") from None
    except OSError as err:
        raise DataUnavailableError(
            f"Could not reach {url} ({getattr(err, 'reason', err)}). Offline? On a machine with internet run "
            f"`python -m helpers data fetch {NAME}` and copy the folder it prints into this machine's cache, or use "
            "load(source='synthetic') (DATA_SOURCE = 'synthetic' in a notebook).") from None
    try:
        return json.loads(body)
    except ValueError as err:
        raise DataFormatError(f"{url}: the Zenodo API answer is not JSON ({err})") from None


def _file_entries(record: dict[str, Any], api_url: str, record_id: str) -> list[dict[str, Any]]:
    """Normalise the files list of the legacy and the InvenioRDM records API to (name, url, md5, size)."""
    files = record.get("files")
    if isinstance(files, dict):  # InvenioRDM: {"enabled": true, "entries": {...} or [...]}
        files = files.get("entries", [])
        files = list(files.values()) if isinstance(files, dict) else files
    if not files:
        raise DataFormatError(f"Zenodo record {record_id}: the API answer lists no files "
                              f"(keys: {sorted(record)}); it may be restricted or empty.")
    out = []
    for f in files:
        name = f.get("key") or f.get("filename")
        links = f.get("links", {})
        url = links.get("content") or links.get("self") or links.get("download") \
            or f"{api_url}/{record_id}/files/{name}/content"
        checksum = str(f.get("checksum", ""))
        algo, _, digest = checksum.partition(":")
        if not name or Path(name).name != name:
            raise DataFormatError(f"Zenodo record {record_id}: unsafe or missing file name {name!r}")
        out.append({"name": name, "url": url, "size": f.get("size") or f.get("filesize"),
                    "md5": digest if algo == "md5" and digest else None})
    return out


def _unpack(archive: Path) -> None:
    """Extract a zip next to itself into ``<stem>/`` (once; atomically, so a crash leaves no half folder)."""
    target = archive.with_suffix("")
    if target.is_dir():
        return
    try:
        with zipfile.ZipFile(archive) as z, atomic_dir(target) as tmp:
            bad = z.testzip()
            if bad is not None:
                raise DataFormatError(f"{archive}: member {bad} is corrupt; delete the zip and fetch again")
            z.extractall(tmp)  # zipfile strips absolute paths and '..' from member names
    except zipfile.BadZipFile as err:
        raise DataFormatError(f"{archive}: not a valid zip file ({err}); delete it and fetch again") from None


def fetch(root: Path | str | None = None, *, api_url: str = API_URL, record_id: str = RECORD_ID,
          timeout: float = 30, progress: bool = True) -> Path:
    """Download Zenodo record 15302489 into the cache (files already there and verified are not fetched again).

    Parameters
    ----------
    root : path-like, optional
        Cache root (default ``$BIOSIGNAL_DATA`` or ``~/.cache/biosignal-course``).
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
        ``<cache>/zenodo_af/real``, holding the files (zips extracted into sub-folders) and ``ZENODO_RECORD.json``
        (the API answer, for provenance and for the sampling rate if the description states it).

    Raises
    ------
    DataUnavailableError
        Offline, or the API / a file is not reachable (the message says what to do).
    ChecksumError
        A file does not match the md5 published by Zenodo.
    """
    record = _get_json(f"{api_url.rstrip('/')}/{record_id}", timeout)
    entries = _file_entries(record, api_url.rstrip("/"), record_id)
    dest = real_dir(root)
    dest.mkdir(parents=True, exist_ok=True)
    # Until the provenance file is written last, the folder is an incomplete fetch, never "the real data".
    (dest / FETCH_IN_PROGRESS).write_text("an interrupted `fetch` left this folder incomplete; fetch again\n")
    for e in entries:
        path = download(e["url"], dest / e["name"], md5=e["md5"], size=None if e["md5"] else e["size"],
                        timeout=timeout, progress=progress, dataset=NAME)
        if zipfile.is_zipfile(path):
            _unpack(path)
    keep = {k: record.get(k) for k in ("id", "doi", "created", "updated", "metadata", "links") if k in record}
    keep["files"] = entries
    with atomic_write(dest / RECORD_JSON, "w") as f:
        json.dump(keep, f, indent=1)
    (dest / FETCH_IN_PROGRESS).unlink()
    return dest


# ---------------------------------------------------------------- read

def read(folder: Path | str, *, fs: float | None = None) -> SignalDataset:
    """Read a folder in any supported layout (real download or synthetic copy) into a :class:`SignalDataset`.

    Parameters
    ----------
    folder : path-like
        Folder with the data files (searched recursively).
    fs : float, optional
        Sampling rate in Hz; overrides what the files say. Without it and without metadata, :data:`DEFAULT_FS`
        is assumed (with a warning).

    Returns
    -------
    SignalDataset
        float32 signals ``(T,)`` in the files' units (mV for the synthetic set), labels int64 (1 = AF),
        ``source="synthetic"`` when the folder holds a ``SYNTHETIC.json`` marker, else ``"real"``.
        Without patient ids in the files, each record is its own subject (``metadata["subject_ids"]`` says so),
        so patient-wise splits degrade to record-wise ones.

    Raises
    ------
    DataFormatError
        Unknown layout (lists what was found), corrupt/truncated file, NaN samples, labels other than 0/1,
        or counts that do not match; the message names the file.
    """
    folder = Path(folder)
    for z in sorted(folder.rglob("*.zip")):
        _unpack(z)
    marker = folder / MARKER
    synthetic = marker.exists()
    parsed = resolve(folder, read_folder_variables(folder))
    hints = parsed.fs_hints
    if fs is not None:
        fs_used, fs_from = float(fs), "fs= argument"
    elif hints:
        if len({v for v, _ in hints}) > 1:
            warnings.warn(f"{folder}: several sampling rates found {hints}; using the first", stacklevel=2)
        fs_used, fs_from = hints[0]
    else:
        fs_used, fs_from = DEFAULT_FS, f"assumed default {DEFAULT_FS:g} Hz (no sampling rate in the files)"
        warnings.warn(f"{folder}: no sampling rate in the files; assuming {DEFAULT_FS:g} Hz. Pass fs= if the "
                      "record's documentation says otherwise.", stacklevel=2)
    n = parsed.labels.size
    record_ids = parsed.record_ids if parsed.record_ids is not None else np.array([f"r{i:05d}" for i in range(n)])
    # The synthetic set is written in mV; the real record documents no unit we could check from here.
    meta: dict[str, Any] = {"path": str(folder), "fs_from": fs_from, "files": parsed.files,
                            "units": "mV" if synthetic else "as in the Zenodo files (not stated)",
                            "citation": CITATION}
    if parsed.patient_ids is None:
        subject_ids = record_ids
        meta["subject_ids"] = "none in the files: each record is its own subject (splits are record-wise)"
        # Said out loud: with augmented data, copies of one recording can then sit on both sides of a split.
        warnings.warn(f"{folder}: no patient ids in the files, so each record is treated as its own subject; "
                      "splits are record-wise and cannot prevent patient (or augmented-copy) leakage.", stacklevel=2)
    else:
        subject_ids = parsed.patient_ids
        meta["subject_ids"] = "patient ids from the files"
    if synthetic:
        meta["synthetic"] = json.loads(marker.read_text())
        meta["rhythms"] = _synthetic_rhythms(folder, record_ids)
    return SignalDataset(signals=parsed.signals, labels=parsed.labels, fs=fs_used, subject_ids=subject_ids,
                         record_ids=record_ids, class_names=CLASS_NAMES,
                         source="synthetic" if synthetic else "real", name=NAME, metadata=meta)


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


def write_synthetic(out_dir: Path | str, *, seed: int = 0, n_records: int = SYNTHETIC_N_RECORDS,
                    fs: float = 300.0) -> Path:
    """Write the embedded synthetic AF set in the HDF5 layout described in the module docstring.

    Parameters
    ----------
    out_dir : path-like
        Folder to write ``ecg.h5`` and ``SYNTHETIC.json`` into (created if missing).
    seed : int
        Simulator seed.
    n_records : int
        Number of 10-60 s records (about 15% AF, about four per simulated patient).
    fs : float
        Sampling rate in Hz.

    Returns
    -------
    Path
        ``out_dir``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sim = simulate_af_records(n_records, fs=fs, seed=seed)
    with h5py.File(out_dir / SYNTHETIC_FILE, "w") as f:
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
    manifest = {"synthetic": True, "dataset": NAME, "generator": "helpers.data.synthetic.simulate_af_records",
                "generator_version": AF_GENERATOR_VERSION, "seed": seed, "n_records": n_records, "fs": float(fs),
                "layout": f"{SYNTHETIC_FILE}: HDF5, variable-length signals + labels + patient_ids + record_ids",
                "note": "Simulated data, not patient recordings."}
    (out_dir / MARKER).write_text(json.dumps(manifest, indent=1))
    return out_dir


def _synthetic_dir(root: Path | str | None, seed: int) -> Path:
    """Generate the synthetic set into the cache once (atomically) and return its folder."""
    final = cache_dir(NAME, root) / f"synthetic-seed{seed}"
    marker = final / MARKER
    if marker.exists():
        manifest = json.loads(marker.read_text())
        if (manifest.get("generator_version"), manifest.get("n_records")) == (AF_GENERATOR_VERSION,
                                                                              SYNTHETIC_N_RECORDS):
            return final
        # A cache written by another simulator version (or size): replace it whole, never mix the two.
        stale = Path(tempfile.mkdtemp(prefix=f".{final.name}.stale.", dir=final.parent))
        os.replace(final, stale / final.name)
        shutil.rmtree(stale, ignore_errors=True)
    elif final.exists():
        shutil.rmtree(final)  # a folder without its marker is not ours to trust
    with atomic_dir(final) as tmp:
        write_synthetic(tmp, seed=seed, n_records=SYNTHETIC_N_RECORDS)
    return final


def _has_real(folder: Path) -> bool:
    # Files copied in by hand count; a fetch that was interrupted (its marker still there) does not.
    return (folder.is_dir() and not (folder / FETCH_IN_PROGRESS).exists()
            and (bool(data_files(folder)) or any(folder.rglob("*.zip"))))


def _banner(reason: str) -> None:
    line = "=" * 78
    print(f"{line}\n  SYNTHETIC DATA: {reason}\n  zenodo_af is using the embedded simulated ECG set, NOT patient "
          f"recordings.\n  Results are for teaching the workflow; fetch the real set with\n"
          f"  `python -m helpers data fetch {NAME}` to work on real data.\n{line}")


def load(root: Path | str | None = None, *, source: str = "auto", fs: float | None = None,
         limit: int | None = None, seed: int = 0) -> SignalDataset:
    """Load the AF set: real files from the cache, or the embedded synthetic default.

    Parameters
    ----------
    root : path-like, optional
        Cache root (default ``$BIOSIGNAL_DATA`` or ``~/.cache/biosignal-course``).
    source : {"auto", "real", "synthetic"}
        ``"real"``: the fetched files (error if absent); ``"synthetic"``: the simulated set, generated into
        ``<cache>/zenodo_af/synthetic-seed{seed}`` on first use; ``"auto"``: real if fetched, else synthetic with
        a printed banner.
    fs : float, optional
        Sampling rate override in Hz (see :func:`read`).
    limit : int, optional
        Keep a random (seeded) subset of this many records, in file order; for quick runs.
    seed : int
        Seed of the synthetic set and of the ``limit`` subset.

    Returns
    -------
    SignalDataset
        Signals float32 ``(T,)`` (mV for the synthetic set; the real files' own units), labels int64
        (0 normal, 1 AF), subject and record ids.

    Raises
    ------
    DataUnavailableError
        ``source="real"`` and nothing has been fetched (the message says how to fetch).
    """
    if source not in ("auto", "real", "synthetic"):
        raise ValueError(f"source must be 'auto', 'real' or 'synthetic', got {source!r}")
    real = real_dir(root)
    if source == "real" or (source == "auto" and _has_real(real)):
        if (real / FETCH_IN_PROGRESS).exists():
            raise DataUnavailableError(f"{real}: an earlier download of {NAME} was interrupted, so the folder is "
                                       f"incomplete. Run `python -m helpers data fetch {NAME}` again (verified files "
                                       "are kept), or use source='synthetic'.")
        if not _has_real(real):
            raise DataUnavailableError(f"No {NAME} files in {real}. Fetch them with `python -m helpers data fetch "
                                       f"{NAME}` (or helpers.data.zenodo_af.fetch()), or use source='synthetic'.")
        ds = read(real, fs=fs)
        if ds.source != "real":
            raise DataFormatError(f"{real} holds a {MARKER} marker: these are synthetic files, not the real record; "
                                  "remove them and fetch again.")
    else:
        if source == "auto":
            _banner(f"an interrupted download in {real}" if (real / FETCH_IN_PROGRESS).exists()
                    else f"no real files in {real}")
        ds = read(_synthetic_dir(root, seed), fs=fs)
    if limit is not None and limit < len(ds):
        idx = np.sort(np.random.default_rng(seed).choice(len(ds), size=limit, replace=False))
        ds = ds.subset(idx)
    return ds
