"""The record of a training run: one list per metric, one entry per epoch, ready to plot."""

from __future__ import annotations

import json
import math
from pathlib import Path


class History(dict):
    """``dict[str, list[float]]`` of per-epoch metrics plus a few facts about the run.

    Keys: ``epoch`` (1-based), ``train_loss``, ``train_accuracy``, ``lr`` (at the end of the epoch),
    ``time_s`` (seconds per epoch), ``train_seq_s`` (training examples per second in that epoch) and, with
    validation data, ``val_loss`` (plain cross-entropy), ``val_accuracy``, ``val_macro_f1``, ``val_roc_auc``
    (binary tasks only) and ``val_<name>`` for each of ``TrainConfig.metrics``.

    Attributes
    ----------
    monitor : str or None
        The metric used for early stopping / best-checkpoint selection.
    best_epoch : int or None
        1-based epoch whose weights were restored (None when nothing was monitored).
    best_score : float
        Value of ``monitor`` at ``best_epoch`` (nan when nothing was monitored).
    stopped_early : bool
    out_of_time : bool
        Training stopped because ``TrainConfig.time_budget_s`` ran out before the last planned epoch.
    step_lr : list of float
        Learning rate used at every optimizer step (the warm-up + cosine trace).
    world_size : int
        Number of data-parallel processes that trained the model.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.monitor: str | None = None
        self.best_epoch: int | None = None
        self.best_score: float = math.nan
        self.stopped_early = False
        self.out_of_time = False
        self.step_lr: list[float] = []
        self.world_size = 1

    def append(self, **metrics: float) -> None:
        """Add one epoch's metrics (keys not seen before start a new list)."""
        for key, value in metrics.items():
            self.setdefault(key, []).append(float(value))

    def best(self) -> dict[str, float]:
        """All metrics at ``best_epoch`` (the last epoch when nothing was monitored)."""
        i = (self.best_epoch or len(self.get("epoch", []))) - 1
        return {k: v[i] for k, v in self.items() if len(v) > i >= 0}

    def to_json(self, path: str | Path) -> Path:
        """Write metrics and run facts to ``path`` as JSON (NaN written as null)."""
        def clean(v):
            return None if isinstance(v, float) and not math.isfinite(v) else v
        data = {"metrics": {k: [clean(x) for x in v] for k, v in self.items()},
                "monitor": self.monitor, "best_epoch": self.best_epoch, "best_score": clean(self.best_score),
                "stopped_early": self.stopped_early, "out_of_time": self.out_of_time, "world_size": self.world_size, "step_lr": self.step_lr}
        path = Path(path)
        path.write_text(json.dumps(data, indent=1))
        return path

    @classmethod
    def from_json(cls, path: str | Path) -> History:
        """Read a History written by :meth:`to_json`."""
        data = json.loads(Path(path).read_text())
        h = cls({k: [math.nan if x is None else x for x in v] for k, v in data["metrics"].items()})
        h.monitor, h.best_epoch, h.stopped_early = data["monitor"], data["best_epoch"], data["stopped_early"]
        h.best_score = math.nan if data["best_score"] is None else data["best_score"]
        h.world_size, h.step_lr = data.get("world_size", 1), data.get("step_lr", [])
        h.out_of_time = data.get("out_of_time", False)
        return h

    def __repr__(self) -> str:
        n = len(self.get("epoch", []))
        best = f", best {self.monitor}={self.best_score:.4g} at epoch {self.best_epoch}" if self.monitor else ""
        return (f"History({n} epochs{best}{', stopped early' if self.stopped_early else ''}"
                f"{', out of time' if self.out_of_time else ''})")
