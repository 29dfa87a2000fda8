"""Lesson 02b's self-checks accept a correct training loop, LSTM cell and masked attention, and name the classic
mistakes: validation in train mode or with gradients, a model left in eval mode, no zero_grad, a peek at the test
set, the last (or an uncopied) state_dict kept; gates in the wrong order; an inverted padding mask."""
from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from helpers.notebook import selfcheck_loop as sl
from helpers.notebook import selfcheck_mechanics as sm
from helpers.notebook.selfcheck import FAILED, NOT_ATTEMPTED, PASSED


def _line(verdict, needle):
    lines = [line for line in verdict.message.splitlines() if needle in line]
    assert len(lines) == 1, f"expected one line about {needle!r} in:\n{verdict}"
    return lines[0]


def _failed(verdict, needle):
    return verdict.status == FAILED and _line(verdict, needle).lstrip().startswith("✗")


# --- a training loop, with switchable mistakes ------------------------------------------------------------------
def make_loop(*, eval_mode=True, no_grad=True, back_to_train=True, zero_grad=True, peek_test=False,
              deep_copy=True, keep_best=True):
    def loop(model, splits, *, epochs, lr, batch_size):
        train = torch.utils.data.DataLoader(splits["train"], batch_size=batch_size, shuffle=True)
        val = torch.utils.data.DataLoader(splits["val"], batch_size=64)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        history, best, best_state = {"train_loss": [], "val_loss": []}, math.inf, None
        for epoch in range(epochs):
            if back_to_train or epoch == 0:
                model.train()
            total = 0.0
            for xb, yb in train:
                if zero_grad:
                    opt.zero_grad()
                loss = F.cross_entropy(model(xb), yb)
                loss.backward()
                opt.step()
                total += loss.item() * len(yb)
            history["train_loss"].append(total / len(splits["train"]))
            if eval_mode:
                model.eval()
            with torch.no_grad() if no_grad else torch.enable_grad():
                val_loss = sum(F.cross_entropy(model(xb), yb, reduction="sum").item() for xb, yb in val)
                val_loss /= len(splits["val"])
                if peek_test:
                    val_loss += 0 * len(splits["test"])
            history["val_loss"].append(val_loss)
            if val_loss < best or not keep_best:
                best = val_loss
                best_state = copy.deepcopy(model.state_dict()) if deep_copy else model.state_dict()
        model.load_state_dict(best_state)
        return history
    return loop


def test_loop_blank_is_not_attempted():
    assert sl.check_training_loop(None).status == NOT_ATTEMPTED


def test_a_correct_loop_passes_and_its_best_epoch_is_not_the_last():
    v = sl.check_training_loop(make_loop())
    assert v.status == PASSED, str(v)
    assert "(epoch 6 of 6)" not in v.message


@pytest.mark.parametrize("mistake, needle", [
    ({"eval_mode": False}, "validation once per epoch in eval mode"),
    ({"no_grad": False}, "validation once per epoch in eval mode"),
    ({"back_to_train": False}, "training batches in train mode"),
    ({"zero_grad": False}, "gradients zeroed"),
    ({"peek_test": True}, "test split"),
    ({"deep_copy": False}, "ends with"),
    ({"keep_best": False}, "ends with"),
])
def test_each_classic_mistake_fails_on_its_own_requirement(mistake, needle):
    v = sl.check_training_loop(make_loop(**mistake))
    assert _failed(v, needle), str(v)


def test_keeping_an_uncopied_state_dict_is_explained():
    v = sl.check_training_loop(make_loop(deep_copy=False))
    assert "deepcopy" in _line(v, "ends with")


def test_a_loop_that_crashes_is_a_verdict_not_an_exception():
    def broken(model, splits, *, epochs, lr, batch_size):
        raise RuntimeError("shape mismatch")
    v = sl.check_training_loop(broken)
    assert v.status == FAILED and "RuntimeError: shape mismatch" in v.message


def test_a_loop_that_does_not_step_fails_on_learning():
    def idle(model, splits, *, epochs, lr, batch_size):
        loop = make_loop()
        torch.optim.Adam.step, saved = (lambda self, closure=None: None), torch.optim.Adam.step
        try:
            return loop(model, splits, epochs=epochs, lr=lr, batch_size=batch_size)
        finally:
            torch.optim.Adam.step = saved
    v = sl.check_training_loop(idle)
    assert _failed(v, "the model learns"), str(v)


# --- LSTM cell ----------------------------------------------------------------------------------------------------
def cell(x, h, c, W_ih, W_hh, b_ih, b_hh, order="ifgo"):
    blocks = dict(zip(order, (x @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=-1)))
    i, f, o = (torch.sigmoid(blocks[k]) for k in "ifo")
    g = torch.tanh(blocks["g"])
    c = f * c + i * g
    return o * torch.tanh(c), c


def test_lstm_blank_is_not_attempted():
    assert sm.check_lstm_cell(None).status == NOT_ATTEMPTED


def test_lstm_correct_cell_passes():
    v = sm.check_lstm_cell(cell)
    assert v.status == PASSED, str(v)


def test_lstm_gates_in_keras_order_fail_with_the_order_named():
    v = sm.check_lstm_cell(lambda *a: cell(*a, order="ifog"))
    assert v.status == FAILED and "PyTorch's order i, f, g, o" in v.message


def test_lstm_without_tanh_on_the_output_is_named():
    def slip(x, h, c, W_ih, W_hh, b_ih, b_hh):
        _h_new, c_new = cell(x, h, c, W_ih, W_hh, b_ih, b_hh)
        o = torch.sigmoid((x @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=-1)[3])
        return o * c_new, c_new
    v = sm.check_lstm_cell(slip)
    assert v.status == FAILED and "o * tanh(c)" in v.message


def test_lstm_wrong_shapes_and_crashes_do_not_raise():
    assert sm.check_lstm_cell(lambda *a: (a[1][:, :2], a[2])).status == FAILED
    assert sm.check_lstm_cell(lambda *a: 1 / 0).status == FAILED
    assert sm.check_lstm_cell("lstm").status == FAILED


# --- attention ------------------------------------------------------------------------------------------------------
def attention(x, W_q, W_k, W_v, padding_mask, *, invert=False, scale=True):
    q, k, v = x @ W_q, x @ W_k, x @ W_v
    scores = q @ k.transpose(-2, -1) / (math.sqrt(q.shape[-1]) if scale else 1.0)
    mask = ~padding_mask if invert else padding_mask
    w = torch.softmax(scores.masked_fill(mask[:, None, :], float("-inf")), dim=-1)
    return w @ v, w


def good_mask(pm):
    return ~pm[:, None, :]


def test_attention_blank_is_not_attempted():
    assert sm.check_attention(None, None).status == NOT_ATTEMPTED


def test_attention_correct_passes():
    v = sm.check_attention(attention, good_mask)
    assert v.status == PASSED, str(v)


def test_attention_inverted_mask_by_hand_is_named():
    v = sm.check_attention(lambda *a: attention(*a, invert=True), good_mask)
    assert v.status == FAILED and "True AT PADDING" in v.message


def test_inverted_sdpa_mask_is_caught_and_named():
    v = sm.check_attention(attention, lambda pm: pm[:, None, :])
    assert _failed(v, "scaled_dot_product_attention with your mask")
    assert "inverted" in v.message


def test_attention_without_the_scale_is_named():
    v = sm.check_attention(lambda *a: attention(*a, scale=False), good_mask)
    assert v.status == FAILED and "sqrt(d)" in v.message


def test_attention_float_mask_and_half_answers_fail_without_raising():
    assert sm.check_attention(attention, lambda pm: (~pm).float()[:, None, :]).status == FAILED
    assert sm.check_attention(attention, None).status == FAILED
    assert sm.check_attention(None, good_mask).status == FAILED


# --- the reference implementations the lesson's pictures use --------------------------------------------------------
def test_lstm_gates_reproduce_nn_lstm_and_keep_gates_in_range():
    from helpers.notebook.mechanics import lstm_gates
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(2, 4, batch_first=True)
    x = torch.randn(3, 9, 2)
    trace = lstm_gates(lstm, x)
    with torch.no_grad():
        out, (_, c_n) = lstm(x)
    assert torch.allclose(torch.as_tensor(trace["h"]), out, atol=1e-6)
    assert torch.allclose(torch.as_tensor(trace["c"][:, -1]), c_n[0], atol=1e-6)
    assert all(0 <= trace[k].min() and trace[k].max() <= 1 for k in "ifo") and trace["g"].min() >= -1


def test_lstm_gates_refuse_a_bidirectional_lstm_naming_it():
    from helpers.notebook.mechanics import lstm_gates
    with pytest.raises(ValueError, match="bidirectional=True"):
        lstm_gates(torch.nn.LSTM(2, 4, batch_first=True, bidirectional=True), torch.zeros(1, 3, 2))


def test_masked_attention_matches_sdpa_with_the_converted_mask():
    from helpers.notebook.mechanics import masked_attention, sdpa_mask
    torch.manual_seed(0)
    q, k, v = torch.randn(3, 3, 6, 4).unbind(0)
    pm = torch.tensor([[False] * 6, [False] * 4 + [True] * 2, [False] * 2 + [True] * 4])
    out, w = masked_attention(q, k, v, pm)
    assert torch.allclose(out, F.scaled_dot_product_attention(q, k, v, attn_mask=sdpa_mask(pm)), atol=1e-6)
    assert float(w.masked_select(pm[:, None, :].expand_as(w)).abs().max()) == 0.0


def test_the_loop_check_leaves_torch_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    sl.check_training_loop(make_loop())
    assert torch.equal(torch.rand(3), expected)
