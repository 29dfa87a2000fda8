"""The contract every model family follows, stated once.

A model of this course is a :class:`SignalModel`:

- **constructor** ``Model(in_channels, n_outputs, input_length=None, *, config=None, **overrides)``: leads (or
  signal channels), number of classes, samples per window (optional; recorded, checked where it matters); the
  model's own options in a config dataclass, any field of which can be overridden by keyword;
- **forward** ``model(x, padding_mask=None)``: ``x`` float ``(B, in_channels, T)``, in the dtype of the model's
  parameters (float32 unless you converted the model) -> logits ``(B, n_outputs)``;
- **padding mask**: ``padding_mask`` is a boolean ``(B, T)`` tensor, **True at padding**, False at signal, with
  the padding at the end of each row (right padding). It is PyTorch's own convention (``key_padding_mask`` of
  ``nn.MultiheadAttention``, ``src_key_padding_mask`` of ``nn.TransformerEncoder``). In eval mode a padded row
  gives the logits of the unpadded signal alone. Have lengths instead? ``padding_mask_from_lengths(lengths, T)``.
  Inside the models, blocks pass the complement around as ``keep`` (True or 1.0 at signal): an internal detail,
  never an argument of a model's ``forward``;
- ``num_parameters()``, ``set_grad_checkpointing(enabled=True)`` (returns the model, so it chains), and a
  one-line size report when construction finishes (``verbose=False`` in the config silences it), as nanoGPT does:
  printed here, by the base, once, whichever family is built;
- **options**: a family keeps its options in a config dataclass; :func:`merge_config` applies keyword overrides
  to it and refuses unknown keys, naming the known ones (one rule for every family);
- ``fs`` (optional, keyword): the sampling rate in Hz the model was built for, recorded with the model;
- ``estimate_macs(input_length=None)``: multiply-accumulates of one forward pass of one window. The base counts
  what forward hooks see (``Conv1d``, ``Linear``, ``LSTM``); a family with other work (attention products)
  overrides it with an exact count.

:meth:`SignalModel.check_input` is the first line of every ``forward``: a float64 array, a numpy array, a (B, T)
batch or the wrong number of leads fails there with what was expected, what was received and the fix, instead of
deep inside a convolution.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
from torch import nn

ConfigT = TypeVar("ConfigT")


@dataclass
class ModelConfig:
    """What every family's config (a dataclass that inherits this) shares: the size-report switch and a CPU preset.

    A family lists its own hyper-parameters as fields and, where it has one, its CPU-sized preset as the class
    attribute ``SMALL`` (field name -> value), which :meth:`small` applies.
    """

    # keyword-only, so that it comes after every family's own fields and never takes a positional argument
    verbose: bool = field(default=True, kw_only=True)  # print the parameter count at construction
    SMALL: ClassVar[dict[str, Any]] = {}

    @classmethod
    def small(cls, **overrides: Any):
        """The family's CPU-sized preset (``SMALL``) with ``overrides`` on top; for lessons, tests and laptops."""
        if not cls.SMALL:
            raise NotImplementedError(f"{cls.__name__} has no small preset (SMALL is empty)")
        return cls(**{**cls.SMALL, **overrides})


@dataclass
class ConvStackConfig(ModelConfig):
    """The settings of a :class:`~helpers.models.layers.ConvPoolStack` and the dropout before the head, shared by
    the plain CNNs (:class:`~helpers.models.cnn1d.CNN1DConfig`, :class:`~helpers.models.beat_cnn.BeatCNNConfig`).
    Defaults sized for CPU training on 10 s windows at ~125 Hz; a family overrides what its input needs."""

    channels: tuple[int, ...] = (16, 32, 32, 64, 64)  # feature maps per block; one max-pool per block
    kernel_size: int = 7  # odd; 7 samples = 56 ms at 125 Hz, about the width of a QRS complex
    pool_size: int = 2  # time downsampling per block
    dropout: float = 0.3  # before the head
    act: str = "relu"


def num_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (scalars) of any ``nn.Module``; ``trainable_only`` counts those with ``requires_grad``.

    The course's one name for a parameter count: a model of this course has it as a method too,
    ``model.num_parameters()``; this function counts any module (your own ``nn.Sequential``, a frozen backbone).
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def merge_config(config_cls: type[ConfigT], config: ConfigT | None, overrides: dict[str, Any],
                 owner: str) -> ConfigT:
    """A family's config with keyword overrides applied; unknown keys are refused.

    Parameters
    ----------
    config_cls : dataclass type
        The family's config class, e.g. ``CNN1DConfig``.
    config : config_cls or None
        A config to start from; None starts from the defaults.
    overrides : dict
        Field name -> value. Lists become tuples, so that configs stay hashable and ``channels=[8, 16]`` equals
        ``channels=(8, 16)``.
    owner : str
        The model's name, for the error message.

    Raises
    ------
    TypeError
        An override names no field of ``config_cls``, or ``config`` is not a ``config_cls``.
    """
    base = config_cls() if config is None else config
    if not isinstance(base, config_cls):
        raise TypeError(f"{owner}: config must be a {config_cls.__name__}, got {type(base).__name__}")
    known = {f.name for f in fields(config_cls)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TypeError(f"unknown {owner} option(s) {unknown}; {config_cls.__name__} has {sorted(known)}")
    return replace(base, **{k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()})


def padding_mask_from_lengths(lengths, T: int) -> torch.Tensor:
    """The padding mask of right-padded signals: ``(B, T)`` bool, True at samples ``lengths[i]`` and beyond.

    Parameters
    ----------
    lengths : sequence of int or tensor, shape (B,)
        Valid samples of each row.
    T : int
        Padded length (samples).
    """
    lengths = torch.as_tensor(lengths)
    if lengths.ndim != 1:
        raise ValueError(f"lengths must have shape (batch,), got {tuple(lengths.shape)}")
    return torch.arange(T, device=lengths.device)[None, :] >= lengths[:, None]


class SignalModel(nn.Module):
    """Base class of the model families: stores the shared constructor arguments and checks inputs.

    Parameters
    ----------
    in_channels : int
        Leads / signal channels C of the input ``(B, C, T)``.
    n_outputs : int
        Number of classes (binary tasks use 2 and cross-entropy).
    input_length : int, optional
        Samples per window T, when fixed. Recorded for the model's own use (e.g. an operation count) and checked
        against ``min_length``; inputs of other lengths are accepted wherever the architecture allows.
    fs : float, optional
        Sampling rate in Hz of the signals the model is built for; recorded (``model.fs``), so that a window
        length in seconds can be turned into samples and a model is not fed a signal at another rate unnoticed.

    Attributes
    ----------
    min_length : int
        Fewest samples an input may have (a subclass sets it, e.g. to its total downsampling factor).
    grad_checkpointing : bool
        Set by :meth:`set_grad_checkpointing`; each subclass decides which blocks it recomputes.
    """

    min_length: int = 1

    def __init_subclass__(cls, **kwargs):
        # The size report is printed once, here, when the outermost constructor returns: a family's __init__
        # (and a student's subclass of it) only builds layers. Wrapping each subclass's own __init__ keeps the
        # report after the last layer is made, whatever the depth of the class hierarchy.
        super().__init_subclass__(**kwargs)
        if "__init__" not in vars(cls):
            return
        init = cls.__init__

        @functools.wraps(init)
        def __init__(self, *args, **kw):
            outermost = not self.__dict__.get("_constructing", False)
            object.__setattr__(self, "_constructing", True)
            try:
                init(self, *args, **kw)
            finally:
                if outermost:
                    object.__setattr__(self, "_constructing", False)
            if outermost and getattr(getattr(self, "config", None), "verbose", False):
                self.report_size()

        cls.__init__ = __init__

    def __init__(self, in_channels: int, n_outputs: int, input_length: int | None = None, *,
                 fs: float | None = None):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("n_outputs", n_outputs)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if input_length is not None and (not isinstance(input_length, (int, np.integer)) or input_length < 1):
            raise ValueError(f"input_length must be a positive integer (samples per window) or None, "
                             f"got {input_length!r}")
        self.in_channels, self.n_outputs = int(in_channels), int(n_outputs)
        self.input_length = None if input_length is None else int(input_length)
        if fs is not None and (isinstance(fs, bool) or not isinstance(fs, (int, float, np.integer, np.floating))
                               or not math.isfinite(fs) or fs <= 0):
            raise ValueError(f"fs must be a positive, finite sampling rate in Hz or None, got {fs!r}")
        self.fs = None if fs is None else float(fs)
        self.grad_checkpointing = False

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Number of parameters (scalars); ``trainable_only`` counts those with ``requires_grad``."""
        return num_parameters(self, trainable_only)

    def set_grad_checkpointing(self, enabled: bool = True) -> SignalModel:
        """Trade compute for memory: recompute activations during backward instead of storing them.

        Returns the model, so that ``model = Model(...).set_grad_checkpointing()`` chains.
        """
        self.grad_checkpointing = bool(enabled)
        return self

    def report_size(self) -> None:
        """Print the parameter count, e.g. ``CNN1D: 0.05 M parameters (54,418)``."""
        n = self.num_parameters()
        print(f"{type(self).__name__}: {n / 1e6:.2f} M parameters ({n:,})")

    def estimate_macs(self, input_length: int | None = None) -> int:
        """Multiply-accumulate operations of one forward pass of one window, counted by forward hooks.

        Counts ``Conv1d`` (output samples x output channels x input channels per group x kernel), ``Linear``
        (output elements x input features) and ``LSTM`` (4 gates x (input + hidden) x hidden per step, layer and
        direction). Element-wise work is left out; so are matrix products written in a ``forward`` (attention),
        which families with attention add in their own ``estimate_macs``.

        Parameters
        ----------
        input_length : int, optional
            Samples per window; defaults to the ``input_length`` given at construction.

        Returns
        -------
        int
            MACs per example (FLOPs are about twice this).
        """
        t = input_length or self.input_length
        if t is None:
            raise ValueError(f"{type(self).__name__}.estimate_macs: pass input_length (samples per window) or "
                             "build the model with one")
        total = 0

        def count(module, inputs, output):
            nonlocal total
            out = output[0] if isinstance(output, tuple) else output
            if isinstance(module, nn.Conv1d):
                per_out = module.in_channels // module.groups * module.kernel_size[0]
                total += out.numel() * per_out
            elif isinstance(module, nn.Linear):
                total += out.numel() * module.in_features
            elif isinstance(module, nn.LSTM):
                steps = inputs[0].shape[1] if module.batch_first else inputs[0].shape[0]
                dirs = 2 if module.bidirectional else 1
                h, size_in = module.hidden_size, module.input_size
                for layer in range(module.num_layers):
                    total += steps * dirs * 4 * h * (size_in + h)
                    size_in = h * dirs

        hooks = [m.register_forward_hook(count) for m in self.modules()
                 if isinstance(m, (nn.Conv1d, nn.Linear, nn.LSTM))]
        was_training = self.training
        try:
            self.eval()
            with torch.no_grad():
                self(torch.zeros(1, self.in_channels, t, dtype=self._parameter_dtype(),
                                 device=next(self.parameters()).device))
        finally:
            for hook in hooks:
                hook.remove()
            self.train(was_training)
        return int(total)

    def check_length(self) -> None:
        """Refuse at construction an ``input_length`` shorter than ``min_length`` (call once it is set)."""
        if self.input_length is not None and self.input_length < self.min_length:
            raise ValueError(f"input_length={self.input_length} is too short for {type(self).__name__}: "
                             f"it needs at least {self.min_length} samples")

    def check_input(self, x, padding_mask=None) -> None:
        """Check ``x`` (and ``padding_mask``) against the contract; raise saying what to change if they differ.

        Only dtypes, ranks and sizes are read, never values (except for the "no row is all padding" check, which
        is skipped under ``torch.compile``), so the check costs microseconds and traces cleanly.

        Raises
        ------
        TypeError
            ``x`` is not a tensor, or not of the parameters' dtype; ``padding_mask`` is not boolean.
        ValueError
            ``x`` is not ``(batch, in_channels, samples)`` or is shorter than ``min_length``; ``padding_mask`` is
            not ``(batch, samples)`` or a row is all padding.
        """
        name, C = type(self).__name__, self.in_channels
        expected = f"input of shape (batch, {C}, samples)"
        if not isinstance(x, torch.Tensor):
            shape = getattr(x, "shape", None)
            got = f"{type(x).__module__}.{type(x).__name__}" + ("" if shape is None else f" of shape {tuple(shape)}")
            raise TypeError(f"{name} expected a torch.Tensor {expected}; got {got}: convert it with "
                            "torch.as_tensor(x, dtype=torch.float32)")
        dtype = self._parameter_dtype()
        if x.dtype != dtype:
            fix = "x.float()" if dtype == torch.float32 else f"x.to({dtype})"
            raise TypeError(f"{name} expected {str(dtype).removeprefix('torch.')} {expected}; got "
                            f"{str(x.dtype).removeprefix('torch.')} of shape {tuple(x.shape)}: call {fix}")
        if x.ndim != 3 or x.shape[1] != C:
            raise ValueError(f"{name} expected {expected}; got shape {tuple(x.shape)}{self._shape_hint(x)}")
        if x.shape[-1] < self.min_length:
            raise ValueError(f"{name} needs at least {self.min_length} samples per input; got shape "
                             f"{tuple(x.shape)} ({x.shape[-1]} samples)")
        if padding_mask is not None:
            self._check_padding_mask(x, padding_mask)

    @staticmethod
    def keep_mask(x: torch.Tensor, padding_mask: torch.Tensor | None) -> torch.Tensor | None:
        """The blocks' internal form of ``padding_mask``: ``keep`` (B, 1, T) bool on x's device, True at signal."""
        return None if padding_mask is None else ~padding_mask.to(x.device)[:, None, :]

    def _parameter_dtype(self) -> torch.dtype:
        for p in self.parameters():
            return p.dtype
        return torch.float32

    def _shape_hint(self, x: torch.Tensor) -> str:
        C = self.in_channels
        if x.ndim == 2 and C == 1:
            return ": add the channel axis with x[:, None, :] (x.unsqueeze(1))"
        if x.ndim == 2 and x.shape[0] == C:
            return ": one example? add the batch axis with x[None]"
        if x.ndim == 3 and x.shape[2] == C:
            return ": channels last? use x.transpose(1, 2) to get (batch, channels, samples)"
        if x.ndim == 3:
            return (f": this model was built for {C} channel(s), the input has {x.shape[1]}; pass the lead(s) it "
                    f"was built for, or build it with in_channels={x.shape[1]}")
        return ""

    def _check_padding_mask(self, x: torch.Tensor, padding_mask) -> None:
        name = type(self).__name__
        B, _, T = x.shape
        if not isinstance(padding_mask, torch.Tensor) or padding_mask.dtype != torch.bool:
            got = padding_mask.dtype if isinstance(padding_mask, torch.Tensor) else type(padding_mask).__name__
            raise TypeError(f"{name}: padding_mask must be a bool tensor (batch, samples), True at padding; got "
                            f"{got}: from lengths use padding_mask_from_lengths(lengths, T)")
        if tuple(padding_mask.shape) != (B, T):
            raise ValueError(f"{name}: padding_mask must have shape (batch, samples) = ({B}, {T}) like x, got "
                             f"{tuple(padding_mask.shape)}")
        # Reading values syncs a GPU (a stall every masked step) and breaks a compiled graph: check on the CPU only,
        # where beginners meet it and it costs nothing.
        if padding_mask.device.type == "cpu" and not torch.compiler.is_compiling():
            n_valid = (~padding_mask).sum(dim=1)
            short = (n_valid < self.min_length).nonzero()
            if len(short):
                i = int(short[0])
                raise ValueError(f"{name}: row {i} of padding_mask leaves {int(n_valid[i])} unpadded sample(s); "
                                 f"every row needs at least {self.min_length}")
