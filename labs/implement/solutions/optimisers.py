"""optimisers: six update rules and a learning-rate schedule, each one step as a function, by you.

Each rule takes a parameter array p, its gradient g (same shape) and the rule's state, and returns the
new p and the new state; nothing is changed in place. The grader runs each rule for several steps on
fixed gradients (with a rate that changes between steps) and compares every step with the reference,
then runs YOUR rules on an ill-conditioned quadratic (condition number 100) and expects the numbers of
steps to a tolerance to come out in the order the lesson's theory gives.

Conventions (lesson "Optimisers and schedules", PyTorch's forms): t counts steps from 1; arrays are
float64; hyperparameters are Python floats. NumPy only.
Grade with `pathlab lab grade optimisers`; stuck? `pathlab lab hint optimisers`.
"""

import math

import numpy as np


def sgd_step(p, g, lr):
    """Plain gradient descent. Returns the new p."""
    return p - lr * g


def momentum_step(p, g, v, lr, mu):
    """Momentum in PyTorch's form: the velocity v accumulates GRADIENTS (no rate inside it), then the
    step is the rate times the velocity. Returns (p, v), both new arrays."""
    v = mu * v + g
    return p - lr * v, v


def nesterov_step(p, g, v, lr, mu):
    """Nesterov momentum in PyTorch's form: the same velocity as momentum_step, and a step that looks
    ahead along it. Returns (p, v)."""
    v = mu * v + g
    return p - lr * (g + mu * v), v


def rmsprop_step(p, g, s, lr, alpha, eps):
    """RMSProp: s is the running mean of squared gradients (decay alpha); each entry's step is divided by
    the root of its own s, with eps added after the square root. Returns (p, s)."""
    s = alpha * s + (1 - alpha) * g * g
    return p - lr * g / (np.sqrt(s) + eps), s


def adam_step(p, g, m, v, t, lr, beta1, beta2, eps):
    """Adam at step t (1 on the first step): running means of g (m) and g**2 (v), both bias-corrected
    before the step; eps after the square root. Returns (p, m, v)."""
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adamw_step(p, g, m, v, t, lr, beta1, beta2, eps, wd):
    """AdamW: Adam with DECOUPLED weight decay wd: the weight itself shrinks by the factor (1 - lr * wd),
    and the moments see the gradient alone. Returns (p, m, v)."""
    p = p * (1 - lr * wd)
    return adam_step(p, g, m, v, t, lr, beta1, beta2, eps)


def lr_schedule(step, total_steps, base_lr, warmup_steps):
    """The rate at 0-based `step` of `total_steps`: a linear warm-up base_lr * (step + 1) / warmup_steps
    over the first warmup_steps steps, then a cosine from base_lr down to 0 over the remaining ones:
    base_lr * 0.5 * (1 + cos(pi * k / K)), k = step - warmup_steps, K = total_steps - warmup_steps.
    warmup_steps may be 0. Returns a Python float."""
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    k, total = step - warmup_steps, max(1, total_steps - warmup_steps)
    return float(base_lr * 0.5 * (1 + math.cos(math.pi * k / total)))
