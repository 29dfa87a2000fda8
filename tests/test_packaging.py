"""Packaging stays installable offline and small: torch pinned to the CPU wheel, conda mirrors pip, no conflicts."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib.metadata import version

import yaml
from conftest import ROOT
from packaging.requirements import Requirement

TORCH = "torch==2.13.0"


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _canonical(spec: str) -> tuple:
    r = Requirement(spec)
    return (r.name.lower().replace("_", "-"), str(r.specifier), tuple(sorted(r.extras)), str(r.marker or ""))


def test_pyproject_pins_torch_to_the_cpu_wheel_version():
    deps = pyproject()["project"]["dependencies"]
    assert TORCH in deps, f"pyproject must pin {TORCH}; found {[d for d in deps if d.startswith('torch')]}"


def test_constraints_pin_torch():
    lines = [ln.split("#")[0].strip() for ln in (ROOT / "constraints.txt").read_text().splitlines()]
    assert TORCH in lines


def test_installed_torch_is_the_pinned_cpu_build():
    assert version("torch").split("+")[0] == "2.13.0"


def test_environment_yml_mirrors_pyproject_dependencies():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert any(re.fullmatch(r"python\s*=\s*3\.11(\.\*)?", d) for d in conda), conda
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    mirrored = {_canonical(x) for x in pip_section if not x.startswith("-")}
    wanted = {_canonical(x) for x in pyproject()["project"]["dependencies"]}
    missing = wanted - mirrored
    assert not missing, f"environment.yml lacks (or pins differently) these pyproject dependencies: {missing}"
    installs = [x for x in pip_section if x.startswith("-e .")]
    assert installs, "environment.yml must install the helpers package (-e .)"
    # the same extras as `make setup` (less dev: conda users do not run the test suite)
    made = re.search(r"-e '\.\[([a-z,]+)\]'", (ROOT / "Makefile").read_text()).group(1).split(",")
    assert installs == [f"-e .[{','.join(x for x in made if x != 'dev')}]"], (installs, made)


def test_pip_check_is_clean():
    out = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_makefile_has_the_documented_targets():
    text = (ROOT / "Makefile").read_text()
    for target in ("setup", "run", "test", "lab", "release", "grade", "bench"):
        assert re.search(rf"^{target}:", text, re.MULTILINE), f"Makefile lacks `{target}`"


def test_ci_script_runs_make_test():
    script = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in script and "make test" in script


def test_licences_and_data_citations_are_stated():
    licence = (ROOT / "LICENSE").read_text()
    assert "MIT" in licence and "CC BY 4.0" in licence
    readme = (ROOT / "README.md").read_text()
    for needle in ("15302489", "Clifford", "Moody", "Goldberger", "Koelstra", "Schmidt", "synthetic",
                   "make run", "make test"):
        assert needle in readme, f"README.md must mention {needle!r}"
