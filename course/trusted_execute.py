"""Autograding that decides outside the student's process: ``ResilientExecute``.

Every non-test code cell of a submission runs, in order, in a sandboxed kernel (``sandbox.py``). An autograder
test cell never goes to the kernel: ``trusted_checker`` runs its full source (hidden tests included, from the
gradebook) here, asking the kernel only for values through ``kernel_rpc`` (see ``trusted_checker``'s docstring
for why no code in the kernel can change a score). Limits:

- a per-cell timeout (test cells too: a kernel request that hangs is cut off at the cell's limit) and a
  per-submission limit; cells after the latter are marked "not run";
- a cell (or a test's kernel request) that ignores the interrupt costs that cell only: the kernel is killed, a
  fresh sandboxed kernel replays the non-test cells that had succeeded before, and grading goes on (cells that
  needed what the runaway cell failed to define fail on their own);
- a kernel that dies (a crash, ``os._exit``, out of memory) marks every later code cell "not run".

Anything abnormal is recorded in the submission's grading status (``grading_status.py``).
"""
from __future__ import annotations

import ast
import os
import signal
import time
from pathlib import Path

import grading_status
import nbformat
import rpc_codec
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute
from remote_proxy import KernelLink
from sandbox import SandboxedKernelManager
from traitlets import Float
from trusted_checker import (
    TrustedNamespace,
    add_trusted_imports,
    run_test_cell,
    visible_modules,
)

_COURSE = Path(__file__).resolve().parent
# installed in the kernel as modules _course_rpc_codec and _course_rpc (see kernel_rpc.py)
_RPC_SOURCES = {"_course_rpc_codec": (_COURSE / "rpc_codec.py").read_text(),
                "_course_rpc": (_COURSE / "kernel_rpc.py").read_text()}
KERNEL_DIED = "KernelDied"


def _error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _is_test(cell) -> bool:
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


class ResilientExecute(Execute):
    """nbgrader's ``Execute`` for untrusted submissions (see the module docstring)."""

    submission_timeout = Float(
        600.0, help="Seconds for the whole submission (all cells); cells after it are marked not run.").tag(
        config=True)
    interrupt_grace = Float(
        5.0, help="Seconds a kernel gets to answer after a test's request was interrupted; then it is killed as "
                  "a runaway (and restarted).").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        self._kernel_dead = None   # None, or why later cells cannot run
        self._started = time.monotonic()
        self._deadline = self._started + self.submission_timeout
        self._kernel_cpu_s = None
        self._resources_for_status = resources
        self._succeeded = []       # indices of non-test cells that ran without error (replayed after a restart)
        self._rpc_ready = False
        self._runaway = False
        self._kernel_gone = False  # the kernel died during a test cell's request
        self._test_streams = []    # (name, text) the kernel printed during the current test cell's requests
        self._test_cells_s = 0.0   # seconds in test cells (kernel requests included), for the timing record
        self._link = KernelLink(self._transport)
        self._namespace = None
        self._test_sources = {}
        self._warm_modules = []    # modules the notebook's visible code imports, imported in the kernel early
        return super().preprocess(nb, resources, km=km)

    # ------------------------------------------------------------------------------------------ bookkeeping
    def _flag(self, message: str) -> None:
        self.log.error("Submission did not grade normally: %s", message)
        try:
            grading_status.add_from_resources(self._resources_for_status, "abnormal", message)
        except (KeyError, TypeError):  # run outside nbgrader's converters (no student): log only
            pass

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        remaining = max(1, int(self._deadline - time.monotonic()))
        return remaining if timeout is None else min(timeout, remaining)

    def _cell_deadline(self) -> float:
        return time.monotonic() + self._get_timeout(None)

    # ------------------------------------------------------------------------------------ talking to the kernel
    def _wait(self, msg_id: str, timeout: float):
        old, self.timeout = self.timeout, max(1, int(timeout + 0.999))
        try:
            return self.wait_for_reply(msg_id)
        finally:
            self.timeout = old

    def _kernel_call(self, expression: str, timeout: float = 60, streams: list | None = None) -> str | None:
        """Evaluate one expression in the kernel through ``user_expressions`` (no cell, no history); the repr of
        its value, or None if it failed or did not answer in time (the kernel is interrupted then). What the
        kernel printed meanwhile is appended to ``streams`` as (name, text) when given."""
        try:
            msg_id = self.kc.execute("", silent=True, store_history=False, user_expressions={"r": expression})
            reply = self._wait(msg_id, timeout)
            if reply is None:   # timed out and interrupted: give it a moment, or it is a runaway
                self._runaway = self._wait(msg_id, self.interrupt_grace) is None
                return None
            if streams is not None and reply is not None:
                self._collect_streams(msg_id, streams)
        except DeadKernelError:
            raise
        except Exception as error:  # noqa: BLE001 (any failure here is a kernel that did not answer)
            self.log.warning("Kernel call failed: %s", error)
            return None
        result = (reply or {}).get("content", {}).get("user_expressions", {}).get("r", {})
        if result.get("status") != "ok":
            return None
        return result.get("data", {}).get("text/plain")

    def _collect_streams(self, msg_id: str, streams: list, timeout: float = 2.0) -> None:
        """stdout/stderr the kernel printed while answering ``msg_id`` (until its idle status). Other messages
        are dropped: nbclient skips messages of other requests anyway."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                msg = run_sync(self.kc.iopub_channel.get_msg)(timeout=max(0.01, end - time.monotonic()))
            except Exception:  # noqa: BLE001 (queue.Empty: nothing more came)
                return
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            content = msg.get("content", {})
            if msg.get("msg_type") == "stream" and content.get("name") in ("stdout", "stderr"):
                streams.append((content["name"], str(content.get("text", ""))))
            elif msg.get("msg_type") == "status" and content.get("execution_state") == "idle":
                return

    def _install_rpc(self) -> None:
        steps = [
            f"(lambda m: (exec(compile({source!r}, {name!r}, 'exec'), m.__dict__),"
            f" __import__('sys').modules.__setitem__({name!r}, m), 'installed')[-1])"
            f"(__import__('types').ModuleType({name!r}))"
            for name, source in _RPC_SOURCES.items()
        ]
        try:
            self._rpc_ready = all(self._kernel_call(step, timeout=120) == "'installed'" for step in steps)
            if self._rpc_ready:
                # outside any cell's time limit, as the notebook's own imports would be
                self._kernel_call(f"__import__('sys').modules['_course_rpc'].warm({self._warm_modules!r})",
                                  timeout=120)
        except DeadKernelError:
            # the kernel died after its last cell returned (e.g. the sandbox's watchdog killed it for what that
            # cell left running): _run_test_cell then scores this cell 0 and marks the rest not run
            self._rpc_ready, self._kernel_gone = False, True
            return
        if not self._rpc_ready:
            self._flag("the grader's link could not be installed in the kernel: its test cells fail")

    def _transport(self, message: str, timeout: float) -> str | None:
        """One request to the kernel's _course_rpc; None when no answer came in time (or the link is gone)."""
        if not self._rpc_ready or self._kernel_dead is not None or self._kernel_gone:
            return None
        try:
            text = self._kernel_call(f"__import__('sys').modules['_course_rpc'].handle({message!r})", timeout,
                                     streams=self._test_streams)
        except DeadKernelError:
            self._kernel_gone = True
            return None
        if text is None:
            return None
        if len(text) > 2 * rpc_codec.MAX_BYTES:   # the repr of a reply over the cap: not parsed at all
            return ""
        try:
            reply = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return ""           # not a string literal: the link reports a malformed reply
        return reply if isinstance(reply, str) else ""

    def _kill_kernel(self) -> None:
        provisioner = getattr(self.km, "provisioner", None)
        process = getattr(provisioner, "process", None)
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except OSError:
                process.kill()

    def _restart_kernel(self) -> bool:
        """Kill the kernel, start a fresh sandboxed one, replay the non-test cells that had succeeded (silently).
        False if that failed or the submission's time ran out (later cells are then not run)."""
        self._kill_kernel()
        try:
            run_sync(self._async_cleanup_kernel)()
        except Exception as error:  # noqa: BLE001 (a dead kernel's manager may fail to clean up: go on)
            self.log.warning("Cleaning up the killed kernel failed: %s", error)
        self.km, self.kc = None, None
        self._rpc_ready, self._runaway = False, False
        self._link.generation += 1
        try:
            self.km = self.create_kernel_manager()
            self.start_new_kernel()
            self.start_new_kernel_client()
            for index in self._succeeded:
                msg_id = self.kc.execute(self.nb.cells[index].source, silent=True, store_history=False)
                if self._wait(msg_id, self._get_timeout(self.nb.cells[index])) is None:
                    raise TimeoutError(f"replaying cell {index} timed out")
        except Exception as error:  # noqa: BLE001 (no fresh kernel: the rest of the submission is not run)
            self._flag(f"the kernel could not be restarted after a runaway cell ({error})")
            return False
        return True

    # --------------------------------------------------------------------------------------------- the cells
    def preprocess_cell(self, cell, resources, index):
        result = self._run_cell(cell, resources, index)
        if index == len(self.nb.cells) - 1:
            self._finish()
        return result

    def _run_cell(self, cell, resources, index):
        if self._kernel_dead is None and time.monotonic() >= self._deadline and cell.cell_type == "code" \
                and cell.source.strip():
            self._kernel_dead = f"not run: the submission's time limit ({self.submission_timeout:g} s) was reached"
            self._flag(f"submission time limit ({self.submission_timeout:g} s) reached before cell {index}")
            self._kill_kernel()
        if self._kernel_dead is not None:
            if cell.cell_type == "code" and cell.source.strip():
                cell.outputs = [_error_output(KERNEL_DIED, self._kernel_dead)]
            return cell, self.resources
        if cell.cell_type != "code" or not cell.source.strip():
            return super().preprocess_cell(cell, resources, index)
        if _is_test(cell):
            return self._run_test_cell(cell, resources, index)
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._kernel_died(cell, index)
            return cell, self.resources
        except CellTimeoutError:
            # the cell timed out and the kernel did not come back after the interrupt (SIGINT ignored or caught)
            cell.outputs = list(cell.get("outputs", [])) + [_error_output(
                "CellTimeoutError", "the cell ran past its time limit and ignored the interrupt; it was stopped")]
            self._recover_runaway(index)
            return cell, self.resources
        if not any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            self._succeeded.append(index)
        return cell, resources

    def _kernel_died(self, cell, index) -> None:
        self._kernel_dead = "not run: the kernel died in an earlier cell"
        self._flag(f"the kernel died in cell {index} (a crash, os._exit, or the memory limit)")
        cell.outputs = list(cell.get("outputs", [])) + [
            _error_output(KERNEL_DIED, "the kernel died while running this cell (crash or out of memory)")]

    def _recover_runaway(self, index) -> None:
        restarted = self._restart_kernel()
        self._flag(f"cell {index} ran past its time limit and ignored the interrupt; the kernel was killed"
                   + (" and restarted (earlier cells replayed)" if restarted else ""))
        if not restarted:
            self._kernel_dead = "not run: the kernel was stopped in an earlier cell"

    def _run_test_cell(self, cell, resources, index):
        """Run an autograder test cell in the grader (trusted_checker), never in the kernel."""
        if self._namespace is None:
            self._namespace = self._new_namespace(resources)
        if not self._rpc_ready:
            self._install_rpc()
        source = self._test_sources.get(cell.metadata["nbgrader"].get("grade_id"), cell.source)
        self._link.deadline = self._cell_deadline()
        problems = len(self._link.problems)
        self._test_streams = []
        started = time.monotonic()
        try:
            outputs = run_test_cell(source, self._namespace, execution_count=index)
        finally:
            self._link.deadline = None
            self._test_cells_s += time.monotonic() - started
        # what the student's code printed while the test called it (a warning on stderr fails the cell, as
        # nbgrader scores any stderr), before the test's own failure
        printed = [NotebookNode(output_type="stream", name=n, text=t) for n, t in self._test_streams if t]
        errors = [o for o in outputs if o.get("output_type") == "error"]
        cell.outputs = [o for o in outputs if o.get("output_type") != "error"] + printed + errors
        cell.execution_count = None
        if self._kernel_gone:
            cell.outputs = []
            self._kernel_died(cell, index)
            return cell, self.resources
        if len(self._link.problems) > problems:
            self._flag(f"test cell {index}: {self._link.problems[-1]} (the submission tampered with the grading "
                       "link?): review this submission by hand")
        if self._runaway:
            self._recover_runaway(index)
        elif any(o.get("ename") == "CellTimeoutError" for o in cell.outputs if o.get("output_type") == "error"):
            self._flag(f"test cell {index} ran past its time limit waiting for the kernel")
        return cell, self.resources

    def _new_namespace(self, resources) -> TrustedNamespace:
        """The trusted namespace, with the imports of the source notebook (solutions/, else the gradebook's
        source cells; never the submission), and the gradebook's test sources."""
        namespace = TrustedNamespace(self._link)
        nbg = (resources or {}).get("nbgrader", {})
        sources, solutions = [], []
        try:
            with Gradebook(nbg["db_url"]) as gb:
                notebook = gb.find_notebook(nbg["notebook"], nbg["assignment"])
                self._test_sources = {c.name: c.source for c in notebook.source_cells}
                solution_ids = {c.name for c in notebook.solution_cells}
                sources = [c.source for c in notebook.source_cells if c.cell_type == "code"]
                solutions = [c.source for c in notebook.source_cells if c.name in solution_ids]
        except (KeyError, MissingEntry) as error:
            self._flag(f"no gradebook entry for this notebook ({error}): its test cells run as restored")
        source_nb = self._source_notebook(nbg)
        if source_nb is not None:
            cells = [c for c in source_nb.cells if c.cell_type == "code"]
            sources = [c.source for c in cells]
            solutions = [c.source for c in cells if utils.is_solution(c)]
        add_trusted_imports(namespace, sources, solutions)
        self._warm_modules = visible_modules(sources)
        return namespace

    def _source_notebook(self, nbg: dict):
        try:
            coursedir = CourseDirectory(config=self.config)
            folder = coursedir.format_path(coursedir.source_directory, ".", nbg["assignment"])
            return nbformat.read(Path(folder) / f"{nbg['notebook']}.ipynb", as_version=4)
        except (KeyError, OSError, ValueError) as error:
            self.log.warning("Source notebook unavailable (%s): trusted imports come from the gradebook's "
                             "source cells only", error)
            return None

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        outputs = kwargs["cell"].get("outputs", [])
        if any(o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError" for o in outputs):
            self._flag(f"cell {kwargs['cell_index']} ran past its time limit and was interrupted")

    def _finish(self) -> None:
        """After the last cell, while the kernel still runs: ask it for its CPU time (the sandboxed kernel is a
        grandchild whose usage this process cannot see) and record it with the wall time. Reported by the
        kernel, so a measurement for the instructor, never a basis for a grade."""
        if self._kernel_dead is None and not self._kernel_gone:
            try:
                cpu = self._kernel_call("(lambda r: r.ru_utime + r.ru_stime)(__import__('resource').getrusage(0))")
            except DeadKernelError:   # died after the last cell: no CPU figure, the scores stand
                cpu = None
            try:
                self._kernel_cpu_s = float(cpu)
            except (TypeError, ValueError):
                self._kernel_cpu_s = None
        try:
            grading_status.record_timing(self._resources_for_status, kernel_cpu_s=self._kernel_cpu_s,
                                         wall_s=round(time.monotonic() - self._started, 1),
                                         test_cells_s=round(self._test_cells_s, 1),
                                         kernel_requests=self._link.requests,
                                         kernel_request_s=round(self._link.request_s, 1))
        except (KeyError, TypeError):
            pass
