"""The beats of the MIT-BIH benchmark: read (PhysioNet's mitdb or the embedded synthetic database), cut around
the reference beat positions on MLII, labelled N, S, V, F, and cached as one ``.npz``.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from mitbih_scores import CLASSES


def load_beats(path: str | None, records: list[str] | None, decimate: int, cache: str | None = None) -> dict:
    """Beats of N, S, V, F: waveforms ``X`` (n, 1, L), raw RR features ``rr`` (n, 5), ``y``, ``record``,
    ``subject`` and ``info``; read from (or written to) the ``.npz`` ``cache`` when given."""
    if cache and Path(cache).is_file():
        with np.load(cache, allow_pickle=False) as z:
            d = {k: z[k] for k in ("X", "rr", "y", "record", "subject")}
            d["info"] = json.loads(str(z["info"]))
        if records:
            keep = np.isin(d["record"], records)
            d = {**{k: v[keep] for k, v in d.items() if k != "info"}, "info": d["info"]}
        d["info"]["beats"] = len(d["y"])
        d["info"]["records"] = int(np.unique(d["record"]).size)
        return d
    from helpers.data import load
    from helpers.data.mitbih import AAMI
    from helpers.signal.beats import beats_from_dataset

    t0 = time.perf_counter()
    if path is not None:
        ds = load("mitbih", path=path, **({"records": records} if records else {}))
    else:
        ds = load("mitbih", source="synthetic")
        if records:
            missing = sorted(set(records) - set(ds.record_ids.tolist()))
            if missing:
                raise SystemExit(f"--records: {missing} are not MIT-BIH record names")
            ds = ds.subset(np.flatnonzero(np.isin(ds.record_ids, records)))
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    beats = beats_from_dataset(ds, "MLII", symbol_to_class={s: c for s, c in AAMI.items() if c in CLASSES})
    ok = np.isfinite(beats.rr).all(axis=1)  # a record with < 2 beats has no RR interval
    index = {c: i for i, c in enumerate(CLASSES)}
    d = {"X": np.ascontiguousarray(beats.X[ok][..., ::decimate]), "rr": beats.rr[ok],
         "y": np.array([index[c] for c in beats.label[ok].tolist()], dtype=np.int64),
         "record": beats.record[ok], "subject": beats.subject[ok],
         "info": {"data": ds.source, "records": len(ds), "beats": int(ok.sum()), "fs_hz": beats.fs / decimate,
                  "load_seconds": round(load_s, 1), "beats_seconds": round(time.perf_counter() - t0, 1)}}
    if cache:
        np.savez_compressed(cache, **{k: v for k, v in d.items() if k != "info"}, info=json.dumps(d["info"]))
    return d
