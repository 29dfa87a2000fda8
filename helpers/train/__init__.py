"""Training: one loop for CPU, GPU and multi-process runs, plus the losses, schedule and history it uses.

Import everything from here (``from helpers.train import fit, TrainConfig``). One concern per module:

- ``loop``: :func:`fit` and :class:`TrainConfig`, the training loop read top to bottom;
- ``evaluation``: :func:`evaluate`, :func:`predict_proba`, and record-level prediction
  (:func:`aggregate_by_record`, :func:`predict_records`);
- ``losses``, ``schedule``, ``history``, ``checkpoint``;
- ``batches``: ``(X, y)`` arrays checked and turned into data loaders;
- ``records``: :class:`Records`, variable-length records in length-bucketed batches with padding masks
  (random crops for training, whole records for scoring), optionally preloaded on the GPU;
- ``distributed``: the DDP plumbing that lets the same ``fit`` call run under ``torchrun``.

and what plugs into it, imported by name (``from helpers.train import ssl``): ``augment`` (signal augmentations),
``ssl`` (masked-segment self-supervised pre-training), ``distill`` (knowledge distillation), ``tracking``
(MLflow logging through ``fit``'s callbacks).
"""

from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig, resolve_amp, set_seed
from .evaluation import (
           aggregate_by_record,
           classification_metrics,
           evaluate,
           predict_proba,
           predict_records,
)
from .history import History
from .loop import fit
from .losses import FocalLoss, balanced_class_weights, make_loss
from .records import RecordBatches, Records
from .schedule import make_scheduler, warmup_cosine

__all__ = [
           "FocalLoss",
           "History",
           "RecordBatches",
           "Records",
           "TrainConfig",
           "aggregate_by_record",
           "balanced_class_weights",
           "classification_metrics",
           "evaluate",
           "fit",
           "load_checkpoint",
           "make_loss",
           "make_scheduler",
           "predict_proba",
           "predict_records",
           "resolve_amp",
           "save_checkpoint",
           "set_seed",
           "warmup_cosine",
]
