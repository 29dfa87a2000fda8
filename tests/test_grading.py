"""The nbgrader round trip: release, validation, autograding, feedback.

Everything runs on a temporary copy of the course tree (``course/`` config and preprocessors, ``solutions/``,
``assignments/``), never in the repository, through nbgrader's Python API in this process. Two parts:

- the machinery, on a tiny assignment built here (seconds): scores, per-cell timeout, a dying kernel, a deleted
  or edited test cell, feedback without hidden tests;
- every real assignment in ``solutions/``: the committed release is what nbgrader generates; sources validate,
  releases do not until solved; a correct, a blank, a wrong and a tampered submission (made here from the
  source and the release) autograde to full, zero, partial and restored scores; feedback hides hidden tests.
"""
from __future__ import annotations

import copy
import html
import json
import re
import shutil
import time
from pathlib import Path

import grading_status
import nbformat
import pytest
from conftest import ROOT, in_ci
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

pytestmark = pytest.mark.grading

ASSIGNMENTS = sorted(p.parent.name for p in (ROOT / "solutions").glob("*/*.ipynb") if p.stem == p.parent.name)

# Deliberately wrong answers per assignment, all in the one "wrong" submission (each in its own solution cell, so
# one autograde checks them all): (solution cell grade_id, code appended to the correct solution, grade_id of the
# test cell that must then fail). Assignments not listed get their first solution cell blanked.
WRONG_ANSWERS = {
    "af_cnn": [(
        "metrics_solution",
        (
            "\n\n_correct_screening_metrics = screening_metrics\n\n\n"
            "def screening_metrics(y_true, y_score, threshold=0.5):\n"
            "    # the classic slip: sensitivity and specificity swapped\n"
            "    m = dict(_correct_screening_metrics(y_true, y_score, threshold))\n"
            "    m['sensitivity'], m['specificity'] = m['specificity'], m['sensitivity']\n"
            "    return m\n"
        ),
        "metrics_tests",
    ), (
        "cnn_solution",
        (
            "\n\n\ndef build_cnn(in_channels, n_outputs, input_length=None):\n"
            "    # the classic slip: global pooling before any convolution; right shape, budget and gradients, but\n"
            "    # the network sees only each window's mean, which is 0 after standardisation\n"
            "    return nn.Sequential(nn.AdaptiveAvgPool1d(1), nn.Conv1d(in_channels, 16, 1), nn.BatchNorm1d(16),\n"
            "                         nn.ReLU(), nn.Flatten(), nn.Linear(16, n_outputs))\n"
        ),
        "cnn_tests_learns",
    )],
    "mitbih_beats": [(
        "aami_solution",
        (
            "\n\n_correct_to_aami = to_aami\n\n\n"
            "def to_aami(symbols):\n"
            "    # the classic slip: the escape beats (e, j) forgotten, so they are not counted as N\n"
            "    out = _correct_to_aami(symbols)\n"
            "    out[np.isin(np.asarray(symbols).astype(str).ravel(), ['e', 'j'])] = ''\n"
            "    return out\n"
        ),
        "aami_tests",
    ), (
        "rr_norm_solution",
        (
            "\n\n\ndef normalise_rr(rr, record_ids):\n"
            "    # the classic slip: each record's beats assumed adjacent (a new record wherever the id changes)\n"
            "    rr, ids = np.asarray(rr, dtype=np.float64), np.asarray(record_ids)\n"
            "    out = np.empty_like(rr)\n"
            "    edges = np.r_[0, np.flatnonzero(ids[1:] != ids[:-1]) + 1, len(ids)]\n"
            "    for a, b in zip(edges[:-1], edges[1:]):\n"
            "        out[a:b] = rr[a:b] / rr[a:b, 0].mean()\n"
            "    return out\n"
        ),
        "rr_norm_tests",
    ), (
        "beat_net_solution",
        (
            "\n\n\nclass _WaveformOnly(BeatClassifier):\n"
            "    # the classic slip: the RR branch is built, but the forward pass never reads rr\n"
            "    def forward(self, waveform, rr):\n"
            "        return super().forward(waveform, torch.ones_like(rr))\n\n\n"
            "def build_beat_classifier(n_rr, n_outputs, width=16):\n"
            "    return _WaveformOnly(n_rr, n_outputs, width)\n"
        ),
        "beat_net_branch_tests",
    )],
    "deap_emotion": [(
        "metrics_solution",
        (
            "\n\n_correct_accuracy_report = accuracy_report\n\n\n"
            "def accuracy_report(y_true, y_pred):\n"
            "    # the classic slip: the majority baseline taken from the predictions, not the truth\n"
            "    m = dict(_correct_accuracy_report(y_true, y_pred))\n"
            "    p = np.asarray(y_pred).astype(int).ravel()\n"
            "    m['majority'] = float(np.bincount(p, minlength=2).max() / p.size)\n"
            "    return m\n"
        ),
        "metrics_tests",
    ), (
        "cnn_lstm_solution",
        (
            "\n\n_correct_build_cnn_lstm = build_cnn_lstm\n\n\n"
            "def build_cnn_lstm(in_channels, n_outputs, window=128, step=64, width=16):\n"
            "    # the classic slip: nn.LSTM left at batch_first=False: it reads the batch as time, the windows as the batch\n"
            "    model = _correct_build_cnn_lstm(in_channels, n_outputs, window, step, width)\n"
            "    model.lstm = nn.LSTM(width, width)\n"
            "    return model\n"
        ),
        "cnn_lstm_eval_tests",
    )],
    "ppg_edge": [(
        "window_solution",
        (
            "\n\n_correct_window_bvp = window_bvp\n\n\n"
            "def window_bvp(x, fs, window_s=60.0, step_s=15.0):\n"
            "    # the classic slip: a fencepost error, n = (T - L) // S windows, so the last one that fits is lost\n"
            "    windows, starts = _correct_window_bvp(x, fs, window_s, step_s)\n"
            "    return windows[:-1], starts[:-1]\n"
        ),
        "window_tests",
    ), (
        "distill_loss_solution",
        (
            "\n\n_correct_distillation_loss = distillation_loss\n\n\n"
            "def distillation_loss(student_logits, teacher_logits, y, T=4.0, alpha=0.5):\n"
            "    # the classic slip: the soft term left unscaled by T^2, so softening shrinks the teacher's signal\n"
            "    soft = _correct_distillation_loss(student_logits, teacher_logits, y, T=T, alpha=1.0) / T ** 2\n"
            "    hard = _correct_distillation_loss(student_logits, teacher_logits, y, T=T, alpha=0.0)\n"
            "    return alpha * soft + (1 - alpha) * hard\n"
        ),
        "distill_scale_tests",
    ), (
        "firmware_solution",
        (
            "\n\n\ndef compare_firmware(raw, reference):\n"
            "    # the classic slip: the difference taken in int8, where 127 - (-128) wraps round to -1\n"
            "    ref = np.asarray(reference)\n"
            "    if len(raw) != ref.size:\n"
            "        raise ValueError(f'{len(raw)} bytes, expected {ref.size}')\n"
            "    out = np.frombuffer(bytes(raw), dtype=np.int8).reshape(ref.shape)\n"
            "    diff = np.abs(out - ref)\n"
            "    return {'outputs': out, 'mismatching_outputs': int((diff != 0).sum()), 'max_abs_diff': int(diff.max())}\n"
        ),
        "firmware_tests",
    ), (
        "ssl_loss_solution",
        (
            "\n\n\ndef masked_mse(pred, target, mask):\n"
            "    # the classic slip: the error over every segment, the visible ones included\n"
            "    return ((pred - target) ** 2).mean()\n"
        ),
        "ssl_loss_tests",
    )],
}
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
AUTOGRADE_LOGS: dict[str, str] = {}   # "assignment/student" -> nbgrader's log of that autograde


@pytest.fixture(autouse=True, scope="module")
def sandbox_available():
    """Autograding refuses to run without its sandbox (bubblewrap). CI must have it (.ci/run installs it); on a
    machine without it these tests grade unsandboxed, as `make grade UNSANDBOXED=1` would, and say so."""
    import sandbox

    if sandbox.bwrap_path() is not None:
        yield
        return
    if in_ci():
        pytest.fail("bubblewrap (bwrap) is required in CI: .ci/run installs it (apt-get install bubblewrap)")
    import warnings

    warnings.warn("bwrap not installed: grading tests run the kernels unsandboxed (apt-get install bubblewrap)")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(sandbox.UNSANDBOXED_ENV, "1")
        yield


# ---------------------------------------------------------------------------------------------------- helpers
def load_config(course_dir: Path, **overrides):
    """The course's nbgrader config as nbgrader loads it, optionally with ``{"Execute.timeout": 3}``-style edits."""
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    for dotted, value in overrides.items():
        section, name = dotted.split(".")
        setattr(cfg[section], name, value)
    return cfg


def copy_course(dest: Path, assignments=()) -> Path:
    """A throwaway course tree: config + preprocessors, and the given assignments' sources and releases."""
    (dest / "course").mkdir(parents=True)
    for module in (ROOT / "course").glob("*.py"):
        shutil.copy(module, dest / "course" / module.name)
    shutil.copytree(ROOT / "course" / "templates", dest / "course" / "templates")
    for a in assignments:
        shutil.copytree(ROOT / "solutions" / a, dest / "solutions" / a, ignore=shutil.ignore_patterns(
            ".ipynb_checkpoints", "__pycache__"))
        if (ROOT / "assignments" / a).exists():
            shutil.copytree(ROOT / "assignments" / a, dest / "assignments" / a)
    return dest


def api_for(root: Path, **overrides):
    from nbgrader.apps import NbGraderAPI

    return NbGraderAPI(config=load_config(root / "course", **overrides))


def check(result: dict, what: str) -> dict:
    assert result["success"], f"nbgrader {what} failed:\n{result.get('error')}\n{result.get('log', '')[-3000:]}"
    return result


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def is_autograder_test(cell) -> bool:
    m = cell.metadata.get("nbgrader", {})
    return bool(m.get("grade")) and not m.get("solution") and cell.cell_type == "code"


def solved(release, source):
    """The release with every solution cell replaced by the source's solution."""
    answers = {grade_id(c): c.source for c in source.cells if c.metadata.get("nbgrader", {}).get("solution")}
    nb = copy.deepcopy(release)
    for c in nb.cells:
        if grade_id(c) in answers:
            c.source = answers[grade_id(c)]
    return nb


def submit(root: Path, student: str, assignment: str, nb) -> None:
    d = root / "course" / "submitted" / student / assignment
    d.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, d / f"{assignment}.ipynb")


def grades(root: Path, assignment: str, student: str) -> dict:
    """grade_id -> (auto_score, max_score, needs_manual_grade), from nbgrader's gradebook API."""
    from nbgrader.api import Gradebook

    with Gradebook(load_config(root / "course").CourseDirectory.db_url) as gb:
        nb = gb.find_submission_notebook(assignment, assignment, student)
        return {g.name: (g.auto_score, g.max_score, g.needs_manual_grade) for g in nb.grades}


def hidden_lines(nb) -> list[str]:
    """Distinctive lines of hidden tests (those that appear nowhere outside a hidden region)."""
    inside, hidden, visible = False, [], set()
    for c in nb.cells:
        for line in c.source.split("\n"):
            s = " ".join(line.split())
            if HIDDEN_BEGIN in line:
                inside = True
            elif HIDDEN_END in line:
                inside = False
            elif inside:
                hidden.append(s)
            else:
                visible.add(s)
    return [s for s in hidden if len(s) >= 12 and s not in visible and not s.startswith("#")]


def html_text(path: Path) -> str:
    """The visible text of an HTML page, whitespace-normalised (code is split into highlighted spans)."""
    text = path.read_text()
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.DOTALL)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return " ".join(text.split())


def assert_no_hidden_tests(feedback: Path, source) -> None:
    text = html_text(feedback)
    raw = feedback.read_text()
    assert "HIDDEN TESTS" not in raw, f"{feedback} shows a hidden-test delimiter"
    leaked = [line for line in hidden_lines(source) if line in text]
    assert not leaked, f"{feedback} shows hidden-test source: {leaked[:3]}"


# ---------------------------------------------------------------------------------- machinery on a tiny course
def _meta(gid, *, grade=False, solution=False, locked=False, points=0):
    m = {"grade": grade, "grade_id": gid, "locked": locked, "schema_version": 3, "solution": solution, "task": False}
    if grade:
        m["points"] = points
    return {"nbgrader": m}


def tiny_source():
    cells = [
        new_markdown_cell("# Tiny assignment\nRead-only instructions.", metadata=_meta("intro", locked=True)),
        new_code_cell("FAST = False", metadata={"tags": ["parameters"]}),
        new_code_cell("def squares(n):\n    ### BEGIN SOLUTION\n    return [i * i for i in range(n)]\n"
                      "    ### END SOLUTION", metadata=_meta("squares", solution=True)),
        new_code_cell("assert squares(3) == [0, 1, 4], 'squares(3)'\n" + HIDDEN_BEGIN + "\n"
                      "assert squares(5)[-1] == 16, 'SECRET_HIDDEN_MESSAGE_ONE'\n" + HIDDEN_END,
                      metadata=_meta("test_squares", grade=True, locked=True, points=2)),
        new_markdown_cell("Now `double`.", metadata=_meta("between", locked=True)),
        new_code_cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
                      metadata=_meta("double", solution=True)),
        new_code_cell("assert double(2) == 4\n" + HIDDEN_BEGIN + "\n"
                      "assert double(-3) == -6, 'SECRET_HIDDEN_MESSAGE_TWO'\n" + HIDDEN_END,
                      metadata=_meta("test_double", grade=True, locked=True, points=1)),
    ]
    return new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})


def _replace(nb, gid, source):
    nb = copy.deepcopy(nb)
    for c in nb.cells:
        if grade_id(c) == gid:
            c.source = source
    return nb


@pytest.fixture(scope="module")
def tiny_course(tmp_path_factory):
    """The tiny assignment released, seven submissions autograded (3 s cell timeout), feedback generated."""
    root = copy_course(tmp_path_factory.mktemp("tiny-course"))
    src_dir = root / "solutions" / "tiny"
    src_dir.mkdir(parents=True)
    source = tiny_source()
    nbformat.write(source, src_dir / "tiny.ipynb")
    api = api_for(root, **{"Execute.timeout": 3})
    check(api.generate_assignment("tiny"), "generate_assignment")
    release = nbformat.read(root / "assignments" / "tiny" / "tiny.ipynb", as_version=4)
    good = solved(release, source)
    tampered = _replace(good, "double", "def double(x):\n    return 0")
    tampered = _replace(tampered, "test_double", "pass  # the student 'fixed' the test")
    tampered.cells = [c for c in tampered.cells if grade_id(c) not in ("test_squares", "between")]
    submissions = {
        "correct": good,
        "blank": release,
        "wrong": _replace(good, "double", "def double(x):\n    return 2 * abs(x)"),
        "loop": _replace(good, "squares", "def squares(n):\n    while True:\n        pass"),
        "crash": _replace(good, "double", "import os\nos._exit(1)"),
        "noisy": _replace(good, "double", "import warnings\n\n\ndef double(x):\n"
                          "    warnings.warn('stderr output fails a test cell')\n    return 2 * x"),
        "tampered": tampered,
    }
    for student, nb in submissions.items():
        submit(root, student, "tiny", nb)
        check(api.autograde("tiny", student), f"autograde {student}")
    check(api.generate_feedback("tiny"), "generate_feedback")
    return root, source


@pytest.mark.parametrize("student, expected", [
    ("correct", {"test_squares": 2, "test_double": 1}),
    ("blank", {"test_squares": 0, "test_double": 0}),
    ("wrong", {"test_squares": 2, "test_double": 0}),       # fails only the hidden test
    ("loop", {"test_squares": 0, "test_double": 1}),        # infinite loop: timeout costs that cell only
    ("crash", {"test_squares": 2, "test_double": 0}),       # the kernel dies: later cells score zero
    ("tampered", {"test_squares": 2, "test_double": 0}),    # deleted test restored; edited test restored
    ("noisy", {"test_squares": 2, "test_double": 0}),       # nbgrader: output on stderr fails a test cell
])
def test_tiny_assignment_scores(tiny_course, student, expected):
    root, _ = tiny_course
    got = {k: v[0] for k, v in grades(root, "tiny", student).items()}
    assert got == expected


def test_deleted_test_cell_is_restored_from_the_gradebook(tiny_course):
    root, source = tiny_course
    nb = nbformat.read(root / "course" / "autograded" / "tampered" / "tiny" / "tiny.ipynb", as_version=4)
    ids = [grade_id(c) for c in nb.cells]
    assert ids.index("squares") < ids.index("test_squares") < ids.index("double"), ids
    restored = next(c for c in nb.cells if grade_id(c) == "test_squares")
    original = next(c for c in source.cells if grade_id(c) == "test_squares")
    assert original.source in restored.source  # hidden tests included: the autograder runs them
    edited = next(c for c in nb.cells if grade_id(c) == "test_double")
    assert edited.source == next(c for c in source.cells if grade_id(c) == "test_double").source


def test_tiny_feedback_hides_hidden_tests_and_their_failures(tiny_course):
    root, source = tiny_course
    for student in ("correct", "blank", "wrong", "loop", "crash", "tampered", "noisy"):
        page = root / "course" / "feedback" / student / "tiny" / "tiny.html"
        assert_no_hidden_tests(page, source)
        assert "SECRET_HIDDEN_MESSAGE" not in page.read_text()
    wrong = html_text(root / "course" / "feedback" / "wrong" / "tiny" / "tiny.html")
    assert "A hidden test in this cell failed (0 / 1 points)" in wrong
    assert "All tests in this cell passed (2 / 2 points)" in wrong
    loop = html_text(root / "course" / "feedback" / "loop" / "tiny" / "tiny.html")
    assert "CellTimeoutError" in loop
    noisy = html_text(root / "course" / "feedback" / "noisy" / "tiny" / "tiny.html")
    assert "output on stderr" in noisy
    blank = html_text(root / "course" / "feedback" / "blank" / "tiny" / "tiny.html")
    assert "A visible test in this cell failed" in blank and "NotImplementedError" in blank


# ------------------------------------------------------------------------------------------ real assignments
@pytest.fixture(scope="module")
def real_course(tmp_path_factory):
    return copy_course(tmp_path_factory.mktemp("course"), ASSIGNMENTS)


def test_config_lists_every_assignment():
    config = ROOT / "course" / "nbgrader_config.py"
    spec = {"__file__": str(config)}
    exec(config.read_text().split("c = get_config()")[0], spec)
    assert sorted(spec["ASSIGNMENTS"]) == ASSIGNMENTS


def _normalised(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return json.dumps(nb, sort_keys=True, indent=1)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_is_what_nbgrader_generates(real_course, tmp_path, assignment):
    committed = ROOT / "assignments" / assignment
    assert committed.exists(), f"assignments/{assignment}/ is missing: run `make release` and commit it"
    api = api_for(real_course, **{"CourseDirectory.release_directory": str(tmp_path / "release")})
    check(api.generate_assignment(assignment), "generate_assignment")
    fresh = tmp_path / "release" / assignment
    names = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    for name in names:
        if name.suffix == ".ipynb":
            assert _normalised(fresh / name) == _normalised(committed / name), \
                f"assignments/{assignment}/{name} drifted from its source: run `make release`"
        else:
            assert (fresh / name).read_bytes() == (committed / name).read_bytes(), name


def _validate(path: Path, course: Path) -> dict:
    from nbgrader.validator import Validator

    return Validator(config=load_config(course / "course")).validate(str(path))


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_passes_nbgrader_validate(real_course, course_env, assignment):
    result = _validate(real_course / "solutions" / assignment / f"{assignment}.ipynb", real_course)
    assert not result.get("failed") and not result.get("changed"), json.dumps(result, indent=1)[:4000]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
@pytest.mark.timeout(900)
def test_release_fails_nbgrader_validate_until_solved(real_course, course_env, assignment):
    result = _validate(real_course / "assignments" / assignment / f"{assignment}.ipynb", real_course)
    assert result.get("failed"), "the unsolved release passed validation: do its tests test anything?"


@pytest.fixture(scope="module")
def round_trip(real_course, course_env_vars):
    """Four submissions per assignment, autograded one at a time (timed), then feedback for all."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in course_env_vars.items():
            mp.setenv(key, value)
        timings = _autograde_submissions(real_course)
    out = ROOT / "build" / "test-reports"
    out.mkdir(parents=True, exist_ok=True)
    (out / "autograde_seconds.json").write_text(json.dumps(timings, indent=1))
    print("autograde seconds per submission:", timings)
    return real_course, timings


def _autograde_submissions(root: Path) -> dict[str, float]:
    api = api_for(root)
    timings = {}
    for a in ASSIGNMENTS:
        check(api.generate_assignment(a), "generate_assignment")  # fills this copy's gradebook
        source = nbformat.read(root / "solutions" / a / f"{a}.ipynb", as_version=4)
        release = nbformat.read(root / "assignments" / a / f"{a}.ipynb", as_version=4)
        correct = solved(release, source)
        if a not in WRONG_ANSWERS:  # fallback: one solution cell left as released
            sol_id = next(grade_id(c) for c in source.cells if c.metadata.get("nbgrader", {}).get("solution")
                          and c.cell_type == "code")
            wrong = _replace(correct, sol_id, next(c.source for c in release.cells if grade_id(c) == sol_id))
        else:
            wrong = correct
            for sol_id, wrong_code, _ in WRONG_ANSWERS[a]:
                wrong = _replace(wrong, sol_id, next(c.source for c in source.cells if grade_id(c) == sol_id)
                                 + wrong_code)
        tests = [grade_id(c) for c in release.cells if is_autograder_test(c)]
        tampered = _replace(release, tests[-1], "pass  # edited away")
        tampered.cells = [c for c in tampered.cells if grade_id(c) != tests[0]]
        for student, nb in [("correct", correct), ("blank", release), ("wrong", wrong), ("tampered", tampered)]:
            submit(root, student, a, nb)
            start = time.perf_counter()
            result = check(api.autograde(a, student), f"autograde {a}/{student}")
            kernel = grading_status.load_timing(root / "course", a, student)
            timings[f"{a}/{student}"] = {"wall_s": round(time.perf_counter() - start, 1),
                                         "kernel_cpu_s": round(kernel.get("kernel_cpu_s") or 0.0, 1)}
            AUTOGRADE_LOGS[f"{a}/{student}"] = result["log"]
        check(api.generate_feedback(a), f"generate_feedback {a}")
    return timings


def _auto(g: dict, source) -> tuple[float, float]:
    tests = {grade_id(c) for c in source.cells if is_autograder_test(c)}
    score = sum(v[0] or 0 for k, v in g.items() if k in tests)
    return score, sum(v[1] for k, v in g.items() if k in tests)


def _source(root, a):
    return nbformat.read(root / "solutions" / a / f"{a}.ipynb", as_version=4)


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_correct_submission_gets_every_autograded_point(round_trip, assignment):
    root, _ = round_trip
    g = grades(root, assignment, "correct")
    source = _source(root, assignment)
    lost = {k: v for k, v in g.items() if k in {grade_id(c) for c in source.cells if is_autograder_test(c)}
            and v[0] != v[1]}
    assert not lost, f"correct submission lost points (auto, max, manual): {lost}"
    score, total = _auto(g, source)
    assert score == total > 0
    # written answers wait for a human: nbgrader flags them instead of scoring them
    manual = [k for k, v in g.items() if k not in {grade_id(c) for c in source.cells if is_autograder_test(c)}]
    assert all(g[k][2] for k in manual), {k: g[k] for k in manual}


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_blank_submission_scores_zero(round_trip, assignment):
    root, _ = round_trip
    g = grades(root, assignment, "blank")
    assert sum(v[0] or 0 for v in g.values()) == 0, g


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_wrong_answer_scores_partially(round_trip, assignment):
    root, _ = round_trip
    g = grades(root, assignment, "wrong")
    score, total = _auto(g, _source(root, assignment))
    assert 0 < score < total, g
    for _, _, failing in WRONG_ANSWERS.get(assignment, []):
        assert g[failing][0] == 0, f"{failing} should catch the wrong answer: {g[failing]}"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_deleted_and_edited_test_cells_are_restored(round_trip, assignment):
    root, _ = round_trip
    source = _source(root, assignment)
    tests = [c for c in source.cells if is_autograder_test(c)]
    nb = nbformat.read(root / "course" / "autograded" / "tampered" / assignment / f"{assignment}.ipynb",
                       as_version=4)
    by_id = {grade_id(c): c for c in nb.cells}
    assert tests[0].source in by_id[grade_id(tests[0])].source, "deleted test cell not restored"
    assert by_id[grade_id(tests[-1])].source == tests[-1].source, "edited test cell not restored"
    g = grades(root, assignment, "tampered")
    assert g[grade_id(tests[0])][0] == 0 and g[grade_id(tests[-1])][0] == 0, g


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_test_cells_verify_clean_and_edited_ones_stand_out(round_trip, assignment):
    """nbgrader compared test cells with the source (hidden tests included), so every untouched cell logged
    "Attribute 'checksum' ... has changed!" and the one student who edited a test looked like everyone else."""
    for student in ("correct", "blank", "wrong"):
        log = AUTOGRADE_LOGS[f"{assignment}/{student}"]
        assert "checksum" not in log and "EDITED" not in log, f"{student}: {log[-2000:]}"
    assert "EDITED" in AUTOGRADE_LOGS[f"{assignment}/tampered"]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_feedback_says_what_awaits_manual_grading(round_trip, assignment):
    root, _ = round_trip
    text = html_text(root / "course" / "feedback" / "correct" / assignment / f"{assignment}.html")
    waiting = sum(v[1] for v in grades(root, assignment, "correct").values() if v[2])
    if waiting:
        assert f"{waiting:.1f} points awaiting manual grading" in text
        assert "Written response (Score: 0.0" not in text


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_feedback_never_shows_hidden_tests(round_trip, assignment):
    root, _ = round_trip
    source = _source(root, assignment)
    assert hidden_lines(source), "the source has no hidden tests to hide"
    for student in ("correct", "blank", "wrong", "tampered"):
        page = root / "course" / "feedback" / student / assignment / f"{assignment}.html"
        assert page.exists(), f"no feedback for {student}"
        assert_no_hidden_tests(page, source)


@pytest.mark.slow
def test_autograde_of_one_submission_fits_the_budget(round_trip):
    """DESIGN.md: <= 60 s per submission. Autograding runs in FAST mode, whose kernel uses one torch thread, so
    kernel CPU-seconds track wall seconds on an idle machine; CPU time (the sandboxed kernel reports its own, see
    ResilientExecute.set_widgets_metadata) is asserted because wall time depends on the load of a shared machine
    (both are in build/test-reports/autograde_seconds.json)."""
    _, timings = round_trip
    assert all(v["kernel_cpu_s"] > 0 for v in timings.values()), timings
    slow = {k: v for k, v in timings.items() if v["kernel_cpu_s"] > 60}
    assert not slow, f"autograde over budget: {slow}"
