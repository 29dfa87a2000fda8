"""nbgrader preprocessors for this course: robust autograding and feedback that keeps hidden tests hidden.

Registered in ``course/nbgrader_config.py``. Every class subclasses nbgrader's ``NbGraderPreprocessor`` (directly
or through an nbgrader preprocessor): nbconvert's plain ``Preprocessor`` is disabled by default, so nbgrader would
skip it without a word.

- :class:`ResilientExecute` (autograde, validate): a kernel that dies (a crash, ``os._exit``, out of memory) costs
  the student the cells from there on, instead of aborting that student's autograde with no grades at all.
- :class:`RestoreDeletedCells` (autograde): nbgrader's documented behaviour, restoring graded cells a student
  deleted (``OverwriteCells.add_missing_cells``), with the restored cell placed after the nearest surviving cell
  that precedes it in the source (nbgrader 0.9.6 raises ``KeyError`` when that neighbour is a read-only cell or
  was deleted too).
- :class:`HideHiddenTestResults` (feedback): in autograder test cells that contain hidden tests, outputs and
  tracebacks are replaced by a neutral message with the cell's points; nbgrader's ``ClearHiddenTests``, which runs
  after it, removes the hidden source.
"""
from __future__ import annotations

import re
from typing import Any

from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import Execute, NbGraderPreprocessor, OverwriteCells
from traitlets import Unicode

BEGIN_HIDDEN = "BEGIN HIDDEN TESTS"
END_HIDDEN = "END HIDDEN TESTS"

KERNEL_DIED = "KernelDied"
# Errors that say the cell could not run, not what a test checks; shown in feedback as they are.
_RUN_FAILURES = {KERNEL_DIED, "CellTimeoutError"}


def _error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class ResilientExecute(Execute):
    """nbgrader's ``Execute`` that survives a dead kernel.

    A per-cell timeout interrupts the kernel and marks that cell as failed (nbgrader's ``Execute`` with
    ``interrupt_on_timeout``). A cell whose kernel dies gets an error output, and every code cell after it is
    marked "not run", so SaveAutoGrades gives those test cells zero and the batch moves on to the next student.
    """

    def preprocess(self, nb, resources=None, km=None):
        self._kernel_dead = False
        return super().preprocess(nb, resources, km=km)

    def preprocess_cell(self, cell, resources, index):
        if getattr(self, "_kernel_dead", False):
            if cell.cell_type == "code" and cell.source.strip():
                cell.outputs = [_error_output(KERNEL_DIED, "not run: the kernel died in an earlier cell")]
            return cell, self.resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._kernel_dead = True
            self.log.error("Kernel died while running cell %d; the remaining cells are marked as not run", index)
            cell.outputs = list(cell.get("outputs", [])) + [
                _error_output(KERNEL_DIED, "the kernel died while running this cell (crash or out of memory)")
            ]
            return cell, self.resources


class RestoreDeletedCells(OverwriteCells):
    """``OverwriteCells`` that puts deleted graded cells back where they were.

    Use with ``add_missing_cells = True``. Locked cells a student edited are restored from the gradebook by
    ``OverwriteCells`` itself.
    """

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


class HideHiddenTestResults(NbGraderPreprocessor):
    """Replace the outputs of autograder test cells that hold hidden tests with a neutral message.

    Runs in ``GenerateFeedback`` after ``GetGrades`` (which puts the cell's score into its metadata) and before
    ``ClearHiddenTests`` (which strips the hidden source; this class needs it to find those cells). A failure on
    a visible line keeps its error name and message, so students can still act on visible tests; anything that
    could come from the hidden part (tracebacks, printed values, the assertion's message) is dropped.
    """

    hidden_failed = Unicode(
        "A hidden test in this cell failed ({score:g} / {points:g} points). "
        "Hidden tests are not shown: check your answer against the task description and the visible tests.",
        help="Shown instead of the outputs when a hidden test failed.",
    ).tag(config=True)

    visible_failed = Unicode(
        "A visible test in this cell failed ({score:g} / {points:g} points): {ename}: {evalue}",
        help="Shown instead of the outputs when a visible test (outside the hidden region) failed.",
    ).tag(config=True)

    run_failed = Unicode(
        "This cell could not be graded ({score:g} / {points:g} points): {ename}: {evalue}",
        help="Shown when the cell timed out or the kernel had died (nothing of the tests is revealed).",
    ).tag(config=True)

    passed = Unicode(
        "All tests in this cell passed ({score:g} / {points:g} points).",
        help="Shown instead of the outputs when the cell passed.",
    ).tag(config=True)

    partial = Unicode(
        "This cell scored {score:g} / {points:g} points: partial credit, or output on stderr (such as a warning), "
        "which the autograder counts as a failure.",
        help="Shown when the cell raised nothing but did not get all its points.",
    ).tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or not utils.is_grade(cell) or utils.is_solution(cell):
            return cell, resources
        hidden_lines = _hidden_line_numbers(cell.source)
        if not hidden_lines:
            return cell, resources
        meta = cell.metadata.get("nbgrader", {})
        points = float(meta.get("points", 0) or 0)
        score = meta.get("score")
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            line = _failing_cell_line(errors[-1])
            score = 0.0 if score is None else float(score)
            if errors[-1].get("ename") in _RUN_FAILURES:
                text = self.run_failed.format(
                    score=score, points=points, ename=errors[-1].get("ename"),
                    evalue=_one_line(errors[-1].get("evalue", "")),
                )
            elif line is not None and line not in hidden_lines:
                text = self.visible_failed.format(
                    score=score, points=points, ename=errors[-1].get("ename", "Error"),
                    evalue=_one_line(errors[-1].get("evalue", "")),
                )
            else:
                text = self.hidden_failed.format(score=score, points=points)
        else:
            score = points if score is None else float(score)
            template = self.passed if score >= points else self.partial
            text = template.format(score=score, points=points)
        cell.outputs = [NotebookNode(output_type="stream", name="stdout", text=text + "\n")]
        return cell, resources


def _hidden_line_numbers(source: str) -> set[int]:
    """1-based line numbers inside hidden-test regions, delimiters included."""
    inside, lines = False, set()
    for number, line in enumerate(source.split("\n"), start=1):
        if BEGIN_HIDDEN in line:
            inside = True
        if inside:
            lines.add(number)
        if END_HIDDEN in line:
            inside = False
    return lines


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CELL_FRAME = re.compile(r"(?:Cell In\s*\[[^\]]*\]|<ipython-input-[^>]*>)")
_ARROW_LINE = re.compile(r"^-+>\s*(\d+)", re.MULTILINE)
_LINE_WORD = re.compile(r"line (\d+)")


def _failing_cell_line(error: Any) -> int | None:
    """The line of the executed cell where the error surfaced, from IPython's traceback; None if unknown.

    The first cell frame is the outermost one, i.e. the test cell itself, even when the error was raised in a
    student's function defined in another cell (whose line numbers would mean nothing here).
    """
    for frame in error.get("traceback", []):
        text = _ANSI.sub("", frame)
        if not _CELL_FRAME.search(text):
            continue
        arrow = _ARROW_LINE.findall(text)
        if arrow:
            return int(arrow[0])
        word = _LINE_WORD.findall(text)
        return int(word[0]) if word else None
    return None


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
