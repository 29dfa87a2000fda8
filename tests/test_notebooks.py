"""Every lesson and solution notebook runs end to end in CI mode and reports sensible headline numbers.

Notebooks run through papermill in this process (DESIGN.md section 8: one nbformat start-up, not one per
notebook), with ``-p FAST True -p DATA_SOURCE synthetic``, cwd = the notebook's folder, and the session's data
cache, exactly as ``make run`` runs them. Executed copies are kept under ``build/test-notebooks/`` for CI
artifacts.
"""
from __future__ import annotations

import math
import re

import nbformat
import pytest
from conftest import ROOT
from notebook_claims import unaddressed
from run_course import course_notebooks, execute

NOTEBOOKS = course_notebooks(ROOT)
COMMITTED = NOTEBOOKS + sorted((ROOT / "assignments").glob("*/*.ipynb"))
# Headline keys that are rates or probabilities, by name: these must lie in [0, 1].
UNIT_INTERVAL_WORDS = ("accuracy", "auc", "f1", "sensitivity", "specificity", "ppv", "npv", "precision",
                       "recall")


def _rel(path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_rel)
def test_notebook_runs_end_to_end_in_ci_mode(notebook, course_env, tmp_path):
    run = execute(notebook, ROOT / "build" / "test-notebooks" / notebook.relative_to(ROOT),
                  fast=True, source="synthetic", results_dir=tmp_path / "results")
    assert run.ok, f"{_rel(notebook)} failed after {run.seconds:.0f} s: {run.error}"
    assert run.headline, (f"{_rel(notebook)} ran but wrote no headline JSON: it must end with "
                          f"helpers.notebook.report.headline({notebook.stem!r}, ...)")
    assert run.headline.get("data") == "synthetic", f"headline must say which data were used: {run.headline}"
    for key, value in run.headline.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        assert math.isfinite(value), f"headline {key}={value} is not finite"
        if any(word in key.lower() for word in UNIT_INTERVAL_WORDS):
            assert 0.0 <= value <= 1.0, f"headline {key}={value} should lie in [0, 1]"
    # numbers shown to students read as numbers, not as numpy reprs ("np.float64(0.93)")
    executed = nbformat.read(ROOT / "build" / "test-notebooks" / notebook.relative_to(ROOT), as_version=4)
    reprs = [i for i, cell in enumerate(executed.cells) if cell.cell_type == "code"
             for out in cell.get("outputs", [])
             if re.search(r"np\.(float|int)\d+\(", out.get("text", "") + str(out.get("data", {}).get("text/plain", "")))]
    assert not reprs, f"{_rel(notebook)}: cells {sorted(set(reprs))} print numpy scalar reprs such as np.float64(...)"
    # a degenerate result (helpers.evaluate.degenerate's warning) is shown only with an explained expectation after it, and
    # no claim of helpers.notebook.report.headline(claims=...) fails (course/notebook_claims.py)
    problems = unaddressed(executed)
    assert not problems, (f"{_rel(notebook)} shows what its text does not answer for: fix the result, or add a "
                          "markdown cell after it with 'expect-degenerate: <code> — <why>':\n"
                          + "\n".join(map(str, problems)))
    failed = [k for k, ok in run.headline.get("claims", {}).items() if not ok]
    assert not failed, f"{_rel(notebook)}: claims its numbers contradict: {failed}"


@pytest.mark.parametrize("notebook", COMMITTED, ids=_rel)
def test_committed_notebook_carries_no_outputs(notebook):
    nb = nbformat.read(notebook, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, (f"{_rel(notebook)}: code cells {dirty} have outputs; "
                       f"strip them with: python course/check_outputs.py --strip {_rel(notebook)}")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_rel)
def test_notebook_has_papermill_parameters_and_run_mode(notebook):
    nb = nbformat.read(notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{_rel(notebook)}: expected one code cell tagged 'parameters', found {len(tagged)}"
    params = tagged[0].source
    for name in ("FAST = False", "DATA_SOURCE = ", "SEED = "):
        assert name in params, f"{_rel(notebook)}: the parameters cell must define {name.split('=')[0].strip()}"
    budget = [c for c in code if re.search(r"run_mode\(\s*FAST, DATA_SOURCE", c.source)]
    assert budget, (f"{_rel(notebook)}: call FAST, DATA_SOURCE[, SIZE] = helpers.notebook.course.run_mode(FAST, DATA_SOURCE, "
                    "...) after the parameters")
    # One run-size budget per notebook: sizes that differ between FAST and full runs are set in the run_mode cell
    # (as (full, fast) pairs), never decided in other cells.
    sized_elsewhere = [line.strip() for c in code if c not in budget for line in c.source.splitlines()
                       if re.search(r"(\d|None)\s+if\s+FAST\s+else|if\s+FAST\s+else\s+(\d|None|\[)|^if FAST:", line.strip())]
    assert not sized_elsewhere, (f"{_rel(notebook)}: run sizes decided outside the run_mode cell: {sized_elsewhere}; "
                                 "give them to run_mode as (full, fast) pairs and use SIZE.<name>")
    calls_headline = re.compile(r"headline\(\s*[\"']" + re.escape(notebook.stem) + r"[\"']")
    assert any(calls_headline.search(c.source) for c in code), \
        f"{_rel(notebook)}: end with helpers.notebook.report.headline({notebook.stem!r}, ...)"
