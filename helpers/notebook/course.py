"""Run-mode switches shared by every notebook.

A notebook's papermill ``parameters`` cell holds ``FAST = False`` and ``DATA_SOURCE = "auto"``. CI passes
``-p FAST True -p DATA_SOURCE synthetic``; nbgrader's autograder cannot pass parameters, so the environment
variables below say it instead: the autograder's sandboxed kernel always gets ``BIOSIGNAL_FAST=1`` and
``BIOSIGNAL_DATA_SOURCE=synthetic`` (``course/sandbox.py``), whoever starts autograding (``make grade``,
``nbgrader autograde``, the formgrader). The notebook's next cell calls :func:`run_mode`, and that one cell is
also the notebook's **run-size budget**: every size that differs between the CI-sized and the full run (subjects,
records, windows, epochs) is given there as ``(full, fast)`` and read back as ``SIZE.name``::

    FAST, DATA_SOURCE, SIZE = helpers.notebook.course.run_mode(FAST, DATA_SOURCE, patients=(None, 300), epochs=(30, 8))
    ... fit(model, data, TrainConfig(epochs=SIZE.epochs))
"""
from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

FAST_ENV = "BIOSIGNAL_FAST"
SOURCE_ENV = "BIOSIGNAL_DATA_SOURCE"
_TRUE = {"1", "true", "yes", "on"}


class Budget(SimpleNamespace):
    """The run sizes chosen for the mode: ``SIZE.epochs``; prints as one line (``epochs=8, patients=300``)."""

    def __repr__(self) -> str:
        return "Budget(" + ", ".join(f"{k}={v!r}" for k, v in vars(self).items()) + ")"


def run_mode(fast: bool = False, data_source: str = "auto", **sizes: tuple[Any, Any]):
    """Combine the notebook's parameters with the environment, and pick the run sizes for the mode.

    Parameters
    ----------
    fast : bool
        The notebook's ``FAST`` parameter (small data, few epochs).
    data_source : {"auto", "real", "synthetic"}
        The notebook's ``DATA_SOURCE`` parameter.
    **sizes : (full, fast) pairs
        The notebook's run-size budget, e.g. ``epochs=(30, 8)``: the first value in the full run, the second in the
        CI-sized (FAST) run. ``None`` is a value like any other (e.g. "no limit").

    Returns
    -------
    (fast, data_source) or (fast, data_source, size) : tuple
        ``fast`` is true if the parameter or ``$BIOSIGNAL_FAST`` says so; ``data_source`` is
        ``$BIOSIGNAL_DATA_SOURCE`` when the parameter was left at ``"auto"``; with ``sizes``, ``size`` is a
        :class:`Budget` holding the value of each size for this mode.

    Raises
    ------
    ValueError
        An unknown ``data_source``, or a size that is not a ``(full, fast)`` pair (the message names it).
    """
    for name, pair in sizes.items():
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise ValueError(f"run size {name}={pair!r}: give a (full, fast) pair, e.g. {name}=(30, 8)")
    fast = bool(fast) or os.environ.get(FAST_ENV, "").strip().lower() in _TRUE
    if data_source == "auto":
        data_source = os.environ.get(SOURCE_ENV, "auto").strip().lower() or "auto"
    if data_source not in ("auto", "real", "synthetic"):
        raise ValueError(f"DATA_SOURCE must be 'auto', 'real' or 'synthetic', got {data_source!r}")
    if fast:
        import torch

        # CI-sized models are tiny: on a 2-core machine a second intra-op thread only adds contention
        # (measured 3-10x slower when the cores are shared), and one thread makes CPU runs repeatable.
        torch.set_num_threads(1)
    mode = "FAST (CI-sized: small data, few epochs, one CPU thread)" if fast else "full"
    print(f"Run mode: {mode}; data source requested: {data_source}")
    if not sizes:
        return fast, data_source
    size = Budget(**{name: pair[1] if fast else pair[0] for name, pair in sizes.items()})
    print(f"Run sizes: {', '.join(f'{k}={v}' for k, v in vars(size).items())}")
    return fast, data_source, size
