"""Launched by tests/test_ddp.py under torchrun: trains a tiny CNN with the ordinary ``fit`` call.

Usage: python -m torch.distributed.run --standalone --nproc_per_node=2 tests/ddp_worker.py OUT_DIR

Each rank writes OUT_DIR/rank<r>.json with
- a fingerprint (sha256 and float64 sum of squares) of the parameters before the first optimizer step and after
  EVERY optimizer step, recorded by a global optimizer hook on each rank independently, i.e. before ``fit``'s
  final broadcast of rank 0's weights could hide a divergence;
- the ids of the training examples of every batch it trained on (to check the shards are disjoint);
- a hash of its final weights and its validation metrics;
- the metrics of a second ``fit`` whose validation set has a single example, so rank 1's validation shard is
  empty.
Rank 0's fit writes history.json and best.pt.

DDP_TEST_DISABLE_ALLREDUCE=1 (the test's negative control) replaces DistributedDataParallel, in this worker
only, by a stand-in that broadcasts rank 0's initial weights as DDP does but never averages the gradients: the
per-step fingerprints of the ranks must then differ.
"""

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.optim.optimizer import (
    register_optimizer_step_post_hook,
    register_optimizer_step_pre_hook,
)

from helpers.models import CNN1D
from helpers.train import TrainConfig, evaluate, fit, set_seed, setup

N_TRAIN, N_VAL, LENGTH = 70, 20, 64


def no_allreduce_ddp(module, device_ids=None, **kwargs):
    """DDP without gradient averaging: rank 0's initial parameters and buffers, then every rank on its own."""
    for t in module.state_dict().values():
        dist.broadcast(t, src=0)
    return module


def fingerprint(params) -> dict:
    params = [p.detach().cpu() for p in params]
    return {"sha256": hashlib.sha256(b"".join(p.numpy().tobytes() for p in params)).hexdigest(),
            "sumsq": float(sum(p.double().pow(2).sum() for p in params))}


def optimizer_params(optimizer) -> list:
    return [p for group in optimizer.param_groups for p in group["params"]]


def main(out_dir: Path) -> None:
    torch.set_num_threads(1)
    rank = int(os.environ["RANK"])
    disable_allreduce = os.environ.get("DDP_TEST_DISABLE_ALLREDUCE") == "1"
    if disable_allreduce:
        setup.DistributedDataParallel = no_allreduce_ddp
    device = os.environ.get("DDP_TEST_DEVICE", "cpu")

    rng = np.random.default_rng(0)  # the same data on every rank; DistributedSampler shards it
    n = N_TRAIN + N_VAL
    y = rng.integers(0, 2, n)
    X = rng.normal(0, 0.5, (n, 1, LENGTH)).astype(np.float32)
    X[y == 1, 0, 20:30] += 2.0
    row_id = {X[i].tobytes(): i for i in range(N_TRAIN)}  # random rows are unique: a row names its example

    record, steps = {}, []  # steps: fingerprint of the parameters after every optimizer step of this rank

    def before_first_step(optimizer, args, kwargs):
        record.setdefault("initial", fingerprint(optimizer_params(optimizer)))

    def after_step(optimizer, args, kwargs):
        steps.append(fingerprint(optimizer_params(optimizer)))

    hooks = [register_optimizer_step_pre_hook(before_first_step),
             register_optimizer_step_post_hook(after_step)]
    batches = []  # training example ids of every batch, in order

    def log_batch(x):
        batches.append([row_id[r.numpy().tobytes()] for r in x.cpu()])
        return x

    set_seed(rank + 1)  # different initial weights per rank: DDP must broadcast rank 0's
    model = CNN1D(1, 2, LENGTH, channels=(4, 8), verbose=False)
    history = fit(model, (X[:N_TRAIN], y[:N_TRAIN]), (X[N_TRAIN:], y[N_TRAIN:]),
                  TrainConfig(epochs=3, batch_size=8, progress=False, checkpoint_dir=out_dir, device=device,
                              augment=log_batch))
    for h in hooks:
        h.remove()
    digest = hashlib.sha256(b"".join(v.detach().cpu().numpy().tobytes() for v in model.state_dict().values()))
    record.update({
        "world_size": history.world_size, "steps": steps, "batches": batches,
        "weights_sha256": digest.hexdigest(), "val_loss": history["val_loss"],
        "is_initialized_after_fit": torch.distributed.is_initialized()})

    if not disable_allreduce:
        # a validation set of one example: rank 1's validation shard is empty (it used to crash in torch.cat)
        set_seed(rank + 1)
        small = CNN1D(1, 2, LENGTH, channels=(4, 8), verbose=False)
        one = slice(N_TRAIN, N_TRAIN + 1)
        h1 = fit(small, (X[:N_TRAIN], y[:N_TRAIN]), (X[one], y[one]),
                 TrainConfig(epochs=1, batch_size=16, progress=False, device=device))
        record["one_val"] = {"val_loss": h1["val_loss"], "val_accuracy": h1["val_accuracy"],
                             "evaluate_loss": evaluate(small, X[one], y[one])["loss"],
                             "is_initialized_after_fit": torch.distributed.is_initialized()}

    (out_dir / f"rank{rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
