"""Shared fixtures: the repository layout, and one synthetic-data cache per test session.

Notebooks and autograded submissions run in Jupyter kernels, which inherit this process's environment. The
``course_env`` fixture (per test; ``course_env_vars`` for wider fixtures) points ``BIOSIGNAL_DATA`` at a
session-scoped cache, so the embedded synthetic data are written once per session, not once per notebook, and
sets the CI run mode that nbgrader cannot pass as parameters.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "course"

# course/ holds the runner (run_course.py) and the grading preprocessors; tests import them as modules.
if str(COURSE) not in sys.path:
    sys.path.insert(0, str(COURSE))


def in_ci() -> bool:
    """True under CI (``CI=true``), where optional tools such as the browser must be present."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


EDGE_PACKAGES = ("litert_torch", "ai_edge_quantizer", "ai_edge_litert", "tflite_micro")


def skip_or_fail_in_ci(message: str) -> None:
    """Skip the calling test (or module) for want of something `.ci/run` installs; under CI, where it must be there,
    fail instead: a missing install step must never turn a test into a silent skip."""
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)


def require_packages(names, install: str) -> None:
    """Skip the calling test (or module) when a package is missing; under CI, where `make setup` installs it, fail."""
    import importlib.util

    missing = [name for name in names if importlib.util.find_spec(name) is None]
    if missing:
        skip_or_fail_in_ci(f"needs {', '.join(missing)}: {install}")


def require_tool(name: str, install: str) -> None:
    """Skip (fail under CI) when the command-line tool ``name`` is not on PATH; ``install`` says how to get it."""
    import shutil

    if shutil.which(name) is None:
        skip_or_fail_in_ci(f"{name} is not installed: {install} (CI fails instead of skipping)")


def require_edge_extra() -> None:
    """The ``edge`` extra (litert-torch, ai-edge-quantizer, ai-edge-litert, tflite-micro)."""
    require_packages(EDGE_PACKAGES, "the edge extra, pip install -c constraints.txt -e '.[edge]'")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def biosignal_data(tmp_path_factory) -> Path:
    """An empty data cache for this session (``BIOSIGNAL_DATA``): nothing from ~/.cache leaks into the tests."""
    return tmp_path_factory.mktemp("biosignal-data")


@pytest.fixture(scope="session")
def course_env_vars(biosignal_data) -> dict[str, str]:
    """Environment for executing notebooks: session data cache, FAST mode, embedded synthetic data."""
    return {
        "BIOSIGNAL_DATA": str(biosignal_data),
        "BIOSIGNAL_FAST": "1",
        "BIOSIGNAL_DATA_SOURCE": "synthetic",
        # kernels must not read (or write history into) a user's IPython profile
        "IPYTHONDIR": str(biosignal_data.parent / "ipython"),
    }


@pytest.fixture
def course_env(course_env_vars, monkeypatch) -> dict[str, str]:
    """``course_env_vars`` set for one test only (other tests see the environment they expect)."""
    for key, value in course_env_vars.items():
        monkeypatch.setenv(key, value)
    return course_env_vars


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Unit tests use tiny models: they gain nothing from intra-op threads, and on a shared 2-core machine a
    second thread made them 5-20x slower (measured). Notebook kernels are separate processes and unaffected."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
