"""Hidden tests: where they are in a cell, what the student received, and whether a text shows any of them.

Shared by the sanitize step (``sanitize_preprocessors``: a test cell is compared with what the student
received), the feedback step (``feedback_preprocessors``) and ``grade.py``'s last check of every feedback page.
"""
from __future__ import annotations

import html
import re

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests

BEGIN_HIDDEN = "BEGIN HIDDEN TESTS"
END_HIDDEN = "END HIDDEN TESTS"
MARKERS = (BEGIN_HIDDEN, END_HIDDEN)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def hidden_line_numbers(source: str) -> set[int]:
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


def has_marker(text: str) -> bool:
    return any(marker in text for marker in MARKERS)


def released_source(source: str) -> str:
    """A source cell as the release shows it: hidden-test regions removed (nbgrader's ClearHiddenTests)."""
    cell = NotebookNode(cell_type="code", source=source, metadata={})
    ClearHiddenTests()._remove_hidden_test_region(cell)
    return cell.source


def same_code(a: str, b: str) -> bool:
    """Equal up to trailing whitespace on lines and at the end (editors and LMS round trips change those)."""
    def norm(text):
        return "\n".join(line.rstrip() for line in text.strip().splitlines())
    return norm(a) == norm(b)


def hidden_test_lines(sources: list[str], min_length: int = 8) -> list[str]:
    """Whitespace-normalised lines of the hidden-test regions in ``sources`` that are not also visible lines
    (a visible line may legitimately appear in feedback), longest first, plus the delimiters' own text."""
    hidden, visible = set(), set()
    for source in sources:
        numbers = hidden_line_numbers(source)
        for number, line in enumerate(source.split("\n"), start=1):
            text = " ".join(line.split())
            (hidden if number in numbers else visible).add(text)
    lines = {line for line in hidden - visible if len(line) >= min_length}
    lines.update(MARKERS)
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
    variants += [ANSI.sub("", v) for v in variants if "\x1b" in v]
    return [" ".join(v.split()) for v in variants]


def leaks(text: str, hidden: list[str]) -> list[str]:
    """The hidden lines that ``text`` shows."""
    variants = _text_variants(text)
    return [line for line in hidden if any(line in v for v in variants)]
