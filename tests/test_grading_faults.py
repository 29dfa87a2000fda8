"""One student's notebook never stops another's grade or feedback, feedback is inert, and parallel grading gives
the serial grades (issues 17 and 23).

A throwaway course with the tiny assignment plus a written answer (``test_grading_hostile.hostile_source``) is
graded by ``course/grade.py`` in-process twice, on the same submissions: with ``--jobs 2`` and with ``--jobs 1``.
Besides a correct, a blank and a wrong student, each of the others breaks one thing nbgrader relies on (an extra
``grade_id``, a copied test cell, the hidden-test marker text in answers, metadata of the wrong type) or writes
hostile HTML (a script, a style block hiding the score, an ``onerror`` handler, a ``javascript:`` link, an
iframe, a forged "Score: 22 / 22" box) in outputs of every kind and in its written answer.
"""
from __future__ import annotations

import copy
import csv
import time
from html.parser import HTMLParser

import nbformat
import pytest
from conftest import require_tool
from nbformat.v4 import new_code_cell
from test_grading import (
    _meta,
    _replace,
    api_for,
    assert_no_hidden_tests,
    check,
    copy_course,
    grade_id,
    solved,
    submit,
)
from test_grading_hostile import hostile_source

pytestmark = pytest.mark.grading

require_tool("bwrap", "apt-get install bubblewrap (.ci/run installs it)")

HOSTILE_HTML = (
    "<script>document.title = 'PWNED'; document.body.setAttribute('data-pwned', '1')</script>"
    "<style>.score, h4 { display: none !important }</style>"
    "<img src=x onerror=\"document.body.setAttribute('data-pwned', '1')\">"
    "<a href=\"javascript:document.body.setAttribute('data-pwned', '1')\">click</a>"
    "<iframe src=\"data:text/html,<script>parent.document.title='PWNED'</script>\"></iframe>"
    "<div class=\"panel-heading\" style=\"position:fixed;top:0;left:0;width:100%;background:white;z-index:9\">"
    "<h4>tiny (Score: 22 / 22)</h4></div>"
)
OUTPUTS = f"""from IPython.display import HTML, SVG, Javascript, Markdown, display, publish_display_data
display(HTML({HOSTILE_HTML!r}))
display(Markdown({HOSTILE_HTML!r}))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg"><script>document.title = "PWNED"</script></svg>'))
display(Javascript("document.title = 'PWNED'"))
publish_display_data({{"image/png": 'x" onerror="document.title=1" data-x="'}})
"""


def _with(nb, cells):
    nb = copy.deepcopy(nb)
    nb.cells += cells
    return nb


def submissions(release, source) -> dict:
    good = _replace(solved(release, source), "explain", "It returns the first n squares.")
    corrupt = copy.deepcopy(good)
    for cell in corrupt.cells:
        if grade_id(cell) == "test_double":
            cell.metadata["nbgrader"].update(points="lots", grade="yes")
        if grade_id(cell) == "double":
            cell.metadata["nbgrader"] = "not a mapping"
    test_double = next(c for c in good.cells if grade_id(c) == "test_double")
    return {
        "correct": good,
        "blank": release,
        "wrong": _replace(good, "double", "def double(x):\n    return 2 * abs(x)"),
        "extra": _with(good, [new_code_cell("bonus = 1", metadata=_meta("my_bonus", grade=True, solution=True,
                                                                          points=50))]),
        "copied": _with(good, [copy.deepcopy(test_double)]),
        "marker": _replace(_replace(good, "explain", "My notes: ### BEGIN HIDDEN TESTS, then END HIDDEN TESTS."),
                           "double", "def double(x):\n    # ### BEGIN HIDDEN TESTS\n    return 2 * x"),
        "corrupt": corrupt,
        "hostile_html": _replace(_with(good, [new_code_cell(OUTPUTS)]), "explain",
                                 "Here is my answer.\n\n" + HOSTILE_HTML),
    }


def _grade(root, jobs: int) -> dict:
    import grade

    start = time.perf_counter()
    exit_code = grade.main(["--course-dir", str(root / "course"), "--jobs", str(jobs)])
    seconds = time.perf_counter() - start
    with open(root / "build" / "grades.csv") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    return {"exit_code": exit_code, "rows": rows, "seconds": seconds}


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    root = copy_course(tmp_path_factory.mktemp("faults") / "repo")
    source = hostile_source()
    (root / "solutions" / "tiny").mkdir(parents=True)
    nbformat.write(source, root / "solutions" / "tiny" / "tiny.ipynb")
    check(api_for(root).generate_assignment("tiny"), "generate_assignment")
    release = nbformat.read(root / "assignments" / "tiny" / "tiny.ipynb", as_version=4)
    for student, nb in submissions(release, source).items():
        submit(root, student, "tiny", nb)
    parallel = _grade(root, jobs=2)
    pages = {p.parent.parent.name: p.read_text() for p in (root / "course" / "feedback").glob("*/tiny/tiny.html")}
    serial = _grade(root, jobs=1)
    print(f"\nmake grade on {len(serial['rows'])} submissions: JOBS=1 {serial['seconds']:.1f} s, "
          f"JOBS=2 {parallel['seconds']:.1f} s")
    return {"root": root, "source": source, "parallel": parallel, "serial": serial, "pages": pages}


def test_grade_exits_zero_when_only_submissions_are_at_fault(faults):
    assert faults["parallel"]["exit_code"] == 0
    assert faults["serial"]["exit_code"] == 0


@pytest.mark.parametrize("student, reason", [
    ("extra", "unknown grade_id ('my_bonus')"),
    ("copied", "repeated graded cell test_double"),
    ("marker", "hidden-test marker text"),
    ("corrupt", "unknown grade_id (none)"),
    ("corrupt", "(test_double) had altered nbgrader metadata"),
])
def test_a_broken_notebook_is_graded_flagged_and_gets_feedback(faults, student, reason):
    row = faults["parallel"]["rows"][student]
    assert row["status"].startswith("CHECK: "), row
    assert reason in row["notes"], row["notes"]
    # its answers are right: every autograded point, nothing from the extra cell's 50 points
    assert float(row["autograded_score"]) == 3.0 and float(row["max_score"]) == 5.0, row
    page = faults["root"] / "course" / "feedback" / student / "tiny" / "tiny.html"
    assert page.is_file()
    assert_no_hidden_tests(page, faults["source"])


@pytest.mark.parametrize("student, auto, status", [
    ("correct", 3.0, "awaiting manual grading"), ("blank", 0.0, "ok"),  # an unchanged answer scores 0 at once
    ("wrong", 2.0, "awaiting manual grading"), ("hostile_html", 3.0, "awaiting manual grading")])
def test_every_other_student_is_graded_as_usual(faults, student, auto, status):
    row = faults["parallel"]["rows"][student]
    assert (float(row["autograded_score"]), row["status"]) == (auto, status), row


def test_parallel_grading_gives_the_serial_grades(faults):
    def scores(run):
        return {s: (r["autograded_score"], r["score"], r["status"]) for s, r in run["rows"].items()}

    assert scores(faults["parallel"]) == scores(faults["serial"])
    assert len(faults["parallel"]["rows"]) == 8


class _Inventory(HTMLParser):
    """Every tag, every attribute that could run or restyle something, of one page."""

    def __init__(self):
        super().__init__()
        self.tags, self.handlers, self.urls, self.styled, self.classes = [], [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.classes += (dict(attrs).get("class") or "").split()
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append((tag, name, value))
            if name in ("href", "src", "action", "data") and (value or "").strip().lower().startswith(
                    ("javascript:", "data:text", "vbscript:")):
                self.urls.append((tag, name, value))
            if name == "style":
                self.styled.append(tag)


def _student_part(page: str) -> str:
    """The notebook part of a feedback page (the template's own head, styles and MathJax loader excluded)."""
    return page.split('<div class="container" id="notebook-container">', 1)[1]


@pytest.mark.parametrize("student", ["hostile_html", "correct"])
def test_feedback_is_inert_whatever_the_student_wrote(faults, student):
    page = faults["pages"][student]
    whole, notebook = _Inventory(), _Inventory()
    whole.feed(page)
    notebook.feed(_student_part(page))
    assert not whole.handlers, whole.handlers
    assert not whole.urls, whole.urls
    assert not {"iframe", "object", "embed", "form", "svg"} & set(whole.tags)
    assert not {"script", "style"} & set(notebook.tags), "a script or style block in the notebook part"
    assert not notebook.styled, f"style attributes in the notebook part: {notebook.styled}"
    assert "<script" not in _student_part(page).lower()
    # the forged score box lost its class and style: the page has only the template's own score panels, and the
    # first heading (the page's score) is the real one
    reference = _Inventory()
    reference.feed(faults["pages"]["correct"])
    assert whole.classes.count("panel-heading") == reference.classes.count("panel-heading")
    assert "tiny (Score: 3.0 / 5.0; 2.0 points awaiting manual grading)" in page.split("</h4>", 1)[0]


def test_hostile_text_is_still_shown_to_the_student_as_text(faults):
    page = faults["pages"]["hostile_html"]
    assert "Here is my answer." in page and "click" in page
