"""WESAD's wrist data (Empatica E4) with the study's conditions: Unit 4's PPG stress monitor.

WESAD (Schmidt et al., ICMI 2018) recorded 15 subjects (S2-S17; S1 and S12 were discarded) through a lab protocol:
baseline (~20 min), amusement (funny clips, ~6.5 min), stress (the Trier Social Stress Test: public speaking and
mental arithmetic, ~10 min) and two guided meditations (~7 min), with rests and questionnaires between. The wrist
device, an Empatica E4 on the non-dominant arm, records BVP (PPG, 64 Hz), 3-axis ACC (32 Hz, 1/64 g), EDA (4 Hz,
uS) and skin temperature (4 Hz, degC). A chest device (RespiBAN, 700 Hz) recorded alongside; it is not read here.

**Two published forms**, both read (``form="auto"`` takes ``SX.pkl`` where present, the E4 CSVs otherwise):

* ``SX/SX.pkl``: the authors' synchronised signals. ``signal/wrist`` holds ``BVP`` (n, 1) 64 Hz, ``ACC`` (n, 3)
  32 Hz, ``EDA`` and ``TEMP`` (n, 1) 4 Hz, cut to the chest device's recording; ``label`` (700 Hz) gives 0 not
  defined / transient, 1 baseline, 2 stress, 3 amusement, 4 meditation, 5-7 to be ignored. Read with
  :func:`helpers.data.safe_pickle.load` only: a pickle that asks to run code is refused.
* ``SX/SX_E4_Data/`` (or the ``SX_E4_Data.zip`` WESAD ships): the E4's own CSVs (row 1 start time, unix UTC; row 2
  sample rate; then samples), plus ``SX/SX_quest.csv``, whose ``# ORDER``/``# START``/``# END`` rows time each
  condition in *minutes.seconds* (``7.08`` is 7 min 8 s; ``50.3`` is 50.30, i.e. 50 min 30 s) counted from the
  start of the chest device's recording.

**Aligning the E4 clock with the protocol** (E4 form only; the pkl is already aligned). The E4 started minutes
before the chest device (S2: 23 min 36 s). WESAD's authors synchronised the two by a double tap visible in both
devices' ACC, done by hand; that needs the chest ACC, which this reader does not load, so it cannot be repeated
from the E4 alone (S2's ``tags.csv`` is empty and WESAD says to ignore it). What the files do allow: the header
of ``SX_respiban.txt`` (its second line, JSON) gives the chest recording's start as local date and time
(``"2017-5-22"``, ``"9:39:1.0"``), and row 1 of the E4 CSVs gives the E4 start in unix UTC. The study ran in
Germany, so the local time is converted with Germany's rule (CET, UTC+1; CEST, UTC+2 from the last Sunday of
March to the last Sunday of October) and ``offset = chest start - E4 start``. Only the header is read, never the
(large) chest signals. Uncertainty: the two clocks (the recording laptop and the E4, set when it was synced) may
disagree by seconds; for S2 the meditation blocks placed this way coincide with the stillness in the E4 ACC to
within ~5 s at both ends, well inside the default 30 s trim. ``e4_offsets={"S2": 1416.0}`` overrides the header
(or replaces a missing one); without either, reading the E4 form is an error that says so.

**Records.** The container has one sampling rate: every channel is brought to 64 Hz, the BVP rate, as
``(6, n)`` float32 arrays with channels :data:`CHANNELS`: BVP unchanged; ACC (converted to g) by polyphase
resampling 32 -> 64 Hz (``scipy.signal.resample_poly``); EDA and TEMP by linear interpolation 4 -> 64 Hz (these
change over seconds, and interpolation does not ring at steps as a polyphase filter would). ``channels=`` picks a
subset, e.g. ``("BVP",)`` or ``("BVP", "ACC_X", "ACC_Y", "ACC_Z", "EDA")``.

``records="conditions"`` (default): one record per condition block of each subject (``S2_baseline``,
``S2_stress``, ``S2_amusement``, ``S2_meditation_1``, ``S2_meditation_2``), labelled from :data:`CONDITIONS`,
with ``subject_ids`` the subject: windowing a record gives windows of one condition, and a leave-one-subject-out
split groups by ``subject_ids``. ``trim_s`` (default 30 s) is cut from both ends of every block: the transitions
(walking in, instructions, settling) are not clean. ``records="subjects"``: one record per subject, the whole
recording, label 0 of the single class ``"recording"``, the (trimmed) conditions in ``intervals``, in seconds from
the record's start (the E4 start, or the chest start for the pkl form). ``metadata["segments"]`` says where each
condition record lies in its subject's recording.

Licence: research, non-commercial; distributed by the authors only, so nothing is downloaded for you. Cite
Schmidt P, Reiss A, Duerichen R, Marberger C, Van Laerhoven K. Introducing WESAD, a multimodal dataset for wearable
stress and affect detection. ICMI 2018.
"""
from __future__ import annotations

import io
import json
import math
import pickle
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from zlib import error as zlib_error

import numpy as np
import pandas as pd
from scipy import signal as sps

from helpers.data import safe_pickle
from helpers.data.container import Intervals, SignalDataset
from helpers.data.errors import (
    DamagedFileError,
    DataFormatError,
    DataUnavailableError,
    ResourceLimitError,
    check_readable_file,
)
from helpers.data.spec import DatasetSpec
from helpers.data.synthetic.wesad_ppg import GENERATOR_VERSION

NAME = "wesad"
FS = 64.0  # every channel is brought to the BVP rate
CHANNELS = ("BVP", "ACC_X", "ACC_Y", "ACC_Z", "EDA", "TEMP")
UNITS = {"BVP": "a.u. (E4 BVP)", "ACC_X": "g", "ACC_Y": "g", "ACC_Z": "g", "EDA": "uS", "TEMP": "degC"}
CONDITIONS = ("baseline", "stress", "amusement", "meditation")
PKL_LABELS = {1: "baseline", 2: "stress", 3: "amusement", 4: "meditation"}  # 0 transient, 5-7 ignored
PKL_LABEL_FS = 700.0
E4_STREAMS = {"BVP": 1, "ACC": 3, "EDA": 1, "TEMP": 1}  # file stem -> columns (HR, IBI, tags are derived: unused)
TRIM_S = 30.0
RECORDS = ("conditions", "subjects")
FORMS = ("auto", "pkl", "e4")
# The streams of one recording end within about a second of each other (real S2: BVP, ACC, EDA and TEMP within
# 0.6 s; the pkl's wrist streams and 700 Hz labels within a sample); a file cut short or padded differs by minutes.
SPAN_TOLERANCE_S = 2.0
# An E4 CSV is a few MB (S2's ACC.csv: 2.3 MB for 2 h 11 min); a zip member declaring more is refused unread, and a
# large member inflating more than MAX_ZIP_RATIO times (numbers in text compress 3-10x) is a zip bomb.
MAX_ZIP_MEMBER_BYTES = 64 << 20
MAX_ZIP_RATIO = 100
ZIP_RATIO_FROM_BYTES = 1 << 20  # small members may compress as they like (an empty tags.csv, a constant TEMP)

SPEC = DatasetSpec(
    name=NAME,
    title="WESAD wrist data (Empatica E4: BVP 64 Hz, ACC 32 Hz, EDA and TEMP 4 Hz) with the study's conditions",
    class_names=CONDITIONS,
    licence="research, non-commercial use; distributed by the authors (no redistribution)",
    citation="Schmidt P, Reiss A, Duerichen R, Marberger C, Van Laerhoven K. Introducing WESAD, a multimodal dataset "
             "for wearable stress and affect detection. Proc. 20th ACM International Conference on Multimodal "
             "Interaction (ICMI 2018), 400-408. doi:10.1145/3242969.3242985",
    homepage="https://doi.org/10.1145/3242969.3242985",
    get_it="WESAD is distributed by its authors for non-commercial research, so the course cannot download it "
           "for you: follow the download link in the WESAD paper (Schmidt et al., ICMI 2018, "
           "doi:10.1145/3242969.3242985), accept its terms, unpack WESAD.zip, and point --path (or path=) at the "
           "unpacked WESAD/ folder.",
    expected_layout="a WESAD/ folder of subject folders S2/ ... S17/ (or one of them), each holding SX.pkl, or "
                    "SX_E4_Data/ (or SX_E4_Data.zip) with BVP.csv, ACC.csv, EDA.csv and TEMP.csv plus SX_quest.csv "
                    "and SX_respiban.txt",
    auto_download=False,
    synthetic_size=6,
    synthetic_version=GENERATOR_VERSION,
)


# ---------------------------------------------------------------- small parsers (each testable on its own)

@dataclass
class E4Stream:
    """One E4 CSV: ``start_unix`` (s, UTC), ``fs`` (Hz) and ``samples`` (float64, shape ``(n, n_columns)``)."""

    start_unix: float
    fs: float
    samples: np.ndarray

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / self.fs


def parse_e4_csv(text: str, where: str, *, columns: int = 1) -> E4Stream:
    """Parse the text of one E4 CSV: row 1 start time (unix UTC), row 2 sample rate (Hz), then samples.

    Parameters
    ----------
    text : str
        The whole file.
    where : str
        The file's name, for errors.
    columns : int
        Expected columns (3 for ``ACC.csv``, 1 otherwise). Rows 1 and 2 repeat their value per column.

    Raises
    ------
    DataFormatError
        Fewer than three rows, a start time or rate that is not a number, a rate that is not positive, samples
        that are not numbers, NaN, or the wrong number of columns (the message names ``where``).
    """
    first = text.find("\n")
    second = text.find("\n", first + 1) if first >= 0 else -1
    if first < 0 or second < 0:
        raise DataFormatError(f"{where}: expected row 1 the start time (unix UTC), row 2 the sample rate, then "
                              "samples; the file has fewer than three rows")
    start = _header_numbers(text[:first], where, "row 1 (start time, unix UTC)", columns)
    rate = _header_numbers(text[first + 1:second], where, "row 2 (sample rate, Hz)", columns)
    if not (math.isfinite(rate) and rate > 0):
        raise DataFormatError(f"{where}: row 2 must give the sample rate as a positive number of Hz, found {rate:g}")
    if not math.isfinite(start):
        raise DataFormatError(f"{where}: row 1 must give the start time in unix seconds, found {start:g}")
    body = text[second + 1:].rstrip()  # blank lines at the very end shift nothing; any other blank row is an error
    if not body:
        raise DataFormatError(f"{where}: no samples after the two header rows")
    try:  # blank rows kept (as NaN rows, refused below): skipping one would shift the rest of the channel in time
        samples = pd.read_csv(io.StringIO(body), header=None, dtype=np.float64, skip_blank_lines=False).to_numpy()
    except (ValueError, pd.errors.ParserError) as err:
        raise DataFormatError(f"{where}: samples must be numbers, {columns} per row ({type(err).__name__}: "
                              f"{str(err).splitlines()[0]})") from None
    if samples.shape[1] != columns:
        raise DataFormatError(f"{where}: expected {columns} column(s) of samples, found {samples.shape[1]}")
    if not np.isfinite(samples).all():
        row = int(np.argmax(~np.isfinite(samples).all(axis=1)))
        raise DataFormatError(f"{where}: sample row {row + 3} is empty or not a number")
    return E4Stream(start, rate, samples)


def _header_numbers(row: str, where: str, what: str, columns: int) -> float:
    cells = [c.strip() for c in row.split(",") if c.strip()]
    try:
        values = [float(c) for c in cells]
    except ValueError:
        raise DataFormatError(f"{where}: {what} must be a number, found {row.strip()!r}") from None
    if not values:
        raise DataFormatError(f"{where}: {what} is empty")
    if len(set(values)) > 1 and not all(math.isnan(v) for v in values):
        raise DataFormatError(f"{where}: {what} gives different values per column: {row.strip()!r}")
    return values[0]


def minsec_to_seconds(value: str | float) -> float:
    """WESAD's minutes.seconds (``SX_quest.csv``) to seconds: ``7.08`` -> 428, ``50.3`` -> 3030, ``12`` -> 720.

    The fraction is seconds, not a decimal fraction of a minute; a trailing zero is dropped as a spreadsheet drops
    it, so ``50.3`` is 50.30, i.e. 50 min 30 s.

    Raises
    ------
    ValueError
        Not a number, negative, more than two digits after the point, or 60 seconds or more.
    """
    text = str(value).strip()
    m = re.fullmatch(r"(\d+)(?:\.(\d{0,2}))?", text)
    if m is None:
        raise ValueError(f"{text!r} is not a time in minutes.seconds (e.g. 7.08 for 7 min 8 s)")
    seconds = int((m.group(2) or "0").ljust(2, "0"))
    if seconds >= 60:
        raise ValueError(f"{text!r}: {seconds} seconds is not a time in minutes.seconds")
    return 60.0 * int(m.group(1)) + seconds


@dataclass
class Protocol:
    """The condition blocks of one subject from ``SX_quest.csv``, in seconds from the chest device's start.

    ``names`` are the sheet's own (``"Base"``, ``"TSST"``, ``"Medi 1"``, ...); ``intervals`` hold the four
    conditions only (the reading tasks ``sRead``/``fRead``/``bRead``, labels 5-7 of the pkl, are left out).
    """

    subject: str
    names: list[str]
    intervals: Intervals
    ignored: list[str] = field(default_factory=list)


def condition_of(name: str) -> str | None:
    """The condition a protocol name stands for (``"Base"`` -> baseline, ``"Medi 2"`` -> meditation), else None."""
    key = re.sub(r"[\s_]", "", name).lower()
    if key.startswith("medi"):
        return "meditation"
    return {"base": "baseline", "tsst": "stress", "fun": "amusement"}.get(key)


def read_quest(path: Path | str) -> Protocol:
    """Parse ``SX_quest.csv``: the ``# ORDER``, ``# START`` and ``# END`` rows (semicolon-separated).

    Raises
    ------
    DataFormatError
        A missing row, rows of different lengths, a time that is not minutes.seconds, or an end before its start
        (the message names the file).
    """
    path = check_readable_file(Path(path))
    rows: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        cells = [c.strip() for c in line.split(";")]
        key = cells[0].lstrip("#").strip().upper()
        if key in ("SUBJ", "ORDER", "START", "END") and key not in rows:
            rows[key] = cells[1:]
    for key in ("ORDER", "START", "END"):
        if key not in rows:
            raise DataFormatError(f"{path}: no '# {key}' row; expected '# ORDER', '# START' and '# END' rows giving "
                                  "each condition and its times in minutes.seconds")
    names = [c for c in rows["ORDER"] if c]
    n = len(names)
    if len([c for c in rows["START"] if c]) < n or len([c for c in rows["END"] if c]) < n:
        raise DataFormatError(f"{path}: '# ORDER' names {n} conditions but '# START'/'# END' give fewer times")
    starts, ends, labels, ignored = [], [], [], []
    for name, a, b in zip(names, rows["START"][:n], rows["END"][:n]):
        try:
            t0, t1 = minsec_to_seconds(a), minsec_to_seconds(b)
        except ValueError as err:
            raise DataFormatError(f"{path}: condition {name!r}: {err}") from None
        if t1 <= t0:
            raise DataFormatError(f"{path}: condition {name!r} ends ({b}) before it starts ({a})")
        cond = condition_of(name)
        if cond is None:
            ignored.append(name)
            continue
        starts.append(t0)
        ends.append(t1)
        labels.append(cond)
    subject = next((c for c in rows.get("SUBJ", []) if c), path.name.split("_")[0])
    order = np.argsort(starts, kind="stable")
    return Protocol(subject, names, Intervals(np.array(starts)[order], np.array(ends)[order],
                                              np.array(labels, dtype=str)[order]), ignored)


def _last_sunday(year: int, month: int) -> date:
    last = (date(year, month + 1, 1) if month < 12 else date(year + 1, 1, 1)) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - 6) % 7)


def germany_to_utc(local: datetime) -> datetime:
    """German local time (CET, or CEST from the last Sunday of March to the last Sunday of October) to UTC.

    Written out rather than taken from a time-zone database so the result does not depend on the machine.
    """
    summer = (datetime.combine(_last_sunday(local.year, 3), datetime.min.time()) + timedelta(hours=2) <= local
              < datetime.combine(_last_sunday(local.year, 10), datetime.min.time()) + timedelta(hours=3))
    return (local - timedelta(hours=2 if summer else 1)).replace(tzinfo=UTC)


def read_chest_start(path: Path | str) -> float:
    """Start of the chest recording (unix seconds, UTC) from the header of ``SX_respiban.txt``.

    Only the first lines are read: the header is line 2, ``# {"<MAC>": {..., "date": "2017-5-22",
    "time": "9:39:1.0", ...}}``, in the recording laptop's local (German) time.

    Raises
    ------
    DataFormatError
        No JSON header, or no readable date and time in it.
    """
    path = check_readable_file(Path(path))
    header = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for _ in range(5):
            line = f.readline()
            if line.startswith("# {"):
                try:
                    header = json.loads(line[2:])
                except json.JSONDecodeError as err:
                    raise DataFormatError(f"{path}: the header line is not valid JSON ({err})") from None
                break
    device = next(iter(header.values()), None) if isinstance(header, dict) else None
    try:
        y, mo, d = (int(v) for v in device["date"].split("-"))
        h, mi, s = device["time"].split(":")
        local = datetime(y, mo, d, int(h), int(mi)) + timedelta(seconds=float(s))
    except (TypeError, KeyError, ValueError, AttributeError):
        raise DataFormatError(f"{path}: expected an OpenSignals header (line 2, '# {{...}}') with the recording's "
                              "\"date\" (Y-M-D) and \"time\" (H:M:S)") from None
    return germany_to_utc(local).timestamp()


# ---------------------------------------------------------------- one subject, either form

@dataclass
class Recording:
    """One subject's wrist recording at 64 Hz with the protocol's (untrimmed) condition intervals.

    Attributes
    ----------
    subject : str
    signal : np.ndarray
        float32, shape ``(6, n_samples)``: channels :data:`CHANNELS` at :data:`FS`.
    intervals : Intervals
        Conditions in seconds from the recording's start.
    form : {"pkl", "e4"}
    e4_offset_s : float
        Seconds of this recording at the chest device's start (0 for the pkl, whose wrist signals start there).
    alignment : str
        How the protocol was placed on the recording's clock.
    """

    subject: str
    signal: np.ndarray
    intervals: Intervals
    form: str
    e4_offset_s: float
    alignment: str


def _to_64hz(x: np.ndarray, fs: float, n: int, skip_s: float, *, interpolate: bool) -> np.ndarray:
    """``n`` samples at 64 Hz of ``x`` (shape ``(m, k)`` at ``fs``), starting ``skip_s`` into it."""
    if interpolate:
        t = skip_s + np.arange(n) / FS
        tx = np.arange(x.shape[0]) / fs
        return np.stack([np.interp(t, tx, x[:, j]) for j in range(x.shape[1])])  # holds the last value at the end
    ratio = Fraction(FS / fs).limit_denominator(1000)
    y = x if ratio == 1 else sps.resample_poly(x, ratio.numerator, ratio.denominator, axis=0)
    k = round(skip_s * FS)
    y = y[k:k + n]
    if y.shape[0] < n:  # resampling can fall a sample short at the end: hold the last value
        y = np.concatenate([y, np.repeat(y[-1:], n - y.shape[0], axis=0)])
    return y.T


def check_spans(spans: Mapping[str, tuple[float, float]], where: str,
                tolerance_s: float = SPAN_TOLERANCE_S) -> None:
    """Check that the streams of one recording start and end together, within ``tolerance_s``.

    Parameters
    ----------
    spans : mapping of str to (float, float)
        Stream (file or key) -> (start, end) in seconds on a common clock.
    where : str
        The recording, for the error.

    Raises
    ------
    DataFormatError
        Starts or ends more than ``tolerance_s`` apart; the message lists every stream with its start and
        duration, so the cut (or padded) one stands out.
    """
    starts = [a for a, _ in spans.values()]
    ends = [b for _, b in spans.values()]
    if max(starts) - min(starts) > tolerance_s or max(ends) - min(ends) > tolerance_s:
        t0 = min(starts)
        listing = ", ".join(f"{name} {b - a:.1f} s" + (f" from +{a - t0:.1f} s" if a - t0 > tolerance_s else "")
                            for name, (a, b) in spans.items())
        raise DataFormatError(f"{where}: the streams of one recording must cover the same span (within "
                              f"{tolerance_s:g} s) but last {listing}; a file is cut short or has extra rows")


def assemble(streams: Mapping[str, E4Stream], where: str) -> tuple[np.ndarray, float]:
    """Put BVP, ACC, EDA and TEMP on one 64 Hz clock over the span all four cover.

    Returns
    -------
    signal : np.ndarray
        float32, shape ``(6, n_samples)``; ACC converted from 1/64 g to g.
    start : float
        Start of the common span on the streams' clock (the E4 start when all files agree, as they do).
    """
    start = max(s.start_unix for s in streams.values())
    end = min(s.start_unix + s.duration_s for s in streams.values())
    n = math.floor((end - start) * FS + 1e-6)
    if n < 1:
        raise DataFormatError(f"{where}: BVP, ACC, EDA and TEMP do not overlap in time (check row 1 of each file)")
    parts = []
    for name in ("BVP", "ACC", "EDA", "TEMP"):
        s = streams[name]
        x = s.samples / 64.0 if name == "ACC" else s.samples  # the E4's ACC unit is 1/64 g
        parts.append(_to_64hz(x, s.fs, n, start - s.start_unix, interpolate=name in ("EDA", "TEMP")))
    return np.concatenate(parts).astype(np.float32), start


def _e4_reader(subject_dir: Path, sid: str) -> tuple[Callable[[str], tuple[str, str]], str] | None:
    """A function name -> (text, where) over ``SX_E4_Data/`` or ``SX_E4_Data.zip``; None when neither exists."""
    folder, zipped = subject_dir / f"{sid}_E4_Data", subject_dir / f"{sid}_E4_Data.zip"
    if folder.is_dir():
        def from_folder(name: str) -> tuple[str, str]:
            path = check_readable_file(folder / name)
            return _decode(path.read_bytes(), str(path)), str(path)
        return from_folder, str(folder)
    if zipped.exists():
        check_readable_file(zipped)
        try:
            archive = zipfile.ZipFile(zipped)
        except (zipfile.BadZipFile, OSError) as err:
            raise DataFormatError(f"{zipped}: not a readable zip archive ({err})") from None
        members = {Path(m.filename).name: m for m in archive.infolist() if not m.is_dir()}
        for info in members.values():
            check_zip_member(zipped, info)

        def from_zip(name: str) -> tuple[str, str]:
            where = f"{zipped}:{name}"
            if name not in members:
                raise DataFormatError(f"{where}: missing from the archive (expected BVP.csv, ACC.csv, EDA.csv, "
                                      "TEMP.csv)")
            return _decode(read_zip_member(archive, members[name], where), where), where
        return from_zip, str(zipped)
    return None


def check_zip_member(archive: Path, info: zipfile.ZipInfo) -> None:
    """Refuse a member whose declared size or compression ratio no E4 CSV has, before inflating a byte of it.

    Raises
    ------
    ResourceLimitError
        Over :data:`MAX_ZIP_MEMBER_BYTES`, or over :data:`ZIP_RATIO_FROM_BYTES` and inflating more than
        :data:`MAX_ZIP_RATIO` times (the message names the archive, the member and the sizes).
    """
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > MAX_ZIP_MEMBER_BYTES or (info.file_size > ZIP_RATIO_FROM_BYTES and ratio > MAX_ZIP_RATIO):
        raise ResourceLimitError(
            f"{archive}: member {info.filename} declares {info.file_size:,} bytes from {info.compress_size:,} "
            f"compressed ({ratio:,.0f}x); an E4 CSV is at most {MAX_ZIP_MEMBER_BYTES >> 20} MiB and compresses "
            f"at most {MAX_ZIP_RATIO}x, so this is a zip bomb or a corrupt archive: nothing was extracted")


def read_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> bytes:
    """The member's bytes, inflated 1 MiB at a time and never past its declared size.

    ``ZipFile.read`` inflates with no output bound per step, so a member whose header understates its size would
    be inflated whole before the size is compared; reading in bounded steps keeps memory at the declared size.
    """
    out, chunk = bytearray(), 1 << 20
    try:
        with archive.open(info) as f:
            while block := f.read(chunk):
                out += block
                if len(out) > info.file_size:
                    break
    except (zipfile.BadZipFile, OSError, EOFError, zlib_error) as err:
        raise DamagedFileError(where, f"corrupt or truncated inside the archive ({err})") from None
    if len(out) != info.file_size:
        raise DamagedFileError(where, f"inflates to {len(out):,} bytes, its header says {info.file_size:,}")
    return bytes(out)


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DataFormatError(f"{where}: not a text file (an E4 CSV is plain ASCII)") from None


def read_e4_subject(subject_dir: Path | str, *, e4_offset_s: float | None = None) -> Recording:
    """Read one subject's E4 CSVs and place its protocol (``SX_quest.csv``) on the E4 clock.

    Parameters
    ----------
    subject_dir : path-like
        ``.../SX`` holding ``SX_E4_Data/`` (or ``SX_E4_Data.zip``) and ``SX_quest.csv``.
    e4_offset_s : float, optional
        Seconds of E4 recording at the chest device's start. Default: from ``SX_respiban.txt``'s header (see the
        module docstring).

    Raises
    ------
    DataFormatError
        A missing or malformed file (named), or no way to align the clocks.
    """
    subject_dir = Path(subject_dir)
    sid = subject_dir.name
    reader = _e4_reader(subject_dir, sid)
    if reader is None:
        raise DataFormatError(f"{subject_dir}: no {sid}_E4_Data/ or {sid}_E4_Data.zip (the E4's CSV files)"
                              + ("" if (subject_dir / f"{sid}.pkl").exists() else f" and no {sid}.pkl")
                              + f"; expected {SPEC.expected_layout}")
    get, where = reader
    streams, files = {}, {}
    for name, columns in E4_STREAMS.items():
        text, files[name] = get(f"{name}.csv")
        streams[name] = parse_e4_csv(text, files[name], columns=columns)
    check_spans({Path(files[k]).name: (s.start_unix, s.start_unix + s.duration_s) for k, s in streams.items()}, where)
    signal, start = assemble(streams, where)
    protocol = read_quest(subject_dir / f"{sid}_quest.csv")
    if e4_offset_s is not None:
        offset = float(e4_offset_s)
        how = f"given: the chest device started {offset:g} s into the E4 recording (e4_offsets)"
    else:
        respiban = subject_dir / f"{sid}_respiban.txt"
        if not respiban.exists():
            raise DataFormatError(
                f"{respiban}: missing, and {sid}.pkl is not there either, so the protocol times of {sid}_quest.csv "
                "(counted from the chest device's start) cannot be placed on the E4 clock. Copy it from WESAD "
                f"(only its header is read), or pass e4_offsets={{{sid!r}: seconds}}.")
        offset = read_chest_start(respiban) - start
        how = (f"{respiban.name} header (German local time -> UTC) minus the E4 start (row 1): the chest device "
               f"started {offset:.1f} s into the E4 recording; clocks may differ by seconds")
    iv = protocol.intervals
    return Recording(sid, signal, Intervals(iv.start_s + offset, iv.end_s + offset, iv.label), "e4", offset, how)


def label_intervals(labels: np.ndarray, fs: float = PKL_LABEL_FS) -> Intervals:
    """Runs of the pkl's condition codes 1-4 as intervals in seconds (0 and 5-7 are left out)."""
    labels = np.asarray(labels).reshape(-1)
    edges = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [labels.size]])
    keep = [i for i, a in enumerate(starts) if int(labels[a]) in PKL_LABELS]
    return Intervals(starts[keep] / fs, ends[keep] / fs, [PKL_LABELS[int(labels[starts[i]])] for i in keep])


def read_pkl_subject(path: Path | str) -> Recording:
    """Read one subject's ``SX.pkl`` (restricted unpickler) and its 700 Hz labels.

    Raises
    ------
    UnsafePickleError
        The file asks to build anything other than numpy arrays and plain containers.
    DataFormatError
        Keys or shapes other than WESAD's (the message names the file and the key).
    """
    path = Path(path)
    data = safe_pickle.load(path)

    def need(container, key: str, what: str):
        if not isinstance(container, dict) or key not in container:
            raise DataFormatError(f"{path}: no {what}; expected a dict with 'signal' -> 'wrist' -> BVP, ACC, EDA, "
                                  "TEMP and 'label' (WESAD's SX.pkl)")
        return container[key]

    wrist = need(need(data, "signal", "'signal'"), "wrist", "'signal' -> 'wrist'")
    streams = {}
    for name, columns in E4_STREAMS.items():
        x = np.asarray(need(wrist, name, f"'signal' -> 'wrist' -> {name!r}"))
        if x.ndim == 1 and columns == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != columns or x.shape[0] == 0 or x.dtype.kind not in "iuf":
            raise DataFormatError(f"{path}: wrist {name} must be numbers of shape (n, {columns}), got "
                                  f"{x.shape} {x.dtype}")
        if not np.isfinite(x).all():
            raise DataFormatError(f"{path}: wrist {name} holds NaN or infinite values")
        streams[name] = E4Stream(0.0, {"BVP": 64.0, "ACC": 32.0}.get(name, 4.0), x.astype(np.float64))
    labels = np.asarray(need(data, "label", "'label'"))
    if labels.ndim != 1 or labels.size == 0 or labels.dtype.kind not in "iuf":
        raise DataFormatError(f"{path}: 'label' must be a 1-D array of condition codes at 700 Hz, got "
                              f"{labels.shape} {labels.dtype}")
    subject = data.get("subject", path.stem)
    if isinstance(subject, bytes):
        subject = subject.decode("latin1")
    if str(subject) != path.stem:
        raise DataFormatError(f"{path}: says it holds subject {subject!r}, but the file is named {path.name}")
    spans = {f"wrist {k}": (0.0, s.duration_s) for k, s in streams.items()}
    check_spans({**spans, "label": (0.0, labels.size / PKL_LABEL_FS)}, str(path))
    signal, _ = assemble(streams, str(path))
    return Recording(path.stem, signal, label_intervals(labels), "pkl", 0.0,
                     "synchronised by WESAD's authors (double tap in both devices' ACC); labels at 700 Hz")


def read_subject(subject_dir: Path | str, *, form: str = "auto", e4_offset_s: float | None = None) -> Recording:
    """One subject's full recording from ``SX.pkl`` or the E4 CSVs (``form`` as in :func:`read`)."""
    subject_dir = Path(subject_dir)
    pkl = subject_dir / f"{subject_dir.name}.pkl"
    if form == "pkl" or (form == "auto" and pkl.exists()):
        return read_pkl_subject(pkl)
    return read_e4_subject(subject_dir, e4_offset_s=e4_offset_s)


def subject_folders(path: Path) -> list[Path]:
    """``path`` itself when it is a subject folder (``S<number>``), else its ``S<number>`` sub-folders in order."""
    is_subject = re.fullmatch(r"S\d+", path.name) is not None and any(
        (path / f"{path.name}{suffix}").exists() for suffix in (".pkl", "_E4_Data", "_E4_Data.zip", "_quest.csv"))
    if is_subject:
        return [path]
    found = [p for p in path.iterdir() if p.is_dir() and re.fullmatch(r"S\d+", p.name)] if path.is_dir() else []
    return sorted(found, key=lambda p: int(p.name[1:]))


def trim_intervals(iv: Intervals, trim_s: float, duration_s: float | None = None) -> tuple[Intervals, list[str]]:
    """Cut ``trim_s`` seconds from both ends of every interval (clipped to ``[0, duration_s]``).

    Returns
    -------
    Intervals
        What is left; intervals left empty are dropped.
    list of str
        The labels of the dropped intervals.
    """
    start, end = iv.start_s + trim_s, iv.end_s - trim_s
    if duration_s is not None:
        start, end = np.clip(start, 0, duration_s), np.clip(end, 0, duration_s)
    keep = end > start
    return Intervals(start[keep], end[keep], iv.label[keep]), iv.label[~keep].tolist()


# ---------------------------------------------------------------- the dataset

def read(path: Path | str, *, records: str = "conditions", form: str = "auto", trim_s: float = TRIM_S,
         channels: Sequence[str] = CHANNELS, subjects: Sequence[str] | None = None,
         e4_offsets: Mapping[str, float] | None = None) -> SignalDataset:
    """Read WESAD's wrist data in place.

    Parameters
    ----------
    path : path-like
        The unpacked ``WESAD/`` folder (subject folders ``S2`` ... ``S17``), or one subject folder.
    records : {"conditions", "subjects"}
        One record per condition block (labels :data:`CONDITIONS`), or one per subject (the single class
        ``"recording"``; the conditions are in ``intervals``). See the module docstring.
    form : {"auto", "pkl", "e4"}
        ``"auto"``: ``SX.pkl`` where present (the authors' synchronisation), else the E4 CSVs.
    trim_s : float
        Seconds cut from both ends of every condition block (>= 0).
    channels : sequence of str
        Channels to keep, from :data:`CHANNELS`, in the order given.
    subjects : sequence of str, optional
        Only these subjects (e.g. ``["S2", "S3"]``).
    e4_offsets : mapping, optional
        Subject -> seconds of E4 recording at the chest device's start, overriding ``SX_respiban.txt``.

    Returns
    -------
    SignalDataset
        float32 signals ``(n_channels, n_samples)`` at 64 Hz in :data:`UNITS`; ``subject_ids`` the subject,
        ``record_ids`` ``"S2_stress"`` (or ``"S2"``); ``intervals`` per record. ``metadata``: ``units``,
        ``forms``, ``e4_offset_s``, ``alignment``, ``trim_s``, ``segments`` (per condition record: subject,
        condition, ``start_s``/``end_s`` in the subject's recording), ``dropped_intervals``.

    Raises
    ------
    DataFormatError
        No subject folders, or a missing or malformed file (the message names it).
    """
    folder = Path(path)
    if records not in RECORDS:
        raise ValueError(f"records must be one of {RECORDS}, got {records!r}")
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    if not (isinstance(trim_s, (int, float)) and math.isfinite(trim_s) and trim_s >= 0):
        raise ValueError(f"trim_s must be a number of seconds >= 0, got {trim_s!r}")
    channels = tuple(channels)
    unknown = [c for c in channels if c not in CHANNELS]
    if not channels or unknown or len(set(channels)) != len(channels):
        raise ValueError(f"channels must be distinct names from {CHANNELS}, got {channels}")
    rows = [CHANNELS.index(c) for c in channels]
    found = subject_folders(folder)
    if subjects is not None:
        missing = sorted(set(subjects) - {p.name for p in found})
        if missing:
            raise DataFormatError(f"{folder}: no subject folder for {missing}; found {[p.name for p in found]}")
        found = [p for p in found if p.name in set(subjects)]
    if not found:
        raise DataFormatError(f"{folder}: no WESAD subject folders (S2, S3, ...) found; expected "
                              f"{SPEC.expected_layout}")
    offsets = dict(e4_offsets or {})
    signals, labels, sids, rids, intervals = [], [], [], [], []
    meta = {"units": {c: UNITS[c] for c in channels}, "forms": {}, "e4_offset_s": {}, "alignment": {},
            "trim_s": float(trim_s), "records": records, "segments": {}, "dropped_intervals": {}}
    for sub in found:
        rec = read_subject(sub, form=form, e4_offset_s=offsets.get(sub.name))
        x = rec.signal[rows]
        kept, dropped = trim_intervals(rec.intervals, trim_s, x.shape[-1] / FS)
        meta["forms"][rec.subject] = rec.form
        meta["e4_offset_s"][rec.subject] = rec.e4_offset_s
        meta["alignment"][rec.subject] = rec.alignment
        if dropped:
            meta["dropped_intervals"][rec.subject] = dropped
        if records == "subjects":
            signals.append(np.ascontiguousarray(x))
            labels.append(0)
            sids.append(rec.subject)
            rids.append(rec.subject)
            intervals.append(kept)
            continue
        counts = Counter(kept.label.tolist())
        seen: Counter = Counter()
        for a, b, cond in zip(kept.start_s, kept.end_s, kept.label):
            seen[cond] += 1
            rid = f"{rec.subject}_{cond}" + (f"_{seen[cond]}" if counts[cond] > 1 else "")
            i0, i1 = round(a * FS), round(b * FS)
            signals.append(np.ascontiguousarray(x[:, i0:i1]))
            labels.append(CONDITIONS.index(cond))
            sids.append(rec.subject)
            rids.append(rid)
            intervals.append(Intervals([0.0], [(i1 - i0) / FS], [cond]))
            meta["segments"][rid] = {"subject": rec.subject, "condition": str(cond), "start_s": i0 / FS,
                                     "end_s": i1 / FS}
    return SignalDataset(
        signals=signals, labels=np.array(labels, dtype=np.int64), fs=FS, subject_ids=np.array(sids),
        record_ids=np.array(rids), class_names=CONDITIONS if records == "conditions" else ("recording",),
        source="real", name=NAME, channel_names=channels, intervals=intervals, metadata=meta)


def summarise(ds: SignalDataset) -> dict[str, object]:
    """What ``info`` adds for this dataset: seconds per condition (after trimming) and the subjects."""
    seconds: Counter = Counter()
    for iv in ds.intervals or []:
        for a, b, cond in zip(iv.start_s, iv.end_s, iv.label):
            seconds[str(cond)] += float(b - a)
    return {"seconds_per_condition": {c: round(seconds.get(c, 0.0), 1) for c in CONDITIONS},
            "subject_list": sorted(set(ds.subject_ids.tolist()), key=lambda s: (len(s), s))}


def fetch(dest: Path | str, *, progress: bool = True) -> Path:
    """Refuse: WESAD's licence does not allow downloading it on a user's behalf.

    Raises
    ------
    DataUnavailableError
        Always; the message says where to get WESAD and how to read it with ``--path``.
    """
    raise DataUnavailableError(f"{SPEC.title} cannot be downloaded for you (licence: {SPEC.licence}). "
                               f"{SPEC.get_it} Then: `python -m helpers data info wesad --path /path/to/WESAD` or "
                               "helpers.data.load('wesad', path='/path/to/WESAD').")


# ---------------------------------------------------------------- the embedded default, in WESAD's own formats

def _quest_time(seconds: float) -> str:
    """Seconds -> WESAD's minutes.seconds text, trailing zero dropped as in the real sheets (3030 -> ``50.3``)."""
    m, s = divmod(round(seconds), 60)
    return f"{m}.{s:02d}".rstrip("0").rstrip(".")


def _column(values: np.ndarray, fmt: str) -> str:
    return "\n".join(fmt % v for v in values.tolist()) + "\n"


def write_e4_csvs(folder: Path, *, start_unix: float, bvp: np.ndarray, acc: np.ndarray, eda: np.ndarray,
                  temp: np.ndarray) -> None:
    """Write ``BVP.csv``, ``ACC.csv``, ``EDA.csv`` and ``TEMP.csv`` exactly as the E4 exports them.

    ``bvp`` (n,) at 64 Hz; ``acc`` (m, 3) integers in 1/64 g at 32 Hz; ``eda`` (uS) and ``temp`` (degC) at 4 Hz.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "BVP.csv").write_text(f"{start_unix:.2f}\n64.000000\n" + _column(np.round(bvp, 2) + 0.0, "%.2f"))
    acc_rows = "\n".join(f"{x},{y},{z}" for x, y, z in np.asarray(acc, dtype=np.int64).tolist()) + "\n"
    (folder / "ACC.csv").write_text(f"{start_unix:.6f}, {start_unix:.6f}, {start_unix:.6f}\n"
                                    "32.000000, 32.000000, 32.000000\n" + acc_rows)
    (folder / "EDA.csv").write_text(f"{start_unix:.6f}\n4.000000\n" + _column(eda, "%.6f"))
    (folder / "TEMP.csv").write_text(f"{start_unix:.6f}\n4.000000\n" + _column(temp, "%.2f"))
    (folder / "tags.csv").write_text("")  # WESAD's tags.csv: empty for S2, to be ignored anyway


def write_synthetic(out_dir: Path | str, *, seed: int = 0, size: int | None = None, time_scale: float = 1.0,
                    pkl: bool = False) -> Path:
    """Write simulated subjects in WESAD's layout: ``SX/SX_E4_Data/*.csv``, ``SX_quest.csv``, ``SX_respiban.txt``.

    ``SX_respiban.txt`` holds only the OpenSignals header (the chest start the reader aligns with; no chest signals
    are simulated). What is simulated is described in :mod:`helpers.data.synthetic.wesad_ppg`.

    Parameters
    ----------
    out_dir : path-like
        Folder to fill (the ``WESAD/`` level).
    seed : int
        Simulator seed.
    size : int, optional
        Number of subjects (default :attr:`SPEC.synthetic_size`).
    time_scale : float
        Protocol durations times this (1.0: the full ~84 min; smaller for quick tests).
    pkl : bool
        Also write ``SX.pkl`` in WESAD's synchronised form (wrist signals cut to the chest recording, 700 Hz
        labels; ``signal/chest`` is left empty).

    Returns
    -------
    Path
        ``out_dir``.
    """
    from helpers.data.synthetic.wesad_ppg import simulate_wesad_subjects

    out_dir = Path(out_dir)
    sims = simulate_wesad_subjects(SPEC.synthetic_size if size is None else size, seed=seed, time_scale=time_scale)
    for sim in sims:
        sub = out_dir / sim.subject
        write_e4_csvs(sub / f"{sim.subject}_E4_Data", start_unix=sim.e4_start_unix, bvp=sim.bvp, acc=sim.acc,
                      eda=sim.eda, temp=sim.temp)
        names = [p[0] for p in sim.protocol]
        pad = ";" * 20
        (sub / f"{sim.subject}_quest.csv").write_text(
            f"# Subj;{sim.subject}{pad}\n# ORDER;{';'.join(names)}{pad}\n"
            f"# START;{';'.join(_quest_time(p[2]) for p in sim.protocol)}{pad}\n"
            f"# END;{';'.join(_quest_time(p[3]) for p in sim.protocol)}{pad}\n")
        local = _germany_local(datetime.fromtimestamp(sim.e4_start_unix + sim.chest_start_s, tz=UTC))
        header = {"00:07:80:00:00:00": {"device name": "RespiBan (synthetic)", "sampling rate": 700,
                                        "date": f"{local.year}-{local.month}-{local.day}",
                                        "time": f"{local.hour}:{local.minute}:{local.second}.0"}}
        (sub / f"{sim.subject}_respiban.txt").write_text(
            "# OpenSignals Text File Format\n# " + json.dumps(header) + "\n# EndOfHeader\n")
        (sub / f"{sim.subject}_readme.txt").write_text(
            "### Synthetic subject ###\nSimulated by helpers.data.synthetic.wesad_ppg "
            f"({GENERATOR_VERSION}, seed {seed}); not a recording of a person.\n")
        if pkl:
            _write_pkl(sub / f"{sim.subject}.pkl", sim)
    return out_dir


def _germany_local(utc: datetime) -> datetime:
    """The German local time :func:`germany_to_utc` maps back to ``utc``."""
    naive = utc.replace(tzinfo=None)
    return next(naive + timedelta(hours=h) for h in (2, 1) if germany_to_utc(naive + timedelta(hours=h)) == utc)


def _write_pkl(path: Path, sim) -> None:
    a, n = sim.chest_start_s, sim.chest_duration_s
    cut = {"BVP": (sim.bvp[:, None], 64), "ACC": (sim.acc, 32), "EDA": (sim.eda[:, None], 4),
           "TEMP": (sim.temp[:, None], 4)}
    wrist = {k: x[int(a * fs):int((a + n) * fs)] for k, (x, fs) in cut.items()}
    label = np.zeros(int(n * PKL_LABEL_FS), dtype=np.int32)
    codes = {v: k for k, v in PKL_LABELS.items()}
    for _, cond, t0, t1 in sim.protocol:
        label[int(t0 * PKL_LABEL_FS):int(t1 * PKL_LABEL_FS)] = codes[cond]
    with open(path, "wb") as f:  # protocol 2, as WESAD's Python 2 pickles
        pickle.dump({"subject": sim.subject, "signal": {"wrist": wrist, "chest": {}}, "label": label}, f, protocol=2)
