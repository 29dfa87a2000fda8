"""JupyterHub configuration of the Biosignal DL Course: a whole class on one machine (``sudo make hub``).

Every user is a local system account; the hub (root) starts each user's Jupyter server under that account from
the course's virtual environment (the repository's ``.venv``, read-only for students), so every kernel is the
course's Python. Two kinds of user:

- the instructor (``BIOSIGNAL_INSTRUCTOR``): a hub admin whose server opens the course directory (the repository)
  with the course's nbgrader configuration (``course/nbgrader_config.py``): formgrader, ``make grade``,
  release and collect through the exchange;
- students (members of ``BIOSIGNAL_COURSE_GROUP``): their server opens their home with a configuration that has
  nbgrader's Assignments tab and validate button and neither the formgrader nor the create-assignment tools
  (``course/hub/student/``, installed by ``prepare.py`` to ``$BIOSIGNAL_HUB_DIR/student-config``).

Both see nbgrader's exchange at ``BIOSIGNAL_EXCHANGE_ROOT`` under the course id ``BIOSIGNAL_COURSE_ID``.
``make hub`` sets all of these (its variables are named in the instructor guide). What a real server must change
here (log-in, TLS, public address, resource limits) is in the instructor guide, "Teaching a class on JupyterHub".
"""
import os
import shutil
import sys
from pathlib import Path

HUB = Path(__file__).resolve().parent
REPO = HUB.parent.parent
VENV = Path(os.environ.get("BIOSIGNAL_VENV", REPO / ".venv"))


def setting(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if not value:
        sys.exit(f"course/hub/jupyterhub_config.py: {name} is not set (start the hub with `sudo make hub`)")
    return value


HUB_DIR = Path(setting("BIOSIGNAL_HUB_DIR", "/srv/biosignal-hub"))
EXCHANGE_ROOT = setting("BIOSIGNAL_EXCHANGE_ROOT", "/srv/nbgrader/exchange")
COURSE_ID = setting("BIOSIGNAL_COURSE_ID", "biosignal-dl")
COURSE_GROUP = setting("BIOSIGNAL_COURSE_GROUP", "biosignal-students")
INSTRUCTOR = setting("BIOSIGNAL_INSTRUCTOR")
COURSE_DIR = Path(setting("BIOSIGNAL_COURSE_DIR", str(REPO)))  # the instructor's course directory

c = get_config()  # noqa: F821 (defined by traitlets when it loads this file)

# --- where the hub listens and keeps its state. Plain HTTP on the loopback by default: a class server needs TLS
# (c.JupyterHub.ssl_cert / ssl_key, or a reverse proxy) before it listens on a public address (HUB_IP=0.0.0.0).
c.JupyterHub.ip = setting("BIOSIGNAL_HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(setting("BIOSIGNAL_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(setting("BIOSIGNAL_HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{setting('BIOSIGNAL_PROXY_API_PORT', '8001')}"
c.ConfigurableHTTPProxy.command = [shutil.which("configurable-http-proxy", path=f"{VENV}/bin:{os.environ['PATH']}")
                                   or "configurable-http-proxy"]
c.ConfigurableHTTPProxy.pid_file = str(HUB_DIR / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{HUB_DIR / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(HUB_DIR / "jupyterhub_cookie_secret")

# --- who may log in: local accounts (PAM: the machine's passwords), the course group and the instructor.
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = {INSTRUCTOR}
c.PAMAuthenticator.allowed_groups = {COURSE_GROUP}
c.Authenticator.admin_users = {INSTRUCTOR}

# --- each user's server: the course's environment, under the user's own account.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(VENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
# a cold start imports JupyterLab, nbgrader and the formgrader: 10-20 s on a busy 2-core machine
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
# Resource limits: LocalProcessSpawner does not enforce mem_limit/cpu_limit; see the instructor guide (systemdspawner).


def give_lessons(user: str) -> None:
    """A student's own copy of ``lessons/`` in their home, made at their first log-in (never overwritten)."""
    import pwd

    entry = pwd.getpwnam(user)
    dest = Path(entry.pw_dir) / "lessons"
    if dest.exists() or not (REPO / "lessons").is_dir():
        return
    shutil.copytree(REPO / "lessons", dest, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for path in [dest, *dest.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def per_user(spawner) -> None:
    """The instructor's server opens the course; a student's opens their home (with their copy of the lessons)
    and the student configuration."""
    name = spawner.user.name
    env = {
        "PATH": f"{VENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",  # nbgrader shells out to alembic (in the venv)
        "BIOSIGNAL_COURSE_ID": COURSE_ID,
        "BIOSIGNAL_EXCHANGE_ROOT": EXCHANGE_ROOT,
    }
    if name == INSTRUCTOR:
        env["JUPYTER_CONFIG_PATH"] = str(COURSE_DIR / "course")
        spawner.notebook_dir = str(COURSE_DIR)
    else:
        env["JUPYTER_CONFIG_PATH"] = str(HUB_DIR / "student-config")
        spawner.notebook_dir = "~"
        give_lessons(name)
    spawner.environment.update(env)


c.Spawner.pre_spawn_hook = per_user
