"""Optimisers, gradient clipping and learning-rate schedules.

An optimiser holds a list of Parameters; `step()` moves each one AGAINST its gradient (w -= lr * g:
the minus sign is the whole of gradient descent) and `zero_grad()` clears the gradients, which layers
accumulate. State buffers (momentum, Adam moments) are allocated once in the parameter's dtype and
every update runs in place, so a training step allocates nothing per parameter.

Schedules are small immutable objects with `lr_at(step)`; set `optimizer.lr = schedule.lr_at(step)`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from labs.nn.core import Parameter


class Optimizer:
    def __init__(self, params: Iterable[Parameter], lr: float):
        self.params = list(params)
        if not self.params:
            raise ValueError("the optimiser was given no parameters to train")
        if not lr > 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        self.lr = float(lr)
        self._buffers: dict[tuple[int, str], np.ndarray] = {}

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad[...] = 0

    def step(self) -> None:
        raise NotImplementedError

    def _buffer(self, index: int, name: str, p: Parameter) -> np.ndarray:
        """A zero-initialised state array for parameter `index`, re-made if the parameter changed dtype
        or shape (e.g. after `Layer.astype`)."""
        buf = self._buffers.get((index, name))
        if buf is None or buf.dtype != p.data.dtype or buf.shape != p.data.shape:
            buf = np.zeros_like(p.data)
            self._buffers[(index, name)] = buf
        return buf


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and (coupled, L2) weight decay:
    v = momentum * v + (g + wd * w);  w -= lr * v."""

    def __init__(self, params: Iterable[Parameter], lr: float = 0.01, momentum: float = 0.0,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        self.momentum, self.weight_decay = momentum, weight_decay

    def step(self) -> None:
        for i, p in enumerate(self.params):
            scratch = self._buffer(i, "scratch", p)
            direction = p.grad
            if self.weight_decay:
                np.multiply(p.data, self.weight_decay, out=scratch)
                scratch += p.grad
                direction = scratch
            if self.momentum:
                velocity = self._buffer(i, "velocity", p)
                velocity *= self.momentum
                velocity += direction
                direction = velocity
            np.multiply(direction, self.lr, out=scratch)
            p.data -= scratch


class Adam(Optimizer):
    """Adam: per-entry steps scaled by running estimates of the gradient's mean (m) and square (v),
    bias-corrected for their zero start. `weight_decay` here is the classic L2 term added to the
    gradient (so it is rescaled by v); use AdamW for decay that is not."""

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, lr)
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"Adam betas must be in [0, 1), got {betas}")
        if eps <= 0 or weight_decay < 0:
            raise ValueError(f"Adam needs eps > 0 and weight_decay >= 0, got eps={eps}, weight_decay={weight_decay}")
        self.beta1, self.beta2 = betas
        self.eps, self.weight_decay = eps, weight_decay
        self.t = 0

    def step(self) -> None:
        self.t += 1
        step_size = self.lr / (1 - self.beta1 ** self.t)
        root_correction = math.sqrt(1 - self.beta2 ** self.t)
        for i, p in enumerate(self.params):
            m, v, scratch = (self._buffer(i, name, p) for name in ("m", "v", "scratch"))
            grad = p.grad
            if self.weight_decay:
                grad = self._buffer(i, "decayed", p)
                np.multiply(p.data, self.weight_decay, out=grad)
                grad += p.grad
            m *= self.beta1
            np.multiply(grad, 1 - self.beta1, out=scratch)
            m += scratch
            v *= self.beta2
            np.multiply(grad, grad, out=scratch)
            scratch *= 1 - self.beta2
            v += scratch
            # w -= lr * m_hat / (sqrt(v_hat) + eps), with the corrections folded into two scalars
            np.sqrt(v, out=scratch)
            scratch /= root_correction
            scratch += self.eps
            np.divide(m, scratch, out=scratch)
            scratch *= step_size
            self._decay(p)
            p.data -= scratch

    def _decay(self, p: Parameter) -> None:
        """Adam has no decoupled decay; AdamW overrides this."""


class AdamW(Adam):
    """Adam with DECOUPLED weight decay: w *= 1 - lr * wd, applied to the weight directly and never
    passing through the moment estimates (Loshchilov & Hutter), so every weight decays at the same rate."""

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.01):
        super().__init__(params, lr, betas, eps, weight_decay=0.0)
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        self.decoupled_weight_decay = weight_decay

    def _decay(self, p: Parameter) -> None:
        if self.decoupled_weight_decay:
            p.data *= 1 - self.lr * self.decoupled_weight_decay


def clip_grad_norm(params: Iterable[Parameter], max_norm: float) -> float:
    """Scale all gradients together so their global L2 norm is at most `max_norm`; returns the norm
    BEFORE clipping. A non-finite norm leaves the gradients alone and is returned for the caller to see."""
    params = list(params)
    total = math.sqrt(sum(float(np.vdot(p.grad, p.grad)) for p in params))
    if math.isfinite(total) and total > max_norm:
        scale = max_norm / total
        for p in params:
            p.grad *= scale
    return total


# -- learning-rate schedules ------------------------------------------------------------------------
class _Schedule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    lr: float = Field(gt=0, description="the base learning rate")

    def lr_at(self, step: int) -> float:
        raise NotImplementedError


class ConstantLR(_Schedule):
    def lr_at(self, step: int) -> float:
        return self.lr


class StepDecay(_Schedule):
    """Multiply the rate by `gamma` every `step_size` steps."""

    step_size: int = Field(gt=0)
    gamma: float = Field(default=0.1, gt=0, le=1)

    def lr_at(self, step: int) -> float:
        return self.lr * self.gamma ** (max(step, 0) // self.step_size)


class WarmupCosine(_Schedule):
    """Linear warm-up from ~0 to `lr` over `warmup_steps`, then a half cosine down to `min_lr` at
    `total_steps` (and `min_lr` after). Warm-up keeps Adam's first, noisy steps small."""

    total_steps: int = Field(gt=0)
    warmup_steps: int = Field(default=0, ge=0)
    min_lr: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _check(self) -> "WarmupCosine":
        if self.warmup_steps >= self.total_steps:
            raise ValueError(f"warmup_steps ({self.warmup_steps}) must be below total_steps ({self.total_steps})")
        if self.min_lr > self.lr:
            raise ValueError(f"min_lr ({self.min_lr}) must not exceed lr ({self.lr})")
        return self

    def lr_at(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        progress = min(1.0, (step - self.warmup_steps) / (self.total_steps - self.warmup_steps))
        return self.min_lr + 0.5 * (self.lr - self.min_lr) * (1 + math.cos(math.pi * progress))
