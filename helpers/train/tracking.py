"""Experiment tracking with MLflow: every ``fit`` a run, its settings and curves kept, runs compared in a table.

Comparing four imbalance remedies times three seeds is twelve runs; a notebook's printout of them is gone at the
next restart. :class:`MLflowCallback` records each ``fit`` as one MLflow run::

    from helpers.train.tracking import MLflowCallback, runs_table
    cb = MLflowCallback("mitbih_beats", run_name="class_weights", params={"strategy": "class_weights"})
    fit(model, (X, y), (X_val, y_val), TrainConfig(epochs=10, callbacks=[cb]))
    cb.log_metrics({"ds2_macro_f1": 0.61})      # test results, after fit, into the same run
    runs_table("mitbih_beats")                  # one row per run: params.*, metrics.*

- at the start: every :class:`~helpers.train.TrainConfig` field, the model's class and parameter count, and your
  ``params``, as MLflow parameters;
- after every epoch: that epoch's metrics (``train_loss``, ``val_macro_f1``, ``lr``, ...) with ``step=epoch``;
- at the end: the best epoch's metrics as ``best_<name>``, and tags ``monitor``, ``best_epoch``,
  ``stopped_early``; the run is marked FINISHED. (A ``fit`` stopped by an error never reaches its end: use the
  callback as a context manager, ``with MLflowCallback(...) as cb:``, to mark the run FAILED.)

Where runs are stored: a local SQLite file, ``<repo>/build/mlruns/mlflow.db`` (``build/`` is git-ignored), or
under ``$BIOSIGNAL_MLRUNS`` (a folder, or any MLflow tracking URI such as ``http://localhost:5000``). MLflow 3
refuses its old folder-of-files store unless told otherwise; SQLite needs no server (SQLAlchemy, which it uses,
comes with nbgrader). To browse: ``pip install mlflow`` then ``mlflow ui --backend-store-uri sqlite:///<path>``.

MLflow is optional: ``import helpers.train.tracking`` works without it; creating the callback without it raises an
ImportError that says what to install.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Self

__all__ = ["MLflowCallback", "default_tracking_uri", "runs_table"]

INSTALL_HINT = "pip install mlflow-skinny (or, in the course repository, pip install -e '.[tracking]')"
_MAX_PARAM_CHARS = 500  # MLflow stores up to 6000; a longer value is unreadable in a table anyway
# Loggers that announce the creation of a new SQLite store at INFO level, once per new file: noise in a notebook.
_CHATTY = ("mlflow.store.db.utils", "alembic.runtime.migration", "alembic")


def _require_mlflow():
    try:
        import mlflow
    except ImportError as err:
        raise ImportError(f"experiment tracking needs MLflow, which is not installed: {INSTALL_HINT}") from err
    return mlflow


def default_tracking_uri() -> str:
    """Where runs go unless told otherwise: ``$BIOSIGNAL_MLRUNS``, else ``<repo>/build/mlruns/mlflow.db``.

    ``BIOSIGNAL_MLRUNS`` may be a folder (the SQLite file ``mlflow.db`` goes inside) or a tracking URI
    (``sqlite:///...``, ``http://...``, ``file:...``). Outside a source checkout (an installed package),
    the folder is ``~/.cache/biosignal-course/mlruns``.
    """
    env = os.environ.get("BIOSIGNAL_MLRUNS", "").strip()
    if env and ("://" in env or env.startswith(("sqlite:", "file:", "databricks"))):
        return env
    if env:
        folder = Path(env).expanduser()
    else:
        repo = Path(__file__).resolve().parents[2]
        folder = repo / "build" / "mlruns" if (repo / "pyproject.toml").is_file() else \
            Path.home() / ".cache" / "biosignal-course" / "mlruns"
    if not _writable(folder):
        # e.g. the autograder's sandbox, where the course is read-only: runs still work, in a throw-away folder
        fallback = Path(tempfile.mkdtemp(prefix="biosignal-mlruns-"))
        print(f"experiment tracking: {folder} is not writable; this session's runs go to {fallback}")
        folder = fallback
    return f"sqlite:///{folder.resolve() / 'mlflow.db'}"


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """MLflow's store set-up without its INFO lines and SQLAlchemy's deprecation notices (not ours to fix)."""
    loggers = [logging.getLogger(name) for name in _CHATTY]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            with contextlib.suppress(ImportError):
                from sqlalchemy.exc import SADeprecationWarning
                warnings.simplefilter("ignore", SADeprecationWarning)
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _client(tracking_uri: str):
    """An ``MlflowClient`` for ``tracking_uri``; a SQLite file's folder is created first."""
    _require_mlflow()
    from mlflow.tracking import MlflowClient

    if tracking_uri.startswith("sqlite:///"):
        Path(tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    with _quiet():
        client = MlflowClient(tracking_uri=tracking_uri)
        client.search_experiments(max_results=1)  # opens (and on first use creates) the store, quietly
    return client


def _experiment_id(client, name: str, tracking_uri: str, create: bool) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    if not create:
        known = [e.name for e in client.search_experiments()]
        raise ValueError(f"no experiment named {name!r} in {tracking_uri}; experiments there: {known}")
    artifacts = None
    if tracking_uri.startswith("sqlite:///"):  # else MLflow would put artifacts under the current directory
        artifacts = (Path(tracking_uri.removeprefix("sqlite:///")).parent / "artifacts" / name).as_uri()
    return client.create_experiment(name, artifact_location=artifacts)


def _param_value(value: Any) -> str:
    """A parameter as MLflow stores it (a string), with functions and objects named rather than repr'd."""
    if callable(value) and not isinstance(value, type):
        value = getattr(value, "__qualname__", type(value).__name__)
    elif isinstance(value, (list, tuple)) and value and not all(isinstance(v, (int, float, str)) for v in value):
        value = [type(v).__name__ for v in value]  # e.g. the callbacks themselves
    text = str(value)
    return text if len(text) <= _MAX_PARAM_CHARS else text[: _MAX_PARAM_CHARS - 3] + "..."


def _numeric(metrics: Mapping[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in metrics.items():
        try:
            out[str(key)] = float(value)
        except (TypeError, ValueError):
            continue  # a string or a list in a metrics dict is not a metric: skipped rather than failing the run
    return out


class MLflowCallback:
    """Record each :func:`~helpers.train.fit` as an MLflow run (pass it in ``TrainConfig(callbacks=[...])``).

    Parameters
    ----------
    experiment : str
        MLflow experiment (created if missing): one per question, e.g. ``"mitbih_beats"``.
    run_name : str, optional
        Name shown in the table (MLflow invents one otherwise). One callback may serve several ``fit`` calls:
        each is a new run with this name.
    tracking_uri : str, optional
        Default :func:`default_tracking_uri`.
    params : mapping, optional
        Extra parameters to record with every run (dataset, split, strategy, seed ...).
    tags : mapping, optional
        MLflow tags of every run.

    Attributes
    ----------
    run_id : str or None
        The current (or last) run.

    Raises
    ------
    ImportError
        MLflow is not installed (the message says ``pip install mlflow-skinny``).
    """

    def __init__(self, experiment: str = "mitbih_beats", run_name: str | None = None,
                 tracking_uri: str | None = None, params: Mapping[str, Any] | None = None,
                 tags: Mapping[str, str] | None = None):
        _require_mlflow()
        if not isinstance(experiment, str) or not experiment.strip():
            raise ValueError(f"experiment must be a non-empty name, got {experiment!r}")
        self.experiment, self.run_name = experiment, run_name
        self.tracking_uri = tracking_uri or default_tracking_uri()
        self.params = dict(params or {})
        self.tags = {str(k): str(v) for k, v in (tags or {}).items()}
        self.run_id: str | None = None
        self._open = False
        self._client_ = None  # created at the first fit: opening a new store takes a second or two

    @property
    def client(self):
        """The ``MlflowClient`` (created on first use)."""
        if self._client_ is None:
            self._client_ = _client(self.tracking_uri)
        return self._client_

    # -- the three calls fit makes --------------------------------------------------------------------------
    def on_fit_start(self, config, model) -> None:
        """Start a run; record the config's fields, the model's class and size, and ``params``."""
        if self._open:  # the previous fit ended in an error before on_fit_end: say so, then start afresh
            self.end("KILLED")
        exp_id = _experiment_id(self.client, self.experiment, self.tracking_uri, create=True)
        run = self.client.create_run(exp_id, run_name=self.run_name, tags=self.tags)
        self.run_id, self._open = run.info.run_id, True
        params = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)} \
            if dataclasses.is_dataclass(config) else {}
        params["model"] = type(model).__name__
        if hasattr(model, "num_parameters"):
            params["num_parameters"] = model.num_parameters()
        params.update(self.params)
        self.log_params(params)

    def on_epoch_end(self, epoch: int, metrics: Mapping[str, float]) -> None:
        """Record one epoch's metrics at ``step=epoch`` (1-based)."""
        self.log_metrics({k: v for k, v in metrics.items() if k != "epoch"}, step=int(epoch))

    def on_fit_end(self, history) -> None:
        """Record the best epoch's metrics as ``best_<name>`` and the run's outcome; mark the run FINISHED."""
        best = history.best() if hasattr(history, "best") else {}
        best_epoch = getattr(history, "best_epoch", None)
        self.log_metrics({f"best_{k}": v for k, v in best.items() if k != "epoch"}, step=best_epoch or 0)
        for key in ("monitor", "best_epoch", "stopped_early"):
            if hasattr(history, key):
                self.client.set_tag(self.run_id, key, str(getattr(history, key)))
        self.end("FINISHED")

    # -- for use around fit -----------------------------------------------------------------------------------
    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        """Record metrics into the current or last run (e.g. test-set results after ``fit`` returned)."""
        from mlflow.entities import Metric

        run_id = self._need_run("log_metrics")
        now = int(time.time() * 1000)
        values = _numeric(metrics)
        if values:
            self.client.log_batch(run_id, metrics=[Metric(k, v, now, int(step)) for k, v in values.items()])

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Record parameters into the current or last run (a parameter, once set, cannot change value)."""
        from mlflow.entities import Param

        run_id = self._need_run("log_params")
        items = [Param(str(k), _param_value(v)) for k, v in params.items()]
        for i in range(0, len(items), 100):  # MLflow takes at most 100 parameters per batch
            self.client.log_batch(run_id, params=items[i:i + 100])

    def end(self, status: str = "FINISHED") -> None:
        """Mark the current run ``status`` (FINISHED, FAILED or KILLED); nothing happens if none is open."""
        if self._open:
            self.client.set_terminated(self.run_id, status)
            self._open = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.end("FINISHED" if exc_type is None else "FAILED")

    def _need_run(self, what: str) -> str:
        if self.run_id is None:
            raise RuntimeError(f"{what}: no run yet; pass the callback to fit (TrainConfig(callbacks=[cb])) first")
        return self.run_id

    def __repr__(self) -> str:
        return (f"MLflowCallback(experiment={self.experiment!r}, run_name={self.run_name!r}, "
                f"tracking_uri={self.tracking_uri!r}, run_id={self.run_id!r})")


def runs_table(experiment: str = "mitbih_beats", tracking_uri: str | None = None, *,
               max_results: int = 1000):
    """Every run of ``experiment`` as one row, newest first: the table to compare remedies or seeds.

    Parameters
    ----------
    experiment : str
    tracking_uri : str, optional
        Default :func:`default_tracking_uri`.
    max_results : int

    Returns
    -------
    pandas.DataFrame
        Columns ``run_id``, ``run_name``, ``status``, ``start_time`` (UTC), then ``params.<name>`` (strings) and
        ``metrics.<name>`` (each metric's last value; the per-epoch history stays in MLflow), as
        ``mlflow.search_runs`` lays them out (which reads only the global tracking URI, hence this function).

    Raises
    ------
    ValueError
        The experiment does not exist (the message lists those that do).
    """
    import pandas as pd

    uri = tracking_uri or default_tracking_uri()
    client = _client(uri)
    exp_id = _experiment_id(client, experiment, uri, create=False)
    rows = []
    for run in client.search_runs([exp_id], order_by=["attributes.start_time DESC"], max_results=max_results):
        row = {"run_id": run.info.run_id, "run_name": run.info.run_name, "status": run.info.status,
               "start_time": pd.to_datetime(run.info.start_time, unit="ms", utc=True)}
        row.update({f"params.{k}": v for k, v in sorted(run.data.params.items())})
        row.update({f"metrics.{k}": (math.nan if v is None else v) for k, v in sorted(run.data.metrics.items())})
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else ["run_id", "run_name", "status", "start_time"])
