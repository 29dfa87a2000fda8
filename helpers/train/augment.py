"""Biosignal augmentations for training batches: each maps a float tensor ``(B, C, T)`` to a new one.

They model what really varies between recordings of the same rhythm: heart rate drifts (time warping),
electrode contact and gain (amplitude scaling), sensor and muscle noise (additive noise at a given SNR) and
breathing / movement (baseline wander). Every function draws its randomness from an optional
``torch.Generator``, so an augmented run is reproducible; the input is never modified in place.

Use them one at a time or chained with :class:`Compose`, and hand the result to ``TrainConfig(augment=...)``,
which applies it to training batches only::

    augment = Compose([time_warp, amplitude_scale, partial(add_noise, snr_db=(15, 30)),
                       partial(baseline_wander, fs=125.0)], p=0.5, seed=0)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F


def _check(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 3 or not x.is_floating_point():
        shape = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
        raise ValueError(f"augmentations take a float tensor of shape (B, C, T), got {shape}")


def _draw_device(generator: torch.Generator | None, device) -> torch.device:
    # a generator fills tensors on its own device only: draw there, then move (no-op when they match)
    return generator.device if generator is not None else torch.device(device)


def _uniform(shape, low: float, high: float, generator: torch.Generator | None, device) -> torch.Tensor:
    u = torch.rand(shape, generator=generator, device=_draw_device(generator, device))
    return (low + (high - low) * u).to(device)


def _range(value: float | Sequence[float]) -> tuple[float, float]:
    return (float(value), float(value)) if isinstance(value, (int, float)) else (float(value[0]), float(value[1]))


def amplitude_scale(x: torch.Tensor, low: float = 0.8, high: float = 1.2, *, per_channel: bool = False,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Multiply each example (or each channel) by a factor drawn uniformly from ``[low, high]``.

    Parameters
    ----------
    x : torch.Tensor, shape (B, C, T)
    low, high : float
        Range of the gain (dimensionless).
    per_channel : bool
        Independent gains per lead (electrode contact differs per lead) instead of one per example.
    generator : torch.Generator, optional

    Returns
    -------
    torch.Tensor, shape (B, C, T)
    """
    _check(x)
    gain = _uniform((x.shape[0], x.shape[1] if per_channel else 1, 1), low, high, generator, x.device)
    return x * gain.to(x.dtype)


def add_noise(x: torch.Tensor, snr_db: float | Sequence[float] = (15.0, 30.0), *,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """Add white Gaussian noise at a signal-to-noise ratio given in decibels.

    The noise power of each example and channel is ``mean(x**2) / 10**(snr_db / 10)``: 20 dB means noise with
    1% of the signal's power (10% of its RMS amplitude).

    Parameters
    ----------
    x : torch.Tensor, shape (B, C, T)
    snr_db : float or (low, high)
        SNR in dB, or a range from which one value per example is drawn uniformly.
    generator : torch.Generator, optional

    Returns
    -------
    torch.Tensor, shape (B, C, T)
    """
    _check(x)
    lo, hi = _range(snr_db)
    snr = _uniform((x.shape[0], 1, 1), lo, hi, generator, x.device)
    noise_power = x.pow(2).mean(dim=-1, keepdim=True) / 10 ** (snr / 10)  # (B, C, 1)
    noise = torch.randn(x.shape, generator=generator, device=_draw_device(generator, x.device)).to(x.device, x.dtype)
    return x + noise * noise_power.sqrt().to(x.dtype)


def baseline_wander(x: torch.Tensor, fs: float, *, amplitude: float = 0.3,
                    freq_hz: Sequence[float] = (0.05, 0.5), n_components: int = 2,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Add slow sinusoidal drift, like breathing or electrode movement (below the 0.5 Hz ECG high-pass).

    Parameters
    ----------
    x : torch.Tensor, shape (B, C, T)
    fs : float
        Sampling rate in Hz (sets the drift frequencies in real units).
    amplitude : float
        Peak amplitude of each sinusoid is drawn from ``[0, amplitude]`` times the example's standard deviation,
        so the effect is the same whatever the signal's units.
    freq_hz : (low, high)
        Range of drift frequencies in Hz.
    n_components : int
        Number of summed sinusoids (random frequency, phase and amplitude each).
    generator : torch.Generator, optional

    Returns
    -------
    torch.Tensor, shape (B, C, T)
    """
    _check(x)
    if fs <= 0:
        raise ValueError(f"fs must be a positive sampling rate in Hz, got {fs}")
    b, _, t = x.shape
    shape = (b, 1, n_components, 1)  # the same drift on every lead: it comes from the body moving
    freq = _uniform(shape, *freq_hz, generator, x.device)
    phase = _uniform(shape, 0.0, 2 * math.pi, generator, x.device)
    amp = _uniform(shape, 0.0, amplitude, generator, x.device)
    time_s = torch.arange(t, device=x.device) / fs  # (T,)
    drift = (amp * torch.sin(2 * math.pi * freq * time_s + phase)).sum(dim=2)  # (B, 1, T)
    return x + (drift * x.std(dim=-1, keepdim=True)).to(x.dtype)


def time_warp(x: torch.Tensor, max_warp: float = 0.2, *, n_knots: int = 4,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """Stretch and compress time smoothly (local heart-rate changes), keeping length and both endpoints.

    A random playback speed in ``[1 - max_warp, 1 + max_warp]`` is drawn at ``n_knots`` points, interpolated
    over the window and integrated into a monotonic map from output to input time that starts at sample 0
    and ends at sample T-1; the signal is resampled along it by linear interpolation.

    Parameters
    ----------
    x : torch.Tensor, shape (B, C, T)
    max_warp : float
        Largest relative speed change, in [0, 1).
    n_knots : int
        Number of random speeds (more knots: faster-varying warps).
    generator : torch.Generator, optional

    Returns
    -------
    torch.Tensor, shape (B, C, T)
        ``out[..., 0] == x[..., 0]`` and ``out[..., -1] == x[..., -1]``.
    """
    _check(x)
    if not 0 <= max_warp < 1:
        raise ValueError(f"max_warp must be in [0, 1), got {max_warp}")
    b, c, t = x.shape
    speed = _uniform((b, 1, n_knots), 1 - max_warp, 1 + max_warp, generator, x.device)
    speed = F.interpolate(speed, size=t - 1, mode="linear", align_corners=True)[:, 0]  # (B, T-1), all > 0
    src = F.pad(speed.cumsum(dim=1), (1, 0))  # (B, T): 0 at the start, increasing
    src = src / src[:, -1:] * (t - 1)  # now ends exactly at T-1
    left = src.floor().long().clamp(0, t - 2)  # (B, T)
    frac = (src - left).to(x.dtype)[:, None, :]  # (B, 1, T)
    idx = left[:, None, :].expand(b, c, t)
    return torch.gather(x, 2, idx) * (1 - frac) + torch.gather(x, 2, idx + 1) * frac


def random_crop(x: torch.Tensor, length: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Cut a random window of ``length`` samples from each example (shape changes to ``(B, C, length)``).

    Parameters
    ----------
    x : torch.Tensor, shape (B, C, T)
    length : int
        Samples to keep, at most T.
    generator : torch.Generator, optional

    Returns
    -------
    torch.Tensor, shape (B, C, length)
    """
    _check(x)
    b, c, t = x.shape
    if not 0 < length <= t:
        raise ValueError(f"length must be in [1, {t}] for inputs of {t} samples, got {length}")
    start = torch.randint(0, t - length + 1, (b,), generator=generator,
                          device=_draw_device(generator, x.device)).to(x.device)
    idx = (start[:, None] + torch.arange(length, device=x.device))[:, None, :].expand(b, c, length)
    return torch.gather(x, 2, idx)


class Compose:
    """Apply augmentations in order, each to a random subset of the batch, from one seeded generator.

    Parameters
    ----------
    transforms : sequence of callables
        Each ``t(x, generator=g) -> x``: the functions of this module, possibly wrapped in
        ``functools.partial`` to set their options.
    p : float
        Probability that an example receives each transform (drawn per example and transform).
    seed : int, optional
        Seeds the generator shared by the transforms (None: non-deterministic).
    device : str or torch.device
        Where the random numbers are drawn: ``"cuda"`` when training on a GPU avoids creating the noise on
        the CPU and copying it over every batch.

    Shapes: ``(B, C, T) -> (B, C, T)`` (with ``p < 1`` every transform must keep the shape).
    """

    def __init__(self, transforms: Sequence[Callable], p: float = 1.0, seed: int | None = 0,
                 device: str | torch.device = "cpu"):
        if not 0 <= p <= 1:
            raise ValueError(f"p must be a probability in [0, 1], got {p}")
        self.transforms, self.p = list(transforms), p
        self.generator = torch.Generator(device=device)
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(seed)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        _check(x)
        for t in self.transforms:
            out = t(x, generator=self.generator)
            if self.p < 1:
                if out.shape != x.shape:
                    raise ValueError(f"{t} changes the shape {tuple(x.shape)} -> {tuple(out.shape)}; "
                                     "use p=1 for shape-changing transforms such as random_crop")
                keep = _uniform((x.shape[0], 1, 1), 0.0, 1.0, self.generator, x.device) < self.p
                out = torch.where(keep, out, x)
            x = out
        return x

    def __repr__(self) -> str:
        names = ", ".join(getattr(t, "__name__", None) or getattr(getattr(t, "func", None), "__name__", repr(t))
                          for t in self.transforms)
        return f"Compose([{names}], p={self.p})"
