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

# The course's own classes are named by import path ("module.Class"), resolved only when a command uses them:
# loading this file (JupyterLab's formgrader does, on every start) imports nothing of the grading machinery.
sys.path.insert(0, COURSE)
import nbgrader
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
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
ASSIGNMENTS = ["af_cnn", "mitbih_beats", "deap_emotion", "ppg_edge"]

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
# One learner (`make lab`): assignments travel through git or the student edition, and a local exchange root keeps
# the formgrader from warning about /usr/local/share/nbgrader/exchange. A class on JupyterHub (`make hub`): the
# hub gives every server the course id and the shared exchange (course/hub/jupyterhub_config.py); set only there,
# so the single-user gradebook keeps nbgrader's default course.
c.Exchange.root = os.environ.get("BIOSIGNAL_EXCHANGE_ROOT") or os.path.join(COURSE, "exchange")
if os.environ.get("BIOSIGNAL_COURSE_ID"):
    c.CourseDirectory.course_id = os.environ["BIOSIGNAL_COURSE_ID"]
    sys.path.insert(0, os.path.join(COURSE, "hub"))  # collect only submissions their named student owns
    c.ExchangeFactory.collect = "course_exchange.OwnerCheckedCollect"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".pytest_cache"]

# Autograding runs untrusted code. ResilientExecute starts each submission's kernel in a sandbox
# (course/sandbox.py: bubblewrap, a scratch copy of that one submission, no network, no repository, no home, no
# data cache, an address-space limit, and the CI-sized run mode BIOSIGNAL_FAST=1 / BIOSIGNAL_DATA_SOURCE=synthetic
# in its environment, whoever starts autograding: `make grade`, `nbgrader autograde` or the formgrader). Without
# bwrap it refuses to grade unless BIOSIGNAL_GRADE_UNSANDBOXED=1. See the instructor guide.
#
# Time limits, from measured FAST-mode times of af_cnn under `make grade` on 2 cores shared with other work
# (load 5-7): a correct submission's cells took 36-63 s in all, 45-75 s per submission with kernel start and
# grading; the slowest cell (training) 17-29 s, the next (loading and synthesising the data) 10-16 s. A cell gets
# CELL_TIMEOUT_S (4x the slowest cell on that busy machine: an infinite loop costs that cell and two minutes), the
# whole submission SUBMISSION_TIMEOUT_S (about 5x a busy run); cells after that are marked "not run". A loop that
# ignores the interrupt is killed and costs that cell only: a fresh kernel replays the cells before it.
# Test cells never run in the kernel: trusted_execute runs them in this process (trusted_checker.py), asking the
# kernel only for values, under the same per-cell limit.
CELL_TIMEOUT_S = 120
SUBMISSION_TIMEOUT_S = 360
c.ResilientExecute.kernel_manager_class = "sandbox.SandboxedKernelManager"
c.ResilientExecute.submission_timeout = SUBMISSION_TIMEOUT_S
c.Execute.timeout = CELL_TIMEOUT_S
c.Execute.error_on_timeout = {
    "ename": "CellTimeoutError",
    "evalue": "the cell did not finish within its time limit (an infinite loop?) and was interrupted",
    "traceback": ["CellTimeoutError: the cell did not finish within its time limit and was interrupted"],
}
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 120
c.Execute.execute_retries = 0

# A deleted graded cell comes back from the gradebook (nbgrader's documented option); locked and test cells
# whose source was edited are always restored by OverwriteCells.
c.OverwriteCells.add_missing_cells = True
c.RestoreDeletedCells.add_missing_cells = True

# SanitizeGradeCells first: a submission's nbgrader metadata (unknown, repeated or altered grade cells) is made
# what the gradebook knows, and each repair flags the submission, before any nbgrader step relies on it.
c.Autograde.sanitize_preprocessors = [
    "sanitize_preprocessors.SanitizeGradeCells",
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    "sanitize_preprocessors.RestoreDeletedCells",
    CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    "trusted_execute.ResilientExecute",
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

# Feedback (course/feedback_preprocessors.py): scores first (GetGrades), answers awaiting a human marked
# (MarkManualGrading), the marker text in a student's own cell replaced (NeutraliseMarkers; ClearHiddenTests
# would refuse the notebook), hidden-test outputs replaced (HideHiddenTestResults), hidden source removed
# (ClearHiddenTests), every line of any hidden test scrubbed from sources and outputs (ScrubHiddenTests, the last
# line of defence), and everything the student produced made inert (InertOutputs; Markdown is cleaned by the
# exporter). Order matters: HideHiddenTestResults finds the cells by their hidden region.
c.GenerateFeedback.preprocessors = [
    GetGrades,
    "feedback_preprocessors.MarkManualGrading",
    "feedback_preprocessors.NeutraliseMarkers",
    "feedback_preprocessors.HideHiddenTestResults",
    ClearHiddenTests,
    "feedback_preprocessors.ScrubHiddenTests",
    "feedback_preprocessors.InertOutputs",
    CSSHTMLHeaderPreprocessor,
]
c.GenerateFeedback.exporter_class = "feedback_preprocessors.CourseFeedbackExporter"
c.CourseFeedbackExporter.template_name = "course_feedback"
# nbconvert's own sanitiser too (bleach; it also skips the JavaScript and widget blocks of the template): a
# second, narrower pass after inert_html's allowlist
c.CourseFeedbackExporter.sanitize_html = True
c.CourseFeedbackExporter.extra_template_basedirs = [
    os.path.join(COURSE, "templates"),
    os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader", "templates"),
]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# grades.csv with the autograded points, the points awaiting manual grading and each submission's grading status
c.ExportApp.plugin_class = "grading_export.CourseCsvExport"
c.CourseCsvExport.to = os.path.join(ROOT, "build", "grades.csv")
