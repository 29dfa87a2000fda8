"""Classification losses for imbalanced clinical data: class weights, focal loss, label smoothing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def balanced_class_weights(labels: np.ndarray | Sequence[int], n_outputs: int) -> np.ndarray:
    """``n_samples / (n_outputs * count_c)`` per class, as scikit-learn's ``class_weight="balanced"``.

    A class seen half as often weighs twice as much, so each class contributes equally to the loss.

    Parameters
    ----------
    labels : array of int, shape (n,)
    n_outputs : int

    Returns
    -------
    np.ndarray float32, shape (n_outputs,)
    """
    labels = np.asarray(labels)
    counts = np.bincount(labels, minlength=n_outputs).astype(np.float64)
    if (counts == 0).any():
        missing = np.flatnonzero(counts == 0).tolist()
        raise ValueError(f"class_weights='balanced' needs every class in the training labels; "
                         f"class(es) {missing} have no training examples")
    return (len(labels) / (n_outputs * counts)).astype(np.float32)


class FocalLoss(nn.Module):
    """Multi-class focal loss (Lin et al., 2017) with class weights and label smoothing.

    ``loss_i = sum_c q_ic * alpha_c * (1 - p_ic)**gamma * (-log p_ic)``, where ``q_i`` is the (smoothed) one-hot
    target, ``q_ic = (1 - eps) * [c == y_i] + eps / K``. The mean is normalised by ``sum_i alpha_{y_i}``, as
    torch's weighted cross-entropy does, so ``gamma=0`` reproduces
    ``F.cross_entropy(logits, y, weight=alpha, label_smoothing=eps)`` exactly.

    Parameters
    ----------
    alpha : None, float or sequence of float
        Per-class weights (length K). A float ``a`` means binary weights ``(1 - a, a)``: ``a`` on the positive
        class, as in RetinaNet.
    gamma : float
        Focusing parameter: larger values down-weight examples the model already gets right.
    label_smoothing : float
        ``eps`` in [0, 1).

    Shapes: ``logits (B, K)``, ``target (B,)`` int64 -> scalar.
    """

    def __init__(self, alpha: float | Sequence[float] | None = None, gamma: float = 2.0,
                 label_smoothing: float = 0.0):
        super().__init__()
        if isinstance(alpha, (int, float)):
            alpha = (1.0 - alpha, alpha)
        self.register_buffer("alpha", None if alpha is None else torch.as_tensor(alpha, dtype=torch.float32))
        self.gamma, self.label_smoothing = float(gamma), float(label_smoothing)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        k = logits.shape[1]
        logp = F.log_softmax(logits.float(), dim=1)  # (B, K); float32 even under autocast
        q = F.one_hot(target, k).float() * (1 - self.label_smoothing) + self.label_smoothing / k  # (B, K)
        w = torch.ones(k, device=logits.device) if self.alpha is None else self.alpha.to(logits.device)
        modulation = (1 - logp.exp()).clamp_min(0) ** self.gamma  # (B, K)
        per_example = -(q * w * modulation * logp).sum(dim=1)  # (B,)
        return per_example.sum() / w[target].sum()


def make_loss(kind: str = "ce", *, class_weights: np.ndarray | None = None, focal_gamma: float = 2.0,
              label_smoothing: float = 0.0) -> nn.Module:
    """Build the training criterion.

    Parameters
    ----------
    kind : {"ce", "focal"}
    class_weights : array of float, shape (K,), optional
    focal_gamma : float
    label_smoothing : float

    Returns
    -------
    nn.Module
        Called as ``loss(logits (B, K), target (B,))``.
    """
    w = None if class_weights is None else torch.as_tensor(np.asarray(class_weights), dtype=torch.float32)
    if kind == "ce":
        return nn.CrossEntropyLoss(weight=w, label_smoothing=label_smoothing)
    if kind == "focal":
        return FocalLoss(alpha=w, gamma=focal_gamma, label_smoothing=label_smoothing)
    raise ValueError(f"loss must be 'ce' or 'focal', got {kind!r}")
