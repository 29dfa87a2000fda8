"""One spelling per concept (the glossary in helpers/__init__.py): the retired spellings appear nowhere.

Each retired name was a second name (or a second implementation) of a concept the library already had; a test
that greps for them keeps a newcomer from meeting both again.
"""
import functools
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

# modules moved into their layer's folder (issue 18): the old path -> the new one, with no re-export left behind
MOVED = {f"helpers.{name}": f"helpers.{layer}.{name}" for layer, names in {
    "evaluate": ("splits", "metrics", "degenerate", "plots", "explain"),
    "notebook": ("course", "report", "selfcheck", "selfcheck_numbers", "selfcheck_mechanics", "mechanics"),
    "train": ("imbalance",),
}.items() for name in names}
# what may stay at helpers/ top level: the package, its command line, and the layer folders
TOP_LEVEL = {"__init__.py", "__main__.py", "cli.py"}
LAYERS = {"data", "signal", "models", "train", "evaluate", "edge", "eeg", "ppg", "notebook"}


def _files():
    for folder in SEARCHED:
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in {".py", ".ipynb", ".md", ".cc", ".h"} and path != Path(__file__) \
                    and ".ipynb_checkpoints" not in path.parts:
                yield path


@functools.cache
def _lines() -> tuple[tuple[str, int, str], ...]:
    """(file, line number, text) of every searched line, read once for all the tests below."""
    return tuple((str(p.relative_to(ROOT)), i, line) for p in _files()
                 for i, line in enumerate(p.read_text(errors="replace").splitlines(), start=1))


def _where(pattern: re.Pattern) -> list[str]:
    return [f"{path}:{i}" for path, i, line in _lines() if pattern.search(line)]


@pytest.mark.parametrize("name", sorted(RETIRED))
def test_a_retired_name_appears_nowhere(name):
    found = _where(re.compile(rf"\b{re.escape(name)}\b"))
    assert not found, f"{name} is retired (use {RETIRED[name]}); still used at: {found[:10]}"


def test_the_glossary_names_every_replacement():
    glossary = (ROOT / "helpers" / "__init__.py").read_text()
    for replacement in set(RETIRED.values()):
        assert replacement.split(".")[-1] in glossary, replacement


@pytest.mark.parametrize("old", sorted(MOVED))
def test_a_moved_module_is_imported_only_from_its_layer(old):
    found = _where(re.compile(rf"\b{re.escape(old)}\b|from helpers import {old.split('.')[-1]}\b"))
    assert not found, f"{old} moved to {MOVED[old]}; still used at: {found[:10]}"
    assert not (ROOT / "helpers" / f"{old.split('.')[-1]}.py").exists(), f"{old} left behind at the top level"


def test_helpers_top_level_holds_only_the_layers():
    here = {p.name for p in (ROOT / "helpers").iterdir() if p.name != "__pycache__"}
    modules = {n for n in here if n.endswith(".py")}
    folders = here - modules
    assert modules <= TOP_LEVEL, f"modules outside a layer folder: {sorted(modules - TOP_LEVEL)}"
    assert folders <= LAYERS, f"folders that are not a layer: {sorted(folders - LAYERS)}"


def _reexports(path: Path) -> list[str]:
    """Names a module lists in ``__all__`` but only imports: a second address for something defined elsewhere."""
    import ast

    tree = ast.parse(path.read_text())
    imported, exported = set(), []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imported |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            exported = list(ast.literal_eval(node.value))
    return [name for name in exported if name in imported]


def test_no_module_re_exports_what_another_module_defines():
    # A package's __init__ gathers its modules' names on purpose (``from helpers.signal import bandpass``); any other
    # module that lists an imported name in __all__ gives one thing two addresses, and a newcomer two places to look.
    found = {str(p.relative_to(ROOT)): names for p in (ROOT / "helpers").rglob("*.py")
             if p.name != "__init__.py" and (names := _reexports(p))}
    assert not found, f"import these from the module that defines them, not from: {found}"
