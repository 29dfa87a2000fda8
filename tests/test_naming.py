"""One spelling per concept (the glossary in helpers/__init__.py): the retired spellings appear nowhere.

Each retired name was a second name (or a second implementation) of a concept the library already had; a test
that greps for them keeps a newcomer from meeting both again.
"""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEARCHED = ("helpers", "lessons", "solutions", "assignments", "benchmarks", "tests", "course")

# retired name -> the one name that replaced it
RETIRED = {
    "count_parameters": "num_parameters",
    "patient_kfold": "SubjectKFold",
    "leave_one_subject_out": "LeaveOneSubjectOut",
    "standardize_per_subject": "helpers.signal.normalise_per_subject",
    "n_classes": "n_outputs",
    "_check_kwargs": "helpers.models.base.merge_config",
    "_check_overrides": "helpers.models.base.merge_config",
}


def _files():
    for folder in SEARCHED:
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in {".py", ".ipynb", ".md", ".cc", ".h"} and path != Path(__file__) \
                    and ".ipynb_checkpoints" not in path.parts:
                yield path


@pytest.mark.parametrize("name", sorted(RETIRED))
def test_a_retired_name_appears_nowhere(name):
    pattern = re.compile(rf"\b{re.escape(name)}\b")
    found = [f"{p.relative_to(ROOT)}:{i}" for p in _files()
             for i, line in enumerate(p.read_text(errors="replace").splitlines(), start=1) if pattern.search(line)]
    assert not found, f"{name} is retired (use {RETIRED[name]}); still used at: {found[:10]}"


def test_the_glossary_names_every_replacement():
    glossary = (ROOT / "helpers" / "__init__.py").read_text()
    for replacement in set(RETIRED.values()):
        assert replacement.split(".")[-1] in glossary, replacement
