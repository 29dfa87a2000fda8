"""Simulated AF records written in the CinC 2017 challenge's own files, for the real reader to read back.

``A00001.mat`` (MATLAB v4, ``val`` int16 at 1000 adu/mV) and ``A00001.hea`` byte for byte in the published header
layout, then ``RECORDS`` and ``REFERENCE.csv``. What is simulated is :mod:`helpers.data.synthetic.af_ecg`; the
format is described in :mod:`helpers.data.cinc2017`.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import scipy.io

from helpers.data.cache import atomic_write

from .af_ecg import SimulatedRecords


def write_cinc2017(out_dir: Path, sim: SimulatedRecords, *, seed: int, fs: float, adu_per_mv: float) -> None:
    """Write ``sim`` into the existing folder ``out_dir`` as the challenge published its records.

    Sinus records with frequent premature beats are labelled O ("other rhythm", as the challenge's annotators did
    with ectopy); there are no ~ (noisy) records, and no patient ids (the real format has none). ``seed`` draws
    the recording dates; ``REFERENCE.csv`` is written last, so its presence means the records are complete.
    """
    rng = np.random.default_rng(seed)
    start = datetime(2013, 11, 1)  # the challenge's recordings date from 2013-2014
    refs, names = [], []
    for i, (x, rhythm, label) in enumerate(zip(sim.signals, sim.rhythms, sim.labels), start=1):
        rec = f"A{i:05d}"
        # int16 adu like the AliveCor device; clip rather than wrap around on huge artefacts.
        val = np.clip(np.round(x * adu_per_mv), -32768, 32767).astype(np.int16)[None, :]
        scipy.io.savemat(out_dir / f"{rec}.mat", {"val": val}, format="4")
        when = (start + timedelta(seconds=int(rng.integers(0, 23_000_000)))).strftime("%Y-%m-%d %H:%M:%S")
        # Byte for byte the published layout: CRLF, trailing blank, ISO date first, "16+24" (v4 .mat header).
        (out_dir / f"{rec}.hea").write_bytes(
            f"{rec} 1 {fs:g} {val.shape[1]} {when} \r\n"
            f"{rec}.mat 16+24 {adu_per_mv:g}/mV 16 0 {val[0, 0]} 0 0 ECG \r\n".encode("ascii"))
        code = "A" if label == 1 else ("O" if rhythm == "sinus_ectopy" else "N")
        refs.append(f"{rec},{code}\n")
        names.append(f"{rec}\n")
    (out_dir / "RECORDS").write_text("".join(names))
    with atomic_write(out_dir / "REFERENCE.csv", "w") as f:
        f.write("".join(refs))
