"""CNN1D and the model registry."""

import pytest
import torch
import torch.nn.functional as F

from helpers.models import (
    CNN1D,
    CNN1DConfig,
    num_parameters,
    create_model,
    get_model_class,
)
from helpers.models.layers import ConvBNAct, ResidualBlock1d, SqueezeExcite


def test_cnn1d_maps_signals_to_logits_for_any_length():
    model = CNN1D(in_channels=1, n_outputs=2, input_length=1250, verbose=False)
    assert model(torch.randn(3, 1, 1250)).shape == (3, 2)
    assert model(torch.randn(3, 1, 1000)).shape == (3, 2)  # global average pooling: length-agnostic


def test_default_cnn1d_is_small_enough_for_cpu_training(capsys):
    model = CNN1D(1, 2, 1250)
    assert "parameters" in capsys.readouterr().out  # reports its size at construction, as nanoGPT does
    assert 10_000 < num_parameters(model) < 100_000
    assert num_parameters(model) == model.num_parameters()
    assert 1e6 < model.estimate_macs() < 5e7


def test_multilead_multiclass_and_config_overrides():
    model = CNN1D(12, 5, config=CNN1DConfig(channels=(8, 16), kernel_size=5, verbose=False), dropout=0.0)
    assert model.config.dropout == 0.0 and model.config.channels == (8, 16)
    assert model(torch.randn(2, 12, 300)).shape == (2, 5)


def test_wrong_inputs_give_clear_errors():
    model = CNN1D(1, 2, verbose=False)
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, 1, samples\)"):
        model(torch.randn(2, 3, 500))
    with pytest.raises(ValueError, match="at least 32 samples"):
        model(torch.randn(2, 1, 16))
    with pytest.raises(ValueError, match="too short"):
        CNN1D(1, 2, input_length=10, verbose=False)
    with pytest.raises(TypeError, match="unknown CNN1D option"):
        CNN1D(1, 2, n_filters=3)


def test_grad_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    model = CNN1D(1, 3, channels=(4, 8), dropout=0.0, verbose=False)
    x, y = torch.randn(4, 1, 200), torch.tensor([0, 1, 2, 1])
    grads = []
    for flag in (False, True):
        model.zero_grad()
        model.set_grad_checkpointing(flag)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


def test_registry_builds_models_by_name_and_names_the_missing_ones():
    model = create_model("cnn1d", in_channels=1, n_outputs=2, input_length=500, verbose=False)
    assert isinstance(model, CNN1D)
    with pytest.raises(ValueError, match="available"):
        create_model("resnet1000", in_channels=1, n_outputs=2)
    for name in ("signal_transformer", "cnn_lstm"):  # written elsewhere; registered lazily
        try:
            assert isinstance(get_model_class(name), type)
        except ImportError as err:
            assert name in str(err)


def test_shared_layers_keep_the_time_axis():
    x = torch.randn(2, 8, 100)
    assert ConvBNAct(8, 16, 5, act="mish")(x).shape == (2, 16, 100)
    assert ConvBNAct(8, 16, 5, stride=2)(x).shape == (2, 16, 50)
    assert ResidualBlock1d(8, dilation=4)(x).shape == (2, 8, 100)
    mask = torch.ones(2, 100, dtype=torch.bool)
    mask[1, 60:] = False
    se = SqueezeExcite(8)
    y = se(x, mask)
    # padding never changes the valid part: the gate depends only on valid samples
    x2 = x.clone()
    x2[1, :, 60:] = 99.0
    torch.testing.assert_close(se(x2, mask)[1, :, :60], y[1, :, :60])


def test_mish_exp_equals_torch_mish_in_value_and_gradient():
    from helpers.models.layers import mish_exp

    x = torch.cat([torch.linspace(-120, 120, 20001, dtype=torch.float64), torch.tensor([-1e4, 1e4, 0.0])])
    x.requires_grad_(True)
    mine = mish_exp(x)
    (g_mine,) = torch.autograd.grad(mine.sum(), x)
    ref = F.mish(x)
    (g_ref,) = torch.autograd.grad(ref.sum(), x)
    torch.testing.assert_close(mine, ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g_mine, g_ref, rtol=1e-10, atol=1e-10)
    for dtype in (torch.bfloat16, torch.float16):  # computed in float32 inside, returned in the input's dtype
        xl = torch.tensor([-1e4, -30.0, -1.0, 0.0, 1.0, 19.9, 20.1, 60.0, 6e4], dtype=dtype)
        y = mish_exp(xl)
        assert y.dtype == dtype and torch.isfinite(y).all()
        torch.testing.assert_close(y.float(), F.mish(xl.float()).to(dtype).float(), rtol=1e-2, atol=1e-3)
    # float32, the precision Inductor computes in: value and gradient within rounding of a float64 reference
    x32 = torch.linspace(-30, 30, 60001, requires_grad=True)
    (g32,) = torch.autograd.grad(mish_exp(x32).sum(), x32)
    torch.testing.assert_close(mish_exp(x32.detach()).double(), F.mish(x32.detach().double()),
                               rtol=1e-6, atol=1e-6)
    x64 = x32.detach().double().requires_grad_(True)
    (g64,) = torch.autograd.grad(F.mish(x64).sum(), x64)
    torch.testing.assert_close(g32.double(), g64, rtol=0, atol=1e-5)
