"""PhysioNet/CinC Challenge 2017: AF classification from a short single-lead ECG (the unit's real benchmark).

8,528 AliveCor recordings (9-61 s, 300 Hz, one lead), each a MATLAB v4 ``.mat`` holding ``val`` (int16, 1000 adu
per mV) plus a WFDB ``.hea`` header, labelled in ``REFERENCE.csv`` (``A00001,N``): N normal, A atrial
fibrillation, O other rhythm, ~ too noisy. ``REFERENCE-v3.csv`` holds the final (re-annotated) labels and is
preferred when present. Records sit in one flat folder (the challenge's ``training2017.zip``) or in PhysioNet's
``A00/`` .. ``A08/`` sub-folders; both are read.

The published headers put an ISO date before the time, which ``wfdb.rdheader`` rejects, so each record is read
by hand (:mod:`helpers.data.cinc2017_record`); this module finds the records and labels, fetches and writes the
synthetic set.

Licence: Open Data Commons Attribution 1.0. Cite Clifford GD et al., "AF classification from a short single lead
ECG recording: the PhysioNet/Computing in Cardiology Challenge 2017", CinC 2017, doi:10.22489/CinC.2017.065-469.
"""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np

from helpers.data.archives import check_zip
from helpers.data.cache import atomic_dir, synthetic_target
from helpers.data.cinc2017_record import read_header_and_record
from helpers.data.container import SignalDataset
from helpers.data.errors import DataFormatError, check_readable_file
from helpers.data.repositories import fetch_physionet
from helpers.data.spec import DatasetSpec
from helpers.data.synthetic import AF_GENERATOR_VERSION

NAME = "cinc2017"
CLASS_NAMES = ("normal", "af", "other", "noisy")
LABEL_CODES = {"N": 0, "A": 1, "O": 2, "~": 3}
FS = 300.0
ADU_PER_MV = 1000.0
# Module constants so tests (and mirrors) can point elsewhere: fetch(base_url=...) overrides them per call.
BASE_URL = "https://physionet.org/files/challenge-2017/1.0.0/"
ARCHIVE = "training2017.zip"   # every record, flat, ~100 MB; one download instead of 17,000 small ones
REFERENCE_FINAL = "REFERENCE-v3.csv"
CHECKSUMS = "SHA256SUMS.txt"   # PhysioNet publishes one per project version
SPEC = DatasetSpec(
    name=NAME,
    title="PhysioNet/CinC Challenge 2017 (single-lead ECG: normal, AF, other rhythm, noisy)",
    class_names=CLASS_NAMES,
    licence="ODC-By 1.0",
    citation="Clifford GD et al. AF classification from a short single lead ECG recording: the PhysioNet/CinC "
             "Challenge 2017. CinC 2017. doi:10.22489/CinC.2017.065-469",
    homepage="https://physionet.org/content/challenge-2017/1.0.0/",
    get_it="Download it from https://physionet.org/content/challenge-2017/1.0.0/ (training2017.zip and "
           "REFERENCE-v3.csv; open data, ODC-By 1.0).",
    expected_layout="a folder with A00001.hea/.mat ... and REFERENCE-v3.csv or REFERENCE.csv (the unpacked "
                    "training2017.zip, PhysioNet's training/ with A00..A08 sub-folders, or a parent of either)",
    auto_download=True,
    synthetic_size=1000,
    synthetic_version=AF_GENERATOR_VERSION,
)


def read_reference(path: Path | str) -> list[tuple[str, str]]:
    """Read ``REFERENCE*.csv`` into ``[(record, label_code), ...]`` in file order.

    Raises
    ------
    DataFormatError
        A malformed row, an unknown label (not one of N, A, O, ~) or a duplicated record; names file and line.
    """
    path = Path(path)
    check_readable_file(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataFormatError(f"{path}: not a UTF-8 text file (byte {err.start}: {err.reason}); expected lines "
                              "'record,label'") from None
    rows, seen = [], set()
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 2 or not parts[0]:
            raise DataFormatError(f"{path}, line {i}: expected 'record,label', got {line!r}")
        rec, code = parts
        if code not in LABEL_CODES:
            raise DataFormatError(f"{path}, line {i}: unknown label {code!r} for {rec}; "
                                  f"expected one of {', '.join(LABEL_CODES)}")
        if rec in seen:
            raise DataFormatError(f"{path}, line {i}: record {rec} is listed twice")
        seen.add(rec)
        rows.append((rec, code))
    return rows


def find_reference(folder: Path) -> Path | None:
    """The label file for a record folder: final v3 labels first (PhysioNet keeps them next to ``training/``)."""
    candidates = [folder / REFERENCE_FINAL, folder / "REFERENCE.csv"]
    if folder.name == "training":  # only PhysioNet's own layout: never pick up an unrelated parent's file
        candidates.insert(1, folder.parent / REFERENCE_FINAL)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def _record_path(folder: Path, record: str) -> Path | None:
    # Flat (the challenge zip) or PhysioNet's sub-folders named by the first three characters (A00..A08).
    for candidate in (folder / f"{record}.hea", folder / record[:3] / f"{record}.hea"):
        if candidate.is_file():
            return candidate
    return None


def locate(path: Path | str) -> Path:
    """The folder holding the records and their reference file, inside ``path`` as the challenge publishes it.

    ``path`` itself (the unpacked ``training2017.zip``, or PhysioNet's ``training/`` with ``A00``..``A08``), or a
    parent holding ``training2017/`` or ``training/``.

    Raises
    ------
    DataFormatError
        No reference file in any of those places (the message lists where it looked).
    """
    path = Path(path)
    candidates = [path, path / "training2017", path / "training"]
    for candidate in candidates:
        if candidate.is_dir() and find_reference(candidate) is not None:
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise DataFormatError(f"{path}: no CinC 2017 records found (looked for {REFERENCE_FINAL} or REFERENCE.csv in "
                          f"{looked}); expected {SPEC.expected_layout}")


def read(path: Path | str, *, classes: str = "all") -> SignalDataset:
    """Read every record listed in the reference file, in place (nothing is written).

    Parameters
    ----------
    path : path-like
        A folder in a published layout (see :func:`locate`).
    classes : {"all", "NA"}
        ``"NA"`` keeps normal and AF records only (labels 0, 1).

    Returns
    -------
    SignalDataset
        float32 mV signals of shape ``(n_samples,)`` at 300 Hz. CinC 2017 publishes no patient ids, so
        ``subject_ids`` are the record ids (a patient-wise split is not possible on this set).

    Raises
    ------
    DataFormatError
        A malformed header, ``.mat`` or reference file, a listed record that is missing, records that disagree on
        the sampling rate, or an empty reference file; the message names the file.
    """
    if classes not in ("all", "NA"):
        raise ValueError(f"classes must be 'all' or 'NA', got {classes!r}")
    folder = locate(path)
    ref = find_reference(folder)
    rows = read_reference(ref)
    if not rows:
        raise DataFormatError(f"{ref}: lists no records (an empty or truncated reference file)")
    if classes == "NA":
        rows = [r for r in rows if r[1] in ("N", "A")]
    signals, fs_seen = [], set()
    for rec, _ in rows:
        hea = _record_path(folder, rec)
        if hea is None:
            raise DataFormatError(f"{ref}: lists record {rec}, but {rec}.hea is not in {folder} "
                                  f"(nor in {folder / rec[:3]})")
        header, x = read_header_and_record(hea)
        fs_seen.add(header.fs)
        signals.append(x)
    if len(fs_seen) > 1:
        raise DataFormatError(f"{folder}: records disagree on the sampling rate: {sorted(fs_seen)} Hz")
    ids = np.array([r[0] for r in rows], dtype=str)
    return SignalDataset(
        signals=signals, labels=np.array([LABEL_CODES[r[1]] for r in rows], dtype=np.int64),
        fs=fs_seen.pop() if fs_seen else FS, subject_ids=ids, record_ids=ids,
        class_names=CLASS_NAMES if classes == "all" else CLASS_NAMES[:2], source="real", name=NAME,
        channel_names=("ECG",),
        metadata={"path": str(folder), "reference": ref.name, "units": "mV", "licence": SPEC.licence,
                  "citation": SPEC.citation, "subject_ids": "record ids (CinC 2017 has no patient ids)"})


read_folder = read  # the name Unit 1's first notebooks used


def fetch(dest: Path | str, *, base_url: str | None = None, progress: bool = True) -> Path:
    """Download the training set (``training2017.zip`` + final labels) from PhysioNet into ``dest``.

    Every file is checked against PhysioNet's published ``SHA256SUMS.txt``; the zip is extracted atomically into
    ``dest/training2017`` and then deleted. Call it through :func:`helpers.data.source.fetch` (``python -m helpers
    data fetch cinc2017``), which picks ``dest`` in the cache and marks an interrupted fetch.

    Parameters
    ----------
    dest : path-like
        The cache folder for the real data (``<cache>/cinc2017/real``).
    base_url : str, optional
        Project file URL, default :data:`BASE_URL` (PhysioNet); tests point it at a local server.
    progress : bool
        Show download progress.

    Returns
    -------
    Path
        ``dest/training2017``.
    """
    dest = Path(dest)
    target = dest / "training2017"
    if target.is_dir() and find_reference(target) is not None:
        return target
    base_url = (base_url or BASE_URL).rstrip("/") + "/"
    downloads = dest / "downloads"
    archive, reference = fetch_physionet(base_url, [ARCHIVE, REFERENCE_FINAL], downloads, progress=progress,
                                         dataset=NAME)
    try:
        with atomic_dir(target) as tmp, zipfile.ZipFile(archive) as zf:
            # Checked against PhysioNet's SHA-256 already; the bounds still keep a wrong file from filling the disk.
            check_zip(archive, zf, max_bytes=64 << 20, max_total=4 << 30, what="a CinC 2017 record file")
            for member in zf.infolist():
                name = Path(member.filename).name
                # Keep plain file names only: a crafted archive cannot write outside the folder.
                if member.is_dir() or not name or name.startswith("."):
                    continue
                with zf.open(member) as src, open(tmp / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            shutil.copy(reference, tmp / REFERENCE_FINAL)
    except zipfile.BadZipFile as err:
        archive.unlink()
        raise DataFormatError(f"{archive}: not a valid zip archive ({err}); it was deleted, fetch again") from None
    archive.unlink()  # the extracted folder is the cache; keeping the zip would double the disk use
    return target


def write_synthetic(out_dir: Path | str, *, seed: int = 0, size: int | None = None) -> Path:
    """Write simulated records in the original CinC 2017 format (flat folder, like ``training2017.zip``).

    The simulator (:func:`helpers.data.synthetic.simulate_af_records`) makes normal sinus rhythm and AF; sinus
    records with frequent premature beats are labelled O ("other rhythm", as the challenge's annotators did
    with ectopy). There are no ~ (noisy) records. Patient ids are not written: the real format has none. The
    writer is :func:`helpers.data.synthetic.cinc2017_files.write_cinc2017`.

    Parameters
    ----------
    out_dir : path-like
        Folder to fill (created): ``A00001.mat``/``.hea``, ..., ``REFERENCE.csv``, ``RECORDS``.
    seed : int
        Simulator seed (same seed, same files).
    size : int, optional
        Number of records (default ``SPEC.synthetic_size``, 1000).

    Returns
    -------
    Path
        ``out_dir``, holding the records as the challenge published them.
    """
    from helpers.data.synthetic import simulate_af_records
    from helpers.data.synthetic.cinc2017_files import write_cinc2017

    out_dir, size = synthetic_target(out_dir, size, SPEC.synthetic_size)
    write_cinc2017(out_dir, simulate_af_records(size, fs=FS, seed=seed), seed=seed, fs=FS, adu_per_mv=ADU_PER_MV)
    return out_dir
