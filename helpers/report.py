"""Headline results of a notebook, shown to the reader and collected by ``make run``.

``make run`` sets ``BIOSIGNAL_RESULTS_DIR``; each notebook then writes ``<dir>/<notebook>.json`` so the course
runner can print one table of every notebook's headline numbers.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

RESULTS_DIR_ENV = "BIOSIGNAL_RESULTS_DIR"


def headline(notebook: str, **results: Any) -> dict[str, Any]:
    """Record a notebook's headline results (e.g. ``test_accuracy=0.91, data="synthetic"``).

    Parameters
    ----------
    notebook : str
        Notebook stem, e.g. ``"af_cnn"``; used as the file name.
    **results
        JSON-serialisable scalars. Floats are rounded to 4 decimals for display.

    Returns
    -------
    dict
        The results as written.
    """
    clean = {k: (round(float(v), 4) if isinstance(v, float) else v) for k, v in results.items()}
    for k, v in clean.items():
        print(f"{k:>24s}: {v}")
    out_dir = os.environ.get(RESULTS_DIR_ENV)
    if out_dir:
        path = Path(out_dir) / f"{notebook}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(clean, indent=1, default=str))
        tmp.replace(path)
    return clean
