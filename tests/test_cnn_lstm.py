"""Properties of the CNN + bidirectional LSTM classifier (helpers.models.cnn_lstm)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers.models import padding_mask_from_lengths
from helpers.models.cnn_lstm import CNNLSTM, CNNLSTMConfig


def small_model(seed=0, **overrides):
    torch.manual_seed(seed)
    return CNNLSTM(3, 4, config=CNNLSTMConfig.small(dropout=0.0, verbose=False, **overrides))


def test_default_and_small_configs_report_their_size(capsys):
    model = CNNLSTM(1, 2)
    assert 100_000 < model.num_parameters() < 1_000_000
    assert "M parameters" in capsys.readouterr().out
    assert small_model().num_parameters() < 50_000


@pytest.mark.parametrize("T", [64, 257, 1000])
def test_returns_one_logit_per_class_for_any_length(T):
    assert small_model()(torch.randn(5, 3, T)).shape == (5, 4)


def test_padding_never_changes_the_output_for_the_valid_part():
    model = small_model().eval()
    g = torch.Generator().manual_seed(0)
    for m in model.modules():  # non-trivial BatchNorm, so a leak of padded samples would show
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g))
            m.bias.data.copy_(torch.randn(m.num_features, generator=g))
    lengths = (300, 257, 64, 9)
    signals = [torch.randn(1, 3, n) for n in lengths]
    padded = torch.randn(4, 3, 300) * 50
    for i, s in enumerate(signals):
        padded[i, :, : s.shape[-1]] = s[0]
    with torch.no_grad():
        alone = torch.cat([model(s) for s in signals])
        batched = model(padded, padding_mask=padding_mask_from_lengths(lengths, 300))
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=1e-5)


def test_tiny_model_overfits_a_small_batch():
    model = small_model(seed=1)
    torch.manual_seed(1)
    x, y = torch.randn(16, 3, 128), torch.randint(0, 4, (16,))  # random labels: only memorising fits them
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(100):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    with torch.no_grad():
        assert (model.eval()(x).argmax(1) == y).all()


def test_bad_inputs_raise_clear_errors():
    model = small_model()
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, 3, samples\)"):
        model(torch.randn(2, 1, 100))
    with pytest.raises(ValueError, match="at least 4 samples"):
        model(torch.randn(2, 3, 3))
    with pytest.raises(ValueError, match="row 1 of padding_mask leaves 2 unpadded sample"):
        model(torch.randn(2, 3, 100), padding_mask=padding_mask_from_lengths([100, 2], 100))
