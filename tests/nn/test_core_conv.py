"""Convolution and pooling: equal to a slow reference, gradients agree with finite differences, ties."""

import numpy as np
import pytest

from labs.nn import AvgPool2D, Conv2D, MaxPool2D, gradcheck_layer, reference


def _conv(rng, stride, padding, k=3):
    conv = Conv2D(2, 3, k, stride=stride, padding=padding, rng=rng, dtype=np.float64)
    conv.params["b"].data[...] = rng.standard_normal(3)
    return conv


@pytest.mark.parametrize("stride,padding", [(1, 0), (1, 1), (2, 1), (2, 0)])
def test_conv_forward_equals_the_loop_reference(stride, padding):
    rng = np.random.default_rng(stride * 10 + padding)
    conv = _conv(rng, stride, padding)
    x = rng.standard_normal((2, 2, 7, 6))
    expected = reference.conv2d(x, conv.params["W"].data, conv.params["b"].data, stride, padding)
    np.testing.assert_allclose(conv.forward(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1)])
def test_conv_gradients_match_finite_differences(stride, padding):
    rng = np.random.default_rng(5)
    report = gradcheck_layer(_conv(rng, stride, padding), rng.standard_normal((2, 2, 6, 5)), rng=rng)
    assert report.ok(), str(report)


def test_conv_float32_stays_float32():
    conv = Conv2D(1, 4, 3, padding=1, rng=np.random.default_rng(0))
    y = conv.forward(np.ones((2, 1, 8, 8), dtype=np.float32))
    assert y.shape == (2, 4, 8, 8) and y.dtype == np.float32
    assert conv.backward(np.ones_like(y)).dtype == np.float32


def test_conv_rejects_wrong_channels_naming_the_shape():
    with pytest.raises(ValueError, match=r"\(N, 2, H, W\).*\(1, 3, 5, 5\)"):
        Conv2D(2, 3, 3, rng=np.random.default_rng(0)).forward(np.zeros((1, 3, 5, 5)))


@pytest.mark.parametrize("pool", [MaxPool2D(2), AvgPool2D(2), MaxPool2D(3, stride=2)], ids=["max", "avg", "max3s2"])
def test_pool_gradients_match_finite_differences(pool):
    rng = np.random.default_rng(2)
    report = gradcheck_layer(pool, rng.standard_normal((2, 3, 7, 6)), rng=rng)
    assert report.ok(), str(report)


def test_maxpool_sends_a_tied_maximum_gradient_to_exactly_one_element_per_window():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, :2, :2] = 5.0                      # four-way tie
    x[0, 0, :2, 2:] = [[1.0, 3.0], [3.0, 0.0]]  # two-way tie
    x[0, 0, 2:, :] = 2.0                        # two windows of four-way ties
    pool = MaxPool2D(2)
    np.testing.assert_array_equal(pool.forward(x)[0, 0], [[5.0, 3.0], [2.0, 2.0]])
    grad = pool.backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))[0, 0]
    windows = grad.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)
    assert np.count_nonzero(windows, axis=1).tolist() == [1, 1, 1, 1]
    np.testing.assert_array_equal(windows.sum(axis=1), [1.0, 2.0, 3.0, 4.0])
    assert x[0, 0][grad != 0].tolist() == [5.0, 3.0, 2.0, 2.0]  # each share went to a maximum


def test_avgpool_spreads_the_gradient_evenly():
    pool = AvgPool2D(2)
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    np.testing.assert_allclose(pool.forward(x)[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    np.testing.assert_allclose(pool.backward(np.ones((1, 1, 2, 2))), np.full((1, 1, 4, 4), 0.25))
