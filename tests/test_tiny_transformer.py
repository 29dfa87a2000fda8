"""TinyPPGTransformer: small, exportable to TensorFlow Lite Micro int8 after fuse_for_export(), same function."""

import pytest
import torch
from torch import nn

from helpers.models import TinyPPGTransformer, create_model, padding_mask_from_lengths

T = 3840  # 60 s at 64 Hz


def with_random_batchnorm(model: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial BatchNorm statistics and affine parameters, so that folding them is really tested."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g))
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g))
    return model


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return with_random_batchnorm(TinyPPGTransformer(1, 2, T, verbose=False))


def test_default_model_has_tens_of_thousands_of_parameters_and_one_token_per_second(model):
    assert 10_000 <= model.num_parameters() <= 60_000
    assert model.samples_per_token == 64
    tokens, keep = model.encode(torch.randn(2, 1, T))
    assert tokens.shape == (2, 60, model.config.d_model) and keep is None
    assert 1e6 < model.estimate_macs() < 1e7  # a few M multiply-accumulates per minute of PPG


def test_registered_under_tiny_transformer():
    m = create_model("tiny_transformer", in_channels=5, n_outputs=2, input_length=T, verbose=False)
    assert isinstance(m, TinyPPGTransformer) and m(torch.randn(3, 5, T)).shape == (3, 2)


def test_fuse_for_export_leaves_no_norm_or_gelu_and_computes_the_same_function(model):
    model.eval()
    fused = model.fuse_for_export()
    assert not fused.training and fused is not model
    kinds = {type(m) for m in fused.modules()}
    banned = (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GELU, nn.RMSNorm, nn.GroupNorm)
    assert not [k.__name__ for k in kinds if issubclass(k, banned)]
    # only modules with an int8 TFLM kernel (or nothing to export: identity, dropout) remain
    allowed = (TinyPPGTransformer, nn.Conv1d, nn.Linear, nn.ReLU, nn.Identity, nn.Dropout, nn.Sequential,
               nn.ModuleList)
    leaves = {type(m) for m in fused.modules() if not list(m.children())}
    assert all(issubclass(k, allowed) for k in leaves), leaves
    x = torch.randn(4, 1, T)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), model(x), atol=1e-4, rtol=1e-4)
    assert any(isinstance(m, nn.BatchNorm1d) for m in model.modules())  # the original is untouched


def test_fused_model_keeps_the_padding_contract(model):
    fused = model.fuse_for_export()
    x = torch.randn(2, 1, T)
    mask = padding_mask_from_lengths([T, 2000], T)
    with torch.no_grad():
        torch.testing.assert_close(fused(x, padding_mask=mask)[1], fused(x[1:, :, :2000])[0], atol=1e-4, rtol=1e-4)


def test_fuse_folds_batchnorm_trained_on_real_batches():
    torch.manual_seed(1)
    m = TinyPPGTransformer(2, 3, 1024, verbose=False, n_layers=1, n_heads=2)  # several heads work too
    m.train()
    for _ in range(3):  # running statistics from data, not the defaults
        m(torch.randn(8, 2, 1024) * 3 + 1)
    m.eval()
    x = torch.randn(5, 2, 1024)
    with torch.no_grad():
        torch.testing.assert_close(m.fuse_for_export()(x), m(x), atol=1e-4, rtol=1e-4)


def test_traces_with_fixed_shapes_and_no_graph_breaks(model):
    # what the int8 exporter needs: one static graph for a fixed (1, C, 3840) input
    fused = model.fuse_for_export()
    ep = torch.export.export(fused, (torch.randn(1, 1, T),))
    ops = {str(n.target) for n in ep.graph.nodes if n.op == "call_function"}
    assert not [op for op in ops if "gelu" in op or "layer_norm" in op or "batch_norm" in op], ops


def test_bad_options_are_refused_by_name():
    with pytest.raises(TypeError, match=r"unknown TinyPPGTransformer option\(s\) \['dmodel'\]"):
        TinyPPGTransformer(1, 2, dmodel=8)
    with pytest.raises(ValueError, match=r"stem_kernels must be 3 sizes .* stride \+ 2 \* padding .* got \(8, 5, 8\)"):
        TinyPPGTransformer(1, 2, stem_kernels=(8, 5, 8), verbose=False)
    with pytest.raises(ValueError, match="d_model=30 must be divisible by n_heads=4"):
        TinyPPGTransformer(1, 2, d_model=30, n_heads=4, verbose=False)
    with pytest.raises(ValueError, match="input_length=32 is too short for TinyPPGTransformer: it needs at least 64"):
        TinyPPGTransformer(1, 2, 32, verbose=False)
