"""Optimisers, clipping and schedules: the step goes downhill, Adam and AdamW follow their definitions."""

import math

import numpy as np
import pytest
from pydantic import ValidationError

from labs.nn import SGD, Adam, AdamW, ConstantLR, Parameter, StepDecay, WarmupCosine, clip_grad_norm, reference


def quadratic(p: Parameter, target: np.ndarray) -> float:
    """A convex bowl 0.5 ||w - target||^2; fills in its gradient."""
    diff = p.data - target
    p.grad[...] = diff
    return float(0.5 * diff @ diff)


@pytest.mark.parametrize("make", [
    lambda ps: SGD(ps, lr=0.1),
    lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3),
    lambda ps: Adam(ps, lr=0.1),
    lambda ps: AdamW(ps, lr=0.1),
], ids=["sgd", "sgd-momentum", "adam", "adamw"])
def test_one_step_moves_the_loss_down(make):
    target = np.array([1.0, -2.0, 3.0])
    p = Parameter(np.zeros(3))
    opt = make([p])
    before = quadratic(p, target)
    opt.step()
    assert quadratic(p, target) < before


def test_sgd_step_is_minus_lr_times_gradient():
    p = Parameter(np.array([1.0, 2.0]))
    p.grad[...] = [0.5, -1.0]
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.95, 2.1])


def test_adam_first_step_matches_a_hand_computation():
    p = Parameter(np.array([1.0, -2.0, 0.5]))
    g = np.array([0.3, -4.0, 1e-3])
    p.grad[...] = g
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    Adam([p], lr=lr, betas=(b1, b2), eps=eps).step()
    m_hat = (1 - b1) * g / (1 - b1)
    v_hat = (1 - b2) * g * g / (1 - b2)
    np.testing.assert_allclose(p.data, np.array([1.0, -2.0, 0.5]) - lr * m_hat / (np.sqrt(v_hat) + eps), rtol=1e-12)


def test_adamw_decay_is_decoupled_from_the_moments():
    """With a zero gradient Adam's update is zero, so AdamW moves the weight by exactly w * lr * wd,
    whereas Adam's coupled L2 term is normalised by v and moves it by about lr whatever w is."""
    w0 = np.array([10.0, -0.1])
    decoupled = Parameter(w0.copy())
    AdamW([decoupled], lr=0.01, weight_decay=0.1).step()
    np.testing.assert_allclose(decoupled.data, w0 * (1 - 0.01 * 0.1), rtol=1e-12)
    coupled = Parameter(w0.copy())
    Adam([coupled], lr=0.01, weight_decay=0.1).step()
    np.testing.assert_allclose(np.abs(coupled.data - w0), [0.01, 0.01], rtol=1e-4)


def test_optimiser_state_keeps_the_parameter_dtype_and_updates_in_place():
    p = Parameter(np.ones((4, 3), dtype=np.float32))
    p.grad[...] = 0.5
    data = p.data
    opt = AdamW([p], lr=0.1, weight_decay=0.1)
    opt.step()
    opt.step()
    assert p.data is data and p.data.dtype == np.float32
    assert all(buf.dtype == np.float32 for buf in opt._buffers.values())


def test_zero_grad_and_settable_learning_rate():
    p = Parameter(np.zeros(2))
    p.grad[...] = 1.0
    opt = SGD([p], lr=1.0)
    opt.lr = 0.5
    opt.step()
    np.testing.assert_allclose(p.data, [-0.5, -0.5])
    opt.zero_grad()
    assert not p.grad.any()


def test_clip_grad_norm_scales_to_max_norm_and_returns_the_old_norm():
    a, b = Parameter(np.zeros(2)), Parameter(np.zeros(1))
    a.grad[...] = [3.0, 0.0]
    b.grad[...] = [4.0]
    assert clip_grad_norm([a, b], 1.0) == pytest.approx(5.0)
    assert math.sqrt(np.sum(a.grad**2) + np.sum(b.grad**2)) == pytest.approx(1.0)
    np.testing.assert_allclose(a.grad / b.grad[0], [0.75, 0.0])   # direction kept
    assert clip_grad_norm([a, b], 10.0) == pytest.approx(1.0)       # below the limit: untouched
    assert math.sqrt(np.sum(a.grad**2) + np.sum(b.grad**2)) == pytest.approx(1.0)


def test_schedules():
    assert ConstantLR(lr=0.1).lr_at(1000) == 0.1
    decay = StepDecay(lr=1.0, step_size=10, gamma=0.5)
    assert [decay.lr_at(s) for s in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]
    cosine = WarmupCosine(lr=1.0, warmup_steps=4, total_steps=14, min_lr=0.1)
    assert [cosine.lr_at(s) for s in range(5)] == [0.0, 0.25, 0.5, 0.75, 1.0]  # lr * t / T_w, 0 at step 0
    assert cosine.lr_at(9) == pytest.approx(0.55)      # halfway down the cosine
    assert cosine.lr_at(14) == pytest.approx(0.1) and cosine.lr_at(100) == pytest.approx(0.1)
    lrs = [cosine.lr_at(s) for s in range(4, 15)]
    assert all(x >= y for x, y in zip(lrs, lrs[1:]))


@pytest.mark.parametrize("make,message", [
    (lambda: WarmupCosine(lr=1.0, warmup_steps=10, total_steps=5), "warmup_steps"),
    (lambda: StepDecay(lr=-1.0, step_size=3), "lr"),
    (lambda: SGD([Parameter(np.zeros(1))], lr=0.0), "learning rate must be positive"),
    (lambda: SGD([], lr=0.1), "no parameters"),
])
def test_bad_settings_are_named(make, message):
    with pytest.raises((ValueError, ValidationError), match=message):
        make()


def test_adam_over_mixed_dtypes_matches_textbook_adam_per_tensor():
    rng = np.random.default_rng(0)
    params = [Parameter(rng.standard_normal((3, 4)).astype(np.float32)),
              Parameter(rng.standard_normal(5)),  # float64
              Parameter(rng.standard_normal((2, 2)).astype(np.float32))]
    expected = [p.data.astype(np.float64) for p in params]
    grads_per_step = [[rng.standard_normal(p.data.shape) for p in params] for _ in range(5)]
    opt = Adam(params, lr=0.01)
    for grads in grads_per_step:
        for p, g in zip(params, grads):
            p.grad[...] = g
        opt.step()
    reference.adam(expected, grads_per_step)  # textbook Adam, one tensor at a time
    assert [p.data.dtype for p in params] == [np.float32, np.float64, np.float32]
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.data, e, rtol=1e-5, atol=1e-6)


def _train(model_seed: int, steps: int, reload_at: int | None):
    from labs.nn import MLP, SoftmaxCrossEntropy

    rng = np.random.default_rng(model_seed)
    x = rng.standard_normal((16, 6)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    model, loss = MLP([6, 8, 3], rng=np.random.default_rng(1)), SoftmaxCrossEntropy()
    opt = Adam(model.parameters(), lr=0.05)
    for step in range(steps):
        if step == reload_at:
            model.load_state_dict(model.state_dict())
        model.zero_grad()
        loss.forward(model.forward(x), y)
        model.backward(loss.backward())
        opt.step()
    return model.state_dict()


def test_reloading_the_weights_mid_training_keeps_the_trajectory_bit_identical():
    straight = _train(0, 12, reload_at=None)
    reloaded = _train(0, 12, reload_at=6)
    assert all(np.array_equal(straight[k], reloaded[k]) for k in straight)


def test_casting_the_parameters_restarts_the_optimiser_state():
    p = Parameter(np.ones(3, dtype=np.float32))
    opt = Adam([p], lr=0.1)
    p.grad[...] = 1.0
    opt.step()
    p.data = p.data.astype(np.float64)
    p.grad = np.full(3, -1.0)
    opt.step()  # a fresh first Adam step moves each weight by lr, in the gradient's opposite direction
    assert p.data.dtype == np.float64
    np.testing.assert_allclose(p.data, 1.0 - 0.1 + 0.1, atol=1e-6)
