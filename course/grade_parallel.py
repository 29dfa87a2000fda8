"""``make grade JOBS=N``: grade N submissions at once, each in its own sandbox, with one gradebook written safely.

Each submission is graded by ``grade.grade_one`` in a worker process (spawned, so no worker inherits the
parent's open gradebook connection or threads); every kernel is its own sandbox (``sandbox.py``), with its own
pids cgroup, scratch folder and limits.

The gradebook is nbgrader's SQLite database, written by every worker. SQLite serialises writers itself: one
holds the write lock, the others get ``SQLITE_BUSY`` ("database is locked") and, with a busy timeout, wait and
retry instead of failing. nbgrader's ``Gradebook`` opens its engine with ``create_engine(db_url)`` and no
timeout option, and Python's ``sqlite3`` waits only 5 s by default, which a busy 2-core machine can exceed;
so every process here sets ``PRAGMA busy_timeout`` on each new SQLite connection (a SQLAlchemy ``connect``
event on all engines). The wait-and-retry is safe because Python's ``sqlite3`` opens a transaction only at the
first write (reads run outside transactions), so a writer never holds a read lock that another writer waits on
(the one case where SQLite returns BUSY at once instead of calling the busy handler). Private gradebook copies
merged by the parent would avoid the lock altogether but would re-implement nbgrader's submission model (grades,
comments, penalties) in the merge; the writes of one autograde take milliseconds beside the tens of seconds of
running a notebook, so waiting costs nothing measurable.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

BUSY_TIMEOUT_MS = 120_000


def _busy_timeout(dbapi_connection, _record) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def wait_on_locked_gradebook() -> None:
    """Every SQLite connection this process opens from now on waits up to BUSY_TIMEOUT_MS for a writer."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", _busy_timeout):
        event.listen(Engine, "connect", _busy_timeout)


def _exit_on_sigterm(signum, _frame) -> None:
    # SystemExit runs atexit handlers, which remove this process's live sandbox scratch folders
    sys.exit(128 + signum)


def _init_worker() -> None:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    wait_on_locked_gradebook()


def _grade_in_worker(course_dir: Path, assignment: str, student: str) -> dict:
    import grade

    return grade.grade_one(course_dir, assignment, student)


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run(grade_one, course_dir: Path, assignment: str, students: list[str], jobs: int) -> list[dict]:
    """``grade_one(course_dir, assignment, student)`` for every student, ``jobs`` at a time; outcomes in student
    order. ``jobs <= 1`` grades in this process, one after another."""
    wait_on_locked_gradebook()
    if jobs <= 1 or len(students) <= 1:
        return [grade_one(course_dir, assignment, s) for s in students]
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(students)), initializer=_init_worker,
                               mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = [pool.submit(_grade_in_worker, course_dir, assignment, s) for s in students]
        outcomes = [f.result() for f in futures]
    except BaseException:
        # interrupted (Ctrl-C, SIGTERM) or a worker crashed: stop the others now; each removes its scratch
        # folders on SIGTERM, and `make grade` removes those of any process that could not
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return outcomes
