"""One CinC 2017 record on disk: its two-line ``.hea`` header and its MATLAB v4 ``.mat`` (``val``), parsed by hand.

The published headers start ``A00001 1 300 9000 2014-05-08 05:05:15``: an ISO date *before* the time, where WFDB
expects ``HH:MM:SS DD/MM/YYYY``, so ``wfdb.rdheader`` 4.3.1 rejects every file ("unconverted data remains").
The two header lines are fixed-format, so :func:`read_header` parses them itself and :func:`read_record` reads
``val`` with scipy. The dataset around the records is :mod:`helpers.data.cinc2017`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import scipy.io

from helpers.data.errors import DamagedFileError, DataFormatError, check_readable_file


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
    return read_header_and_record(Path(hea_path))[1]


def read_header_and_record(hea_path: Path) -> tuple[Header, np.ndarray]:
    """The header and the record in mV (float32, ``(n_samples,)``).

    Errors as :func:`read_header` and :func:`read_record`.
    """
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
