"""Embedding and LayerNorm: gradients against finite differences, the fast scatter, edge cases."""

import numpy as np
import pytest

from labs.nn import embedding as embedding_module
from labs.nn import reference
from labs.nn.embedding import Embedding, scatter_rows
from labs.nn.gradcheck import gradcheck_layer
from labs.nn.normalization import LayerNorm


@pytest.mark.parametrize("limit", [embedding_module._ONE_HOT_LIMIT, 0], ids=["one-hot", "sort-reduceat"])
def test_scatter_rows_equals_np_add_at(monkeypatch, limit):
    monkeypatch.setattr(embedding_module, "_ONE_HOT_LIMIT", limit)
    rng = np.random.default_rng(1)
    idx = rng.integers(0, 11, size=(4, 9))  # repeated ids must add up, unused rows stay zero
    idx[0, 0] = 12
    grad = rng.standard_normal((4, 9, 5))
    np.testing.assert_allclose(scatter_rows(idx, grad, 13), reference.scatter_rows(idx, grad, 13),
                               rtol=1e-12, atol=1e-12)


def test_embedding_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    layer = Embedding(7, 4, rng=rng, std=1.0)
    idx = rng.integers(0, 7, size=(3, 5))
    report = gradcheck_layer(layer, idx, rng=rng, check_input=False)
    assert report.ok(1e-7, 1e-5), str(report)


def test_embedding_looks_up_rows_and_rejects_bad_ids():
    layer = Embedding(5, 3, rng=np.random.default_rng(0))
    idx = np.array([[4, 0, 4]])
    out = layer.forward(idx)
    np.testing.assert_array_equal(out[0, 0], layer.params["W"].data[4])
    np.testing.assert_array_equal(out[0, 0], out[0, 2])
    with pytest.raises(ValueError, match="token index 5"):
        layer.forward(np.array([[1, 5]]))
    with pytest.raises(ValueError, match="token index -1"):
        layer.forward(np.array([[-1, 2]]))
    with pytest.raises(ValueError, match="integers"):
        layer.forward(np.array([[0.5]]))


def test_layernorm_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    layer = LayerNorm(6)
    layer.params["gamma"].data = rng.standard_normal(6).astype(np.float32)
    layer.params["beta"].data = rng.standard_normal(6).astype(np.float32)
    report = gradcheck_layer(layer, rng.standard_normal((2, 3, 6)) * 3 + 1, rng=rng)
    assert report.ok(1e-7, 1e-5), str(report)


def test_layernorm_normalises_rows_and_survives_a_constant_row():
    layer = LayerNorm(4, dtype=np.float64)
    layer.params["beta"].data[:] = [0.5, -1.0, 2.0, 0.0]
    x = np.array([[1.0, 2.0, 3.0, 10.0], [7.0, 7.0, 7.0, 7.0]])
    out = layer.forward(x)
    centred = out[0] - layer.params["beta"].data
    assert abs(centred.mean()) < 1e-12 and abs(centred.std() - 1.0) < 1e-5
    np.testing.assert_array_equal(out[1], layer.params["beta"].data)  # constant row -> beta, no NaN
    grad = layer.backward(np.ones_like(out))
    assert np.all(np.isfinite(grad))
    with pytest.raises(ValueError, match="last axis 4"):
        layer.forward(np.ones((2, 5)))
