"""Every tuned kernel equals its plain twin in labs.nn.reference: outputs and every gradient, in float64.

The tuned code (in-place passes, one tanh for all gates, a diagonal-shifted softmax, flat optimiser
state) must compute the same function as the obvious code written from the equations; these tests are
where a speed trick that changed the maths would show. Tolerance 1e-12, relative to each entry and,
for entries near zero, to the array's largest entry (a difference of cancelling terms carries the
rounding of the terms, not of the result): the two differ only by float64 rounding.
"""

from __future__ import annotations

import numpy as np
import pytest

from labs.nn import (
    GELU, Adam, AdamW, AvgPool2D, CausalSelfAttention, Conv2D, LayerNorm, MaxPool2D, Parameter, ReLU,
    SequenceCrossEntropy, Sigmoid, SoftmaxCrossEntropy, reference,
)
from labs.nn.attention import causal_mask, causal_softmax
from labs.nn.batchnorm import BatchNorm1d, BatchNorm2d
from labs.nn.layers import column_sums, row_sums
from labs.nn.losses import softmax_cross_entropy
from labs.nn.recurrent import make_recurrent

TOLERANCE = 1e-12


def same(actual, expected, err_msg=""):
    expected = np.asarray(expected)
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=TOLERANCE, atol=TOLERANCE * scale, err_msg=err_msg)


def param_grads(layer) -> dict[str, np.ndarray]:
    return {name: p.grad for name, p in layer.named_parameters()}


def assert_grads_equal(layer, expected: dict[str, np.ndarray]) -> None:
    grads = param_grads(layer)
    assert set(grads) == set(expected)
    for name, grad in grads.items():
        same(grad, expected[name], err_msg=name)


# -- activations ---------------------------------------------------------------------------------------
def test_the_gelu_layer_equals_the_gelu_formula_and_its_derivative():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(500) * 3, [-30.0, -6.0, 0.0, 6.0, 30.0]]).reshape(5, 101)
    g = rng.standard_normal(x.shape)
    layer = GELU()
    same(layer.forward(x), reference.gelu(x))
    same(layer.backward(g), reference.gelu_backward(x, g))


def test_the_relu_layer_equals_max_x_0():
    rng = np.random.default_rng(1)
    x, g = rng.standard_normal((6, 7)), rng.standard_normal((6, 7))
    layer = ReLU()
    same(layer.forward(x), reference.relu(x))
    same(layer.backward(g), reference.relu_backward(x, g))


def test_the_sigmoid_layer_equals_one_over_one_plus_e_to_the_minus_x():
    """The layer computes 0.5 (1 + tanh(x / 2)), which cannot overflow; it must be the same function."""
    rng = np.random.default_rng(11)
    x, g = rng.standard_normal((6, 7)) * 5, rng.standard_normal((6, 7))
    layer = Sigmoid()
    y = layer.forward(x)
    same(y, reference.sigmoid(x))
    same(layer.backward(g), reference.sigmoid_backward(reference.sigmoid(x), g))


@pytest.mark.parametrize("shape", [(3, 10), (64, 64), (4, 16, 64)], ids=["small", "blas", "3d"])
def test_blas_row_and_column_sums_equal_numpy_sums(shape):
    """Small arrays take NumPy's reduction and large ones a BLAS product: both must be plain sums."""
    a = np.random.default_rng(2).standard_normal(shape)
    same(row_sums(a), reference.row_sums(a))
    same(row_sums(a, 1 / shape[-1]), reference.row_sums(a, 1 / shape[-1]))
    same(column_sums(a), reference.column_sums(a))


# -- losses --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [1.0, 1e4], ids=["ordinary", "huge-logits"])
@pytest.mark.parametrize("weighted", [False, True], ids=["mean", "weighted"])
def test_fused_cross_entropy_equals_log_softmax_then_pick(scale, weighted):
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((40, 9)) * scale
    targets = rng.integers(0, 9, 40)
    weights = (rng.random(40) > 0.3).astype(np.float64) if weighted else None
    value, grad = softmax_cross_entropy(logits, targets, weights)
    expected_value, expected_grad = reference.cross_entropy(logits, targets, weights)
    assert value == pytest.approx(expected_value, rel=1e-12)
    same(grad, expected_grad)


def test_the_loss_objects_use_the_fused_kernel():
    rng = np.random.default_rng(4)
    logits, targets = rng.standard_normal((2, 5, 6)), rng.integers(0, 6, (2, 5))
    loss = SequenceCrossEntropy()
    value, grad = reference.cross_entropy(logits.reshape(10, 6), targets.reshape(10))
    assert loss.forward(logits, targets) == pytest.approx(value, rel=1e-12)
    same(loss.backward(), grad.reshape(2, 5, 6))
    flat = SoftmaxCrossEntropy()
    assert flat.forward(logits.reshape(10, 6), targets.reshape(10)) == pytest.approx(value, rel=1e-12)


# -- LayerNorm -----------------------------------------------------------------------------------------
def test_layernorm_in_place_passes_equal_the_chain_rule_through_mean_and_variance():
    rng = np.random.default_rng(5)
    layer = LayerNorm(8, dtype=np.float64)
    layer.params["gamma"].data = rng.standard_normal(8)
    layer.params["beta"].data = rng.standard_normal(8)
    x = rng.standard_normal((3, 4, 8)) * 3 + 1
    x[0, 0] = 2.5  # a constant row: variance 0, output beta
    g = rng.standard_normal(x.shape)
    expected, cache = reference.layer_norm(x, layer.params["gamma"].data, layer.params["beta"].data, layer.eps)
    same(layer.forward(x), expected)
    expected_dx, expected_grads = reference.layer_norm_backward(g, cache)
    same(layer.backward(g), expected_dx)
    assert_grads_equal(layer, expected_grads)


# -- BatchNorm ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, shape", [(BatchNorm1d, (7, 5)), (BatchNorm1d, (4, 3, 6)), (BatchNorm2d, (3, 4, 5, 6)),
                                         (BatchNorm1d, (64, 64))], ids=["rows", "sequence", "images", "blas"])
def test_batchnorm_compact_backward_equals_the_chain_rule_through_mean_and_variance(make, shape):
    """Training mode: the in-place compact dx against the step-by-step twin, and the running update;
    then eval mode against its affine twin. A constant channel (variance 0) is included."""
    rng = np.random.default_rng(12)
    layer = make(shape[1], dtype=np.float64)
    gamma, beta = layer.params["gamma"], layer.params["beta"]
    gamma.data[...] = rng.uniform(0.5, 2.0, shape[1])
    beta.data[...] = rng.standard_normal(shape[1])
    x = rng.standard_normal(shape) * 3 + 1
    x[:, 0] = 2.5
    g = rng.standard_normal(shape)
    mean, var = layer.buffers["running_mean"].copy(), layer.buffers["running_var"].copy()
    expected, cache = reference.batch_norm(x, gamma.data, beta.data, layer.eps)
    same(layer.forward(x), expected)
    expected_dx, expected_grads = reference.batch_norm_backward(g, cache)
    same(layer.backward(g), expected_dx)
    assert_grads_equal(layer, expected_grads)
    expected_mean, expected_var = reference.batch_norm_running(mean, var, x, layer.momentum)
    same(layer.buffers["running_mean"], expected_mean)
    same(layer.buffers["running_var"], expected_var)

    layer.zero_grad()
    layer.eval()
    x = rng.standard_normal(shape)
    expected, expected_dx, expected_grads = reference.batch_norm_eval(
        x, gamma.data, beta.data, layer.buffers["running_mean"], layer.buffers["running_var"], layer.eps, g)
    same(layer.forward(x), expected)
    same(layer.backward(g), expected_dx)
    assert_grads_equal(layer, expected_grads)


# -- attention -----------------------------------------------------------------------------------------
def _attention(rng, dim=8, heads=2, scale=0.5):
    layer = CausalSelfAttention(dim, heads, rng=rng, dtype=np.float64)
    for p in layer.parameters():
        p.data = rng.standard_normal(p.shape) * scale
    return layer


def _check_attention(layer, x, rng):
    p = {name: q.data for name, q in layer.params.items()}
    expected, cache = reference.attention(x, p["W_qkv"], p["b_qkv"], p["W_proj"], p["b_proj"], layer.n_heads)
    same(layer.forward(x), expected)
    g = rng.standard_normal(x.shape)
    expected_dx, expected_grads = reference.attention_backward(g, cache)
    same(layer.backward(g), expected_dx)
    assert_grads_equal(layer, expected_grads)


@pytest.mark.parametrize("steps", [1, 2, 7], ids=["T=1", "T=2", "T=7"])
def test_attention_equals_per_head_softmax_attention(steps):
    rng = np.random.default_rng(6 + steps)
    layer = _attention(rng)
    _check_attention(layer, rng.standard_normal((2, steps, 8)), rng)


def test_attention_equals_its_twin_where_rows_take_the_row_maximum_fallback():
    """Large weights: some rows' Cauchy-Schwarz bound exceeds the diagonal by more than the margin, so
    the tuned softmax shifts them by their maximum; the result must still equal the twin's."""
    rng = np.random.default_rng(8)
    layer = _attention(rng, scale=1.2)
    x = rng.standard_normal((2, 6, 8)) * 2
    _check_attention(layer, x, rng)
    _, q, k, *_ = layer.cache
    diagonal = np.einsum("...ii->...i", q @ np.swapaxes(k, -1, -2))
    bound = np.sqrt((q * q).sum(-1) * np.maximum.accumulate((k * k).sum(-1), axis=-1))
    fallback = bound - diagonal > 80.0
    assert fallback.any() and not fallback.all()  # both branches of the shift ran


def test_causal_softmax_overflow_row_equals_the_max_shifted_twin_in_float64():
    """Query t points along key 0 and away from its own key: shifting by the diagonal alone would give
    exp(+5000), which overflows even float64."""
    q = np.zeros((1, 4, 2))
    k = np.zeros((1, 4, 2))
    k[0, 0] = [50.0, 0.0]
    k[0, 1:] = [-50.0, 0.0]
    q[0, :] = [50.0, 0.0]
    p = causal_softmax(q, k, causal_mask(4, np.float64))
    assert np.isfinite(p).all()
    same(p, reference.causal_softmax(q @ np.swapaxes(k, -1, -2)))


def test_causal_softmax_equals_its_twin_on_random_rows():
    rng = np.random.default_rng(9)
    q, k = rng.standard_normal((2, 3, 9, 4)) * 2, rng.standard_normal((2, 3, 9, 4)) * 2
    same(causal_softmax(q, k, causal_mask(9, np.float64)), reference.causal_softmax(q @ np.swapaxes(k, -1, -2)))


def test_the_causal_mask_equals_its_twin():
    np.testing.assert_array_equal(causal_mask(5, np.float64), reference.causal_mask(5))


# -- recurrent layers ----------------------------------------------------------------------------------
TWINS = {
    "rnn": (reference.rnn, reference.rnn_backward),
    "lstm": (reference.lstm, reference.lstm_backward),
    "gru": (reference.gru, reference.gru_backward),
}


@pytest.mark.parametrize("steps", [1, 9], ids=["T=1", "T=9"])
@pytest.mark.parametrize("given_state", [False, True], ids=["zero-state", "state-given"])
@pytest.mark.parametrize("cell", sorted(TWINS))
def test_recurrent_layer_equals_the_step_by_step_twin(cell, given_state, steps):
    rng = np.random.default_rng(10 + steps)
    layer = make_recurrent(cell, 3, 5, rng=rng, dtype=np.float64)
    for p in layer.parameters():  # non-zero biases, so every bias path counts
        p.data = p.data + rng.uniform(-0.5, 0.5, p.shape)
    x = rng.standard_normal((4, steps, 3))
    state = tuple(rng.standard_normal((4, 5)) for _ in range(layer.n_state)) if given_state else None
    forward, backward = TWINS[cell]
    weights = [p.data for p in layer.params.values()]
    expected, expected_final, cache = forward(x, *weights, state=state)

    same(layer.forward(x, initial_state=state), expected)
    for got, want in zip(layer.final_state, expected_final, strict=True):
        same(got, want)

    g = rng.standard_normal(expected.shape)
    g_final = tuple(rng.standard_normal((4, 5)) for _ in range(layer.n_state)) if given_state else None
    expected_dx, expected_dstate, expected_grads = backward(g, g_final, cache)
    same(layer.backward(g, grad_final_state=g_final), expected_dx)
    for got, want in zip(layer.grad_initial_state, expected_dstate, strict=True):
        same(got, want)
    assert_grads_equal(layer, expected_grads)


# -- convolution ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("stride,padding", [(1, 0), (1, 1), (2, 1)])
def test_im2col_convolution_backward_equals_the_per_pixel_twin(stride, padding):
    rng = np.random.default_rng(20 + stride + padding)
    conv = Conv2D(2, 3, 3, stride=stride, padding=padding, rng=rng, dtype=np.float64)
    conv.params["b"].data[...] = rng.standard_normal(3)
    x = rng.standard_normal((2, 2, 7, 6))
    w, b = conv.params["W"].data, conv.params["b"].data
    y = conv.forward(x)
    same(y, reference.conv2d(x, w, b, stride, padding))
    g = rng.standard_normal(y.shape)
    expected_dx, expected_grads = reference.conv2d_backward(x, w, g, stride, padding)
    same(conv.backward(g), expected_dx)
    assert_grads_equal(conv, expected_grads)


@pytest.mark.parametrize("k,stride", [(2, 2), (3, 2), (2, 1)])
def test_pooling_equals_the_per_window_twin_with_ties(k, stride):
    rng = np.random.default_rng(40 + k + stride)
    x = rng.integers(-2, 3, (2, 3, 7, 6)).astype(np.float64)  # few distinct values: many tied maxima
    pool = MaxPool2D(k, stride=stride)
    expected, winner = reference.max_pool2d(x, k, stride)
    y = pool.forward(x)
    same(y, expected)
    g = rng.standard_normal(y.shape)
    same(pool.backward(g), reference.max_pool2d_backward(x.shape, winner, g, k, stride))
    avg = AvgPool2D(k, stride=stride)
    same(avg.forward(x), reference.avg_pool2d(x, k, stride))
    same(avg.backward(g), reference.avg_pool2d_backward(x.shape, g, k, stride))


# -- optimisers ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, twin", [
    (lambda ps: Adam(ps, lr=0.01), {}),
    (lambda ps: Adam(ps, lr=0.01, weight_decay=0.1), {"weight_decay": 0.1}),
    (lambda ps: AdamW(ps, lr=0.01, weight_decay=0.1), {"decoupled_weight_decay": 0.1}),
], ids=["adam", "adam-l2", "adamw"])
def test_flat_buffer_adam_equals_per_tensor_adam_in_float64(make, twin):
    rng = np.random.default_rng(30)
    params = [Parameter(rng.standard_normal(shape)) for shape in [(3, 4), (5,), (2, 2, 2)]]
    expected = [p.data.copy() for p in params]
    grads_per_step = [[rng.standard_normal(p.data.shape) for p in params] for _ in range(6)]
    opt = make(params)
    for grads in grads_per_step:
        for p, g in zip(params, grads):
            p.grad[...] = g
        opt.step()
    reference.adam(expected, grads_per_step, lr=0.01, **twin)
    for p, e in zip(params, expected):
        same(p.data, e)


# -- token-fed recurrent layers: the embedding folded into the input projection --------------------------
@pytest.mark.parametrize("embedding_dim", [None, 3], ids=["one-hot", "embedding"])
@pytest.mark.parametrize("cell", sorted(TWINS))
def test_char_rnn_with_the_table_folded_in_equals_lookup_then_step_by_step_twin(cell, embedding_dim):
    """CharRNN feeds token ids to `forward_tokens`, which gathers rows of E W_x + b instead of looking up
    E[idx] and multiplying; the twin looks up (or one-hots), runs the cell one step at a time, and
    scatters the input gradient back with np.add.at. Every logit and every gradient must agree."""
    from labs.nn import CharRNN

    rng = np.random.default_rng(50)
    vocab, batch, steps = 6, 3, 5
    model = CharRNN(vocab, 4, cell=cell, embedding_dim=embedding_dim, rng=rng, dtype=np.float64)
    for p in model.parameters():
        p.data = p.data + rng.uniform(-0.5, 0.5, p.shape)
    idx = rng.integers(0, vocab, (batch, steps))
    idx[0, :2] = idx[1, 3]  # repeated tokens: their gradients must add up
    state = tuple(rng.standard_normal((batch, 4)) for _ in range(model.children["rnn"].n_state))
    rnn, head = model.children["rnn"], model.children["head"]
    table = model.children["embed"].params["W"].data if embedding_dim else np.eye(vocab)
    forward, backward = TWINS[cell]
    hidden, expected_final, cache = forward(table[idx], *[p.data for p in rnn.params.values()], state=state)
    w_head, b_head = head.params["W"].data, head.params["b"].data
    same(model.forward(idx, initial_state=state), hidden @ w_head + b_head)
    for got, want in zip(model.final_state, expected_final, strict=True):
        same(got, want)

    g = rng.standard_normal((batch, steps, vocab))
    model.backward(g)
    expected_dx, _, expected_grads = backward(g @ w_head.T, None, cache)
    assert_grads_equal(rnn, expected_grads)
    same(head.params["W"].grad, hidden.reshape(-1, 4).T @ g.reshape(-1, vocab))
    if embedding_dim:
        same(model.children["embed"].params["W"].grad, reference.scatter_rows(idx, expected_dx, vocab))


def test_forward_tokens_names_a_table_of_the_wrong_width():
    layer = make_recurrent("lstm", 3, 4, rng=np.random.default_rng(0), dtype=np.float64)
    with pytest.raises(ValueError, match=r"embedding table \(vocabulary, 3\).*\(5, 2\)"):
        layer.forward_tokens(np.zeros((1, 2), dtype=int), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        layer.forward_tokens(np.array([[0, 3]]))  # one-hot input: ids must be < input_size


@pytest.mark.parametrize("rows, shape, parts", [(32, (128, 512), 4), (32, (512, 128), 4), (4, (5, 20), 1)],
                         ids=["lstm-forward", "lstm-backward", "small"])
def test_the_blocked_recurrent_product_equals_one_matmul(rows, shape, parts):
    from labs.nn.recurrent import BlockedProduct

    rng = np.random.default_rng(60)
    w, a = rng.standard_normal(shape), rng.standard_normal((rows, shape[0]))
    product = BlockedProduct(w, rows)
    assert len(product.blocks) == parts
    out = np.empty((rows, shape[1]))
    product(a, out=out)
    same(out, a @ w)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_lab_sized_gated_layer_whose_products_are_blocked_equals_its_twin(cell):
    """Hidden 128, batch 32: the per-step products are split into column blocks (at the toy sizes above
    they are not); outputs and gradients must still be the twin's."""
    rng = np.random.default_rng(61)
    layer = make_recurrent(cell, 8, 128, rng=rng, dtype=np.float64)
    x = rng.standard_normal((32, 3, 8))
    forward, backward = TWINS[cell]
    expected, _, cache = forward(x, *[p.data for p in layer.params.values()])
    same(layer.forward(x), expected)
    g = rng.standard_normal(expected.shape)
    expected_dx, _, expected_grads = backward(g, None, cache)
    same(layer.backward(g), expected_dx)
    assert_grads_equal(layer, expected_grads)
