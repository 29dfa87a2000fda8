"""Masked-segment pre-training: the mask, the target, the loss on masked segments only, and that it learns."""

import numpy as np
import pytest
import torch

from helpers.models import TinyPPGTransformer
from helpers.train.ssl import (
    MaskedSegmentModel,
    PretrainConfig,
    masked_reconstruction_loss,
    masked_segment_target,
    pretrain,
    segment_mask,
)

SMALL = {"stem_channels": (8, 16), "d_model": 16, "n_layers": 1, "ffn_hidden": 32, "dropout": 0.0, "verbose": False}


def tiny(C=1, T=1280, seed=0):
    torch.manual_seed(seed)
    return TinyPPGTransformer(C, 2, T, **SMALL)


def test_segment_mask_hides_whole_runs_and_leaves_every_row_something_to_see():
    g = torch.Generator().manual_seed(0)
    mask = segment_mask(64, 20, 0.4, span=2, generator=g)
    assert mask.shape == (64, 20) and mask.dtype == torch.bool
    assert (mask.sum(1) == 8).all()  # 10 runs of 2, round(0.4 * 10) = 4 runs masked
    assert (mask[:, 0::2] == mask[:, 1::2]).all()  # runs of two
    assert mask.float().mean(0).min() > 0  # every position gets masked in some row
    with pytest.raises(ValueError, match=r"mask_ratio must be in \(0, 1\), got 1.0"):
        segment_mask(2, 20, 1.0)
    with pytest.raises(ValueError, match="1 segment"):
        segment_mask(2, 1, 0.5)


def test_target_is_the_original_samples_of_each_segment():
    x = torch.arange(2 * 3 * 12, dtype=torch.float32).reshape(2, 3, 12)
    target = masked_segment_target(x, 4)  # (B, N, C, P)
    assert target.shape == (2, 3, 3, 4)
    for n in range(3):
        torch.testing.assert_close(target[:, n], x[:, :, 4 * n:4 * n + 4])
    with pytest.raises(ValueError, match="windows of 13 samples do not split into whole segments of 4"):
        masked_segment_target(torch.zeros(1, 1, 13), 4)


def test_loss_is_the_squared_error_on_masked_segments_only_and_the_encoder_sees_zeros_there():
    model = tiny()
    ssl = MaskedSegmentModel(model).eval()
    x = torch.randn(3, 1, 1280)
    mask = torch.zeros(3, 20, dtype=torch.bool)
    mask[:, 5:9] = True
    seen = {}
    encode = model.encode
    model.encode = lambda xin, *a: (seen.setdefault("x", xin), encode(xin))[1]
    loss, _ = ssl(x, mask)
    assert (seen["x"][:, :, 5 * 64:9 * 64] == 0).all()  # masked segments hidden from the encoder
    torch.testing.assert_close(seen["x"][:, :, :5 * 64], x[:, :, :5 * 64])  # visible ones as they were
    with torch.no_grad():  # the formula, computed by hand
        tokens, _ = encode(seen["x"])
        pred = ssl.decoder(tokens).reshape(3, 20, 1, 64)
        target = masked_segment_target(x, 64)
        expected = ((pred - target)[:, 5:9] ** 2).mean()
    torch.testing.assert_close(loss, expected)
    # changing the signal in visible segments moves the target nowhere: only masked segments are scored
    x2 = x.clone()
    x2[:, :, :5 * 64] += 100.0
    model.encode = lambda xin, *a: (tokens, None)  # same predictions, so only the target could change the loss
    torch.testing.assert_close(ssl(x2, mask)[0], ssl(x, mask)[0])


def test_pretraining_lowers_the_reconstruction_loss_on_a_toy_set():
    # a toy "PPG": sinusoids of random rate and phase, predictable from context
    rng = np.random.default_rng(0)
    t = np.arange(1280) / 64.0
    f = rng.uniform(0.8, 2.0, size=(96, 1, 1))
    X = np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi, size=(96, 1, 1))).astype(np.float32)
    model = tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    history = pretrain(model, X, PretrainConfig(epochs=12, batch_size=32, lr=1e-2, span_segments=1, num_threads=1))
    assert len(history) == 12 and history[-1] < 0.7 * history[0]
    assert history[-1] < 0.8 * 0.5  # well below predicting zeros (the signal's variance, 0.5): it uses the context
    assert not torch.equal(model.stem.convs[0].weight, before["stem.convs.0.weight"])  # updated in place
    torch.testing.assert_close(model.head.weight, before["head.weight"])  # the head is not pre-trained
    assert model(torch.as_tensor(X[:2])).shape == (2, 2)


def test_pretrain_refuses_a_model_without_tokens():
    from helpers.models import create_model
    cnn = create_model("cnn1d", in_channels=1, n_outputs=2, verbose=False)
    with pytest.raises(TypeError, match="CNN1D has no encode"):
        pretrain(cnn, np.zeros((4, 1, 256), np.float32), PretrainConfig(epochs=1))


def test_reconstruction_loss_counts_each_masked_segment_once_and_ignores_the_visible_ones():
    pred, target = torch.zeros(2, 3, 1, 2), torch.zeros(2, 3, 1, 2)
    pred[0, 0] = 1.0       # masked, squared error 1 per sample
    pred[1, 2] = 3.0       # masked, squared error 9 per sample
    pred[0, 1] = 100.0     # visible: must not count
    mask = torch.tensor([[True, False, False], [False, False, True]])
    assert float(masked_reconstruction_loss(pred, target, mask)) == 5.0  # (1 + 9) / 2 masked segments


def test_pretrain_trains_with_a_loss_written_elsewhere():
    seen = []

    def my_loss(pred, target, mask):
        seen.append((tuple(pred.shape), tuple(target.shape), mask.dtype))
        return masked_reconstruction_loss(pred, target, mask)

    X = np.random.default_rng(1).normal(size=(8, 1, 1280)).astype(np.float32)
    history = pretrain(tiny(), X, PretrainConfig(epochs=1, batch_size=4, num_threads=1, loss=my_loss))
    assert len(history) == 1 and np.isfinite(history[0])
    assert seen == [((4, 20, 1, 64), (4, 20, 1, 64), torch.bool)] * 2   # one call per batch, (B, N, C, P)
    with pytest.raises(TypeError, match="loss must be a function"):
        MaskedSegmentModel(tiny(), loss=3)
