"""What an executed notebook shows that its text must answer for: degenerate-result warnings and failed claims.

``helpers.evaluate.degenerate`` prints ``⚠ DEGENERATE: <code>: ...`` beside a degenerate result. A notebook addresses such
a warning with a markdown cell after the cell that showed it, no later than the next ``#`` or ``##`` heading cell,
holding a line::

    expect-degenerate: <code> — <why this result is expected and what the student should read into it>

(visible, or inside an HTML comment ``<!-- ... -->``). The reason must be at least a few words: an expectation
without one is silence with extra steps. ``helpers.notebook.report.headline(..., claims=...)`` prints ``✗ claim FAILED:``
for a comparison the text relies on that this run's numbers contradict; that is never addressed away.

Used by ``tests/test_notebooks.py`` on each executed notebook (FAST) and by ``course/run_course.py --check`` on
the full-size runs (``make run-full``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

MARKER = "⚠ DEGENERATE:"  # helpers.evaluate.degenerate.MARKER; repeated so this module runs without the course library
FLAG = re.compile(re.escape(MARKER) + r" ([a-z][a-z-]+):")
EXPECT = re.compile(r"expect-degenerate:\s*([a-z][a-z-]+)\s*[-—–:]?\s*(.*)")
MIN_REASON_WORDS = 6
FAILED_CLAIM = "✗ claim FAILED:"
CODES = ("auc-below-chance", "balanced-accuracy-at-chance", "at-or-below-majority", "one-class-prediction",
         "small-class")


@dataclass(frozen=True)
class Problem:
    """One thing the notebook shows and does not answer for: ``cell`` index, ``code`` and the printed line."""

    cell: int
    code: str
    line: str

    def __str__(self) -> str:
        return f"cell {self.cell}: {self.line.strip()}"


def _output_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        text = out.get("text", "")
        parts.append(text if isinstance(text, str) else "".join(text))
        data = out.get("data", {})
        for mime in ("text/plain", "text/html", "text/markdown"):
            value = data.get(mime, "")
            parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(parts)


def _is_section_start(cell) -> bool:
    first = cell.source.lstrip().splitlines()[0] if cell.source.strip() else ""
    return cell.cell_type == "markdown" and bool(re.match(r"#{1,2} ", first))


def expectations(cell) -> dict[str, str]:
    """``{code: reason}`` for each ``expect-degenerate:`` line of a markdown cell.

    Raises
    ------
    ValueError
        An unknown code or a reason shorter than ``MIN_REASON_WORDS`` words, naming the line.
    """
    found = {}
    for line in cell.source.splitlines():
        m = EXPECT.search(line)
        if not m:
            continue
        code, reason = m.group(1), m.group(2).replace("-->", "").strip()
        if code not in CODES:
            raise ValueError(f"unknown code {code!r} in {line.strip()!r}; known codes: {', '.join(CODES)}")
        if len(reason.split()) < MIN_REASON_WORDS:
            raise ValueError(f"{line.strip()!r}: say why this result is expected (at least {MIN_REASON_WORDS} "
                             "words after the code)")
        found[code] = reason
    return found


def unaddressed(nb) -> list[Problem]:
    """Degenerate warnings no later markdown cell of the same section expects, and every failed claim.

    Parameters
    ----------
    nb : nbformat.NotebookNode or str or Path
        An executed notebook, or its path.

    Returns
    -------
    list of Problem
        Empty when everything the notebook shows is answered for.
    """
    if isinstance(nb, (str, Path)):
        nb = nbformat.read(str(nb), as_version=4)
    cells = nb.cells
    problems = []
    for i, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        for line in _output_text(cell).splitlines():
            if FAILED_CLAIM in line:
                problems.append(Problem(i, "claim-failed", line))
            m = FLAG.search(line)
            if not m:
                continue
            expected = set()
            for later in cells[i + 1:]:
                if later.cell_type == "markdown":
                    expected |= set(expectations(later))
                if _is_section_start(later):  # the next section's heading cell may still answer, nothing after it
                    break
            if m.group(1) not in expected:
                problems.append(Problem(i, m.group(1), line))
    return problems
