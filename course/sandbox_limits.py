"""Hard limits of one sandboxed kernel that the kernel cannot lift: processes, the folder it shares with the host,
and scratch folders that never outlive their grader.

Used by ``sandbox.SandboxedKernelManager``; each limit, and how it is enforced, is listed in ``sandbox.py``'s
docstring and in the instructor guide ("Running untrusted code").

- :class:`PidsCgroup`: a pids cgroup (``pids.max``) holding the kernel and everything it starts. The kernel's
  launcher joins it before it executes bubblewrap, so every descendant is counted, whatever its uid, root
  included (``RLIMIT_NPROC`` is not enforced for real root). Needs a writable cgroup hierarchy with the pids
  controller: cgroup v2 (``/sys/fs/cgroup``) or v1 (``/sys/fs/cgroup/pids``), which a root grader on Debian has.
- :func:`nproc_limit`: when the grader is not root (no cgroup to write), ``RLIMIT_NPROC`` set to what the
  grader's uid already runs plus the kernel's allowance.
- :class:`Watchdog`: a thread of the grader that polls the shared (ipc) folder and the kernel's process count;
  when the folder holds more than its quota, or the kernel reaches its process limit, it kills the kernel and
  records why (:data:`EVENTS`, read by ``grade.py``; the kernel's death is flagged by ``ResilientExecute``).
- :func:`register_scratch` / :func:`remove_stale_scratch`: every scratch folder carries its grader's pid and
  start time; it is removed when the kernel is cleaned up, at the grader's exit (``atexit``), and otherwise by the
  next ``make grade``, which removes those of graders that no longer run.
"""
from __future__ import annotations

import atexit
import os
import shutil
import signal
import stat
import tempfile
import threading
import time
from pathlib import Path

SCRATCH_PREFIX = "biosignal-grade-"
_OWNER_FILE = "grader.pid"

# (kernel's working folder as the grader gave it, message) for each limit a kernel hit, in this process
EVENTS: list[tuple[str, str]] = []
_LIVE_SCRATCH: set[str] = set()
_LOCK = threading.Lock()


# ------------------------------------------------------------------------------------------------ scratch folders
def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat): with the pid, it tells a
    live grader from a later process that reused its pid."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def remove_tree(path: str | Path) -> None:
    """``rmtree`` that also removes what a kernel made unreadable or unwritable (chmod 000 folders).

    Only folders inside ``path`` are ever unlocked: the folder that holds ``path`` (``/tmp`` on a grading server)
    keeps its mode even when ``path`` itself cannot be removed.
    """
    root = os.path.abspath(path)

    def unlock(func, name, _exc):
        try:
            parent = os.path.dirname(os.path.abspath(name))
            if os.path.commonpath([root, parent]) == root:   # never chmod what holds the tree (e.g. /tmp)
                os.chmod(parent, os.stat(parent).st_mode | stat.S_IRWXU)
            if os.path.isdir(name) and not os.path.islink(name):
                os.chmod(name, os.stat(name).st_mode | stat.S_IRWXU)
            func(name)
        except OSError:
            pass
    shutil.rmtree(path, onerror=unlock)


def register_scratch(path: str) -> None:
    """Mark ``path`` as this grader's (removed at exit, and by a later grader if this one dies)."""
    Path(path, _OWNER_FILE).write_text(f"{os.getpid()} {_start_time(os.getpid())}\n")
    with _LOCK:
        _LIVE_SCRATCH.add(path)


def release_scratch(path: str) -> None:
    remove_tree(path)
    with _LOCK:
        _LIVE_SCRATCH.discard(path)


@atexit.register
def _remove_live_scratch() -> None:
    with _LOCK:
        paths = list(_LIVE_SCRATCH)
        _LIVE_SCRATCH.clear()
    for path in paths:
        remove_tree(path)


def remove_stale_scratch(tmp: str | None = None) -> list[Path]:
    """Remove the scratch folders (and empty pids cgroups) of graders that no longer run; the removed folders."""
    removed = []
    for folder in Path(tmp or tempfile.gettempdir()).glob(SCRATCH_PREFIX + "*"):
        try:
            pid, started = (folder / _OWNER_FILE).read_text().split()
            alive = _start_time(int(pid)) == started
        except (OSError, ValueError):
            # no owner file: a grader from before owner files, or one killed while creating it; an hour is
            # far longer than any submission's time limit
            alive = time.time() - folder.stat().st_mtime < 3600
        if not alive and folder.is_dir():
            remove_tree(folder)
            removed.append(folder)
    base = _pids_hierarchy()
    for group in base.glob(SCRATCH_PREFIX + "*") if base is not None else ():
        pid = group.name[len(SCRATCH_PREFIX):].split("-")[0]
        if pid.isdigit() and _start_time(int(pid)) is None:
            try:  # the pids cgroup of a dead grader's kernel: empty once its processes are gone
                group.rmdir()
            except OSError:
                continue
    return removed


# ------------------------------------------------------------------------------------------------ process limit
def nproc_limit(allowance: int) -> int:
    """``RLIMIT_NPROC`` for a kernel started by a non-root grader: the threads the grader's uid runs now (all
    its processes count against the limit) plus ``allowance``."""
    uid, count = os.getuid(), 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                continue
    return count + allowance


class PidsCgroup:
    """A pids cgroup for one kernel, or ``path is None`` when no writable pids hierarchy exists here."""

    def __init__(self, max_tasks: int):
        self.path: Path | None = None
        base = _pids_hierarchy()
        if base is None:
            return
        path = base / f"{SCRATCH_PREFIX}{os.getpid()}-{time.monotonic_ns()}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(str(max_tasks))
        except OSError:
            if path.is_dir():
                path.rmdir()
            return
        self.path = path

    def current(self) -> int:
        try:
            return int((self.path / "pids.current").read_text())
        except (OSError, ValueError, TypeError):
            return 0

    def limit_hit(self) -> bool:
        """Whether a fork or clone in the group was refused for its limit (the ``max`` counter of pids.events)."""
        try:
            events = dict(line.split() for line in (self.path / "pids.events").read_text().splitlines())
            return int(events.get("max", 0)) > 0
        except (OSError, ValueError, TypeError):
            return False

    def remove(self) -> None:
        if self.path is None:
            return
        kill = self.path / "cgroup.kill"  # cgroup v2 (Linux 5.14+): kills every member at once
        for _ in range(50):
            try:
                if kill.exists():
                    kill.write_text("1")
                else:
                    for pid in (self.path / "cgroup.procs").read_text().split():
                        os.kill(int(pid), signal.SIGKILL)
                self.path.rmdir()
                self.path = None
                return
            except OSError:
                time.sleep(0.1)


def _pids_hierarchy() -> Path | None:
    """A cgroup folder where this process may create pids-limited groups: v2's root, or v1's pids hierarchy."""
    v2 = Path("/sys/fs/cgroup")
    if (v2 / "cgroup.controllers").is_file():
        # systemd enables pids for the root's children already; elsewhere enable it (only root can)
        if "pids" not in (v2 / "cgroup.subtree_control").read_text().split():
            try:
                (v2 / "cgroup.subtree_control").write_text("+pids")
            except OSError:
                return None
        return v2 if os.access(v2, os.W_OK) else None
    v1 = v2 / "pids"
    return v1 if (v1 / "cgroup.procs").is_file() and os.access(v1, os.W_OK) else None


def _pid_namespace_tasks(pid: int) -> int:
    """Threads of every process in the pid namespace of ``pid``'s child (bwrap's sandbox), for a grader without
    a cgroup (the watchdog's count when RLIMIT_NPROC does the limiting)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        target = os.readlink(f"/proc/{children[0]}/ns/pid") if children else None
    except (OSError, IndexError):
        return 0
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if os.readlink(f"/proc/{entry.name}/ns/pid") == target:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                continue
    return count


# ------------------------------------------------------------------------------------------------ the watchdog
def folder_usage(folder: Path) -> tuple[int, int]:
    """(bytes allocated on disk, entries) under ``folder``; symlinks are not followed."""
    used, entries = 0, 0
    stack = [str(folder)]
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    entries += 1
                    info = entry.stat(follow_symlinks=False)
                    used += max(info.st_blocks * 512, 0)
                    if stat.S_ISDIR(info.st_mode):
                        stack.append(entry.path)
        except OSError:
            continue
    return used, entries


class Watchdog(threading.Thread):
    """Polls one kernel's shared folder and process count; kills the kernel (``kill()``) at a limit."""

    def __init__(self, *, pid: int, cwd: str, shared: Path, quota_bytes: int, max_entries: int, max_tasks: int,
                 cgroup: PidsCgroup, kill, interval_s: float = 0.1):
        super().__init__(daemon=True, name=f"sandbox-watchdog-{pid}")
        self.pid, self.cwd, self.shared, self.cgroup, self.kill = pid, cwd, shared, cgroup, kill
        self.quota_bytes, self.max_entries, self.max_tasks, self.interval_s = (
            quota_bytes, max_entries, max_tasks, interval_s)
        self.stopped = threading.Event()
        self.reason: str | None = None

    def run(self) -> None:
        while not self.stopped.wait(self.interval_s):
            reason = self._over_limit()
            if reason:
                self.reason = reason
                self.kill()
                with _LOCK:
                    EVENTS.append((self.cwd, reason))
                return

    def _over_limit(self) -> str | None:
        used, entries = folder_usage(self.shared)
        if used > self.quota_bytes or entries > self.max_entries:
            return (f"the kernel wrote {used / 2**20:.0f} MiB in {entries} files into the folder it shares with the "
                    f"grader (quota {self.quota_bytes / 2**20:g} MiB, {self.max_entries} files); it was stopped")
        if self.cgroup.path is not None:
            hit = self.cgroup.limit_hit()
        else:
            hit = _pid_namespace_tasks(self.pid) >= self.max_tasks - 2
        if hit:
            return f"the kernel reached its limit of {self.max_tasks} processes and threads; it was stopped"
        return None
