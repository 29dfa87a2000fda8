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

import re
import shutil
import sys
import warnings
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import scipy.io

from helpers.data.container import SignalDataset
from helpers.data.fetch import DataFormatError, DataUnavailableError, atomic_dir, atomic_write, cache_dir, download

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
SYNTHETIC_SEED = 0
SYNTHETIC_RECORDS = 1000
SYNTHETIC_MARKER = "SYNTHETIC.txt"
LICENCE = "ODC-By 1.0"
CITATION = "Clifford GD et al. AF classification from a short single lead ECG recording: the PhysioNet/CinC " \
           "Challenge 2017. CinC 2017. doi:10.22489/CinC.2017.065-469"


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
    try:
        val = scipy.io.loadmat(mat_path, variable_names=("val",)).get("val")
    except FileNotFoundError:
        raise DataFormatError(f"{mat_path}: missing (named by {hea_path.name})") from None
    # scipy raises ValueError, TypeError, OSError, ... on truncated or corrupt files: report them all alike.
    except Exception as err:  # noqa: BLE001
        raise DataFormatError(f"{mat_path}: corrupt or truncated MATLAB file ({type(err).__name__}: {err})") from None
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
    rows, seen = [], set()
    for i, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
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


def read_folder(folder: Path | str, *, classes: str = "all", limit: int | None = None,
                source: str = "real") -> SignalDataset:
    """Read every record listed in the folder's reference file.

    Parameters
    ----------
    folder : path-like
        Folder with the records (flat or ``A00/``..``A08/``) and ``REFERENCE-v3.csv``/``REFERENCE.csv``.
    classes : {"all", "NA"}
        ``"NA"`` keeps normal and AF records only (labels 0, 1).
    limit : int, optional
        Keep the first ``limit`` records (after the class filter), in reference-file order.
    source : {"real", "synthetic"}
        Recorded in the dataset; a folder carrying the synthetic marker is always reported as synthetic.

    Returns
    -------
    SignalDataset
        float32 mV signals of shape ``(n_samples,)`` at 300 Hz. CinC 2017 publishes no patient ids, so
        ``subject_ids`` are the record ids (a patient-wise split is not possible on this set).
    """
    folder = Path(folder)
    if classes not in ("all", "NA"):
        raise ValueError(f"classes must be 'all' or 'NA', got {classes!r}")
    ref = find_reference(folder)
    if ref is None:
        raise DataFormatError(f"{folder}: no {REFERENCE_FINAL} or REFERENCE.csv found")
    rows = read_reference(ref)
    if classes == "NA":
        rows = [r for r in rows if r[1] in ("N", "A")]
    if limit is not None:
        rows = rows[:limit]
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
    if (folder / SYNTHETIC_MARKER).exists():
        source = "synthetic"
    ids = np.array([r[0] for r in rows], dtype=str)
    return SignalDataset(
        signals=signals, labels=np.array([LABEL_CODES[r[1]] for r in rows], dtype=np.int64),
        fs=fs_seen.pop() if fs_seen else FS, subject_ids=ids, record_ids=ids,
        class_names=CLASS_NAMES if classes == "all" else CLASS_NAMES[:2], source=source, name=NAME,
        metadata={"path": str(folder), "reference": ref.name, "units": "mV", "licence": LICENCE,
                  "citation": CITATION, "subject_ids": "record ids (CinC 2017 has no patient ids)"})


def real_folder(root: Path | str | None = None) -> Path | None:
    """Where the real records are in the cache (``<cache>/cinc2017/real[/training2017|/training]``), or None."""
    real = cache_dir(NAME, root) / "real"
    for candidate in (real / "training2017", real / "training", real):
        if find_reference(candidate) is not None and not (candidate / SYNTHETIC_MARKER).exists():
            return candidate
    return None


def fetch(root: Path | str | None = None, *, base_url: str | None = None, progress: bool = True) -> Path:
    """Download the training set (``training2017.zip`` + final labels) from PhysioNet into the cache.

    Parameters
    ----------
    root : path-like, optional
        Cache root (default ``$BIOSIGNAL_DATA`` or ``~/.cache/biosignal-course``).
    base_url : str, optional
        Project file URL, default :data:`BASE_URL` (PhysioNet).
    progress : bool
        Show download progress.

    Returns
    -------
    Path
        The folder holding the records, ``<cache>/cinc2017/real/training2017``.

    Raises
    ------
    DataUnavailableError
        Offline or PhysioNet unreachable; the message says how to proceed.
    """
    found = real_folder(root)
    if found is not None:
        return found
    base_url = (base_url or BASE_URL).rstrip("/") + "/"
    # Downloads live apart from real/, so a half-finished fetch never looks like a usable record folder.
    downloads = cache_dir(NAME, root) / "downloads"
    sums = download(base_url + CHECKSUMS, downloads / CHECKSUMS, progress=False, dataset=NAME)
    # Checksums come from the same server, so they guard against a damaged transfer (the common failure).
    digests = {parts[1].strip(): parts[0] for parts in
               (ln.split(maxsplit=1) for ln in sums.read_text().splitlines()) if len(parts) == 2}
    for name in (ARCHIVE, REFERENCE_FINAL):
        if name not in digests:
            warnings.warn(f"{base_url}{CHECKSUMS} lists no SHA-256 for {name}: it will be downloaded WITHOUT a "
                          "checksum (only the transfer length is checked).", stacklevel=2)
    archive = download(base_url + ARCHIVE, downloads / ARCHIVE, sha256=digests.get(ARCHIVE), progress=progress,
                       dataset=NAME)
    reference = download(base_url + REFERENCE_FINAL, downloads / REFERENCE_FINAL,
                         sha256=digests.get(REFERENCE_FINAL), progress=False, dataset=NAME)
    target = cache_dir(NAME, root) / "real" / "training2017"
    try:
        with atomic_dir(target) as tmp, zipfile.ZipFile(archive) as zf:
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


def write_synthetic(out_dir: Path | str, *, seed: int = SYNTHETIC_SEED, n_records: int | None = None) -> Path:
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
    n_records : int, optional
        Number of records (default :data:`SYNTHETIC_RECORDS`, 1000).

    Returns
    -------
    Path
        ``out_dir``.
    """
    from helpers.data.synthetic import AF_GENERATOR_VERSION, simulate_af_records

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sim = simulate_af_records(SYNTHETIC_RECORDS if n_records is None else n_records, fs=FS, seed=seed)
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
    (out_dir / SYNTHETIC_MARKER).write_text(f"Simulated by {AF_GENERATOR_VERSION}, seed {seed}; not patient data.\n")
    with atomic_write(out_dir / "REFERENCE.csv", "w") as f:  # last: its presence means the folder is complete
        f.write("".join(refs))
    return out_dir


def _synthetic_folder(root: Path | str | None) -> Path:
    from helpers.data.synthetic import AF_GENERATOR_VERSION

    # The generator version is in the name, so a new simulator never reuses stale files.
    folder = cache_dir(NAME, root) / "synthetic" / f"{AF_GENERATOR_VERSION}-seed{SYNTHETIC_SEED}-n{SYNTHETIC_RECORDS}"
    if not (folder / "REFERENCE.csv").is_file():
        with atomic_dir(folder) as tmp:
            write_synthetic(tmp, seed=SYNTHETIC_SEED, n_records=SYNTHETIC_RECORDS)
    return folder


def load(root: Path | str | None = None, *, source: str = "auto", classes: str = "all",
         limit: int | None = None) -> SignalDataset:
    """Load CinC 2017 from the cache (real), or the embedded synthetic stand-in.

    Parameters
    ----------
    root : path-like, optional
        Cache root (default ``$BIOSIGNAL_DATA`` or ``~/.cache/biosignal-course``).
    source : {"auto", "real", "synthetic"}
        ``"auto"``: real when fetched, otherwise synthetic with a warning banner on stderr.
    classes : {"all", "NA"}
        ``"all"``: labels 0-3 = normal, af, other, noisy; ``"NA"``: normal vs AF only.
    limit : int, optional
        Keep only the first ``limit`` records (quick runs).

    Returns
    -------
    SignalDataset
        One float32 array of shape ``(n_samples,)`` in mV per record, 300 Hz. ``subject_ids`` equal
        ``record_ids``: CinC 2017 has no patient ids.

    Raises
    ------
    DataUnavailableError
        ``source="real"`` and the records are not in the cache (the message says how to fetch them).
    DataFormatError
        A corrupt file, a length mismatch, an unknown label or a missing record (the message names the file).
    """
    if source not in ("auto", "real", "synthetic"):
        raise ValueError(f"source must be 'auto', 'real' or 'synthetic', got {source!r}")
    folder = None if source == "synthetic" else real_folder(root)
    if folder is None and source == "real":
        raise DataUnavailableError(
            f"CinC 2017 is not in {cache_dir(NAME, root) / 'real'}. Run `python -m helpers data fetch {NAME}` "
            "(about 100 MB from PhysioNet), or copy the challenge's training2017/ folder (flat, or PhysioNet's "
            "A00..A08 sub-folders with REFERENCE-v3.csv) there, or use source='synthetic'.")
    if folder is None:
        if source == "auto":
            print(f"{'=' * 72}\n  SYNTHETIC DATA: CinC 2017 not found in {cache_dir(NAME, root) / 'real'};\n"
                  f"  using simulated ECGs in its format. Real data: python -m helpers data fetch {NAME}\n"
                  f"{'=' * 72}", file=sys.stderr)
        return read_folder(_synthetic_folder(root), classes=classes, limit=limit, source="synthetic")
    return read_folder(folder, classes=classes, limit=limit, source="real")
