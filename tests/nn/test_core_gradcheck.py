"""The gradient checker itself: it must catch wrong gradients and NaNs, not only pass right ones."""

import numpy as np
import pytest

from labs.nn import (
    MLP, GradCheckReport, Linear, Parameter, SoftmaxCrossEntropy, gradcheck_fn, gradcheck_layer, gradcheck_model,
)
from labs.nn.gradcheck import GradCheckEntry, compare


class HalfGradientLinear(Linear):
    """A bug a learner might write: the weight gradient is off by a factor of two."""

    def backward(self, grad_out):
        grad_in = super().backward(grad_out)
        self.params["W"].grad *= 0.5
        return grad_in


class OneWrongEntryLinear(Linear):
    def backward(self, grad_out):
        grad_in = super().backward(grad_out)
        self.params["W"].grad[0, 0] += 1e-3
        return grad_in


def test_a_wrong_weight_gradient_fails_and_is_named():
    rng = np.random.default_rng(0)
    report = gradcheck_layer(HalfGradientLinear(4, 3, rng=rng), rng.standard_normal((5, 4)), rng=rng)
    assert not report.ok()
    assert report.worst().name == "W"
    assert [e.name for e in report.entries if not e.ok()] == ["W"]
    assert "FAIL" in str(report)


def test_one_slightly_wrong_entry_is_caught_by_the_elementwise_error():
    rng = np.random.default_rng(1)
    layer = OneWrongEntryLinear(30, 20, rng=rng)
    report = gradcheck_layer(layer, rng.standard_normal((8, 30)), rng=rng, max_entries=None)
    weight = report.entries[0]
    assert weight.max_elementwise > 1e-5
    assert not report.ok()


def test_a_nan_input_is_reported_never_passed():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4))
    x[1, 2] = np.nan
    report = gradcheck_layer(Linear(4, 2, rng=rng), x, rng=rng)
    assert not report.ok()
    assert np.isnan(report.max_normwise) and np.isnan(report.max_elementwise)
    assert "nan" in str(report)


def test_a_nan_gradient_is_reported():
    p = Parameter(np.array([1.0, 2.0]))

    def backward():
        p.grad[...] = [np.nan, 1.0]

    report = gradcheck_fn(lambda: float(p.data.sum()), backward, {"p": p})
    assert not report.ok() and np.isnan(report.entries[0].normwise)


def test_elementwise_error_ignores_noise_on_tiny_entries_but_not_on_large_ones():
    analytic = np.array([1.0, 1e-12])
    assert compare("w", analytic, analytic + [0.0, 1e-11], (2,)).max_elementwise < 1e-5
    assert compare("w", analytic, analytic + [1e-3, 0.0], (2,)).max_elementwise == pytest.approx(1e-3, rel=1e-2)


def test_float32_parameters_are_refused_with_a_clear_message():
    p = Parameter(np.ones(3, dtype=np.float32))
    with pytest.raises(ValueError, match="'w'.*float64"):
        gradcheck_fn(lambda: float(p.data.sum()), lambda: None, {"w": p})


def test_gradcheck_layer_restores_the_parameter_dtype():
    rng = np.random.default_rng(3)
    layer = Linear(3, 2, rng=rng)
    before = layer.params["W"].data.copy()
    assert gradcheck_layer(layer, rng.standard_normal((2, 3)).astype(np.float32), rng=rng).ok()
    assert layer.params["W"].data.dtype == np.float32
    np.testing.assert_array_equal(layer.params["W"].data, before)


def test_integer_inputs_need_check_input_false():
    with pytest.raises(ValueError, match="check_input=False"):
        gradcheck_layer(Linear(3, 2, rng=np.random.default_rng(0)), np.ones((2, 3), dtype=int))


def test_large_parameters_are_checked_on_a_seeded_subset():
    rng = np.random.default_rng(4)
    report = gradcheck_layer(Linear(40, 30, rng=rng), rng.standard_normal((2, 40)), rng=rng, max_entries=20)
    assert report.ok() and report.entries[0].shape == (40, 30)


def test_gradcheck_model_checks_every_parameter_and_the_input():
    rng = np.random.default_rng(5)
    model = MLP([4, 6, 3], activation="tanh", rng=rng)
    for _, p in model.named_parameters():
        p.data[...] = rng.standard_normal(p.data.shape) * 0.5
    report = gradcheck_model(model, SoftmaxCrossEntropy(), rng.standard_normal((5, 4)), rng.integers(0, 3, 5))
    assert [e.name for e in report.entries] == ["0.W", "0.b", "2.W", "2.b", "input:x"]
    assert report.ok(), str(report)


def test_an_empty_report_is_not_ok():
    report = GradCheckReport([])
    assert not report.ok()
    with pytest.raises(ValueError, match="empty"):
        report.worst()


def test_report_maxima_and_worst():
    report = GradCheckReport([GradCheckEntry("a", (1,), 1e-9, 1e-7), GradCheckEntry("b", (2,), 1e-6, 1e-8)])
    assert report.max_normwise == 1e-6 and report.max_elementwise == 1e-7
    assert report.worst().name == "b"
    assert report.ok(normwise_tol=1e-5) and not report.ok()
