"""The two ideas every layer is built from: a Parameter (value and gradient side by side) and a Layer.

A layer's `forward(x)` computes its output and keeps in `self.cache` what its backward needs; its
`backward(grad_out)` adds the gradients of its parameters into `param.grad` (accumulating, so a layer
used twice sums both contributions) and returns the gradient with respect to its input. Composite
layers hold children in `self.children` (name -> Layer), so `parameters()` walks the whole tree with
dotted names ("blocks.0.attn.w_qkv") that `state_dict` and the gradient checker use.

`self.training` is the mode (`train()` / `eval()` set it on the whole tree): Dropout and BatchNorm
read it. `self.buffers` holds state that is not trained but belongs to the model, such as BatchNorm's
running mean and variance: `state_dict` saves it beside the parameters, `astype` casts it, and the
optimiser and the gradient checker never see it.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class Parameter:
    """A trainable array and the gradient of the loss with respect to it (same shape, same dtype)."""

    __slots__ = ("data", "grad")

    def __init__(self, data: np.ndarray):
        self.data = data
        self.grad = np.zeros_like(data)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class Layer:
    """Base class: own parameters in `self.params`, sub-layers in `self.children`."""

    def __init__(self) -> None:
        self.params: dict[str, Parameter] = {}
        self.children: dict[str, Layer] = {}
        self.buffers: dict[str, np.ndarray] = {}  # untrained state saved with the weights
        self.training = True
        self.cache: object = None

    # -- the two passes -------------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    # -- parameters ------------------------------------------------------------------------------
    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        for name, p in self.params.items():
            yield prefix + name, p
        for cname, child in self.children.items():
            yield from child.named_parameters(f"{prefix}{cname}.")

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        for name, value in self.buffers.items():
            yield prefix + name, value
        for cname, child in self.children.items():
            yield from child.named_buffers(f"{prefix}{cname}.")

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad[...] = 0

    def num_parameters(self) -> int:
        return int(sum(p.data.size for p in self.parameters()))

    # -- modes and dtype -------------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Layer":
        self.training = mode
        for child in self.children.values():
            child.train(mode)
        return self

    def eval(self) -> "Layer":
        return self.train(False)

    def astype(self, dtype: np.dtype | type) -> "Layer":
        """Cast every parameter (and its gradient) and every buffer in place, e.g. to float64 for a
        gradient check."""
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = np.zeros_like(p.data)
        self._cast_buffers(dtype)
        return self

    def _cast_buffers(self, dtype: np.dtype | type) -> None:
        for name, value in self.buffers.items():
            self.buffers[name] = value.astype(dtype)
        for child in self.children.values():
            child._cast_buffers(dtype)

    # -- state -----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Every parameter's and every buffer's value, by dotted name (copies)."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update((name, value.copy()) for name, value in self.named_buffers())
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        own = dict(self.named_parameters())
        buffers = dict(self.named_buffers())
        missing = sorted((set(own) | set(buffers)) - set(state))
        unexpected = sorted(set(state) - set(own) - set(buffers))
        if missing or unexpected:
            raise KeyError(f"state_dict mismatch: missing {missing}, unexpected {unexpected}")
        for name, p in own.items():
            value = np.asarray(state[name])
            if value.shape != p.data.shape:
                raise ValueError(f"state_dict[{name!r}] has shape {value.shape}, expected {p.data.shape}")
            p.data = value.astype(p.data.dtype, copy=True)
            p.grad = np.zeros_like(p.data)
        for name, buffer in buffers.items():
            value = np.asarray(state[name])
            if value.shape != buffer.shape:
                raise ValueError(f"state_dict[{name!r}] has shape {value.shape}, expected {buffer.shape}")
            buffer[...] = value  # in place: the owning layer holds this array

    def save(self, path: str) -> None:
        np.savez(path, **self.state_dict())

    def load(self, path: str) -> None:
        with np.load(path) as f:
            self.load_state_dict({k: f[k] for k in f.files})
