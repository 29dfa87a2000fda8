"""helpers.train.Records: variable-length records in length-bucketed batches with padding masks."""

import numpy as np
import pytest
import torch

from helpers.models import CNN1D
from helpers.models.signal_transformer import SignalTransformer, SignalTransformerConfig
from helpers.train import Records, TrainConfig, evaluate, fit, predict_proba, set_seed


def make_records(n=30, seed=0, low=100, high=400):
    rng = np.random.default_rng(seed)
    signals = [rng.normal(size=int(rng.integers(low, high))).astype(np.float32) for _ in range(n)]
    labels = rng.integers(0, 2, n)
    for x, y in zip(signals, labels):
        x[:40] += 3.0 * y  # class 1 starts with a step: learnable from any crop that keeps the start
    return signals, labels


def test_a_batch_is_right_padded_with_a_mask_true_at_padding():
    signals, labels = make_records()
    rec = Records(signals, labels, pad_multiple=1)
    x, y, mask = rec.batch(np.array([3, 7]))
    lengths = [len(signals[3]), len(signals[7])]
    assert x.shape == (2, 1, max(lengths)) and mask.shape == (2, max(lengths)) and mask.dtype == torch.bool
    for row, (i, n) in enumerate(zip([3, 7], lengths)):
        np.testing.assert_array_equal(x[row, 0, :n].numpy(), signals[i])
        assert not mask[row, :n].any() and mask[row, n:].all() and (x[row, 0, n:] == 0).all()
    np.testing.assert_array_equal(y.numpy(), labels[[3, 7]])


def test_equal_lengths_give_no_mask_and_pad_multiple_rounds_the_length_up():
    signals = [np.ones(64, np.float32)] * 4
    assert Records(signals, [0, 1, 0, 1]).batch(np.arange(4))[2] is None
    x, _, mask = Records([np.ones(50, np.float32)] * 2, [0, 1], pad_multiple=16).batch(np.arange(2))
    assert x.shape[-1] == 64 and mask[:, 50:].all() and not mask[:, :50].any()


def test_random_crops_are_contiguous_stretches_inside_each_record():
    signals = [np.arange(n, dtype=np.float32) for n in (300, 120, 90)]
    rec = Records(signals, [0, 1, 0], crop=100)
    x, _, mask = rec.batch(np.arange(3), np.random.default_rng(1))
    assert x.shape == (3, 1, 100)
    for row, n in enumerate((300, 120, 90)):
        kept = x[row, 0, : min(n, 100)].numpy()
        assert np.all(np.diff(kept) == 1) and kept[0] >= 0 and kept[-1] <= n - 1  # one stretch of the record
    assert mask[2, 90:].all() and not mask[:2].any()


def test_bucketing_pads_less_than_random_batches():
    signals, labels = make_records(n=200, low=50, high=1000)
    rec = Records(signals, labels, pad_multiple=1)
    batches = rec.batches(16, shuffle=True, seed=0)
    padded = sum(x.shape[0] * x.shape[-1] for x, _, _ in batches)
    rng = np.random.default_rng(0)
    order = rng.permutation(200)
    lengths = rec.lengths[order]
    random_padded = sum(len(c) * c.max() for c in np.array_split(lengths, len(batches)))
    valid = rec.lengths.sum()
    assert padded - valid < 0.3 * (random_padded - valid)  # padding samples: bucketed vs random batches


def test_every_record_is_served_once_per_epoch_and_shards_are_disjoint_and_equal():
    signals, labels = make_records(n=50)
    rec = Records(signals, labels)
    seen = np.concatenate(rec.batches(8, shuffle=True, seed=3).plan())
    assert sorted(seen) == list(range(50))
    full = rec.batches(8, shuffle=True, seed=3, drop_last=True)
    assert all(len(b) == 8 for b in full.plan()) and len(full) == 6
    shards = [rec.batches(8, shuffle=True, seed=3, rank=r, world_size=2).plan() for r in (0, 1)]
    assert len(shards[0]) == len(shards[1])
    assert not set(np.concatenate(shards[0])) & set(np.concatenate(shards[1]))
    evals = [np.concatenate(rec.batches(8, rank=r, world_size=3).plan()) for r in range(3)]
    assert sorted(np.concatenate(evals)) == list(range(50))


def test_set_epoch_draws_new_batches():
    signals, labels = make_records(n=40)
    batches = Records(signals, labels, crop=80).batches(8, shuffle=True)
    first = [b.tolist() for b in batches.plan()]
    batches.set_epoch(1)
    assert [b.tolist() for b in batches.plan()] != first


def test_whole_record_predictions_equal_each_record_alone():
    signals, labels = make_records(n=12)
    set_seed(0)
    model = SignalTransformer(1, 2, config=SignalTransformerConfig.small(verbose=False)).eval()
    proba = predict_proba(model, Records(signals, labels, crop=64), batch_size=5)  # crop ignored: whole records
    with torch.no_grad():
        alone = np.concatenate([model(torch.from_numpy(s)[None, None]).softmax(1).numpy() for s in signals])
    np.testing.assert_allclose(proba, alone, atol=1e-5)
    assert set(evaluate(model, Records(signals, labels))) >= {"loss", "accuracy", "macro_f1"}


def test_fit_trains_on_records_and_hands_the_mask_to_the_model(monkeypatch):
    signals, labels = make_records(n=40)
    set_seed(0)
    model = CNN1D(1, 2, channels=(8, 16), dropout=0.0, verbose=False)
    masks = []
    real_forward = model.forward
    monkeypatch.setattr(model, "forward", lambda x, padding_mask=None: masks.append(padding_mask) or
                        real_forward(x, padding_mask))
    h = fit(model, Records(signals, labels, crop=128), Records(signals, labels),
            TrainConfig(epochs=8, batch_size=8, lr=1e-2, progress=False))
    assert any(m is not None for m in masks)
    assert h["val_accuracy"][-1] >= 0.9
    assert all(v > 0 for v in h["train_seq_s"])


def test_bad_records_are_refused_naming_the_problem():
    with pytest.raises(ValueError, match="at least one record"):
        Records([], [])
    with pytest.raises(ValueError, match="labels must be 2 integer class indices"):
        Records([np.ones(5), np.ones(6)], [0.5, 1])
    with pytest.raises(ValueError, match="record 1 contains NaN"):
        Records([np.ones(5), np.array([1.0, np.nan])], [0, 1])
    with pytest.raises(ValueError, match="crop must be a positive"):
        Records([np.ones(5)], [0], crop=0)
    with pytest.raises(ValueError, match="make no batch of 8"):
        Records([np.ones(5)] * 4, [0] * 4).batches(8, shuffle=True, world_size=2)
