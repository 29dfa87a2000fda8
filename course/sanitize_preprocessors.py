"""Autograde's sanitize step for this course: a submission's nbgrader metadata is checked against the gradebook
before anything of nbgrader relies on it, and deleted graded cells are put back where they were.

Registered in ``course/nbgrader_config.py`` (``Autograde.sanitize_preprocessors``); both classes subclass
nbgrader preprocessors (a plain nbconvert ``Preprocessor`` would be skipped without a word).

- :class:`SanitizeGradeCells` (first): whatever a student did to the cells' metadata, nbgrader sees only cells it
  knows, once each, with the gradebook's flags. A cell with an unknown or extra ``grade_id``, a second copy of a
  graded cell, or metadata of the wrong shape or type loses (or gets back) its nbgrader metadata; the hidden-test
  marker text in a student's own cell is noted (the feedback step neutralises it). Each case is recorded as
  ``malformed`` in the grading status, so the submission is graded and flagged ``CHECK`` for a human, instead of
  crashing nbgrader (``KeyError``) for that student or stopping the batch.
- :class:`RestoreDeletedCells`: nbgrader's documented behaviour, restoring graded cells a student deleted
  (``OverwriteCells.add_missing_cells``), with the restored cell placed after the nearest surviving cell that
  precedes it in the source (nbgrader 0.9.6 raises ``KeyError`` when that neighbour is a read-only cell or was
  deleted too). Test cells are compared with what the student received (their hidden tests removed), so an
  untouched cell verifies clean and an edited one is reported as edited.
"""
from __future__ import annotations

import re

import grading_status
from hidden_tests import has_marker, released_source, same_code
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor, OverwriteCells

_FLAGS = ("grade", "solution", "task", "locked")


def _canonical(notebook, name: str) -> dict:
    """The nbgrader metadata the gradebook says cell ``name`` has (what the release gave the student)."""
    grades = {c.name: c for c in notebook.grade_cells}
    meta = {"grade": name in grades, "grade_id": name, "locked": False, "schema_version": 3,
            "solution": name in {c.name for c in notebook.solution_cells},
            "task": name in {c.name for c in notebook.task_cells}}
    source = next((c for c in notebook.source_cells if c.name == name), None)
    if source is not None:
        meta["locked"] = bool(source.locked)
    if meta["grade"] or meta["task"]:
        meta["points"] = float(grades[name].max_score) if name in grades else float(
            next(c.max_score for c in notebook.task_cells if c.name == name))
    return meta


def _same_meta(student: dict, canonical: dict) -> bool:
    try:
        if any(bool(student.get(k, False)) != canonical[k] or not isinstance(student.get(k, False), bool)
               for k in _FLAGS):
            return False
        return "points" not in canonical or float(student.get("points")) == canonical["points"]
    except (TypeError, ValueError):
        return False


class SanitizeGradeCells(NbGraderPreprocessor):
    """Make a submission's nbgrader metadata what the gradebook knows, and record every repair (see the module
    docstring). Clears the submission's grading status first: it is the first step of autograding."""

    def preprocess(self, nb, resources):
        nbg = resources["nbgrader"]
        grading_status.clear(grading_status.course_dir_from_db_url(nbg["db_url"]), nbg["assignment"],
                             nbg["student"])
        with Gradebook(nbg["db_url"]) as gb:
            try:
                notebook = gb.find_notebook(nbg["notebook"], nbg["assignment"])
            except MissingEntry:
                return nb, resources
            known = {c.name: _canonical(notebook, c.name) for c in notebook.source_cells}
        seen: set[str] = set()
        for index, cell in enumerate(nb.cells):
            problem = self._repair(cell, index, known, seen)
            if problem:
                self.log.warning("Submission of %s: %s", nbg["student"], problem)
                grading_status.add_from_resources(resources, "malformed", problem)
        return nb, resources

    @staticmethod
    def _repair(cell, index: int, known: dict, seen: set) -> str | None:
        where = f"cell {index + 1}"
        if "nbgrader" not in cell.metadata:
            if has_marker(cell.get("source", "")):
                return f"{where} contains the hidden-test marker text (neutralised in feedback)"
            return None
        meta = cell.metadata["nbgrader"]
        name = meta.get("grade_id") if isinstance(meta, dict) else None
        if not isinstance(name, str) or name not in known:
            del cell.metadata["nbgrader"]
            shown = repr(name)[:60] if name is not None else "none"
            return f"{where} had nbgrader metadata with an unknown grade_id ({shown}); it was removed before grading"
        if name in seen:
            del cell.metadata["nbgrader"]
            return f"{where} repeated graded cell {name}; the copy's nbgrader metadata was removed before grading"
        seen.add(name)
        canonical = known[name]
        if not _same_meta(meta, canonical):
            cell.metadata["nbgrader"] = dict(canonical)
            return f"{where} ({name}) had altered nbgrader metadata; it was restored from the gradebook"
        if (not canonical["grade"] or canonical["solution"]) and has_marker(cell.get("source", "")):
            return f"{where} ({name}) contains the hidden-test marker text (neutralised in feedback)"
        return None


class RestoreDeletedCells(OverwriteCells):
    """``OverwriteCells`` that puts deleted graded cells back where they were.

    Use with ``add_missing_cells = True``. Locked cells a student edited are restored from the gradebook by
    ``OverwriteCells`` itself. nbgrader compares a test cell's checksum with that of the *source* cell, hidden
    tests included, so every untouched test cell with hidden tests looked edited; here a cell is compared with
    what the student received (hidden tests removed): an untouched one is restored silently, an edited one is
    logged and recorded in the grading status (and so in the grades export).
    """

    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is None:
            return super().preprocess_cell(cell, resources, cell_index)
        try:
            source_cell = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
        except MissingEntry:
            return super().preprocess_cell(cell, resources, cell_index)
        if source_cell.locked:
            released = released_source(source_cell.source)
            if same_code(cell.source, released) and cell.cell_type == source_cell.cell_type:
                cell.source = source_cell.source  # as released: put the hidden tests back, nothing to report
            else:
                self.log.warning("Read-only cell %s was EDITED by the student; it is restored before grading",
                                 grade_id)
                grading_status.add_from_resources(
                    resources, "edited", f"read-only cell {grade_id} was edited (restored before grading)")
        return super().preprocess_cell(cell, resources, cell_index)

    def add_missing_grade_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        source_ids = [c.name for c in source_nb.source_cells]
        source_by_id = {c.name: c for c in source_nb.source_cells}
        solution_ids = {c.name for c in source_nb.solution_cells}

        def present() -> dict[str, int]:
            return {
                c.metadata["nbgrader"]["grade_id"]: i
                for i, c in enumerate(nb.cells)
                if "grade_id" in c.metadata.get("nbgrader", {})
            }

        # source_cells come back in database order; restore in notebook order so neighbours exist first
        for grade_cell in sorted(source_nb.grade_cells, key=lambda c: source_ids.index(c.name)):
            where = present()
            if grade_cell.name in where:
                continue
            self.log.warning("Graded cell %s was deleted from the submission; restoring it", grade_cell.name)
            grading_status.add_from_resources(
                resources, "deleted", f"graded cell {grade_cell.name} was deleted (put back before grading)")
            new = self.missing_cell_transform(
                source_by_id[grade_cell.name], grade_cell.max_score, is_solution=grade_cell.name in solution_ids
            )
            if nb.get("nbformat_minor", 0) >= 5:  # nbformat 4.5 cells carry ids; keep them unique
                taken = {c.get("id") for c in nb.cells}
                base = re.sub(r"[^A-Za-z0-9_-]", "-", grade_cell.name)[:56] or "restored"
                new["id"] = next(f"{base}-{n}" if n else base for n in range(len(nb.cells) + 1)
                                 if (f"{base}-{n}" if n else base) not in taken)
            position = 0
            for earlier in reversed(source_ids[: source_ids.index(grade_cell.name)]):
                if earlier in where:
                    position = where[earlier] + 1
                    break
            nb.cells.insert(position, new)
        return nb, resources

