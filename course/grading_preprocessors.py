"""nbgrader preprocessors for this course: robust autograding and feedback that keeps hidden tests hidden.

Registered in ``course/nbgrader_config.py``. Every class subclasses nbgrader's ``NbGraderPreprocessor`` (directly
or through an nbgrader preprocessor): nbconvert's plain ``Preprocessor`` is disabled by default, so nbgrader would
skip it without a word.

- ``ResilientExecute`` (autograde) lives in ``trusted_execute.py``: non-test cells in the sandboxed kernel, test
  cells in the grader (``trusted_checker.py``).
- :class:`RestoreDeletedCells` (autograde): nbgrader's documented behaviour, restoring graded cells a student
  deleted (``OverwriteCells.add_missing_cells``), with the restored cell placed after the nearest surviving cell
  that precedes it in the source (nbgrader 0.9.6 raises ``KeyError`` when that neighbour is a read-only cell or
  was deleted too). Test cells are compared with what the student received (their hidden tests removed), so an
  untouched cell verifies clean and an edited one is reported as edited.
- :class:`HideHiddenTestResults` (feedback): in autograder test cells that contain hidden tests, outputs and
  tracebacks are replaced by a neutral message with the cell's points; nbgrader's ``ClearHiddenTests``, which runs
  after it, removes the hidden source.
- :class:`MarkManualGrading` (feedback): answers that await a human say so instead of showing a score of zero.
- :class:`ScrubHiddenTests` (feedback, last): no line of any hidden test survives anywhere in the feedback,
  whatever printed it (a student's cell that prints ``In[]`` after a test cell ran, for instance).
"""
from __future__ import annotations

import html
import re
from typing import Any

import grading_status
from nbconvert.exporters import HTMLExporter
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import (
    ClearHiddenTests,
    NbGraderPreprocessor,
    OverwriteCells,
)
from traitlets import Unicode

BEGIN_HIDDEN = "BEGIN HIDDEN TESTS"
END_HIDDEN = "END HIDDEN TESTS"

KERNEL_DIED = "KernelDied"
# Errors that say the cell could not run, not what a test checks; shown in feedback as they are.
_RUN_FAILURES = {KERNEL_DIED, "CellTimeoutError"}


class RestoreDeletedCells(OverwriteCells):
    """``OverwriteCells`` that puts deleted graded cells back where they were.

    Use with ``add_missing_cells = True``. Locked cells a student edited are restored from the gradebook by
    ``OverwriteCells`` itself. nbgrader compares a test cell's checksum with that of the *source* cell, hidden
    tests included, so every untouched test cell with hidden tests looked edited; here a cell is compared with
    what the student received (hidden tests removed): an untouched one is restored silently, an edited one is
    logged and recorded in the grading status (and so in the grades export).
    """

    def preprocess(self, nb, resources):
        nbg = resources["nbgrader"]
        grading_status.clear(grading_status.course_dir_from_db_url(nbg["db_url"]), nbg["assignment"],
                             nbg["student"])
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is None:
            return super().preprocess_cell(cell, resources, cell_index)
        try:
            source_cell = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
        except MissingEntry:
            return super().preprocess_cell(cell, resources, cell_index)
        if source_cell.locked:
            released = _released_source(source_cell.source)
            if _same_code(cell.source, released) and cell.cell_type == source_cell.cell_type:
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


def _released_source(source: str) -> str:
    """A source cell as the release shows it: hidden-test regions removed (nbgrader's ClearHiddenTests)."""
    cell = NotebookNode(cell_type="code", source=source, metadata={})
    ClearHiddenTests()._remove_hidden_test_region(cell)
    return cell.source


def _same_code(a: str, b: str) -> bool:
    """Equal up to trailing whitespace on lines and at the end (editors and LMS round trips change those)."""
    def norm(text):
        return "\n".join(line.rstrip() for line in text.strip().splitlines())
    return norm(a) == norm(b)


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


class MarkManualGrading(NbGraderPreprocessor):
    """Mark the answers that await a human, so feedback says "awaiting manual grading" instead of a zero.

    Runs in ``GenerateFeedback`` after ``GetGrades``; the course's feedback template
    (``course/templates/course_feedback``) reads ``awaiting_manual`` on a cell and ``awaiting_manual_points`` in
    the resources.
    """

    def preprocess(self, nb, resources):
        nbg = resources["nbgrader"]
        waiting = {}
        with Gradebook(nbg["db_url"]) as gb:
            try:
                submitted = gb.find_submission_notebook(nbg["notebook"], nbg["assignment"], nbg["student"])
            except MissingEntry:
                return nb, resources
            for grade in submitted.grades:
                if grade.needs_manual_grade:
                    waiting[grade.name] = float(grade.max_score)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade_id") in waiting:
                meta["awaiting_manual"] = True
        nbg["awaiting_manual_points"] = sum(waiting.values())
        return nb, resources


HIDDEN_REPLACEMENT = "[removed: this output contained hidden-test source]"


def hidden_test_lines(sources: list[str], min_length: int = 8) -> list[str]:
    """Whitespace-normalised lines of the hidden-test regions in ``sources`` that are not also visible lines
    (a visible line may legitimately appear in feedback), longest first, plus the delimiters' own text."""
    hidden, visible = set(), set()
    for source in sources:
        numbers = _hidden_line_numbers(source)
        for number, line in enumerate(source.split("\n"), start=1):
            text = " ".join(line.split())
            (hidden if number in numbers else visible).add(text)
    lines = {line for line in hidden - visible if len(line) >= min_length}
    lines.update({BEGIN_HIDDEN, END_HIDDEN})
    return sorted(lines, key=len, reverse=True)


def _text_variants(text: str) -> list[str]:
    """The ways a hidden line can show up in printed text: as is, inside a repr (escaped newlines and quotes),
    or as HTML; each whitespace-normalised."""
    variants = [text]
    unescaped = text.replace("\\n", "\n").replace("\\t", "\t").replace("\\'", "'").replace('\\"', '"')
    if unescaped != text:
        variants.append(unescaped)
    if "<" in text or "&" in text:
        variants.append(html.unescape(re.sub(r"<[^>]+>", " ", text)))
    variants += [_ANSI.sub("", v) for v in variants if "\x1b" in v]
    return [" ".join(v.split()) for v in variants]


def leaks(text: str, hidden: list[str]) -> list[str]:
    """The hidden lines that ``text`` shows."""
    variants = _text_variants(text)
    return [line for line in hidden if any(line in v for v in variants)]


def _output_text(output) -> str:
    parts = [output.get("text", ""), output.get("ename", ""), output.get("evalue", "")]
    parts += list(output.get("traceback", []))
    for value in output.get("data", {}).values():
        parts.append(value if isinstance(value, str) else "\n".join(value) if isinstance(value, list) else
                     repr(value))
    return "\n".join(str(p) for p in parts)


class ScrubHiddenTests(NbGraderPreprocessor):
    """The last feedback step: nothing of any hidden test of the assignment survives, whatever printed it.

    Every output that shows a hidden-test line (printed, in a repr such as ``In[]``, as HTML, in a traceback) is
    replaced by a one-line notice; a line of a cell's source that shows one is replaced too (e.g. a solution that
    copied a hidden assertion). Hidden lines come from the gradebook's source cells of every notebook in the
    assignment.
    """

    def preprocess(self, nb, resources):
        nbg = resources["nbgrader"]
        sources = []
        with Gradebook(nbg["db_url"]) as gb:
            for notebook in gb.find_assignment(nbg["assignment"]).notebooks:
                sources += [c.source for c in notebook.source_cells]
        self._hidden = hidden_test_lines(sources)
        self._removed = 0
        nb, resources = super().preprocess(nb, resources)
        if self._removed:
            self.log.warning("Feedback for %s: removed %d outputs or lines that showed hidden-test source",
                             nbg["student"], self._removed)
        return nb, resources

    def preprocess_cell(self, cell, resources, cell_index):
        if leaks(cell.source, self._hidden):
            kept = []
            for line in cell.source.split("\n"):
                if leaks(line, self._hidden):
                    self._removed += 1
                    line = "# " + HIDDEN_REPLACEMENT if cell.cell_type == "code" else HIDDEN_REPLACEMENT
                kept.append(line)
            cell.source = "\n".join(kept)
            if leaks(cell.source, self._hidden):  # a hidden line spread over several lines
                cell.source = HIDDEN_REPLACEMENT
        if cell.cell_type == "code":
            outputs = []
            for output in cell.get("outputs", []):
                if leaks(_output_text(output), self._hidden):
                    self._removed += 1
                    output = NotebookNode(output_type="stream", name="stdout", text=HIDDEN_REPLACEMENT + "\n")
                outputs.append(output)
            cell.outputs = outputs
        for key in ("attachments",):
            cell.pop(key, None)
        return cell, resources


class CourseFeedbackExporter(HTMLExporter):
    """The feedback exporter, so the course's template is used: nbgrader's ``GenerateFeedback`` overwrites the
    ``HTMLExporter`` section of the configuration with its own template unless it is set before it starts, which
    the API does not guarantee. Configure ``CourseFeedbackExporter`` (a subclass section wins over its parent's)."""
