"""labs.nn.modern: RMSNorm, SiLU, SwiGLU, RoPE, attention and ModernLM, each gradient-checked in float64,
their defining properties, the architecture switch, and (when torch is installed) the same numbers as
PyTorch from the same weights."""

from __future__ import annotations

import numpy as np
import pytest

from labs.nn import SequenceCrossEntropy, TinyGPT, gradcheck_fn, gradcheck_layer, gradcheck_model
from labs.nn.modern import (
    KVCache, LanguageModelConfig, ModernBlock, ModernLM, RMSNorm, RoPESelfAttention, SiLU, SwiGLU,
    apply_rope, attention_backward, build_language_model, default_ffn_dim, rope_angles,
    scaled_dot_product_attention,
)


def rng(seed=0):
    return np.random.default_rng(seed)


def assert_ok(report):
    assert report.ok(), str(report)


def spread_weights(model, seed=1):
    """Weights of order one (norm weights near 1): at the 0.02 initialisation the loss is nearly flat and
    the gradients so small that finite differences measure their own rounding."""
    g = rng(seed)
    for name, p in model.named_parameters():
        p.data = 1 + 0.3 * g.standard_normal(p.shape) if "norm" in name else 0.4 * g.standard_normal(p.shape)
    return model


# -- gradient checks ---------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: RMSNorm(6, dtype=np.float64),
    lambda: SiLU(),
    lambda: SwiGLU(6, 10, rng=rng(), std=0.5, dtype=np.float64),
    lambda: RoPESelfAttention(8, 2, rng=rng(), std=0.5, dtype=np.float64),
    lambda: ModernBlock(8, 2, 12, rng=rng(), std=0.5, dtype=np.float64),
], ids=["rmsnorm", "silu", "swiglu", "rope-attention", "block"])
def test_each_layer_passes_the_gradient_check(make):
    layer = make()
    x = rng(2).standard_normal((2, 5, 6 if isinstance(layer, (RMSNorm, SwiGLU)) else 8))
    if isinstance(layer, RMSNorm):
        layer.params["weight"].data = 1 + 0.3 * rng(3).standard_normal(6)
    assert_ok(gradcheck_layer(layer, x, max_entries=None))


def test_attention_with_explicit_gapped_positions_passes_the_gradient_check():
    layer = RoPESelfAttention(8, 2, rng=rng(), std=0.5, dtype=np.float64)
    x = rng(1).standard_normal((2, 4, 8))
    positions = np.array([3, 5, 6, 10])
    weights = rng(2).standard_normal((2, 4, 8))
    grads = {}

    def backward():
        grads["x"] = layer.backward(weights)

    report = gradcheck_fn(lambda: float(np.sum(layer.forward(x, positions) * weights)), backward,
                          dict(layer.named_parameters()), inputs={"x": x}, input_grads=lambda: grads)
    assert_ok(report)


def test_rope_passes_the_gradient_check():
    x = rng().standard_normal((2, 3, 5, 8))
    cos, sin = rope_angles(np.array([0, 1, 7, 2, 100]), 8)
    weights = rng(1).standard_normal(x.shape)
    report = gradcheck_fn(lambda: float(np.sum(apply_rope(x, cos, sin) * weights)), lambda: None, {},
                          inputs={"x": x}, input_grads=lambda: {"x": apply_rope(weights, cos, -sin)})
    assert_ok(report)


@pytest.mark.parametrize("masked", [False, True])
def test_attention_with_leading_axes_and_different_lengths_passes_the_gradient_check(masked):
    g = rng(4)
    q, k, v = g.standard_normal((2, 3, 4, 6)), g.standard_normal((2, 3, 7, 6)), g.standard_normal((2, 3, 7, 5))
    mask = None
    if masked:
        mask = g.random((2, 3, 4, 7)) < 0.6
        mask[0, 0, 1] = False  # a row that sees nothing
        mask[..., 0, 0] = True
    weights = g.standard_normal((2, 3, 4, 5))
    grads = {}

    def loss():
        out, grads["cache"] = scaled_dot_product_attention(q, k, v, mask)
        return float(np.sum(out * weights))

    def input_grads():
        dq, dk, dv = attention_backward(weights, grads["cache"])
        return {"q": dq, "k": dk, "v": dv}

    report = gradcheck_fn(loss, lambda: None, {}, inputs={"q": q, "k": k, "v": v}, input_grads=input_grads,
                          max_entries=None)
    assert_ok(report)


@pytest.mark.parametrize("tie", [False, True], ids=["untied", "tied"])
def test_the_whole_modern_lm_passes_the_gradient_check(tie):
    model = spread_weights(ModernLM(23, 12, n_layer=2, n_head=2, dim=8, tie_weights=tie, rng=rng(),
                                    dtype=np.float64))
    idx, targets = rng(5).integers(0, 23, (2, 6)), rng(6).integers(0, 23, (2, 6))
    report = gradcheck_model(model, SequenceCrossEntropy(), idx, targets, max_entries=30)
    assert_ok(report)
    assert ("head.W" in {e.name for e in report.entries}) is not tie


# -- what each piece computes --------------------------------------------------------------------------
def test_rmsnorm_is_x_over_its_root_mean_square_times_the_weight():
    x = rng().standard_normal((3, 4, 6))
    layer = RMSNorm(6, dtype=np.float64)
    layer.params["weight"].data = np.arange(1.0, 7.0)
    expected = x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True) + 1e-5) * np.arange(1.0, 7.0)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12)
    assert layer.eps == 1e-5
    np.testing.assert_allclose(layer.forward(np.zeros((1, 6))), 0.0)  # eps keeps a zero row finite


def test_swiglu_is_w2_of_silu_w1x_times_w3x():
    layer = SwiGLU(4, 6, rng=rng(), std=0.5, dtype=np.float64)
    x = rng(1).standard_normal((5, 4))
    p = {k: v.data for k, v in layer.params.items()}
    a = x @ p["W1"]
    np.testing.assert_allclose(layer.forward(x), (a / (1 + np.exp(-a)) * (x @ p["W3"])) @ p["W2"], rtol=1e-12)
    assert default_ffn_dim(64) == 176 and default_ffn_dim(48) == 128


def test_rope_rotates_adjacent_pairs_by_position_times_frequency():
    cos, sin = rope_angles(np.array([2]), 4, theta=100.0)
    x = np.array([[1.0, 0.0, 0.0, 1.0]])
    angle0, angle1 = 2 * 100.0 ** 0, 2 * 100.0 ** (-2 / 4)
    np.testing.assert_allclose(apply_rope(x, cos, sin),
                               [[np.cos(angle0), np.sin(angle0), -np.sin(angle1), np.cos(angle1)]], rtol=1e-12)
    np.testing.assert_allclose(rope_angles(np.array([0]), 4)[0], 1.0)  # position 0: no rotation


def test_rope_scores_depend_only_on_relative_position():
    g = rng()
    q, k = g.standard_normal(16), g.standard_normal(16)

    def score(tq, tk):
        cq, sq = rope_angles(np.array([tq]), 16)
        ck, sk = rope_angles(np.array([tk]), 16)
        return float((apply_rope(q[None], cq, sq) @ apply_rope(k[None], ck, sk).T)[0, 0])

    assert score(7, 3) == pytest.approx(score(104, 100), rel=1e-9)
    assert score(7, 3) != pytest.approx(score(7, 4), rel=1e-3)
    cos, sin = rope_angles(np.arange(5), 16)
    x = g.standard_normal((5, 16))
    np.testing.assert_allclose(np.linalg.norm(apply_rope(x, cos, sin), axis=-1), np.linalg.norm(x, axis=-1))


def test_masked_keys_do_not_count_and_a_blind_row_is_zero():
    g = rng()
    q, k, v = g.standard_normal((1, 3, 4)), g.standard_normal((1, 5, 4)), g.standard_normal((1, 5, 2))
    mask = np.array([[True, True, False, False, False], [True] * 5, [False] * 5])
    out, _ = scaled_dot_product_attention(q, k, v, mask)
    v2 = v.copy()
    v2[0, 2:] += 100.0
    out2, _ = scaled_dot_product_attention(q, k, v2, mask)
    np.testing.assert_array_equal(out[0, 0], out2[0, 0])
    np.testing.assert_array_equal(out[0, 2], 0.0)
    s = q[0, 0] @ k[0, :2].T / 2.0
    np.testing.assert_allclose(out[0, 0], np.exp(s - s.max()) / np.exp(s - s.max()).sum() @ v[0, :2], rtol=1e-12)
    with pytest.raises(ValueError, match="boolean"):
        scaled_dot_product_attention(q, k, v, mask.astype(int))
    with pytest.raises(ValueError, match="do not fit"):
        scaled_dot_product_attention(q, k, v[:, :3])


def test_the_modern_lm_is_causal_and_counts_its_parameters():
    for tie in (False, True):
        model = ModernLM(31, 10, n_layer=3, n_head=2, dim=8, tie_weights=tie, rng=rng(), dtype=np.float64)
        assert model.num_parameters() == ModernLM.count_parameters(31, 3, 8, model.ffn_dim, tie)
        idx = rng(1).integers(0, 31, (2, 8))
        changed = idx.copy()
        changed[:, 5:] = (changed[:, 5:] + 1) % 31
        np.testing.assert_array_equal(model.forward(idx)[:, :5], model.forward(changed)[:, :5])
        assert not np.allclose(model.forward(idx)[:, 5:], model.forward(changed)[:, 5:])
    with pytest.raises(ValueError, match="context 10"):
        model.forward(np.zeros((1, 11), dtype=np.int64))


def test_the_architecture_is_chosen_by_configuration():
    gpt2 = build_language_model(LanguageModelConfig(arch="gpt2", vocab_size=20, context=8, dim=16), rng=rng())
    modern = build_language_model(LanguageModelConfig(vocab_size=20, context=8, dim=16, tie_weights=True), rng=rng())
    assert isinstance(gpt2, TinyGPT) and isinstance(modern, ModernLM) and modern.tie_weights
    assert gpt2.forward(np.zeros((1, 8), dtype=np.int64)).shape == modern.forward(np.zeros((1, 8), dtype=np.int64)).shape
    with pytest.raises(ValueError, match="not divisible"):
        LanguageModelConfig(vocab_size=20, context=8, dim=10, n_head=4)
    with pytest.raises(ValueError, match="modern architecture"):
        LanguageModelConfig(arch="gpt2", vocab_size=20, context=8, tie_weights=True)


def test_the_kv_cache_size_is_two_layers_tokens_width_bytes():
    cache = KVCache(3, 1, 4, 100, 16, np.float32)
    assert cache.nbytes == 2 * 3 * 100 * 64 * 4


# -- PyTorch as the oracle -----------------------------------------------------------------------------------
try:  # the oracle tests below skip without torch (the bench extra); the rest of the file runs regardless
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - depends on the environment
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed (the bench extra)")


def t64(a):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=True)


@needs_torch
def test_rmsnorm_equals_torch():
    x = rng().standard_normal((2, 5, 6))
    ours = RMSNorm(6, dtype=np.float64)
    ours.params["weight"].data = 1 + 0.3 * rng(1).standard_normal(6)
    theirs = torch.nn.RMSNorm(6, eps=1e-5, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.params["weight"].data))
    g = rng(2).standard_normal(x.shape)
    xt = t64(x)
    yt = theirs(xt)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.forward(x), yt.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(ours.backward(g), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.params["weight"].grad, theirs.weight.grad.numpy(), rtol=1e-10)


@needs_torch
def test_swiglu_equals_torch_with_the_transposed_weights():
    ours = SwiGLU(6, 10, rng=rng(), std=0.5, dtype=np.float64)
    w1, w2, w3 = (torch.nn.Linear(a, b, bias=False, dtype=torch.float64) for a, b in ((6, 10), (10, 6), (6, 10)))
    with torch.no_grad():
        for lin, name in ((w1, "W1"), (w2, "W2"), (w3, "W3")):
            lin.weight.copy_(torch.tensor(ours.params[name].data.T))
    x = rng(1).standard_normal((3, 4, 6))
    g = rng(2).standard_normal(x.shape)
    xt = t64(x)
    yt = w2(F.silu(w1(xt)) * w3(xt))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.forward(x), yt.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(ours.backward(g), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for lin, name in ((w1, "W1"), (w2, "W2"), (w3, "W3")):
        np.testing.assert_allclose(ours.params[name].grad, lin.weight.grad.numpy().T, rtol=1e-10, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("masked", [False, True])
def test_attention_equals_torch_scaled_dot_product_attention(masked):
    g = rng(3)
    q, k, v = g.standard_normal((2, 3, 4, 6)), g.standard_normal((2, 3, 7, 6)), g.standard_normal((2, 3, 7, 5))
    mask = None
    if masked:
        mask = g.random((2, 1, 4, 7)) < 0.6  # broadcast over heads
        mask[..., 0] = True  # torch's math path gives NaN for a row that sees nothing
    dout = g.standard_normal((2, 3, 4, 5))
    out, cache = scaled_dot_product_attention(q, k, v, mask)
    qt, kt, vt = t64(q), t64(k), t64(v)
    ot = F.scaled_dot_product_attention(qt, kt, vt, attn_mask=None if mask is None else torch.tensor(mask))
    ot.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, ot.detach().numpy(), rtol=1e-12, atol=1e-13)
    for ours, theirs in zip(attention_backward(dout, cache), (qt, kt, vt)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def torch_rope(x, positions, theta=10000.0):
    """RoPE straight from the definition, in torch: pairs (2i, 2i+1) rotated by pos * theta^(-2i/d)."""
    d = x.shape[-1]
    freqs = theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    angles = torch.tensor(positions, dtype=torch.float64)[:, None] * freqs
    cos, sin = torch.cos(angles), torch.sin(angles)
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1).flatten(-2)


@needs_torch
def test_rope_attention_equals_a_direct_torch_formulation():
    ours = RoPESelfAttention(8, 2, rng=rng(), std=0.5, dtype=np.float64)
    x = rng(1).standard_normal((2, 5, 8))
    positions = np.array([0, 1, 2, 5, 9])
    g = rng(2).standard_normal(x.shape)
    w_qkv, w_o = t64(ours.params["W_qkv"].data), t64(ours.params["W_o"].data)
    xt = t64(x)
    q, k, v = (xt @ w_qkv).reshape(2, 5, 3, 2, 4).permute(2, 0, 3, 1, 4)
    causal = torch.tensor(positions[None, :] <= positions[:, None])
    o = F.scaled_dot_product_attention(torch_rope(q, positions), torch_rope(k, positions), v, attn_mask=causal)
    yt = o.transpose(1, 2).reshape(2, 5, 8) @ w_o
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.forward(x, positions), yt.detach().numpy(), rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(ours.backward(g), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.params["W_qkv"].grad, w_qkv.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.params["W_o"].grad, w_o.grad.numpy(), rtol=1e-10, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("tie", [False, True], ids=["untied", "tied"])
def test_the_whole_modern_lm_equals_torch_from_the_same_weights(tie):
    ours = spread_weights(ModernLM(23, 12, n_layer=2, n_head=2, dim=8, tie_weights=tie, rng=rng(), dtype=np.float64))
    w = {name: t64(p.data) for name, p in ours.named_parameters()}
    idx, targets = rng(5).integers(0, 23, (2, 6)), rng(6).integers(0, 23, (2, 6))
    positions = np.arange(6)

    def rms(x, weight):
        return x / torch.sqrt((x * x).mean(-1, keepdim=True) + 1e-5) * weight

    x = w["tok.W"][torch.tensor(idx)]
    for i in range(2):
        p = f"blocks.{i}."
        q, k, v = (rms(x, w[p + "norm1.weight"]) @ w[p + "attn.W_qkv"]).reshape(2, 6, 3, 2, 4).permute(2, 0, 3, 1, 4)
        o = F.scaled_dot_product_attention(torch_rope(q, positions), torch_rope(k, positions), v, is_causal=True)
        x = x + o.transpose(1, 2).reshape(2, 6, 8) @ w[p + "attn.W_o"]
        h = rms(x, w[p + "norm2.weight"])
        x = x + (F.silu(h @ w[p + "ffn.W1"]) * (h @ w[p + "ffn.W3"])) @ w[p + "ffn.W2"]
    h = rms(x, w["norm.weight"])
    logits = h @ (w["tok.W"].T if tie else w["head.W"])
    loss = F.cross_entropy(logits.reshape(-1, 23), torch.tensor(targets).reshape(-1))
    loss.backward()

    loss_fn = SequenceCrossEntropy()
    ours_logits = ours.forward(idx)
    np.testing.assert_allclose(ours_logits, logits.detach().numpy(), rtol=1e-11, atol=1e-12)
    assert loss_fn.forward(ours_logits, targets) == pytest.approx(loss.item(), rel=1e-12)
    ours.backward(loss_fn.backward())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, w[name].grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
