"""Which samples of a signal drove the prediction: captum attributions for 1D signals, with a sanity check.

- ``saliency``: |d logit / d x|, the local sensitivity (Simonyan et al., 2014).
- ``integrated_gradients``: gradients averaged along the straight path from a baseline (a flat line) to x,
  times ``x - baseline``; the attributions add up to ``f(x) - f(baseline)`` (Sundararajan et al., 2017).
- ``gradient_shap``: integrated gradients in expectation over noisy baselines (Lundberg & Lee, 2017).

An attribution map is only evidence if it depends on what the model learned. ``randomization_sanity_check``
(Adebayo et al., 2018) re-initialises the weights and checks that the map changes: a method whose map
survives randomisation is showing the input (edges, large peaks), not the model.
``sanity_table`` runs the check for several methods on the same inputs and returns one row per method.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn

METHODS = ("saliency", "integrated_gradients", "gradient_shap")


def _as_baseline(baselines, xt: torch.Tensor, single: bool) -> torch.Tensor:
    """Baselines as a tensor on ``xt``'s device; a single ``(C, T)`` input's ``(C, T)`` baseline gets the same batch
    axis the input got (captum needs the two to agree)."""
    b = torch.as_tensor(baselines, dtype=xt.dtype, device=xt.device)
    return b[None] if single and b.ndim == 2 else b


def attribute(model: nn.Module, x, target: int | Sequence[int] | np.ndarray, method: str = "saliency",
              baselines=None, n_steps: int = 32, *, n_samples: int = 16, stdevs: float = 0.1,
              seed: int = 0) -> np.ndarray:
    """Attribution of the ``target`` logit to every input sample.

    Parameters
    ----------
    model : nn.Module
        ``(N, C, T) -> (N, K)`` logits; evaluated in eval mode (restored afterwards).
    x : array or tensor, shape (N, C, T)
        Input signals (a single ``(C, T)`` signal is accepted too).
    target : int or array of int, shape (N,)
        Class whose logit is explained (one per example, or one for all).
    method : {"saliency", "integrated_gradients", "gradient_shap"}
    baselines : float, array or tensor, optional
        Reference input. integrated_gradients: broadcastable to x (default zeros: a flat line at 0 = the mean
        of standardised signals). gradient_shap: a set of references ``(M, C, T)`` (default a single zero
        signal).
    n_steps : int
        Integration steps of integrated_gradients.
    n_samples, stdevs : int, float
        gradient_shap: random baseline draws per example, and the std of the Gaussian noise added to inputs.
    seed : int
        gradient_shap draws random numbers; the global RNG state is left untouched.

    Returns
    -------
    np.ndarray float32, same shape as x
        Saliency is non-negative; the other methods are signed (positive pushes towards ``target``).
    """
    from captum.attr import GradientShap, IntegratedGradients, Saliency

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    device = next(model.parameters()).device
    xt = torch.as_tensor(x, dtype=torch.float32)
    single = xt.ndim == 2
    xt = (xt[None] if single else xt).to(device)
    if xt.ndim != 3:
        raise ValueError(f"x must have shape (N, C, T) or (C, T), got {tuple(np.shape(x))}")
    if not torch.isfinite(xt).all():
        raise ValueError("x contains NaN/inf values")
    tgt = torch.as_tensor(np.broadcast_to(np.asarray(target), (len(xt),)).copy(), dtype=torch.long, device=device)

    was_training = model.training
    model.eval()  # dropout off and BatchNorm on running statistics: explain the deployed model
    try:
        if method == "saliency":
            a = Saliency(model).attribute(xt.requires_grad_(), target=tgt, abs=True)
        elif method == "integrated_gradients":
            b = torch.zeros_like(xt) if baselines is None else _as_baseline(baselines, xt, single)
            a = IntegratedGradients(model).attribute(xt, baselines=b, target=tgt, n_steps=n_steps,
                                                     internal_batch_size=max(len(xt), 512))  # bounds memory
        else:
            b = torch.zeros_like(xt[:1]) if baselines is None else _as_baseline(baselines, xt, single)
            # captum draws the noise from torch and the path positions from NumPy's global RNG: seed both,
            # then give the caller back their RNG states
            np_state = np.random.get_state()
            try:
                with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                    torch.manual_seed(seed)
                    np.random.seed(seed)
                    a = GradientShap(model).attribute(xt, baselines=b, target=tgt, n_samples=n_samples,
                                                      stdevs=stdevs)
            finally:
                np.random.set_state(np_state)
    finally:
        model.train(was_training)
    a = a.detach().float().cpu().numpy()
    return a[0] if single else a


def randomize_weights(model: nn.Module, layers: Sequence[str] | None = None, seed: int = 0) -> nn.Module:
    """Re-initialise parameters in place (modules with ``reset_parameters``; others get N(0, 0.1) weights).

    Parameters
    ----------
    model : nn.Module
    layers : sequence of str, optional
        Names (``model.named_modules()``) of the modules to randomise; None randomises all of them.
    seed : int

    Returns
    -------
    nn.Module
        The same model, for chaining.
    """
    names = set(layers) if layers is not None else None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for name, module in model.named_modules():
            if names is not None and name not in names:
                continue
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
                # BatchNorm's reset only restores the identity (weight 1, bias 0): randomise its affine map too
                if isinstance(module, nn.modules.batchnorm._NormBase) and module.affine:
                    nn.init.normal_(module.weight, 1.0, 0.5)
                    nn.init.normal_(module.bias, 0.0, 0.5)
            else:  # e.g. a bare nn.Parameter on a custom module
                for p in module.parameters(recurse=False):
                    nn.init.normal_(p, 0.0, 0.1)
    return model


def _layer_names_top_down(model: nn.Module) -> list[str]:
    # leaf modules holding parameters, from the output back to the input (registration order reversed)
    return [n for n, m in model.named_modules() if n and any(True for _ in m.parameters(recurse=False))][::-1]


def _rank_correlation(a: np.ndarray, b: np.ndarray, channels: Sequence[int] | None = None) -> float:
    # Spearman on |attribution| per example (importance, whatever the sign), averaged over the examples
    if channels is not None:
        a, b = a[:, list(channels)], b[:, list(channels)]
    rhos = []
    for ai, bi in zip(np.abs(a).reshape(len(a), -1), np.abs(b).reshape(len(b), -1)):
        rho = spearmanr(ai, bi).statistic
        rhos.append(0.0 if np.isnan(rho) else rho)  # a constant map carries no ranking at all
    return float(np.mean(rhos))


def randomization_sanity_check(model: nn.Module, x, target, method: str = "saliency", *,
                               cascading: bool = False, threshold: float = 0.5, seed: int = 0,
                               channels: Sequence[int] | None = None, **attribute_kwargs) -> dict:
    """Model-parameter randomisation test (Adebayo et al., 2018).

    Attributions of a copy of ``model`` with re-initialised weights are compared with the original ones by
    Spearman rank correlation of ``|attribution|`` (mean over examples). A method that explains the model
    gives maps that change: ``|rho| < threshold`` passes.

    Parameters
    ----------
    model : nn.Module
        Not modified (a deep copy is randomised).
    x : array or tensor, shape (N, C, T)
    target : int or array of int, shape (N,)
    method : str
        See :func:`attribute`.
    cascading : bool
        False: randomise all layers at once. True: randomise layer by layer from the output towards the
        input, measuring after each step (the last step has every layer randomised).
    threshold : float
        Largest |rho| that still counts as "the map changed".
    seed : int
    channels : sequence of int, optional
        Compare the maps on these input channels only (default: all). Channels whose attributions are exact
        zeros in both maps (BeatCNN's constant RR channels under a zero-on-waveform baseline) tie everywhere and
        inflate rho towards 1: judge the signal channels.
    **attribute_kwargs
        Passed to :func:`attribute`.

    Returns
    -------
    dict
        ``spearman`` (rho with all layers randomised), ``passed`` (bool), ``threshold``, ``method``, ``channels``
        and, when
        cascading, ``layers``: list of ``(layer name, rho after randomising down to it)``.

    Notes
    -----
    Expect saliency to pass with rho near 0. Integrated gradients and GradientShap with a zero baseline
    multiply the gradients by the input, so on ECG their maps of a random network still follow the QRS
    complexes (rho around 0.5-0.6 for a small CNN): the same weakness Adebayo et al. report for
    gradient x input, and worth showing students rather than hiding.
    """
    original = attribute(model, x, target, method, seed=seed, **attribute_kwargs)
    if channels is not None:
        channels = [int(c) for c in channels]
        bad = [c for c in channels if not 0 <= c < original.shape[1]]
        if bad or not channels:
            raise ValueError(f"channels={channels}: the input has channels 0..{original.shape[1] - 1}")
    copy_ = copy.deepcopy(model)
    layers = []
    if cascading:
        for name in _layer_names_top_down(copy_):
            randomize_weights(copy_, [name], seed=seed)
            rho = _rank_correlation(original, attribute(copy_, x, target, method, seed=seed, **attribute_kwargs),
                                    channels)
            layers.append((name, rho))
        rho = layers[-1][1] if layers else 1.0
    else:
        randomize_weights(copy_, seed=seed)
        rho = _rank_correlation(original, attribute(copy_, x, target, method, seed=seed, **attribute_kwargs),
                                channels)
    out = {"spearman": rho, "passed": bool(abs(rho) < threshold), "threshold": threshold, "method": method,
           "channels": channels}
    if cascading:
        out["layers"] = layers
    return out


def sanity_table(model: nn.Module, x, target, methods: Sequence[str] = METHODS, **kwargs):
    """The randomisation check of several methods on the same inputs, as one table.

    Parameters
    ----------
    model : nn.Module
        Not modified.
    x : array or tensor, shape (N, C, T)
    target : int or array of int, shape (N,)
    methods : sequence of str
        See :func:`attribute`; default all three.
    **kwargs
        Passed to :func:`randomization_sanity_check` (``threshold``, ``seed``, ``channels``, attribution options).

    Returns
    -------
    pandas.DataFrame
        One row per method: ``spearman`` (rank correlation of |attribution| between the trained and the
        randomised model, mean over the N examples) and ``passed`` (``|spearman| < threshold``).
    """
    import pandas as pd

    rows = {m: randomization_sanity_check(model, x, target, m, **kwargs) for m in methods}
    return pd.DataFrame({m: {"spearman": r["spearman"], "passed": r["passed"]} for m, r in rows.items()}).T.astype(
        {"spearman": float, "passed": bool})


def plot_overlay(model: nn.Module, x_single, fs: float, target: int, method: str = "integrated_gradients", *,
                 channel: int = 0, ax=None, title: str | None = None, **attribute_kwargs):
    """Draw one signal coloured by its attribution (via ``helpers.evaluate.plots.plot_attribution``).

    Parameters
    ----------
    model : nn.Module
    x_single : array or tensor, shape (C, T)
    fs : float
        Sampling rate in Hz (time axis in seconds).
    target : int
    method : str
        See :func:`attribute`.
    channel : int
        Lead to draw.
    ax : matplotlib Axes, optional
    title : str, optional
        Defaults to the method and target class.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from helpers.evaluate.plots import plot_attribution

    x_single = np.asarray(x_single, dtype=np.float32)
    if x_single.ndim != 2:
        raise ValueError(f"x_single must have shape (C, T), got {x_single.shape}")
    attr = attribute(model, x_single, target, method, **attribute_kwargs)
    title = title or f"{method.replace('_', ' ')} for class {target}"
    return plot_attribution(x_single[channel], attr[channel], fs, ax=ax, title=title)
