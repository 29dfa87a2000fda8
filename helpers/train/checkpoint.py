"""Saving and loading the best weights safely (``weights_only=True``: a checkpoint cannot run code)."""

from __future__ import annotations

import dataclasses
import os
import pickle
from pathlib import Path

import numpy as np
import torch
from torch import nn

from helpers.data.errors import DamagedFileError


def plain_config(config) -> dict:
    """A dataclass config as plain Python values that ``torch.load(weights_only=True)`` accepts.

    Callables (augmentations, custom losses) become their ``repr``: a checkpoint records what was used, but
    never stores code.
    """
    out = {}
    for f in dataclasses.fields(config):
        v = getattr(config, f.name)
        if isinstance(v, (np.ndarray, torch.Tensor)):
            v = np.asarray(v).tolist()
        elif isinstance(v, Path):
            v = str(v)
        elif callable(v):
            v = repr(v)
        elif isinstance(v, tuple):
            v = list(v)
        out[f.name] = v
    return out


def save_checkpoint(path: str | Path, model: nn.Module, config=None, **extra) -> Path:
    """``torch.save`` of ``{"state_dict", "config", "model_class", **extra}``, written atomically.

    Parameters
    ----------
    path : str or Path
    model : nn.Module
        Its tensors are copied to CPU, so the file loads on any machine.
    config : dataclass, optional
        Stored through :func:`plain_config`.
    **extra
        Plain values (epoch, score, monitor ...).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {"state_dict": state, "model_class": type(model).__name__,
               "config": plain_config(config) if config is not None else {}, **extra}
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)  # a crash mid-save never leaves a truncated file under the real name
    return path


def load_checkpoint(path: str | Path, model: nn.Module | None = None, map_location: str = "cpu") -> dict:
    """Load a checkpoint with ``weights_only=True`` and, if ``model`` is given, copy the weights into it.

    Returns
    -------
    dict
        ``state_dict``, ``config``, ``model_class`` and the extra values saved with it.

    Raises
    ------
    DamagedFileError
        The file is truncated or corrupt, holds something ``weights_only`` refuses, or is not a checkpoint of
        :func:`save_checkpoint` (the message names the file).
    """
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise  # these name the path already
    except (RuntimeError, EOFError, pickle.UnpicklingError, ValueError, OSError) as err:
        # torch's own words ("PytorchStreamReader failed reading zip archive: failed finding central directory")
        # never name the file; a truncated or refused checkpoint must.
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0].split(". ")[0][:200]
        raise DamagedFileError(path, f"not a readable checkpoint, truncated or corrupt ({reason}); save it again "
                                     "with save_checkpoint") from None
    if not isinstance(payload, dict) or "state_dict" not in payload:
        raise DamagedFileError(path, "holds no 'state_dict': not a checkpoint written by save_checkpoint")
    if model is not None:
        model.load_state_dict(payload["state_dict"])
    return payload
