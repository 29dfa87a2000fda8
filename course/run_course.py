"""Execute the whole course with papermill and print one table of results (``make run``).

    python course/run_course.py                      # every lesson and solution, CI mode, embedded data
    python course/run_course.py lessons/01_signals.ipynb --full --source auto
    python course/run_course.py --full --check --results-md course/results-full.md   # make run-full

Each notebook runs in-process through papermill (one nbformat start-up, not one per notebook) with cwd = its own
folder, ``-p FAST True -p DATA_SOURCE synthetic`` by default. Executed copies go under ``build/`` with the same
relative paths; each notebook's ``helpers.notebook.report.headline`` call writes ``build/results/<stem>.json``, which
fills the last column. Exit status 1 if any notebook failed; with ``--check`` also if a notebook's headline claim
is False or it shows a degenerate result its text does not expect (``course/notebook_claims.py``). ``--results-md``
writes the table as markdown with the date, the machine and the run mode.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
RESULTS_ENV = "BIOSIGNAL_RESULTS_DIR"


@dataclass
class Run:
    """What happened to one notebook."""

    notebook: Path
    ok: bool
    seconds: float
    error: str = ""
    headline: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # failed claims and unaddressed degenerate results

    @property
    def passed(self) -> bool:
        """Ran, and (when checked) every claim held and every degenerate result shown was expected."""
        return self.ok and not self.problems


def course_notebooks(root: Path = ROOT) -> list[Path]:
    """Lessons in course order, then the solution notebooks."""
    return sorted((root / "lessons").glob("*.ipynb")) + sorted((root / "solutions").glob("*/*.ipynb"))


def execute(notebook: Path, output: Path, *, fast: bool = True, source: str = "synthetic",
            results_dir: Path | None = None, log_output: bool = False, parameters: dict | None = None) -> Run:
    """Run one notebook with papermill in this process; never raises for a failure inside the notebook.

    ``parameters`` adds papermill parameters to ``FAST`` and ``DATA_SOURCE`` (e.g. ``{"SHOW_SOLUTIONS": True}``
    for the lessons' reference solutions).
    """
    import papermill as pm

    notebook = notebook.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    results_dir = (results_dir or BUILD / "results").resolve()
    results_dir.mkdir(parents=True, exist_ok=True)
    result_file = results_dir / f"{notebook.stem}.json"
    result_file.unlink(missing_ok=True)  # a stale file would hide a notebook that no longer reports

    previous = os.environ.get(RESULTS_ENV)
    os.environ[RESULTS_ENV] = str(results_dir)  # the kernel inherits this process's environment
    start = time.perf_counter()
    try:
        pm.execute_notebook(
            str(notebook), str(output),
            parameters={"FAST": fast, "DATA_SOURCE": source, **(parameters or {})},
            cwd=str(notebook.parent), progress_bar=False, log_output=log_output,
        )
        ok, error = True, ""
    except pm.PapermillExecutionError as exc:
        ok, error = False, f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
    except Exception as exc:  # a kernel that died, a missing kernel, a malformed notebook
        ok, error = False, f"{type(exc).__name__}: {exc}"
    finally:
        if previous is None:
            os.environ.pop(RESULTS_ENV, None)
        else:
            os.environ[RESULTS_ENV] = previous
    seconds = time.perf_counter() - start
    headline = json.loads(result_file.read_text()) if result_file.exists() else {}
    return Run(notebook, ok, seconds, error, headline)


def check(run: Run, executed: Path) -> Run:
    """Fill ``run.problems`` from the executed copy: failed claims and degenerate results shown in silence."""
    from notebook_claims import unaddressed

    problems = [f"claim FAILED: {k}" for k, ok in run.headline.get("claims", {}).items() if not ok]
    if run.ok and executed.exists():
        try:
            problems += [str(p) for p in unaddressed(executed) if p.code != "claim-failed"]
        except ValueError as exc:  # a malformed expectation line
            problems.append(f"{executed.name}: {exc}")
    run.problems = problems
    return run


def _results_text(headline: dict) -> str:
    claims = headline.get("claims", {})
    shown = ", ".join(f"{k}={v}" for k, v in headline.items() if k != "claims")
    if claims:
        shown += "; claims: " + ", ".join(f"{'✓' if ok else '✗'} {k}" for k, ok in claims.items())
    return shown


def format_table(runs: list[Run], root: Path = ROOT) -> str:
    """A plain-text table: notebook, status, run time, headline results."""
    rows = [("notebook", "status", "time s", "headline results")]
    for r in runs:
        try:
            name = str(r.notebook.relative_to(root))
        except ValueError:
            name = str(r.notebook)
        status = "FAILED" if not r.ok else "CHECK FAILED" if r.problems else "ok"
        results = _results_text(r.headline) or ("-" if r.ok else _short(r.error))
        rows.append((name, status, f"{r.seconds:.1f}", results))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) if i != 2 else cell.rjust(w)
                               for i, (cell, w) in enumerate(zip(row[:3], widths))) + "  " + row[3])
        if n == 0:
            lines.append("-" * (sum(widths) + 6 + len(row[3])))
    total = sum(r.seconds for r in runs)
    failed = sum(not r.ok for r in runs)
    lines.append(f"{len(runs)} notebooks, {failed} failed, {total:.0f} s in all")
    for r in runs:
        lines += [f"  {r.notebook.name}: {p}" for p in r.problems]
    return "\n".join(lines)


def _machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    return (f"{cpu}, {os.cpu_count()} CPU cores "
            f"({torch.get_num_threads()} torch threads), Python {platform.python_version()}, torch {torch.__version__}")


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return path.name


def format_markdown(runs: list[Run], *, full: bool, source: str, root: Path = ROOT, partial: bool = False) -> str:
    """The results as a markdown table with the date, machine and run mode (``course/results-full.md``)."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    names = " ".join(_relative(r.notebook, root) for r in runs) if partial else ""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    lines = [f"# Course results, {'full size (FAST = False)' if full else 'FAST (CI) mode'}, DATA_SOURCE={source}", "",
             f"- date: {now}", f"- machine: {_machine()}",
             # run times on a shared machine are upper bounds: the load says how shared it was
             f"- load average (1, 5, 15 min) when the table was written: {load}",
             f"- command: `python course/run_course.py {'--full ' if full else ''}--check --source {source}"
             f"{' ' + names if names else ''}`"]
    if partial:
        lines.append(f"- **partial**: {len(runs)} of {len(course_notebooks(root))} notebooks were run; the others "
                     "are not measured in this table")
    lines += ["", "| notebook | status | time (s) | headline results and claims | problems |",
              "| --- | --- | ---: | --- | --- |"]
    for r in runs:
        name = _relative(r.notebook, root)
        status = "FAILED" if not r.ok else "check failed" if r.problems else "ok"
        cells = [name, status, f"{r.seconds:.0f}", _results_text(r.headline) or _short(r.error),
                 "; ".join(r.problems) or "-"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Execute the course notebooks and print a results table.")
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: lessons/*.ipynb and solutions/*/*.ipynb")
    ap.add_argument("--full", action="store_true", help="the student's default mode instead of FAST (CI) mode")
    ap.add_argument("--source", default="synthetic", choices=["synthetic", "auto", "real"],
                    help="DATA_SOURCE parameter (default: the embedded synthetic data)")
    ap.add_argument("--build", type=Path, default=BUILD, help="where executed copies and results go")
    ap.add_argument("--check", action="store_true",
                    help="fail on a False headline claim or a degenerate result the notebook's text does not expect")
    ap.add_argument("--results-md", type=Path, help="also write the table as markdown with date and machine")
    args = ap.parse_args(argv)

    notebooks = [p.resolve() for p in args.notebooks] or course_notebooks()
    if not notebooks:
        print("no notebooks found under lessons/ or solutions/", file=sys.stderr)
        return 1
    runs = []
    for nb in notebooks:
        try:
            rel = nb.relative_to(ROOT)
        except ValueError:
            rel = Path(nb.name)
        print(f"running {rel} ...", flush=True)
        run = execute(nb, args.build / rel, fast=not args.full, source=args.source,
                      results_dir=args.build / "results")
        if args.check:
            check(run, args.build / rel)
        print(f"  {'ok' if run.ok else 'FAILED: ' + _short(run.error)} ({run.seconds:.1f} s)"
              + "".join(f"\n  {p}" for p in run.problems), flush=True)
        runs.append(run)
    print()
    print(format_table(runs))
    if args.results_md:
        args.results_md.write_text(format_markdown(runs, full=args.full, source=args.source,
                                                   partial=bool(args.notebooks)))
        print(f"wrote {args.results_md}")
    return 0 if all(r.passed for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
