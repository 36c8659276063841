"""gd-linear: fit a straight line (well, a plane) by batch gradient descent, and see the step size matter.

Pure NumPy, no layers: the model is y = x @ w + b and the gradient of the mean squared error is written
out, so the learner sees every part of a training loop. Graded against the closed-form least-squares
optimum, which gradient descent should reach within 1 %.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field

from labs.catalog._judgement import diverged, failed, metric
from labs.catalog.base import FailureMode, Lab, LabParams, Outcome, RunContext
from labs.events import Finished
from labs.datasets import make_linear
from labs.grading import CheckSpec, partial_credit

DATA_SEED = 0  # the same data for every attempt, so attempts compare and the hash is stable
BLOW_UP = 1e6  # a loss this many times its starting value has diverged, even before it overflows


class Params(LabParams):
    lr: float = Field(0.5, gt=0, le=10, description="learning rate: how far each step moves the weights")
    steps: int = Field(300, ge=1, le=20000, description="number of full-batch gradient-descent steps")


def mse(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> float:
    return float(np.mean((x @ w + b - y) ** 2))


def mse_grad(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> tuple[np.ndarray, float]:
    """d/dw and d/db of mean((x @ w + b - y)^2)."""
    r = x @ w + b - y
    return 2.0 * x.T @ r / len(y), float(2.0 * r.mean())


def least_squares(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """The exact minimiser, for grading: solve [x 1] theta = y in the least-squares sense."""
    theta, *_ = np.linalg.lstsq(np.column_stack([x, np.ones(len(y))]), y, rcond=None)
    return theta[:-1], float(theta[-1])


def step_size_bound(x: np.ndarray) -> float:
    """The largest stable rate, 2 / lambda_max: gradient descent on the MSE multiplies the error along the
    Hessian's eigenvector i by (1 - lr lambda_i) each step, so it converges only when every factor is
    below 1 in size. The Hessian of mean((x w + b - y)^2) in (w, b) is (2/N) [x 1]^T [x 1] (the
    lesson's `lr < 1/a` for `L = a w^2`, whose Hessian is 2a)."""
    design = np.column_stack([x, np.ones(len(x))])
    return float(2.0 / np.linalg.eigvalsh(2.0 * design.T @ design / len(x)).max())


def round_down(value: float, digits: int = 2) -> float:
    """`value` rounded down to `digits` significant figures (0.1048 -> 0.1), so a rate under a bound stays under."""
    scale = 10.0 ** (math.floor(math.log10(value)) - digits + 1)
    return float(f"{math.floor(value / scale + 1e-9) * scale:.{digits}g}")


class GdLinearLab(Lab):
    id = "gd-linear"
    title = "Gradient descent on a linear model"
    node_id = "gradient-descent"
    dataset = "linear"
    description = (
        "Fit `y = x·w + b` to 200 noisy points by **batch gradient descent**: every step moves the "
        "weights against the gradient of the mean squared error. The learning rate and the number of "
        "steps are yours. You pass when the final loss is within 1 % of the exact least-squares optimum "
        "and falls at every step."
    )
    naive = "a learning rate of 0.5, which looks small"
    good_settings = {"lr": 0.05, "steps": 300}
    failure_modes = (
        FailureMode(id="lr-too-large", label="the rate is too large: each step overshoots and the loss grows",
                    explanation="Along the Hessian's steepest direction each step multiplies the error by "
                    "(1 - lr·lambda_max); once lr > 2/lambda_max that factor is larger than 1 in size and the "
                    "error grows every step. For this data 2/lambda_max is about 0.11: pick a rate below it."),
        FailureMode(id="lr-too-small", label="the rate is too small: the loss falls, but too slowly to arrive",
                    explanation="Each step moves the weights by lr times the gradient; with a tiny rate the "
                    "curve is still sloping down when the steps run out. Raise the rate towards (not past) "
                    "the stable bound 2/lambda_max."),
        FailureMode(id="too-few-steps", label="too few steps: training stopped before the loss flattened",
                    explanation="Gradient descent closes a fixed share of the gap to the optimum each step; "
                    "with too few steps the curve ends while still falling. Train for more steps."),
    )
    Params = Params
    checks = (
        CheckSpec(id="optimum", title="Final loss within 1 % of the optimum", points=60, required=True),
        CheckSpec(id="weights", title="Weights close to the least-squares solution", points=25),
        CheckSpec(id="descent", title="The loss went down at every step", points=15),
    )
    pass_mark = 70.0
    time_limit_s = 60.0
    unit = "step"

    def run(self, params: Params, ctx: RunContext) -> Outcome:
        data = make_linear(n=200, n_features=3, noise=0.5, seed=DATA_SEED)
        x, y = data.x, data.y
        w, b = ctx.rng.normal(size=x.shape[1]), 0.0
        w_opt, b_opt = least_squares(x, y)
        best = mse(x, y, w_opt, b_opt)
        ctx.start(total_steps=params.steps, dataset_hash=data.sha256)
        every = max(1, params.steps // 100)
        losses = np.empty(params.steps + 1)
        losses[0] = mse(x, y, w, b)
        ctx.progress(0, {"train_loss": losses[0]})  # the curve starts where training starts
        emitted, blow_up = 0, BLOW_UP * losses[0]
        for step in range(1, params.steps + 1):
            gw, gb = mse_grad(x, y, w, b)
            w, b = w - params.lr * gw, b - params.lr * gb
            losses[step] = mse(x, y, w, b)
            if not losses[step] <= blow_up:  # diverging: draw every finite step up to the stop, then stop
                for s in range(emitted + 1, step + 1):
                    if math.isfinite(losses[s]):
                        ctx.progress(s, {"train_loss": losses[s]})
                ctx.guard(step, "train_loss", losses[step], blow_up=blow_up)
            stop = ctx.deadline_reached(step, params.steps)
            if step % every == 0 or step == params.steps or stop:
                ctx.progress(step, {"train_loss": losses[step]})
                emitted = step
            if stop:
                losses = losses[: step + 1]  # graded on the steps taken
                break
        return self._grade(ctx, losses, best, w - w_opt, w_opt, params)

    def diagnose(self, params: Params, finished: Finished) -> str | None:
        """Diverged, or rose on some step: too large. Short of the optimum while still falling: the rate
        (below a tenth of the stable bound) or else the steps were too few."""
        if finished.status == "passed":
            return None
        if diverged(finished) or failed(finished, "descent"):
            return "lr-too-large"
        if metric(finished, "loss_gap", 0.0) > 0.01:
            return "lr-too-small" if params.lr < 0.1 * self.stable_lr(params)[0] else "too-few-steps"
        return None

    def stable_lr(self, params: LabParams) -> tuple[float, str]:
        """From the data: 0.9 of the bound 2 / lambda_max, rounded down to 2 significant figures."""
        bound = step_size_bound(make_linear(n=200, n_features=3, noise=0.5, seed=DATA_SEED).x)
        return round_down(0.9 * bound), f"below the stable bound 2/lambda_max = {bound:.3g} for this data"

    def _grade(self, ctx: RunContext, losses: np.ndarray, best: float, w_err: np.ndarray,
               w_opt: np.ndarray, params: Params) -> Outcome:
        final = float(losses[-1])
        gap = (final - best) / best
        w_rel = float(np.linalg.norm(w_err) / np.linalg.norm(w_opt))
        rises = int(np.sum(np.diff(losses) > 1e-12 * losses[:-1]))
        advice = ("the loss is still falling: raise lr or steps" if losses[-2] - final > 1e-9 * final
                  else "the loss has flattened above the optimum")
        results = [
            ctx.check("optimum", gap <= 0.01,
                      f"final loss {final:.4f} vs optimum {best:.4f} ({100 * gap:.2f} % above)"
                      + ("." if gap <= 0.01 else f"; {advice}.")),
            ctx.check("weights", partial_credit(w_rel, 0.5, 0.01),
                      f"weights are {100 * w_rel:.2f} % away from the least-squares solution."),
            ctx.check("descent", rises == 0,
                      "the loss fell at every step." if rises == 0 else
                      f"the loss rose on {rises} steps: lr={params.lr:g} overshoots; try a smaller rate."),
        ]
        metrics = {"train_loss": final, "optimum_loss": best, "loss_gap": gap, "weight_error": w_rel}
        return Outcome(results=results, metrics=metrics)


LAB = GdLinearLab()
