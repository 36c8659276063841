"""Optimisers, gradient clipping and learning-rate schedules.

An optimiser holds a list of Parameters; `step()` moves each one AGAINST its gradient (w -= lr * g:
the minus sign is the whole of gradient descent) and `zero_grad()` clears the gradients, which layers
accumulate.

Why the state is flat: Adam is a dozen elementwise passes, and NumPy pays a fixed cost per call
whatever the array size, so done tensor by tensor a small network's step is mostly call overhead. The
optimiser therefore lays all parameters of one dtype end to end in ONE flat vector (`_FlatGroup`): the
gradients are gathered into it with a single concatenate, the moments live in flat buffers allocated
once, every pass runs over the whole vector in place (`out=`), and only the final `w -= update` is per
tensor, through views. Elementwise arithmetic does not care how the entries are laid out, so this is
per-tensor Adam up to rounding (twin: reference.adam, held equal by the tests). `Parameter.data` is never
replaced, so arrays callers hold stay live and `load_state_dict`/`astype` (which swap in new arrays)
keep working; a change of shape or dtype re-lays the groups and restarts the state. (Rebinding every
p.data and p.grad to views of the flat vectors would also save the gather and the per-tensor update,
but would silently detach any array a caller held; not worth it.)

Schedules are small immutable objects with `lr_at(step)`; set `optimizer.lr = schedule.lr_at(step)`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from labs.nn.core import Parameter


class _FlatGroup:
    """The parameters of one dtype, laid end to end: a flat gradient vector gathered each step, a flat
    `update` vector the optimiser fills, and per-parameter views of `update` to apply it."""

    def __init__(self, params: list[Parameter]):
        self.params = params
        self.dtype = params[0].data.dtype
        bounds = np.cumsum([0] + [p.data.size for p in params]).tolist()
        self.size = bounds[-1]
        self.grad = np.empty(self.size, self.dtype)
        self.update = np.empty(self.size, self.dtype)
        self.update_views = [self.update[a:b].reshape(p.data.shape)
                             for p, a, b in zip(params, bounds[:-1], bounds[1:])]

    def gather_grads(self) -> np.ndarray:
        """Copy every gradient into the flat vector: one call, one pass."""
        return np.concatenate([p.grad.ravel() for p in self.params], out=self.grad)

    def gather_data(self, out: np.ndarray) -> np.ndarray:
        return np.concatenate([p.data.ravel() for p in self.params], out=out)

    def apply_update(self, keep: float = 1.0) -> None:
        """w = keep * w - update for each parameter, in place (keep < 1 is AdamW's decoupled decay)."""
        for p, update in zip(self.params, self.update_views):
            if keep != 1.0:
                p.data *= keep
            p.data -= update


class Optimizer:
    def __init__(self, params: Iterable[Parameter], lr: float):
        self.params = list(params)
        if not self.params:
            raise ValueError("the optimiser was given no parameters to train")
        if not lr > 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        self.lr = float(lr)
        self._layout: tuple = ()
        self._groups: list[_FlatGroup] = []
        self._buffers: dict[tuple[int, str], np.ndarray] = {}  # (group index, name) -> flat state

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad[...] = 0

    def step(self) -> None:
        raise NotImplementedError

    def _flat_groups(self) -> list[_FlatGroup]:
        """The parameters grouped by dtype, re-laid (and the state restarted) only when a parameter
        changed shape or dtype, e.g. after `Layer.astype`; `load_state_dict` keeps the moments."""
        layout = tuple((p.data.shape, p.data.dtype) for p in self.params)
        if layout != self._layout:
            by_dtype: dict[np.dtype, list[Parameter]] = {}
            for p in self.params:
                by_dtype.setdefault(p.data.dtype, []).append(p)
            self._layout, self._buffers = layout, {}
            self._groups = [_FlatGroup(group) for group in by_dtype.values()]
            self._restart()
        return self._groups

    def _restart(self) -> None:
        """Called when the state was dropped; optimisers with more state than buffers reset it here."""

    # -- state ----------------------------------------------------------------------------------
    _STATE_ATTRS: tuple[str, ...] = ("lr",)  # the scalars step() reads; subclasses add theirs

    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything `step()` reads besides the parameters themselves, as arrays (np.savez-ready, no
        pickle): "kind", the scalars of `_STATE_ATTRS`, each group's size, and the flat buffers as
        "buffer.<group>.<name>". An optimiser built over the same parameters that loads it takes the
        same next steps, bit for bit."""
        groups = self._flat_groups()
        state = {"kind": np.array(type(self).__name__),
                 "group_sizes": np.array([g.size for g in groups], dtype=np.int64)}
        for attr in self._STATE_ATTRS:
            state[attr] = np.array(getattr(self, attr))
        for (index, name), buf in self._buffers.items():
            state[f"buffer.{index}.{name}"] = buf.copy()
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore a `state_dict()`; a mismatch (another optimiser, other parameters) raises a
        ValueError naming it and changes nothing."""
        kind = str(np.asarray(state.get("kind", "")))
        if kind != type(self).__name__:
            raise ValueError(f"optimiser state is for {kind or 'an unknown optimiser'}, not {type(self).__name__}")
        groups = self._flat_groups()
        sizes = [g.size for g in groups]
        saved = np.asarray(state.get("group_sizes", [])).tolist()
        if saved != sizes:
            raise ValueError(f"optimiser state holds parameter groups of sizes {saved}, these parameters {sizes}")
        missing = [a for a in self._STATE_ATTRS if a not in state]
        if missing:
            raise ValueError(f"optimiser state lacks {missing}")
        buffers = {}
        for key, value in state.items():
            if not key.startswith("buffer."):
                continue
            _, index, name = key.split(".", 2)
            group = groups[int(index)]
            value = np.asarray(value)
            if value.shape != (group.size,):
                raise ValueError(f"optimiser state {key!r} has shape {value.shape}, expected ({group.size},)")
            buffers[(int(index), name)] = value.astype(group.dtype, copy=True)
        for attr in self._STATE_ATTRS:
            current = getattr(self, attr)
            setattr(self, attr, type(current)(np.asarray(state[attr]).item()))
        self._buffers = buffers

    def _buffer(self, index: int, name: str, group: _FlatGroup) -> np.ndarray:
        """Flat zero-initialised state `name` for group `index`, allocated on first use."""
        buf = self._buffers.get((index, name))
        if buf is None:
            buf = self._buffers[(index, name)] = np.zeros(group.size, group.dtype)
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

    _STATE_ATTRS = ("lr", "momentum", "weight_decay")

    def step(self) -> None:
        for i, group in enumerate(self._flat_groups()):
            direction = group.gather_grads()  # our own copy: safe to modify in place
            if self.weight_decay:
                decay = group.gather_data(out=group.update)
                decay *= self.weight_decay
                direction += decay
            if self.momentum:
                velocity = self._buffer(i, "velocity", group)
                velocity *= self.momentum
                velocity += direction
                direction = velocity
            np.multiply(direction, self.lr, out=group.update)
            group.apply_update()


class Adam(Optimizer):
    """Adam: per-entry steps scaled by running estimates of the gradient's mean (m) and square (v),
    bias-corrected for their zero start. At step t, with g the gradient (+ wd * w if weight_decay):

        m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,  w -= lr m_hat / (sqrt(v_hat) + eps),
        m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t).

    `weight_decay` here is the classic L2 term added to the gradient (so it is rescaled by v); use
    AdamW for decay that is not."""

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

    _STATE_ATTRS = ("lr", "beta1", "beta2", "eps", "weight_decay", "t")

    def _restart(self) -> None:
        self.t = 0  # fresh moments need a fresh bias correction, or the first step is mis-scaled

    def step(self) -> None:
        groups = self._flat_groups()
        self.t += 1
        # w -= lr * m_hat / (sqrt(v_hat) + eps), m_hat = m / c1, v_hat = v / c2. Multiplying top and
        # bottom by sqrt(c2) leaves alpha * m / (sqrt(v) + eps_hat): both corrections become two
        # scalars per step instead of two passes per tensor.
        root_c2 = math.sqrt(1 - self.beta2 ** self.t)
        alpha = self.lr * root_c2 / (1 - self.beta1 ** self.t)
        eps_hat = self.eps * root_c2
        for i, group in enumerate(groups):
            m, v = self._buffer(i, "m", group), self._buffer(i, "v", group)
            scratch = group.update  # free until the last pass fills it with the update
            grad = group.gather_grads()
            if self.weight_decay:
                decay = group.gather_data(out=scratch)
                decay *= self.weight_decay
                grad += decay
            # moving averages written as "move a fraction (1 - beta) of the way to the new value":
            # v += (1 - b2)(g^2 - v) first, while grad is still g; then m += (1 - b1)(g - m) in grad
            np.multiply(grad, grad, out=scratch)
            scratch -= v
            scratch *= 1 - self.beta2
            v += scratch
            np.subtract(grad, m, out=grad)
            grad *= 1 - self.beta1
            m += grad
            np.sqrt(v, out=scratch)
            scratch += eps_hat
            np.divide(m, scratch, out=scratch)
            scratch *= alpha
            group.apply_update(self._keep())

    def _keep(self) -> float:
        """The factor each weight keeps before the update: 1 for Adam; AdamW decays it."""
        return 1.0


class AdamW(Adam):
    """Adam with DECOUPLED weight decay: w = (1 - lr wd) w - lr m_hat / (sqrt(v_hat) + eps), the decay
    applied to the weight directly and never passing through the moment estimates (Loshchilov &
    Hutter), so every weight decays at the same rate."""

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.01):
        super().__init__(params, lr, betas, eps, weight_decay=0.0)
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        self.decoupled_weight_decay = weight_decay

    _STATE_ATTRS = Adam._STATE_ATTRS + ("decoupled_weight_decay",)

    def _keep(self) -> float:
        return 1 - self.lr * self.decoupled_weight_decay


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


def cosine_with_warmup(t: int, lr_max: float, lr_min: float, warmup: int, cycle: int) -> float:
    """The learning rate at step t (0-based) for warm-up length T_w = `warmup`, cosine end T_c = `cycle`:

        t < T_w:           lr_max * t / T_w                      (0 at step 0)
        T_w <= t <= T_c:   lr_min + (1 + cos(pi (t - T_w) / (T_c - T_w))) / 2 * (lr_max - lr_min)
        t > T_c:           lr_min
    """
    if not 0 <= warmup < cycle:
        raise ValueError(f"the schedule needs 0 <= warmup ({warmup}) < cycle ({cycle})")
    if t < warmup:
        return lr_max * t / warmup
    if t > cycle:
        return lr_min
    progress = (t - warmup) / (cycle - warmup)
    return lr_min + 0.5 * (1 + math.cos(math.pi * progress)) * (lr_max - lr_min)


class WarmupCosine(_Schedule):
    """`cosine_with_warmup` with lr_max = `lr`, lr_min = `min_lr`, T_w = `warmup_steps`, T_c =
    `total_steps`: a linear warm-up from 0, then a half cosine down to `min_lr`, and `min_lr` after.
    Warm-up keeps Adam's first, noisy steps small."""

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
        return cosine_with_warmup(step, self.lr, self.min_lr, self.warmup_steps, self.total_steps)
