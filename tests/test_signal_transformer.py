"""Properties of the CNN + Transformer signal classifier (helpers.models.signal_transformer)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers.models import padding_mask_from_lengths
from helpers.models.signal_transformer import SignalTransformer, SignalTransformerConfig
from helpers.models.transformer_blocks import RotarySelfAttention


def small_model(seed=0, **overrides):
    torch.manual_seed(seed)
    cfg = SignalTransformerConfig.small(dropout=0.0, verbose=False, **overrides)
    return SignalTransformer(2, 3, config=cfg)


def randomize_batchnorm(model, seed=0):
    """Give every BatchNorm non-trivial statistics and affine terms, so a padding leak cannot hide behind BN = id."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.5)
            m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=g) * 0.5)
    return model


def test_default_config_has_about_8_6_million_parameters(capsys):
    model = SignalTransformer(1, 2)
    n = model.num_parameters()
    assert abs(n - 8.6e6) / 8.6e6 < 0.05, n
    assert "M parameters" in capsys.readouterr().out  # reports its size at construction, like nanoGPT


def test_small_config_is_small_and_returns_logits():
    model = small_model()
    assert model.num_parameters() < 300_000
    assert model(torch.randn(4, 2, 300)).shape == (4, 3)


def test_attention_logits_depend_only_on_relative_position():
    torch.manual_seed(0)
    attn = RotarySelfAttention(d_model=64, n_heads=4)
    x = torch.randn(2, 12, 64)
    base = torch.arange(12)
    logits = attn.attention_logits(x, base)  # (B, nh, T, T)
    for shift in (1, 37, 1000):
        torch.testing.assert_close(attn.attention_logits(x, base + shift), logits, atol=2e-4, rtol=1e-4)
    # ...and they do depend on the relative offset: spreading the tokens apart changes them.
    assert not torch.allclose(attn.attention_logits(x, 2 * base), logits, atol=1e-2)


def test_same_token_pair_at_same_offset_gives_same_logit():
    torch.manual_seed(1)
    attn = RotarySelfAttention(d_model=32, n_heads=2)
    pair = torch.randn(1, 2, 32)  # a query token and a key token
    early = attn.attention_logits(pair, torch.tensor([3, 8]))[..., 0, 1]
    late = attn.attention_logits(pair, torch.tensor([503, 508]))[..., 0, 1]
    torch.testing.assert_close(early, late, atol=2e-4, rtol=1e-4)


@pytest.mark.parametrize("lengths", [(1000, 517, 333, 64), (999, 998, 1, 8)])
def test_padding_never_changes_the_output_for_the_valid_part(lengths):
    model = randomize_batchnorm(small_model()).eval()
    torch.manual_seed(2)
    T = max(lengths)
    signals = [torch.randn(1, 2, n) for n in lengths]
    padded = torch.randn(len(lengths), 2, T) * 100  # garbage in the padding must not matter either
    for i, s in enumerate(signals):
        padded[i, :, : s.shape[-1]] = s[0]
    with torch.no_grad():
        alone = torch.cat([model(s) for s in signals])
        batched = model(padded, padding_mask=padding_mask_from_lengths(lengths, T))
    torch.testing.assert_close(batched, alone, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast_gives_finite_logits_and_gradients_with_padding(dtype):
    model = small_model().train()
    x = torch.randn(6, 2, 512) * 5
    lengths = torch.tensor([512, 511, 300, 17, 9, 1])
    with torch.autocast("cpu", dtype=dtype):
        logits = model(x, padding_mask=padding_mask_from_lengths(lengths, x.shape[-1]))
        loss = F.cross_entropy(logits.float(), torch.tensor([0, 1, 2, 0, 1, 2]))
    loss.backward()
    assert torch.isfinite(logits).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_fp16_attention_with_masked_keys_has_no_overflow():
    """A -1e9 fill overflows fp16 (max 65504); the boolean mask never writes such a number."""
    attn = RotarySelfAttention(d_model=32, n_heads=2).half()
    x = torch.randn(2, 10, 32).half()
    keep = torch.ones(2, 10, dtype=torch.bool)
    keep[1, 3:] = False
    from helpers.models.transformer_blocks import rotary_cos_sin
    cos, sin = rotary_cos_sin(torch.arange(10), 16)
    y = attn(x, cos, sin, keep)
    assert y.dtype == torch.float16 and torch.isfinite(y).all()


def test_tiny_model_overfits_a_small_batch():
    model = small_model(seed=0)
    torch.manual_seed(0)
    x, y = torch.randn(16, 2, 256), torch.randint(0, 3, (16,))  # random labels: only memorising fits them
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for _ in range(100):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        assert (model(x).argmax(1) == y).all()
    assert loss.item() < 0.05


def test_gradient_checkpointing_gives_the_same_gradients():
    x, y = torch.randn(4, 2, 256), torch.tensor([0, 1, 2, 1])

    def grads(checkpointing):
        model = small_model(seed=4).train().set_grad_checkpointing(checkpointing)
        F.cross_entropy(model(x, padding_mask=padding_mask_from_lengths([256, 200, 100, 31], 256)), y).backward()
        return {n: p.grad.clone() for n, p in model.named_parameters()}

    plain, recomputed = grads(False), grads(True)
    for name in plain:
        torch.testing.assert_close(recomputed[name], plain[name], atol=1e-6, rtol=1e-5, msg=name)


def test_channels_last_backbone_computes_the_same_model_as_the_plain_layout():
    """The (B, C, 1, T) channels-last backbone is a memory layout, not a different model: same logits, same grads."""
    x, y, lengths = torch.randn(4, 2, 300), torch.tensor([0, 1, 2, 1]), torch.tensor([300, 257, 100, 9])

    def run(channels_last):
        model = randomize_batchnorm(small_model(seed=5, channels_last=channels_last)).train()
        logits = model(x, padding_mask=padding_mask_from_lengths(lengths, x.shape[-1]))
        F.cross_entropy(logits, y).backward()
        running = [b.clone() for n, b in model.named_buffers() if n.endswith(("running_mean", "num_batches_tracked"))]
        return logits, {n: p.grad for n, p in model.named_parameters()}, running

    (logits_cl, grads_cl, stats_cl), (logits, grads, stats) = run(True), run(False)
    torch.testing.assert_close(logits_cl, logits, atol=1e-5, rtol=1e-5)
    for name in grads:
        torch.testing.assert_close(grads_cl[name], grads[name], atol=1e-5, rtol=1e-4, msg=name)
    for a, b in zip(stats_cl, stats):  # BatchNorm's running statistics are updated the same way
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("channels_last", [True, False])
def test_folding_batchnorm_keeps_the_eval_outputs(channels_last):
    model = randomize_batchnorm(small_model(channels_last=channels_last)).eval()
    x, mask = torch.randn(3, 2, 400), padding_mask_from_lengths([400, 301, 77], 400)
    with torch.no_grad():
        before = model(x, padding_mask=mask), model(x)
        model.fold_batchnorm()
        after = model(x, padding_mask=mask), model(x)
    assert not any(isinstance(m, nn.BatchNorm1d) for m in model.modules())
    for a, b in zip(after, before):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    with pytest.raises(RuntimeError, match="eval"):
        small_model().train().fold_batchnorm()


def test_bad_inputs_raise_clear_errors():
    model = small_model()
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, 2, samples\); got shape \(4, 300\)"):
        model(torch.randn(4, 300))
    with pytest.raises(ValueError, match="row 1 of padding_mask leaves 0 unpadded"):
        model(torch.randn(2, 2, 64), padding_mask=padding_mask_from_lengths([64, 0], 64))
    with pytest.raises(ValueError, match=r"padding_mask must have shape \(batch, samples\) = \(2, 64\)"):
        model(torch.randn(2, 2, 64), padding_mask=torch.zeros(2, 63, dtype=torch.bool))


def test_attention_dropout_defaults_to_zero_and_is_applied_when_set():
    assert SignalTransformerConfig().attention_dropout == 0.0  # residual dropout (0.1) stays on by default
    x = torch.randn(4, 2, 256)
    for p, should_vary in ((0.0, False), (0.5, True)):
        model = small_model(attention_dropout=p).train()  # small_model sets the residual dropout to 0
        torch.manual_seed(1)
        a = model(x)
        torch.manual_seed(2)
        b = model(x)
        assert (not torch.equal(a, b)) == should_vary, p
        assert all(blk.attn.attention_dropout == p for blk in model.blocks)
        model.eval()  # no dropout at all in eval mode, whatever the setting
        torch.manual_seed(3)
        c = model(x)
        torch.manual_seed(4)
        assert torch.equal(c, model(x))


def test_queries_keys_values_are_time_major_views_for_attention():
    # the layout the GPU speed-up relies on: (B, nh, T, hs) views whose memory is (B, T, nh, hs), so attention's
    # output reshapes to (B, T, C) without a copy and its gradients land in d(qkv) without a transpose
    attn = RotarySelfAttention(64, 4)
    x = torch.randn(3, 10, 64)
    T, hs = 10, 16
    cos, sin = torch.randn(T, hs // 2), torch.randn(T, hs // 2)
    for t in attn._rotated_qkv(x, cos, sin):
        assert t.shape == (3, 4, 10, 16)
        assert t.transpose(1, 2).reshape(3, 10, 64).data_ptr() == t.data_ptr()  # a view: no copy was made
        assert t.stride(-1) == 1 and t.stride(2) in (64, 3 * 64)  # time is the outer axis: q, k own; v in qkv


def test_compiled_forward_and_backward_match_eager():
    # under torch.compile, Mish takes its one-exponential form (layers.mish_exp): the same function, checked
    # through Dynamo's tracing with the eager backend (no C++ compiler needed)
    model = randomize_batchnorm(small_model()).train()
    x = torch.randn(4, 2, 256)
    ref = model(x)
    ref.square().sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    out = torch.compile(model, backend="eager")(x)
    out.square().sum().backward()
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)
    for g, p in zip(grads, model.parameters()):
        torch.testing.assert_close(p.grad, g, rtol=1e-3, atol=1e-5)
