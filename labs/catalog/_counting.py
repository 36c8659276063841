"""Counting a model's cost the way the estimation labs grade it: parameters, multiply-adds, bytes.

Parameters come from the library itself (`Layer.num_parameters`), so the answer is the built model's
and not a second formula that could drift. Multiply-adds are counted by pushing one zero example through
a `Sequential` and reading each Linear/Conv2D layer's shapes; activations and pooling are ignored, as in
the usual convention. One multiply-add is two FLOPs.
"""

from __future__ import annotations

import numpy as np

from labs.catalog.base import RunContext
from labs.grading import CheckResult
from labs.nn import Conv2D, Layer, Linear, Sequential

FLOAT32_BYTES = 4


def forward_macs(model: Sequential, input_shape: tuple[int, ...]) -> int:
    """Multiply-adds of one forward pass of a single example of `input_shape` (no batch axis)."""
    x = np.zeros((1, *input_shape), dtype=np.float32)
    macs = 0
    model.eval()
    for layer in model.children.values():
        out = layer.forward(x)
        if isinstance(layer, Linear):
            macs += int(np.prod(out.shape[:-1])) * layer.in_features * layer.out_features
        elif isinstance(layer, Conv2D):
            macs += int(out.size) * layer.in_channels * layer.kernel_size ** 2
        x = out
    model.train()
    return macs


def weight_bytes(model: Layer) -> int:
    return model.num_parameters() * FLOAT32_BYTES


def relative_error(estimate: float, truth: float) -> float:
    return abs(estimate - truth) / abs(truth) if truth else float(estimate != truth)


def closeness_credit(rel_error: float, tolerance: float, zero_at: float) -> float:
    """Full credit within `tolerance`, none at `zero_at` or beyond, linear between."""
    if rel_error <= tolerance:
        return 1.0
    return max(0.0, (zero_at - rel_error) / (zero_at - tolerance))


def judge_estimate(ctx: RunContext, check_id: str, guess: float, truth: float, *, tolerance: float,
                   zero_at: float, hint: str) -> CheckResult:
    """Grade a learner's estimate. The true value is revealed only to an estimate that earned full credit,
    so a failed attempt teaches the method (the hint), not the number to type in next time."""
    err = relative_error(guess, truth)
    if err <= tolerance:
        return ctx.check(check_id, 1.0, f"you said {guess:,.6g}; the answer is {truth:,.6g}.")
    side = "low" if guess < truth else "high"
    return ctx.check(check_id, closeness_credit(err, tolerance, zero_at),
                     f"you said {guess:,.6g}: {100 * err:.1f} % too {side}. Hint: {hint}.")
