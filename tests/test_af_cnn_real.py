"""af_cnn on a user's own copy of real data, through its papermill parameters (issue 12).

``papermill af_cnn.ipynb out.ipynb -p DATASET cinc2017 -p DATA_PATH DIR -p FAST True`` must run the whole notebook
on the challenge data as the user has it, read in place. The sample used here is ``../shared/realdata/cinc2017``
(16 PhysioNet/CinC 2017 records, 9 of them normal or AF), which a fresh clone does not have: that test skips
without it. Bad parameter values must fail at once with a message naming the parameter.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT

NOTEBOOK = ROOT / "solutions" / "af_cnn" / "af_cnn.ipynb"
REAL_CINC2017 = ROOT.parent / "shared" / "realdata" / "cinc2017"

pytestmark = pytest.mark.notebook


def listing(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``folder`` (and the folder itself) with its size and modification time."""
    paths = [folder, *sorted(folder.rglob("*"))]
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in paths}


def run(tmp_path: Path, monkeypatch, **parameters):
    """Execute af_cnn with papermill in this process; (headline dict, executed notebook)."""
    import papermill as pm

    results = tmp_path / "results"
    monkeypatch.setenv("BIOSIGNAL_RESULTS_DIR", str(results))
    out = tmp_path / "af_cnn.ipynb"
    pm.execute_notebook(str(NOTEBOOK), str(out), parameters=parameters, cwd=str(NOTEBOOK.parent),
                        progress_bar=False)
    headline = json.loads((results / "af_cnn.json").read_text())
    return headline, nbformat.read(out, as_version=4)


def all_output_text(nb) -> str:
    parts = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            parts.append(o.get("text", ""))
            parts.extend(str(v) for k, v in o.get("data", {}).items() if k.startswith("text/"))
    return "\n".join(parts)


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.skipif(not REAL_CINC2017.is_dir(), reason=f"no real CinC 2017 sample at {REAL_CINC2017}")
def test_af_cnn_runs_on_a_users_copy_of_cinc2017_and_never_writes_there(course_env, tmp_path, monkeypatch):
    # course_env asks for synthetic data (BIOSIGNAL_DATA_SOURCE): a DATA_PATH given by the user must win over it.
    before = listing(REAL_CINC2017)
    headline, nb = run(tmp_path, monkeypatch, FAST=True, DATASET="cinc2017", DATA_PATH=str(REAL_CINC2017))
    assert headline["data"] == "real" and headline["dataset"] == "cinc2017", headline
    assert headline["n_records"] == 9, "CinC 2017 restricted to normal vs AF: 4 normal + 5 AF records in the sample"
    assert headline["n_test_records"] >= 2 and headline["n_test_patients"] == headline["n_test_records"]
    assert headline["record_cnn_minus_rr_ci_low"] <= headline["record_cnn_minus_rr_ci_high"]
    text = all_output_text(nb)
    assert "SYNTHETIC DATA" not in text and "(synthetic data" not in text, "real data must not be flagged synthetic"
    assert "cinc2017: 9 records from 9 patients at 300 Hz" in text
    assert "Exercise 5, training: visible tests passed." in text
    assert listing(REAL_CINC2017) == before, "the notebook wrote into the user's data folder"


@pytest.mark.parametrize("parameters, error, names", [
    ({"DATASET": "mitbih"}, "ValueError", "DATASET must be one of"),
    ({"DATA_PATH": "/nonexistent/training2017"}, "FileNotFoundError", "DATA_PATH='/nonexistent/training2017'"),
    ({"DATA_PATH": "/tmp", "DATA_SOURCE": "synthetic"}, "ValueError", "DATA_SOURCE='synthetic'"),
])
def test_bad_data_parameters_fail_at_once_naming_the_parameter(course_env, tmp_path, monkeypatch, parameters,
                                                               error, names):
    import papermill as pm

    with pytest.raises(pm.PapermillExecutionError) as info:
        run(tmp_path, monkeypatch, FAST=True, **parameters)
    assert info.value.ename == error and names in info.value.evalue, (info.value.ename, info.value.evalue)
    assert info.value.exec_count <= 3, "a bad parameter must be refused before any data are loaded"


def test_a_folder_without_the_dataset_is_an_error_naming_data_path(course_env, tmp_path, monkeypatch):
    import papermill as pm

    empty = tmp_path / "my-data"
    empty.mkdir()
    with pytest.raises(pm.PapermillExecutionError) as info:
        run(tmp_path, monkeypatch, FAST=True, DATASET="cinc2017", DATA_PATH=str(empty))
    assert info.value.ename == "DataFormatError", info.value.ename
    assert f"DATA_PATH={str(empty)!r}" in info.value.evalue and "no CinC 2017 records" in info.value.evalue
    assert list(empty.iterdir()) == [], "nothing may be written into the user's folder"
