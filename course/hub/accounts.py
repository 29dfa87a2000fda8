"""Local accounts of a class on one JupyterHub server: the course group, the instructor, the students.

    python course/hub/accounts.py add-students GROUP NAME [NAME ...]   (root; prints nothing secret)
    python course/hub/accounts.py remove NAME [NAME ...]               (root; deletes the accounts and homes)

Students are ordinary local users in one group (the hub admits that group); each home is created private
(mode 0700), because nbgrader's exchange keeps each submission's secret in the student's home: a home that other
students can read would let them find, and read, that student's feedback. Passwords are the administrator's
business (``passwd``/``chpasswd``, or an external authenticator: see the instructor guide).
"""
from __future__ import annotations

import argparse
import grp
import os
import pwd
import re
import subprocess
import sys
from collections.abc import Callable

# POSIX portable user names as Debian's useradd accepts them by default, short enough for every tool
NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,30}$")
HOME_MODE = 0o700


def check_name(name: str) -> str:
    """``name`` if it is a valid local account or group name, else a ValueError that says what is allowed."""
    if not NAME.match(name):
        raise ValueError(f"{name!r} is not a valid account name: use 1-31 lower-case letters, digits, '_' or '-', "
                         "starting with a letter or '_'")
    return name


def _found(lookup: Callable[[str], object], name: str) -> bool:
    """True when ``lookup`` (``pwd.getpwnam``, ``grp.getgrnam``) knows ``name``; they raise KeyError otherwise."""
    try:
        lookup(name)
    except KeyError:
        return False
    return True


def exists(name: str) -> bool:
    """True when a local account ``name`` exists."""
    return _found(pwd.getpwnam, name)


def group_exists(name: str) -> bool:
    """True when a local group ``name`` exists."""
    return _found(grp.getgrnam, name)


def _run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}): {result.stderr.strip()}")


def ensure_group(name: str) -> None:
    """Create the (system) group ``name`` unless it exists."""
    if not group_exists(check_name(name)):
        _run(["groupadd", "--system", name])


def add_user(name: str, groups: tuple[str, ...] = ()) -> pwd.struct_passwd:
    """Create the local account ``name`` (own group, private home, bash) unless it exists; add it to ``groups``.

    An existing account keeps its password and home, but its home is made private all the same.
    """
    check_name(name)
    if not exists(name):
        _run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", "-K", f"HOME_MODE={HOME_MODE:04o}",
              name])
    for group in groups:
        ensure_group(group)
        _run(["usermod", "--append", "--groups", group, name])
    entry = pwd.getpwnam(name)
    os.chmod(entry.pw_dir, HOME_MODE)
    return entry


def remove_user(name: str) -> None:
    """Delete the account ``name`` with its home and mail spool, and its processes' leftovers (idempotent)."""
    if exists(check_name(name)):
        subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True, check=False)
        _run(["userdel", "--remove", name])
    if group_exists(name):  # the user's own group, when userdel left it
        subprocess.run(["groupdel", name], capture_output=True, check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add-students", help="create student accounts in the course group")
    add.add_argument("group")
    add.add_argument("names", nargs="+")
    rm = sub.add_parser("remove", help="delete accounts and their homes")
    rm.add_argument("names", nargs="+")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("accounts are created and removed by root (sudo)")
    try:
        if args.command == "add-students":
            for name in args.names:
                print(f"{name}: home {add_user(name, (args.group,)).pw_dir}")
        else:
            for name in args.names:
                remove_user(name)
    except (ValueError, RuntimeError) as error:
        print(f"accounts.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
