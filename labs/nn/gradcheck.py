"""The gradient checker: compare a backward pass with central finite differences, in float64.

For every parameter (and, optionally, every input) it perturbs entries by +-h, measures the loss, and
compares the numeric slope (L(w+h) - L(w-h)) / 2h with the analytic gradient. Two errors are reported:

- normwise   ||a - n|| / (||a|| + ||n||) over the checked entries: one number per tensor, scale-free.
- elementwise max_i |a_i - n_i| / max(|a_i|, |n_i|, floor): catches one wrong entry the norm hides.
  The floor is `ELEMENTWISE_FLOOR_REL` times the tensor's largest gradient (and at least
  `ELEMENTWISE_FLOOR_ABS`). Why: with h = 1e-5, the numeric slope carries ~1e-10 of rounding and
  truncation noise, so an entry whose true gradient is ~1e-9 would show a relative error near 1
  although the code is right. Entries ten thousand times smaller than the tensor's largest gradient
  are therefore judged against that scale instead of their own.

A tensor with more than `max_entries` entries is checked on a seeded random subset of them (a full
check of a 128x128 weight would cost 32k forward passes and prove little more). A NaN or inf anywhere
makes the entry's errors NaN, and a NaN never passes `ok()`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from labs.nn.core import Layer, Parameter

ELEMENTWISE_FLOOR_REL = 1e-4
ELEMENTWISE_FLOOR_ABS = 1e-8
DEFAULT_MAX_ENTRIES = 50


@dataclass
class GradCheckEntry:
    name: str
    shape: tuple
    normwise: float
    max_elementwise: float

    def ok(self, normwise_tol: float = 1e-7, elementwise_tol: float = 1e-5) -> bool:
        # written as `<` so that NaN compares False and fails
        return bool(self.normwise < normwise_tol and self.max_elementwise < elementwise_tol)


@dataclass
class GradCheckReport:
    entries: list[GradCheckEntry]

    @property
    def max_normwise(self) -> float:
        return _nan_max(e.normwise for e in self.entries)

    @property
    def max_elementwise(self) -> float:
        return _nan_max(e.max_elementwise for e in self.entries)

    def ok(self, normwise_tol: float = 1e-7, elementwise_tol: float = 1e-5) -> bool:
        """True when something was checked and every entry is within both tolerances."""
        return bool(self.entries) and all(e.ok(normwise_tol, elementwise_tol) for e in self.entries)

    def worst(self) -> GradCheckEntry:
        """The entry with the largest normwise error (a NaN entry counts as the worst)."""
        if not self.entries:
            raise ValueError("the gradient check report is empty: nothing was checked")
        return max(self.entries, key=lambda e: np.inf if np.isnan(e.normwise) else e.normwise)

    def __str__(self) -> str:
        width = max([len(e.name) for e in self.entries] + [9])
        lines = [f"{'parameter':<{width}}  {'shape':<16} {'normwise':>10}  {'elementwise':>11}  verdict"]
        for e in self.entries:
            verdict = "ok" if e.ok() else "FAIL"
            lines.append(
                f"{e.name:<{width}}  {str(e.shape):<16} {e.normwise:>10.2e}  {e.max_elementwise:>11.2e}  {verdict}"
            )
        if not self.entries:
            lines.append("(nothing checked)")
        return "\n".join(lines)


def _nan_max(values) -> float:
    values = list(values)
    if not values:
        return float("nan")
    return float("nan") if any(np.isnan(v) for v in values) else float(max(values))


def compare(name: str, analytic: np.ndarray, numeric: np.ndarray, shape: tuple) -> GradCheckEntry:
    """Both errors between two gradient samples (flat arrays of the same checked entries)."""
    a = np.asarray(analytic, dtype=np.float64).ravel()
    n = np.asarray(numeric, dtype=np.float64).ravel()
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(n))):
        return GradCheckEntry(name, tuple(shape), float("nan"), float("nan"))
    diff = np.abs(a - n)
    scale = np.linalg.norm(a) + np.linalg.norm(n)
    normwise = float(np.linalg.norm(diff) / scale) if scale > 0 else 0.0
    floor = max(ELEMENTWISE_FLOOR_ABS, ELEMENTWISE_FLOOR_REL * float(max(np.abs(a).max(), np.abs(n).max())))
    elementwise = float((diff / np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)).max())
    return GradCheckEntry(name, tuple(shape), normwise, elementwise)


def _sample_indices(size: int, max_entries: int | None, rng: np.random.Generator) -> np.ndarray:
    if max_entries is None or size <= max_entries:
        return np.arange(size)
    return np.sort(rng.choice(size, size=max_entries, replace=False))


def _numeric_slope(array: np.ndarray, indices: np.ndarray, loss_fn: Callable[[], float], h: float) -> np.ndarray:
    """Central differences of loss_fn with respect to the chosen flat entries of `array` (restored after)."""
    flat = array.reshape(-1)  # a view: writes reach the array loss_fn reads
    if not np.shares_memory(flat, array):
        raise ValueError("the gradient checker needs contiguous arrays to perturb in place")
    slopes = np.empty(len(indices), dtype=np.float64)
    for k, i in enumerate(indices):  # one loop per checked entry: the checker's whole point
        old = flat[i]
        flat[i] = old + h
        plus = float(loss_fn())
        flat[i] = old - h
        minus = float(loss_fn())
        flat[i] = old
        slopes[k] = (plus - minus) / (2 * h)
    return slopes


def _require_float64(name: str, array: np.ndarray) -> None:
    if array.dtype != np.float64:
        raise ValueError(
            f"gradient check of {name!r}: expected float64, got {array.dtype} "
            "(finite differences with h=1e-5 are meaningless in float32; cast with .astype(np.float64))"
        )


def gradcheck_fn(
    loss_fn: Callable[[], float],
    backward_fn: Callable[[], None],
    params: dict[str, Parameter],
    *,
    h: float = 1e-5,
    inputs: dict[str, np.ndarray] | None = None,
    input_grads: Callable[[], dict] | None = None,
    max_entries: int | None = DEFAULT_MAX_ENTRIES,
    rng: np.random.Generator | None = None,
) -> GradCheckReport:
    """Check any loss: `loss_fn()` runs the forward pass and returns the loss; `backward_fn()` then
    accumulates gradients into each `Parameter.grad`. `inputs` are float64 arrays that loss_fn reads
    (they are perturbed in place and restored); `input_grads()` returns their analytic gradients by
    name after backward_fn has run. Parameters must be float64.
    """
    inputs = inputs or {}
    if inputs and input_grads is None:
        raise ValueError("gradcheck_fn: `inputs` were given without `input_grads` to read their gradients")
    for name, p in params.items():
        _require_float64(name, p.data)
    for name, x in inputs.items():
        _require_float64(name, x)
    rng = rng if rng is not None else np.random.default_rng(0)

    for p in params.values():
        p.grad[...] = 0
    loss_fn()
    backward_fn()
    analytic = {name: p.grad.copy() for name, p in params.items()}
    analytic_inputs = {name: np.asarray(g) for name, g in (input_grads() if inputs else {}).items()}

    entries = []
    targets = [(name, p.data, analytic[name]) for name, p in params.items()]
    targets += [(f"input:{name}", x, analytic_inputs.get(name)) for name, x in inputs.items()]
    for name, array, grad in targets:
        if grad is None or np.shape(grad) != array.shape:
            raise ValueError(f"gradient check of {name!r}: analytic gradient has shape "
                             f"{None if grad is None else np.shape(grad)}, expected {array.shape}")
        idx = _sample_indices(array.size, max_entries, rng)
        numeric = _numeric_slope(array, idx, loss_fn, h)
        entries.append(compare(name, grad.reshape(-1)[idx], numeric, array.shape))
    return GradCheckReport(entries)


def _buffer_slots(layer: Layer) -> list[tuple[Layer, str, np.ndarray]]:
    """(owner, key, array) for every buffer in the tree."""
    slots = [(layer, key, value) for key, value in layer.buffers.items()]
    for child in layer.children.values():
        slots += _buffer_slots(child)
    return slots


def _as_float64(layer: Layer) -> tuple[dict[str, np.dtype], list]:
    """Cast a layer's parameters and buffers to float64, returning what restores them: the parameters'
    dtypes and the buffers' own arrays. `astype` swaps in new buffer arrays, so the originals keep
    their values, which a check in training mode would otherwise move (BatchNorm's running statistics
    take a step on every forward pass)."""
    dtypes = {name: p.data.dtype for name, p in layer.named_parameters()}
    buffers = _buffer_slots(layer)
    layer.astype(np.float64)
    return dtypes, buffers


def _restore(layer: Layer, saved: tuple[dict[str, np.dtype], list]) -> None:
    dtypes, buffers = saved
    for name, p in layer.named_parameters():
        p.data = p.data.astype(dtypes[name])
        p.grad = np.zeros_like(p.data)
    for owner, key, array in buffers:
        owner.buffers[key] = array


def _float_input(x: np.ndarray, check_input: bool) -> tuple[np.ndarray, bool]:
    x = np.asarray(x)
    if check_input and not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"cannot check the gradient of an input of dtype {x.dtype}; pass check_input=False")
    return (np.array(x, dtype=np.float64) if np.issubdtype(x.dtype, np.floating) else x), check_input


def gradcheck_layer(
    layer: Layer,
    x: np.ndarray,
    *,
    rng: np.random.Generator | None = None,
    h: float = 1e-5,
    check_input: bool = True,
    max_entries: int | None = DEFAULT_MAX_ENTRIES,
) -> GradCheckReport:
    """Check one layer with the loss sum(forward(x) * R) for a fixed random R (so every output counts).

    The layer is checked in float64 and its parameters are cast back to their dtype afterwards.
    Integer inputs (token ids) cannot be perturbed: pass check_input=False.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    x, check_input = _float_input(x, check_input)
    dtypes = _as_float64(layer)
    try:
        weights = rng.standard_normal(np.shape(layer.forward(x)))
        grads: dict[str, np.ndarray] = {}

        def loss_fn() -> float:
            return float(np.sum(layer.forward(x) * weights))

        def backward_fn() -> None:
            grads["x"] = layer.backward(weights)

        return gradcheck_fn(
            loss_fn, backward_fn, dict(layer.named_parameters()), h=h,
            inputs={"x": x} if check_input else None,
            input_grads=(lambda: grads) if check_input else None,
            max_entries=max_entries, rng=rng,
        )
    finally:
        _restore(layer, dtypes)


def gradcheck_model(
    model: Layer,
    loss,
    x: np.ndarray,
    y: np.ndarray,
    *,
    h: float = 1e-5,
    check_input: bool | None = None,
    max_entries: int | None = DEFAULT_MAX_ENTRIES,
    rng: np.random.Generator | None = None,
) -> GradCheckReport:
    """Check a whole model under a loss object (`loss.forward(pred, y)`, `loss.backward()`).

    The input is checked too when it is floating point (check_input=None), and never for token ids.
    The model should be in eval mode, or hold no randomness, so every forward pass is the same function.
    """
    x, _ = _float_input(x, False)
    check_input = np.issubdtype(x.dtype, np.floating) if check_input is None else check_input
    dtypes = _as_float64(model)
    try:
        grads: dict[str, np.ndarray] = {}

        def loss_fn() -> float:
            return float(loss.forward(model.forward(x), y))

        def backward_fn() -> None:
            grads["x"] = model.backward(loss.backward())

        return gradcheck_fn(
            loss_fn, backward_fn, dict(model.named_parameters()), h=h,
            inputs={"x": x} if check_input else None,
            input_grads=(lambda: grads) if check_input else None,
            max_entries=max_entries, rng=rng,
        )
    finally:
        _restore(model, dtypes)
