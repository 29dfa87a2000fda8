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

``DistillationLoss(..., loss=my_loss)`` trains with a loss written elsewhere (Assignment 4's student writes it),
called as ``my_loss(student_logits, teacher_logits, y, T=T, alpha=alpha)``. When training uses no augmentation,
:class:`CachedTeacher` runs the teacher once over the training windows and answers each batch from that table
(offline distillation): the same logits, without a teacher forward pass per batch.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
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
    log_p_teacher = F.log_softmax(teacher_logits.detach().float() / T, dim=-1)  # the teacher only teaches
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
    loss : callable, optional
        ``loss(student_logits, teacher_logits, y, T=T, alpha=alpha) -> scalar`` used instead of
        :func:`distillation_loss` (T and alpha are still checked here, whatever ``loss`` does with them).

    Notes
    -----
    The teacher costs one forward pass per training batch. When it is much larger than the student, that is
    most of the step; precomputing its logits instead would tie them to un-augmented inputs.
    """

    def __init__(self, teacher: nn.Module | Callable[[torch.Tensor], torch.Tensor], T: float = 4.0,
                 alpha: float = 0.5, loss: Callable[..., torch.Tensor] | None = None):
        if not callable(teacher):
            raise TypeError(f"teacher must be a model or a callable x -> logits, got {type(teacher).__name__}")
        if loss is not None and not callable(loss):
            raise TypeError(f"loss must be a function (student_logits, teacher_logits, y, T=, alpha=) -> scalar, "
                            f"got {type(loss).__name__}")
        self.loss = distillation_loss if loss is None else loss
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
        return self.loss(logits, self.teacher_logits(x), y, T=self.T, alpha=self.alpha)

    def __repr__(self) -> str:
        name = getattr(self.loss, "__name__", type(self.loss).__name__)
        return (f"DistillationLoss(teacher={type(self.teacher).__name__}, T={self.T:g}, alpha={self.alpha:g}, "
                f"loss={name})")


class CachedTeacher:
    """A teacher's logits on a fixed set of windows, computed once and looked up by each window's bytes.

    With no augmentation every training batch is a set of rows of the training array, so the teacher's answer
    to each is known before training starts (offline distillation): this replaces one teacher forward pass per
    batch and epoch by one pass in all. A window that is not in the table (augmented, or from another set)
    raises ``ValueError`` rather than getting a wrong answer.

    Parameters
    ----------
    teacher : nn.Module or callable
        ``x`` (B, C, T) -> logits (B, K); run in eval mode under ``torch.no_grad``.
    X : np.ndarray, shape (n, C, T)
        The windows the student will be trained on.
    batch_size : int
        Windows per teacher forward pass while building the table.
    """

    def __init__(self, teacher: nn.Module | Callable[[torch.Tensor], torch.Tensor], X: np.ndarray,
                 batch_size: int = 64):
        X = np.ascontiguousarray(X, dtype=np.float32)
        if X.ndim != 3 or len(X) == 0:
            raise ValueError(f"X must be windows (n, C, T) with n > 0, got shape {X.shape}")
        if isinstance(teacher, nn.Module):
            teacher.eval()
        with torch.no_grad():
            self.logits = torch.cat([teacher(torch.from_numpy(X[i:i + batch_size])).float()
                                     for i in range(0, len(X), batch_size)])  # (n, K)
        self.index = {self._key(row): i for i, row in enumerate(X)}

    @staticmethod
    def _key(row: np.ndarray) -> bytes:
        return hashlib.blake2b(np.ascontiguousarray(row, dtype=np.float32).tobytes(), digest_size=16).digest()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The cached logits (B, K) of the windows ``x`` (B, C, T), on ``x``'s device."""
        rows = x.detach().cpu().numpy()
        try:
            idx = [self.index[self._key(r)] for r in rows]
        except KeyError:
            raise ValueError("a batch window is not among the cached teacher's windows: training with augmentation "
                             "or on other windows needs the teacher itself, not CachedTeacher") from None
        return self.logits[idx].to(x.device)
