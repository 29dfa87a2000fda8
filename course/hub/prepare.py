"""Prepare one machine for a class on JupyterHub (``make hub`` runs this as root before starting the hub).

    python course/hub/prepare.py --instructor NAME --group GROUP --course-id ID --exchange DIR --hub-dir DIR

1. the course group and the instructor's account exist (``accounts.py``; the instructor must not be root: the
   instructor's server runs the formgrader, and autograding starts kernels, with that account's rights);
2. nbgrader's exchange exists with the modes nbgrader's documentation asks for, made here once, owned by the
   instructor (see :func:`make_exchange`);
3. the repository: every student can run the course's virtual environment and ``helpers`` (read-only), and
   cannot read ``solutions/`` (hidden tests) or ``course/`` (gradebook, collected submissions, feedback);
4. the students' Jupyter configuration (``course/hub/student/``) is copied, root-owned and read-only, to
   ``HUB_DIR/student-config``, where students can read it (``course/`` itself is closed to them).

Each step is idempotent, and a problem it cannot fix (a home folder above the repository that students cannot
enter, an exchange folder owned by someone else) is an error naming the path and the fix.
"""
from __future__ import annotations

import argparse
import os
import pwd
import shutil
import stat
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import accounts

HUB = Path(__file__).resolve().parent

# nbgrader 0.9.6 (exchange/default/release_assignment.py, release_feedback.py): the root is world-writable with
# the sticky bit; the course folder and outbound/ are the instructor's, readable by all; inbound/ is write-and-enter
# only, with the set-group-id bit so that submissions belong to the instructor's group. Two hardenings beyond
# nbgrader's own modes: inbound/ also gets the sticky bit (a student cannot rename or delete another student's
# submission even knowing its name), and feedback/ is enter-only (0711, as nbgrader makes it): files are found
# only by a hash of the submission's secret.
EXCHANGE_ROOT_MODE = 0o1777
COURSE_MODES = {"": 0o755, "outbound": 0o755, "inbound": 0o3733, "feedback": 0o711}
PRIVATE = ("solutions", "course")        # never readable by students
SHARED = (".venv", "helpers")            # every student's server and kernel run from these


def make_exchange(root: Path, course_id: str, instructor: str) -> Path:
    """Create (or check) ``root/course_id`` with its three folders, owned by ``instructor``; the course folder."""
    user = pwd.getpwnam(instructor)
    root.mkdir(parents=True, exist_ok=True)
    os.chown(root, 0, 0)
    os.chmod(root, EXCHANGE_ROOT_MODE)
    course = root / accounts.check_name(course_id)
    for name, mode in COURSE_MODES.items():
        path = course / name
        path.mkdir(exist_ok=True)
        owner = path.stat().st_uid
        if owner not in (user.pw_uid, 0):
            raise RuntimeError(f"{path} belongs to uid {owner}, not to the instructor {instructor!r}: remove it or "
                               "choose another course id")
        os.chown(path, user.pw_uid, user.pw_gid)
        os.chmod(path, mode)
    return course


def _others_can(path: Path, bits: int) -> bool:
    return path.stat().st_mode & bits == bits


def closed_parent(path: Path) -> Path | None:
    """The first folder above ``path`` (symbolic links resolved) that other users cannot enter, or None."""
    for parent in reversed(path.resolve().parents):
        if not _others_can(parent, stat.S_IXOTH):
            return parent
    return None


def protect_repo(repo: Path) -> list[str]:
    """Open the environment to students and close the instructor's folders; returns what was changed.

    Raises RuntimeError naming the first folder above ``repo``, or above the interpreter its ``.venv`` links to,
    that others cannot enter (students could then not start their servers).
    """
    repo = repo.resolve()
    # the virtual environment's python is often a link to an interpreter elsewhere (pyenv under /root, conda)
    for target in (repo, repo / ".venv" / "bin" / "python"):
        parent = closed_parent(target)
        if parent is not None:
            raise RuntimeError(f"students cannot reach {target.resolve()}: {parent} is closed to others (chmod o+x "
                               f"{parent}, or build the course's .venv from a system-wide Python under /usr or /srv)")
    changed = []
    if not _others_can(repo, stat.S_IXOTH):
        os.chmod(repo, repo.stat().st_mode | stat.S_IXOTH)
        changed.append(f"{repo}: o+x")
    for name in SHARED:
        path = repo / name
        if path.exists() and not _others_can(path, stat.S_IROTH | stat.S_IXOTH):
            raise RuntimeError(f"{path} is not readable by students (chmod -R o+rX {path})")
    for name in PRIVATE:
        path = repo / name
        if path.exists() and path.stat().st_mode & stat.S_IRWXO:
            os.chmod(path, path.stat().st_mode & ~stat.S_IRWXO)
            changed.append(f"{path}: o-rwx")
    return changed


def install_student_config(hub_dir: Path) -> Path:
    """Copy ``course/hub/student/`` and ``course_exchange.py`` to ``hub_dir/student-config``, root-owned and
    world-readable; returns the copy."""
    hub_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(hub_dir, 0o755)
    dest = hub_dir / "student-config"
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(HUB / "student", dest, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(HUB / "course_exchange.py", dest / "course_exchange.py")  # the students' PrivateSubmit
    for path in [dest, *dest.rglob("*")]:
        os.chown(path, 0, 0)
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instructor", required=True)
    parser.add_argument("--group", required=True, help="the students' group")
    parser.add_argument("--course-id", required=True)
    parser.add_argument("--exchange", type=Path, required=True)
    parser.add_argument("--hub-dir", type=Path, required=True)
    parser.add_argument("--repo", type=Path, default=HUB.parent.parent)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("run as root (sudo make hub): the hub starts every user's server under that user's account")
    if args.instructor == "root":
        parser.error("the instructor must be an ordinary account, not root: make hub INSTRUCTOR=<name>")
    try:
        accounts.ensure_group(args.group)
        accounts.add_user(args.instructor)
        course = make_exchange(args.exchange, args.course_id, args.instructor)
        changed = protect_repo(args.repo)
        config = install_student_config(args.hub_dir)
    except (ValueError, RuntimeError) as error:
        print(f"prepare.py: {error}", file=sys.stderr)
        return 1
    print(f"exchange {course} (instructor {args.instructor}); student configuration {config}")
    for line in changed:
        print(f"permissions: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
