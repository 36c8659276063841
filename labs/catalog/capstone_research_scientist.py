"""capstone-research-scientist: a controlled ablation over seeds, reported with its spread.

One factor is switched on and off (dropout, or a wide versus narrow hidden layer) while everything else
is held fixed; each arm is trained with several seeds, and the effect on test accuracy is reported as
mean +- standard deviation per arm, the difference, its standard error and whether it exceeds the noise
(|t| >= 2, roughly a 95 % test). The grade rewards a sound experiment, not a particular answer; arms
that never trained properly make any comparison meaningless, so that check is required.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from labs.catalog._digits import MLPParams, build_mlp, train_on_digits
from labs.catalog._judgement import failed
from labs.catalog.base import FailureMode, Lab, LabParams, Outcome, RunContext
from labs.events import Finished
from labs.datasets import load_digits
from labs.grading import CheckSpec, partial_credit

MIN_SEEDS, MIN_ACCURACY, MAX_STD_ERROR = 3, 0.93, 0.01
ARMS = {"dropout": ({"dropout": 0.3}, {"dropout": 0.0}), "width": ({"width": 128}, {"width": 16})}


class Params(LabParams):
    factor: Literal["dropout", "width"] = Field("dropout", description="what to ablate: dropout 0.3 vs none, "
                                                                       "or 128 vs 16 hidden units")
    seeds: int = Field(1, ge=1, le=10, description="independent runs per arm")
    epochs: int = Field(15, ge=1, le=100, description="training epochs of every run (MLP, Adam)")


class ArmSummary(BaseModel):
    name: str
    accuracies: list[float]

    @property
    def mean(self) -> float:
        return float(np.mean(self.accuracies))

    @property
    def std(self) -> float:
        return float(np.std(self.accuracies, ddof=1)) if len(self.accuracies) > 1 else float("nan")


def effect_and_error(on: ArmSummary, off: ArmSummary) -> tuple[float, float]:
    """Difference of means and its standard error sqrt(s1^2/n1 + s2^2/n2) (Welch)."""
    n1, n2 = len(on.accuracies), len(off.accuracies)
    se = float(np.sqrt(on.std ** 2 / n1 + off.std ** 2 / n2)) if min(n1, n2) > 1 else float("nan")
    return on.mean - off.mean, se


def report(factor: str, on: ArmSummary, off: ArmSummary) -> str:
    effect, se = effect_and_error(on, off)
    t = effect / se if se and np.isfinite(se) and se > 0 else float("nan")
    verdict = ("cannot be judged: one seed gives no spread" if not np.isfinite(t) else
               "exceeds the noise" if abs(t) >= 2 else "is within the noise")
    return (f"ablation of {factor} over {len(on.accuracies)} seeds (test accuracy, mean +- std):\n"
            f"  {on.name:<14} {on.mean:.4f} +- {on.std:.4f}\n  {off.name:<14} {off.mean:.4f} +- {off.std:.4f}\n"
            f"effect {effect:+.4f} +- {se:.4f} (t = {t:.2f}): the effect {verdict}.")


class CapstoneResearchScientistLab(Lab):
    id = "capstone-research-scientist"
    title = "Capstone: an ablation that survives the noise"
    node_id = "research-scientist"
    dataset = "digits"
    description = (
        "Run a **controlled ablation** on the digits: switch one factor (dropout, or layer width) on and "
        "off, train each arm with several seeds, and report each arm's test accuracy as **mean +- std**, "
        "the effect and its standard error, and whether it exceeds the noise. A sound experiment needs "
        f"at least {MIN_SEEDS} seeds per arm, arms that trained properly (>= {MIN_ACCURACY}), and a "
        f"standard error of the effect below {MAX_STD_ERROR}."
    )
    Params = Params
    naive = "one run per arm, the way a quick comparison is often made"
    good_settings = {"seeds": 3}
    failure_modes = (
        FailureMode(id="one-seed", label="too few seeds: one run per arm shows no spread",
                    explanation="Two runs that differ only in their seed already differ in accuracy; with "
                    "one run per arm that noise and the effect are indistinguishable. Run each arm with "
                    "several seeds (3 or more) and compare the difference with its standard error."),
        FailureMode(id="undertrained", label="the arms did not train properly",
                    explanation="A comparison of models that have not learned says nothing about the "
                    "factor; train more epochs so both arms reach 0.93."),
        FailureMode(id="too-noisy", label="the standard error of the effect is too large",
                    explanation="The spread between seeds is large next to their number: add seeds (the "
                    "standard error falls as 1/sqrt(seeds))."),
    )
    checks = (
        CheckSpec(id="replicated", title=f"At least {MIN_SEEDS} seeds per arm", points=40, required=True),
        CheckSpec(id="trained", title=f"Both arms reach {MIN_ACCURACY} on average", points=30, required=True),
        CheckSpec(id="resolution", title=f"Standard error of the effect below {MAX_STD_ERROR}", points=30),
    )
    pass_mark = 70.0
    time_limit_s = 600.0
    unit = "step"

    def run(self, params: Params, ctx: RunContext) -> Outcome:
        data = load_digits()
        ctx.start(total_steps=2 * params.seeds, dataset_hash=data.sha256)
        on_cfg, off_cfg = ARMS[params.factor]
        arms = [ArmSummary(name=_arm_name(c), accuracies=[]) for c in (on_cfg, off_cfg)]
        for i in range(params.seeds):
            if i and ctx.deadline_reached(2 * i, 2 * params.seeds):  # graded on the seeds run so far
                break
            for arm, cfg in zip(arms, (on_cfg, off_cfg)):
                arm.accuracies.append(self._one_run(data, cfg, params.epochs, seed=(ctx.seed, i)))
            ctx.progress(i + 1, {"on_test_accuracy": arms[0].accuracies[-1],
                                 "off_test_accuracy": arms[1].accuracies[-1]}, split="test")
        on, off = arms
        seeds = len(on.accuracies)  # params.seeds, unless the deadline stopped the experiment sooner
        text = report(params.factor, on, off)
        ctx.sample(seeds, text)
        effect, se = effect_and_error(on, off)
        worst = min(on.mean, off.mean)
        results = [
            ctx.check("replicated", seeds >= MIN_SEEDS,
                      f"{seeds} seed(s) per arm" + ("." if seeds >= MIN_SEEDS else
                                                    "; one or two runs cannot show the spread.")),
            ctx.check("trained", partial_credit(worst, 0.8, MIN_ACCURACY),
                      f"the weaker arm averages {worst:.4f}" + ("." if worst >= MIN_ACCURACY else
                                                               "; train longer before comparing.")),
            ctx.check("resolution", bool(np.isfinite(se) and se < MAX_STD_ERROR),
                      f"standard error of the effect {se:.4f}" + ("." if np.isfinite(se) and se < MAX_STD_ERROR
                                                                   else "; add seeds to shrink it.")),
        ]
        metrics = {"effect": effect, "effect_std_error": se, "on_mean": on.mean, "off_mean": off.mean,
                   "on_std": on.std, "off_std": off.std}
        return Outcome(results=results, metrics=metrics, feedback=text)

    def diagnose(self, params: Params, finished: Finished) -> str | None:
        """The first required check that failed names it: replicated, trained, else resolution."""
        if finished.status == "passed":
            return None
        if failed(finished, "replicated"):
            return "one-seed"
        return "undertrained" if failed(finished, "trained") else "too-noisy"

    @staticmethod
    def _one_run(data, cfg: dict, epochs: int, seed: tuple[int, int]) -> float:
        p = MLPParams(epochs=epochs, **cfg)
        rng = np.random.default_rng(seed)
        r = train_on_digits(build_mlp(p, rng), data, optimizer=p.optimizer, lr=p.lr, weight_decay=p.weight_decay,
                            batch_size=p.batch_size, epochs=p.epochs, rng=rng, images=False, ctx=None)
        return r.test_accuracy


def _arm_name(cfg: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in cfg.items())


LAB = CapstoneResearchScientistLab()
