"""PhysioNet/CinC Challenge 2017: AF classification from a short single-lead ECG (the unit's real benchmark).

8,528 AliveCor recordings (9-61 s, 300 Hz, one lead), each a MATLAB v4 ``.mat`` holding ``val`` (int16, 1000 adu
per mV) plus a WFDB ``.hea`` header, labelled in ``REFERENCE.csv`` (``A00001,N``): N normal, A atrial
fibrillation, O other rhythm, ~ too noisy. ``REFERENCE-v3.csv`` holds the final (re-annotated) labels and is
preferred when present. Records sit in one flat folder (the challenge's ``training2017.zip``) or in PhysioNet's
``A00/`` .. ``A08/`` sub-folders; both are read.

The published headers start ``A00001 1 300 9000 2014-05-08 05:05:15``: an ISO date *before* the time, where WFDB
expects ``HH:MM:SS DD/MM/YYYY``, so ``wfdb.rdheader`` 4.3.1 rejects every file ("unconverted data remains").
We therefore parse the two header lines ourselves (they are fixed-format) and read ``val`` with scipy.

Licence: Open Data Commons Attribution 1.0. Cite Clifford GD et al., "AF classification from a short single lead
ECG recording: the PhysioNet/Computing in Cardiology Challenge 2017", CinC 2017, doi:10.22489/CinC.2017.065-469.
"""
from __future__ import annotations

import math
import re
import shutil
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import scipy.io

from helpers.data.archives import check_zip
from helpers.data.cache import atomic_dir, atomic_write, synthetic_target
from helpers.data.container import SignalDataset
from helpers.data.errors import DamagedFileError, DataFormatError, check_readable_file
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


@dataclass(frozen=True)
class Header:
    """The two lines of a CinC 2017 ``.hea`` file (one record line, one signal line).

    ``gain`` is in adu per ``units``; physical value = (adu - ``baseline``) / ``gain``.
    ``base_datetime`` is None when the date/time field is absent or unreadable (it is not needed to load).
    """

    record: str
    n_sig: int
    fs: float
    sig_len: int
    base_datetime: datetime | None
    file_name: str
    fmt: str
    gain: float
    baseline: int
    units: str
    adc_res: int
    adc_zero: int
    init_value: int
    description: str


_GAIN = re.compile(r"^([-+0-9.eE]+)(?:\((-?\d+)\))?(?:/(\S+))?$")
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%H:%M:%S %d/%m/%Y", "%H:%M:%S.%f %d/%m/%Y")


def _parse_datetime(text: str) -> datetime | None:
    for fmt in _DATETIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass
    return None


def read_header(path: Path | str) -> Header:
    """Parse a CinC 2017 header as published (ISO date before time, CRLF line ends, trailing blanks).

    Parameters
    ----------
    path : path-like
        The ``.hea`` file.

    Returns
    -------
    Header

    Raises
    ------
    DataFormatError
        Missing or malformed fields, or more than one signal; the message names the file.
    """
    path = Path(path)
    try:
        lines = [ln.strip() for ln in path.read_text(encoding="ascii", errors="replace").splitlines()]
    except OSError as err:
        raise DataFormatError(f"{path}: cannot read header ({err})") from None
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if len(lines) < 2:
        raise DataFormatError(f"{path}: expected a record line and a signal line, found {len(lines)} line(s)")
    rec, sig = lines[0].split(), lines[1].split()
    try:
        if len(rec) < 4 or len(sig) < 6:
            raise ValueError("too few fields")
        n_sig, fs, sig_len = int(rec[1]), float(rec[2].split("/")[0].split("(")[0]), int(rec[3])
        gain_m = _GAIN.match(sig[2])
        if gain_m is None:
            raise ValueError(f"gain field {sig[2]!r}")
        adc_zero = int(sig[4])
        gain = float(gain_m.group(1)) or 200.0  # WFDB: a gain of 0 means the default 200 adu/unit
        baseline = int(gain_m.group(2)) if gain_m.group(2) is not None else adc_zero  # WFDB default
    except ValueError as err:
        raise DataFormatError(f"{path}: malformed header ({err}): {lines[0]!r} / {lines[1]!r}") from None
    if n_sig != 1:
        raise DataFormatError(f"{path}: CinC 2017 records have 1 signal, header says {n_sig}")
    if not (math.isfinite(fs) and fs > 0):
        raise DataFormatError(f"{path}: sampling rate must be a positive number of Hz, header says {rec[2]!r}")
    if sig_len <= 0:
        raise DataFormatError(f"{path}: header says the record has {sig_len} samples")
    if Path(sig[0]).name != sig[0] or sig[0] in (".", ".."):
        # A header must not send the reader elsewhere on disk (../../x.mat, /etc/...).
        raise DataFormatError(f"{path}: signal file {sig[0]!r} is not a plain file name in the record's folder")
    if rec[0] != path.stem:
        raise DataFormatError(f"{path}: header names record {rec[0]!r}, expected {path.stem!r}")
    return Header(record=rec[0], n_sig=n_sig, fs=fs, sig_len=sig_len,
                  base_datetime=_parse_datetime(" ".join(rec[4:])), file_name=sig[0], fmt=sig[1], gain=gain,
                  baseline=baseline, units=gain_m.group(3) or "mV", adc_res=int(sig[3]), adc_zero=adc_zero,
                  init_value=int(sig[5]), description=" ".join(sig[8:]))


def read_record(hea_path: Path | str) -> np.ndarray:
    """Read one record in mV.

    Parameters
    ----------
    hea_path : path-like
        The record's ``.hea``; the ``.mat`` it names is read from the same folder.

    Returns
    -------
    np.ndarray
        float32, shape ``(n_samples,)``, in mV.

    Raises
    ------
    DataFormatError
        Unreadable/truncated ``.mat``, no ``val`` variable, or a length that disagrees with the header.
    """
    return _read(Path(hea_path))[1]


def _read(hea_path: Path) -> tuple[Header, np.ndarray]:
    h = read_header(hea_path)
    mat_path = hea_path.with_name(h.file_name)
    if not mat_path.exists():
        raise DataFormatError(f"{mat_path}: missing (named by {hea_path.name})")
    check_readable_file(mat_path)  # a FIFO would block the reader forever
    try:
        val = scipy.io.loadmat(mat_path, variable_names=("val",)).get("val")
    # scipy raises ValueError, TypeError, OSError, ... on truncated or corrupt files: report them all alike.
    except Exception as err:  # noqa: BLE001
        raise DamagedFileError(mat_path, f"corrupt or truncated MATLAB file ({type(err).__name__}: {err})") from None
    if val is None or not np.issubdtype(val.dtype, np.integer):
        raise DataFormatError(f"{mat_path}: expected an integer variable 'val', found "
                              f"{'none' if val is None else val.dtype}")
    if val.shape != (h.n_sig, h.sig_len):
        raise DataFormatError(f"{mat_path}: header {hea_path.name} says {h.n_sig} x {h.sig_len} samples, "
                              f"the .mat holds {val.shape[0]} x {val.shape[-1]}")
    return h, ((val[0].astype(np.float32) - h.baseline) / h.gain).astype(np.float32)


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
        header, x = _read(hea)
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
    with ectopy). There are no ~ (noisy) records. Patient ids are not written: the real format has none.

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

    out_dir, size = synthetic_target(out_dir, size, SPEC.synthetic_size)
    sim = simulate_af_records(size, fs=FS, seed=seed)
    rng = np.random.default_rng(seed)
    start = datetime(2013, 11, 1)  # the challenge's recordings date from 2013-2014
    refs, names = [], []
    for i, (x, rhythm, label) in enumerate(zip(sim.signals, sim.rhythms, sim.labels), start=1):
        rec = f"A{i:05d}"
        # int16 adu like the AliveCor device; clip rather than wrap around on huge artefacts.
        val = np.clip(np.round(x * ADU_PER_MV), -32768, 32767).astype(np.int16)[None, :]
        scipy.io.savemat(out_dir / f"{rec}.mat", {"val": val}, format="4")
        when = (start + timedelta(seconds=int(rng.integers(0, 23_000_000)))).strftime("%Y-%m-%d %H:%M:%S")
        # Byte for byte the published layout: CRLF, trailing blank, ISO date first, "16+24" (v4 .mat header).
        (out_dir / f"{rec}.hea").write_bytes(
            f"{rec} 1 {FS:g} {val.shape[1]} {when} \r\n"
            f"{rec}.mat 16+24 {ADU_PER_MV:g}/mV 16 0 {val[0, 0]} 0 0 ECG \r\n".encode("ascii"))
        code = "A" if label == 1 else ("O" if rhythm == "sinus_ectopy" else "N")
        refs.append(f"{rec},{code}\n")
        names.append(f"{rec}\n")
    (out_dir / "RECORDS").write_text("".join(names))
    with atomic_write(out_dir / "REFERENCE.csv", "w") as f:  # last: its presence means the records are complete
        f.write("".join(refs))
    return out_dir
