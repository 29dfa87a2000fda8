"""Training: one loop for CPU, GPU and multi-process runs, plus the losses, schedule and history it uses.

Import everything from here (``from helpers.train import fit, TrainConfig``); the pieces live in
``helpers/training/``: ``loop`` (fit), ``evaluation`` (evaluate, predict_proba), ``losses``, ``schedule``, ``history``,
``checkpoint``, ``data`` and ``distributed``.
"""

from helpers.training.checkpoint import load_checkpoint, save_checkpoint
from helpers.training.evaluation import classification_metrics, evaluate, predict_proba
from helpers.training.history import History
from helpers.training.loop import TrainConfig, fit, resolve_amp, set_seed
from helpers.training.losses import FocalLoss, balanced_class_weights, make_loss
from helpers.training.schedule import make_scheduler, warmup_cosine

__all__ = ["FocalLoss", "History", "TrainConfig", "balanced_class_weights", "classification_metrics", "evaluate",
           "fit", "load_checkpoint", "make_loss", "make_scheduler", "predict_proba", "resolve_amp",
           "save_checkpoint", "set_seed", "warmup_cosine"]
