"""The contract every registered model family follows (helpers/models/base.py), checked for each of them."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers.models import (
    MODELS,
    SignalModel,
    create_model,
    get_model_class,
    num_parameters,
    padding_mask_from_lengths,
)

# CPU-sized options per family (the defaults of the larger ones take seconds per forward on 2 cores); dropout off
# so that two forward passes are comparable.
SMALL = {
    "cnn1d": {"channels": (8, 16, 16), "dropout": 0.0},
    "cnn_lstm": {"channels": (16, 32), "lstm_hidden": 16, "head_hidden": 16, "dropout": 0.0},
    "signal_transformer": {"channels": (8, 16, 32, 32), "blocks": (1, 1, 1, 1), "d_model": 32, "n_layers": 1,
                           "n_heads": 2, "ffn_hidden": 64, "pool_heads": 2, "head_hidden": 16, "dropout": 0.0},
    # rr_features=0: the contract builds one-channel models too; the RR channels are tested in test_beat_cnn.py
    "beat_cnn": {"channels": (8, 16), "rr_features": 0, "rr_hidden": 8, "head_hidden": 8, "dropout": 0.0},
    "tiny_transformer": {"stem_channels": (8, 16), "d_model": 16, "n_layers": 1, "ffn_hidden": 32, "dropout": 0.0},
    # windows of 32 samples, hop 16: the padded lengths below (64, 97, 200) then hold 3, 5 and 11 whole windows
    "eeg_cnn_lstm": {"window": 32, "step": 16, "spatial_filters": 4, "temporal_filters": 4, "kernel_size": 5,
                     "d_model": 8, "hidden": 8, "dropout": 0.0},
    "eeg_cnn_transformer": {"window": 32, "step": 16, "spatial_filters": 4, "temporal_filters": 4, "kernel_size": 5,
                            "d_model": 8, "hidden": 8, "n_heads": 2, "dropout": 0.0},
}
C, K, T = 2, 3, 256


def build(name, seed=0, in_channels=C):
    torch.manual_seed(seed)
    return create_model(name, in_channels=in_channels, n_outputs=K, input_length=T, verbose=False, **SMALL[name])


def randomize_batchnorm(model, seed=0):
    """Non-trivial BatchNorm statistics, so that padding leaking into valid samples cannot hide behind BN = id."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.5)
    return model


def test_every_registered_family_is_tested_here_and_follows_the_base_class():
    assert set(SMALL) == set(MODELS)  # a new family must add its CPU-sized options above
    for name in MODELS:
        assert issubclass(get_model_class(name), SignalModel), name


@pytest.mark.parametrize("name", sorted(MODELS))
def test_shared_constructor_builds_a_model_that_maps_signals_to_logits(name):
    model = build(name)
    assert (model.in_channels, model.n_outputs, model.input_length) == (C, K, T)
    assert model(torch.randn(4, C, T)).shape == (4, K)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_construction_reports_the_parameter_count(name, capsys):
    torch.manual_seed(0)
    model = create_model(name, in_channels=1, n_outputs=2, **SMALL[name])
    assert f"{model.num_parameters():,}" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(MODELS))
def test_num_parameters_counts_every_parameter(name):
    model = build(name)
    n = sum(p.numel() for p in model.parameters())
    assert model.num_parameters() == n == num_parameters(model)
    model.head.requires_grad_(False)  # a frozen part still counts, unless only trainable ones are asked for
    assert model.num_parameters() == n
    assert model.num_parameters(trainable_only=True) == num_parameters(model, trainable_only=True) < n


@pytest.mark.parametrize("name", sorted(MODELS))
def test_grad_checkpointing_returns_the_model_and_keeps_the_gradients(name):
    x, y = torch.randn(4, C, T), torch.tensor([0, 1, 2, 1])
    mask = padding_mask_from_lengths([T, 200, 100, 64], T)

    def grads(enabled):
        model = build(name, seed=3).train()
        assert model.set_grad_checkpointing(enabled) is model
        assert model.grad_checkpointing is enabled
        F.cross_entropy(model(x, padding_mask=mask), y).backward()
        return {n: p.grad.clone() for n, p in model.named_parameters()}

    plain, recomputed = grads(False), grads(True)
    for n in plain:
        torch.testing.assert_close(recomputed[n], plain[n], atol=1e-6, rtol=1e-5, msg=n)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_padding_mask_means_the_same_for_every_model(name):
    """True = padding: a right-padded batch gives, in eval mode, the logits of each signal alone."""
    model = randomize_batchnorm(build(name)).eval()
    lengths = (T, 200, 97, 64)
    torch.manual_seed(1)
    signals = [torch.randn(1, C, n) for n in lengths]
    padded = torch.randn(len(lengths), C, T) * 50  # garbage in the padding must not matter
    for i, s in enumerate(signals):
        padded[i, :, : s.shape[-1]] = s[0]
    mask = padding_mask_from_lengths(lengths, T)
    assert mask.dtype == torch.bool and mask[1, 199:201].tolist() == [False, True]
    with torch.no_grad():
        alone = torch.cat([model(s) for s in signals])
        batched = model(padded, padding_mask=mask)
        no_padding = model(padded, padding_mask=torch.zeros(len(lengths), T, dtype=torch.bool))
        unmasked = model(padded)
    torch.testing.assert_close(batched, alone, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(no_padding, unmasked, atol=1e-5, rtol=1e-5)  # an all-False mask changes nothing


@pytest.mark.parametrize("name", sorted(MODELS))
def test_wrong_inputs_are_refused_at_the_boundary_with_the_fix(name):
    model = build(name)
    x = torch.randn(4, C, T)
    with pytest.raises(TypeError, match=rf"expected float32 input of shape \(batch, {C}, samples\); got float64 "
                                        rf"of shape \(4, {C}, {T}\): call x.float\(\)"):
        model(x.double())
    with pytest.raises(TypeError, match=r"torch.Tensor .* got numpy.ndarray of shape .* torch.as_tensor"):
        model(x.numpy())
    with pytest.raises(TypeError, match="call x.float()"):
        model(x.long())
    with pytest.raises(ValueError, match=rf"got shape \(4, 5, {T}\): this model was built for {C} channel"):
        model(torch.randn(4, 5, T))
    with pytest.raises(ValueError, match=r"channels last\? use x.transpose\(1, 2\)"):
        model(x.transpose(1, 2).contiguous())
    with pytest.raises(TypeError, match="padding_mask must be a bool tensor"):
        model(x, padding_mask=torch.zeros(4, T))
    with pytest.raises(ValueError, match=rf"padding_mask must have shape .* \(4, {T}\)"):
        model(x, padding_mask=torch.zeros(T, dtype=torch.bool))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_batch_without_channel_axis_is_refused_with_the_fix(name):
    model = build(name, in_channels=1)
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, 1, samples\); got shape \(4, 256\): "
                                         r"add the channel axis with x\[:, None, :\]"):
        model(torch.randn(4, T))
    with pytest.raises(ValueError, match="needs at least"):
        model(torch.randn(4, 1, model.min_length - 1)) if model.min_length > 1 else \
            model(torch.randn(4, 1, 0))


def test_a_converted_model_expects_its_own_dtype():
    model = build("cnn1d").double()
    assert model(torch.randn(2, C, T, dtype=torch.float64)).dtype == torch.float64
    with pytest.raises(TypeError, match=r"expected float64 .* call x.to\(torch.float64\)"):
        model(torch.randn(2, C, T))


def test_constructor_arguments_are_checked():
    with pytest.raises(ValueError, match="in_channels must be an integer >= 1, got 0"):
        create_model("cnn1d", in_channels=0, n_outputs=2)
    with pytest.raises(ValueError, match="input_length=7 is too short for CNNLSTM: it needs at least 8"):
        create_model("cnn_lstm", in_channels=1, n_outputs=2, input_length=7, verbose=False)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_input_check_traces_under_torch_compile(name):
    # Dynamo's tracing with the eager backend (no C++ compiler needed): the check must neither break the graph
    # capture nor stop a compiled model from refusing a wrong input with the same message
    torch._dynamo.reset()
    model = randomize_batchnorm(build(name)).eval()
    x = torch.randn(4, C, T)
    compiled = torch.compile(model, backend="eager")
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), atol=1e-5, rtol=1e-5)
    with pytest.raises(TypeError, match="call x.float()"):
        compiled(x.double())
    assert np.isfinite(compiled(x).detach().numpy()).all()


# --- one config merge, one size report, fs, estimate_macs: stated once in base.py, true of every family ---

@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_family_refuses_an_unknown_option_and_names_the_known_ones(name):
    with pytest.raises(TypeError, match=r"unknown .* option\(s\) \['no_such_option'\]; .*Config has \["):
        create_model(name, in_channels=C, n_outputs=K, input_length=T, verbose=False, no_such_option=1)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_family_prints_its_size_once_and_verbose_false_silences_it(name, capsys):
    options = {k: v for k, v in SMALL[name].items()}
    create_model(name, in_channels=C, n_outputs=K, input_length=T, **options)
    lines = capsys.readouterr().out.strip().splitlines()
    model = build(name)
    assert len(lines) == 1 and lines[0].endswith(f"M parameters ({model.num_parameters():,})"), lines
    assert capsys.readouterr().out == ""  # build() passes verbose=False


def test_a_subclass_of_a_family_reports_its_own_size_once_after_its_own_layers():
    family = get_model_class("cnn1d")

    class WithExtraHead(family):
        def __init__(self):
            super().__init__(1, 2, 128, channels=(4, 8))
            self.extra = nn.Linear(2, 2)  # made after the family's __init__ returned

    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        model = WithExtraHead()
    assert out.getvalue().splitlines() == [f"WithExtraHead: {model.num_parameters() / 1e6:.2f} M parameters "
                                           f"({model.num_parameters():,})"]


def test_lists_given_for_tuple_options_become_tuples():
    model = create_model("cnn1d", in_channels=1, n_outputs=2, input_length=T, verbose=False, channels=[8, 16])
    assert model.config.channels == (8, 16)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fs_is_recorded_and_a_bad_rate_is_refused(name):
    model = create_model(name, in_channels=C, n_outputs=K, input_length=T, fs=128, verbose=False, **SMALL[name])
    assert model.fs == 128.0 and isinstance(model.fs, float)
    assert build(name).fs is None
    for bad in (0, -360.0, float("nan"), float("inf"), "360", True):
        with pytest.raises(ValueError, match="fs must be a positive, finite sampling rate in Hz"):
            create_model(name, in_channels=C, n_outputs=K, input_length=T, fs=bad, verbose=False, **SMALL[name])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_family_estimates_its_macs_and_needs_a_length(name):
    model = build(name)
    macs = model.estimate_macs()
    assert isinstance(macs, int) and macs > model.num_parameters() // 4
    assert model.estimate_macs(2 * T) > macs  # more samples, more work
    no_length = create_model(name, in_channels=C, n_outputs=K, verbose=False, **SMALL[name])
    with pytest.raises(ValueError, match="pass input_length"):
        no_length.estimate_macs()


def test_the_base_count_of_macs_is_exact_for_a_plain_cnn():
    model = build("cnn1d")
    cfg, t, c_in, expected = model.config, T, C, 0
    for c_out in cfg.channels:
        expected += t * c_out * c_in * cfg.kernel_size  # 'same' convolution: T samples out
        t, c_in = t // cfg.pool_size, c_out
    expected += c_in * K  # the linear head
    assert model.estimate_macs() == model.estimate_macs(T) == expected


def test_the_base_count_of_macs_counts_an_lstm_per_step_gate_and_direction():
    class OnlyLSTM(SignalModel):
        def __init__(self):
            super().__init__(1, 2, 50)
            self.lstm = nn.LSTM(1, 4, batch_first=True, bidirectional=True)

        def forward(self, x, padding_mask=None):
            return self.lstm(x.transpose(1, 2))[0][:, -1, :2]  # (B, 2)

    # 50 steps x 2 directions x 4 gates x (1 input + 4 hidden) x 4 hidden units
    assert OnlyLSTM().estimate_macs() == 50 * 2 * 4 * (1 + 4) * 4


def test_importing_helpers_models_imports_no_family_until_one_is_asked_for():
    import subprocess
    import sys

    code = ("import sys, helpers.models as m; "
            "print(sorted(k for k in sys.modules if k.startswith('helpers.models.') and k != 'helpers.models.base')); "
            "m.CNN1D; print('helpers.models.cnn1d' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["[]", "True"], out


def test_every_family_config_shares_the_base_config_and_its_small_preset():
    import dataclasses
    import importlib

    from helpers.models.base import ModelConfig
    from helpers.models.cnn1d import CNN1DConfig
    from helpers.models.cnn_lstm import CNNLSTMConfig
    from helpers.models.signal_transformer import SignalTransformerConfig

    for family in ("beat_cnn", "cnn1d", "cnn_lstm", "eeg_sequence", "signal_transformer", "tiny_transformer"):
        importlib.import_module(f"helpers.models.{family}")
    def descendants(cls):
        return [d for c in cls.__subclasses__() for d in (c, *descendants(c))]

    configs = [c for c in descendants(ModelConfig) if c.__module__.startswith("helpers.models.") and
               c.__name__.removesuffix("Config") in {"BeatCNN", "CNN1D", "CNNLSTM", "EEGSequence", "SignalTransformer",
                                                     "TinyPPGTransformer"}]
    assert len(configs) == 6, [c.__name__ for c in configs]
    for cls in configs:
        verbose = {f.name: f for f in dataclasses.fields(cls)}["verbose"]
        assert verbose.kw_only and verbose.default is True, cls.__name__
    assert CNNLSTMConfig.small(head_hidden=8) == CNNLSTMConfig(channels=(16, 32), lstm_hidden=32, head_hidden=8)
    assert SignalTransformerConfig.small().d_model == 64 < SignalTransformerConfig().d_model
    with pytest.raises(NotImplementedError, match="CNN1DConfig has no small preset"):
        CNN1DConfig.small()


def test_the_plain_cnns_share_one_conv_pool_stack_with_the_old_parameter_names():
    from helpers.models.beat_cnn import BeatCNN
    from helpers.models.cnn1d import CNN1D
    from helpers.models.cnn_lstm import CNNLSTM
    from helpers.models.layers import ConvPoolStack

    cnn, beat = CNN1D(1, 2, 256, verbose=False), BeatCNN(4, 4, 252, rr_features=3, verbose=False)
    assert isinstance(cnn.blocks, ConvPoolStack) and isinstance(beat.blocks, ConvPoolStack)
    assert "blocks.0.0.0.weight" in cnn.state_dict() and "blocks.3.0.0.weight" in beat.state_dict()
    lstm = CNNLSTM(2, 3, 200, verbose=False)  # its front end is the same stack, pooling 2x per block
    assert isinstance(lstm.frontend, ConvPoolStack) and lstm.frontend.pool_size == 2
    assert lstm.frontend.out_channels == lstm.lstm.input_size == lstm.config.channels[-1]
    stack = ConvPoolStack(2, (4, 8), kernel_size=5, pool_size=2).eval()
    x = torch.randn(3, 2, 40)
    keep = torch.ones(3, 1, 40, dtype=torch.bool)
    keep[0, :, 24:] = False  # the first item is padded after 24 samples
    y, kept = stack(x, keep)
    assert y.shape == (3, 8, 10) and kept.shape == (3, 1, 10) and kept[0, 0].tolist() == [True] * 6 + [False] * 4
    y_alone, _ = stack(x[:1, :, :24])
    torch.testing.assert_close(y[:1, :, :5], y_alone[:, :, :5])  # the padding never reached the signal's features
