"""What happened while a submission was graded, beside the scores: one small JSON file per submission.

The trusted grader writes ``<course>/grading-status/<assignment>/<student>.json`` (next to the gradebook, never
where a kernel can reach); the grades export (``grading_export.py``) and ``make grade`` read it, so a submission
that did not grade normally (a killed kernel, a time limit, a broken notebook, an edited test cell, a guard that
was tampered with) stands out with its reason instead of hiding behind a score of zero.

Each entry is ``{"kind": ..., "message": ...}``. Kinds:

- ``edited``: a read-only or test cell differed from the released one (it was restored before grading);
- ``deleted``: a graded cell was missing (it was put back);
- ``abnormal``: the submission did not run normally (timeout, kernel died or was stopped, submission time limit,
  unreadable notebook, guard failure): its score may understate the work;
- ``malformed``: the notebook's nbgrader metadata or content had to be repaired before grading (a cell with an
  unknown, repeated or altered ``grade_id``, the hidden-test marker text in an answer): graded, but a human should
  look;
- ``limit``: the kernel reached a hard limit of the sandbox (processes, the shared folder) and was stopped;
- ``machinery``: the grader itself failed on this submission (a bug or an environment problem, not the student).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

KINDS = ("edited", "deleted", "abnormal", "malformed", "limit", "machinery")
# kinds that mean "this score needs a human look"; ``edited`` and ``deleted`` are reported but graded normally
FLAGGING = ("abnormal", "malformed", "limit", "machinery")


def course_dir_from_db_url(db_url: str) -> Path:
    return Path(db_url.replace("sqlite:///", "", 1)).resolve().parent


def status_path(course_dir: Path, assignment: str, student: str) -> Path:
    return Path(course_dir) / "grading-status" / assignment / f"{student}.json"


def _path_from_resources(resources) -> Path:
    nbg = resources["nbgrader"]
    return status_path(course_dir_from_db_url(nbg["db_url"]), nbg["assignment"], nbg["student"])


def clear(course_dir: Path, assignment: str, student: str) -> None:
    status_path(course_dir, assignment, student).unlink(missing_ok=True)
    timing_path(course_dir, assignment, student).unlink(missing_ok=True)


def timing_path(course_dir: Path, assignment: str, student: str) -> Path:
    return Path(course_dir) / "grading-status" / assignment / f"{student}.timing.json"


def record_timing(resources, **figures) -> None:
    """How long the submission's execution took (``wall_s``) and the kernel's own CPU seconds (as it reports)."""
    nbg = resources["nbgrader"]
    path = timing_path(course_dir_from_db_url(nbg["db_url"]), nbg["assignment"], nbg["student"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures))


def load_timing(course_dir: Path, assignment: str, student: str) -> dict:
    try:
        return json.loads(timing_path(course_dir, assignment, student).read_text())
    except (OSError, ValueError):
        return {}


def add(course_dir: Path, assignment: str, student: str, kind: str, message: str) -> None:
    assert kind in KINDS, kind
    path = status_path(course_dir, assignment, student)
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = load(course_dir, assignment, student)
    entry = {"kind": kind, "message": message}
    if entry not in entries:
        entries.append(entry)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(entries, indent=1))
    os.replace(tmp, path)


def add_from_resources(resources, kind: str, message: str) -> None:
    nbg = resources["nbgrader"]
    add(course_dir_from_db_url(nbg["db_url"]), nbg["assignment"], nbg["student"], kind, message)


def load(course_dir: Path, assignment: str, student: str) -> list[dict]:
    path = status_path(course_dir, assignment, student)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return []


def summary(entries: list[dict]) -> str:
    """One line for a CSV cell or a log: ``abnormal: ...; edited: ...``; empty when all went normally."""
    return "; ".join(f"{e['kind']}: {e['message']}" for e in entries)
