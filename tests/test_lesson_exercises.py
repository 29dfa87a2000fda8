"""The lessons' checkable exercises: each has a student cell, then a self-check cell, then a collapsed reference
solution that runs only when the student asks for it (``SHOW_SOLUTIONS = True``, a papermill parameter: Run All
never gives an answer away); run top to bottom (as CI runs them), a blank exercise reads "not attempted yet" and
never stops the lesson, and with ``SHOW_SOLUTIONS`` every reference solution passes its own self-check."""
from __future__ import annotations

import re

import nbformat
import pytest
from conftest import ROOT
from run_course import execute

LESSONS = sorted((ROOT / "lessons").glob("*.ipynb"))
# The kinds of exercise issue 12 asks for, and the lesson that must hold each: (lesson prefix, self-check function)
REQUIRED = [("00_", "check_choice"), ("01_", "check_choice"), ("01_", "check_ecg_filter"),
            ("02_", "check_choice"), ("02_", "check_conv1d_arithmetic"), ("03_", "check_patient_split"),
            ("03_", "check_choice"),
            # issue 21: the mechanics by hand (helpers.notebook.selfcheck_mechanics)
            ("02b_", "check_training_loop"), ("02b_", "check_lstm_cell"), ("02b_", "check_attention"),
            # issue 21 item 5: lessons 04-06 (helpers.notebook.selfcheck_numbers for numbers worked out by hand)
            ("04_", "check_choice"), ("04_", "check_numbers"), ("05_", "check_numbers"), ("05_", "check_choice"),
            ("06_", "check_numbers"), ("06_", "check_choice")]
# Lessons whose reference solutions run only with SHOW_SOLUTIONS = True (a papermill parameter)
GUARDED = ("00_", "01_", "02_", "02b", "03_", "04_", "05_", "06_")
CHECK_CALL = re.compile(r"selfcheck\w*\.(check_\w+)\(")   # helpers.notebook.selfcheck and its sibling modules


def _tags(cell) -> list[str]:
    return cell.metadata.get("tags", [])


def _exercises(nb) -> list[tuple[int, int, int]]:
    """(student, self-check, solution) cell positions of each exercise, in notebook order."""
    found, student = [], None
    for i, cell in enumerate(nb.cells):
        if "exercise" in _tags(cell):
            student = i
        elif "selfcheck" in _tags(cell):
            assert student is not None, f"self-check cell {i} has no student cell before it"
            found.append((student, i, i + 1))
            student = None
    return found


def _text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        parts.append(out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def test_lessons_hold_the_required_exercises():
    calls = {p.name: [CHECK_CALL.findall(c.source) for c in nbformat.read(p, as_version=4).cells
                      if "selfcheck" in _tags(c)] for p in LESSONS}
    for prefix, check in REQUIRED:
        name = next(n for n in calls if n.startswith(prefix))
        assert any(check in found for found in calls[name]), f"{name} has no self-check calling selfcheck.{check}"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name)
def test_each_exercise_is_student_cell_then_self_check_then_collapsed_solution(lesson):
    nb = nbformat.read(lesson, as_version=4)
    guarded = lesson.name[:3] in GUARDED  # issue 20 item 6, lessons 00-03 so far
    params = next(c.source for c in nb.cells if "parameters" in _tags(c))
    assert not guarded or re.search(r"^SHOW_SOLUTIONS = False", params, re.MULTILINE), \
        f"{lesson.name}: the parameters cell sets SHOW_SOLUTIONS = False (Run All must not spoil the exercises)"
    exercises = _exercises(nb)
    assert exercises, f"{lesson.name} has no exercise"
    n_student = sum("exercise" in _tags(c) for c in nb.cells)
    assert n_student == len(exercises), f"{lesson.name}: {n_student} student cells for {len(exercises)} self-checks"
    for student, check, solution in exercises:
        blank = nb.cells[student].source
        assert re.search(r"^MY_\w+(, MY_\w+)* = None", blank, re.MULTILINE), \
            f"{lesson.name} cell {student}: a student cell starts blank (MY_... = None)"
        between = [c for c in nb.cells[student + 1:check] if c.cell_type == "code"]
        assert len(between) <= 1, f"{lesson.name}: at most the 'run' cell between a student cell and its self-check"
        sol = nb.cells[solution]
        assert "solution" in _tags(sol), \
            f"{lesson.name} cell {solution}: the reference solution must follow the self-check"
        assert sol.metadata.get("jupyter", {}).get("source_hidden") is True, \
            f"{lesson.name} cell {solution}: the reference solution must be collapsed (source_hidden)"
        assert not guarded or re.search(r"^if SHOW_SOLUTIONS:", sol.source, re.MULTILINE), \
            f"{lesson.name} cell {solution}: the reference solution runs only under `if SHOW_SOLUTIONS:`"
        calls = CHECK_CALL.findall(nb.cells[check].source)
        assert calls and calls == CHECK_CALL.findall(sol.source), \
            f"{lesson.name}: the reference solution must run the same self-check as cell {check}"


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name)
def test_executed_lesson_says_not_attempted_then_passes_its_reference_solutions(lesson, course_env, tmp_path):
    out = tmp_path / lesson.name
    run = execute(lesson, out, fast=True, source="synthetic", results_dir=tmp_path / "results",
                  parameters={"SHOW_SOLUTIONS": True})
    assert run.ok, f"{lesson.name} failed: {run.error}"
    nb = nbformat.read(out, as_version=4)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in _tags(c)]
    for student, check, solution in _exercises(nb):
        blank, reference = _text(nb.cells[check]), _text(nb.cells[solution])
        assert ": not attempted yet — " in blank, f"{lesson.name} cell {check} on a blank answer said: {blank!r}"
        assert ": passed — " in reference, f"{lesson.name} cell {solution}: reference solution said: {reference!r}"
    printed = "".join(_text(c) for c in nb.cells)
    assert "np.float64(" not in printed, f"{lesson.name} prints a numpy scalar's repr: format it or cast with float()"
