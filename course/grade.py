"""``make grade``: autograde every submission in a sandbox, write feedback and grades.csv, report what went wrong.

    python course/grade.py [--assignment ID ...] [--jobs N] [--unsandboxed]

The trusted side of grading. For each assignment with submissions under ``course/submitted/``:

1. the assignment is registered in the gradebook from its source (``nbgrader generate_assignment`` into a
   throwaway folder): ``assignments/`` is never deleted or rewritten by grading (``make release`` does that, and
   only when asked);
2. each submission is checked (a notebook that is not valid JSON / nbformat is flagged, not fatal),
   autograded on its own (``nbgrader autograde``; its kernel runs in the sandbox of ``sandbox.py``) and given
   its feedback; ``--jobs N`` (``make grade JOBS=N``, default: the number of cores) grades N submissions at
   once (``grade_parallel.py``);
3. when nbgrader failed on a submission, the unmodified release is graded as a throwaway student
   (``probe_machinery``): if that works, the failure was the submission's doing and only it is flagged; if not,
   the grader is broken (a machinery fault);
4. every feedback page is checked a last time for hidden-test text (a page that still shows any is withheld);
5. ``build/grades.csv`` is exported (``grading_export.py``: autograded points, points awaiting manual grading,
   status and notes).

Every submission that did not grade normally is listed on stderr with its reason and in grades.csv as
``CHECK: <reason>``. The exit status is non-zero only for faults of the machinery (nbgrader failing on the
release itself, a missing sandbox, a feedback page that had to be withheld), never for what a submission did.
Scratch folders of graders that no longer run (``biosignal-grade-*`` in the temporary folder) are removed first.
"""
from __future__ import annotations

import argparse
import filecmp
import json
import os
import re
import signal
import sys
import tempfile
import time
from pathlib import Path

COURSE = Path(__file__).resolve().parent
ROOT = COURSE.parent
sys.path.insert(0, str(COURSE))

import grading_status
import sandbox


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_api(course_dir: Path, **overrides):
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    for dotted, value in overrides.items():
        section, name = dotted.split(".")
        setattr(cfg[section], name, value)
    return NbGraderAPI(config=cfg), cfg


def register_assignment(course_dir: Path, assignment: str) -> list[str]:
    """Put the assignment's source cells into the gradebook without touching ``assignments/``; returns problems."""
    with tempfile.TemporaryDirectory(prefix="biosignal-release-") as tmp:
        api, cfg = load_api(course_dir, **{"CourseDirectory.release_directory": f"{tmp}/release",
                                           "CourseDirectory.source_with_tests_directory": f"{tmp}/with_tests"})
        result = api.generate_assignment(assignment)
        if not result["success"]:
            return [(f"could not register {assignment} from its source: {result.get('error')}\n"
                     f"{result.get('log', '')[-2000:]}")]
        root = Path(cfg.CourseDirectory.root)
        fresh, committed = Path(tmp) / "release" / assignment, root / "assignments" / assignment
        if committed.is_dir() and _differs(fresh, committed):
            log(f"WARNING: assignments/{assignment}/ differs from what its source generates; grading uses the "
                f"source's tests. Run `make release` (and commit) if the release is out of date.")
    return []


def _differs(a: Path, b: Path) -> bool:
    import nbformat

    names_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    names_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts)
    if names_a != names_b:
        return True
    for name in names_a:
        if name.suffix == ".ipynb":
            def norm(p):
                return json.dumps(nbformat.read(p, as_version=4), sort_keys=True)
            if norm(a / name) != norm(b / name):
                return True
        elif not filecmp.cmp(a / name, b / name, shallow=False):
            return True
    return False


def readable(path: Path) -> str | None:
    """None if nbgrader can read the notebook, else why not."""
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as error:  # noqa: BLE001 (any failure to read is the submission's)
        return f"the notebook could not be read ({type(error).__name__}: {' '.join(str(error).split())[:200]})"
    return None


def grade_one(course_dir: Path, assignment: str, student: str) -> dict:
    """Autograde one submission and write its feedback; what happened, for the parent (picklable: this runs in a
    worker process under ``--jobs N``). ``failure`` is nbgrader's error when autograde or feedback failed for a
    reason not yet known to be the submission's (``grade_assignment`` decides, with the release as a probe)."""
    import sandbox_limits
    from nbgrader.api import Gradebook

    start = time.perf_counter()
    api, cfg = load_api(course_dir)
    root = Path(cfg.CourseDirectory.root)
    folder = root / cfg.CourseDirectory.submitted_directory / student / assignment
    outcome = {"student": student, "graded": False, "failure": None}
    grading_status.clear(course_dir, assignment, student)
    notebooks = sorted(folder.glob("*.ipynb"))
    problem = next((f"{nb.name}: {why}" for nb in notebooks if (why := readable(nb))), None)
    if not notebooks:
        problem = "no notebook in the submission folder"
    if problem:
        grading_status.add(course_dir, assignment, student, "abnormal", problem + "; not graded")
        with Gradebook(cfg.CourseDirectory.db_url) as gb:
            gb.update_or_create_student(student)
    else:
        result = api.autograde(assignment, student, force=True)
        step = "autograde"
        if result["success"]:
            outcome["graded"] = True
            result, step = api.generate_feedback(assignment, student, force=True), "feedback"
        if not result["success"]:
            text = f"{result.get('error') or ''}\n{result.get('log') or ''}"
            outcome["failure"] = f"{step} failed: {text[-3000:]}"
            grading_status.add(course_dir, assignment, student, "abnormal", f"{step} failed: {_cause(text)}")
    mine = {str(folder.resolve()), str((root / cfg.CourseDirectory.autograded_directory / student / assignment)
                                       .resolve())}
    for event in [e for e in sandbox_limits.EVENTS if str(Path(e[0]).resolve()) in mine]:
        sandbox_limits.EVENTS.remove(event)  # consumed: a later grading of this student starts clean
        grading_status.add(course_dir, assignment, student, "limit", event[1])
    outcome["seconds"] = round(time.perf_counter() - start, 1)
    return outcome


def _cause(log_text: str) -> str:
    """The line of nbgrader's log that names the exception (nbgrader ends every failure with the same generic
    "Please see the above traceback" line, which says nothing)."""
    lines = [line.strip() for line in log_text.splitlines() if line.strip()]
    named = [line for line in lines if re.match(r"^[\w.]*(Error|Exception|Interrupt)\b.*:", line)
             and "Please see the" not in line]
    return ((named or lines or ["unknown error"])[-1])[:300]


def grade_assignment(course_dir: Path, root: Path, assignment: str, jobs: int = 1) -> tuple[list[str], dict]:
    """Autograde and give feedback for every submission of one assignment; machinery faults and per-student
    seconds. A submission whose autograde or feedback failed is flagged; the failure is a fault of the machinery
    only if the unmodified release fails too (``probe_machinery``)."""
    import grade_parallel

    _, cfg = load_api(course_dir)
    faults = register_assignment(course_dir, assignment)
    if faults:
        return faults, {}
    submitted = root / cfg.CourseDirectory.submitted_directory
    students = sorted(p.parent.name for p in submitted.glob(f"*/{assignment}") if p.is_dir())
    outcomes = grade_parallel.run(grade_one, course_dir, assignment, students, jobs)
    failed = [o for o in outcomes if o["failure"]]
    if failed:
        broken = probe_machinery(course_dir, assignment)
        if broken:
            faults.append(f"{assignment}: the grader fails on the unmodified release too:\n{broken}")
            for o in failed:
                grading_status.add(course_dir, assignment, o["student"], "machinery",
                                   "the grader failed (it fails on the unmodified release too)")
                faults.append(f"{assignment}/{o['student']}: {o['failure']}")
        else:
            for o in failed:
                log(f"{assignment}/{o['student']}: flagged; the grader works on the release, so this submission "
                    f"caused: {o['failure'][-600:]}")
    faults += check_feedback(course_dir, root, cfg, assignment, [o["student"] for o in outcomes if o["graded"]])
    return faults, {o["student"]: o["seconds"] for o in outcomes}


PROBE_STUDENT = "_machinery_probe"


def probe_machinery(course_dir: Path, assignment: str) -> str | None:
    """Autograde and give feedback for the unmodified release as a throwaway student; None if both work (so a
    failure on a submission was that submission's doing), else nbgrader's error. The probe leaves nothing behind:
    not in the gradebook, not in the course folders."""
    import shutil

    import nbformat
    from nbgrader.api import Gradebook

    api, cfg = load_api(course_dir)
    root = Path(cfg.CourseDirectory.root)
    release = root / cfg.CourseDirectory.release_directory / assignment
    folders = [root / getattr(cfg.CourseDirectory, d) / PROBE_STUDENT
               for d in ("submitted_directory", "autograded_directory", "feedback_directory")]
    try:
        shutil.copytree(release, folders[0] / assignment)
        for nb in (folders[0] / assignment).glob("*.ipynb"):
            nbformat.write(nbformat.read(nb, as_version=4), nb)
        for step in (api.autograde, api.generate_feedback):
            result = step(assignment, PROBE_STUDENT, force=True)
            if not result["success"]:
                return f"{result.get('error') or ''}\n{(result.get('log') or '')[-3000:]}"
        return None
    finally:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        grading_status.clear(course_dir, assignment, PROBE_STUDENT)
        with Gradebook(cfg.CourseDirectory.db_url) as gb:
            if any(s.id == PROBE_STUDENT for s in gb.students):
                gb.remove_student(PROBE_STUDENT)  # its submissions go with it


def check_feedback(course_dir: Path, root: Path, cfg, assignment: str, students: list[str]) -> list[str]:
    """Last line of defence: a feedback page that still shows a hidden-test line is withheld (and reported)."""
    from hidden_tests import hidden_test_lines, leaks
    from nbgrader.api import Gradebook

    with Gradebook(cfg.CourseDirectory.db_url) as gb:
        sources = [c.source for nb in gb.find_assignment(assignment).notebooks for c in nb.source_cells]
    hidden = hidden_test_lines(sources)
    faults = []
    for student in students:
        for page in (root / cfg.CourseDirectory.feedback_directory / student / assignment).glob("*.html"):
            found = leaks(page.read_text(errors="replace"), hidden)
            if found:
                page.write_text("<p>Feedback withheld: ask your instructor.</p>\n")
                grading_status.add(course_dir, assignment, student, "machinery",
                                   f"feedback {page.name} withheld: it showed hidden-test text")
                faults.append(f"{assignment}/{student}: feedback showed hidden-test text and was withheld")
    return faults


def export(course_dir: Path) -> Path:
    from grading_export import CourseCsvExport
    from nbgrader.api import Gradebook

    _, cfg = load_api(course_dir)
    exporter = CourseCsvExport(config=cfg)
    Path(exporter.to).parent.mkdir(parents=True, exist_ok=True)
    with Gradebook(cfg.CourseDirectory.db_url) as gb:
        exporter.export(gb)
    return Path(exporter.to)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", action="append", help="grade only this assignment (repeatable)")
    parser.add_argument("--course-dir", default=str(COURSE), help="folder holding nbgrader_config.py")
    parser.add_argument("--jobs", type=int, default=None,
                        help="submissions graded at once, each in its own sandbox (default: the number of cores)")
    parser.add_argument("--unsandboxed", action="store_true",
                        help=f"grade without the sandbox (same as {sandbox.UNSANDBOXED_ENV}=1): student code then "
                             "runs with your permissions")
    args = parser.parse_args(argv)
    # nbgrader shells out to `alembic`, which lives beside this Python in the virtual environment
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    if args.unsandboxed:
        os.environ[sandbox.UNSANDBOXED_ENV] = "1"
    if sandbox.bwrap_path() is None and not sandbox.unsandboxed_allowed():
        log("make grade: bubblewrap (bwrap) is not installed, so student code cannot be sandboxed; refusing to "
            "grade.\n  Install it (Debian/Ubuntu: apt-get install bubblewrap), or grade inside a container (see "
            "course/instructor_guide.md, 'Running untrusted code'),\n  or accept the risk explicitly: "
            "make grade UNSANDBOXED=1")
        return 2
    if sandbox.unsandboxed_allowed():
        log("WARNING: grading WITHOUT a sandbox: every submission's code runs with your permissions.")
    import grade_parallel
    import sandbox_limits

    # a grader stopped by SIGTERM exits through SystemExit, so atexit removes its kernels' scratch folders
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    for stale in sandbox_limits.remove_stale_scratch():
        log(f"removed {stale}, left by a grader that no longer runs")
    jobs = args.jobs or grade_parallel.default_jobs()
    course_dir = Path(args.course_dir).resolve()
    _, cfg = load_api(course_dir)
    root = Path(cfg.CourseDirectory.root)
    submitted = root / cfg.CourseDirectory.submitted_directory
    assignments = args.assignment or sorted({p.name for p in submitted.glob("*/*") if p.is_dir()})
    faults, timings = [], {}
    for assignment in assignments:
        if not (root / cfg.CourseDirectory.source_directory / assignment).is_dir():
            log(f"skipping {assignment}: submissions exist but solutions/{assignment}/ does not")
            continue
        log(f"== {assignment} ({jobs} at a time)")
        start = time.perf_counter()
        found, rows = grade_assignment(course_dir, root, assignment, jobs=jobs)
        log(f"== {assignment}: {len(rows)} submissions in {time.perf_counter() - start:.1f} s")
        faults += found
        timings.update({f"{assignment}/{s}": t for s, t in rows.items()})
    grades = export(course_dir)
    report(course_dir, grades, timings)
    print(f"scores: {grades}; feedback: {root / cfg.CourseDirectory.feedback_directory}/")
    if faults:
        log(f"{len(faults)} grading machinery fault(s):")
        for fault in faults:
            log("  " + fault.replace("\n", "\n    "))
        return 1
    return 0


def report(course_dir: Path, grades: Path, timings: dict) -> None:
    """The scores table on stdout; flagged submissions and edited or deleted cells on stderr."""
    import csv

    with open(grades) as fh:
        table = list(csv.DictReader(fh))
    print(f"{'assignment':<12} {'student':<20} {'score':>11} {'manual':>7} {'seconds':>8} {'kernel cpu':>10}  status")
    for row in table:
        key = f"{row['assignment']}/{row['student_id']}"
        cpu = grading_status.load_timing(course_dir, row["assignment"], row["student_id"]).get("kernel_cpu_s")
        print(f"{row['assignment']:<12} {row['student_id']:<20} {float(row['score']):>5.1f}/"
              f"{float(row['max_score']):<5.1f} {float(row['awaiting_manual_grading'] or 0):>7.1f} "
              f"{timings.get(key, ''):>8} {'' if cpu is None else round(cpu, 1):>10}  {row['status']}")
    flagged = [r for r in table if r["status"].startswith("CHECK")]
    for row in flagged:
        log(f"CHECK {row['assignment']}/{row['student_id']}: {row['notes']}")
    edited = [r for r in table if "edited" in r["notes"] or "deleted" in r["notes"]]
    for row in edited:
        if row not in flagged:
            log(f"NOTE {row['assignment']}/{row['student_id']}: {row['notes']}")


if __name__ == "__main__":
    sys.exit(main())
