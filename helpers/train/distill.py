"""Knowledge distillation (Hinton et al., 2015): a small student learns from a large teacher's softened outputs.

The teacher's probabilities at a temperature T > 1 say more than the hard label: *how* stress-like a calm window
looks, which classes a window is confused with. The student is trained on

    loss = alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha) * CE(student, y)

The T^2 keeps the soft term's gradients on the scale of the hard term's as T changes (the softened gradients
shrink as 1 / T^2), so alpha means the same at any temperature.

It plugs into :func:`helpers.train.fit` through the loss hook, which calls ``loss_fn(logits, y, x)`` with the
student's logits and the (augmented) batch; the teacher is run on that same ``x`` inside, so teacher and student
always see the same augmented signal::

    teacher = create_model("signal_transformer", ...)           # trained first, with fit
    student = create_model("tiny_transformer", ...)
    fit(student, (X, y), config=TrainConfig(loss_fn=DistillationLoss(teacher, T=4.0, alpha=0.5)))
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, y: torch.Tensor, *,
                      T: float = 4.0, alpha: float = 0.5) -> torch.Tensor:
    """``alpha * T^2 * KL(p_teacher^T || p_student^T) + (1 - alpha) * CE(student, y)``, a scalar (batch mean).

    Parameters
    ----------
    student_logits, teacher_logits : torch.Tensor, shape (B, K)
    y : torch.Tensor, shape (B,)
        Class indices (int64).
    T : float
        Temperature (> 0) applied to both sets of logits in the KL term only.
    alpha : float
        Weight of the soft (teacher) term in [0, 1]; 0 is plain cross-entropy, 1 ignores the labels.
    """
    if not T > 0:
        raise ValueError(f"temperature T must be > 0, got {T!r}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"student logits {tuple(student_logits.shape)} and teacher logits "
                         f"{tuple(teacher_logits.shape)} must have the same shape (batch, classes)")
    log_p_student = F.log_softmax(student_logits.float() / T, dim=-1)  # (B, K)
    log_p_teacher = F.log_softmax(teacher_logits.float() / T, dim=-1)
    # KL(teacher || student) summed over classes, averaged over the batch ("batchmean": the true KL per example)
    soft = F.kl_div(log_p_student, log_p_teacher, reduction="batchmean", log_target=True)
    hard = F.cross_entropy(student_logits.float(), y)
    return alpha * T * T * soft + (1 - alpha) * hard


class DistillationLoss:
    """``fit``'s loss hook for distillation: ``loss_fn(logits, y, x)`` runs the teacher on ``x``.

    Parameters
    ----------
    teacher : nn.Module or callable
        Maps the batch ``x`` (B, C, T) to logits (B, K). An ``nn.Module`` is put in eval mode (BatchNorm running
        statistics, no dropout: its predictions must not change while the student learns) and moved to the
        batch's device on first use; it is never trained (run under ``torch.no_grad``).
    T : float
        Temperature (Hinton et al. use 2-20; 4 is a common choice for few classes).
    alpha : float
        Weight of the soft term; see :func:`distillation_loss`.

    Notes
    -----
    The teacher costs one forward pass per training batch. When it is much larger than the student, that is
    most of the step; precomputing its logits instead would tie them to un-augmented inputs.
    """

    def __init__(self, teacher: nn.Module | Callable[[torch.Tensor], torch.Tensor], T: float = 4.0,
                 alpha: float = 0.5):
        if not callable(teacher):
            raise TypeError(f"teacher must be a model or a callable x -> logits, got {type(teacher).__name__}")
        distillation_loss(torch.zeros(1, 2), torch.zeros(1, 2), torch.zeros(1, dtype=torch.long), T=T,
                          alpha=alpha)  # checks T and alpha now, not at the first training step
        self.teacher, self.T, self.alpha = teacher, float(T), float(alpha)
        if isinstance(teacher, nn.Module):
            teacher.eval().requires_grad_(False)

    @torch.no_grad()
    def teacher_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The teacher's logits for ``x`` (B, C, T): (B, K) float32, on ``x``'s device, without gradient."""
        if isinstance(self.teacher, nn.Module):
            self.teacher.eval()  # again: a caller may have switched it to train mode since
            p = next(self.teacher.parameters(), None)
            if p is not None and p.device != x.device:
                self.teacher.to(x.device)
        return self.teacher(x).float()

    def __call__(self, logits: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return distillation_loss(logits, self.teacher_logits(x), y, T=self.T, alpha=self.alpha)

    def __repr__(self) -> str:
        return f"DistillationLoss(teacher={type(self.teacher).__name__}, T={self.T:g}, alpha={self.alpha:g})"
