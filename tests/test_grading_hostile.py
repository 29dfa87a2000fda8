"""Grading an instructor can trust: careless and hostile submissions, graded the way `make grade` grades them.

One module-scoped run of the trusted driver (``course/grade.py``, in-process) grades, in a throwaway course,
a tiny assignment (seconds per submission) submitted by honest, careless and hostile students, plus a mini
assignment made of af_cnn's real ``screening_metrics`` cells. Each test then checks one case of issue 8:

- the sandbox: a submission cannot edit the gradebook, overwrite a later student's submission, write outside its
  scratch folder, poison the data cache, read solutions/ or $HOME, or reach the network; the kernel runs in the
  CI-sized mode whoever starts autograding;
- test cells run in the grader, not in the kernel (issue 17): AST and input transformers, custom exception
  handlers, patched shell methods, numpy and builtins, a no-op'd guard or a replaced grading link (answering
  True, ValueError or a plausible value for everything) earn a blank notebook nothing;
- no test line is ever in the kernel: a student cell that dumps ``In``, ``Out``, ``_ih`` and the history
  database (base64, rot13, zlib) shows none, and neither does the feedback;
- misbehaviour that used to abort a submission (broken JSON, the submission time limit) is flagged with its
  reason, and the driver still exits 0; a loop that ignores SIGINT costs only its own cell (the kernel is
  killed, restarted and the earlier cells replayed);
- library warnings (scikit-learn on single-class input) do not cost points;
- untouched test cells verify clean, an edited one stands out; answers awaiting a human say so.
"""
from __future__ import annotations

import copy
import csv
import json
import os
import sys

import nbformat
import pytest
from conftest import ROOT, require_tool
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from test_grading import (
    _meta,
    _replace,
    api_for,
    assert_no_hidden_tests,
    check,
    copy_course,
    grade_id,
    grades,
    html_text,
    solved,
    submit,
    tiny_source,
)

pytestmark = pytest.mark.grading

require_tool("bwrap", "apt-get install bubblewrap (.ci/run installs it)")

CELL_TIMEOUT_S = 3
SUBMISSION_TIMEOUT_S = 20   # a runaway's kill, kernel restart and replay fit; k_slow's ten 2.5 s cells do not


def hostile_source():
    """The tiny assignment plus a written answer that needs a human."""
    nb = tiny_source()
    nb.cells.append(new_markdown_cell("Explain `squares` in one sentence.", metadata=_meta(
        "explain", grade=True, solution=True, points=2)))
    return nb


def metrics_source():
    """af_cnn's real screening_metrics solution and test cells (visible and hidden), after a numpy import."""
    af = nbformat.read(ROOT / "solutions" / "af_cnn" / "af_cnn.ipynb", as_version=4)
    cells = [new_code_cell("import numpy as np")]
    cells += [copy.deepcopy(c) for c in af.cells if grade_id(c) in ("metrics_solution", "metrics_tests")]
    return new_notebook(cells=cells, metadata=copy.deepcopy(af.metadata))


SKLEARN_METRICS = '''def screening_metrics(y_true, y_score, threshold=0.5):
    from sklearn.metrics import accuracy_score, recall_score, roc_auc_score

    y_true = np.asarray(y_true).astype(int)
    y_score = np.asarray(y_score, dtype=float)
    y_pred = (y_score >= threshold).astype(int)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "sensitivity": float(recall_score(y_true, y_pred, pos_label=1, zero_division=np.nan)),
        "specificity": float(recall_score(y_true, y_pred, pos_label=0, zero_division=np.nan)),
        "roc_auc": float(roc_auc_score(y_true, y_score)),  # warns (and is NaN) when one class is missing
    }
'''


STUB = """

def squares(n):
    # YOUR CODE HERE
    raise NotImplementedError()"""

# A blank submission plus in-kernel tampering (issue 17): none of it may earn a point.
_FAKE_SYS = """
import builtins, json, sys

class _Server:
    @staticmethod
    def handle(message):
        return json.dumps(ANSWER)

    @staticmethod
    def warm(modules):
        return "warm"

class _Modules(dict):
    def __getitem__(self, key):
        return _Server if key == "_course_rpc" else sys.modules[key]

class _Sys:
    modules = _Modules()

_real_import = builtins.__import__
builtins.__import__ = lambda name, *a, **k: _Sys if name == "sys" else _real_import(name, *a, **k)
"""
# The two attacks of issue 17 on the old in-kernel guard: every later cell, test cells included, becomes `pass`,
# with the guard's reset made a no-op (through sys.modules) or the guard re-installed so that its snapshot holds
# the transformer. Each variant below ends with them, so each scored full marks with the guard.
_PASS_EVERYTHING = """
get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])
"""
_NO_OP_GUARD = """
import sys as _s, types as _t
_g = _t.ModuleType("_course_guard")
_g.install = lambda *a, **k: "installed"
_g.reset = lambda *a, **k: "reset"
_s.modules["_course_guard"] = _g
""" + _PASS_EVERYTHING
_REINSTALLED_GUARD = _PASS_EVERYTHING + """
import sys as _s
if "_course_guard" in _s.modules:
    _s.modules["_course_guard"].install(["math", "numpy"])
"""
TAMPERING = {
    "t_guard": _NO_OP_GUARD,
    "t_reinstall": _REINSTALLED_GUARD,
    # assertions dropped by an input and an AST transformer; the checking functions and classes patched
    "t_patch": """import ast, builtins, sys
import numpy as np

class _NoAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()

get_ipython().ast_transformers.append(_NoAsserts())
get_ipython().input_transformers_post.append(lambda lines: [l for l in lines if "assert" not in l])
np.isclose = np.allclose = np.array_equal = lambda *a, **k: True
builtins.isinstance = lambda *a: True
builtins.AssertionError = type("AssertionError", (Exception,), {})
sys.modules["numpy"] = type(sys)("numpy")""" + _NO_OP_GUARD,
    # the grader's link replaced: every answer True, or ValueError, or a plausible value
    "t_rpc_true": _NO_OP_GUARD + _FAKE_SYS.replace("ANSWER", '{"ok": True}'),
    "t_rpc_raise": _NO_OP_GUARD + _FAKE_SYS.replace(
        "ANSWER", '{"error": {"type": "ValueError", "mro": [["builtins", "ValueError"]], "message": "x"}}'),
    "t_rpc_plausible": _NO_OP_GUARD + _FAKE_SYS.replace("ANSWER", '{"ok": {"t": "list", "v": [0, 1, 4]}}'),
}

SIGINT_LOOP = """import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    pass"""

# The last cell of a student who tries to read the hidden tests back from the kernel, encoded past any scrubber.
HISTORY_DUMP = """import base64, codecs, json, zlib
try:
    _db = [row[2] for row in get_ipython().history_manager.get_range(raw=True)]
    _db += [row[2] for row in get_ipython().history_manager.search("*")]
except Exception as error:
    _db = [repr(error)]
_blob = json.dumps({"In": list(In), "_ih": list(_ih), "Out": repr(Out), "db": _db})
print("HISTORY", base64.b64encode(_blob.encode()).decode())
print("ROT13", codecs.encode(_blob, "rot13"))
print("ZLIB", base64.b64encode(zlib.compress(_blob.encode())).decode())"""


def _with_cells(nb, after_gid, sources):
    nb = copy.deepcopy(nb)
    at = next(i for i, c in enumerate(nb.cells) if grade_id(c) == after_gid) + 1
    nb.cells[at:at] = [new_code_cell(s) for s in sources]
    return nb


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    import grade

    base = tmp_path_factory.mktemp("hostile")
    root = copy_course(base / "repo")
    config = root / "course" / "nbgrader_config.py"
    config.write_text(config.read_text() + (
        f"\nc.Execute.timeout = {CELL_TIMEOUT_S}\n"
        f"c.ResilientExecute.submission_timeout = {SUBMISSION_TIMEOUT_S}\n"
        "c.ResilientExecute.interrupt_grace = 1\n"))
    for name, nb in (("tiny", hostile_source()), ("metrics", metrics_source())):
        (root / "solutions" / name).mkdir(parents=True)
        nbformat.write(nb, root / "solutions" / name / f"{name}.ipynb")
        check(api_for(root).generate_assignment(name), f"generate_assignment {name}")

    # what a hostile submission goes after
    gradebook = root / "course" / "gradebook.db"
    peer = root / "course" / "submitted" / "z_victim" / "tiny" / "tiny.ipynb"
    outside = base / "outside" / "pwned.txt"
    outside.parent.mkdir()
    cache = base / "data-cache"
    (cache / "zenodo_af").mkdir(parents=True)
    (cache / "zenodo_af" / "records.csv").write_text("original\n")
    home = base / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("PRIVATE KEY\n")
    solution = root / "solutions" / "tiny" / "tiny.ipynb"

    release = nbformat.read(root / "assignments" / "tiny" / "tiny.ipynb", as_version=4)
    good = solved(release, hostile_source())
    good = _replace(good, "explain", "It returns the first n squares.")
    attack = f'''import json, os, sqlite3
_results = {{}}
def _attempt(name, action):
    try:
        action()
        _results[name] = "succeeded"
    except Exception as error:
        _results[name] = "blocked: " + type(error).__name__
_attempt("gradebook", lambda: sqlite3.connect({str(gradebook)!r}).execute("UPDATE grade SET auto_score = 0").connection.commit())
_attempt("peer", lambda: open({str(peer)!r}, "w").write("{{}}"))
_attempt("outside", lambda: open({str(outside)!r}, "w").write("pwned"))
_attempt("cache", lambda: open({str(cache / "zenodo_af" / "records.csv")!r}, "w").write("poisoned"))
_attempt("solutions", lambda: open({str(solution)!r}).read())
_attempt("home", lambda: open({str(home / ".ssh" / "id_rsa")!r}).read())
print("ATTACK", json.dumps(_results))

def squares(n):
    return [i * i for i in range(n)]'''
    probe = f'''import json, os, socket
def _net():
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=2)
        return "reachable"
    except OSError as error:
        return "unreachable: " + type(error).__name__
def _read(path):
    try:
        return open(path).read()
    except OSError as error:
        return "unreadable: " + type(error).__name__
print("PROBE", json.dumps({{
    "fast": os.environ.get("BIOSIGNAL_FAST"), "source": os.environ.get("BIOSIGNAL_DATA_SOURCE"),
    "home": os.environ.get("HOME"),
    "data": os.environ.get("BIOSIGNAL_DATA"),
    "sees_repo": os.path.exists({str(root / "course")!r}), "sees_solutions": os.path.exists({str(solution)!r}),
    "sees_home": os.path.exists({str(home)!r}), "net": _net(), "cwd": sorted(os.listdir(".")),
    "shadow": _read("/etc/shadow"),
    "cwd_writable": open("scratch.txt", "w").write("x") == 1,
}}))

def squares(n):
    return [i * i for i in range(n)]'''
    wrong = _replace(_replace(good, "squares", "def squares(n):\n    return []"), "double",
                     "def double(x):\n    return 0")
    ast_bypass = _replace(wrong, "squares", '''import ast

class _NoAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()

get_ipython().ast_transformers.append(_NoAsserts())

def squares(n):
    return []''')
    input_bypass = _replace(wrong, "squares", '''get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])

def squares(n):
    return []''')
    exc_bypass = _replace(wrong, "squares", '''_ip = get_ipython()
_ip.set_custom_exc((AssertionError,), lambda *args, **kwargs: None)
_ip.showtraceback = lambda *args, **kwargs: None

def squares(n):
    return []''')
    event_bypass = _replace(wrong, "squares", '''import ast

class _NoAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()

def _before(*args):
    if not any(isinstance(t, _NoAsserts) for t in get_ipython().ast_transformers):
        get_ipython().ast_transformers.append(_NoAsserts())

get_ipython().events.register("pre_run_cell", _before)

def squares(n):
    return []''')
    leak = _replace(good, "double", f'''def double(x):
    return 2 * x

print(In)
print(_ih[-2])
try:
    print(open({str(solution)!r}).read())
except OSError as error:
    print("solutions unreadable:", type(error).__name__)''')
    sigint = _replace(good, "squares", '''def squares(n):
    while True:
        try:
            while True:
                pass
        except KeyboardInterrupt:
            pass''')
    slow = _with_cells(good, "double", ["import time\ntime.sleep(2.5)"] * 10)
    sigint_cell = _with_cells(good, "squares", [SIGINT_LOOP])
    history = _with_cells(good, "test_double", [HISTORY_DUMP])
    tamper = {name: _replace(release, "squares", code + STUB) for name, code in TAMPERING.items()}
    tampered = _replace(good, "test_double", "pass  # the student 'fixed' the test")
    tampered.cells = [c for c in tampered.cells if grade_id(c) != "test_squares"]

    submissions = {
        "a_correct": good, "b_attack": _replace(release, "squares", attack), "c_ast": ast_bypass,
        "c_input": input_bypass, "c_exc": exc_bypass, "c_event": event_bypass, "d_leak": leak,
        "e_sigint": sigint, "g_blank": release, "h_tampered": tampered, "i_probe": _replace(good, "squares", probe),
        "k_slow": slow, "z_victim": good, "e_sigint_cell": sigint_cell, "m_history": history, **tamper,
    }
    for student, nb in submissions.items():
        submit(root, student, "tiny", nb)
    broken = root / "course" / "submitted" / "f_broken" / "tiny"
    broken.mkdir(parents=True)
    (broken / "tiny.ipynb").write_text('{"cells": [ {"cell_type": "code", "source": "oops"')
    metrics_release = nbformat.read(root / "assignments" / "metrics" / "metrics.ipynb", as_version=4)
    submit(root, "sk_sklearn", "metrics", _replace(metrics_release, "metrics_solution", SKLEARN_METRICS))
    victim_bytes = peer.read_bytes()
    release_dir = root / "assignments" / "tiny"
    release_before = (release_dir.stat().st_ino, (release_dir / "tiny.ipynb").stat().st_mtime_ns)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BIOSIGNAL_DATA", str(cache))
        mp.setenv("HOME", str(home))
        for var in ("BIOSIGNAL_FAST", "BIOSIGNAL_DATA_SOURCE"):
            mp.delenv(var, raising=False)
        exit_code = grade.main(["--course-dir", str(root / "course")])
    with open(root / "build" / "grades.csv") as fh:
        rows = {(r["assignment"], r["student_id"]): r for r in csv.DictReader(fh)}
    release_after = (release_dir.stat().st_ino, (release_dir / "tiny.ipynb").stat().st_mtime_ns)
    return {"root": root, "exit_code": exit_code, "release_untouched": release_before == release_after,
            "rows": rows, "peer": peer, "victim_bytes": victim_bytes, "outside": outside, "cache": cache,
            "source": hostile_source()}


def score(h, student, assignment="tiny"):
    g = grades(h["root"], assignment, student)
    return {k: v[0] for k, v in g.items() if k.startswith("test_") or k.endswith("_tests")}


def outputs_of(h, student) -> str:
    """Everything the student's autograded notebook shows in its code cells' outputs."""
    nb = nbformat.read(h["root"] / "course" / "autograded" / student / "tiny" / "tiny.ipynb", as_version=4)
    return "\n".join(str(o.get("text", "")) + str(o.get("data", "")) for c in nb.cells for o in c.get("outputs", []))


def outputs_text(h, student, marker):
    nb = nbformat.read(h["root"] / "course" / "autograded" / student / "tiny" / "tiny.ipynb", as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and marker in out.get("text", ""):
                return json.loads(out["text"].split(marker, 1)[1].strip().splitlines()[0])
    raise AssertionError(f"no {marker} output in {student}'s autograded notebook")


def test_driver_exits_zero_when_only_submissions_misbehave(hostile):
    assert hostile["exit_code"] == 0


def test_grading_never_rewrites_the_release(hostile):
    """`make grade` used to run `make release`, whose --force deleted assignments/<id>/ under open notebooks."""
    assert hostile["release_untouched"]


def test_release_swaps_changed_files_in_and_keeps_the_folder(hostile, tmp_path):
    import release

    folder = hostile["root"] / "assignments" / "tiny"
    notebook = folder / "tiny.ipynb"
    original = notebook.read_bytes()
    inode = folder.stat().st_ino
    notebook.write_text("{}")                      # an out-of-date release
    (folder / "stale.txt").write_text("no longer released")
    changed = release.release("tiny", hostile["root"] / "course")
    assert folder.stat().st_ino == inode           # a kernel whose cwd is this folder survives
    assert notebook.read_bytes() == original
    assert not (folder / "stale.txt").exists()
    assert sorted(changed) == ["stale.txt (removed)", "tiny.ipynb"]
    assert release.release("tiny", hostile["root"] / "course") == []     # unchanged: nothing touched
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]


def test_submission_cannot_touch_gradebook_peers_files_outside_or_the_data_cache(hostile):
    attempts = outputs_text(hostile, "b_attack", "ATTACK")
    assert all(v.startswith("blocked") for v in attempts.values()), attempts
    assert score(hostile, "a_correct") == {"test_squares": 2, "test_double": 1}   # graded before the attack
    assert hostile["peer"].read_bytes() == hostile["victim_bytes"]
    assert score(hostile, "z_victim") == {"test_squares": 2, "test_double": 1}    # graded after it
    assert not hostile["outside"].exists()
    assert (hostile["cache"] / "zenodo_af" / "records.csv").read_text() == "original\n"


def test_kernel_sees_only_its_scratch_copy_no_network_and_runs_ci_sized(hostile):
    probe = outputs_text(hostile, "i_probe", "PROBE")
    assert probe["fast"] == "1" and probe["source"] == "synthetic", probe   # set by the sandbox, not the caller
    assert not probe["sees_repo"] and not probe["sees_solutions"] and not probe["sees_home"], probe
    assert probe["home"] != os.environ.get("HOME") and probe["data"] != str(hostile["cache"]), probe
    assert probe["net"].startswith("unreachable"), probe
    assert probe["cwd"] == ["tiny.ipynb"], probe
    assert probe["shadow"] in ("", "unreadable: PermissionError", "unreadable: FileNotFoundError"), probe
    assert probe["cwd_writable"], probe


def test_plain_nbgrader_autograde_is_sandboxed_and_ci_sized(hostile):
    """Issue 7: autograding is CI-sized whatever starts it; the command line, with nothing in its environment."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("BIOSIGNAL_")}
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), "nbgrader"), "autograde", "tiny",
                          "--student", "i_probe", "--force"], cwd=hostile["root"] / "course", env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    probe = outputs_text(hostile, "i_probe", "PROBE")
    assert probe["fast"] == "1" and probe["source"] == "synthetic", probe
    assert not probe["sees_repo"] and probe["net"].startswith("unreachable"), probe


@pytest.mark.parametrize("student", ["c_ast", "c_input", "c_exc", "c_event"])
def test_transformers_and_patches_in_the_kernel_do_not_change_a_test(hostile, student):
    assert score(hostile, student) == {"test_squares": 0, "test_double": 0}


@pytest.mark.parametrize("student", sorted(TAMPERING))
def test_a_blank_notebook_that_tampers_with_the_kernel_scores_zero(hostile, student):
    """Issue 17: a no-op guard, dropped assertions, patched numpy/builtins, or a replaced grading link answering
    True, ValueError or a plausible value: test cells run in the grader, so a blank notebook earns nothing."""
    assert score(hostile, student) == {"test_squares": 0, "test_double": 0}
    assert float(hostile["rows"][("tiny", student)]["autograded_score"]) == 0


def test_the_kernel_never_holds_a_test_cell_in_any_encoding(hostile):
    """A student's last cell dumps In, Out, _ih and the history database, base64, rot13 and zlib-encoded: no test
    line was ever in the kernel, so none is in the autograded notebook or in the feedback."""
    import base64
    import codecs
    import zlib

    from test_grading import hidden_lines

    text = outputs_of(hostile, "m_history")
    blob = base64.b64decode(text.split("HISTORY ", 1)[1].split()[0]).decode()
    assert blob == codecs.decode(text.split("ROT13 ", 1)[1].split("\n")[0], "rot13")
    assert blob == zlib.decompress(base64.b64decode(text.split("ZLIB ", 1)[1].split()[0])).decode()
    assert "def double" in blob, "the dump must show the student's own cells"
    for line in hidden_lines(hostile["source"]) + ["squares(3) == [0, 1, 4]", "double(2) == 4"]:
        assert line not in blob, f"the kernel held a test line: {line}"
    assert score(hostile, "m_history") == {"test_squares": 2, "test_double": 1}
    page = hostile["root"] / "course" / "feedback" / "m_history" / "tiny" / "tiny.html"
    assert_no_hidden_tests(page, hostile["source"])


def test_feedback_never_shows_hidden_tests_even_when_a_cell_prints_In(hostile):
    page = hostile["root"] / "course" / "feedback" / "d_leak" / "tiny" / "tiny.html"
    assert_no_hidden_tests(page, hostile["source"])
    assert "SECRET_HIDDEN_MESSAGE" not in page.read_text()
    assert score(hostile, "d_leak") == {"test_squares": 2, "test_double": 1}
    printed = outputs_of(hostile, "d_leak")
    assert "squares(3)" not in printed and "SECRET_HIDDEN_MESSAGE" not in printed, "a test cell reached the kernel"


def test_every_feedback_page_hides_hidden_tests(hostile):
    pages = list((hostile["root"] / "course" / "feedback").glob("*/tiny/tiny.html"))
    assert len(pages) >= 10
    for page in pages:
        assert_no_hidden_tests(page, hostile["source"])


@pytest.mark.parametrize("student", ["e_sigint", "e_sigint_cell"])
def test_loop_ignoring_sigint_costs_only_its_own_cell_and_is_flagged(hostile, student):
    """e_sigint: the test's call of squares() never returns; e_sigint_cell: a student cell never ends. The kernel
    is killed, a fresh one replays the cells that had run, and the later cells still score (they scored 0)."""
    expected = {"e_sigint": {"test_squares": 0, "test_double": 1},
                "e_sigint_cell": {"test_squares": 2, "test_double": 1}}[student]
    assert score(hostile, student) == expected
    row = hostile["rows"][("tiny", student)]
    assert row["status"].startswith("CHECK") and "ignored the interrupt" in row["status"], row
    assert "restarted" in row["status"], row


def test_broken_json_is_flagged_with_its_reason(hostile):
    row = hostile["rows"][("tiny", "f_broken")]
    assert row["status"].startswith("CHECK") and "could not be read" in row["status"], row
    assert float(row["score"]) == 0


def test_submission_time_limit_stops_the_rest_and_is_flagged(hostile):
    row = hostile["rows"][("tiny", "k_slow")]
    assert "time limit" in row["status"], row
    assert score(hostile, "k_slow")["test_squares"] == 2     # earned before the limit


def test_library_warnings_do_not_cost_points(hostile):
    """screening_metrics built on sklearn.metrics: correct, but scikit-learn warns on the single-class cases."""
    assert score(hostile, "sk_sklearn", "metrics") == {"metrics_tests": 2}


def test_untouched_test_cells_verify_clean_and_an_edited_one_stands_out(hostile):
    for student in ("a_correct", "g_blank", "z_victim"):
        row = hostile["rows"][("tiny", student)]
        assert "edited" not in row["notes"] and "deleted" not in row["notes"], row
    notes = hostile["rows"][("tiny", "h_tampered")]["notes"]
    assert "test_double was edited" in notes and "test_squares was deleted" in notes, notes
    assert score(hostile, "h_tampered") == {"test_squares": 2, "test_double": 1}


def test_untouched_release_logs_no_checksum_warning(hostile):
    result = check(api_for(hostile["root"]).autograde("tiny", "g_blank"), "autograde g_blank")
    assert "checksum" not in result["log"], result["log"]


def test_export_and_feedback_say_what_awaits_manual_grading(hostile):
    row = hostile["rows"][("tiny", "a_correct")]
    assert float(row["autograded_score"]) == 3 and float(row["awaiting_manual_grading"]) == 2, row
    assert row["status"] == "awaiting manual grading", row
    page = html_text(hostile["root"] / "course" / "feedback" / "a_correct" / "tiny" / "tiny.html")
    assert "awaiting manual grading (2.0 points)" in page and "2.0 points awaiting manual grading" in page
    assert "Score: 0.0 / 2.0" not in page


def test_grading_refuses_to_run_unsandboxed_unless_asked(monkeypatch, tmp_path, capsys):
    import grade
    import sandbox

    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    monkeypatch.delenv(sandbox.UNSANDBOXED_ENV, raising=False)
    assert grade.main(["--course-dir", str(tmp_path)]) == 2
    assert "refusing to grade" in capsys.readouterr().err


def test_kernel_manager_refuses_without_bwrap(monkeypatch, tmp_path):
    """A plain `nbgrader autograde` (or the formgrader's button) goes through the same kernel manager."""
    import asyncio

    import sandbox

    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    monkeypatch.delenv(sandbox.UNSANDBOXED_ENV, raising=False)
    km = sandbox.SandboxedKernelManager(kernel_name="python3")
    with pytest.raises(sandbox.SandboxUnavailable, match="bubblewrap"):
        asyncio.run(km._async_pre_start_kernel(cwd=str(tmp_path)))


def test_a_feedback_page_that_still_shows_a_hidden_line_is_withheld_as_a_machinery_fault(hostile):
    """The driver's last check, independent of the preprocessors: a leak is the grader's fault, so it fails."""
    import grade
    import grading_status

    root = hostile["root"]
    course = root / "course"
    page = course / "feedback" / "zz_fake" / "tiny" / "tiny.html"
    page.parent.mkdir(parents=True)
    page.write_text("<pre>assert squares(5)[-1] == 16, &#x27;SECRET_HIDDEN_MESSAGE_ONE&#x27;</pre>")
    _, cfg = grade.load_api(course)
    faults = grade.check_feedback(course, root, cfg, "tiny", ["zz_fake"])
    assert faults and "withheld" in faults[0]
    assert "SECRET" not in page.read_text()
    assert grading_status.load(course, "tiny", "zz_fake")[0]["kind"] == "machinery"
