"""Calling the learner's functions safely and judging what they return, in the learner's terms.

Every check either returns a message (it passed) or raises `CheckFailed(message)`. Messages name the
function and the output ("dW has shape (3, 5), expected (5, 3): it is the transpose of the gradient"),
and a wrong array is diagnosed before it is reported as merely different: a transpose, a missing sum
over the batch, a constant factor (the batch size, -1), or one of the lab's known mistakes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from labs.implement.remote import Learner, LearnerRaised
from labs.nn.core import Parameter
from labs.nn.gradcheck import gradcheck_fn

GRAD_TOL = 1e-6
"""normwise relative error allowed between a gradient and central finite differences (in float64)"""
RTOL, ATOL = 1e-6, 1e-9


class CheckFailed(Exception):
    """A check's verdict in the learner's terms; `message` is shown as it is."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def call(learner: Learner, name: str, *args: object) -> object:
    """Call the learner's function in their process (on copies of the arguments, by construction: they
    travel over a pipe), turning its exceptions into a message that points at the line in their file."""
    try:
        return getattr(learner, name)(*args)
    except LearnerRaised as exc:  # the learner's bug, reported, never a crash of the grader
        if exc.type_name == "NotImplementedError":
            raise CheckFailed(f"{name} still raises NotImplementedError: it is not written yet") from None
        raise CheckFailed(f"{name} raised {exc.type_name}: {exc.message}{exc.where}") from None


def unpack(name: str, result: object, names: tuple[str, ...]) -> tuple[object, ...]:
    """A function's outputs as a tuple, checking their number against the scaffold's docstring."""
    if len(names) == 1:
        return (result,)
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        got = f"{len(result)} values" if isinstance(result, (tuple, list)) else f"a {type(result).__name__}"
        raise CheckFailed(f"{name} should return {len(names)} values ({', '.join(names)}), got {got}")
    return tuple(result)


# -- judging one array -------------------------------------------------------------------------------
def expect_array(label: str, got: object, want: np.ndarray, *, batch: int | None = None,
                 mistakes: dict[str, np.ndarray] | None = None) -> None:
    """Raise CheckFailed unless `got` has want's shape and dtype and is allclose to it.

    `batch` (the N of the inputs) lets a factor of N or 1/N be named; `mistakes` maps a message to the
    array a known mistake produces, checked when the values differ.
    """
    if not isinstance(got, np.ndarray):
        raise CheckFailed(f"{label} should be a NumPy array of shape {want.shape}, got {type(got).__name__}")
    _expect_shape(label, got, want)
    if got.dtype != want.dtype:
        raise CheckFailed(f"{label} has dtype {got.dtype}, expected {want.dtype} "
                          "(keep the inputs' float dtype; do not cast or round)")
    if not np.all(np.isfinite(got)):
        raise CheckFailed(f"{label} contains NaN or infinity")
    if np.allclose(got, want, rtol=RTOL, atol=ATOL):
        return
    raise CheckFailed(f"{label}: {diagnose(got, want, batch=batch, mistakes=mistakes)}")


def _expect_shape(label: str, got: np.ndarray, want: np.ndarray) -> None:
    if got.shape == want.shape:
        return
    message = f"{label} has shape {got.shape}, expected {want.shape}"
    if got.ndim == 2 and got.shape == want.shape[::-1] and np.allclose(got.T, want, rtol=RTOL, atol=ATOL):
        message += ": it is the transpose of the right answer (check which side each factor goes on)"
    elif got.shape[1:] == want.shape and np.allclose(got.sum(axis=0), want, rtol=RTOL, atol=ATOL):
        message += ": it still has the batch axis; sum it over the batch (axis 0), every sample contributes"
    raise CheckFailed(message)


def diagnose(got: np.ndarray, want: np.ndarray, *, batch: int | None = None,
             mistakes: dict[str, np.ndarray] | None = None) -> str:
    """Why two same-shape arrays differ, as precisely as we can tell."""
    for message, wrong in (mistakes or {}).items():
        if wrong.shape == got.shape and np.allclose(got, wrong, rtol=RTOL, atol=ATOL):
            return message
    factor = _factor(got, want)
    if factor is not None:
        return _factor_message(factor, batch)
    diff = np.abs(got - want)
    where = np.unravel_index(int(np.argmax(diff)), diff.shape)
    return (f"values differ from the reference by up to {diff[where]:.3g} at index {tuple(map(int, where))} "
            f"(got {got[where]:.6g}, expected {want[where]:.6g})")


def _factor(got: np.ndarray, want: np.ndarray) -> float | None:
    """The constant c with got == c * want, if there is one (and it is not 1)."""
    norm = float(np.vdot(want, want))
    if norm == 0.0:
        return None
    c = float(np.vdot(got, want)) / norm
    if np.isclose(c, 1.0) or not np.allclose(got, c * want, rtol=1e-5, atol=1e-9):
        return None
    return c


def _factor_message(c: float, batch: int | None) -> str:
    if np.isclose(c, -1.0):
        return "it has the wrong sign (it is exactly minus the right answer)"
    if np.isclose(c, 0.0, atol=1e-12):
        return "it is all zeros"
    if batch and np.isclose(c, batch):
        return (f"it is off by a factor of the batch size: {batch} times too large (the mean over the "
                "batch divides by N once, in the loss's gradient)")
    if batch and np.isclose(c, 1.0 / batch):
        return (f"it is off by a factor of the batch size: {batch} times too small (the upstream gradient "
                "already carries the 1/N of the mean; do not divide again)")
    return f"it is off by a constant factor: {c:.4g} times the right answer"


# -- gradients against finite differences --------------------------------------------------------------
def expect_gradients(name: str, loss: Callable[..., float], inputs: dict[str, np.ndarray],
                     got: dict[str, object], want: dict[str, np.ndarray], *, batch: int | None = None,
                     mistakes: dict[str, dict[str, np.ndarray]] | None = None) -> str:
    """Check the learner's gradients `got` (by input name) against central finite differences of
    `loss(**inputs)` (a reference forward pass), in float64. `want` holds the reference's analytic
    gradients, used only to diagnose a failure; `mistakes[input_name]` maps message -> wrong array.
    Returns the per-input normwise errors as a message; raises CheckFailed naming each gradient that is off.
    """
    for key, value in got.items():  # shape, dtype and finiteness first: a shape error says the most
        if not isinstance(value, np.ndarray) or value.shape != want[key].shape or value.dtype != want[key].dtype \
                or not np.all(np.isfinite(value)):
            expect_array(f"d{key}", value, want[key], batch=batch)
    errors = finite_difference_errors(loss, inputs, {k: np.asarray(v) for k, v in got.items()})
    failing = [k for k, e in errors.items() if not e < GRAD_TOL]  # `not <` so that NaN fails
    summary = ", ".join(f"d{k} {e:.1e}" for k, e in errors.items())
    if not failing:
        return f"normwise error against finite differences: {summary} (all < {GRAD_TOL:g})"
    problems = [
        f"d{k} (error {errors[k]:.1e}): "
        + diagnose(np.asarray(got[k]), want[k], batch=batch, mistakes=(mistakes or {}).get(k))
        for k in failing
    ]
    raise CheckFailed(f"{name}: " + "; ".join(problems))


def finite_difference_errors(loss: Callable[..., float], inputs: dict[str, np.ndarray],
                             analytic: dict[str, np.ndarray]) -> dict[str, float]:
    """Normwise relative error of each analytic gradient against central differences of `loss`,
    using the network library's gradient checker (inputs perturbed in place, in float64)."""
    params = {k: Parameter(np.array(v, dtype=np.float64)) for k, v in inputs.items()}

    def loss_fn() -> float:
        return float(loss(**{k: p.data for k, p in params.items()}))

    def backward_fn() -> None:
        for k in analytic:
            params[k].grad[...] = analytic[k]

    report = gradcheck_fn(loss_fn, backward_fn, {k: params[k] for k in analytic}, max_entries=None)
    return {e.name: e.normwise for e in report.entries}


def expect_scalar(name: str, value: object) -> float:
    """`value` as one real number, or a CheckFailed saying what came back instead (a bool, a shaped
    array, a complex number are the learner's mistakes, not numbers)."""
    if isinstance(value, (int, float, np.floating, np.integer, np.ndarray)) and not isinstance(value, bool) \
            and np.ndim(value) == 0 and np.isrealobj(value):
        return float(value)
    raise CheckFailed(f"{name} should be one number (a Python float), got {type(value).__name__}"
                      + (f" of shape {np.shape(value)}" if isinstance(value, np.ndarray) else ""))
