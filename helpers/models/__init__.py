"""Model families for 1D physiological signals, one file per family.

Every model follows one contract (``base.py``): the same constructor, so notebooks swap models in one line::

    model = create_model("cnn1d", in_channels=1, n_outputs=2, input_length=1250)

``model(x, padding_mask=None)`` maps ``(B, C, T)`` float32 to logits ``(B, n_outputs)`` (``padding_mask``
``(B, T)`` bool, True at padding), and every model has ``num_parameters()`` and ``set_grad_checkpointing()``.
"""

from __future__ import annotations

import importlib

from .base import SignalModel, merge_config, num_parameters, padding_mask_from_lengths

# name -> "module:Class". Imported on demand, so a family whose module is missing or broken only fails when
# someone asks for it, never at `import helpers.models`.
MODELS: dict[str, str] = {
    "cnn1d": "helpers.models.cnn1d:CNN1D",
    "signal_transformer": "helpers.models.signal_transformer:SignalTransformer",
    "cnn_lstm": "helpers.models.cnn_lstm:CNNLSTM",
    "beat_cnn": "helpers.models.beat_cnn:BeatCNN",
    "eeg_cnn_lstm": "helpers.models.eeg_sequence:EEGCNNLSTM",
    "eeg_cnn_transformer": "helpers.models.eeg_sequence:EEGCNNTransformer",
    "tiny_transformer": "helpers.models.tiny_transformer:TinyPPGTransformer",
}


# Names importable from helpers.models without importing every family at `import helpers.models` (PEP 562):
# `from helpers.models import CNN1D` imports cnn1d.py alone.
_LAZY: dict[str, str] = {
    "BeatCNN": "beat_cnn", "BeatCNNConfig": "beat_cnn", "beat_inputs": "beat_cnn",
    "CNN1D": "cnn1d", "CNN1DConfig": "cnn1d",
    "CNNLSTM": "cnn_lstm", "CNNLSTMConfig": "cnn_lstm",
    "EEGCNNLSTM": "eeg_sequence", "EEGCNNTransformer": "eeg_sequence", "EEGSequenceConfig": "eeg_sequence",
    "SignalTransformer": "signal_transformer", "SignalTransformerConfig": "signal_transformer",
    "TinyPPGTransformer": "tiny_transformer", "TinyPPGTransformerConfig": "tiny_transformer",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_model_class(name: str) -> type[SignalModel]:
    """Return the model class registered under ``name`` (imports its module on demand)."""
    try:
        target = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; available: {sorted(MODELS)}") from None
    module_name, class_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ImportError(f"model {name!r} is registered but {module_name} cannot be imported: {err}") from err
    return getattr(module, class_name)


def create_model(name: str, **kwargs) -> SignalModel:
    """Build a registered model by name.

    Parameters
    ----------
    name : str
        One of ``MODELS``: ``"cnn1d"``, ``"signal_transformer"``, ``"cnn_lstm"``, ``"beat_cnn"``,
        ``"eeg_cnn_lstm"``, ``"eeg_cnn_transformer"``,
        ``"tiny_transformer"``.
    **kwargs
        Passed to the constructor: ``in_channels``, ``n_outputs``, ``input_length`` and model options.

    Returns
    -------
    SignalModel
    """
    return get_model_class(name)(**kwargs)


__all__ = sorted([*_LAZY, "MODELS", "SignalModel", "create_model", "get_model_class",
                  "merge_config", "num_parameters", "padding_mask_from_lengths"])
