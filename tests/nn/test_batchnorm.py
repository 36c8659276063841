"""BatchNorm1d/2d: finite-difference gradients in both modes, the running statistics against their
formula, eval mode's independence from the batch, state_dict, and (with torch installed) the same
numbers as torch.nn.BatchNorm1d/2d."""

from __future__ import annotations

import numpy as np
import pytest

from labs.nn import BatchNorm1d, BatchNorm2d, Linear, ReLU, Sequential, SoftmaxCrossEntropy, gradcheck_layer
from labs.nn import gradcheck_model, reference

SHAPES = {"1d-rows": (BatchNorm1d, (6, 4)), "1d-seq": (BatchNorm1d, (5, 3, 4)), "2d": (BatchNorm2d, (3, 2, 4, 5))}


def _layer(kind, channels, rng, dtype=np.float64, **kw):
    layer = kind(channels, dtype=dtype, **kw)
    layer.params["gamma"].data[...] = rng.uniform(0.5, 2.0, channels)
    layer.params["beta"].data[...] = rng.standard_normal(channels)
    return layer


def _warm(layer, rng, shape, steps=3):
    """A few training batches so the running statistics are neither 0/1 nor one batch's."""
    for _ in range(steps):
        layer.forward(rng.standard_normal(shape) * 2.0 + 0.7)


@pytest.mark.parametrize("case", SHAPES, ids=list(SHAPES))
def test_training_mode_gradients_match_finite_differences(case):
    """Train mode: y depends on x through the batch mean and variance too; every path is checked."""
    kind, shape = SHAPES[case]
    rng = np.random.default_rng(0)
    layer = _layer(kind, shape[1], rng)
    report = gradcheck_layer(layer, rng.standard_normal(shape) * 3 + 1, rng=rng, max_entries=None)
    assert report.ok(), str(report)
    assert {e.name for e in report.entries} == {"gamma", "beta", "input:x"}


@pytest.mark.parametrize("case", SHAPES, ids=list(SHAPES))
def test_eval_mode_gradients_match_finite_differences(case):
    kind, shape = SHAPES[case]
    rng = np.random.default_rng(1)
    layer = _layer(kind, shape[1], rng)
    _warm(layer, rng, shape)
    layer.eval()
    report = gradcheck_layer(layer, rng.standard_normal(shape), rng=rng, max_entries=None)
    assert report.ok(), str(report)


def test_a_network_with_batchnorm_checks_under_cross_entropy_in_training_mode():
    rng = np.random.default_rng(2)
    model = Sequential(Linear(5, 6, rng=rng, bias=False), BatchNorm1d(6), ReLU(), Linear(6, 3, rng=rng))
    x, y = rng.standard_normal((8, 5)), rng.integers(0, 3, 8)
    report = gradcheck_model(model, SoftmaxCrossEntropy(), x, y, max_entries=None)
    assert report.ok(), str(report)


def test_training_output_has_zero_mean_and_unit_biased_variance_per_channel():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((16, 3, 5, 5)) * 4 + 2
    y = BatchNorm2d(3, dtype=np.float64).forward(x)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), x.var(axis=(0, 2, 3)) / (x.var(axis=(0, 2, 3)) + 1e-5),
                               rtol=1e-12)


@pytest.mark.parametrize("case", SHAPES, ids=list(SHAPES))
def test_running_statistics_follow_the_momentum_formula_with_unbiased_variance(case):
    """running = 0.9 running + 0.1 batch, from mean 0 and variance 1, the variance divided by M - 1."""
    kind, shape = SHAPES[case]
    rng = np.random.default_rng(4)
    layer = kind(shape[1], dtype=np.float64)
    axes = (0, *range(2, len(shape)))
    mean, var = np.zeros(shape[1]), np.ones(shape[1])
    for _ in range(3):
        x = rng.standard_normal(shape) * 3 + 5
        layer.forward(x)
        mean = 0.9 * mean + 0.1 * x.mean(axis=axes)
        var = 0.9 * var + 0.1 * x.var(axis=axes, ddof=1)
        np.testing.assert_allclose(layer.buffers["running_mean"], mean, rtol=1e-13)
        np.testing.assert_allclose(layer.buffers["running_var"], var, rtol=1e-13)


def test_eval_mode_does_not_touch_the_running_statistics():
    rng = np.random.default_rng(5)
    layer = BatchNorm1d(4, dtype=np.float64)
    _warm(layer, rng, (8, 4))
    before = layer.state_dict()
    layer.eval().forward(rng.standard_normal((8, 4)) * 10)
    for name, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


@pytest.mark.parametrize("case", SHAPES, ids=list(SHAPES))
def test_eval_mode_gives_a_sample_the_same_output_alone_as_inside_its_batch(case):
    """The classic mistake (forgetting eval()) makes a prediction depend on its batch-mates."""
    kind, shape = SHAPES[case]
    rng = np.random.default_rng(6)
    layer = _layer(kind, shape[1], rng)
    _warm(layer, rng, shape)
    x = rng.standard_normal(shape)
    layer.eval()
    together = layer.forward(x)
    for i in range(shape[0]):
        np.testing.assert_array_equal(layer.forward(x[i:i + 1]), together[i:i + 1])
    np.testing.assert_allclose(together, reference.batch_norm_eval(
        x, layer.params["gamma"].data, layer.params["beta"].data, layer.buffers["running_mean"],
        layer.buffers["running_var"], layer.eps, np.ones(shape))[0], rtol=1e-12, atol=1e-12)
    layer.train()
    assert not np.allclose(layer.forward(x)[:2], layer.forward(x[:2])), "train mode should use the batch"


def test_training_mode_refuses_one_value_per_channel_and_names_the_fix():
    layer = BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"more than one value per channel.*\(1, 3\).*eval\(\)"):
        layer.forward(np.zeros((1, 3), np.float32))
    assert layer.eval().forward(np.zeros((1, 3), np.float32)).shape == (1, 3)


@pytest.mark.parametrize("make, shape, expected", [
    (lambda: BatchNorm1d(4), (2, 5), r"BatchNorm1d expects \(N, 4\) or \(N, 4, L\) input, got shape \(2, 5\)"),
    (lambda: BatchNorm1d(4), (2, 4, 3, 3), r"BatchNorm1d expects .*got shape \(2, 4, 3, 3\)"),
    (lambda: BatchNorm2d(4), (2, 4), r"BatchNorm2d expects \(N, 4, H, W\) input, got shape \(2, 4\)"),
])
def test_a_wrong_shape_is_one_line_naming_the_expected_layout(make, shape, expected):
    with pytest.raises(ValueError, match=expected):
        make().forward(np.zeros(shape, np.float32))


@pytest.mark.parametrize("kwargs, word", [({"momentum": 1.5}, "momentum"), ({"eps": 0.0}, "eps"),
                                          ({"num_features": 0}, "num_features")])
def test_bad_settings_are_named(kwargs, word):
    with pytest.raises(ValueError, match=word):
        BatchNorm2d(**{"num_features": 3, **kwargs})


def test_float32_stays_float32_in_both_modes_and_after_a_gradient_check():
    rng = np.random.default_rng(7)
    layer = BatchNorm2d(2)
    x = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    assert layer.forward(x).dtype == np.float32 and layer.backward(np.ones_like(x)).dtype == np.float32
    before = {k: v.copy() for k, v in layer.buffers.items()}
    gradcheck_layer(layer, x, rng=rng)  # hundreds of training-mode forwards in float64
    for key, value in layer.buffers.items():
        assert value.dtype == np.float32, key
        np.testing.assert_array_equal(value, before[key], err_msg=f"the checker moved {key}")
    assert layer.eval().forward(x).dtype == np.float32


def test_state_dict_carries_the_running_statistics_and_loads_them_back(tmp_path):
    rng = np.random.default_rng(8)
    model = Sequential(Linear(3, 4, rng=rng, bias=False), BatchNorm1d(4))
    _warm(model, rng, (8, 3))
    state = model.state_dict()
    assert set(state) == {"0.W", "1.gamma", "1.beta", "1.running_mean", "1.running_var"}
    fresh = Sequential(Linear(3, 4, rng=rng, bias=False), BatchNorm1d(4))
    model.save(str(tmp_path / "m.npz"))
    fresh.load(str(tmp_path / "m.npz"))
    x = rng.standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_array_equal(fresh.eval().forward(x), model.eval().forward(x))
    with pytest.raises(KeyError, match=r"missing \['1.running_var'\]"):
        fresh.load_state_dict({k: v for k, v in state.items() if k != "1.running_var"})
    with pytest.raises(ValueError, match=r"1.running_mean.*\(5,\).*\(4,\)"):
        fresh.load_state_dict({**state, "1.running_mean": np.zeros(5)})


def test_astype_casts_the_running_statistics_with_the_parameters():
    layer = BatchNorm1d(3).astype(np.float64)
    assert {v.dtype for v in layer.buffers.values()} == {np.dtype(np.float64)}
    assert {p.data.dtype for p in layer.parameters()} == {np.dtype(np.float64)}


def test_without_affine_there_are_no_parameters_and_the_gradient_still_checks():
    rng = np.random.default_rng(9)
    layer = BatchNorm1d(3, affine=False, dtype=np.float64)
    assert layer.parameters() == []
    report = gradcheck_layer(layer, rng.standard_normal((6, 3)), rng=rng, max_entries=None)
    assert report.ok(), str(report)


# -- the PyTorch oracle -------------------------------------------------------------------------------
@pytest.mark.parametrize("case", SHAPES, ids=list(SHAPES))
def test_the_same_numbers_as_torch_batchnorm_in_train_and_eval(case):
    """Same weights in: same outputs, input and parameter gradients for three training steps, the same
    running statistics after them, and the same eval-mode output and gradients, in float64."""
    torch = pytest.importorskip("torch")
    kind, shape = SHAPES[case]
    rng = np.random.default_rng(10)
    ours = _layer(kind, shape[1], rng)
    theirs = (torch.nn.BatchNorm1d if kind is BatchNorm1d else torch.nn.BatchNorm2d)(shape[1]).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.params["gamma"].data))
        theirs.bias.copy_(torch.from_numpy(ours.params["beta"].data))
    assert (theirs.momentum, theirs.eps) == (ours.momentum, ours.eps)

    def step(x, g):
        ours.zero_grad()
        theirs.zero_grad()
        x_t = torch.from_numpy(x).requires_grad_()
        y_t = theirs(x_t)
        y_t.backward(torch.from_numpy(g))
        y = ours.forward(x)
        dx = ours.backward(g)
        np.testing.assert_allclose(y, y_t.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(dx, x_t.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(ours.params["gamma"].grad, theirs.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours.params["beta"].grad, theirs.bias.grad.numpy(), rtol=1e-10, atol=1e-12)

    for _ in range(3):
        step(rng.standard_normal(shape) * 2 + 1, rng.standard_normal(shape))
    np.testing.assert_allclose(ours.buffers["running_mean"], theirs.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.buffers["running_var"], theirs.running_var.numpy(), rtol=1e-12)
    ours.eval()
    theirs.eval()
    step(rng.standard_normal(shape), rng.standard_normal(shape))


def test_a_checkpoint_of_a_batchnorm_model_restores_its_running_statistics(tmp_path):
    """save_checkpoint writes state_dict (running statistics included); load_checkpoint must accept them."""
    from labs.nn.checkpoint import load_checkpoint, save_checkpoint

    rng = np.random.default_rng(11)
    model = Sequential(Linear(3, 4, rng=rng, bias=False), BatchNorm1d(4))
    _warm(model, rng, (8, 3))
    save_checkpoint(tmp_path / "bn.npz", model, iteration=3)
    fresh = Sequential(Linear(3, 4, rng=rng, bias=False), BatchNorm1d(4))
    assert load_checkpoint(tmp_path / "bn.npz", fresh).iteration == 3
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[name], value, err_msg=name)
