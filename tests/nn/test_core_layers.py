"""Dense layers and activations: gradients agree with finite differences, dropout behaves as inverted dropout."""

import numpy as np
import pytest

from labs.nn import (
    GELU, Dropout, Flatten, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Tanh, gradcheck_fn, gradcheck_layer,
)
from labs.nn.layers import make_activation


def _with_random_bias(layer, rng):
    """Zero biases would park inputs on ReLU kinks; random ones make the check meaningful."""
    for name, p in layer.named_parameters():
        if name.endswith("b"):
            p.data[...] = rng.standard_normal(p.data.shape)
    return layer


@pytest.mark.parametrize("make", [
    lambda rng: Linear(5, 4, rng=rng),
    lambda rng: ReLU(),
    lambda rng: LeakyReLU(0.1),
    lambda rng: Tanh(),
    lambda rng: Sigmoid(),
    lambda rng: GELU(),
    lambda rng: Sequential(Linear(5, 6, rng=rng), ReLU(), Linear(6, 3, rng=rng, init="xavier_uniform")),
], ids=["linear", "relu", "leaky_relu", "tanh", "sigmoid", "gelu", "sequential"])
def test_layer_gradients_match_finite_differences(make):
    rng = np.random.default_rng(0)
    layer = _with_random_bias(make(rng), rng)
    report = gradcheck_layer(layer, rng.standard_normal((4, 5)), rng=rng)
    assert report.ok(), str(report)
    assert report.entries[-1].name == "input:x"


def test_linear_accepts_a_time_axis_and_checks_its_gradient():
    rng = np.random.default_rng(1)
    layer = _with_random_bias(Linear(3, 2, rng=rng), rng)
    x = rng.standard_normal((2, 4, 3))
    assert layer.forward(x).shape == (2, 4, 2)
    assert gradcheck_layer(layer, x, rng=rng).ok()


def test_linear_rejects_a_wrong_width_naming_both_sizes():
    with pytest.raises(ValueError, match="last axis 3.*\\(2, 5\\)"):
        Linear(3, 2, rng=np.random.default_rng(0)).forward(np.zeros((2, 5)))


def test_gelu_matches_its_defining_formula_and_is_near_relu_far_from_zero():
    """The layer the networks run (its in-place passes), not a separate function."""
    gelu = GELU().forward
    x = np.linspace(-6, 6, 13)
    expected = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    np.testing.assert_allclose(gelu(x), expected, rtol=1e-12)
    np.testing.assert_allclose(gelu(np.array([-6.0, 6.0])), [0.0, 6.0], atol=1e-6)


def test_sigmoid_is_finite_and_saturates_for_huge_inputs():
    y = Sigmoid().forward(np.array([-1e4, 0.0, 1e4]))
    np.testing.assert_array_equal(y, [0.0, 0.5, 1.0])


def test_dropout_is_inverted_in_training_and_identity_in_eval():
    x = np.ones((200, 50), dtype=np.float32)
    drop = Dropout(0.25, rng=np.random.default_rng(0))
    y = drop.forward(x)
    assert y.dtype == np.float32
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.02
    assert abs(y.mean() - 1.0) < 0.03                     # expectation preserved
    np.testing.assert_array_equal(drop.backward(x), y)    # same mask on the way back
    drop.eval()
    assert drop.forward(x) is x


def test_dropout_gradient_with_a_fixed_mask():
    rng = np.random.default_rng(3)
    drop = Dropout(0.5, rng=rng)
    x = rng.standard_normal((3, 4))
    weights = rng.standard_normal((3, 4))
    grads = {}

    def loss():
        drop.rng = np.random.default_rng(7)   # the same mask on every forward
        return float((drop.forward(x) * weights).sum())

    report = gradcheck_fn(loss, lambda: grads.update(x=drop.backward(weights)), {},
                          inputs={"x": x}, input_grads=lambda: grads)
    assert report.ok(), str(report)


def test_dropout_rejects_probability_one():
    with pytest.raises(ValueError, match="\\[0, 1\\)"):
        Dropout(1.0, rng=np.random.default_rng(0))


def test_flatten_round_trips_the_shape():
    x = np.arange(24.0).reshape(2, 3, 2, 2)
    flat = Flatten()
    assert flat.forward(x).shape == (2, 12)
    assert flat.backward(np.ones((2, 12))).shape == x.shape


def test_sequential_names_parameters_by_position_and_accumulates_gradients():
    rng = np.random.default_rng(0)
    net = Sequential(Linear(2, 3, rng=rng), Tanh(), Linear(3, 1, rng=rng))
    assert [n for n, _ in net.named_parameters()] == ["0.W", "0.b", "2.W", "2.b"]
    x = rng.standard_normal((4, 2))
    net.forward(x)
    net.backward(np.ones((4, 1)))
    once = net[0].params["W"].grad.copy()
    net.forward(x)
    net.backward(np.ones((4, 1)))
    np.testing.assert_allclose(net[0].params["W"].grad, 2 * once)


def test_unknown_activation_lists_the_choices():
    with pytest.raises(ValueError, match="swish.*gelu"):
        make_activation("swish")
