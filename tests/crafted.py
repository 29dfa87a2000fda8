"""Run the course's command line on a crafted file in a child process: exit code, stderr, peak memory.

The peak is the child's own high-water resident set size (``VmHWM`` of ``/proc/self/status``, imports included), so
a file that makes the reader allocate gigabytes shows up here even when the error comes in the end. Not
``ru_maxrss``: Linux carries it across ``exec`` from the forking parent, so a child of a large pytest process
would report the parent's peak.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEAK_LIMIT_MB = 300  # issue 19: reading any crafted file stays under this

_CHILD = """
import re, sys
from helpers.cli import main
code = main(sys.argv[1:])
with open("/proc/self/status") as f:
    sys.stderr.write("PEAK_KB=%s\\n" % re.search(r"VmHWM:\\s*(\\d+) kB", f.read())[1])
sys.exit(code)
"""


@dataclass
class Outcome:
    """What ``python -m helpers ARGS`` did: exit ``code``, ``stderr`` (the peak line removed), ``peak_mb``."""

    code: int
    stderr: str
    peak_mb: float


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Outcome:
    """Run ``helpers.cli.main(args)`` in a fresh interpreter and measure its peak memory (Linux ``VmHWM``)."""
    proc = subprocess.run([sys.executable, "-c", _CHILD, *args], cwd=ROOT, capture_output=True, text=True,
                          check=False, timeout=timeout, env={**os.environ, **(env or {})})
    lines = proc.stderr.splitlines()
    peak = [ln for ln in lines if ln.startswith("PEAK_KB=")]
    rest = "\n".join(ln for ln in lines if not ln.startswith("PEAK_KB="))
    return Outcome(proc.returncode, rest, int(peak[0][8:]) / 1024 if peak else float("nan"))
