"""course/syllabus.md tells students the truth about the assignments: every one listed, with its real points."""
from __future__ import annotations

import re

import nbformat

from conftest import ROOT

SYLLABUS = ROOT / "course" / "syllabus.md"


def _points(assignment: str) -> tuple[float, float]:
    """(autograded, manually graded) points of a source notebook, from its nbgrader metadata."""
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    auto = manual = 0.0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade"):
            continue
        if cell.cell_type == "code" and not meta.get("solution"):
            auto += meta.get("points", 0)
        else:
            manual += meta.get("points", 0)
    return auto, manual


def test_syllabus_lists_every_assignment_with_its_points():
    text = SYLLABUS.read_text()
    listed = dict(re.findall(r"`assignments/(\w+)/\1\.ipynb` \((\d+) points\)", text))
    sources = sorted(p.parent.name for p in (ROOT / "solutions").glob("*/*.ipynb") if p.stem == p.parent.name)
    assert sorted(listed) == sources
    for assignment, points in listed.items():
        assert sum(_points(assignment)) == int(points), (assignment, _points(assignment), points)


def test_syllabus_split_of_af_cnn_points_is_the_notebooks():
    auto, manual = _points("af_cnn")
    text = SYLLABUS.read_text()
    assert f"Grading of A1: {auto:g} points are autograded" in text
    assert f"{manual:g} points are written answers" in text
