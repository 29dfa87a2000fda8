"""helpers.train.augment: shapes, what each augmentation promises, and reproducibility."""

from functools import partial

import numpy as np
import pytest
import torch

from helpers.train.augment import Compose, add_noise, amplitude_scale, baseline_wander, random_crop, time_warp


def ecg_like(b=8, c=2, t=1000, fs=100.0):
    time_s = torch.arange(t) / fs
    x = torch.sin(2 * torch.pi * 1.2 * time_s) + 0.5 * torch.sin(2 * torch.pi * 7.0 * time_s)
    return (x + 0.1 * torch.arange(b * c).reshape(b, c, 1)).float()  # (B, C, T), each row different


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("fn", [time_warp, amplitude_scale, add_noise, partial(baseline_wander, fs=100.0)])
def test_augmentations_keep_shape_dtype_and_input(fn):
    x = ecg_like()
    before = x.clone()
    out = fn(x, generator=gen())
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.equal(x, before)  # never in place
    assert not torch.equal(out, x)


def test_amplitude_scale_multiplies_each_example_by_one_gain_in_range():
    x = ecg_like() + 3.0  # no zeros: we divide by x
    out = amplitude_scale(x, 0.5, 2.0, generator=gen())
    ratio = out / x
    gain = ratio[:, :1, :1]
    torch.testing.assert_close(ratio, gain.expand_as(ratio))
    assert ((gain >= 0.5) & (gain <= 2.0)).all() and gain.unique().numel() == len(x)
    per_lead = amplitude_scale(x, 0.5, 2.0, per_channel=True, generator=gen()) / x
    assert not torch.allclose(per_lead[:, 0, 0], per_lead[:, 1, 0])


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0])
def test_add_noise_hits_the_requested_snr(snr_db):
    x = ecg_like(b=16, c=1, t=4000)
    noise = add_noise(x, snr_db, generator=gen()) - x
    measured = 10 * torch.log10(x.pow(2).mean(-1) / noise.pow(2).mean(-1))  # (B, C) in dB
    assert measured.mean().item() == pytest.approx(snr_db, abs=0.2)
    assert (measured - snr_db).abs().max().item() < 0.5


def test_add_noise_draws_one_snr_per_example_from_a_range():
    x = ecg_like(b=64, c=1, t=4000)
    noise = add_noise(x, (10.0, 30.0), generator=gen()) - x
    measured = 10 * torch.log10(x.pow(2).mean(-1) / noise.pow(2).mean(-1))
    assert measured.min() > 9.5 and measured.max() < 30.5 and measured.std() > 3


def test_time_warp_preserves_length_and_endpoints_and_only_resamples():
    x = ecg_like()
    out = time_warp(x, 0.3, generator=gen())
    assert out.shape == x.shape
    torch.testing.assert_close(out[..., 0], x[..., 0])
    torch.testing.assert_close(out[..., -1], x[..., -1])
    # linear interpolation between neighbours: never outside the signal's range
    assert (out.amax(-1) <= x.amax(-1) + 1e-6).all() and (out.amin(-1) >= x.amin(-1) - 1e-6).all()
    torch.testing.assert_close(time_warp(x, 0.0), x)  # no warp is the identity
    warped = time_warp(torch.arange(100.0).reshape(1, 1, 100), 0.3, generator=gen())
    assert (warped.diff(dim=-1) > 0).all()  # time still runs forward


def test_baseline_wander_is_slow():
    fs = 100.0
    x = ecg_like(b=4, c=1, t=2000, fs=fs)
    drift = (baseline_wander(x, fs, amplitude=0.5, freq_hz=(0.1, 0.3), generator=gen()) - x)[:, 0].numpy()
    spectrum = np.abs(np.fft.rfft(drift, axis=-1)) ** 2
    freqs = np.fft.rfftfreq(2000, 1 / fs)
    assert spectrum[:, freqs <= 0.5].sum() > 0.95 * spectrum.sum()
    with pytest.raises(ValueError, match="fs"):
        baseline_wander(x, 0.0)


def test_random_crop_cuts_windows_of_the_signal():
    x = torch.arange(50.0).reshape(1, 1, 50).repeat(6, 2, 1)
    out = random_crop(x, 20, generator=gen())
    assert out.shape == (6, 2, 20)
    assert (out.diff(dim=-1) == 1).all() and torch.equal(out[:, 0], out[:, 1])
    with pytest.raises(ValueError, match="length"):
        random_crop(x, 51)


def test_compose_is_reproducible_and_applies_with_probability_p():
    x = ecg_like(b=200, c=1, t=200)
    aug = [time_warp, amplitude_scale, partial(add_noise, snr_db=20.0), partial(baseline_wander, fs=100.0)]
    torch.testing.assert_close(Compose(aug, seed=1)(x), Compose(aug, seed=1)(x))
    assert not torch.equal(Compose(aug, seed=1)(x), Compose(aug, seed=2)(x))
    untouched = (Compose([amplitude_scale], p=0.3, seed=0)(x) == x).all(-1).float().mean()
    assert 0.55 < untouched < 0.85
    assert "amplitude_scale" in repr(Compose([amplitude_scale]))
    with pytest.raises(ValueError, match="p=1"):
        Compose([partial(random_crop, length=100)], p=0.5)(x)


def test_wrong_shapes_are_rejected():
    with pytest.raises(ValueError, match=r"\(B, C, T\)"):
        amplitude_scale(torch.randn(10, 100))
    with pytest.raises(ValueError, match=r"\(B, C, T\)"):
        add_noise(np.zeros((2, 1, 10)))
