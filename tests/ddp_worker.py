"""Launched by tests/test_ddp.py under torchrun: trains a tiny CNN with the ordinary ``fit`` call.

Usage: python -m torch.distributed.run --standalone --nproc_per_node=2 tests/ddp_worker.py OUT_DIR
Each rank writes OUT_DIR/rank<r>.json with a hash of its final weights; rank 0's fit writes history.json.
"""

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

from helpers.models import CNN1D
from helpers.train import TrainConfig, fit, set_seed


def main(out_dir: Path) -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)  # the same data on every rank; DistributedSampler shards it
    y = rng.integers(0, 2, 90)
    X = rng.normal(0, 0.5, (90, 1, 64)).astype(np.float32)
    X[y == 1, 0, 20:30] += 2.0
    set_seed(int(os.environ["RANK"]) + 1)  # different initial weights per rank: DDP must broadcast rank 0's
    model = CNN1D(1, 2, 64, channels=(4, 8), verbose=False)
    seen = []
    history = fit(model, (X[:70], y[:70]), (X[70:], y[70:]),
                  TrainConfig(epochs=3, batch_size=8, progress=False, checkpoint_dir=out_dir,
                              device=os.environ.get("DDP_TEST_DEVICE", "cpu"),
                              augment=lambda x: seen.append(len(x)) or x))
    digest = hashlib.sha256(b"".join(v.detach().cpu().numpy().tobytes() for v in model.state_dict().values()))
    (out_dir / f"rank{os.environ['RANK']}.json").write_text(json.dumps({
        "world_size": history.world_size, "weights_sha256": digest.hexdigest(), "train_examples_seen": sum(seen),
        "val_loss": history["val_loss"], "is_initialized_after_fit": torch.distributed.is_initialized()}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
