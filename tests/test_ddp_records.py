"""Records and callbacks under torchrun: 2 CPU processes (gloo) run the same fit on variable-length records."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("ddp_records_worker.py")


@pytest.mark.slow
def test_records_shards_and_callbacks_under_torchrun(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(WORKER.parents[1])}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(WORKER),
           str(tmp_path)]
    proc = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["history"] == r1["history"] and len(r0["history"]["epoch"]) == 2  # same decisions on both ranks
    assert not set(r0["served"]) & set(r1["served"]) and len(r0["served"]) == len(r1["served"]) == 16
    assert r0["events"] == ["start", "epoch1", "epoch2", "end"] and r1["events"] == []  # rank 0 only
    # rank 0's callback failed: rank 0 raised its own error, rank 1 was told instead of waiting forever
    assert r0["raised"] == "ConnectionError: tracking server went away"
    assert r1["raised"].startswith("RuntimeError: a callback on rank 0 failed in on_epoch_end: ConnectionError")
