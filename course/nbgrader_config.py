"""nbgrader configuration of the Biosignal DL Course.

The course directory is the repository itself: sources in ``solutions/<assignment>/``, student versions in
``assignments/<assignment>/`` (both committed); submissions, autograded copies, feedback and the gradebook live
under ``course/`` and are git-ignored. nbgrader finds this file when run from ``course/`` (``make release`` and
``make grade`` do that) or when ``JUPYTER_CONFIG_PATH`` includes ``course/`` (``make lab`` sets it).
"""
import os
import sys

COURSE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(COURSE)

sys.path.insert(0, COURSE)
from grading_preprocessors import HideHiddenTestResults, ResilientExecute, RestoreDeletedCells  # noqa: E402
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteKernelspec,
    SaveAutoGrades,
)

# Graded assignments, in course order (each has solutions/<id>/<id>.ipynb). `make release` and `make grade`
# register them in the gradebook; the tests check that this list matches solutions/.
ASSIGNMENTS = ["af_cnn"]

c = get_config()  # noqa: F821 (defined by traitlets when it loads this file)

c.CourseDirectory.root = ROOT
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.submitted_directory = "course/submitted"
c.CourseDirectory.autograded_directory = "course/autograded"
c.CourseDirectory.feedback_directory = "course/feedback"
c.CourseDirectory.solution_directory = "course/solution"
c.CourseDirectory.source_with_tests_directory = "course/source_with_tests"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(COURSE, "gradebook.db")
# Assignments travel through git (assignments/ is committed), not nbgrader's exchange; a local exchange root
# keeps the formgrader from warning about /usr/local/share/nbgrader/exchange.
c.Exchange.root = os.path.join(COURSE, "exchange")
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".pytest_cache"]

# Autograding runs the student's notebook. Each cell gets `timeout` seconds: a graded notebook in FAST mode runs
# in about a minute in all, and the margin covers a busy machine (training alone took 3 min at load 10 on 2
# cores). On timeout the kernel is interrupted and that cell is marked failed, so an infinite
# loop costs that student the cell's points, not the batch. A dead kernel is handled by ResilientExecute.
CELL_TIMEOUT_S = 300
c.Execute.timeout = CELL_TIMEOUT_S
c.Execute.error_on_timeout = {
    "ename": "CellTimeoutError",
    "evalue": f"the cell did not finish within {CELL_TIMEOUT_S} s (an infinite loop?) and was interrupted",
    "traceback": [f"CellTimeoutError: the cell did not finish within {CELL_TIMEOUT_S} s and was interrupted"],
}
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 120
c.Execute.execute_retries = 0

# A deleted graded cell comes back from the gradebook (nbgrader's documented option); locked and test cells
# whose source was edited are always restored by OverwriteCells.
c.OverwriteCells.add_missing_cells = True
c.RestoreDeletedCells.add_missing_cells = True

c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    RestoreDeletedCells,
    CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    ResilientExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

# Feedback: scores first (GetGrades), then hidden-test outputs replaced (HideHiddenTestResults), then the hidden
# source removed (ClearHiddenTests). Order matters: HideHiddenTestResults finds the cells by their hidden region.
c.GenerateFeedback.preprocessors = [
    GetGrades,
    HideHiddenTestResults,
    ClearHiddenTests,
    CSSHTMLHeaderPreprocessor,
]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

c.CsvExportPlugin.to = os.path.join(ROOT, "build", "grades.csv")
