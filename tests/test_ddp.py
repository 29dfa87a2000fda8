"""Distributed data-parallel through torchrun: 2 CPU processes with the gloo backend run the same fit call."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("ddp_worker.py")


@pytest.mark.slow
def test_fit_under_torchrun_trains_one_model_on_two_processes(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(WORKER.parents[1])}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(WORKER),
           str(tmp_path)]
    proc = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert all(r["world_size"] == 2 for r in ranks)
    # DistributedSampler: each rank saw half of the 70 training examples per epoch (3 epochs)
    assert [r["train_examples_seen"] for r in ranks] == [105, 105]
    # gradients were averaged and BatchNorm statistics synced: both ranks end with the same model
    assert ranks[0]["weights_sha256"] == ranks[1]["weights_sha256"]
    # validation metrics are computed on the gathered predictions, so every rank reports the same numbers
    assert ranks[0]["val_loss"] == ranks[1]["val_loss"]
    assert not any(r["is_initialized_after_fit"] for r in ranks)  # fit cleans up the group it created
    history = json.loads((tmp_path / "history.json").read_text())  # written by rank 0
    assert history["world_size"] == 2 and len(history["metrics"]["epoch"]) == 3
    assert (tmp_path / "best.pt").exists()
