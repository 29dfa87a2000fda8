"""Simulated WESAD subjects written in WESAD's own layout, for the real reader to read back.

``SX/SX_E4_Data/*.csv`` exactly as the E4 exports them, ``SX_quest.csv`` with the protocol in minutes.seconds,
``SX_respiban.txt`` with only the OpenSignals header (the chest start the reader aligns with), and optionally
``SX.pkl`` in the authors' synchronised form. What is simulated is :mod:`helpers.data.synthetic.wesad_ppg`.
"""
from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from helpers.data.synthetic.wesad_ppg import GENERATOR_VERSION, simulate_wesad_subjects
from helpers.data.wesad_protocol import PKL_LABEL_FS, PKL_LABELS, germany_local


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


def write_wesad(out_dir: Path | str, *, seed: int = 0, size: int = 6, time_scale: float = 1.0,
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
    size : int
        Number of subjects.
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
    out_dir = Path(out_dir)
    sims = simulate_wesad_subjects(size, seed=seed, time_scale=time_scale)
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
        local = germany_local(datetime.fromtimestamp(sim.e4_start_unix + sim.chest_start_s, tz=UTC))
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
