"""EEGCNNLSTM / EEGCNNTransformer beyond the shared contract: windows cut inside, causality, sizes, fusion input."""

import pytest
import torch

from helpers.models import (
    EEGCNNLSTM,
    EEGCNNTransformer,
    EEGSequenceConfig,
    create_model,
)

SMALL = {"window": 32, "step": 16, "spatial_filters": 4, "temporal_filters": 4, "kernel_size": 5, "d_model": 8,
         "hidden": 8, "dropout": 0.0, "verbose": False}


@pytest.mark.parametrize("cls", [EEGCNNLSTM, EEGCNNTransformer])
def test_a_segment_is_cut_into_whole_overlapping_windows(cls):
    model = cls(3, 2, **SMALL).eval()
    assert [model.n_windows(n) for n in (31, 32, 47, 48, 128)] == [0, 1, 1, 2, 7]
    seen = []
    model.encoder.register_forward_hook(lambda m, inp, out: seen.append(inp[0].shape))
    x = torch.randn(2, 3, 128)
    with torch.no_grad():
        model(x)
    assert seen == [torch.Size([2 * 7, 3, 32])]  # (B * N, C, window)


def test_the_lstm_is_causal_so_a_later_window_cannot_change_an_earlier_read_out():
    torch.manual_seed(0)
    model = EEGCNNLSTM(3, 2, **SMALL).eval()
    x = torch.randn(1, 3, 96)
    y = x.clone()
    y[..., 80:] += 10  # changes only windows that contain samples 80..95 (the last ones)
    feats_x, _ = model.encode_windows(x, None)
    feats_y, _ = model.encode_windows(y, None)
    out_x, _ = model.lstm(feats_x)
    out_y, _ = model.lstm(feats_y)
    first_changed = 80 // 16 - 1  # window 4 covers samples 64..95
    torch.testing.assert_close(out_x[:, :first_changed], out_y[:, :first_changed])
    assert not torch.allclose(out_x[:, -1], out_y[:, -1])


@pytest.mark.parametrize("name", ["eeg_cnn_lstm", "eeg_cnn_transformer"])
def test_early_fusion_takes_eeg_and_peripheral_channels_as_one_input(name):
    model = create_model(name, in_channels=40, n_outputs=2, input_length=512, verbose=False)
    assert model(torch.randn(3, 40, 512)).shape == (3, 2)  # 32 EEG + 8 peripheral channels, 4 s at 128 Hz
    with pytest.raises(ValueError, match="this model was built for 40 channel"):
        model(torch.randn(3, 32, 512))


def test_named_sizes_grow_and_bad_configs_name_the_value():
    counts = [EEGCNNLSTM(32, 2, config=EEGSequenceConfig.sized(s, verbose=False)).num_parameters()
              for s in ("tiny", "small", "medium", "large")]
    assert counts == sorted(counts) and counts[0] < 5_000 < counts[1] < 20_000
    with pytest.raises(ValueError, match="size must be one of .* got 'huge'"):
        EEGSequenceConfig.sized("huge")
    with pytest.raises(ValueError, match="config.step must be a positive integer, got 0"):
        EEGCNNLSTM(3, 2, step=0, verbose=False)
    with pytest.raises(ValueError, match="input_length=100 is too short for EEGCNNLSTM: it needs at least 128"):
        EEGCNNLSTM(3, 2, 100, verbose=False)
    with pytest.raises(ValueError, match="d_model=12 must split into n_heads=4 heads of an even size"):
        EEGCNNTransformer(3, 2, d_model=12, n_heads=4, verbose=False)
