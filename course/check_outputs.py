"""Check that notebooks carry no outputs, so committed notebooks diff cleanly.

    python course/check_outputs.py assignments            # verify (exit 1 and list offenders)
    python course/check_outputs.py --strip lessons        # strip outputs and execution counts in place

Used by ``make release`` after ``nbgrader generate_assignment`` (which clears outputs itself: this is the check
that it did) and by the tests for every committed notebook.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat


def notebooks(paths: list[Path]) -> list[Path]:
    """Every ``.ipynb`` under the given files or folders, checkpoints excluded."""
    found = []
    for p in paths:
        candidates = [p] if p.is_file() else sorted(p.rglob("*.ipynb"))
        found += [c for c in candidates if ".ipynb_checkpoints" not in c.parts]
    return found


def dirty_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Indices of code cells that have outputs or an execution count."""
    return [i for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)]


def strip(nb: nbformat.NotebookNode) -> None:
    for i in dirty_cells(nb):
        nb.cells[i].outputs = []
        nb.cells[i].execution_count = None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+", type=Path)
    ap.add_argument("--strip", action="store_true", help="remove outputs in place instead of failing")
    args = ap.parse_args(argv)
    bad = 0
    for path in notebooks(args.paths):
        nb = nbformat.read(path, as_version=4)
        cells = dirty_cells(nb)
        if not cells:
            continue
        if args.strip:
            strip(nb)
            nbformat.write(nb, path)
            print(f"stripped outputs of {len(cells)} cells: {path}")
        else:
            bad += 1
            print(f"{path}: code cells {cells} have outputs or execution counts", file=sys.stderr)
    if bad:
        print(f"{bad} notebook(s) carry outputs; strip them with: python course/check_outputs.py --strip PATH",
              file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
