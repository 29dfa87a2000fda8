"""``make student-dist``: the student edition of the course, as a folder and a zip.

    python course/student_dist.py [--out dist]

Students get ``dist/biosignal-course-student/`` (or the ``.zip`` of it): the lessons, the *released* assignments,
the ``helpers`` library, the benchmark scripts and results that lesson 03 reads, the environment files, and a
student README and Makefile (``make lab``), with nbgrader's instructor panels (Create Assignment, Formgrader)
switched off in JupyterLab. Never ``solutions/`` (solutions and hidden tests), ``course/`` (grading
configuration), ``tests/`` or the gradebook. Before the zip is written, every text file of the edition is
checked for every line of every hidden test in ``solutions/``; one match and nothing is published.

Standard library only: it runs before any environment exists.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STUDENT = Path(__file__).resolve().parent / "student"
NAME = "biosignal-course-student"

# (path in the repository, path in the edition)
CONTENT = [
    ("lessons", "lessons"),
    ("assignments", "assignments"),
    ("helpers", "helpers"),
    ("benchmarks", "benchmarks"),
    ("pyproject.toml", "pyproject.toml"),
    ("constraints.txt", "constraints.txt"),
    ("environment.yml", "environment.yml"),
    ("LICENSE", "LICENSE"),
    ("course/student/README.md", "README.md"),
    ("course/student/Makefile", "Makefile"),
    ("course/student/page_config.json", ".jupyter/labconfig/page_config.json"),
]
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".pytest_cache", ".*.new-*")
BEGIN, END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"


def hidden_lines(sources_dir: Path = ROOT / "solutions", min_length: int = 8) -> list[str]:
    """Every whitespace-normalised line inside a hidden-test region of the sources, except lines that are also
    visible somewhere in the sources (those are in the releases by design), plus the delimiters."""
    hidden, visible = set(), set()
    for path in sources_dir.glob("*/*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            inside = False
            for line in source.split("\n"):
                text = " ".join(line.split())
                if BEGIN in line:
                    inside = True
                (hidden if inside else visible).add(text)
                if END in line:
                    inside = False
    return sorted({h for h in hidden - visible if len(h) >= min_length} | {BEGIN, END})


def leaked(edition: Path, hidden: list[str]) -> list[str]:
    """``file: line`` for every hidden line found in a text file of the edition (JSON strings decoded)."""
    found = []
    for path in sorted(p for p in edition.rglob("*") if p.is_file()):
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        variants = [text]
        if path.suffix == ".ipynb":
            nb = json.loads(text)
            variants.append("\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                                      for c in nb.get("cells", [])))
        flat = [" ".join(v.replace("\\n", "\n").replace('\\"', '"').split()) for v in variants]
        found += [f"{path.relative_to(edition)}: {h}" for h in hidden if any(h in f for f in flat)]
    return found


def build(out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    edition = out / NAME
    staging = out / f".{NAME}.new"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    for src, dest in CONTENT:
        source, target = ROOT / src, staging / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=IGNORE)
        else:
            shutil.copy2(source, target)
    forbidden = [p for p in ("solutions", "course", "tests") if (staging / p).exists()]
    problems = leaked(staging, hidden_lines())
    if forbidden or problems:
        shutil.rmtree(staging)
        raise SystemExit("student edition NOT built: it would contain instructor material:\n  "
                         + "\n  ".join(forbidden + problems[:20]))
    shutil.rmtree(edition, ignore_errors=True)
    staging.rename(edition)
    archive = out / f"{NAME}.zip"
    partial = archive.with_suffix(".zip.part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(edition.rglob("*")):
            if path.is_file():
                zf.write(path, Path(NAME) / path.relative_to(edition))
    partial.replace(archive)
    return edition, archive


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "dist"), help="output folder (default: dist/)")
    args = parser.parse_args(argv)
    edition, archive = build(Path(args.out).resolve())
    files = sum(1 for p in edition.rglob("*") if p.is_file())
    print(f"student edition: {edition}/ ({files} files) and {archive} ({archive.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
