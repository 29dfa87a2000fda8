"""What ``fit`` prints while it trains: tqdm bars, one plain line per epoch, or nothing.

``TrainConfig.progress``: ``True`` draws tqdm bars (notebook widgets in Jupyter), ``"epoch"`` prints exactly one
plain line per epoch (for logs, CI and terminals without carriage returns), ``False`` prints nothing. Either way
the run opens with one line saying what is trained and which metric chooses the kept weights, and closes with
the History's summary. Only rank 0 prints.
"""

from __future__ import annotations

from collections.abc import Iterable

from tqdm.auto import tqdm

PROGRESS_MODES = (True, False, "epoch")


class Progress:
    """Progress output of one ``fit`` call.

    Parameters
    ----------
    mode : bool or "epoch"
        See the module docstring.
    n_epochs : int
        Planned epochs (the bar's length; "epoch 3/20" in line mode).
    monitor : str or None
        Metric shown beside the losses (the one that chooses the kept weights).
    active : bool
        False on every rank but 0 of a distributed run.
    """

    def __init__(self, mode: bool | str, n_epochs: int, monitor: str | None, active: bool = True):
        self.mode = mode if active else False
        self.n_epochs, self.monitor = n_epochs, monitor
        self._bar = tqdm(total=n_epochs, desc="epochs", unit="epoch") if self.mode is True else None

    def say(self, line: str) -> None:
        """One line of text, printed so that it does not break a tqdm bar."""
        if self.mode is True:
            tqdm.write(line)
        elif self.mode == "epoch":
            print(line, flush=True)

    def batches(self, loader: Iterable, epoch: int) -> Iterable:
        """The training loader, wrapped in a per-epoch bar when bars are on."""
        if self.mode is True:
            return tqdm(loader, desc=f"epoch {epoch + 1}", leave=False)
        return loader

    def epoch_done(self, metrics: dict[str, float], improved: bool) -> None:
        """Report one finished epoch: ``metrics`` holds ``epoch``, the losses, the monitor and ``time_s``."""
        keys = ["train_loss"] + [k for k in ("val_loss", self.monitor) if k in metrics and k != "train_loss"]
        keys = list(dict.fromkeys(keys))  # the monitor may be val_loss itself
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix({k: f"{metrics[k]:.3f}" for k in keys})
        elif self.mode == "epoch":
            width = len(str(self.n_epochs))
            values = "  ".join(f"{k} {metrics[k]:.4f}" for k in keys)
            best = "  (best)" if improved else ""
            print(f"epoch {int(metrics['epoch']):>{width}}/{self.n_epochs}  {values}  "
                  f"{metrics['time_s']:.1f} s{best}", flush=True)

    def close(self, summary: str | None = None) -> None:
        """Close the bar and print ``summary`` (e.g. the History's repr)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if summary is not None:
            self.say(summary)
