"""nbgrader preprocessors of the feedback step: scores a student can read, hidden tests kept hidden, and nothing
the student produced left live in the page.

Registered in ``course/nbgrader_config.py`` (``GenerateFeedback.preprocessors``, in this order); every class
subclasses nbgrader's ``NbGraderPreprocessor`` (a plain nbconvert ``Preprocessor`` would be skipped silently).

- :class:`MarkManualGrading`: answers that await a human say so instead of showing a score of zero.
- :class:`NeutraliseMarkers`: the hidden-test marker text in a student's own cell is replaced (nbgrader's
  ``ClearHiddenTests`` would otherwise refuse the whole notebook, and the student would get no feedback).
- :class:`HideHiddenTestResults`: in autograder test cells that contain hidden tests, outputs and tracebacks are
  replaced by a neutral message with the cell's points; ``ClearHiddenTests``, which runs after it, removes the
  hidden source.
- :class:`ScrubHiddenTests`: the last line of defence, no longer the main one (hidden tests are checked in the
  grader, outside the student's kernel): no line of any hidden test survives anywhere in the feedback, whatever
  printed it.
- :class:`InertOutputs`: every output of the student's cells reduced to kinds a browser cannot run, its HTML
  cleaned (``inert_html.py``); cell attachments and the notebook's widget state dropped.
- :class:`CourseFeedbackExporter`: the course's template, with Markdown (written answers) cleaned after it is
  rendered, by the same allowlist.
"""
from __future__ import annotations

import re
from typing import Any

import inert_html
from hidden_tests import ANSI, MARKERS, hidden_line_numbers, hidden_test_lines, leaks
from jinja2 import pass_context
from nbconvert.exporters import HTMLExporter
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Dict, Unicode

# error names the trusted executor (trusted_execute.py) writes when a cell could not run, not what a test checks;
# shown in feedback as they are
_RUN_FAILURES = {"KernelDied", "CellTimeoutError"}
HIDDEN_REPLACEMENT = "[removed: this output contained hidden-test source]"
MARKER_REPLACEMENT = "[hidden-test marker text removed]"


def _is_test_cell(cell) -> bool:
    return utils.is_grade(cell) and not utils.is_solution(cell)


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


class NeutraliseMarkers(NbGraderPreprocessor):
    """Replace the hidden-test marker text in every cell that is not an autograder test cell (a student's answer or
    own cell); test cells come from the gradebook, so their markers are the instructor's. Runs before
    ``HideHiddenTestResults``. The sanitize step has already flagged the submission (``SanitizeGradeCells``)."""

    def preprocess_cell(self, cell, resources, cell_index):
        if not _is_test_cell(cell):
            for marker in MARKERS:
                cell.source = cell.source.replace(marker, MARKER_REPLACEMENT)
        return cell, resources


class InertOutputs(NbGraderPreprocessor):
    """Everything the student produced, inert: outputs through ``inert_html.inert_output``, attachments and
    output metadata (file names an ``<img>`` would load) dropped, the notebook's widget state dropped (the
    template would write it into a ``<script>``). Runs last, after the hidden-test scrubber has seen the raw
    outputs."""

    def preprocess(self, nb, resources):
        nb.metadata.pop("widgets", None)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        cell.pop("attachments", None)
        if cell.cell_type == "code":
            cell.outputs = [inert_html.inert_output(o) for o in cell.get("outputs", [])]
        return cell, resources


# What replaces a graded cell's outputs in the feedback, by outcome. A failure on a visible line names its error, so
# students can act on visible tests; nothing that could come from the hidden part is shown.
FEEDBACK_MESSAGES = {
    # a hidden test failed
    "hidden_failed": "A hidden test in this cell failed ({score:g} / {points:g} points). Hidden tests are not "
                     "shown: check your answer against the task description and the visible tests.",
    # a visible test (outside the hidden region) failed
    "visible_failed": "A visible test in this cell failed ({score:g} / {points:g} points): {ename}: {evalue}",
    # the cell timed out or the kernel had died (nothing of the tests is revealed)
    "run_failed": "This cell could not be graded ({score:g} / {points:g} points): {ename}: {evalue}",
    "passed": "All tests in this cell passed ({score:g} / {points:g} points).",
    # no error, but not all points
    "partial": "This cell scored {score:g} / {points:g} points: partial credit, or output on stderr (such as a "
               "warning), which the autograder counts as a failure.",
}


class HideHiddenTestResults(NbGraderPreprocessor):
    """Replace the outputs of autograder test cells that hold hidden tests with a neutral message.

    Runs in ``GenerateFeedback`` after ``GetGrades`` (which puts the cell's score into its metadata) and before
    ``ClearHiddenTests`` (which strips the hidden source; this class needs it to find those cells). A failure on
    a visible line keeps its error name and message, so students can still act on visible tests; anything that
    could come from the hidden part (tracebacks, printed values, the assertion's message) is dropped.
    """

    messages = Dict(
        value_trait=Unicode(),
        help="Replacements for the default messages of FEEDBACK_MESSAGES, by outcome (e.g. {'passed': '...'}); "
             "outcomes not given keep their default. Placeholders: {score}, {points}, and {ename}, {evalue} in "
             "visible_failed and run_failed.",
    ).tag(config=True)

    def _text(self, outcome: str, **fields: Any) -> str:
        return self.messages.get(outcome, FEEDBACK_MESSAGES[outcome]).format(**fields)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or not utils.is_grade(cell) or utils.is_solution(cell):
            return cell, resources
        hidden_lines = hidden_line_numbers(cell.source)
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
                text = self._text("run_failed", score=score, points=points, ename=errors[-1].get("ename"),
                                  evalue=_one_line(errors[-1].get("evalue", "")))
            elif line is not None and line not in hidden_lines:
                text = self._text("visible_failed", score=score, points=points, ename=errors[-1].get("ename", "Error"),
                                  evalue=_one_line(errors[-1].get("evalue", "")))
            else:
                text = self._text("hidden_failed", score=score, points=points)
        else:
            score = points if score is None else float(score)
            text = self._text("passed" if score >= points else "partial", score=score, points=points)
        cell.outputs = [NotebookNode(output_type="stream", name="stdout", text=text + "\n")]
        return cell, resources


_CELL_FRAME = re.compile(r"(?:Cell In\s*\[[^\]]*\]|<ipython-input-[^>]*>)")
_ARROW_LINE = re.compile(r"^-+>\s*(\d+)", re.MULTILINE)
_LINE_WORD = re.compile(r"line (\d+)")


def _failing_cell_line(error: Any) -> int | None:
    """The line of the executed cell where the error surfaced, from IPython's traceback; None if unknown.

    The first cell frame is the outermost one, i.e. the test cell itself, even when the error was raised in a
    student's function defined in another cell (whose line numbers would mean nothing here).
    """
    for frame in error.get("traceback", []):
        text = ANSI.sub("", frame)
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
    the API does not guarantee. Configure ``CourseFeedbackExporter`` (a subclass section wins over its parent's).

    Markdown (a student's written answer, or a ``text/markdown`` output) may hold raw HTML, which the Markdown
    renderer passes through: it is cleaned after rendering, with the allowlist of ``inert_html``."""

    @pass_context
    def markdown2html(self, context, source):
        return inert_html.clean(super().markdown2html(context, source))
