"""Headline results of a notebook, shown to the reader and collected by ``make run``.

``make run`` sets ``BIOSIGNAL_RESULTS_DIR``; each notebook then writes ``<dir>/<notebook>.json`` so the course
runner can print one table of every notebook's headline numbers. A notebook passes the comparisons its text relies
on as ``claims=`` (name -> bool computed from its own numbers): each is printed as checked or FAILED, written to
the JSON under ``"claims"``, and ``make run-full`` (and the notebook tests in FAST mode) fail on a False one.
Degenerate headline numbers are flagged with :mod:`helpers.evaluate.degenerate`'s marker.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from helpers.evaluate.degenerate import Flag, auc_flags, show

RESULTS_DIR_ENV = "BIOSIGNAL_RESULTS_DIR"


def _check_claims(claims: Mapping[str, Any] | None) -> dict[str, bool]:
    if claims is None:
        return {}
    if not isinstance(claims, Mapping):
        raise TypeError(f"claims must be a dict of claim -> bool, got {type(claims).__name__}")
    bad = {k: type(v).__name__ for k, v in claims.items() if not isinstance(v, (bool, np.bool_))}
    if bad:
        raise TypeError(f"each claim must be a bool computed from the notebook's numbers; not bool: {bad}")
    return {str(k): bool(v) for k, v in claims.items()}


def headline_flags(results: Mapping[str, Any]) -> list[Flag]:
    """Degenerate headline numbers: any ``*auc*`` below 0.5, any ``*accuracy*`` (not balanced) at or below a
    ``*majority*`` value reported beside it. Rules needing the test set's n live with the metric functions."""
    numbers = {k: float(v) for k, v in results.items()
               if isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))}
    flags = [f for k, v in numbers.items() if "auc" in k.lower() for f in auc_flags(v, name=k)]
    majority = {k: v for k, v in numbers.items() if "majority" in k.lower()}
    for key, value in numbers.items():
        if "accuracy" in key.lower() and "balanced" not in key.lower() and "majority" not in key.lower():
            for base_key, base in majority.items():
                if value <= base:
                    flags.append(Flag("at-or-below-majority", f"{key} {value:.3f} <= {base_key} {base:.3f}"))
    return flags


def headline(notebook: str, *, claims: Mapping[str, bool] | None = None, **results: Any) -> dict[str, Any]:
    """Record a notebook's headline results (e.g. ``test_accuracy=0.91, data="synthetic"``) and its claims.

    Parameters
    ----------
    notebook : str
        Notebook stem, e.g. ``"af_cnn"``; used as the file name.
    claims : dict of str -> bool, optional
        The comparisons the notebook's text relies on, each computed from its own numbers, e.g.
        ``{"CNN above chance (ROC AUC > 0.5)": auc > 0.5}``. Printed as checked or FAILED; stored under
        ``"claims"``.
    **results
        JSON-serialisable scalars. Floats are rounded to 4 decimals for display. Degenerate values are flagged
        (:func:`headline_flags`).

    Returns
    -------
    dict
        The results as written (with ``"claims"`` when given).

    Raises
    ------
    TypeError
        A claim whose value is not a bool.
    """
    checked = _check_claims(claims)
    clean = {k: (round(float(v), 4) if isinstance(v, (float, np.floating)) else v) for k, v in results.items()}
    for k, v in clean.items():
        print(f"{k:>24s}: {v}")
    show(headline_flags(clean))
    for claim, ok in checked.items():
        print(f"{'✓ claim checked' if ok else '✗ claim FAILED'}: {claim}")
    if checked:
        clean["claims"] = checked
    out_dir = os.environ.get(RESULTS_DIR_ENV)
    if out_dir:
        path = Path(out_dir) / f"{notebook}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(clean, indent=1, default=str))
        tmp.replace(path)
    return clean
