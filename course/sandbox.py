"""Run a student's kernel in a sandbox: the autograder's kernel manager.

Autograding executes untrusted code. nbgrader itself (sanitising, restoring cells, scoring, the gradebook,
feedback) stays outside, trusted; only the Jupyter kernel that runs the student's cells is started inside
bubblewrap (``bwrap``, Linux user namespaces). Inside, the kernel sees

- a scratch copy of the one submission's folder (its working directory: the files read-only in a writable,
  size-limited, in-memory folder, thrown away afterwards);
- the operating system (``/usr``, ``/etc`` without its secrets), the Python installation and the ``helpers``
  package, read-only;
- an empty private ``/tmp``, home directory and data cache (``$BIOSIGNAL_DATA``), discarded at the end;

and nothing else: not the repository (``solutions/``, ``course/gradebook.db``, other submissions), not the real
``$HOME`` or data cache, no network (``--unshare-net``: the kernel talks to the grader through Unix sockets in the
scratch folder). It gets a clean environment (CI-sized run mode, no inherited secrets).

Hard limits per kernel (defaults; traits of :class:`SandboxedKernelManager`), each enforced outside the kernel's
reach (see also the instructor guide, "Running untrusted code"):

- memory: ``RLIMIT_AS`` 4096 MiB of address space, set by the launcher before bubblewrap starts;
- largest file: ``RLIMIT_FSIZE`` 512 MiB, likewise (af_cnn's synthetic data cache is one 121 MiB file);
- processes and threads: 512 (or 4 per core on a machine with more than 128), as a pids cgroup (``pids.max``) that the launcher joins before it starts
  bubblewrap, when the grader may create one (root on Debian: cgroup v2 ``/sys/fs/cgroup`` or v1
  ``/sys/fs/cgroup/pids``); otherwise, for a grader that is not root, ``RLIMIT_NPROC`` = what the grader's uid
  already runs + 512 (not enforced for real root, hence the cgroup). A grader that is root without a writable
  cgroup hierarchy logs a warning: the watchdog below still stops a kernel that reaches the count, but the
  kernel could fork faster than it polls. The kernel is stopped and flagged when it reaches the limit;
- ``/tmp`` (home and data cache), the working folder and ``/dev/shm``: private in-memory file systems of 1024,
  1024 and 64 MiB (bubblewrap ``--size``; ``/dev/shm`` is mounted over the ``--dev`` one, so never the host's);
- the one host folder the kernel can write, ``ipc/`` of the scratch folder (its Unix sockets and connection
  file): a watchdog thread of the grader (``sandbox_limits.Watchdog``) polls it every 0.1 s and kills the kernel
  when it holds more than 8 MiB or 64 entries, so at most 8 MiB + a poll's worth of writing (capped per file by
  ``RLIMIT_FSIZE``) ever lands on the host's disk, and only until the scratch folder is removed;
- scratch folders: removed when the kernel is cleaned up, at the grader's exit (``atexit``, also after
  Ctrl-C or SIGTERM), and those of graders that died are removed at the start of ``make grade``;
- time: the per-cell and per-submission limits are enforced by the grader
  (``trusted_execute.ResilientExecute``).

A limit reached is recorded in ``sandbox_limits.EVENTS``; ``make grade`` turns it into a ``CHECK:`` status.

Without ``bwrap`` the kernel manager refuses to start a kernel unless ``BIOSIGNAL_GRADE_UNSANDBOXED=1`` is set
(``make grade UNSANDBOXED=1``): the instructor must ask for unsandboxed grading explicitly.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import sandbox_limits
from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Float, Integer, List, Unicode, default

UNSANDBOXED_ENV = "BIOSIGNAL_GRADE_UNSANDBOXED"
_TRUE = {"1", "true", "yes", "on"}

# The run mode of every autograded kernel, whoever starts autograding (make grade, nbgrader autograde, the
# formgrader): nbgrader cannot pass papermill parameters, and helpers.notebook.course.run_mode reads these.
GRADING_ENV = {"BIOSIGNAL_FAST": "1", "BIOSIGNAL_DATA_SOURCE": "synthetic"}

# Launches bwrap with SIGINT ignored: jupyter_client interrupts a kernel by signalling its process group, and
# bwrap (the group leader outside) would die of it and take the kernel down. ipykernel installs its own SIGINT
# handler while it runs a cell, so the kernel itself is still interrupted. Limits set here are inherited.
# It joins the kernel's pids cgroup first, so bubblewrap and all it starts are counted.
_LAUNCHER = """\
import json, os, resource, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
limits = json.loads(sys.argv[1])
if limits["cgroup_procs"]:
    with open(limits["cgroup_procs"], "w") as fh:
        fh.write(str(os.getpid()))
for name in ("AS", "FSIZE", "NPROC"):
    if limits[name] > 0:
        resource.setrlimit(getattr(resource, "RLIMIT_" + name), (limits[name], limits[name]))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
os.execvp(sys.argv[2], sys.argv[2:])
"""


_ETC_SECRET_FILES = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/security/opasswd")
_ETC_SECRET_DIRS = ("/etc/ssh", "/etc/ssl/private", "/etc/sudoers.d")


def bwrap_path() -> str | None:
    """The bubblewrap executable, or None when it is not installed."""
    return shutil.which("bwrap")


def unsandboxed_allowed() -> bool:
    return os.environ.get(UNSANDBOXED_ENV, "").strip().lower() in _TRUE


class SandboxUnavailable(RuntimeError):
    pass


def _python_paths() -> list[Path]:
    """What the kernel's Python needs to import the course's packages, read-only: the interpreter's installation
    (which may live under $HOME, e.g. pyenv), the virtual environment, and the ``helpers`` package (an editable
    install points into the repository, which is otherwise hidden)."""
    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), Path(sys.executable).resolve().parent}
    spec = importlib.util.find_spec("helpers")
    if spec is not None and spec.submodule_search_locations:
        paths.update(Path(p) for p in spec.submodule_search_locations)
    return sorted(p.resolve() for p in paths if p.exists())


class SandboxedKernelManager(AsyncKernelManager):
    """``AsyncKernelManager`` that starts the kernel inside bubblewrap on a scratch copy of its working folder."""

    sandbox = Bool(True, help="Run the kernel in bwrap (False only for debugging; see UNSANDBOXED_ENV).").tag(
        config=True)
    memory_limit_mb = Integer(
        4096, help="Address-space limit of the kernel (RLIMIT_AS), MiB; 0 for none. A FAST-mode af_cnn kernel peaks "
        "at 2.1 GiB of address space (0.85 GiB resident; torch and BLAS reserve more than they use).").tag(
        config=True)
    file_size_limit_mb = Integer(512, help="Largest file the kernel may write (RLIMIT_FSIZE), MiB: af_cnn's synthetic "
                                 "data cache is one 121 MiB HDF5 file.").tag(config=True)
    tmp_size_mb = Integer(1024, help="Size of the kernel's private /tmp (home and data cache live there) and, "
                          "separately, of its working folder, MiB.").tag(config=True)
    shm_size_mb = Integer(64, help="Size of the kernel's private /dev/shm, MiB.").tag(config=True)
    max_tasks = Integer(help="Processes and threads of the kernel and all it starts (pids cgroup, or RLIMIT_NPROC "
                        "for a grader that is not root); default max(512, 4 per core): torch and TensorFlow size "
                        "their thread pools by the machine's cores.").tag(config=True)
    shared_quota_mb = Integer(8, help="Most the kernel may hold in the one host folder it can write (its sockets' "
                              "folder), MiB; beyond it the kernel is stopped.").tag(config=True)
    shared_max_entries = Integer(64, help="Most files and folders in that shared folder.").tag(config=True)
    watchdog_interval_s = Float(0.1, help="Seconds between the watchdog's checks of the limits.").tag(config=True)
    hidden_paths = List(Unicode(), help="Extra host paths the kernel must not see even if under a bound path.").tag(
        config=True)

    @default("max_tasks")
    def _max_tasks_default(self) -> int:
        return max(512, 4 * (os.cpu_count() or 1))

    _scratch: str | None = None
    _cgroup: sandbox_limits.PidsCgroup | None = None
    _watchdog: sandbox_limits.Watchdog | None = None
    _source_cwd: str = ""

    async def _async_pre_start_kernel(self, **kw):
        use_sandbox = self.sandbox and not unsandboxed_allowed()
        if use_sandbox and bwrap_path() is None:
            raise SandboxUnavailable(
                "bubblewrap (bwrap) is not installed, so the student's code cannot be sandboxed. Install it "
                "(Debian/Ubuntu: apt-get install bubblewrap), grade in a container (see course/instructor_guide.md), "
                f"or accept the risk explicitly with {UNSANDBOXED_ENV}=1 (make grade UNSANDBOXED=1).")
        self._release_sandbox()  # after a restart (shutdown with restart=True keeps them): fresh ones
        self._scratch = tempfile.mkdtemp(prefix=sandbox_limits.SCRATCH_PREFIX)
        sandbox_limits.register_scratch(self._scratch)
        scratch = Path(self._scratch)
        work, ipc, tmp = scratch / "work", scratch / "ipc", scratch / "tmp"
        ipc.mkdir()
        tmp.mkdir()
        source = kw.get("cwd")
        self._source_cwd = str(source or "")
        if source and Path(source).is_dir():
            # only this submission's folder; notebooks from the grader's side are not needed by the kernel
            shutil.copytree(source, work, symlinks=False, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        else:
            work.mkdir()
        if use_sandbox:
            self.transport = "ipc"
            self.ip = str(ipc / "kernel")
        self.connection_file = str(ipc / "kernel.json")
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        home = "/tmp/home" if use_sandbox else str(tmp / "home")
        kw["env"] = self._kernel_env(home, kw.get("env") or {})
        kw["cwd"] = str(work)
        # the kernel's own stdout/stderr (not the cells' outputs, which travel as messages) would otherwise land
        # on the grader's terminal, where a submission could flood it
        kw["stdout"] = kw["stderr"] = subprocess.DEVNULL
        if use_sandbox:
            kernel_cmd = self._sandboxed(kernel_cmd, work, ipc)
        else:
            self.log.warning("Grading WITHOUT a sandbox (%s=1): the student's code runs with your permissions",
                             UNSANDBOXED_ENV)
        return kernel_cmd, kw

    def _kernel_env(self, home: str, launch_env: dict) -> dict:
        env = {
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": home,
            "TMPDIR": "/tmp" if home.startswith("/tmp/") else str(Path(home).parent),
            "LANG": "C.UTF-8",
            "IPYTHONDIR": f"{home}/.ipython",
            "MPLCONFIGDIR": f"{home}/.matplotlib",
            "MPLBACKEND": "agg",
            "BIOSIGNAL_DATA": f"{home}/biosignal-data",
            "PYTHONDONTWRITEBYTECODE": "1",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            **GRADING_ENV,
        }
        env.update({k: v for k, v in launch_env.items() if k.startswith("JPY_")})
        for d in ("IPYTHONDIR", "MPLCONFIGDIR", "BIOSIGNAL_DATA"):
            if not env[d].startswith("/tmp/"):
                Path(env[d]).mkdir(parents=True, exist_ok=True)
        return env

    def _sandboxed(self, kernel_cmd: list[str], work: Path, ipc: Path) -> list[str]:
        # no --new-session: the grader interrupts the kernel by signalling bwrap's process group
        args = [bwrap_path(), "--die-with-parent", "--unshare-all", "--cap-drop", "ALL"]
        # jupyter_client's launcher sets JPY_PARENT_PID; seen from inside the pid namespace that pid is not the
        # kernel's parent, and the kernel would exit at once. --die-with-parent does that job instead.
        args += ["--unsetenv", "JPY_PARENT_PID"]
        for top in ("/usr", "/etc", "/sys"):
            if Path(top).is_dir():
                args += ["--ro-bind", top, top]
        # the kernel runs as root inside when the grader does (without capabilities, but owning root's files):
        # hide what root can read in /etc that a submission could print into its own feedback
        for secret in _ETC_SECRET_FILES:
            if Path(secret).is_file():
                args += ["--ro-bind", "/dev/null", secret]
        for secret in _ETC_SECRET_DIRS:
            if Path(secret).is_dir():
                args += ["--tmpfs", secret]
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
            p = Path(top)
            if p.is_symlink():
                args += ["--symlink", os.readlink(top), top]
            elif p.is_dir():
                args += ["--ro-bind", top, top]
        # a private, size-limited /dev/shm over the one --dev provides (shared memory is memory: not the host's)
        args += ["--proc", "/proc", "--dev", "/dev", "--size", str(self.shm_size_mb * 1024 * 1024), "--tmpfs",
                 "/dev/shm"]
        args += ["--size", str(self.tmp_size_mb * 1024 * 1024), "--tmpfs", "/tmp", "--dir", "/tmp/home"]
        for p in _python_paths():
            args += ["--ro-bind", str(p), str(p)]
        for p in self.hidden_paths:
            if Path(p).exists():
                args += ["--tmpfs", p]
        # the working folder is a size-limited tmpfs holding the submission's files read-only: what the kernel
        # writes there stays in memory and vanishes with it, and cannot fill the grader's disk
        args += ["--size", str(self.tmp_size_mb * 1024 * 1024), "--tmpfs", str(work)]
        for entry in sorted(work.iterdir()):
            args += ["--ro-bind", str(entry), str(entry)]
        args += ["--bind", str(ipc), str(ipc), "--chdir", str(work)]
        return self._launcher() + args + ["--"] + kernel_cmd

    def _launcher(self) -> list[str]:
        """The launcher's command line: the rlimits, and the pids cgroup it joins (see the module docstring)."""
        self._cgroup = sandbox_limits.PidsCgroup(self.max_tasks)
        nproc = 0
        if self._cgroup.path is None:
            if os.getuid() == 0:
                self.log.warning("No writable pids cgroup here and RLIMIT_NPROC does not bind root: the kernel's "
                                 "process count is only watched (every %g s), not enforced", self.watchdog_interval_s)
            else:
                nproc = sandbox_limits.nproc_limit(self.max_tasks)
        limits = {"AS": self.memory_limit_mb * 2**20, "FSIZE": self.file_size_limit_mb * 2**20, "NPROC": nproc,
                  "cgroup_procs": str(self._cgroup.path / "cgroup.procs") if self._cgroup.path else ""}
        return [sys.executable, "-c", _LAUNCHER, json.dumps(limits)]

    async def _async_post_start_kernel(self, **kw) -> None:
        process = getattr(self.provisioner, "process", None)
        if self._cgroup is not None and process is not None:
            self._watchdog = sandbox_limits.Watchdog(
                pid=process.pid, cwd=self._source_cwd, shared=Path(self._scratch) / "ipc",
                quota_bytes=self.shared_quota_mb * 2**20, max_entries=self.shared_max_entries,
                max_tasks=self.max_tasks, cgroup=self._cgroup, kill=self._kill_sandbox,
                interval_s=self.watchdog_interval_s)
            self._watchdog.start()
        await super()._async_post_start_kernel(**kw)

    def _kill_sandbox(self) -> None:
        """SIGKILL bubblewrap's process group; with --die-with-parent and its own pid namespace, the kernel and
        every process it started die with it."""
        process = getattr(self.provisioner, "process", None)
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except OSError:
                process.kill()
        if self._scratch:
            # what the kernel wrote into the shared folder goes now, not when nbclient gets round to cleaning up
            for entry in (Path(self._scratch) / "ipc").iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    sandbox_limits.remove_tree(entry)
                elif entry.name != "kernel.json" and not entry.is_socket():
                    entry.unlink(missing_ok=True)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            self._release_sandbox()

    def _release_sandbox(self) -> None:
        """Stop the watchdog, remove the pids cgroup and the scratch folder (idempotent)."""
        if self._watchdog is not None:
            self._watchdog.stopped.set()
            self._watchdog = None
        if self._cgroup is not None:
            self._cgroup.remove()
            self._cgroup = None
        if self._scratch:
            sandbox_limits.release_scratch(self._scratch)
            self._scratch = None

    # jupyter_client binds the public name to its own coroutine function: a client that cleans up after a dead
    # kernel (nbclient calls cleanup_resources alone) would skip the override above and leave the scratch folder
    cleanup_resources = _async_cleanup_resources
