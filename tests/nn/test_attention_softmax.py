"""The causal softmax shifts rows by their diagonal score for speed; it must equal the textbook softmax
(shift by the row maximum), including the rare rows where only the maximum keeps exp from overflowing."""

from __future__ import annotations

import numpy as np
import pytest

from labs.nn import reference as twins
from labs.nn.attention import causal_mask, causal_softmax


def reference(q: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The max-shifted causal softmax, in float64, of the same float32 scores the layer computes."""
    return twins.causal_softmax((q @ np.swapaxes(k, -1, -2)).astype(np.float64))


@pytest.mark.parametrize("scale", [0.1, 1.0, 30.0, 300.0])
def test_causal_softmax_equals_the_max_shifted_softmax(scale):
    rng = np.random.default_rng(7)
    q = (rng.standard_normal((2, 3, 12, 8)) * scale).astype(np.float32)
    k = (rng.standard_normal((2, 3, 12, 8)) * scale).astype(np.float32)
    p = causal_softmax(q, k, causal_mask(12, np.float32))
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p, reference(q, k), rtol=2e-4, atol=1e-6)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-5)
    assert (p[..., np.triu_indices(12, 1)[0], np.triu_indices(12, 1)[1]] == 0).all()  # never attends ahead


def test_a_row_whose_diagonal_is_far_below_its_maximum_does_not_overflow():
    """Query t points along key 0 and away from its own key: the diagonal shift alone would give exp(+huge)."""
    q = np.zeros((1, 4, 2), dtype=np.float32)
    k = np.zeros((1, 4, 2), dtype=np.float32)
    k[0, 0] = [50.0, 0.0]
    k[0, 1:] = [-50.0, 0.0]
    q[0, :] = [50.0, 0.0]
    p = causal_softmax(q, k, causal_mask(4, np.float32))
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p, reference(q, k), atol=1e-6)
    assert p[0, 3, 0] == pytest.approx(1.0)
