"""BeatCNN: the beat waveform and its RR features in one input, trained by the unchanged fit, explainable."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers.evaluate.explain import attribute
from helpers.models import BeatCNN, beat_inputs, create_model, padding_mask_from_lengths
from helpers.train import TrainConfig, fit, predict_proba

L = 128  # samples per beat (0.7 s at ~180 Hz)
SMALL = {"channels": (8, 16, 16), "rr_hidden": 8, "head_hidden": 16, "dropout": 0.0, "verbose": False}


def build(seed=0, **kw):
    torch.manual_seed(seed)
    return BeatCNN(in_channels=1 + 5, n_outputs=4, input_length=L, **{**SMALL, **kw})


def beats(n, seed=0):
    """n random one-lead beats (n, 1, L) and plausible RR features (n, 5): seconds and ratios."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 1, L)).astype(np.float32)
    rr = rng.uniform(0.5, 1.5, size=(n, 5)).astype(np.float32)
    return X, rr


def randomize_batchnorm(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return model


def test_beat_inputs_puts_the_leads_first_and_each_rr_feature_in_a_constant_channel():
    X, rr = beats(3)
    x = beat_inputs(X, rr)
    assert x.shape == (3, 6, L) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:, :1], X)
    np.testing.assert_array_equal(x[:, 1:], np.broadcast_to(rr[:, :, None], (3, 5, L)))


def test_beat_inputs_refuses_missing_rr_features_naming_the_beat():
    X, rr = beats(4)
    rr[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN/inf for 1 beat\(s\), the first at row 2; drop them first"):
        beat_inputs(X, rr)
    with pytest.raises(ValueError, match=r"one lead\? use X\[:, None, :\]"):
        beat_inputs(X[:, 0], rr)
    with pytest.raises(ValueError, match=r"rr must have shape \(n_beats, n_features\) = \(4, F\).*got \(3, 5\)"):
        beat_inputs(X, rr[:3])


def test_registered_as_beat_cnn_and_small_enough_for_a_cpu():
    model = create_model("beat_cnn", in_channels=6, n_outputs=4, input_length=252, verbose=False)
    assert isinstance(model, BeatCNN) and (model.n_leads, model.n_rr) == (1, 5)
    assert 10_000 < model.num_parameters() < 100_000  # tens of thousands
    assert model.estimate_macs() < 3_000_000  # per beat: an epoch over DS1 takes seconds
    assert model(torch.randn(2, 6, 252)).shape == (2, 4)


def test_too_few_channels_for_the_rr_features_is_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"in_channels=5 leaves no waveform lead.*in_channels = leads \+ 5 "
                                         r"\(e.g. 6 for one lead, see beat_inputs\), or rr_features=0"):
        BeatCNN(in_channels=5, n_outputs=4, verbose=False)
    with pytest.raises(TypeError, match=r"unknown BeatCNN option\(s\) \['rr'\]"):
        BeatCNN(in_channels=6, n_outputs=4, rr=5)


def test_the_rr_features_change_the_decision_and_rr_features_0_ignores_them():
    model = build().eval()
    X, rr = beats(2)
    same_beat = np.repeat(X[:1], 2, axis=0)
    with torch.no_grad():
        out = model(torch.as_tensor(beat_inputs(same_beat, rr)))
    assert not torch.allclose(out[0], out[1])  # same waveform, different timing: different logits
    wave_only = BeatCNN(in_channels=1, n_outputs=4, rr_features=0, **SMALL).eval()
    assert wave_only.rr_mlp is None and wave_only.n_leads == 1
    assert wave_only(torch.as_tensor(X)).shape == (2, 4)


def test_padded_beats_give_the_logits_of_the_beats_alone_rr_channels_included():
    model = randomize_batchnorm(build(seed=1)).eval()
    X, rr = beats(3, seed=1)
    lengths = (L, 100, 64)
    alone = [torch.as_tensor(beat_inputs(X[i:i + 1, :, :n], rr[i:i + 1])) for i, n in enumerate(lengths)]
    padded = torch.randn(3, 6, L) * 50  # garbage in the padding, RR channels included, must not matter
    for i, s in enumerate(alone):
        padded[i, :, : s.shape[-1]] = s[0]
    with torch.no_grad():
        expected = torch.cat([model(s) for s in alone])
        got = model(padded, padding_mask=padding_mask_from_lengths(lengths, L))
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


def test_grad_checkpointing_keeps_the_gradients_of_both_branches():
    x = torch.as_tensor(beat_inputs(*beats(4)))
    y = torch.tensor([0, 1, 2, 3])

    def grads(enabled):
        model = build(seed=2).train().set_grad_checkpointing(enabled)
        F.cross_entropy(model(x), y).backward()
        return {n: p.grad.clone() for n, p in model.named_parameters()}

    plain, recomputed = grads(False), grads(True)
    assert plain["rr_mlp.0.weight"].abs().sum() > 0
    for n in plain:
        torch.testing.assert_close(recomputed[n], plain[n], atol=1e-6, rtol=1e-5, msg=n)


def test_fit_unchanged_learns_a_class_that_only_the_timing_shows():
    # identical-looking beats; class 1 comes early (prev/local RR 0.6) and is followed by a pause: only the RR
    # branch can tell, so learning it proves the features reach the model through fit's single tensor
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, n)
    X = (np.sin(np.linspace(0, 3 * np.pi, L))[None, None] + 0.3 * rng.normal(size=(n, 1, L))).astype(np.float32)
    rr = np.ones((n, 5), np.float32) * 0.8
    rr[y == 1] = [0.48, 1.12, 0.8, 0.6, 2.33]
    rr *= rng.uniform(0.9, 1.1, size=(n, 1)).astype(np.float32)
    x = beat_inputs(X, rr)
    torch.manual_seed(0)
    model = BeatCNN(in_channels=6, n_outputs=2, input_length=L, **{**SMALL, "dropout": 0.1})
    fit(model, (x[:300], y[:300]), config=TrainConfig(epochs=8, batch_size=32, lr=3e-3, progress=False))
    accuracy = (predict_proba(model, x[300:]).argmax(1) == y[300:]).mean()
    assert accuracy > 0.95, accuracy


def test_integrated_gradients_explain_the_waveform_of_a_batch_of_beats():
    model = randomize_batchnorm(build(seed=3)).eval()
    x = torch.as_tensor(beat_inputs(*beats(5, seed=3)))
    target = np.array([2, 2, 1, 2, 0])  # e.g. "why V?" for the V beats
    base = model.attribution_baseline(x)
    assert torch.equal(base[:, 1:], x[:, 1:]) and not base[:, :1].any()
    a = attribute(model, x, target, method="integrated_gradients", baselines=base, n_steps=64)
    assert a.shape == x.shape and a.dtype == np.float32 and np.isfinite(a).all()
    assert not a[:, 1:].any()  # the RR channels do not move along the path: no attribution
    with torch.no_grad():  # completeness: the waveform's attributions add up to f(x) - f(flat beat, same RR)
        gap = (model(x) - model(base))[np.arange(5), target].numpy()
    np.testing.assert_allclose(a.sum(axis=(1, 2)), gap, rtol=0.05, atol=0.02)
    s = attribute(model, x[:2], 2, method="saliency")
    assert s.shape == (2, 6, L) and np.isfinite(s).all() and (s >= 0).all()


def test_one_beat_can_be_drawn_coloured_by_its_waveform_attribution():
    import matplotlib
    matplotlib.use("Agg")
    from helpers.evaluate.explain import plot_overlay

    model = build(seed=4).eval()
    x = beat_inputs(*beats(2, seed=4))
    ax = plot_overlay(model, x[0], 180.0, target=2, baselines=model.attribution_baseline(x[:1]), n_steps=16)
    assert ax.get_title() == "integrated gradients for class 2"
