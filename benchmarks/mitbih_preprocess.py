"""How long does MIT-BIH beat preprocessing take? Load, filter, segment all 48 records; score the R-peak detector.

Stages, each timed on its own:

1. **load**: the real database through ``helpers.data.load("mitbih", path=DIR)`` (``--path``), or, by default, a
   synthetic database of the real size (48 records x 1805 s, two leads, 360 Hz) generated in memory by
   :func:`helpers.data.synthetic.simulate_mitbih_records` (so "load" is then the generation time, not file reading);
2. **filter**: zero-phase 0.5-40 Hz band-pass of both leads of every record;
3. **segment**: one window per annotated beat (0.25 s before to 0.45 s after the fiducial point, both leads) and
   the five RR features (:func:`helpers.signal.beats.beats_from_dataset`);
4. **detect** (not part of the budget): neurokit2 R peaks on MLII, scored against the reference beats (Se, +P).

The course budget (DESIGN.md) is load + filter + segment of all 48 records in <= 20 s on 2 CPU cores;
``seconds_total`` is that sum (wall clock), ``seconds_detect`` is reported beside it, and ``cpu_seconds_total`` is
the CPU time of this process for the same stages (a fairer figure when other jobs share the cores). The last line
printed is one JSON object::

    python benchmarks/mitbih_preprocess.py                              # synthetic, real size
    python benchmarks/mitbih_preprocess.py --path ~/data/mitdb          # your copy of the real database
    python benchmarks/mitbih_preprocess.py --records 4 --duration-s 60  # a quick smoke run
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from helpers.data.container import Annotations, SignalDataset
from helpers.data.mitbih_records import RECORDS
from helpers.data.synthetic import simulate_mitbih_records
from helpers.signal import bandpass
from helpers.signal.beats import (
    BEAT_SYMBOLS,
    aggregate_detection,
    beats_from_dataset,
    evaluate_detector,
)

REAL_DURATION_S = 1805.0  # 650,000 samples at 360 Hz: the length of every MIT-BIH record


def load_real(path: Path) -> SignalDataset:
    """The real database from ``path``, read in place by the course loader (the only use of helpers.data.mitbih)."""
    from helpers.data import load

    return load("mitbih", path=path)


def synthetic_dataset(n_records: int = len(RECORDS), duration_s: float = REAL_DURATION_S,
                      seed: int = 0) -> SignalDataset:
    """The first ``n_records`` simulated MIT-BIH records as a :class:`SignalDataset` with annotations, in memory."""
    recs = simulate_mitbih_records(n_records, duration_s=duration_s, seed=seed)
    # Both leads are named as in the first record; MLII always comes first, which is the lead used for beats.
    return SignalDataset(
        signals=[r.signal for r in recs], labels=np.zeros(len(recs), dtype=np.int64), fs=recs[0].fs,
        subject_ids=[r.patient for r in recs], record_ids=[r.record for r in recs], class_names=("record",),
        source="synthetic", name="mitbih", channel_names=("MLII", "V1/V5"),
        annotations=[Annotations(r.sample, r.symbol, r.aux) for r in recs],
        metadata={"generator": "helpers.data.synthetic.mitbih_ecg", "leads": [list(r.leads) for r in recs]},
    )


def filter_records(ds: SignalDataset, low_hz: float = 0.5, high_hz: float = 40.0) -> SignalDataset:
    """A copy of ``ds`` whose every record is band-passed (zero phase), float32 kept."""
    filtered = [bandpass(s, ds.fs, low_hz, high_hz) for s in ds.signals]
    return SignalDataset(signals=filtered, labels=ds.labels, fs=ds.fs, subject_ids=ds.subject_ids,
                         record_ids=ds.record_ids, class_names=ds.class_names, source=ds.source, name=ds.name,
                         metadata=ds.metadata, channel_names=ds.channel_names, annotations=ds.annotations)


def detector_scores(ds: SignalDataset, channel: int = 0) -> dict:
    """neurokit2 R peaks on one lead of every record against the annotated beats: gross Se and +P."""
    from helpers.signal import detect_r_peaks

    per_record = []
    for sig, ann in zip(ds.signals, ds.annotations):
        ref = ann.sample[np.isin(ann.symbol, BEAT_SYMBOLS)]
        per_record.append(evaluate_detector(detect_r_peaks(sig[channel], ds.fs), ref, ds.fs))
    return aggregate_detection(per_record)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", type=Path, help="folder with the real MIT-BIH database (WFDB files)")
    parser.add_argument("--records", type=int, default=len(RECORDS), help="synthetic: first N records")
    parser.add_argument("--duration-s", type=float, default=REAL_DURATION_S, help="synthetic: seconds per record")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-detect", action="store_true", help="skip the (slower) R-peak detector check")
    args = parser.parse_args(argv)

    c0 = time.process_time()
    t0 = time.perf_counter()
    if args.path is not None:
        ds, data = load_real(args.path), "real"
        print(f"data: real MIT-BIH database read from {args.path}")
    else:
        ds, data = synthetic_dataset(args.records, args.duration_s, args.seed), "synthetic"
        print(f"data: SYNTHETIC MIT-BIH-like records generated in memory ({len(ds)} x {args.duration_s:g} s; "
              "pass --path DIR for the real database); load time = generation time")
    t_load = time.perf_counter() - t0
    print(f"load     {t_load:7.2f} s  ({len(ds)} records, {sum(s.shape[-1] for s in ds.signals) / ds.fs / 3600:.1f} h)")

    t0 = time.perf_counter()
    filtered = filter_records(ds)
    t_filter = time.perf_counter() - t0
    print(f"filter   {t_filter:7.2f} s  (0.5-40 Hz zero-phase band-pass, {filtered.signals[0].shape[0]} leads)")

    t0 = time.perf_counter()
    beats = beats_from_dataset(filtered, lead=None, low_hz=None, high_hz=None)
    t_segment = time.perf_counter() - t0
    print(f"segment  {t_segment:7.2f} s  ({len(beats)} beats -> X {beats.X.shape} float32, rr {beats.rr.shape})")

    total, cpu = t_load + t_filter + t_segment, time.process_time() - c0
    print(f"total    {total:7.2f} s  (load + filter + segment; course budget 20 s for all 48 records; "
          f"CPU time {cpu:.2f} s)")

    det, t_detect = {}, 0.0
    if not args.no_detect:
        t0 = time.perf_counter()
        det = detector_scores(ds)
        t_detect = time.perf_counter() - t0
        print(f"detect   {t_detect:7.2f} s  (neurokit2 on MLII, not in the budget): Se {det['se']:.4f}, "
              f"+P {det['ppv']:.4f} (TP {det['tp']}, FP {det['fp']}, FN {det['fn']})")

    out = {"records": len(ds), "beats": len(beats), "seconds_load": round(t_load, 3),
           "seconds_filter": round(t_filter, 3), "seconds_segment": round(t_segment, 3),
           "seconds_total": round(total, 3), "cpu_seconds_total": round(cpu, 3), "seconds_detect": round(t_detect, 3), "data": data,
           "se": round(det["se"], 5) if det else None, "ppv": round(det["ppv"], 5) if det else None}
    print(json.dumps(out), flush=True)
    return out


if __name__ == "__main__":
    main()
