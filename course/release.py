"""``make release``: regenerate ``assignments/<id>/`` from ``solutions/<id>/`` without pulling the floor away.

    python course/release.py [ID ...]

``nbgrader generate_assignment --force`` deletes the release folder and writes a new one: a notebook open there
(a student trying the release, an instructor checking it) loses its working directory and dies at the next save.
Here nbgrader writes into a fresh temporary folder beside it; then each file that changed is swapped in with one
atomic ``os.replace``, unchanged files are not touched, and the folder itself is never removed. Files that the
new release no longer has are removed. Only ``make release`` runs this, never ``make grade``.
"""
from __future__ import annotations

import filecmp
import os
import sys
import tempfile
from pathlib import Path

COURSE = Path(__file__).resolve().parent
sys.path.insert(0, str(COURSE))


def release(assignment: str, course_dir: Path = COURSE) -> list[str]:
    """Regenerate one release; returns the relative paths that changed."""
    from grade import load_api

    _, cfg = load_api(course_dir)
    root = Path(cfg.CourseDirectory.root)
    target = root / cfg.CourseDirectory.release_directory / assignment
    target.parent.mkdir(parents=True, exist_ok=True)
    # beside the target, so os.replace stays on one file system
    with tempfile.TemporaryDirectory(prefix=f".{assignment}.new-", dir=target.parent) as tmp:
        api, _ = load_api(course_dir, **{"CourseDirectory.release_directory": tmp})
        result = api.generate_assignment(assignment)
        if not result["success"]:
            raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n{result.get('error')}\n"
                               f"{result.get('log', '')[-3000:]}")
        fresh = Path(tmp) / assignment
        return swap_in(fresh, target)


def swap_in(fresh: Path, target: Path) -> list[str]:
    changed = []
    target.mkdir(exist_ok=True)
    new_files = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
    for name in sorted(new_files):
        dest = target / name
        if dest.is_file() and filecmp.cmp(fresh / name, dest, shallow=False):
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(fresh / name, dest)
        changed.append(str(name))
    for old in sorted(p for p in target.rglob("*") if p.is_file()):
        name = old.relative_to(target)
        if name not in new_files and ".ipynb_checkpoints" not in name.parts:
            old.unlink()
            changed.append(f"{name} (removed)")
    return changed


def main(argv=None) -> int:
    from grade import load_api

    args = sys.argv[1:] if argv is None else argv
    _, cfg = load_api(COURSE)
    source = Path(cfg.CourseDirectory.root) / cfg.CourseDirectory.source_directory
    assignments = args or sorted(p.parent.name for p in source.glob("*/*.ipynb") if p.stem == p.parent.name)
    for assignment in assignments:
        changed = release(assignment)
        print(f"{assignment}: " + (", ".join(changed) + " updated" if changed else "unchanged"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
