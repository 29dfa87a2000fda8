"""Hard limits of the grading sandbox (issue 17): a submission cannot exhaust the host, and leaves nothing behind.

One module-scoped ``make grade`` run (``course/grade.py``, in-process, two submissions at a time) grades a tiny
assignment, in a throwaway course with its own temporary folder, submitted by a correct student and by students
who each end their notebook with one attack: a fork bomb (1,500 processes), 2 GiB into ``/dev/shm``, 1 GiB into
the folder the kernel shares with the grader, and a kernel that kills itself.
"""
from __future__ import annotations

import os
import sys
import time

import nbformat
import pytest
from conftest import ROOT, require_tool
from nbformat.v4 import new_code_cell
from test_grading import (
    api_for,
    check,
    copy_course,
    solved,
    submit,
    tiny_source,
)

pytestmark = pytest.mark.grading

require_tool("bwrap", "apt-get install bubblewrap (.ci/run installs it)")

sys.path.insert(0, str(ROOT / "course"))

FORK_BOMB = """import subprocess
procs = []
try:
    for _ in range(1500):
        procs.append(subprocess.Popen(["sleep", "300"]))
    print("FORKS", len(procs))
except OSError as error:
    print("FORKS refused after", len(procs), type(error).__name__)
"""
# 16 MiB files, so the per-file size limit (RLIMIT_FSIZE) does not stop it first: only the size of /dev/shm can
FILL_SHM = """written = 0
try:
    for n in range(128):
        with open(f"/dev/shm/fill-{n}", "wb") as fh:
            for _ in range(16):
                fh.write(b"x" * 2**20)
                written += 1
    print("SHM", written, "none")
except OSError as error:
    print("SHM", written, type(error).__name__)
"""
FILL_SHARED = """import os
from ipykernel.connect import get_connection_file
shared = os.path.dirname(get_connection_file())
print("SHARED", shared, flush=True)
for n in range(64):
    with open(os.path.join(shared, f"fill-{n}"), "wb") as fh:
        for _ in range(16):
            fh.write(b"x" * 2**20)
print("SHARED wrote 1 GiB")
"""
SUICIDE = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"


def _ending_with(nb, source):
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    nb.cells.append(new_code_cell(source))
    return nb


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    import grade

    base = tmp_path_factory.mktemp("limits")
    root = copy_course(base / "repo")
    config = root / "course" / "nbgrader_config.py"
    config.write_text(config.read_text() + "\nc.Execute.timeout = 30\nc.ResilientExecute.submission_timeout = 90\n")
    (root / "solutions" / "tiny").mkdir(parents=True)
    nbformat.write(tiny_source(), root / "solutions" / "tiny" / "tiny.ipynb")
    check(api_for(root).generate_assignment("tiny"), "generate_assignment")
    release = nbformat.read(root / "assignments" / "tiny" / "tiny.ipynb", as_version=4)
    good = solved(release, tiny_source())
    attacks = {"forkbomb": FORK_BOMB, "shm": FILL_SHM, "shared": FILL_SHARED, "suicide": SUICIDE}
    submit(root, "correct", "tiny", good)
    for student, source in attacks.items():
        submit(root, student, "tiny", _ending_with(good, source))
    tmp = base / "tmp"  # this grader's own temporary folder: what is left there is this run's
    tmp.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TMPDIR", str(tmp))
        mp.setattr("tempfile.tempdir", None)
        start = time.perf_counter()
        exit_code = grade.main(["--course-dir", str(root / "course"), "--jobs", "2"])
        seconds = time.perf_counter() - start
    import csv

    with open(root / "build" / "grades.csv") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    return {"root": root, "exit_code": exit_code, "rows": rows, "tmp": tmp, "seconds": seconds}


def _printed(h, student: str, marker: str) -> str | None:
    path = h["root"] / "course" / "autograded" / student / "tiny" / "tiny.ipynb"
    if not path.is_file():  # autograde failed (flagged): nothing printed reached the grader
        return None
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and marker in out.get("text", ""):
                return out["text"].split(marker, 1)[1].strip().splitlines()[0]
    return None


def test_misbehaving_submissions_do_not_stop_the_batch(limited):
    assert limited["exit_code"] == 0
    assert limited["rows"]["correct"]["status"] == "ok"
    assert float(limited["rows"]["correct"]["score"]) == 3.0
    assert (limited["root"] / "course" / "feedback" / "correct" / "tiny" / "tiny.html").is_file()


def test_fork_bomb_is_contained_and_flagged(limited):
    row = limited["rows"]["forkbomb"]
    assert row["status"].startswith("CHECK"), row
    assert "limit of 512 processes" in row["notes"], row["notes"]
    printed = _printed(limited, "forkbomb", "FORKS")
    assert printed is None or "refused" in printed, printed
    # the kernel is killed after the bomb, its last cell: the points earned before it stand
    assert float(row["score"]) == 3.0, row


def test_dev_shm_is_private_and_size_limited(limited):
    printed = _printed(limited, "shm", "SHM")
    assert printed is not None, "the /dev/shm cell printed nothing"
    mib, error = printed.split()
    assert error == "OSError" and int(mib) <= 64, f"2 GiB into /dev/shm: {printed}"
    assert not any(p.name.startswith("fill-") for p in __import__("pathlib").Path("/dev/shm").iterdir())


def test_writing_into_the_shared_folder_is_stopped_and_flagged(limited):
    row = limited["rows"]["shared"]
    assert row["status"].startswith("CHECK"), row
    assert "folder it shares with the grader" in row["notes"], row["notes"]
    assert _printed(limited, "shared", "SHARED wrote") is None


def test_no_scratch_folder_survives_any_kernel(limited):
    left = sorted(p.name for p in limited["tmp"].iterdir())
    assert left == [], f"left in the grader's temporary folder: {left}"


def test_stale_scratch_of_a_dead_grader_is_removed_and_a_live_one_kept(tmp_path):
    import subprocess

    import sandbox_limits

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale, live = tmp_path / "biosignal-grade-stale", tmp_path / "biosignal-grade-live"
    for folder, pid in ((stale, dead.pid), (live, os.getpid())):
        (folder / "ipc").mkdir(parents=True)
        (folder / "ipc" / "big").write_bytes(b"x" * 1024)
        (folder / "grader.pid").write_text(f"{pid} {sandbox_limits._start_time(pid) or 0}\n")
    os.chmod(stale / "ipc", 0)  # a kernel may leave folders it made unreadable
    before = tmp_path.stat().st_mode
    removed = sandbox_limits.remove_stale_scratch(str(tmp_path))
    assert removed == [stale] and not stale.exists() and live.is_dir()
    assert tmp_path.stat().st_mode == before  # the folder holding the scratch folders (/tmp) keeps its mode


def test_removing_a_scratch_folder_never_changes_the_folder_that_holds_it(tmp_path):
    import sandbox_limits

    holder = tmp_path / "holder"
    (holder / "scratch" / "locked").mkdir(parents=True)
    (holder / "scratch" / "locked" / "f").write_text("x")
    os.chmod(holder / "scratch" / "locked", 0)
    os.chmod(holder, 0o1777)  # like /tmp
    sandbox_limits.remove_tree(holder / "scratch")
    assert not (holder / "scratch").exists()
    assert oct(holder.stat().st_mode & 0o7777) == "0o1777"
    sandbox_limits.remove_tree(holder / "absent")  # nothing to remove: the holder is still untouched
    assert oct(holder.stat().st_mode & 0o7777) == "0o1777"
