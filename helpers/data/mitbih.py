"""MIT-BIH Arrhythmia Database (PhysioNet ``mitdb`` 1.0.0): Unit 2's heartbeats, read with WFDB.

48 half-hour excerpts of two-lead ambulatory ECG from 47 patients (records 201 and 202 come from the same man),
360 Hz, 11-bit format 212, every beat annotated by two cardiologists in ``<record>.atr``. Beat symbols are mapped
to the five classes of the AAMI EC57 standard (:data:`AAMI`): N (normal and bundle-branch-block beats), S
(supraventricular ectopic), V (ventricular ectopic), F (fusion of V and N), Q (paced and unclassifiable). Non-beat
annotations are kept: ``+`` marks a rhythm change with the new rhythm in its aux note (``(AFIB``, ``(N``, ``(B``
for bigeminy, ...), so the AF episodes of this database are available too.

Lead choice. The upper signal is MLII (modified lead II) in 45 records, and in record 114 MLII is the *second*
signal; records 102 and 104 have no MLII at all (surgical dressings: V5 and V2 were recorded instead). ``read``
picks MLII by name wherever it exists; for 102 and 104 it takes the upper signal (V5) and says so in
``metadata["leads"]`` and ``metadata["lead_substituted"]``. Both are paced records, which the inter-patient
convention excludes anyway (:data:`PACED_RECORDS`).

Record-level labels (``SignalDataset.labels``) say whether a record is paced; the beat labels the unit is about are
in ``annotations`` (see :func:`aami_classes`).

Licence: Open Data Commons Attribution 1.0. Cite Moody GB, Mark RG, "The impact of the MIT-BIH Arrhythmia
Database", IEEE Eng Med Biol 20(3):45-50, 2001, and Goldberger AL et al., "PhysioBank, PhysioToolkit, and
PhysioNet", Circulation 101(23):e215-e220, 2000.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import wfdb

from helpers.data.cache import synthetic_target
from helpers.data.container import Annotations, SignalDataset
from helpers.data.errors import DamagedFileError, DataFormatError, check_readable_file
from helpers.data.mitbih_records import PACED_RECORDS, RECORDS, SAME_PATIENT
from helpers.data.repositories import fetch_physionet
from helpers.data.spec import DatasetSpec
from helpers.data.synthetic import MITBIH_GENERATOR_VERSION

NAME = "mitbih"
BASE_URL = "https://physionet.org/files/mitdb/1.0.0/"
FS = 360.0
# AAMI EC57 (ANSI/AAMI EC57:2012) classes of the MIT-BIH beat symbols. Every other symbol is not a beat.
AAMI: dict[str, str] = {
    "N": "N", "L": "N", "R": "N", "e": "N", "j": "N",          # normal, bundle branch blocks, escape beats
    "A": "S", "a": "S", "J": "S", "S": "S",                    # supraventricular premature beats
    "V": "V", "E": "V",                                        # ventricular premature and escape beats
    "F": "F",                                                  # fusion of ventricular and normal
    "/": "Q", "f": "Q", "Q": "Q",                              # paced, fusion of paced and normal, unclassifiable
}
AAMI_CLASSES = ("N", "S", "V", "F", "Q")
SYNTHETIC_DURATION_S = 300.0  # each synthetic record: 5 minutes (the real ones last 30)

SPEC = DatasetSpec(
    name=NAME,
    title="MIT-BIH Arrhythmia Database (PhysioNet mitdb 1.0.0: 48 two-lead records, 360 Hz, beat annotations)",
    class_names=("not paced", "paced"),
    licence="ODC-By 1.0",
    # PhysioNet asks users of mitdb to cite the database's paper and PhysioNet itself: one reference a line.
    citation="; ".join((
        "Moody GB, Mark RG. The impact of the MIT-BIH Arrhythmia Database. IEEE Eng Med Biol 20(3):45-50, 2001",
        "Goldberger AL et al. PhysioBank, PhysioToolkit, and PhysioNet. Circulation 101(23):e215-e220, 2000",
    )),
    homepage="https://physionet.org/content/mitdb/1.0.0/",
    get_it="Download it from https://physionet.org/content/mitdb/1.0.0/ (open data, ODC-By 1.0).",
    expected_layout="a folder of WFDB records 100.hea/.dat/.atr ... 234 (PhysioNet's mitdb/1.0.0 folder; any "
                    "subset of the 48 records is read)",
    auto_download=True,
    synthetic_size=len(RECORDS),
    synthetic_version=MITBIH_GENERATOR_VERSION,
)


def aami_classes(symbols: np.ndarray) -> np.ndarray:
    """AAMI class (``"N"``, ``"S"``, ``"V"``, ``"F"``, ``"Q"``) of each beat symbol; ``""`` for non-beat symbols."""
    return np.array([AAMI.get(str(s), "") for s in np.asarray(symbols).ravel()], dtype="<U1")


def record_names(folder: Path) -> list[str]:
    """The records in ``folder``: its ``RECORDS`` file when present, else every ``.hea`` with a ``.dat``."""
    listing = folder / "RECORDS"
    if listing.is_file():
        names = [ln.strip() for ln in check_readable_file(listing).read_text(encoding="ascii", errors="replace")
                 .splitlines() if ln.strip()]
        missing = [n for n in names if not (folder / f"{n}.hea").is_file()]
        if missing:
            raise DataFormatError(f"{listing}: lists {', '.join(missing[:5])} but their .hea files are not in {folder}")
        return names
    return sorted(p.stem for p in folder.glob("*.hea") if (folder / f"{p.stem}.dat").is_file())


def read(path: Path | str, *, lead: str = "MLII", records: list[str] | None = None) -> SignalDataset:
    """Read MIT-BIH records and their reference annotations in place with wfdb.

    Parameters
    ----------
    path : path-like
        A folder of WFDB records (``.hea``, ``.dat``, ``.atr``).
    lead : {"MLII", "both"}
        ``"MLII"``: one channel, MLII wherever it exists (see the module docstring for 102 and 104);
        ``"both"``: both signals, MLII (or its substitute) first.
    records : list of str, optional
        Only these records (default: all in the folder).

    Returns
    -------
    SignalDataset
        float32 mV signals ``(n_samples,)`` (or ``(2, n_samples)``) at 360 Hz; ``annotations`` hold every
        reference annotation (sample, symbol, aux note); labels 1 for paced records; ``subject_ids`` join 201
        and 202. ``metadata["leads"]`` names the lead(s) read for each record.

    Raises
    ------
    DataFormatError
        An unreadable header, signal or annotation file, a sampling rate other than the others, or an
        annotation outside the record (the message names the record).
    """
    folder = Path(path)
    if lead not in ("MLII", "both"):
        raise ValueError(f"lead must be 'MLII' or 'both', got {lead!r}")
    names = record_names(folder) if records is None else [str(r) for r in records]
    if not names:
        raise DataFormatError(f"{folder}: no WFDB records (.hea + .dat) found; expected {SPEC.expected_layout}")
    signals, notes, leads, substituted, fs_seen = [], [], {}, [], set()
    for name in names:
        x, fs, used = _read_signal(folder, name, lead)
        signals.append(x)
        fs_seen.add(fs)
        leads[name] = used
        if used[0] != "MLII":
            substituted.append(name)
        notes.append(_read_annotations(folder, name, x.shape[-1]))
    if len(fs_seen) > 1:
        raise DataFormatError(f"{folder}: records disagree on the sampling rate: {sorted(fs_seen)} Hz")
    ids = np.array(names)
    return SignalDataset(
        signals=signals, labels=np.array([n in PACED_RECORDS for n in names], dtype=np.int64), fs=fs_seen.pop(),
        subject_ids=np.array([SAME_PATIENT.get(n, n) for n in names]), record_ids=ids, class_names=SPEC.class_names,
        source="real", name=NAME, channel_names=("MLII",) if lead == "MLII" else ("MLII", "second lead"),
        annotations=notes,
        metadata={"path": str(folder), "units": "mV", "leads": leads, "lead_substituted": substituted})


def summarise(ds: SignalDataset) -> dict[str, dict[str, int]]:
    """What ``info`` adds for this dataset: the number of beats per AAMI class."""
    beats = Counter(c for a in ds.annotations or [] for c in aami_classes(a.symbol).tolist() if c)
    return {"aami_beat_counts": {c: int(beats.get(c, 0)) for c in AAMI_CLASSES}}


def _read_signal(folder: Path, name: str, lead: str) -> tuple[np.ndarray, float, tuple[str, ...]]:
    hea = check_readable_file(folder / f"{name}.hea")
    stated_fs = header_fs(hea)
    try:
        header = wfdb.rdheader(str(hea.with_suffix("")))
        for f in set(header.file_name or []):
            if Path(f).name != f:  # a header must not send the reader elsewhere on disk
                raise DataFormatError(f"{hea}: signal file {f!r} is not a plain file name in the record's folder")
            check_readable_file(folder / f)
        record = wfdb.rdrecord(str(hea.with_suffix("")))
    except DataFormatError:
        raise
    except Exception as err:  # noqa: BLE001 - wfdb raises ValueError, IndexError, OSError ... on bad files
        raise DataFormatError(f"{hea}: cannot read record {name} with wfdb ({type(err).__name__}: {err})") from None
    fs = float(record.fs)
    if fs != stated_fs:  # wfdb put in a rate of its own (its default is 250 Hz): never read at a rate not stated
        raise DataFormatError(f"{hea}: the header states {stated_fs:g} Hz but wfdb read {fs:g} Hz")
    sig = record.p_signal
    if sig is None or sig.ndim != 2 or not np.isfinite(sig).all():
        raise DataFormatError(f"{folder / name}.dat: signal is missing, malformed or holds invalid samples")
    order = [record.sig_name.index("MLII")] if "MLII" in record.sig_name else [0]
    if lead == "both":
        order += [i for i in range(sig.shape[1]) if i != order[0]][:1]
    x = sig[:, order].T.astype(np.float32)
    return (x[0] if lead == "MLII" else x), fs, tuple(record.sig_name[i] for i in order)


def header_fs(hea: Path) -> float:
    """The sampling rate (Hz) the record line of a WFDB header states, checked finite and positive.

    wfdb fills in 250 Hz (the WFDB default) when the field is missing *or* unreadable (``nan``), so the field is
    read here: a header that does not state a usable rate is an error, never a record at a guessed rate.

    Raises
    ------
    DataFormatError
        No record line, no sampling-rate field, or one that is not a positive finite number (names the file).
    """
    lines = [ln for ln in hea.read_text(encoding="ascii", errors="replace").splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    fields = lines[0].split() if lines else []
    if len(fields) < 3:
        raise DataFormatError(f"{hea}: the record line {lines[0] if lines else ''!r} states no sampling rate "
                              "(wfdb would assume 250 Hz); MIT-BIH records state theirs (360)")
    token = re.split(r"[/(]", fields[2])[0]  # "360", or "360/360(0)" with a counter frequency
    try:
        fs = float(token)
    except ValueError:
        fs = math.nan
    if not (math.isfinite(fs) and fs > 0):
        raise DataFormatError(f"{hea}: sampling rate must be a positive number of Hz, the record line says "
                              f"{fields[2]!r}")
    return fs


_SKIP, _NUM, _AUX = 59, 60, 63  # MIT annotation codes: a long time skip, the first extra field, an aux string


def check_annotation_stream(atr: Path) -> int:
    """Walk an MIT-format annotation file to its end-of-file marker; return the number of annotations.

    The file is 16-bit little-endian words: each annotation is an optional SKIP (code 59 and a 32-bit interval),
    a word of code (6 bits) and time increment (10 bits), then extra fields (codes 60-62 one word, AUX 63 its
    length and text); a zero word ends the file. wfdb's ``rdann`` takes the last word as the end without looking,
    so a file cut anywhere loads the annotations before the cut silently; this walk refuses it.

    Raises
    ------
    DamagedFileError
        The file ends without the end-of-file word, inside an annotation, or in half a word (names the file and
        the sample of the last complete annotation).
    """
    raw = atr.read_bytes()
    words = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<u2").astype(np.int64)
    code, value, n = words >> 10, words & 0x3FF, len(words)
    i, sample, count = 0, 0, 0
    last_good = "before the first annotation"
    while i < n - 1:
        while i < n - 1 and code[i] == _SKIP:
            skip = (int(words[i + 1]) << 16 | int(words[i + 2])) if i + 2 < n else 0
            sample += skip - (1 << 32) if skip >= 1 << 31 else skip
            i += 3
        if i >= n - 1:
            break
        sample += int(value[i])
        i += 1
        while i < n - 1 and code[i] >= _NUM:
            i += 1 + (-(-int(value[i]) // 2) if code[i] == _AUX else 0)
        if i > n - 1:
            break
        count += 1
        last_good = f"after sample {sample} (annotation {count})"
    if len(raw) % 2 or i != n - 1 or words[-1] != 0:
        raise DamagedFileError(atr, f"truncated: the annotations stop {last_good} without the end-of-file marker "
                                    f"({len(raw)} bytes)")
    return count


def _read_annotations(folder: Path, name: str, n_samples: int) -> Annotations:
    atr = folder / f"{name}.atr"
    check_readable_file(atr)
    check_annotation_stream(atr)
    try:
        ann = wfdb.rdann(str(atr.with_suffix("")), "atr")
    except Exception as err:  # noqa: BLE001 - wfdb's errors on corrupt files are of many types
        raise DamagedFileError(atr, f"cannot read the annotations ({type(err).__name__}: {err})") from None
    sample = np.asarray(ann.sample, dtype=np.int64)
    inside = (sample >= 0) & (sample < n_samples)
    if not inside.all():
        raise DataFormatError(f"{atr}: annotation {int(np.argmin(inside))} at sample {sample[~inside][0]} lies "
                              f"outside the record's {n_samples} samples")
    aux = [(a or "").rstrip("\x00").strip() for a in ann.aux_note]  # PhysioNet pads aux notes with NUL
    return Annotations(sample, np.asarray(ann.symbol), np.asarray(aux))


def fetch(dest: Path | str, *, base_url: str | None = None, records: tuple[str, ...] = RECORDS,
          progress: bool = True) -> Path:
    """Download the 48 records (``.hea``, ``.dat``, ``.atr``) into ``dest``, each checked against PhysioNet's
    ``SHA256SUMS.txt`` (wfdb's own downloader checks only sizes).

    Call it through :func:`helpers.data.source.fetch` (``python -m helpers data fetch mitbih``).

    Returns
    -------
    Path
        ``dest``.
    """
    dest = Path(dest)
    names = [f"{r}.{ext}" for r in records for ext in ("hea", "dat", "atr")]
    fetch_physionet((base_url or BASE_URL).rstrip("/") + "/", names, dest, progress=progress, dataset=NAME)
    (dest / "RECORDS").write_text("".join(f"{r}\n" for r in records))
    return dest


def write_synthetic(out_dir: Path | str, *, seed: int = 0, size: int | None = None) -> Path:
    """Write the synthetic MIT-BIH-like database in real WFDB format (``.hea``, format-212 ``.dat``, ``.atr``).

    ``size`` records (default all 48) carry the real record names (the first ``size`` of :data:`RECORDS`), so the
    de Chazal DS1/DS2 split and the paced-record exclusion apply unchanged; each lasts
    :data:`SYNTHETIC_DURATION_S` seconds, and a ``RECORDS`` file lists them. Arguments and result follow the
    dataset contract (:mod:`helpers.data.spec`); what is simulated is described in
    :mod:`helpers.data.synthetic.mitbih_ecg`.
    """
    from helpers.data.synthetic.mitbih_ecg import simulate_mitbih_records

    out_dir, size = synthetic_target(out_dir, size, SPEC.synthetic_size)
    sims = simulate_mitbih_records(size, duration_s=SYNTHETIC_DURATION_S, fs=FS, seed=seed)
    for sim in sims:
        signal = np.clip(sim.signal.T.astype(np.float64), -5.0, 5.0)  # format 212 at 200 adu/mV holds +-10 mV
        wfdb.wrsamp(sim.record, fs=sim.fs, units=["mV", "mV"], sig_name=list(sim.leads), p_signal=signal,
                    fmt=["212", "212"], adc_gain=[200.0, 200.0], baseline=[1024, 1024], write_dir=str(out_dir),
                    comments=[f"synthetic patient {sim.patient} (helpers.data.synthetic.mitbih_ecg, seed {seed})"])
        wfdb.wrann(sim.record, "atr", np.asarray(sim.sample, dtype=np.int64), symbol=list(sim.symbol),
                   aux_note=[a if a else "" for a in sim.aux], write_dir=str(out_dir))
    (out_dir / "RECORDS").write_text("".join(f"{s.record}\n" for s in sims))
    return out_dir
