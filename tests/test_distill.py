"""Distillation loss: Hinton's formula on fixed logits, and the fit loss hook that runs the teacher inside."""

import numpy as np
import pytest
import torch
from torch import nn

from helpers.train.distill import CachedTeacher, DistillationLoss, distillation_loss
from helpers.train import TrainConfig, fit


def test_loss_equals_its_formula_on_fixed_logits():
    s = torch.tensor([[2.0, -1.0, 0.5], [0.0, 1.0, -2.0]])
    t = torch.tensor([[1.0, 0.0, 3.0], [-1.0, 2.0, 0.0]])
    y = torch.tensor([0, 1])
    T, alpha = 4.0, 0.3
    p_t, p_s = torch.softmax(t / T, 1), torch.softmax(s / T, 1)
    kl = (p_t * (p_t.log() - p_s.log())).sum(1).mean()  # KL(teacher || student), per example then averaged
    ce = -torch.log_softmax(s, 1)[torch.arange(2), y].mean()
    expected = alpha * T ** 2 * kl + (1 - alpha) * ce
    torch.testing.assert_close(distillation_loss(s, t, y, T=T, alpha=alpha), expected)


def test_alpha_zero_is_cross_entropy_and_a_perfect_student_has_no_soft_loss():
    s, y = torch.randn(5, 2), torch.tensor([0, 1, 1, 0, 1])
    torch.testing.assert_close(distillation_loss(s, torch.randn(5, 2), y, alpha=0.0),
                               nn.functional.cross_entropy(s, y))
    torch.testing.assert_close(distillation_loss(s, s.clone(), y, alpha=1.0), torch.tensor(0.0))


def test_bad_settings_are_refused_with_the_value():
    with pytest.raises(ValueError, match="temperature T must be > 0, got 0"):
        DistillationLoss(nn.Linear(2, 2), T=0)
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\], got 1.5"):
        distillation_loss(torch.zeros(1, 2), torch.zeros(1, 2), torch.zeros(1, dtype=torch.long), alpha=1.5)
    with pytest.raises(ValueError, match=r"student logits \(1, 2\) and teacher logits \(1, 3\)"):
        distillation_loss(torch.zeros(1, 2), torch.zeros(1, 3), torch.zeros(1, dtype=torch.long))


class Flat(nn.Module):
    def __init__(self, seed):
        super().__init__()
        torch.manual_seed(seed)
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(16, 2), nn.Dropout(0.5))

    def forward(self, x):
        return self.net(x)


def test_hook_runs_the_frozen_teacher_in_eval_mode_on_the_batch():
    teacher = Flat(0).train()
    kd = DistillationLoss(teacher, T=2.0, alpha=0.5)
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    x, y, s = torch.randn(4, 1, 16), torch.tensor([0, 1, 0, 1]), torch.randn(4, 2, requires_grad=True)
    loss = kd(s, y, x)
    torch.testing.assert_close(loss, distillation_loss(s, teacher(x), y, T=2.0, alpha=0.5))
    loss.backward()
    assert s.grad is not None and teacher.net[1].weight.grad is None


def test_fit_trains_a_student_through_the_loss_hook():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 1, 16)).astype(np.float32)
    y = (X[:, 0, :8].sum(1) > 0).astype(np.int64)
    teacher, student = Flat(1), Flat(2)
    fit(teacher, (X, y), config=TrainConfig(epochs=5, batch_size=16, progress=False))
    teacher_before = {k: v.clone() for k, v in teacher.state_dict().items()}
    h = fit(student, (X, y), config=TrainConfig(epochs=5, batch_size=16, progress=False,
                                                loss_fn=DistillationLoss(teacher, T=4.0, alpha=0.5)))
    assert np.isfinite(h["train_loss"]).all()
    for k, v in teacher.state_dict().items():  # the teacher only teaches
        torch.testing.assert_close(v, teacher_before[k])


def test_no_gradient_reaches_the_teacher_logits():
    s, t = torch.randn(4, 3, requires_grad=True), torch.randn(4, 3, requires_grad=True)
    distillation_loss(s, t, torch.tensor([0, 1, 2, 0]), T=3.0, alpha=1.0).backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert t.grad is None, "the teacher's logits are a target: the loss must not send gradient into them"


def test_hook_trains_with_a_loss_written_elsewhere():
    calls = []

    def my_loss(student_logits, teacher_logits, y, T, alpha):
        calls.append((tuple(student_logits.shape), tuple(teacher_logits.shape), T, alpha))
        return nn.functional.cross_entropy(student_logits, y) * 0 + 7.0

    kd = DistillationLoss(Flat(0), T=2.5, alpha=0.25, loss=my_loss)
    out = kd(torch.randn(3, 2), torch.tensor([0, 1, 0]), torch.randn(3, 1, 16))
    assert float(out) == 7.0 and calls == [((3, 2), (3, 2), 2.5, 0.25)]
    assert "loss=my_loss" in repr(kd)
    with pytest.raises(TypeError, match="loss must be a function"):
        DistillationLoss(Flat(0), loss="kl")


def test_cached_teacher_answers_as_the_teacher_and_refuses_other_windows():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 1, 16)).astype(np.float32)
    teacher = Flat(3).eval()
    cached = CachedTeacher(teacher, X, batch_size=7)
    idx = [5, 0, 19, 5]
    with torch.no_grad():
        torch.testing.assert_close(cached(torch.from_numpy(X[idx])), teacher(torch.from_numpy(X[idx])))
    with pytest.raises(ValueError, match="not among the cached teacher's windows"):
        cached(torch.from_numpy(X[:2] + 1e-3))
    with pytest.raises(ValueError, match=r"windows \(n, C, T\)"):
        CachedTeacher(teacher, X[:, 0])


def test_distilling_from_the_cached_teacher_trains_the_same_student():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(48, 1, 16)).astype(np.float32)
    y = (X[:, 0, :8].sum(1) > 0).astype(np.int64)
    teacher = Flat(4)
    fit(teacher, (X, y), config=TrainConfig(epochs=2, batch_size=16, progress=False))
    states = []
    for t in (teacher, CachedTeacher(teacher, X)):
        student = Flat(5)
        fit(student, (X, y), config=TrainConfig(epochs=3, batch_size=16, progress=False, seed=0,
                                                loss_fn=DistillationLoss(t, T=4.0, alpha=0.7)))
        states.append(student.state_dict())
    for k in states[0]:
        torch.testing.assert_close(states[0][k], states[1][k])
