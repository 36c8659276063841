"""RNN, LSTM and GRU: back-propagation through time checked against finite differences."""

import numpy as np
import pytest

from labs.nn.gradcheck import gradcheck_fn, gradcheck_layer
from labs.nn.recurrent import CELLS, make_recurrent

STEPS = 12  # more than ten steps, so a truncated backward pass would show


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_gradients_through_every_step_match_finite_differences(cell):
    rng = np.random.default_rng(3)
    layer = make_recurrent(cell, 3, 4, rng=rng)
    for p in layer.parameters():  # non-zero biases, so every bias path is exercised
        p.data = p.data + rng.uniform(-0.3, 0.3, p.shape).astype(p.data.dtype)
    report = gradcheck_layer(layer, rng.standard_normal((2, STEPS, 3)), rng=rng)
    assert report.ok(1e-7, 1e-5), str(report)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_initial_state_gradient_matches_finite_differences(cell):
    rng = np.random.default_rng(4)
    layer = make_recurrent(cell, 2, 3, rng=rng, dtype=np.float64)
    x = rng.standard_normal((2, 5, 2))
    state = {f"s{i}": rng.standard_normal((2, 3)) for i in range(layer.n_state)}
    weights = rng.standard_normal((2, 5, 3))
    final_weights = rng.standard_normal((2, 3))

    def loss():  # the last state's value enters the loss too, so its gradient path is checked
        out = layer.forward(x, initial_state=tuple(state.values()))
        return float(np.sum(out * weights) + np.sum(layer.final_state[-1] * final_weights))

    def backward():
        final = [np.zeros((2, 3)) for _ in range(layer.n_state)]
        final[-1] = final_weights
        layer.backward(weights, grad_final_state=tuple(final))

    report = gradcheck_fn(
        loss, backward, dict(layer.named_parameters()), inputs=state,
        input_grads=lambda: {f"s{i}": g for i, g in enumerate(layer.grad_initial_state)}, rng=rng,
    )
    assert report.ok(1e-7, 1e-5), str(report)


def loss_at(layer, x, weights, i, shift):
    """The loss with the first time step's input feature i moved by `shift`."""
    moved = x.copy()
    moved[0, 0, i] += shift
    return float(np.sum(layer.forward(moved) * weights))


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_backprop_reaches_the_first_step(cell):
    """A loss on the LAST output only: the first input's gradient must be non-zero and correct."""
    rng = np.random.default_rng(5)
    layer = make_recurrent(cell, 3, 5, rng=rng, dtype=np.float64)
    layer.params["W_h"].data *= 3.0  # a strong recurrence so the signal survives 12 steps
    x = rng.standard_normal((1, STEPS, 3))
    weights = np.zeros((1, STEPS, 5))
    weights[0, -1] = rng.standard_normal(5)
    layer.forward(x)
    grad_first = layer.backward(weights)[0, 0]
    numeric = np.array([(loss_at(layer, x, weights, i, 1e-6) - loss_at(layer, x, weights, i, -1e-6)) / 2e-6
                        for i in range(3)])
    assert np.abs(grad_first).max() > 1e-6
    np.testing.assert_allclose(grad_first, numeric, rtol=1e-5, atol=1e-10)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_continuing_from_final_state_equals_one_long_run(cell):
    rng = np.random.default_rng(6)
    layer = make_recurrent(cell, 3, 4, rng=rng, dtype=np.float64)
    x = rng.standard_normal((2, 8, 3))
    whole = layer.forward(x)
    first = layer.forward(x[:, :5])
    second = layer.forward(x[:, 5:], initial_state=layer.final_state)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, rtol=1e-12)


@pytest.mark.parametrize("cell, gates, extra", [("rnn", 1, 0), ("lstm", 4, 0), ("gru", 3, 1)])
def test_parameter_count_matches_closed_form(cell, gates, extra):
    layer = make_recurrent(cell, 7, 5, rng=np.random.default_rng(0))
    assert layer.num_parameters() == gates * 5 * (7 + 5 + 1 + extra)
    assert layer.num_parameters() == type(layer).count_parameters(7, 5)


def test_bad_shapes_and_cell_names_are_named_in_the_error():
    layer = make_recurrent("lstm", 3, 4, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\(batch, time, 3\)"):
        layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match="initial_state must be 2"):
        layer.forward(np.ones((2, 5, 3)), initial_state=(np.zeros((2, 4)),))
    with pytest.raises(ValueError, match="unknown recurrent cell 'transformer'"):
        make_recurrent("transformer", 3, 4, rng=np.random.default_rng(0))
