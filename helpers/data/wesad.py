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

**Aligning the E4 clock with the protocol** (E4 form only; the pkl is already aligned): from the header of
``SX_respiban.txt`` (the chest device's start, German local time) and row 1 of the E4 CSVs, or ``e4_offsets``; see
:mod:`helpers.data.wesad_protocol`, which also reads the quest sheets and the pkl's labels. The E4 CSVs and the zip
they ship in are :mod:`helpers.data.wesad_e4`; the synthetic writers :mod:`helpers.data.synthetic.wesad_files`.
Every stream of a recording, labels included, must cover the same span (within
:data:`helpers.data.wesad_e4.SPAN_TOLERANCE_S`).

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

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers.data import safe_pickle
from helpers.data.cache import synthetic_target
from helpers.data.container import Intervals, SignalDataset
from helpers.data.errors import DataFormatError, DataUnavailableError
from helpers.data.spec import DatasetSpec
from helpers.data.synthetic.wesad_ppg import GENERATOR_VERSION
from helpers.data.wesad_e4 import (
    E4_STREAMS,
    FS,
    E4Stream,
    assemble,
    check_spans,
    e4_files,
    parse_e4_csv,
)
from helpers.data.wesad_protocol import (
    CONDITIONS,
    PKL_LABEL_FS,
    label_intervals,
    read_chest_start,
    read_quest,
    trim_intervals,
)

NAME = "wesad"
CHANNELS = ("BVP", "ACC_X", "ACC_Y", "ACC_Z", "EDA", "TEMP")
UNITS = {"BVP": "a.u. (E4 BVP)", "ACC_X": "g", "ACC_Y": "g", "ACC_Z": "g", "EDA": "uS", "TEMP": "degC"}
TRIM_S = 30.0
RECORDS = ("conditions", "subjects")
FORMS = ("auto", "pkl", "e4")

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
    reader = e4_files(subject_dir, sid)
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
        for rid, cut, cond, (i0, i1) in condition_blocks(rec.subject, x, kept):
            signals.append(cut)
            labels.append(CONDITIONS.index(cond))
            sids.append(rec.subject)
            rids.append(rid)
            intervals.append(Intervals([0.0], [(i1 - i0) / FS], [cond]))
            meta["segments"][rid] = {"subject": rec.subject, "condition": cond, "start_s": i0 / FS,
                                     "end_s": i1 / FS}
    return SignalDataset(
        signals=signals, labels=np.array(labels, dtype=np.int64), fs=FS, subject_ids=np.array(sids),
        record_ids=np.array(rids), class_names=CONDITIONS if records == "conditions" else ("recording",),
        source="real", name=NAME, channel_names=channels, intervals=intervals, metadata=meta)


def condition_blocks(subject: str, x: np.ndarray, kept: Intervals) -> list[tuple[str, np.ndarray, str, tuple[int, int]]]:
    """Cut one subject's recording ``x`` (channels, samples at :data:`FS`) into its (trimmed) condition blocks.

    Returns
    -------
    list of (record id, signal, condition, (first sample, end sample))
        Record ids ``S2_stress``; a condition met twice is numbered (``S2_meditation_1``, ``S2_meditation_2``).
    """
    counts, seen, out = Counter(kept.label.tolist()), Counter(), []
    for a, b, cond in zip(kept.start_s, kept.end_s, kept.label):
        seen[cond] += 1
        rid = f"{subject}_{cond}" + (f"_{seen[cond]}" if counts[cond] > 1 else "")
        i0, i1 = round(a * FS), round(b * FS)
        out.append((rid, np.ascontiguousarray(x[:, i0:i1]), str(cond), (i0, i1)))
    return out


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


def write_synthetic(out_dir: Path | str, *, seed: int = 0, size: int | None = None, time_scale: float = 1.0,
                    pkl: bool = False) -> Path:
    """:func:`helpers.data.synthetic.wesad_files.write_wesad` (same arguments and result), with ``size`` None
    meaning :attr:`SPEC.synthetic_size` subjects."""
    from helpers.data.synthetic.wesad_files import write_wesad

    out_dir, size = synthetic_target(out_dir, size, SPEC.synthetic_size)
    return write_wesad(out_dir, seed=seed, size=size, time_scale=time_scale, pkl=pkl)
