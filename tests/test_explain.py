"""helpers.evaluate.explain: attributions land where the model looks, add up, and fail the randomisation check when
they ignore the model."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from torch import nn

from helpers.evaluate import explain
from helpers.evaluate.explain import attribute, plot_overlay, randomization_sanity_check, sanity_table
from helpers.models import CNN1D
from helpers.train import TrainConfig, fit, set_seed

T, START, STOP = 128, 40, 60
METHODS = ["saliency", "integrated_gradients", "gradient_shap"]


class WindowModel(nn.Module):
    """Logits depend only on samples START..STOP-1, through a smooth nonlinearity."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.linspace(0.5, 1.5, STOP - START))

    def forward(self, x):  # (N, 1, T) -> (N, 2)
        s = torch.tanh((x[:, 0, START:STOP] * self.w).sum(-1) / 4)  # (N,)
        return torch.stack([-s, s], dim=1)


def signals(n=4, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).normal(0, 1, (n, 1, T)).astype(np.float32))


@pytest.fixture(scope="module")
def trained():
    """A tiny CNN trained to spot a bump in samples 40-60, and examples of the positive class."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 128)
    X = rng.normal(0, 0.3, (128, 1, T)).astype(np.float32)
    X[y == 1, 0, START:STOP] += 1.5
    set_seed(0)
    model = CNN1D(1, 2, T, channels=(8, 16), dropout=0.0, verbose=False)
    h = fit(model, (X, y), (X, y), TrainConfig(epochs=15, lr=1e-2, batch_size=32, progress=False))
    assert h["val_accuracy"][-1] > 0.95
    return model, X[y == 1][:8]


@pytest.mark.parametrize("method", METHODS)
def test_attributions_have_the_shape_of_the_input(method, trained):
    model, x = trained
    a = attribute(model, x, target=1, method=method)
    assert a.shape == x.shape and a.dtype == np.float32 and np.isfinite(a).all()
    assert attribute(model, x[0], target=1, method=method).shape == x[0].shape  # one (C, T) signal
    assert attribute(model, x[:3], target=np.array([0, 1, 1]), method=method, n_steps=8).shape == x[:3].shape


@pytest.mark.parametrize("method", METHODS)
def test_attribution_mass_falls_in_the_window_the_model_reads(method):
    a = np.abs(attribute(WindowModel(), signals(), target=1, method=method))
    assert a[..., START:STOP].sum() / a.sum() > 0.99


def test_integrated_gradients_are_complete():
    model, x = WindowModel(), signals(6)
    a = attribute(model, x, target=1, method="integrated_gradients", n_steps=64)
    with torch.no_grad():
        gap = (model(x)[:, 1] - model(torch.zeros_like(x))[:, 1]).numpy()
    np.testing.assert_allclose(a.reshape(6, -1).sum(1), gap, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(("stdevs", "n_samples", "rtol"), [(0.0, 256, 0.02), (0.1, 256, 0.05)])
def test_gradient_shap_is_approximately_complete(stdevs, n_samples, rtol):
    """SHAP values add up to f(x) - f(baseline) in expectation: a Monte-Carlo estimate, close with enough draws
    (exact up to sampling error without input noise; the noise adds its own small error)."""
    model, x = WindowModel(), signals(6)
    a = attribute(model, x, target=1, method="gradient_shap", n_samples=n_samples, stdevs=stdevs)
    with torch.no_grad():
        gap = (model(x)[:, 1] - model(torch.zeros_like(x))[:, 1]).numpy()
    np.testing.assert_allclose(a.reshape(6, -1).sum(1), gap, rtol=rtol, atol=0.02)
    assert np.abs(gap).max() > 0.5  # the outputs do move: completeness is not met by zeros


def test_gradient_shap_is_seeded():
    x = signals(2)
    a, b = (attribute(WindowModel(), x, 1, "gradient_shap", seed=3) for _ in range(2))
    np.testing.assert_array_equal(a, b)


def test_sanity_check_passes_for_a_trained_model(trained):
    model, x = trained
    before = [p.clone() for p in model.parameters()]
    result = randomization_sanity_check(model, x, target=1, method="saliency")
    assert result["passed"] and abs(result["spearman"]) < result["threshold"]
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))  # the original is untouched
    cascade = randomization_sanity_check(model, x, target=1, method="saliency", cascading=True)
    assert cascade["layers"][0][0] == "head" and len(cascade["layers"]) == 5  # head, then BN/conv pairs
    assert cascade["passed"]


def test_sanity_check_fails_when_randomisation_changes_nothing(trained, monkeypatch):
    model, x = trained
    monkeypatch.setattr(explain, "randomize_weights", lambda m, layers=None, seed=0: m)
    result = randomization_sanity_check(model, x, target=1, method="saliency")
    assert not result["passed"] and result["spearman"] == pytest.approx(1.0)


def test_plot_overlay_draws_on_the_given_axes(trained):
    import matplotlib.pyplot as plt

    model, x = trained
    fig, ax = plt.subplots()
    out = plot_overlay(model, x[0], fs=100.0, target=1, method="integrated_gradients", ax=ax, n_steps=8)
    assert out is ax and "class 1" in ax.get_title()
    plt.close(fig)


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="method"):
        attribute(WindowModel(), signals(), 1, method="lime")
    bad = signals()
    bad[0, 0, 3] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        attribute(WindowModel(), bad, 1)


def test_a_single_input_and_its_own_baseline_get_the_same_batch_axis():
    import torch
    from torch import nn

    from helpers.evaluate.explain import attribute

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(2, 4, 5, padding=2), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(),
                          nn.Linear(4, 2))
    x = torch.randn(2, 64)
    baseline = torch.zeros(2, 64)
    baseline[1] = x[1]  # keep the second channel: its attribution must then be exactly zero
    a = attribute(model, x, target=1, method="integrated_gradients", baselines=baseline)
    assert tuple(a.shape) == (2, 64) and float(abs(a[1]).max()) == 0.0 and float(abs(a[0]).max()) > 0


def test_sanity_check_can_judge_the_waveform_channels_alone():
    # BeatCNN: one waveform lead + 5 RR channels that are constant over the beat. With its zero-on-waveform
    # baseline the RR channels' integrated gradients are exact zeros in both maps; their ties push rho up.
    from helpers.models import BeatCNN

    torch.manual_seed(0)
    model = BeatCNN(in_channels=6, n_outputs=4, input_length=256, channels=(4, 8), verbose=False).eval()
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal((3, 1, 256)), np.ones((3, 5, 256))], axis=1).astype(np.float32)
    kwargs = {"method": "integrated_gradients", "baselines": model.attribution_baseline(x)}
    everything = randomization_sanity_check(model, x, target=0, **kwargs)
    waveform = randomization_sanity_check(model, x, target=0, channels=[0], **kwargs)
    assert waveform["channels"] == [0] and everything["channels"] is None
    assert everything["spearman"] > waveform["spearman"] + 0.2
    with pytest.raises(ValueError, match=r"channels=\[6\]: the input has channels 0..5"):
        randomization_sanity_check(model, x, target=0, channels=[6], **kwargs)


def test_the_sanity_table_separates_gradients_from_gradient_times_input(trained):
    """On the trained bump detector, saliency (the gradient alone) changes completely with random weights; the
    maps of integrated gradients and GradientShap are multiplied by the input, so part of them is the signal and
    survives randomisation (Adebayo et al.'s finding for gradient x input): their rank correlation is higher."""
    model, x = trained
    table = sanity_table(model, x, target=1)
    assert list(table.index) == METHODS and table["passed"].dtype == bool
    for method in METHODS:   # the table is the single-method check, method by method
        assert table.loc[method, "spearman"] == pytest.approx(
            randomization_sanity_check(model, x, target=1, method=method)["spearman"])
    rho = table["spearman"]
    assert abs(rho["saliency"]) < 0.2 and table.loc["saliency", "passed"]
    assert rho["integrated_gradients"] > rho["saliency"] + 0.3 and rho["gradient_shap"] > rho["saliency"] + 0.3
    assert table["passed"].tolist() == [bool(abs(r) < 0.5) for r in rho]
