"""`make student-dist`: the edition students get holds no solution, no grading configuration, no hidden test."""
from __future__ import annotations

import json
import sys
import zipfile

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "course"))
import student_dist


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    folder, archive = student_dist.build(out)
    return folder, archive


def test_edition_has_the_course_and_none_of_the_instructor_material(edition):
    folder, _ = edition
    for present in ("lessons", "assignments/af_cnn/af_cnn.ipynb", "helpers/__init__.py", "pyproject.toml",
                    "environment.yml", "constraints.txt", "README.md", "Makefile"):
        assert (folder / present).exists(), present
    for absent in ("solutions", "course", "tests", "gradebook.db"):
        assert not list(folder.rglob(absent)), absent
    assert "student edition" in (folder / "README.md").read_text()


def test_no_hidden_test_line_anywhere_in_the_edition_or_its_zip(edition, tmp_path):
    folder, archive = edition
    hidden = student_dist.hidden_lines()
    assert len(hidden) > 20, "the sources' hidden tests were not found"
    assert student_dist.leaked(folder, hidden) == []
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(tmp_path)
        names = zf.namelist()
    assert all(n.startswith(student_dist.NAME + "/") for n in names)
    assert student_dist.leaked(tmp_path / student_dist.NAME, hidden) == []
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == \
        sorted(n.split("/", 1)[1] for n in names)


def test_the_leak_check_finds_hidden_tests(tmp_path):
    """The check itself: the sources do contain the hidden lines it looks for."""
    import shutil

    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    assert student_dist.leaked(tmp_path, student_dist.hidden_lines())


def test_lab_hides_the_instructor_panels(edition):
    folder, _ = edition
    config = json.loads((folder / ".jupyter" / "labconfig" / "page_config.json").read_text())
    assert config["disabledExtensions"]["@jupyter/nbgrader:create-assignment"] is True
    assert config["disabledExtensions"]["@jupyter/nbgrader:formgrader"] is True
    assert ".jupyter" in (folder / "Makefile").read_text()
