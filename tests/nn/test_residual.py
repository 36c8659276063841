"""Residual blocks and the deep-MLP builder: finite-difference gradients for the input and every
parameter, the identity path, shapes, and the builder's layer counts and seeds."""

from __future__ import annotations

import numpy as np
import pytest

from labs.nn import (
    MLP, BatchNorm1d, BatchNorm2d, Conv2D, Linear, ResidualConvBlock, ResidualMLPBlock, SoftmaxCrossEntropy,
    deep_mlp, gradcheck_layer, gradcheck_model,
)


def _randomise_norms(layer, rng):
    """gamma 1 and beta 0 would hide a gamma/beta mix-up; random ones make every parameter count."""
    for name, p in layer.named_parameters():
        if name.endswith("gamma"):
            p.data[...] = rng.uniform(0.5, 1.5, p.data.shape)
        elif name.endswith(("beta", "b")):
            p.data[...] = rng.standard_normal(p.data.shape) * 0.5
    return layer


def _all_checked(report, layer):
    names = {e.name for e in report.entries}
    assert names == {name for name, _ in layer.named_parameters()} | {"input:x"}


@pytest.mark.parametrize("norm", ["batch", "none"])
def test_mlp_block_gradients_match_finite_differences_in_training_mode(norm):
    rng = np.random.default_rng(0)
    block = _randomise_norms(ResidualMLPBlock(5, rng=rng, norm=norm), rng)
    report = gradcheck_layer(block, rng.standard_normal((6, 5)), rng=rng, max_entries=None)
    assert report.ok(), str(report)
    _all_checked(report, block)


@pytest.mark.parametrize("in_channels, out_channels, stride", [(3, 3, 1), (2, 4, 1), (2, 3, 2)],
                         ids=["identity", "projection", "strided-projection"])
def test_conv_block_gradients_match_finite_differences_in_training_mode(in_channels, out_channels, stride):
    rng = np.random.default_rng(1)
    block = _randomise_norms(ResidualConvBlock(in_channels, out_channels, stride=stride, rng=rng), rng)
    assert block.projects == (in_channels != out_channels or stride != 1)
    report = gradcheck_layer(block, rng.standard_normal((3, in_channels, 5, 5)), rng=rng, max_entries=None)
    assert report.ok(), str(report)
    _all_checked(report, block)


def test_conv_block_gradients_match_finite_differences_in_eval_mode():
    rng = np.random.default_rng(2)
    block = _randomise_norms(ResidualConvBlock(2, 3, stride=2, rng=rng), rng)
    for _ in range(2):
        block.forward(rng.standard_normal((4, 2, 5, 5)))
    block.eval()
    report = gradcheck_layer(block, rng.standard_normal((2, 2, 5, 5)), rng=rng, max_entries=None)
    assert report.ok(), str(report)


def test_with_the_last_gamma_zero_a_block_is_the_activation_of_its_input_and_passes_the_gradient_through():
    """The identity shortcut: when F outputs 0, y = relu(x) and dx = [x > 0] g exactly."""
    rng = np.random.default_rng(3)
    block = ResidualMLPBlock(4, rng=rng, dtype=np.float64)
    block.children["branch"][4].params["gamma"].data[...] = 0.0  # the branch's last BN
    x, g = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    np.testing.assert_array_equal(block.forward(x), np.maximum(x, 0))
    np.testing.assert_array_equal(block.backward(g), g * (x > 0))


def test_conv_block_layers_and_output_shape():
    rng = np.random.default_rng(4)
    block = ResidualConvBlock(2, 6, stride=2, rng=rng)
    assert block(rng.standard_normal((3, 2, 7, 7)).astype(np.float32)).shape == (3, 6, 4, 4)
    kinds = [type(layer) for layer in block.children["branch"].children.values()]
    assert kinds[0] is Conv2D and kinds[1] is BatchNorm2d and kinds[3] is Conv2D and kinds[4] is BatchNorm2d
    convs = [layer for _, layer in _walk(block) if isinstance(layer, Conv2D)]
    assert [c.kernel_size for c in convs] == [3, 3, 1] and all("b" not in c.params for c in convs)
    identity = ResidualConvBlock(4, 4, rng=rng)
    assert not identity.projects and "shortcut" not in identity.children


def test_blocks_name_a_wrong_input_shape():
    rng = np.random.default_rng(5)
    with pytest.raises(ValueError, match=r"ResidualMLPBlock expects \(N, 4\) input, got shape \(2, 5\)"):
        ResidualMLPBlock(4, rng=rng).forward(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match=r"ResidualConvBlock expects \(N, 3, H, W\) input, got shape \(2, 4, 5, 5\)"):
        ResidualConvBlock(3, 3, rng=rng).forward(np.zeros((2, 4, 5, 5), np.float32))


def _walk(layer, prefix=""):
    yield prefix, layer
    for name, child in layer.children.items():
        yield from _walk(child, f"{prefix}{name}.")


@pytest.mark.parametrize("norm, residual", [("none", False), ("batch", False), ("none", True), ("batch", True)])
def test_deep_mlp_has_depth_weight_layers_and_a_bn_after_each_hidden_one(norm, residual):
    model = deep_mlp(20, 16, rng=np.random.default_rng(6), norm=norm, residual=residual)
    layers = [layer for _, layer in _walk(model)]
    linears = [layer for layer in layers if isinstance(layer, Linear)]
    assert len(linears) == 20
    assert sum(isinstance(layer, BatchNorm1d) for layer in layers) == (19 if norm == "batch" else 0)
    assert sum(isinstance(layer, ResidualMLPBlock) for layer in layers) == (9 if residual else 0)
    assert all(("b" in lin.params) == (norm == "none") for lin in linears[:-1]) and "b" in linears[-1].params
    assert model(np.zeros((3, 64), np.float32)).shape == (3, 10)


def test_a_plain_deep_mlp_is_the_library_mlp_with_the_same_weights_for_the_same_seed():
    ours = deep_mlp(6, 12, rng=np.random.default_rng(7), activation="tanh")
    mlp = MLP([64, 12, 12, 12, 12, 12, 10], activation="tanh", rng=np.random.default_rng(7))
    a, b = ours.state_dict(), mlp.state_dict()
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_a_residual_deep_mlp_with_batchnorm_checks_under_cross_entropy():
    rng = np.random.default_rng(8)
    model = _randomise_norms(deep_mlp(6, 5, in_features=4, num_classes=3, rng=rng, norm="batch", residual=True), rng)
    x, y = rng.standard_normal((8, 4)), rng.integers(0, 3, 8)
    report = gradcheck_model(model, SoftmaxCrossEntropy(), x, y, max_entries=None)
    assert report.ok(), str(report)


@pytest.mark.parametrize("kwargs, message", [
    ({"depth": 1}, "depth must be an integer >= 2"),
    ({"depth": 5, "residual": True}, "depth - 2 must be even; got depth 5"),
    ({"width": 0}, "width must be a positive integer"),
    ({"norm": "layer"}, "unknown norm 'layer'"),
    ({"activation": "swish"}, "unknown activation 'swish'"),
])
def test_deep_mlp_names_a_bad_setting(kwargs, message):
    with pytest.raises(ValueError, match=message):
        deep_mlp(**{"depth": 4, "width": 8, "rng": np.random.default_rng(0), **kwargs})


# -- the PyTorch oracle -------------------------------------------------------------------------------
def _torch_twin(torch, block):
    """torch modules holding our block's weights, keyed by our child paths ("branch.0", ...)."""
    nn = torch.nn
    modules = {}
    for path, layer in _walk(block):
        if isinstance(layer, Conv2D):
            m = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, stride=layer.stride,
                          padding=layer.padding, bias=False).double()
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(layer.params["W"].data))
        elif isinstance(layer, Linear):
            m = nn.Linear(layer.in_features, layer.out_features, bias="b" in layer.params).double()
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(layer.params["W"].data.T))
                if "b" in layer.params:
                    m.bias.copy_(torch.from_numpy(layer.params["b"].data))
        elif isinstance(layer, (BatchNorm1d, BatchNorm2d)):
            m = (nn.BatchNorm1d if isinstance(layer, BatchNorm1d) else nn.BatchNorm2d)(layer.num_features).double()
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(layer.params["gamma"].data))
                m.bias.copy_(torch.from_numpy(layer.params["beta"].data))
        else:
            continue
        modules[path.rstrip(".")] = m
    return modules


def _torch_grad(layer, module, name):
    if isinstance(layer, Conv2D):
        return module.weight.grad.numpy()
    if isinstance(layer, Linear):
        return module.weight.grad.numpy().T if name == "W" else module.bias.grad.numpy()
    return (module.weight if name == "gamma" else module.bias).grad.numpy()


@pytest.mark.parametrize("make", [
    lambda rng: ResidualConvBlock(2, 3, stride=2, rng=rng, dtype=np.float64),
    lambda rng: ResidualConvBlock(3, 3, rng=rng, dtype=np.float64),
    lambda rng: ResidualMLPBlock(5, rng=rng, dtype=np.float64),
    lambda rng: ResidualMLPBlock(5, rng=rng, norm="none", dtype=np.float64),
], ids=["conv-projection", "conv-identity", "mlp-bn", "mlp-plain"])
def test_the_blocks_compute_what_the_same_torch_modules_compute(make):
    """Same weights in: the same output, input gradient, every parameter gradient and running statistic
    over two training steps, then the same in eval mode."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    block = _randomise_norms(make(rng), rng)
    twin = _torch_twin(torch, block)
    layers = dict((path.rstrip("."), layer) for path, layer in _walk(block))
    conv = isinstance(block, ResidualConvBlock)

    def torch_forward(x):
        h = x
        for i in range(len(block.children["branch"])):  # weight, [norm], act, weight, [norm]
            key = f"branch.{i}"
            h = twin[key](h) if key in twin else torch.relu(h)
        skip = twin["shortcut.1"](twin["shortcut.0"](x)) if conv and block.projects else x
        return torch.relu(skip + h)

    shape = (4, block.in_channels, 5, 5) if conv else (6, 5)
    side = (5 - 1) // block.stride + 1 if conv else None  # H' = (H - 1) // stride + 1
    out_shape = (4, block.out_channels, side, side) if conv else (6, 5)
    for mode in ("train", "train", "eval"):
        if mode == "eval":
            block.eval()
            for m in twin.values():
                m.eval()
        block.zero_grad()
        for m in twin.values():
            m.zero_grad()
        x, g = rng.standard_normal(shape), rng.standard_normal(out_shape)
        x_t = torch.from_numpy(x).requires_grad_()
        y = block.forward(x)
        dx = block.backward(g)
        y_t = torch_forward(x_t)
        y_t.backward(torch.from_numpy(g))
        np.testing.assert_allclose(y, y_t.detach().numpy(), rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(dx, x_t.grad.numpy(), rtol=1e-8, atol=1e-10)
        for name, p in block.named_parameters():
            path, _, pname = name.rpartition(".")
            np.testing.assert_allclose(p.grad, _torch_grad(layers[path], twin[path], pname), rtol=1e-8, atol=1e-10,
                                       err_msg=name)
        for path, layer in layers.items():
            if isinstance(layer, (BatchNorm1d, BatchNorm2d)):
                np.testing.assert_allclose(layer.buffers["running_mean"], twin[path].running_mean.numpy(), rtol=1e-12)
                np.testing.assert_allclose(layer.buffers["running_var"], twin[path].running_var.numpy(), rtol=1e-12)


def test_a_conv_without_bias_is_the_conv_with_a_zero_bias():
    """Conv2D(bias=False), new for convolutions in front of a BN: same output and gradients as b = 0."""
    rng = np.random.default_rng(10)
    with_bias = Conv2D(2, 3, 3, padding=1, rng=np.random.default_rng(1), dtype=np.float64)
    without = Conv2D(2, 3, 3, padding=1, bias=False, rng=np.random.default_rng(1), dtype=np.float64)
    assert list(without.params) == ["W"]
    x, g = rng.standard_normal((2, 2, 4, 4)), rng.standard_normal((2, 3, 4, 4))
    np.testing.assert_array_equal(without.forward(x), with_bias.forward(x))
    np.testing.assert_array_equal(without.backward(g), with_bias.backward(g))
    np.testing.assert_array_equal(without.params["W"].grad, with_bias.params["W"].grad)
