"""A class on one JupyterHub server: nbgrader's exchange round trip between real accounts, and the hub itself.

One instructor and three students are throwaway system accounts (``hub_class.py``; removed afterwards). The
instructor releases a tiny assignment (test_grading's ``tiny_source``: two graded cells, 3 points) to the
exchange made by ``course/hub/prepare.py``; each student fetches it; ``correct`` submits the solution, ``wrong``
one with a wrong hidden-test answer, ``hostile`` one whose code tries, while being graded, to write into the
gradebook, the exchange and another student's home, and who also tries the same from their own account, and
submits a blank notebook under ``correct``'s name. The instructor collects, autogrades (sandboxed, as
``make grade``), generates and releases feedback; each student fetches their own. Then the hub from
``course/hub/jupyterhub_config.py`` starts a student's and the instructor's server: the student's Assignments
API lists the release and has no formgrader; the instructor's formgrader sees the three graded submissions.

Every command runs as its user (``runuser``): 17 nbgrader commands, three sandboxed kernels, two hubs. Measured on
a 2-core machine shared with other work (load 7-13): the round trip 113-294 s, this whole file 282-350 s; most of
it is nbgrader's start-up (about 3 s a command on an idle core) and the single-user servers' (10-20 s each).
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT
from hub_class import (
    HUB,
    ClassServer,
    api,
    close_class,
    instructor_course,
    open_class,
    release,
    require_class_machine,
    start_hub,
    start_server,
    stop,
)
from test_grading import _replace, solved, tiny_source

pytestmark = [pytest.mark.hub, pytest.mark.slow]
ASSIGNMENT = "tiny"
SENTINEL = "PWNED-by-hostile"


def hostile_answer(cls: ClassServer) -> str:
    """A correct ``squares`` that first tries to write where grading must not let it; prints what happened."""
    targets = {
        "gradebook": cls.course_tree / "course" / "gradebook.db",
        "outbound": cls.exchange / cls.course_id / "outbound" / ASSIGNMENT / "tiny.ipynb",
        "feedback": cls.exchange / cls.course_id / "feedback" / f"{SENTINEL}.html",
        "other_home": cls.home(cls.students["correct"]) / SENTINEL,
        "instructor_home": cls.home(cls.instructor) / SENTINEL,
    }
    return ("import json\n_outcome = {}\n"
            f"for _name, _path in {json.dumps({k: str(v) for k, v in targets.items()})}.items():\n"
            "    try:\n"
            f"        with open(_path, 'a') as _f:\n            _f.write({SENTINEL!r})\n"
            "        _outcome[_name] = 'written'\n"
            "    except OSError as _e:\n"
            "        _outcome[_name] = type(_e).__name__\n"
            "print('GRADING-TIME', json.dumps(_outcome))\n\n\n"
            "def squares(n):\n    return [i * i for i in range(n)]\n")


# Each attempt of the hostile student's own account (a terminal on the hub): name -> Python statement.
def shell_attempts(cls: ClassServer, victim_submission: Path, victim_cache: Path) -> dict[str, str]:
    course = cls.exchange / cls.course_id
    victim_home = cls.home(cls.students["correct"])
    gradebook = cls.course_tree / "course" / "gradebook.db"
    return {
        "outbound: add a file to the release": f"open({str(course / 'outbound' / ASSIGNMENT / 'extra.py')!r}, 'w')",
        "outbound: overwrite the released notebook": f"open({str(course / 'outbound' / ASSIGNMENT / 'tiny.ipynb')!r}, 'w')",
        "outbound: release an assignment": f"os.mkdir({str(course / 'outbound' / 'evil')!r})",
        "inbound: list the submissions": f"os.listdir({str(course / 'inbound')!r})",
        "inbound: overwrite another's submission": f"open({str(victim_submission / 'tiny.ipynb')!r}, 'w')",
        "inbound: add a file to another's submission": f"open({str(victim_submission / 'extra.ipynb')!r}, 'w')",
        "inbound: read another's submission secret": f"open({str(victim_submission / 'submission_secret.txt')!r}).read()",
        "inbound: move another's submission away": f"os.rename({str(victim_submission)!r}, {str(course / 'inbound' / 'moved')!r})",
        "feedback: list the feedback": f"os.listdir({str(course / 'feedback')!r})",
        "feedback: write a feedback page": f"open({str(course / 'feedback' / 'forged.html')!r}, 'w')",
        "exchange: move the course folder": f"os.rename({str(course)!r}, {str(cls.exchange / 'moved')!r})",
        "home: list another student's home": f"os.listdir({str(victim_home)!r})",
        "home: write into another student's home": f"open({str(victim_home / SENTINEL)!r}, 'w')",
        "home: read another student's submission secret": f"open({str(victim_cache / 'submission_secret.txt')!r}).read()",
        "gradebook: read the instructor's gradebook": f"open({str(gradebook)!r}, 'rb').read()",
        "gradebook: write the instructor's gradebook": f"open({str(gradebook)!r}, 'ab')",
        "solutions: read the assignment's source": f"open({str(cls.course_tree / 'solutions' / ASSIGNMENT / 'tiny.ipynb')!r}).read()",
    }


def run_attempts(cls: ClassServer, user: str, attempts: dict[str, str]) -> dict[str, str]:
    """Each statement run as ``user``; name -> 'denied: <error>' or 'done'."""
    script = ("import json, os\nout = {}\n"
              f"for name, stmt in {json.dumps(attempts)}.items():\n"
              "    try:\n        exec(stmt)\n        out[name] = 'done'\n"
              "    except OSError as e:\n        out[name] = 'denied: ' + type(e).__name__\n"
              "print(json.dumps(out))\n")
    result = cls.run(user, ["python3", "-c", script])
    return json.loads(result.stdout.strip().splitlines()[-1])


def exchange_round_trip(cls: ClassServer) -> dict:
    """Release, fetch, submit (three students and a forgery), collect, autograde, feedback; what each step left."""
    source = tiny_source()
    instructor_course(cls, ASSIGNMENT, source)
    release(cls, ASSIGNMENT)
    released = nbformat.read(cls.exchange / cls.course_id / "outbound" / ASSIGNMENT / "tiny.ipynb", as_version=4)
    good = solved(released, source)
    notebooks = {
        "correct": good,
        "wrong": _replace(good, "double", "def double(x):\n    return 2 * abs(x)"),
        "hostile": _replace(good, "squares", hostile_answer(cls)),
    }
    for role, user in cls.students.items():
        cls.nbgrader(user, "fetch_assignment", ASSIGNMENT)
        path = cls.home(user) / ASSIGNMENT / "tiny.ipynb"
        nbformat.write(notebooks[role], path)
        cls.give(user, path)
        cls.nbgrader(user, "submit", ASSIGNMENT)
    # the forgery: a blank notebook submitted later under correct's name
    time.sleep(1.1)  # nbgrader's timestamps have sub-second resolution; keep the forgery unambiguously newer
    forged = cls.nbgrader(cls.students["hostile"], "submit", ASSIGNMENT, f"--student={cls.students['correct']}",
                          check=False)
    collect = cls.nbgrader(cls.instructor, "collect", ASSIGNMENT)
    cls.nbgrader(cls.instructor, "autograde", ASSIGNMENT)  # every collected submission, each sandboxed
    cls.nbgrader(cls.instructor, "generate_feedback", ASSIGNMENT)
    cls.nbgrader(cls.instructor, "release_feedback", ASSIGNMENT)
    for user in cls.students.values():
        cls.nbgrader(user, "fetch_feedback", ASSIGNMENT)
    victim = cls.students["correct"]
    inbound = cls.exchange / cls.course_id / "inbound"
    genuine = [p for p in inbound.glob(f"{victim}+{ASSIGNMENT}+*") if p.stat().st_uid == _uid(victim)]
    assert len(genuine) == 1, genuine  # the forgery under victim's name belongs to hostile
    cache = cls.home(victim) / ".local/share/jupyter/nbgrader_cache" / cls.course_id
    victim_cache = max(cache.glob(f"{victim}+{ASSIGNMENT}+*"))
    attempts = run_attempts(cls, cls.students["hostile"], shell_attempts(cls, genuine[0], victim_cache))
    return {"collect": collect.stdout + collect.stderr, "forged": forged, "attempts": attempts}


def _uid(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_uid


@pytest.fixture(scope="module")
def hub_class():
    require_class_machine()
    cls = open_class(("correct", "wrong", "hostile"))
    try:
        start = time.perf_counter()
        trip = exchange_round_trip(cls)
        trip["seconds"] = time.perf_counter() - start
        print(f"\nexchange round trip: {trip['seconds']:.0f} s")
        yield cls, trip
    finally:
        close_class(cls)


def scores(cls: ClassServer) -> dict[str, dict[str, float]]:
    """student -> {test cell: points}, from the instructor's gradebook (nbgrader's API, as root)."""
    from nbgrader.api import Gradebook

    db = cls.course_tree / "course" / "gradebook.db"
    with Gradebook(f"sqlite:///{db}", cls.course_id) as gb:
        return {s.id: {g.name: g.auto_score for g in gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, s.id).grades}
                for s in gb.students}


# ----------------------------------------------------------------------------------------------- the round trip
def test_every_student_fetched_the_release_and_was_graded_on_their_own_answers(hub_class):
    cls, _ = hub_class
    s = cls.students
    assert scores(cls) == {
        s["correct"]: {"test_squares": 2, "test_double": 1},
        s["wrong"]: {"test_squares": 2, "test_double": 0},      # fails only the hidden test
        s["hostile"]: {"test_squares": 2, "test_double": 1},    # its answers are right; its attacks failed
    }


def test_a_submission_forged_under_another_students_name_is_not_collected(hub_class):
    cls, trip = hub_class
    # nbgrader lets anyone submit under any name; the course's collect refuses a folder its named student does
    # not own, so correct's real (earlier) submission is graded, not the blank forgery
    assert trip["forged"].returncode == 0, trip["forged"].stderr
    assert f"claims to be from {cls.students['correct']} but belongs to {cls.students['hostile']}" in trip["collect"]
    assert scores(cls)[cls.students["correct"]] == {"test_squares": 2, "test_double": 1}


def test_grading_time_attacks_found_none_of_the_instructors_or_students_files(hub_class):
    cls, _ = hub_class
    page = cls.course_tree / "course" / "autograded" / cls.students["hostile"] / ASSIGNMENT / "tiny.ipynb"
    nb = nbformat.read(page, as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    outcome = json.loads(printed.split("GRADING-TIME", 1)[1].strip().splitlines()[0])
    assert set(outcome) == {"gradebook", "outbound", "feedback", "other_home", "instructor_home"}
    assert all(v != "written" for v in outcome.values()), outcome
    for path in [cls.home(cls.students["correct"]) / SENTINEL, cls.home(cls.instructor) / SENTINEL,
                 cls.exchange / cls.course_id / "feedback" / f"{SENTINEL}.html"]:
        assert not path.exists(), path
    released = (cls.exchange / cls.course_id / "outbound" / ASSIGNMENT / "tiny.ipynb").read_text()
    assert SENTINEL not in released


@pytest.mark.parametrize("attempt", [
    "outbound: add a file to the release",
    "outbound: overwrite the released notebook",
    "outbound: release an assignment",
    "inbound: list the submissions",
    "inbound: overwrite another's submission",
    "inbound: add a file to another's submission",
    "inbound: read another's submission secret",
    "inbound: move another's submission away",
    "feedback: list the feedback",
    "feedback: write a feedback page",
    "exchange: move the course folder",
    "home: list another student's home",
    "home: write into another student's home",
    "home: read another student's submission secret",
    "gradebook: read the instructor's gradebook",
    "gradebook: write the instructor's gradebook",
    "solutions: read the assignment's source",
])
def test_the_hostile_students_account_cannot(hub_class, attempt):
    _, trip = hub_class
    assert trip["attempts"][attempt] == "denied: PermissionError", trip["attempts"][attempt]


def feedback_pages(cls: ClassServer, user: str) -> list[Path]:
    return sorted((cls.home(user) / ASSIGNMENT / "feedback").glob("*/tiny.html"))


def test_each_student_fetched_their_own_feedback_and_only_theirs(hub_class):
    cls, _ = hub_class
    texts = {}
    for role, user in cls.students.items():
        pages = feedback_pages(cls, user)
        assert len(pages) == 1, (role, pages)
        texts[role] = pages[0].read_text()
        assert user in texts[role] or "tiny" in texts[role]
    assert "A hidden test in this cell failed (0 / 1 points)" in texts["wrong"]
    assert "A hidden test in this cell failed" not in texts["correct"]
    assert "GRADING-TIME" in texts["hostile"] and "GRADING-TIME" not in texts["correct"] + texts["wrong"]
    assert len(set(texts.values())) == 3
    for text in texts.values():
        assert "SECRET_HIDDEN_MESSAGE" not in text


def test_the_exchange_has_the_documented_modes(hub_class):
    cls, _ = hub_class
    course = cls.exchange / cls.course_id
    modes = {p: oct(p.stat().st_mode & 0o7777) for p in
             (cls.exchange, course, course / "outbound", course / "inbound", course / "feedback")}
    assert list(modes.values()) == ["0o1777", "0o755", "0o755", "0o3733", "0o711"], modes
    submission = next((course / "inbound").glob(f"{cls.students['wrong']}+*"))
    assert oct(submission.stat().st_mode & 0o7777) == "0o750"
    assert {oct(p.stat().st_mode & 0o777) for p in submission.iterdir()} == {"0o640"}
    inbound_group = (course / "inbound").stat().st_gid  # the instructor's: collect reads through it
    assert {p.stat().st_gid for p in [submission, *submission.iterdir()]} == {inbound_group}


# ------------------------------------------------------------------------------------------------------ the hub
@pytest.mark.timeout(600)
def test_the_hub_serves_the_assignments_tab_to_students_and_the_formgrader_to_the_instructor(hub_class, tmp_path):
    cls, _ = hub_class
    base, token = start_hub(cls, "class-test-password", tmp_path / "hub.log")
    student, instructor = cls.students["wrong"], cls.instructor
    start_server(base, token, student)
    lessons = cls.home(student) / "lessons"  # their own copy, made at the first start
    assert sorted(p.name for p in lessons.glob("*.ipynb")) == sorted(p.name for p in (ROOT / "lessons").glob("*.ipynb"))
    assert {p.stat().st_uid for p in [lessons, *lessons.iterdir()]} == {_uid(student)}
    status, listing = api(base, token, "GET", f"/user/{student}/assignments?course_id={cls.course_id}")
    assert status == 200 and listing["success"], (status, listing)
    # what the Assignments tab shows this student: the copy they fetched and their submission
    mine = {(a["assignment_id"], a["status"], a["course_id"]) for a in listing["value"]}
    assert mine == {(ASSIGNMENT, "fetched", cls.course_id), (ASSIGNMENT, "submitted", cls.course_id)}, mine
    status, _ = api(base, token, "GET", f"/user/{student}/formgrader/api/assignments")
    assert status == 404, "a student's server must not serve the formgrader"
    start_server(base, token, instructor)
    status, assignments = api(base, token, "GET", f"/user/{instructor}/formgrader/api/assignments")
    assert status == 200, (status, assignments)
    tiny = next(a for a in assignments if a["name"] == ASSIGNMENT)
    assert tiny["num_submissions"] == 3, tiny
    stop(cls.hub_procs.pop())  # and with it the two servers


# ------------------------------------------------------------------- the configuration, without accounts or a hub
def load_hub_config(monkeypatch, **env):
    from traitlets.config.loader import PyFileConfigLoader

    for key, value in {"BIOSIGNAL_INSTRUCTOR": "prof", "BIOSIGNAL_HUB_DIR": "/srv/hub-x",
                       "BIOSIGNAL_COURSE_DIR": "/srv/course-x", **env}.items():
        monkeypatch.setenv(key, value)
    return PyFileConfigLoader("jupyterhub_config.py", path=str(HUB)).load_config()


class FakeSpawner:
    def __init__(self, name):
        self.user = type("User", (), {"name": name})()
        self.environment = {}
        self.notebook_dir = None


def test_hub_config_admits_the_course_group_and_the_instructor_and_runs_servers_from_the_venv(monkeypatch):
    cfg = load_hub_config(monkeypatch, BIOSIGNAL_COURSE_GROUP="class-x")
    assert cfg.JupyterHub.authenticator_class == "pam"
    assert cfg.PAMAuthenticator.allowed_groups == {"class-x"}
    assert cfg.Authenticator.allowed_users == {"prof"} and cfg.Authenticator.admin_users == {"prof"}
    assert cfg.Spawner.cmd == [str(ROOT / ".venv" / "bin" / "jupyterhub-singleuser")]
    assert cfg.JupyterHub.ip == "127.0.0.1"  # plain HTTP stays on the loopback unless the instructor opens it


def test_hub_gives_the_instructor_the_course_and_students_their_home_with_the_student_config(monkeypatch):
    cfg = load_hub_config(monkeypatch, BIOSIGNAL_COURSE_ID="bio-x", BIOSIGNAL_EXCHANGE_ROOT="/srv/ex")
    prof, student = FakeSpawner("prof"), FakeSpawner("alice")
    given = []
    cfg.Spawner.pre_spawn_hook.__globals__["give_lessons"] = given.append  # no account 'alice' here
    cfg.Spawner.pre_spawn_hook(prof)
    cfg.Spawner.pre_spawn_hook(student)
    assert prof.notebook_dir == "/srv/course-x" and prof.environment["JUPYTER_CONFIG_PATH"] == "/srv/course-x/course"
    assert student.notebook_dir == "~" and given == ["alice"]
    assert student.environment["JUPYTER_CONFIG_PATH"] == "/srv/hub-x/student-config"
    for env in (prof.environment, student.environment):
        assert env["BIOSIGNAL_COURSE_ID"] == "bio-x" and env["BIOSIGNAL_EXCHANGE_ROOT"] == "/srv/ex"
        assert env["PATH"].startswith(str(ROOT / ".venv" / "bin"))


def test_hub_config_without_an_instructor_names_the_missing_setting(monkeypatch):
    monkeypatch.delenv("BIOSIGNAL_INSTRUCTOR", raising=False)
    from traitlets.config.loader import PyFileConfigLoader

    with pytest.raises(SystemExit, match="BIOSIGNAL_INSTRUCTOR is not set"):
        PyFileConfigLoader("jupyterhub_config.py", path=str(HUB)).load_config()


def test_the_single_user_config_keeps_its_local_exchange_and_default_course(monkeypatch):
    from test_grading import load_config

    monkeypatch.delenv("BIOSIGNAL_COURSE_ID", raising=False)
    monkeypatch.delenv("BIOSIGNAL_EXCHANGE_ROOT", raising=False)
    cfg = load_config(ROOT / "course")
    assert cfg.Exchange.root == str(ROOT / "course" / "exchange")
    assert "course_id" not in cfg.CourseDirectory and "collect" not in cfg.ExchangeFactory
    monkeypatch.setenv("BIOSIGNAL_COURSE_ID", "bio-x")
    monkeypatch.setenv("BIOSIGNAL_EXCHANGE_ROOT", "/srv/ex")
    cfg = load_config(ROOT / "course")
    assert (cfg.CourseDirectory.course_id, cfg.Exchange.root) == ("bio-x", "/srv/ex")
    assert cfg.ExchangeFactory.collect == "course_exchange.OwnerCheckedCollect"


def test_protect_repo_closes_solutions_and_course_and_names_a_closed_parent():
    import tempfile

    import prepare

    base = Path(tempfile.mkdtemp(prefix="biosignal-repo-", dir="/tmp"))  # pytest's tmp_path is closed to others
    try:
        os.chmod(base, 0o755)
        repo = base / "repo"
        for name in ("solutions", "course", "helpers", ".venv/bin", "lessons"):
            (repo / name).mkdir(parents=True)
            os.chmod(repo / name, 0o755)
        (repo / ".venv" / "bin" / "python").symlink_to("/bin/sh")  # an interpreter every user can reach
        changed = prepare.protect_repo(repo)
        assert sorted(changed) == [f"{repo / 'course'}: o-rwx", f"{repo / 'solutions'}: o-rwx"]
        assert oct((repo / "solutions").stat().st_mode & 0o777) == "0o750"
        assert oct((repo / "lessons").stat().st_mode & 0o777) == "0o755"
        assert prepare.protect_repo(repo) == []  # idempotent
        os.chmod(base, 0o700)
        with pytest.raises(RuntimeError, match=f"{base} is closed to others"):
            prepare.protect_repo(repo)
    finally:
        shutil.rmtree(base)


def test_make_setup_and_ci_install_what_the_hub_needs():
    import re
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(d.startswith("jupyterhub==") for d in extras["hub"]), extras["hub"]
    assert any(re.fullmatch(r"biosignal-dl-course-helpers\[.*\bhub\b.*\]", d) for d in extras["dev"]), extras["dev"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^setup-hub: setup$", makefile, re.MULTILINE) and re.search(r"^hub: setup-hub$", makefile,
                                                                                  re.MULTILINE)
    assert "make setup-hub" in (ROOT / ".ci" / "run").read_text()


def log_in(base: str, user: str, password: str) -> tuple[int, str]:
    """POST the hub's log-in form (with its XSRF cookie); (status, final URL)."""
    import http.cookiejar
    import urllib.error
    import urllib.parse
    import urllib.request

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{base}/hub/login", timeout=60)
    xsrf = next(c.value for c in jar if c.name == "_xsrf")
    form = urllib.parse.urlencode({"username": user, "password": password, "_xsrf": xsrf}).encode()
    try:
        with opener.open(urllib.request.Request(f"{base}/hub/login?next=/hub/home", data=form), timeout=60) as r:
            return r.status, r.url
    except urllib.error.HTTPError as error:
        return error.code, error.url


@pytest.mark.timeout(300)
def test_make_hubs_pam_log_in_admits_the_course_group_with_system_passwords_and_no_one_else(hub_class, tmp_path):
    import subprocess

    import accounts

    cls, _ = hub_class
    student, outsider = cls.students["correct"], cls.instructor[:-4] + "out"  # outsider: same tag, not in the group
    accounts.add_user(outsider)
    try:
        subprocess.run(["chpasswd"], input=f"{student}:Student-pw-1\n{outsider}:Outsider-pw-1\n", text=True,
                       check=True)
        base, _ = start_hub(cls, None, tmp_path / "hub.log")  # course/hub/jupyterhub_config.py as make hub runs it
        assert log_in(base, student, "not-the-password")[0] == 403
        assert log_in(base, outsider, "Outsider-pw-1")[0] == 403, "an account outside the course group got in"
        status, url = log_in(base, student, "Student-pw-1")
        assert status == 200 and url.endswith("/hub/home"), (status, url)
    finally:
        accounts.remove_user(outsider)
