"""Distributed data-parallel through torchrun: 2 CPU processes with the gloo backend run the same fit call.

``fit`` ends by copying rank 0's weights to every rank and broadcasts the validation metrics, so equal final
weights prove nothing about gradient averaging. The worker therefore fingerprints each rank's parameters after
every optimizer step (before any final broadcast); the ranks train on disjoint shards, so these fingerprints
agree only if DDP averages the gradients. A second launch with the all-reduce switched off (in the worker only)
checks that the test does notice.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from helpers.models import CNN1D
from helpers.train.batches import ArrayPairs, eval_indices, make_loader
from helpers.train.evaluation import collect_logits

WORKER = Path(__file__).with_name("ddp_worker.py")
N_TRAIN, WORLD, BATCH, EPOCHS = 70, 2, 8, 3  # as in ddp_worker.py
STEPS_PER_EPOCH = -(-(N_TRAIN // WORLD) // BATCH)  # 35 examples per rank in batches of 8 -> 5 steps
N_STEPS = EPOCHS * STEPS_PER_EPOCH


def launch(out_dir: Path, **extra_env) -> list[dict]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(WORKER.parents[1]), **extra_env}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={WORLD}", str(WORKER),
           str(out_dir)]
    proc = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [json.loads((out_dir / f"rank{r}.json").read_text()) for r in range(WORLD)]


@pytest.mark.slow
def test_fit_under_torchrun_averages_gradients_on_two_processes(tmp_path):
    ranks = launch(tmp_path, DDP_TEST_DISABLE_ALLREDUCE="0")
    assert all(r["world_size"] == WORLD for r in ranks)

    # DistributedSampler: in every epoch the ranks train on disjoint halves that together cover the train set
    for r in ranks:
        assert len(r["batches"]) == N_STEPS
        assert [len(b) for b in r["batches"][:STEPS_PER_EPOCH]] == [8, 8, 8, 8, 3]
    for epoch in range(EPOCHS):
        shards = [[i for b in r["batches"][epoch * STEPS_PER_EPOCH:(epoch + 1) * STEPS_PER_EPOCH] for i in b]
                  for r in ranks]
        assert all(len(s) == len(set(s)) == N_TRAIN // WORLD for s in shards)
        assert set(shards[0]).isdisjoint(shards[1]) and set(shards[0]) | set(shards[1]) == set(range(N_TRAIN))

    # DDP broadcast rank 0's initial weights (the ranks built different ones), and after EVERY optimizer step
    # the ranks hold identical parameters although they saw different data: the gradients were averaged
    assert ranks[0]["initial"] == ranks[1]["initial"]
    assert len(ranks[0]["steps"]) == len(ranks[1]["steps"]) == N_STEPS
    assert ranks[0]["steps"] == ranks[1]["steps"]
    assert len({s["sha256"] for s in ranks[0]["steps"]}) == N_STEPS  # the weights did change at every step

    assert ranks[0]["weights_sha256"] == ranks[1]["weights_sha256"]
    # validation metrics are computed on the gathered predictions, so every rank reports the same numbers
    assert ranks[0]["val_loss"] == ranks[1]["val_loss"]
    assert not any(r["is_initialized_after_fit"] for r in ranks)  # fit cleans up the group it created
    history = json.loads((tmp_path / "history.json").read_text())  # written by rank 0
    assert history["world_size"] == WORLD and len(history["metrics"]["epoch"]) == EPOCHS
    assert (tmp_path / "best.pt").exists()

    # a 1-example validation set leaves rank 1 with an empty validation shard: the gathered metrics are those of
    # the one example, on both ranks
    one = [r["one_val"] for r in ranks]
    assert one[0]["val_loss"] == one[1]["val_loss"] and one[0]["val_accuracy"] == one[1]["val_accuracy"]
    assert one[0]["val_accuracy"][0] in (0.0, 1.0)
    assert one[0]["val_loss"][0] == pytest.approx(one[0]["evaluate_loss"], rel=1e-5)
    assert not any(o["is_initialized_after_fit"] for o in one)

    # negative control: with the all-reduce switched off (DDP replaced, in the worker only, by a stand-in that
    # still broadcasts the initial weights) the same checks must fail
    control_dir = tmp_path / "no_allreduce"
    control_dir.mkdir()
    control = launch(control_dir, DDP_TEST_DISABLE_ALLREDUCE="1")
    assert control[0]["initial"] == control[1]["initial"]
    assert len(control[0]["steps"]) == len(control[1]["steps"]) == N_STEPS
    assert control[0]["steps"][0] != control[1]["steps"][0]  # diverged at the first step
    assert control[0]["steps"] != control[1]["steps"]
    # ... while the final weights agree anyway (fit broadcasts rank 0's): why they cannot be the evidence
    assert control[0]["weights_sha256"] == control[1]["weights_sha256"]


def test_collect_logits_of_an_empty_loader_is_empty_with_k_columns():
    torch.manual_seed(0)
    model = CNN1D(1, 3, 32, channels=(4, 8), verbose=False)
    ds = ArrayPairs(torch.randn(1, 1, 32), torch.tensor([2]))
    # rank 1 of 2 gets no example of a 1-example validation set
    loader = make_loader(ds, batch_size=4, sampler=eval_indices(len(ds), rank=1, world_size=2))
    logits, targets = collect_logits(model, loader, torch.device("cpu"))
    assert logits.shape == (0, 3) and logits.dtype == torch.float32
    assert targets.shape == (0,) and targets.dtype == torch.long
    full, _ = collect_logits(model, make_loader(ds, batch_size=4, sampler=eval_indices(1, rank=0, world_size=2)),
                             torch.device("cpu"))
    assert torch.cat([full, logits]).shape == (1, 3)  # concatenates with a non-empty shard

    # a model without n_outputs: K comes from an explicit n_outputs, or from a probe on the dataset
    bare = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(32, 5))
    tds = TensorDataset(torch.randn(1, 1, 32), torch.tensor([0]))
    empty = DataLoader(tds, sampler=[], batch_size=4)
    assert collect_logits(bare, empty, torch.device("cpu"))[0].shape == (0, 5)
    assert collect_logits(bare, empty, torch.device("cpu"), n_outputs=5)[0].shape == (0, 5)
