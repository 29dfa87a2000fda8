"""helpers.notebook.course.run_mode and helpers.notebook.report.headline: the switches and the results every notebook shares."""
import json

import pytest
import torch

from helpers.notebook.course import run_mode
from helpers.notebook.report import headline


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for var in ("BIOSIGNAL_FAST", "BIOSIGNAL_DATA_SOURCE", "BIOSIGNAL_RESULTS_DIR"):
        monkeypatch.delenv(var, raising=False)
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def test_parameters_pass_through_when_the_environment_is_silent():
    assert run_mode(False, "auto") == (False, "auto")
    assert run_mode(True, "real") == (True, "real")


def test_environment_turns_on_fast_mode_and_picks_the_data_source(monkeypatch):
    monkeypatch.setenv("BIOSIGNAL_FAST", "1")
    monkeypatch.setenv("BIOSIGNAL_DATA_SOURCE", "synthetic")
    assert run_mode(False, "auto") == (True, "synthetic")
    assert torch.get_num_threads() == 1


def test_an_explicit_data_source_beats_the_environment(monkeypatch):
    monkeypatch.setenv("BIOSIGNAL_DATA_SOURCE", "synthetic")
    assert run_mode(False, "real") == (False, "real")


@pytest.mark.parametrize("bad", ["Synthetic-ish", "cloud", ""])
def test_unknown_data_source_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="DATA_SOURCE must be"):
        run_mode(False, bad)


def test_headline_writes_rounded_json_only_when_asked(tmp_path, monkeypatch, capsys):
    assert headline("demo", accuracy=0.912345678, data="synthetic") == {"accuracy": 0.9123, "data": "synthetic"}
    assert "accuracy: 0.9123" in capsys.readouterr().out
    assert not list(tmp_path.iterdir())
    monkeypatch.setenv("BIOSIGNAL_RESULTS_DIR", str(tmp_path))
    headline("demo", accuracy=0.5, epochs=3)
    assert json.loads((tmp_path / "demo.json").read_text()) == {"accuracy": 0.5, "epochs": 3}
    assert not list(tmp_path.glob("*.tmp"))


def test_the_run_size_budget_picks_full_or_fast_values(monkeypatch, capsys):
    monkeypatch.delenv("BIOSIGNAL_FAST", raising=False)
    fast, source, size = run_mode(False, "synthetic", epochs=(30, 8), patients=(None, 300))
    assert (fast, size.epochs, size.patients) == (False, 30, None)
    fast, source, size = run_mode(True, "synthetic", epochs=(30, 8), patients=(None, 300))
    assert (fast, size.epochs, size.patients) == (True, 8, 300)
    assert "Run sizes: epochs=8, patients=300" in capsys.readouterr().out


def test_a_size_that_is_not_a_pair_names_itself():
    with pytest.raises(ValueError, match=r"epochs=8: give a \(full, fast\) pair"):
        run_mode(False, "synthetic", epochs=8)
