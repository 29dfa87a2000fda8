"""course/notebook_claims.py: an executed notebook may show a degenerate result only with a marked, explained
expectation after it, and never a failed claim. (Applied to every executed notebook in tests/test_notebooks.py.)"""
from __future__ import annotations

import re

import nbformat
import pytest
from conftest import ROOT
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from notebook_claims import unaddressed

from helpers.evaluate.degenerate import Flag

AUC_FLAG = str(Flag("auc-below-chance", "signal_transformer: ROC AUC 0.378 < 0.5"))
REASON = ("expect-degenerate: auc-below-chance — in FAST the Transformer trains 4 epochs on 170 windows and "
          "does not learn; the full-size run reaches 0.9")


def _nb(*cells):
    return new_notebook(cells=list(cells))


def _shows(text: str):
    cell = new_code_cell("reports = ...")
    cell.outputs = [new_output("stream", name="stdout", text=text)]
    return cell


def test_a_degenerate_result_shown_in_silence_is_reported():
    problems = unaddressed(_nb(_shows(f"table\n{AUC_FLAG}\n"), new_markdown_cell("The Transformer wins.")))
    assert [(p.cell, p.code) for p in problems] == [(0, "auc-below-chance")]
    assert "0.378" in str(problems[0])


def test_an_explained_expectation_after_the_flag_addresses_it():
    assert unaddressed(_nb(_shows(AUC_FLAG), new_markdown_cell(f"Text.\n<!-- {REASON} -->"))) == []


def test_the_flag_in_a_table_output_counts_too():
    cell = new_code_cell("df")
    cell.outputs = [new_output("execute_result", data={"text/plain": f"x\n{AUC_FLAG}"})]
    assert [p.code for p in unaddressed(_nb(cell))] == ["auc-below-chance"]


def test_an_expectation_before_the_flag_or_after_the_next_section_does_not_count():
    before = _nb(new_markdown_cell(REASON), _shows(AUC_FLAG))
    later_section = _nb(_shows(AUC_FLAG), new_markdown_cell("## 5. Next section"), new_markdown_cell(REASON))
    assert len(unaddressed(before)) == 1 and len(unaddressed(later_section)) == 1


def test_an_expectation_for_another_code_does_not_count():
    other = REASON.replace("auc-below-chance", "small-class")
    assert [p.code for p in unaddressed(_nb(_shows(AUC_FLAG), new_markdown_cell(other)))] == ["auc-below-chance"]


def test_an_expectation_without_a_reason_is_refused():
    with pytest.raises(ValueError, match="say why"):
        unaddressed(_nb(_shows(AUC_FLAG), new_markdown_cell("<!-- expect-degenerate: auc-below-chance -->")))


def test_an_unknown_code_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match="unknown code 'auc-low'.*auc-below-chance"):
        unaddressed(_nb(_shows(AUC_FLAG), new_markdown_cell(REASON.replace("auc-below-chance", "auc-low"))))


def test_a_failed_claim_is_reported_whatever_the_text_says():
    problems = unaddressed(_nb(_shows("✓ claim checked: CNN above chance\n✗ claim FAILED: Transformer above CNN")))
    assert [p.code for p in problems] == ["claim-failed"] and "Transformer above CNN" in str(problems[0])


def test_reads_an_executed_notebook_from_its_path(tmp_path):
    path = tmp_path / "executed.ipynb"
    nbformat.write(_nb(_shows(AUC_FLAG)), str(path))
    assert [p.code for p in unaddressed(path)] == ["auc-below-chance"]


def test_run_course_check_fails_a_run_on_a_false_claim_or_a_silent_flag_and_writes_a_dated_table(tmp_path):
    from run_course import Run, check, format_markdown

    executed = tmp_path / "lesson.ipynb"
    nbformat.write(_nb(_shows(AUC_FLAG)), str(executed))
    run = check(Run(executed, True, 12.0, headline={"auc": 0.378, "claims": {"CNN above chance": False}}), executed)
    assert not run.passed and run.problems[0] == "claim FAILED: CNN above chance"
    assert "auc-below-chance" in run.problems[1]
    clean = tmp_path / "clean.ipynb"
    nbformat.write(_nb(_shows("auc 0.9")), str(clean))
    assert check(Run(clean, True, 1.0, headline={"claims": {"ok": True}}), clean).passed
    table = format_markdown([run], full=True, source="synthetic", root=tmp_path, partial=True)
    assert "full size (FAST = False)" in table and "- date: 20" in table and "CPU cores" in table
    assert "load average" in table and "--check --source synthetic lesson.ipynb`" in table
    assert "**partial**" in table and "| lesson.ipynb | check failed | 12 |" in table and "✗ CNN above chance" in table


# Issue 20 item 5: each notebook's run time at both sizes, measured on 2 cores, in its header and in the syllabus
RUN_TIME = re.compile(r"\*\*Run time\*\*[^#]{0,300}?FAST[^#]{0,300}?full\s+size", re.IGNORECASE)


@pytest.mark.parametrize("lesson", sorted((ROOT / "lessons").glob("0[0-3]_*.ipynb")), ids=lambda p: p.name)
def test_lesson_header_states_its_run_time_at_both_sizes(lesson):
    header = nbformat.read(lesson, as_version=4).cells[0].source
    assert RUN_TIME.search(header), f"{lesson.name}: the first cell states '**Run time** ... FAST ... full size ...'"


def test_syllabus_lists_the_run_time_of_every_notebook():
    from run_course import course_notebooks

    text = (ROOT / "course" / "syllabus.md").read_text()
    table = text[text.index("## Run times"):]
    rows = {line.split("|")[1].strip().strip("`"): line for line in table.splitlines() if line.startswith("| `")}
    for nb in course_notebooks(ROOT):
        # an assignment's run time is its completed notebook's (the solution), listed under the student's path
        name = str(nb.relative_to(ROOT)).replace("solutions/", "assignments/", 1)
        assert name in rows, f"course/syllabus.md's run-time table has no row for {name}"
        cells = [c.strip() for c in rows[name].split("|")[2:4]]
        assert all(re.search(r"\d|not measured yet", c) for c in cells), (name, cells)


# Lesson 03's full size must fit a laptop: on a CPU it trains the small configurations, on a GPU the defaults
LESSON_03 = ROOT / "lessons" / "03_cnn_lstm_or_transformer.ipynb"


def _lesson_03_budget(monkeypatch, cuda: bool, fast: bool):
    """Run lesson 03's run-size budget cell as a notebook would, on a machine with or without a GPU."""
    import torch

    monkeypatch.delenv("BIOSIGNAL_FAST", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    budget = next(c.source for c in nbformat.read(LESSON_03, as_version=4).cells
                  if c.cell_type == "code" and "run_mode(" in c.source)
    namespace = {"FAST": fast, "DATA_SOURCE": "synthetic"}
    exec(budget, namespace)
    return namespace["SIZE"]


@pytest.mark.parametrize("cuda, fast, config, device, records", [
    (False, False, "small", "cpu", 600),      # a student's laptop, full size
    (True, False, "default", "cuda", 1000),   # a GPU, full size: the 8.33 M-parameter Transformer
    (True, True, "small", "cpu", 240),        # FAST (CI, grading) is the same everywhere
    (False, True, "small", "cpu", 240),
])
def test_lesson_03_trains_the_small_models_on_a_cpu_and_the_defaults_on_a_gpu(monkeypatch, cuda, fast, config,
                                                                             device, records):
    size = _lesson_03_budget(monkeypatch, cuda, fast)
    assert (size.model_config, size.device, size.records) == (config, device, records)


def test_lesson_03_builds_and_trains_what_its_budget_chose():
    code = "\n".join(c.source for c in nbformat.read(LESSON_03, as_version=4).cells if c.cell_type == "code")
    assert 'SIZE.model_config == "small" and name == "signal_transformer"' in code, \
        "build() must take SignalTransformerConfig.small() only when the budget says small"
    assert "device=SIZE.device" in code and 'device="cpu"' not in code, "fit must train on the budget's device"
