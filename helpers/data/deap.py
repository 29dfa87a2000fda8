"""DEAP (a Database for Emotion Analysis using Physiological signals): Unit 3's EEG emotion recognition.

32 participants each watched 40 one-minute music videos and rated each on valence, arousal, dominance and liking
(continuous scales, 1-9) while 32-channel EEG and 8 peripheral signals were recorded. This module reads the
*preprocessed* release, in either of its two formats:

* ``data_preprocessed_python/s01.dat`` .. ``s32.dat``: one Python 2 pickle per subject (read here only through the
  restricted unpickler :func:`helpers.data.safe_pickle.load`: a crafted file cannot run code);
* ``data_preprocessed_matlab/s01.mat`` .. ``s32.mat``: the same variables in MATLAB files (``scipy.io.loadmat``).

Each file holds ``data``, shape (40 trials, 40 channels, 8064 samples) at 128 Hz, and ``labels``, shape (40, 4).
Trials are in video order (DEAP sorted them by video, not by presentation order). Each trial lasts 63 s: a 3 s
pre-trial baseline (:data:`BASELINE_S`), then the 60 s video. Channels (:data:`CHANNEL_NAMES`): 32 EEG in DEAP's
("Geneva") order, then hEOG, vEOG, zEMG, tEMG, GSR, respiration belt, plethysmograph and temperature. DEAP's
preprocessing down-sampled to 128 Hz, removed EOG artefacts from the EEG, band-passed it 4-45 Hz and re-referenced
it to the common average; EEG is in uV. The peripheral channels are in the units of the recording system.

Records and labels. One record per (subject, trial): ``record_ids`` ``"s01_t01"``, ``subject_ids`` ``"s01"``,
``targets`` the four ratings (``target_names`` :data:`TARGET_NAMES`), and integer ``labels`` high/low *valence*
(rating > 5, DEAP's mid-scale). Arousal (or any other scale) is ``targets[:, 1] > 5``: use
:func:`binary_labels`, or :func:`with_target` for a dataset labelled by it.

Reading is strict by default: ``data`` must be exactly (40, 40, 8064) and ``labels`` (40, 4), as in every real
file, so a truncated or foreign file is an error naming it. ``strict=False`` accepts any number of trials and any
length of at least the 3 s baseline (for small hand-made files, e.g. in tests), still with 40 channels and 4
ratings in 1-9 per trial.

Dtype. The real files hold float64 arrays (~103 MB per ``.dat``: 40 x 40 x 8064 x 8 bytes plus a few hundred bytes
of pickle; taken from DEAP's documentation and its users' reports, not checked against a real file here), so the
synthetic files written here are float64 too (8 subjects: 826 MB on disk). ``read`` accepts any numeric dtype and
returns float32 records (half the memory: 32 subjects take ~1.65 GB, ~1.3 GB with ``channels=EEG_CHANNELS``).

Licence: DEAP's end-user licence agreement (academic research only; no redistribution), so it is never downloaded
for you (:func:`fetch` explains how to request it). Cite Koelstra S, Muhl C, Soleymani M, Lee J-S, Yazdani A,
Ebrahimi T, Pun T, Nijholt A, Patras I. DEAP: a database for emotion analysis using physiological signals. IEEE
Transactions on Affective Computing 3(1):18-31, 2012.
"""
from __future__ import annotations

import pickle
import re
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from helpers.data import safe_pickle
from helpers.data.cache import synthetic_target
from helpers.data.container import SignalDataset
from helpers.data.errors import (
    DamagedFileError,
    DataFormatError,
    DataUnavailableError,
    check_readable_file,
)
from helpers.data.spec import DatasetSpec
from helpers.data.synthetic.deap_eeg import GENERATOR_VERSION

NAME = "deap"
FS = 128.0
N_TRIALS, N_CHANNELS, N_SAMPLES = 40, 40, 8064
BASELINE_S = 3.0  # each trial starts with 3 s of pre-trial baseline
EEG_CHANNELS: tuple[str, ...] = (
    "Fp1", "AF3", "F3", "F7", "FC5", "FC1", "C3", "T7", "CP5", "CP1", "P3", "P7", "PO3", "O1", "Oz", "Pz",
    "Fp2", "AF4", "Fz", "F4", "F8", "FC6", "FC2", "Cz", "C4", "T8", "CP6", "CP2", "P4", "P8", "PO4", "O2",
)
PERIPHERAL_CHANNELS: tuple[str, ...] = ("hEOG", "vEOG", "zEMG", "tEMG", "GSR", "Respiration belt", "Plethysmograph",
                                        "Temperature")
CHANNEL_NAMES: tuple[str, ...] = EEG_CHANNELS + PERIPHERAL_CHANNELS
TARGET_NAMES: tuple[str, ...] = ("valence", "arousal", "dominance", "liking")
RATING_RANGE = (1.0, 9.0)
THRESHOLD = 5.0  # high = rating above the middle of the 1-9 scale
RELEASES = {"python": ("data_preprocessed_python", ".dat"), "matlab": ("data_preprocessed_matlab", ".mat")}
_FILE = re.compile(r"^s(\d{2})\.(dat|mat)$")
HOMEPAGE = "https://www.eecs.qmul.ac.uk/mmv/datasets/deap/"

SPEC = DatasetSpec(
    name=NAME,
    title="DEAP (32 subjects x 40 music videos: 32-channel EEG + 8 peripheral signals, 128 Hz, ratings 1-9)",
    class_names=("low valence", "high valence"),
    licence="DEAP end-user licence agreement (EULA): academic research only, no redistribution",
    citation="Koelstra S, Muhl C, Soleymani M, Lee J-S, Yazdani A, Ebrahimi T, Pun T, Nijholt A, Patras I. DEAP: a "
             "database for emotion analysis using physiological signals. IEEE Transactions on Affective Computing "
             "3(1):18-31, 2012",
    homepage=HOMEPAGE,
    get_it=(f"DEAP is available only under its end-user licence agreement (EULA), for academic research: request "
            f"access at {HOMEPAGE} (print, sign and return the EULA as described there; you then receive a "
            "username and password for the download page). Download data_preprocessed_python.zip (or "
            "data_preprocessed_matlab.zip), unzip it, and point --path (load('deap', path=DIR)) at the folder of "
            "s01.dat .. s32.dat (or s01.mat ..), or at the folder holding data_preprocessed_python/."),
    expected_layout=("DEAP's preprocessed release: a folder of s01.dat .. s32.dat (Python pickles) or s01.mat .. "
                     "s32.mat (MATLAB), or a folder holding data_preprocessed_python/ or data_preprocessed_matlab/; "
                     "any subset of the 32 subjects is read"),
    auto_download=False,
    synthetic_size=8,
    synthetic_version=GENERATOR_VERSION,
)


# ---------------------------------------------------------------- reading

def read(path: Path | str, *, subjects: Sequence[str | int] | None = None, channels: Sequence[str] | None = None,
         release: str | None = None, strict: bool = True) -> SignalDataset:
    """Read DEAP's preprocessed files in place: one record per (subject, trial).

    Parameters
    ----------
    path : path-like
        The folder of ``sXX.dat`` files, the folder of ``sXX.mat`` files, or a folder holding
        ``data_preprocessed_python/`` or ``data_preprocessed_matlab/``.
    subjects : sequence of str or int, optional
        Only these subjects (``"s01"`` or ``1``); default every ``sXX`` file in the folder.
    channels : sequence of str, optional
        Only these channels, by name (e.g. :data:`EEG_CHANNELS`); default all 40 in file order.
    release : {"python", "matlab"}, optional
        Which release to read where a folder holds both; default the Python one.
    strict : bool
        True: every file must hold exactly (40, 40, 8064) data and (40, 4) labels, as the real files do. False:
        any number of trials and any length of at least the 3 s baseline (384 samples).

    Returns
    -------
    SignalDataset
        ``signals`` float32 ``(n_channels, n_samples)`` per trial (EEG in uV) at 128 Hz; ``labels`` 1 for high
        valence (rating > 5); ``targets`` float64 ``(n_records, 4)`` ratings in 1-9; ``channel_names``;
        ``metadata`` with ``folder`` (where the files were found), ``release``, ``files``, ``baseline_s`` and
        ``units``.

    Raises
    ------
    DataFormatError
        No DEAP files in ``path``, or a file with the wrong keys, shapes, dtype, non-finite values or ratings
        outside 1-9 (the message names the file), or a pickle that asks to run code.
    DataUnavailableError
        A requested subject is not in the folder.
    """
    folder, release, files = _locate(Path(path), release)
    files = _pick_subjects(folder, files, subjects)
    picks = _pick_channels(channels)
    signals: list[np.ndarray] = []
    targets, subject_ids, record_ids = [], [], []
    for subject, file in files:
        data, labels = _read_file(file, release, strict=strict)
        if len(picks) < data.shape[1]:
            data = data[:, picks, :]  # before the conversion, so only the kept channels are converted
        trials = data.astype(np.float32)  # one conversion per file; records are views into it
        signals.extend(trials)
        targets.append(labels)
        subject_ids += [subject] * len(trials)
        record_ids += [f"{subject}_t{t + 1:02d}" for t in range(len(trials))]
    ratings = np.concatenate(targets).astype(np.float64)
    return SignalDataset(
        signals=signals, labels=(ratings[:, 0] > THRESHOLD).astype(np.int64), fs=FS,
        subject_ids=np.array(subject_ids), record_ids=np.array(record_ids), class_names=SPEC.class_names,
        source="real", name=NAME, channel_names=tuple(CHANNEL_NAMES[i] for i in picks), targets=ratings,
        target_names=TARGET_NAMES,
        metadata={"path": str(path), "folder": str(folder), "release": release, "files": [str(f) for _, f in files],
                  "baseline_s": BASELINE_S, "label_rule": f"valence > {THRESHOLD:g}",
                  "units": {"EEG": "uV", "hEOG": "uV", "vEOG": "uV", "zEMG": "uV", "tEMG": "uV",
                            "others": "units of the recording (see DEAP's documentation)"}})


def _locate(path: Path, release: str | None) -> tuple[Path, str, list[tuple[str, Path]]]:
    """The folder holding the subject files, which release it is, and its ``(subject, file)`` pairs, sorted."""
    if release is not None and release not in RELEASES:
        raise ValueError(f"release must be one of {sorted(RELEASES)} or None, got {release!r}")
    if path.is_file():
        raise DataFormatError(f"{path}: is a file; give the folder holding DEAP's s01.dat .. (expected "
                              f"{SPEC.expected_layout})")
    order = [release] if release else list(RELEASES)
    for candidate in (path, *(path / RELEASES[r][0] for r in order)):
        found = _subject_files(candidate) if candidate.is_dir() else {}
        for r in order:
            if found.get(r):
                return candidate, r, found[r]
    raise DataFormatError(f"{path}: no DEAP subject files found (expected {SPEC.expected_layout})")


def _subject_files(folder: Path) -> dict[str, list[tuple[str, Path]]]:
    out: dict[str, list[tuple[str, Path]]] = {"python": [], "matlab": []}
    for p in sorted(folder.iterdir()):
        m = _FILE.match(p.name)
        if m:
            out["python" if m.group(2) == "dat" else "matlab"].append((f"s{m.group(1)}", p))
    return out


def _pick_subjects(folder: Path, files: list[tuple[str, Path]],
                   subjects: Sequence[str | int] | None) -> list[tuple[str, Path]]:
    if subjects is None:
        return files
    if isinstance(subjects, (str, int)):
        subjects = [subjects]
    wanted = []
    for s in subjects:
        m = re.fullmatch(r"s?(\d{1,2})", str(s).strip().lower())
        if m is None:
            raise ValueError(f"subjects are named 's01'..'s32' or numbered 1..32, got {s!r}")
        wanted.append(f"s{int(m.group(1)):02d}")
    have = dict(files)
    missing = [s for s in wanted if s not in have]
    if missing:
        raise DataUnavailableError(f"{folder}: subject(s) {', '.join(missing)} not there; it holds "
                                   f"{', '.join(have) or 'none'}")
    return [(s, have[s]) for s in sorted(set(wanted))]


def _pick_channels(channels: Sequence[str] | None) -> list[int]:
    if channels is None:
        return list(range(N_CHANNELS))
    if isinstance(channels, str):
        channels = [channels]
    unknown = [c for c in channels if c not in CHANNEL_NAMES]
    if unknown:
        raise ValueError(f"unknown DEAP channel(s) {unknown}; the channels are {list(CHANNEL_NAMES)}")
    return [CHANNEL_NAMES.index(c) for c in channels]


def _read_file(file: Path, release: str, *, strict: bool) -> tuple[np.ndarray, np.ndarray]:
    """``data`` (n_trials, 40, n_samples) and ``labels`` (n_trials, 4) of one subject file, checked."""
    content = safe_pickle.load(file) if release == "python" else _load_mat(file)
    if not isinstance(content, dict) or not {"data", "labels"} <= set(content):
        keys = sorted(map(str, content)) if isinstance(content, dict) else type(content).__name__
        raise DataFormatError(f"{file}: expected a dict with 'data' and 'labels' (DEAP's preprocessed format), "
                              f"found {keys}")
    data, labels = content["data"], content["labels"]
    for key, value in (("data", data), ("labels", labels)):
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiu":
            raise DataFormatError(f"{file}: '{key}' must be a numeric array, got "
                                  f"{getattr(value, 'dtype', type(value).__name__)}")
    if strict:
        if data.shape != (N_TRIALS, N_CHANNELS, N_SAMPLES):
            raise DataFormatError(f"{file}: 'data' has shape {data.shape}, expected ({N_TRIALS}, {N_CHANNELS}, "
                                  f"{N_SAMPLES}) (trials, channels, samples at 128 Hz); read(..., strict=False) "
                                  "accepts other trial counts and lengths")
    elif data.ndim != 3 or data.shape[0] < 1 or data.shape[1] != N_CHANNELS or data.shape[2] < BASELINE_S * FS:
        raise DataFormatError(f"{file}: 'data' has shape {data.shape}, expected (trials, {N_CHANNELS}, samples) with "
                              f"at least {int(BASELINE_S * FS)} samples (the 3 s baseline)")
    if labels.shape != (data.shape[0], len(TARGET_NAMES)):
        raise DataFormatError(f"{file}: 'labels' has shape {labels.shape}, expected ({data.shape[0]}, "
                              f"{len(TARGET_NAMES)}) ({', '.join(TARGET_NAMES)} per trial)")
    bad = ~np.isfinite(data).all(axis=2)
    if bad.any():
        trial, channel = map(int, np.argwhere(bad)[0])
        raise DataFormatError(f"{file}: 'data' holds NaN or infinite samples (first in trial {trial + 1}, channel "
                              f"{CHANNEL_NAMES[channel]})")
    lo, hi = RATING_RANGE
    outside = ~(np.isfinite(labels) & (labels >= lo) & (labels <= hi))
    if outside.any():
        trial, col = map(int, np.argwhere(outside)[0])
        raise DataFormatError(f"{file}: {TARGET_NAMES[col]} rating of trial {trial + 1} is "
                              f"{float(labels[trial, col]):g}, expected a rating in {lo:g}-{hi:g}")
    return data, labels


def _load_mat(file: Path) -> dict[str, Any]:
    import scipy.io

    check_readable_file(file)
    try:
        return scipy.io.loadmat(file, variable_names=["data", "labels"])
    except NotImplementedError:  # scipy reads MATLAB v4-v7.2; DEAP's files are v5
        raise DataFormatError(f"{file}: a MATLAB v7.3 (HDF5) file, which scipy cannot read; DEAP's own .mat files "
                              "are v5: re-save with -v7, or use data_preprocessed_python") from None
    except Exception as err:  # noqa: BLE001 - scipy raises ValueError, TypeError, OSError ... on corrupt files
        raise DamagedFileError(file, f"not a readable MATLAB file ({type(err).__name__}: {err})") from None


# ---------------------------------------------------------------- labels and summaries

def binary_labels(ds: SignalDataset, target: str = "arousal", threshold: float = THRESHOLD) -> np.ndarray:
    """High (1) / low (0) labels from one rating scale: ``targets[:, j] > threshold``.

    Parameters
    ----------
    ds : SignalDataset
        A DEAP dataset (with ``targets`` and ``target_names``).
    target : {"valence", "arousal", "dominance", "liking"}
    threshold : float
        Ratings strictly above it are "high" (default 5, the middle of the 1-9 scale).

    Returns
    -------
    np.ndarray
        int64, shape ``(n_records,)``.
    """
    if ds.targets is None or ds.target_names is None:
        raise ValueError(f"{ds.name}: has no rating targets to threshold")
    if target not in ds.target_names:
        raise ValueError(f"unknown target {target!r}; the targets are {list(ds.target_names)}")
    return (ds.targets[:, ds.target_names.index(target)] > threshold).astype(np.int64)


def with_target(ds: SignalDataset, target: str = "arousal", threshold: float = THRESHOLD) -> SignalDataset:
    """A copy of ``ds`` whose ``labels`` are high/low ``target`` (class names ``"low <target>"``, ``"high ..."``)."""
    out = ds.subset(np.arange(len(ds)))
    out.labels = binary_labels(ds, target, threshold)
    out.class_names = (f"low {target}", f"high {target}")
    out.metadata["label_rule"] = f"{target} > {threshold:g}"
    return out


def summarise(ds: SignalDataset) -> dict[str, Any]:
    """What ``info`` adds for DEAP: trials per subject, mean ratings, and the share of high valence and arousal."""
    _, per_subject = np.unique(ds.subject_ids, return_counts=True)
    out: dict[str, Any] = {"trials_per_subject": {"min": int(per_subject.min()) if per_subject.size else 0,
                                                  "max": int(per_subject.max()) if per_subject.size else 0}}
    if ds.targets is not None and len(ds):
        names = list(ds.target_names)
        out["rating_means"] = {n: round(float(ds.targets[:, j].mean()), 3) for j, n in enumerate(names)}
        out["fraction_high"] = {n: round(float(binary_labels(ds, n).mean()), 3) for n in ("valence", "arousal")
                                if n in names}
    return out


# ---------------------------------------------------------------- obtaining it

def fetch(dest: Path | str, *, progress: bool = True) -> Path:
    """Refuse: DEAP's licence does not allow downloading it on a user's behalf.

    Raises
    ------
    DataUnavailableError
        Always; the message says where to request DEAP and how to read a copy in place.
    """
    raise DataUnavailableError(f"{SPEC.title} cannot be downloaded for you: {SPEC.get_it} Then read it in place with "
                               f"`python -m helpers data info {NAME} --path DIR` (nothing is copied into {dest}).")


class _Python2Pickler(pickle._Pickler):  # the pure-Python pickler: its dispatch table can be changed per class
    """Pickle like Python 2's ``cPickle`` (protocol 2) did for DEAP: strings as BINSTRING, numpy's 1.x names.

    Python 3's protocol 2 writes bytes as ``_codecs.encode(text, "latin1")``, which inflates binary data by about
    half in UTF-8; Python 2 wrote its ``str`` (array buffers, dict keys, dtype codes) raw, which is why the real
    files must be read with ``encoding="latin1"``.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def save_bytes(self, obj: bytes | str) -> None:
        raw = obj.encode("latin1") if isinstance(obj, str) else obj  # Python 2's str was bytes
        n = len(raw)
        self.write(pickle.SHORT_BINSTRING + bytes([n]) + raw if n < 256
                   else pickle.BINSTRING + struct.pack("<i", n) + raw)
        self.memoize(obj)

    def save_global(self, obj: Any, name: str | None = None) -> None:
        module = getattr(obj, "__module__", None)
        if module == "numpy._core.multiarray":  # numpy 1.x's name (as in DEAP's files); numpy 2 still reads it
            module = "numpy.core.multiarray"
        self.write(pickle.GLOBAL + f"{module}\n{name or obj.__qualname__}\n".encode("ascii"))
        self.memoize(obj)

    dispatch[bytes] = save_bytes
    dispatch[str] = save_bytes  # no unicode objects in DEAP's files either


def write_subject(path: Path | str, data: np.ndarray, labels: np.ndarray) -> Path:
    """Write one subject as DEAP's ``sXX.dat``: a protocol-2 pickle of ``{"data": ..., "labels": ...}``.

    Keys are written as Python 2 byte strings, as in the real files, so they read back as ``"data"`` and
    ``"labels"`` with ``encoding="latin1"``.
    """
    from helpers.data.cache import atomic_write

    with atomic_write(Path(path), "wb") as f:
        _Python2Pickler(f, protocol=2).dump({b"data": np.ascontiguousarray(data), b"labels": np.ascontiguousarray(labels)})
    return Path(path)


def write_synthetic(out_dir: Path | str, *, seed: int = 0, size: int | None = None) -> Path:
    """Write the synthetic DEAP-like set as the Python release: one ``sXX.dat`` per subject in ``out_dir``.

    Each file is float64 ``data`` (40, 40, 8064) and ``labels`` (40, 4), like the real ones (~103 MB each); a
    subject depends only on ``seed`` and its number, and ``size`` counts subjects (default
    :attr:`SPEC.synthetic_size` = 8; DEAP has 32). Arguments and result follow the dataset contract
    (:mod:`helpers.data.spec`); what is simulated is described in :mod:`helpers.data.synthetic.deap_eeg`.
    """
    from helpers.data.synthetic.deap_eeg import simulate_deap

    out_dir, size = synthetic_target(out_dir, size, SPEC.synthetic_size)
    for sim in simulate_deap(size, seed=seed):
        write_subject(out_dir / f"{sim.subject}.dat", sim.data, sim.labels)
    return out_dir
