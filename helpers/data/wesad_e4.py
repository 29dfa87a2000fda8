"""The Empatica E4's own export, as WESAD ships it: one CSV per stream, in a folder or a zip archive.

Each CSV has row 1 the start time (unix seconds, UTC), row 2 the sample rate (Hz), then one sample per row (three
comma-separated columns for ``ACC.csv``, in 1/64 g). Every row after the header is a sample: a blank or
non-numeric row is an error naming its line, never skipped (skipping shifts the rest of the stream in time).
The four streams of a recording must cover the same span (:func:`check_spans`) before :func:`assemble` puts them
on one 64 Hz clock.
WESAD ships the CSVs as ``SX_E4_Data.zip``; it is read in place, each member checked for its declared size and
compression ratio before a byte is inflated, so a zip bomb is refused without the memory it asks for.
"""
from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import signal as sps

from helpers.data.archives import check_zip_member, read_zip_member
from helpers.data.errors import (
    DataFormatError,
    check_readable_file,
)

FS = 64.0  # the one clock every stream is brought to: the BVP rate
# The streams of one recording end within about a second of each other (real S2: BVP, ACC, EDA and TEMP within
# 0.6 s; the pkl's wrist streams and 700 Hz labels within a sample); a file cut short or padded differs by minutes.
SPAN_TOLERANCE_S = 2.0
E4_STREAMS = {"BVP": 1, "ACC": 3, "EDA": 1, "TEMP": 1}  # file stem -> columns (HR, IBI, tags are derived: unused)
# An E4 CSV is a few MB (S2's ACC.csv: 2.3 MB for 2 h 11 min): a zip member declaring more is refused unread.
MAX_E4_CSV_BYTES = 64 << 20


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


def e4_files(subject_dir: Path, sid: str) -> tuple[Callable[[str], tuple[str, str]], str] | None:
    """A function name -> (text, where) over ``SX_E4_Data/`` or ``SX_E4_Data.zip``, and the folder or archive read.

    None when neither exists. Members of the archive are checked (:func:`check_zip_member`) when it is opened,
    before any is inflated.
    """
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
            check_zip_member(zipped, info, max_bytes=MAX_E4_CSV_BYTES, what="an E4 CSV")

        def from_zip(name: str) -> tuple[str, str]:
            where = f"{zipped}:{name}"
            if name not in members:
                raise DataFormatError(f"{where}: missing from the archive (expected BVP.csv, ACC.csv, EDA.csv, "
                                      "TEMP.csv)")
            return _decode(read_zip_member(archive, members[name], where), where), where
        return from_zip, str(zipped)
    return None


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DataFormatError(f"{where}: not a text file (an E4 CSV is plain ASCII)") from None


# ---------------------------------------------------------------- from four streams to one 64 Hz array

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
