"""Losses: gradients agree with finite differences, extreme logits stay finite, masks leave positions out."""

import numpy as np
import pytest

from labs.nn import MSELoss, SequenceCrossEntropy, SoftmaxCrossEntropy, gradcheck_fn
from labs.nn.losses import log_softmax, softmax


def check_loss(loss, pred, target, **kwargs):
    grads = {}
    return gradcheck_fn(
        lambda: loss.forward(pred, target, **kwargs),
        lambda: grads.update(pred=loss.backward()),
        {}, inputs={"pred": pred}, input_grads=lambda: grads,
    )


def test_mse_gradient_and_value():
    rng = np.random.default_rng(0)
    pred, target = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    loss = MSELoss()
    assert loss.forward(pred, target) == pytest.approx(0.5 * np.sum((pred - target) ** 2) / 5)
    assert check_loss(loss, pred, target).ok()


def test_softmax_cross_entropy_gradient_and_value():
    rng = np.random.default_rng(1)
    logits, targets = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    loss = SoftmaxCrossEntropy()
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert loss.forward(logits, targets) == pytest.approx(-np.mean(np.log(probs[np.arange(6), targets])))
    assert check_loss(loss, logits, targets).ok()


def test_softmax_cross_entropy_is_finite_for_huge_logits():
    loss = SoftmaxCrossEntropy()
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]])
    value = loss.forward(logits, np.array([1, 2]))
    grad = loss.backward()
    assert value == pytest.approx((2e4 + np.log(2)) / 2)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, [[0.5, -0.5, 0.0], [0.0, 0.25, -0.25]])


def test_softmax_and_log_softmax_agree_and_normalise():
    z = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    np.testing.assert_allclose(softmax(z).sum(axis=1), 1.0)
    np.testing.assert_allclose(np.exp(log_softmax(z)), softmax(z))


@pytest.mark.parametrize("targets,message", [
    (np.array([0, 3]), "class target 3 is outside 0..2"),
    (np.array([0.0, 1.0]), "must be integers"),
    (np.array([0, 1, 2]), "expected \\(2,\\)"),
])
def test_softmax_cross_entropy_names_bad_targets(targets, message):
    with pytest.raises(ValueError, match=message):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), targets)


def test_sequence_cross_entropy_gradient_with_a_mask():
    rng = np.random.default_rng(2)
    logits, targets = rng.standard_normal((2, 4, 5)), rng.integers(0, 5, (2, 4))
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]])
    report = check_loss(SequenceCrossEntropy(), logits, targets, mask=mask)
    assert report.ok(), str(report)


def test_sequence_cross_entropy_is_the_mean_over_valid_positions_only():
    rng = np.random.default_rng(3)
    logits, targets = rng.standard_normal((2, 3, 4)), rng.integers(0, 4, (2, 3))
    mask = np.array([[1, 1, 0], [1, 0, 0]], dtype=bool)
    targets[~mask] = -1                                    # padding placeholders are allowed where masked
    loss = SequenceCrossEntropy()
    value = loss.forward(logits, targets, mask)
    flat = SoftmaxCrossEntropy().forward(logits[mask], targets[mask])
    assert value == pytest.approx(flat)
    assert np.all(loss.backward()[~mask] == 0)


def test_sequence_cross_entropy_without_mask_equals_flat_cross_entropy():
    rng = np.random.default_rng(4)
    logits, targets = rng.standard_normal((2, 3, 4)), rng.integers(0, 4, (2, 3))
    assert SequenceCrossEntropy().forward(logits, targets) == pytest.approx(
        SoftmaxCrossEntropy().forward(logits.reshape(6, 4), targets.reshape(6)))


def test_sequence_cross_entropy_rejects_an_empty_mask():
    with pytest.raises(ValueError, match="no positions"):
        SequenceCrossEntropy().forward(np.zeros((1, 2, 3)), np.zeros((1, 2), dtype=int), np.zeros((1, 2)))


def test_backward_before_forward_is_a_clear_error():
    with pytest.raises(RuntimeError, match="before forward"):
        MSELoss().backward()
