"""MLP and ConvNet: they learn, train reproducibly, save and reload exactly, and reject bad settings."""

import numpy as np
import pytest

from labs.nn import MLP, Adam, ConvNet, SoftmaxCrossEntropy, gradcheck_model


def train(model, x, y, steps, lr=0.01):
    loss, opt = SoftmaxCrossEntropy(), Adam(model.parameters(), lr=lr)
    value = np.inf
    for _ in range(steps):
        opt.zero_grad()
        value = loss.forward(model.forward(x), y)
        model.backward(loss.backward())
        opt.step()
    return value


def tiny_batch(seed, shape, classes=10, n=16):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (n, *shape)).astype(np.float32), rng.integers(0, classes, n)


def test_mlp_overfits_a_tiny_batch():
    x, y = tiny_batch(0, (64,))
    model = MLP([64, 32, 10], rng=np.random.default_rng(0))
    first = SoftmaxCrossEntropy().forward(model.forward(x), y)
    assert train(model, x, y, steps=150) < 0.02 < first


def test_convnet_overfits_a_tiny_batch():
    x, y = tiny_batch(1, (1, 8, 8))
    model = ConvNet(filters=(4, 8), hidden=32, rng=np.random.default_rng(1))
    first = SoftmaxCrossEntropy().forward(model.forward(x), y)
    assert train(model, x, y, steps=150) < 0.02 < first


def test_same_seed_gives_bit_identical_training_even_with_dropout():
    x, y = tiny_batch(2, (64,))
    runs = []
    for _ in range(2):
        model = MLP([64, 16, 10], dropout=0.2, rng=np.random.default_rng(42))
        train(model, x, y, steps=5)
        runs.append(model.state_dict())
    assert runs[0].keys() == runs[1].keys()
    for name in runs[0]:
        np.testing.assert_array_equal(runs[0][name], runs[1][name])
    other = MLP([64, 16, 10], dropout=0.2, rng=np.random.default_rng(43))
    assert not np.array_equal(other.state_dict()["0.W"], runs[0]["0.W"])


def test_saved_and_reloaded_model_gives_identical_outputs(tmp_path):
    x, y = tiny_batch(3, (1, 8, 8))
    model = ConvNet(filters=(4,), pool="avg", hidden=None, rng=np.random.default_rng(3))
    train(model, x, y, steps=3)
    path = tmp_path / "convnet.npz"
    model.save(str(path))
    fresh = ConvNet(filters=(4,), pool="avg", hidden=None, rng=np.random.default_rng(99))
    fresh.load(str(path))
    np.testing.assert_array_equal(fresh.forward(x), model.forward(x))


def test_parameter_counts_follow_the_architecture():
    assert MLP([64, 128, 10], rng=np.random.default_rng(0)).num_parameters() == 64 * 128 + 128 + 128 * 10 + 10
    convnet = ConvNet(filters=(8, 16), kernel_size=3, hidden=64, rng=np.random.default_rng(0))
    conv = (1 * 9 * 8 + 8) + (8 * 9 * 16 + 16)
    dense = (16 * 2 * 2 * 64 + 64) + (64 * 10 + 10)
    assert convnet.num_parameters() == conv + dense


def test_convnet_gradients_match_finite_differences():
    rng = np.random.default_rng(4)
    model = ConvNet(filters=(2,), hidden=5, rng=rng)
    for name, p in model.named_parameters():
        if name.endswith("b"):
            p.data[...] = rng.standard_normal(p.data.shape) * 0.1
    x, y = rng.standard_normal((3, 1, 8, 8)), rng.integers(0, 10, 3)
    report = gradcheck_model(model, SoftmaxCrossEntropy(), x, y, max_entries=20)
    assert report.ok(), str(report)


def test_float32_by_default_float64_on_request():
    x, _ = tiny_batch(5, (64,))
    assert MLP([64, 10], rng=np.random.default_rng(0)).forward(x).dtype == np.float32
    model64 = MLP([64, 10], rng=np.random.default_rng(0), dtype=np.float64)
    assert model64.forward(x.astype(np.float64)).dtype == np.float64


@pytest.mark.parametrize("make,message", [
    (lambda rng: MLP([64], rng=rng), "at least two"),
    (lambda rng: MLP([64, 10], activation="swish", rng=rng), "unknown activation 'swish'"),
    (lambda rng: MLP([64, 10, 10], dropout=1.5, rng=rng), "dropout"),
    (lambda rng: ConvNet(filters=(4, 4, 4, 4), rng=rng), "at most 3"),
    (lambda rng: ConvNet(pool="median", rng=rng), "unknown pooling 'median'"),
    (lambda rng: ConvNet(kernel_size=4, rng=rng), "odd"),
])
def test_bad_model_settings_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make(np.random.default_rng(0))
