"""Causal self-attention and the transformer block: gradients, causality, a stable softmax."""

import numpy as np
import pytest

from labs.nn.attention import CausalSelfAttention, TransformerBlock, causal_mask
from labs.nn.gradcheck import gradcheck_layer
from labs.nn.losses import softmax


def randomise(layer, rng, scale=0.5):
    """Weights big enough that attention is far from uniform (the default 0.02 makes it nearly so)."""
    for p in layer.parameters():
        p.data = (rng.standard_normal(p.shape) * scale).astype(p.data.dtype)


def test_attention_gradients_with_the_causal_mask_match_finite_differences():
    rng = np.random.default_rng(0)
    layer = CausalSelfAttention(8, 2, rng=rng)
    randomise(layer, rng)
    report = gradcheck_layer(layer, rng.standard_normal((2, 5, 8)), rng=rng)
    assert report.ok(1e-7, 1e-5), str(report)


def test_transformer_block_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    block = TransformerBlock(8, 2, rng=rng)
    randomise(block, rng, scale=0.3)
    report = gradcheck_layer(block, rng.standard_normal((2, 4, 8)), rng=rng)
    assert report.ok(1e-7, 1e-5), str(report)


@pytest.mark.parametrize("make", [
    lambda rng: CausalSelfAttention(8, 4, rng=rng, dtype=np.float64),
    lambda rng: TransformerBlock(8, 4, rng=rng, dtype=np.float64),
], ids=["attention", "block"])
def test_changing_token_t_never_changes_earlier_outputs(make):
    rng = np.random.default_rng(2)
    layer = make(rng)
    randomise(layer, rng)
    x = rng.standard_normal((1, 6, 8))
    before = layer.forward(x)
    for t in range(6):
        changed = x.copy()
        changed[0, t] += 5.0
        after = layer.forward(changed)
        np.testing.assert_array_equal(after[0, :t], before[0, :t])
        assert np.abs(after[0, t:] - before[0, t:]).max() > 1e-3  # ...but does change t and later


def test_first_position_attends_only_to_itself():
    rng = np.random.default_rng(3)
    layer = CausalSelfAttention(4, 1, rng=rng, dtype=np.float64)
    randomise(layer, rng)
    x = rng.standard_normal((1, 3, 4))
    out = layer.forward(x)
    p = layer.params
    value = (x[0, 0] @ p["W_qkv"].data + p["b_qkv"].data)[8:]
    np.testing.assert_allclose(out[0, 0], value @ p["W_proj"].data + p["b_proj"].data, rtol=1e-12)


def test_mask_and_softmax_are_exact_and_stable():
    mask = causal_mask(3)
    assert np.all(mask[np.tril_indices(3)] == 0) and np.all(np.isneginf(mask[np.triu_indices(3, 1)]))
    probs = softmax(np.array([[1000.0, 999.0, -np.inf]]))
    np.testing.assert_allclose(probs, [[1 / (1 + np.exp(-1)), np.exp(-1) / (1 + np.exp(-1)), 0.0]])


def test_parameter_counts_match_closed_forms():
    rng = np.random.default_rng(0)
    assert CausalSelfAttention(16, 4, rng=rng).num_parameters() == 4 * 16 * 16 + 4 * 16
    assert TransformerBlock(16, 4, rng=rng).num_parameters() == 12 * 16 * 16 + 13 * 16
    with pytest.raises(ValueError, match="not divisible"):
        CausalSelfAttention(10, 3, rng=rng)
