"""A throwaway class on this machine, for the hub tests: accounts, exchange, an instructor's course, a hub.

Used by tests/test_hub.py (the exchange round trip) and tests/test_hub_browser.py (a student in Chromium). Needs
root (system accounts; the hub starts servers under them), ``useradd``/``runuser``, bubblewrap (autograding is
sandboxed) and configurable-http-proxy in ``.venv/bin`` (``make setup-hub``). Outside CI a missing piece skips;
under CI, where ``.ci/run`` provides all of them, it fails.

Every command of a user runs as that user (``runuser``), with a clean environment: what a user's terminal on the
hub would have (the hub's ``per_user`` hook sets the same variables for their server).
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import ROOT, skip_or_fail_in_ci

HUB = ROOT / "course" / "hub"
VENV_BIN = Path(sys.executable).parent
if str(HUB) not in sys.path:
    sys.path.insert(0, str(HUB))


def require_class_machine() -> None:
    """Skip (fail under CI) unless this process can create accounts and run the hub and the sandbox."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (it creates throwaway system accounts)")
    for tool in ("useradd", "userdel", "runuser", "bwrap"):
        if shutil.which(tool) is None:
            missing.append(tool)
    import prepare

    for path in (VENV_BIN / "nbgrader", Path(sys.executable)):  # the environment, and the interpreter it links to
        closed = prepare.closed_parent(path)
        if closed is not None:
            missing.append(f"an environment other users can run ({path.resolve()} is under {closed}, closed to "
                           "others)")
            break
    if not (VENV_BIN / "configurable-http-proxy").exists():
        missing.append("configurable-http-proxy in .venv/bin (make setup-hub)")
    if shutil.which("jupyterhub", path=str(VENV_BIN)) is None:
        missing.append("jupyterhub (the hub extra; make setup)")
    if not missing:
        return
    skip_or_fail_in_ci("the class-server test needs " + ", ".join(missing))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ClassServer:
    """One class: ``instructor``, ``students`` (role -> account), their group, exchange and hub folders."""

    base: Path
    instructor: str
    students: dict[str, str]
    group: str
    course_id: str = "biosignal-test"
    hub_procs: list = field(default_factory=list)

    @property
    def exchange(self) -> Path:
        return self.base / "exchange"

    @property
    def hub_dir(self) -> Path:
        return self.base / "hub"

    def home(self, user: str) -> Path:
        import pwd

        return Path(pwd.getpwnam(user).pw_dir)

    @property
    def course_tree(self) -> Path:
        return self.home(self.instructor) / "course-tree"

    def env(self, user: str) -> dict[str, str]:
        config = self.course_tree / "course" if user == self.instructor else self.hub_dir / "student-config"
        return {"HOME": str(self.home(user)), "USER": user, "LOGNAME": user, "LANG": "C.UTF-8",
                "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin", "JUPYTER_CONFIG_PATH": str(config),
                "BIOSIGNAL_COURSE_ID": self.course_id, "BIOSIGNAL_EXCHANGE_ROOT": str(self.exchange)}

    def run(self, user: str, args: list[str], cwd: Path | None = None, check: bool = True,
            timeout: float = 300) -> subprocess.CompletedProcess:
        """``args`` run as ``user`` (runuser, clean environment), in ``cwd`` (default: the user's home)."""
        cmd = ["runuser", "-u", user, "--", "env", "-i", *(f"{k}={v}" for k, v in self.env(user).items()), *args]
        result = subprocess.run(cmd, cwd=cwd or self.home(user), capture_output=True, text=True, timeout=timeout,
                                check=False)
        if check and result.returncode != 0:
            pytest.fail(f"{' '.join(args)} as {user} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
                        f"{result.stderr[-3000:]}", pytrace=False)
        return result

    def nbgrader(self, user: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cwd = self.course_tree / "course" if user == self.instructor else None
        return self.run(user, [str(VENV_BIN / "nbgrader"), *args], cwd=cwd, check=check)

    def give(self, user: str, path: Path) -> None:
        """Hand ``path`` (and everything under it) to ``user``."""
        import pwd

        entry = pwd.getpwnam(user)
        for p in [path, *(path.rglob("*") if path.is_dir() else [])]:
            os.chown(p, entry.pw_uid, entry.pw_gid)


def open_class(roles: tuple[str, ...]) -> ClassServer:
    """Accounts (an instructor and one student per role, in a fresh group), the exchange and student config."""
    import accounts
    import prepare

    tag = secrets.token_hex(3)
    base = Path(tempfile.mkdtemp(prefix="biosignal-hub-", dir="/tmp"))
    os.chmod(base, 0o755)  # students must reach the exchange and their configuration inside it
    cls = ClassServer(base=base, instructor=f"bh{tag}prof", group=f"bh{tag}class",
                      students={role: f"bh{tag}{role[:8]}" for role in roles})
    accounts.ensure_group(cls.group)
    accounts.add_user(cls.instructor)
    for name in cls.students.values():
        accounts.add_user(name, (cls.group,))
    prepare.make_exchange(cls.exchange, cls.course_id, cls.instructor)
    prepare.install_student_config(cls.hub_dir)
    return cls


def close_class(cls: ClassServer) -> None:
    """Stop the hub, remove every account, the group and the folders (also after a failure)."""
    import accounts

    for proc in cls.hub_procs:
        stop(proc)
    for name in [cls.instructor, *cls.students.values()]:
        accounts.remove_user(name)
    subprocess.run(["groupdel", cls.group], capture_output=True, check=False)
    shutil.rmtree(cls.base, ignore_errors=True)


def instructor_course(cls: ClassServer, assignment: str, source) -> Path:
    """The instructor's course directory (config, grading machinery, one assignment's source) in their home."""
    import nbformat
    from test_grading import copy_course

    tree = copy_course(cls.course_tree)
    shutil.copytree(HUB, tree / "course" / "hub", ignore=shutil.ignore_patterns("__pycache__"))
    (tree / "solutions" / assignment).mkdir(parents=True)
    nbformat.write(source, tree / "solutions" / assignment / f"{assignment}.ipynb")
    cls.give(cls.instructor, tree)
    return tree


def release(cls: ClassServer, assignment: str) -> None:
    cls.nbgrader(cls.instructor, "generate_assignment", assignment)
    cls.nbgrader(cls.instructor, "release_assignment", assignment)


# ------------------------------------------------------------------------------------------------------ the hub
def start_hub(cls: ClassServer, password: str | None, log: Path) -> tuple[str, str]:
    """JupyterHub from course/hub/jupyterhub_config.py on 127.0.0.1; returns (URL, API token).

    With a ``password``: a shared test password instead of PAM, and an API token for the test (a service allowed
    to start servers and call them). Without: the configuration exactly as ``make hub`` runs it (PAM), no token.
    """
    token = secrets.token_hex(24) if password else ""
    port = free_port()
    config = cls.hub_dir / "test_jupyterhub_config.py"
    if password is None:
        config = HUB / "jupyterhub_config.py"
    else:
        config.write_text(
            f"load_subconfig({str(HUB / 'jupyterhub_config.py')!r})\n"
            "c.JupyterHub.authenticator_class = 'shared-password'\n"
            f"c.SharedPasswordAuthenticator.user_password = {password!r}\n"
            f"c.Authenticator.allowed_users = { {cls.instructor, *cls.students.values()} !r}\n"
            "c.JupyterHub.services = [{'name': 'hub-test', 'api_token': " + repr(token) + "}]\n"
            "c.JupyterHub.load_roles = [{'name': 'hub-test', 'services': ['hub-test'], 'scopes': "
            "['admin:users', 'admin:servers', 'access:servers', 'read:users']}]\n")
    env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ['PATH']}",
               BIOSIGNAL_INSTRUCTOR=cls.instructor, BIOSIGNAL_COURSE_GROUP=cls.group,
               BIOSIGNAL_COURSE_ID=cls.course_id, BIOSIGNAL_EXCHANGE_ROOT=str(cls.exchange),
               BIOSIGNAL_HUB_DIR=str(cls.hub_dir), BIOSIGNAL_HUB_IP="127.0.0.1", BIOSIGNAL_HUB_PORT=str(port),
               BIOSIGNAL_HUB_API_PORT=str(free_port()), BIOSIGNAL_PROXY_API_PORT=str(free_port()),
               BIOSIGNAL_COURSE_DIR=str(cls.course_tree))
    with open(log, "w") as out:
        proc = subprocess.Popen([str(VENV_BIN / "jupyterhub"), "-f", str(config)], cwd=cls.hub_dir, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    cls.hub_procs.append(proc)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"jupyterhub exited with {proc.returncode}:\n{log.read_text()[-4000:]}", pytrace=False)
        try:
            if api(base, token, "GET", "/hub/api/")[0] == 200:  # before the hub's route is set the proxy says 404
                return base, token
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"jupyterhub did not answer within 90 s:\n{log.read_text()[-4000:]}", pytrace=False)


def stop(proc: subprocess.Popen) -> None:
    """Stop the hub (and, as it exits, the proxy and the users' servers it started)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def api(base: str, token: str, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
    """One request through the hub's proxy with the test's token; (status, JSON or text). HTTP errors are returned,
    connection errors raised."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", **({"Authorization": f"token {token}"} if token else {})}
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode(errors="replace")
    try:
        return status, json.loads(text) if text else None
    except json.JSONDecodeError:
        return status, text


def start_server(base: str, token: str, user: str, timeout_s: float = 150) -> None:
    """Start ``user``'s server through the hub and wait until the hub reports it ready."""
    status, body = api(base, token, "POST", f"/hub/api/users/{user}")  # a user unknown to the hub's database yet
    assert status in (201, 409), (status, body)
    status, body = api(base, token, "POST", f"/hub/api/users/{user}/server")
    assert status in (201, 202, 400), (status, body)  # 400: already running
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _, info = api(base, token, "GET", f"/hub/api/users/{user}")
        server = (info.get("servers") or {}).get("") if isinstance(info, dict) else None
        if server and server.get("ready"):
            return
        time.sleep(1)
    pytest.fail(f"{user}'s server did not become ready within {timeout_s} s", pytrace=False)
