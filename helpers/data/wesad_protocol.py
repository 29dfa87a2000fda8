"""WESAD's protocol on the recordings' clocks: the condition blocks of each subject, and where they lie.

The blocks come from ``SX_quest.csv`` (times in *minutes.seconds* from the chest device's start) or, in the pkl
form, from the 700 Hz label stream (codes :data:`PKL_LABELS`). The reader trims every block at both ends
(:func:`trim_intervals`): the transitions are not clean.

**Aligning the E4 clock with the protocol** (E4 form only; the pkl is already aligned). The E4 started minutes
before the chest device (S2: 23 min 36 s). WESAD's authors synchronised the two by a double tap visible in both
devices' ACC, done by hand; that needs the chest ACC, which this reader does not load, so it cannot be repeated
from the E4 alone (S2's ``tags.csv`` is empty and WESAD says to ignore it). What the files do allow: the header
of ``SX_respiban.txt`` (its second line, JSON) gives the chest recording's start as local date and time
(``"2017-5-22"``, ``"9:39:1.0"``), and row 1 of the E4 CSVs gives the E4 start in unix UTC. The study ran in
Germany, so the local time is converted with Germany's rules (CET, UTC+1; CEST, UTC+2 in summer; ``zoneinfo``'s Europe/Berlin) and ``offset = chest start - E4 start``. Only the header is read, never the
(large) chest signals. Uncertainty: the two clocks (the recording laptop and the E4, set when it was synced) may
disagree by seconds; for S2 the meditation blocks placed this way coincide with the stillness in the E4 ACC to
within ~5 s at both ends, well inside the default 30 s trim. ``e4_offsets={"S2": 1416.0}`` overrides the header
(or replaces a missing one); without either, reading the E4 form is an error that says so.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from helpers.data.container import Intervals
from helpers.data.errors import DataFormatError, check_readable_file

CONDITIONS = ("baseline", "stress", "amusement", "meditation")
PKL_LABELS = {1: "baseline", 2: "stress", 3: "amusement", 4: "meditation"}  # 0 transient, 5-7 ignored
PKL_LABEL_FS = 700.0
STUDY_TZ = ZoneInfo("Europe/Berlin")  # WESAD was recorded in Germany; the chest device's header is local time


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


def germany_to_utc(local: datetime) -> datetime:
    """German local time (the study's clock: CET, or CEST in summer) as an aware UTC time.

    ``zoneinfo``'s Europe/Berlin rules (the ``tzdata`` package, which pandas requires, supplies them where the
    system has none), so the result does not depend on the machine's own time zone.
    """
    return local.replace(tzinfo=STUDY_TZ).astimezone(UTC)


def germany_local(utc: datetime) -> datetime:
    """The naive German local time :func:`germany_to_utc` maps back to the aware ``utc``."""
    return utc.astimezone(STUDY_TZ).replace(tzinfo=None)


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


def label_intervals(labels: np.ndarray, fs: float = PKL_LABEL_FS) -> Intervals:
    """Runs of the pkl's condition codes 1-4 as intervals in seconds (0 and 5-7 are left out)."""
    labels = np.asarray(labels).reshape(-1)
    edges = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [labels.size]])
    keep = [i for i, a in enumerate(starts) if int(labels[a]) in PKL_LABELS]
    return Intervals(starts[keep] / fs, ends[keep] / fs, [PKL_LABELS[int(labels[starts[i]])] for i in keep])


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
