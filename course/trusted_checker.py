"""Autograder test cells run here, in the grader's process, never in the student's kernel.

Why a score cannot be changed from the kernel: a test cell's source (visible and hidden tests), its assertions,
comparisons and expected values are compiled and evaluated only in this process, in a namespace the student's
code never touches. The kernel is asked only "what is the value of X" and "what does calling X on these inputs
return" (``kernel_rpc``), and answers with data (``rpc_codec``: JSON, arrays as ``.npy``, never pickle) or with
references to its own objects (``remote_proxy``), whose comparisons and truth values are computed here on
fetched data. So whatever code runs in the kernel (a patched ``np.isclose``, an input transformer that drops
assertions, a replaced RPC server) can only change the data the grader receives about the submission's own
objects, and that data is judged here. A blank notebook's graded functions raise ``NotImplementedError`` or do
not exist, so no answer it gives passes; a kernel that answers nonsense or raises everywhere fails every test.
What does enter the kernel: the inputs a test passes to the student's functions (they must run on them), never
the test's source or its expected values.

The namespace of a submission's test cells (:class:`TrustedNamespace`) persists from one test cell to the next
(later cells use names earlier ones defined) and starts with every import statement of the assignment's source
notebook (instructor code, from the course's ``solutions/``), except names its solution cells define. Any other
name is looked up in the kernel. :func:`run_test_cell` executes one cell and returns nbformat outputs shaped as
IPython's (a stream per channel, an ``execute_result`` for a final expression, an ``error`` whose traceback has
IPython's ``Cell In[n], line k`` frame and ``---->`` arrow), so nbgrader scores them and the feedback
preprocessors tell a visible failure from a hidden one as before.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import io
import logging
import warnings
from collections.abc import Iterable
from typing import Any

from nbformat.notebooknode import NotebookNode
from remote_proxy import KernelLink, KernelReplyError, KernelTimeout

log = logging.getLogger(__name__)

# ename of a test cell that ran out of time: the feedback shows it as "could not be graded", like a timed-out cell
TIMEOUT_ENAME = "CellTimeoutError"


class TrustedNamespace(dict):
    """Globals of the test cells: assigned names and trusted imports here, anything else fetched from the kernel.

    CPython looks a name up through ``__getitem__`` (so ``__missing__``) when globals is a dict subclass, for
    module-level code (LOAD_NAME) and in functions and comprehensions (LOAD_GLOBAL); raising KeyError lets it
    go on to builtins, or raise NameError. Fetched values are cached for one test cell (:meth:`new_cell`): the
    kernel's state may change between cells, never during one.
    """

    def __init__(self, link: KernelLink):
        super().__init__()
        self.link = link
        self._fetched: dict[str, Any] = {}

    def new_cell(self) -> None:
        self._fetched.clear()

    def __missing__(self, name: str) -> Any:
        if not isinstance(name, str) or name.startswith("__") or hasattr(builtins, name):
            raise KeyError(name)
        if name not in self._fetched:
            try:
                self._fetched[name] = self.link.fetch_name(name)
            except NameError:
                raise KeyError(name) from None
        return self._fetched[name]


def _strip_magics(source: str) -> str:
    """IPython magics and shell escapes become blank lines (so line numbers stay)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(_strip_magics(source))
    except SyntaxError:
        return None


def defined_names(sources: Iterable[str]) -> set[str]:
    """Names that top-level statements of ``sources`` define (def, class, assignment targets)."""
    names = set()
    for source in sources:
        tree = _parse(source)
        for node in tree.body if tree else []:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def import_statements(sources: Iterable[str], exclude: set[str]) -> list[ast.stmt]:
    """Every import statement, at any depth, of ``sources``, without the names in ``exclude``."""
    statements = []
    for source in sources:
        tree = _parse(source)
        for node in ast.walk(tree) if tree else []:
            if isinstance(node, ast.ImportFrom) and (node.module == "__future__" or node.level):
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                kept = [a for a in node.names if (a.asname or a.name).split(".")[0] not in exclude
                        and a.name != "*"]
                if kept:
                    clone = (ast.Import(names=kept) if isinstance(node, ast.Import)
                             else ast.ImportFrom(module=node.module, names=kept, level=0))
                    statements.append(ast.fix_missing_locations(clone))
    return statements


def visible_modules(sources: Iterable[str]) -> list[str]:
    """Names of the modules that ``sources`` import outside hidden-test regions (sorted, unique)."""
    modules = set()
    for source in sources:
        visible, hidden = [], False
        for line in source.split("\n"):
            hidden = hidden or "BEGIN HIDDEN TESTS" in line
            visible.append("" if hidden else line)
            hidden = hidden and "END HIDDEN TESTS" not in line
        for statement in import_statements(["\n".join(visible)], exclude=set()):
            if isinstance(statement, ast.ImportFrom):
                modules.add(statement.module)
            else:
                modules.update(alias.name for alias in statement.names)
    return sorted(modules)


def add_trusted_imports(namespace: dict, sources: list[str], solution_sources: list[str]) -> list[str]:
    """Run the source notebook's imports in ``namespace``; returns the ones that failed (logged, skipped)."""
    failed = []
    for statement in import_statements(sources, exclude=defined_names(solution_sources)):
        code = compile(ast.Module(body=[statement], type_ignores=[]), "<trusted imports>", "exec")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(code, namespace)  # noqa: S102 (instructor code from the source notebook)
        except Exception as error:  # noqa: BLE001 (a module the grader lacks: the test that needs it fails)
            failed.append(ast.unparse(statement))
            log.warning("Trusted import failed: %s (%s)", ast.unparse(statement), error)
    return failed


def run_test_cell(source: str, namespace: TrustedNamespace, execution_count: int) -> list[NotebookNode]:
    """Execute one test cell in ``namespace`` (``namespace.link.deadline`` bounds its kernel requests).

    Returns
    -------
    list of NotebookNode
        nbformat outputs: stdout and stderr streams, an ``execute_result`` for a final expression that is not
        None (nbgrader's partial credit), an ``error`` if it raised. Warnings are ignored (library warnings never
        cost points; the student's code runs in the kernel, whose output is not part of a test cell's).
    """
    filename = f"<test cell {execution_count}>"
    namespace.new_cell()
    out, err = io.StringIO(), io.StringIO()
    result, error = None, None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tree = ast.parse(source, filename)
            last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            exec(compile(tree, filename, "exec"), namespace)  # noqa: S102 (the instructor's test)
            if last is not None:
                result = eval(compile(ast.Expression(last.value), filename, "eval"), namespace)
        except KeyboardInterrupt:
            raise
        except BaseException as raised:  # noqa: BLE001 (any failure of a test is a failed test)
            error = raised
    outputs = [NotebookNode(output_type="stream", name=name, text=text)
               for name, text in (("stdout", out.getvalue()), ("stderr", err.getvalue())) if text]
    if result is not None and error is None:
        outputs.append(NotebookNode(output_type="execute_result", execution_count=execution_count, metadata={},
                                    data={"text/plain": repr(result)}))
    if error is not None:
        outputs.append(error_output(error, source, filename, execution_count))
    return outputs


def _cell_line(error: BaseException, filename: str) -> int | None:
    if isinstance(error, SyntaxError) and error.filename == filename:
        return error.lineno
    tb = error.__traceback__
    while tb is not None:   # the outermost frame in the cell: the test's own line, not a helper's
        if tb.tb_frame.f_code.co_filename == filename:
            return tb.tb_lineno
        tb = tb.tb_next
    return None


def error_output(error: BaseException, source: str, filename: str, execution_count: int) -> NotebookNode:
    """An nbformat error output with IPython's traceback shape (``Cell In[n], line k`` and a ``---->`` arrow)."""
    ename = TIMEOUT_ENAME if isinstance(error, KernelTimeout) else type(error).__name__
    evalue = str(error)
    line = _cell_line(error, filename)
    frames = ["-" * 75, f"{ename:<42}Traceback (most recent call last)"]
    if line is not None:
        lines = source.split("\n")
        context = [f"{'---->' if n == line else '     '} {n:<2} {lines[n - 1]}"
                   for n in range(max(1, line - 2), min(len(lines), line + 2) + 1)]
        frames.append(f"Cell In[{execution_count}], line {line}\n" + "\n".join(context))
    frames.append(f"{ename}: {evalue}")
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=frames)


__all__ = ["KernelReplyError", "KernelTimeout", "TrustedNamespace", "add_trusted_imports", "run_test_cell"]
