"""``nbgrader export`` for this course: nbgrader's CSV, plus what a score alone does not say.

Columns added to nbgrader's ``CsvExportPlugin`` (configured in ``nbgrader_config.py``, so ``nbgrader export`` and
``make grade`` both use it):

- ``autograded_score``: points from the autograder's test cells;
- ``awaiting_manual_grading``: points of answers no human has graded yet (a complete submission shows
  ``15 / 20`` until then; this column says the other 5 are not lost, only pending);
- ``status``: ``ok``, ``awaiting manual grading``, ``not submitted``, or ``CHECK: ...`` when the submission did
  not grade normally (``grading_status.py``), with the reasons in ``notes``;
- ``notes``: every recorded event, including test cells a student edited or deleted.
"""
from __future__ import annotations

import csv

import grading_status
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import CsvExportPlugin

COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email", "raw_score",
           "late_submission_penalty", "score", "max_score", "autograded_score", "awaiting_manual_grading",
           "status", "notes"]


class CourseCsvExport(CsvExportPlugin):
    def export(self, gradebook: Gradebook) -> None:
        dest = self.to or "grades.csv"
        course_dir = grading_status.course_dir_from_db_url(str(gradebook.engine.url))
        students = [str(s) for s in self.student]
        assignments = [str(a) for a in self.assignment]
        self.log.info("Exporting grades to %s", dest)
        with open(dest, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            for assignment in gradebook.assignments:
                if assignments and assignment.name not in assignments:
                    continue
                for student in gradebook.students:
                    if students and student.id not in students:
                        continue
                    writer.writerow(self._row(gradebook, course_dir, assignment, student))

    @staticmethod
    def _row(gradebook, course_dir, assignment, student) -> dict:
        row = {"assignment": assignment.name, "duedate": assignment.duedate or "", "student_id": student.id,
               "last_name": student.last_name or "", "first_name": student.first_name or "",
               "email": student.email or "", "max_score": assignment.max_score}
        entries = grading_status.load(course_dir, assignment.name, student.id)
        try:
            submission = gradebook.find_submission(assignment.name, student.id)
        except MissingEntry:
            row.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0, score=0.0, autograded_score=0.0,
                       awaiting_manual_grading=0.0)
            flagged = [e for e in entries if e["kind"] in grading_status.FLAGGING]
            row["status"] = f"CHECK: {flagged[0]['message']}" if flagged else "not submitted"
            row["notes"] = grading_status.summary(entries)
            return row
        awaiting = sum(g.max_score for nb in submission.notebooks for g in nb.grades if g.needs_manual_grade)
        penalty = submission.late_submission_penalty or 0.0
        row.update(timestamp=submission.timestamp or "", raw_score=submission.score, late_submission_penalty=penalty,
                   score=max(0.0, submission.score - penalty),
                   autograded_score=sum(nb.code_score for nb in submission.notebooks),
                   awaiting_manual_grading=awaiting)
        flagged = [e for e in entries if e["kind"] in grading_status.FLAGGING]
        if flagged:
            row["status"] = "CHECK: " + "; ".join(e["message"] for e in flagged)
        elif awaiting:
            row["status"] = "awaiting manual grading"
        else:
            row["status"] = "ok"
        row["notes"] = grading_status.summary(entries)
        return row
