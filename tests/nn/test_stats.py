"""labs.nn.stats: the traced passes change no number, and the summaries are what they say."""

from __future__ import annotations

import numpy as np
import pytest

from labs.nn import Adam, Linear, ReLU, Sequential, Sigmoid, SoftmaxCrossEntropy, Tanh, deep_mlp
from labs.nn.stats import (
    ACTIVATION_EDGES, GRADIENT_EDGES, NetworkStats, backward_with_stats, forward_with_stats, measure, tensor_stats,
)


def _batch(rng, n=16):
    return rng.standard_normal((n, 64)).astype(np.float32), rng.integers(0, 10, n)


@pytest.mark.parametrize("norm, residual", [("none", False), ("batch", False), ("batch", True)])
def test_training_with_the_traced_passes_gives_the_same_numbers_bit_for_bit(norm, residual):
    """Three Adam steps each way: same losses, input gradients, weights and running statistics."""
    plain = deep_mlp(6, 16, rng=np.random.default_rng(0), norm=norm, residual=residual)
    traced = deep_mlp(6, 16, rng=np.random.default_rng(0), norm=norm, residual=residual)
    opt_a, opt_b = Adam(plain.parameters(), lr=0.01), Adam(traced.parameters(), lr=0.01)
    loss_a, loss_b = SoftmaxCrossEntropy(), SoftmaxCrossEntropy()
    rng = np.random.default_rng(1)
    for _ in range(3):
        x, y = _batch(rng)
        opt_a.zero_grad()
        opt_b.zero_grad()
        value_a = loss_a.forward(plain.forward(x), y)
        dx_a = plain.backward(loss_a.backward())
        pred, records = forward_with_stats(traced, x)
        value_b = loss_b.forward(pred, y)
        dx_b, _ = backward_with_stats(traced, loss_b.backward(), records)
        assert value_a == value_b
        np.testing.assert_array_equal(dx_a, dx_b)
        opt_a.step()
        opt_b.step()
    a, b = plain.state_dict(), traced.state_dict()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_each_layers_summary_is_of_its_output_and_of_the_gradient_at_it():
    rng = np.random.default_rng(2)
    model = Sequential(Linear(64, 8, rng=rng), ReLU(), Linear(8, 10, rng=rng))
    x, y = _batch(rng)
    outputs = [model[0].forward(x)]
    outputs.append(model[1].forward(outputs[0]))
    outputs.append(model[2].forward(outputs[1]))
    loss = SoftmaxCrossEntropy()
    loss.forward(outputs[2], y)
    grads = [loss.backward()]
    grads.insert(0, model[2].backward(grads[0]))
    grads.insert(0, model[1].backward(grads[0]))
    model.zero_grad()

    _, stats = measure(model, SoftmaxCrossEntropy(), x, y)
    assert [layer.kind for layer in stats.layers] == ["Linear", "ReLU", "Linear"]
    for layer, out, grad in zip(stats.layers, outputs, grads):
        assert layer.activation.mean == pytest.approx(float(out.astype(np.float64).mean()), rel=1e-12)
        assert layer.activation.std == pytest.approx(float(out.astype(np.float64).std()), rel=1e-12)
        assert layer.gradient.std == pytest.approx(float(grad.astype(np.float64).std()), rel=1e-12)
        assert layer.activation.histogram.counts == np.histogram(out, bins=ACTIVATION_EDGES)[0].tolist()
    relu = stats.layers[1]
    assert relu.activation.zero_fraction == pytest.approx(float(np.mean(outputs[1] == 0)))
    assert stats.layers[0].param_grad_norm == pytest.approx(
        float(np.sqrt((model[0].params["W"].grad.astype(np.float64) ** 2).sum()
                      + (model[0].params["b"].grad.astype(np.float64) ** 2).sum())), rel=1e-6)
    assert relu.param_norm is None and relu.dead_fraction is not None and relu.saturated_fraction is None


def test_histogram_counts_every_entry_once_in_a_bin_below_above_or_nonfinite():
    values = np.array([-10.0, -3.0, -0.1, 0.0, 0.0, 2.9, 3.0, 7.0, np.nan, np.inf])
    s = tensor_stats(values, ACTIVATION_EDGES)
    h = s.histogram
    assert (h.below, h.above, h.nonfinite) == (1, 1, 2)  # -10; 7; NaN and inf
    assert sum(h.counts) + h.below + h.above + h.nonfinite == s.size == 10
    assert h.counts[0] == 1 and h.counts[-1] == 2  # -3.0 in the first bin; 2.9 and 3.0 (right edge) in the last
    assert s.mean == pytest.approx(np.mean([-10, -3, -0.1, 0, 0, 2.9, 3, 7]))
    assert s.zero_fraction == pytest.approx(2 / 8)
    with pytest.raises(ValueError, match="increasing"):
        tensor_stats(values, [0.0, 0.0, 1.0])


def test_a_unit_pushed_below_zero_for_every_sample_is_dead():
    rng = np.random.default_rng(3)
    first = Linear(64, 8, rng=rng)
    first.params["b"].data[[2, 5]] = -1e3  # two units can never switch on
    model = Sequential(first, ReLU(), Linear(8, 10, rng=rng))
    _, records = forward_with_stats(model, _batch(rng)[0])
    assert records[1].dead_fraction == pytest.approx(2 / 8)


def test_large_weights_saturate_sigmoid_and_tanh():
    rng = np.random.default_rng(4)
    x = _batch(rng)[0]
    for act in (Sigmoid(), Tanh()):
        big = Linear(64, 32, rng=rng)
        big.params["W"].data *= 30
        _, records = forward_with_stats(Sequential(big, act), x)
        assert records[1].saturated_fraction > 0.9
        small = Linear(64, 32, rng=rng)
        small.params["W"].data *= 0.01
        _, records = forward_with_stats(Sequential(small, act), x)
        assert records[1].saturated_fraction == 0.0


def test_the_stats_show_gradients_vanishing_through_a_deep_sigmoid_stack_and_batchnorm_keeping_them():
    """The picture the deep-networks lab draws: the gradient's spread at the first hidden layer against
    the last, at initialisation."""
    rng = np.random.default_rng(5)
    x, y = _batch(rng, n=64)
    ratios = {}
    for norm in ("none", "batch"):
        model = deep_mlp(20, 32, rng=np.random.default_rng(6), activation="sigmoid", norm=norm)
        _, stats = measure(model, SoftmaxCrossEntropy(), x, y)
        hidden = [layer.gradient.std for layer in stats.layers if layer.kind == "Sigmoid"]
        ratios[norm] = hidden[0] / hidden[-1]
    assert ratios["none"] < 1e-4 < 0.1 < ratios["batch"]


def test_the_stats_are_plain_data_that_survive_json():
    rng = np.random.default_rng(7)
    _, stats = measure(deep_mlp(4, 8, rng=rng, norm="batch", residual=True), SoftmaxCrossEntropy(), *_batch(rng))
    again = NetworkStats.model_validate_json(stats.model_dump_json())
    assert again == stats
    assert stats.series("std", of="gradient") == [layer.gradient.std for layer in stats.layers]
    assert stats.layers[3].kind == "ResidualMLPBlock" and stats.layers[3].dead_fraction is not None
    assert stats.layers[0].gradient.histogram.edges == list(GRADIENT_EDGES)


def test_a_model_that_is_not_a_sequential_or_mismatched_records_are_named():
    rng = np.random.default_rng(8)
    with pytest.raises(TypeError, match="need a Sequential.*Linear"):
        forward_with_stats(Linear(3, 2, rng=rng), np.zeros((2, 3), np.float32))
    model = Sequential(Linear(3, 2, rng=rng))
    out, records = forward_with_stats(model, np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="hold 0 layers, the model has 1"):
        backward_with_stats(model, np.ones_like(out), [])
