"""Worker of tests/test_ddp_records.py, run under torchrun (2 CPU processes, gloo): Records and callbacks in DDP.

Writes rank<r>.json: the history, the callback events seen on this rank, the training records each rank served,
and what the second fit (whose callback fails on rank 0) raised on this rank.
"""

import json
import os
import sys
from pathlib import Path

import numpy as np

from helpers.models import CNN1D
from helpers.train import Records, TrainConfig, fit, set_seed


class Recorder:
    def __init__(self, fail=False):
        self.events, self.fail = [], fail

    def on_fit_start(self, config, model):
        self.events.append("start")

    def on_epoch_end(self, epoch, metrics):
        self.events.append(f"epoch{epoch}")
        if self.fail:
            raise ConnectionError("tracking server went away")

    def on_fit_end(self, history):
        self.events.append("end")


def main(out_dir: Path) -> None:
    rank = int(os.environ["RANK"])
    rng = np.random.default_rng(0)
    signals = [rng.normal(size=int(rng.integers(80, 300))).astype(np.float32) for _ in range(45)]
    labels = rng.integers(0, 2, 45)
    train = Records(signals[:35], labels[:35], crop=128)
    served = []  # the records this rank trains on: one epoch of its shard, as fit will draw it
    batches = train.batches(8, shuffle=True, seed=0, rank=rank, world_size=2, drop_last=True)
    for idx in batches.plan():
        served += idx.tolist()
    set_seed(0)
    model = CNN1D(1, 2, channels=(4, 8), verbose=False)
    rec = Recorder()
    history = fit(model, train, Records(signals[35:], labels[35:]),
                  TrainConfig(epochs=2, batch_size=8, progress=False, callbacks=[rec]))
    try:
        fit(CNN1D(1, 2, channels=(4, 8), verbose=False), train, None,
            TrainConfig(epochs=2, batch_size=8, progress=False, callbacks=[Recorder(fail=True)]))
        raised = None
    except Exception as err:  # noqa: BLE001 - recorded for the test to check
        raised = f"{type(err).__name__}: {err}"
    (out_dir / f"rank{rank}.json").write_text(json.dumps({
        "history": {k: v for k, v in history.items() if k not in ("time_s", "train_seq_s")},
        "events": rec.events, "served": served, "raised": raised}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
