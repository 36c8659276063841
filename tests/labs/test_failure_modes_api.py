"""The judgement API (issue 14 §1): failure modes, `diagnose` and `Finished.diagnosis`, on a lab made for
the test, so the contract is pinned independently of the catalogue's labs."""

from __future__ import annotations

import math

from pydantic import Field

from labs.catalog.base import Diverged, FailureMode, Lab, LabParams, Outcome, RunContext
from labs.events import Finished, Progress, dump_event, parse_event
from labs.grading import CheckSpec


class Params(LabParams):
    lr: float = Field(5.0, gt=0, le=10, description="rate")
    steps: int = Field(10, ge=1, le=50, description="steps")


class Toy(Lab):
    """Loss (1 - lr)^(2 t): diverges for lr > 2 (its curve emitted until it passes 1e3), passes for 10
    steps at lr=0.5, fails for too few steps."""

    id = "toy"
    title = "toy"
    node_id = "none"
    dataset = "none"
    description = "Reach a loss below 0.01."
    Params = Params
    checks = (CheckSpec(id="fit", title="fit", points=100, required=True),)
    unit = "step"
    naive = "a rate too large"
    good_settings = {"lr": 0.5}
    failure_modes = (
        FailureMode(id="lr-too-large", label="the rate is too large", explanation="lower it"),
        FailureMode(id="too-few-steps", label="too few steps", explanation="train longer"),
        FailureMode(id="unknown-mode", label="?", explanation="?"),
    )

    def run(self, params: Params, ctx: RunContext) -> Outcome:
        ctx.start(total_steps=params.steps)
        loss = 1.0
        for step in range(params.steps + 1):
            loss = (1 - params.lr) ** (2 * step) if step < 500 else math.inf
            ctx.progress(step, {"train_loss": loss if loss < 1e300 else math.inf})
            if loss > 1e3:
                raise Diverged(step, "train_loss", loss)
        return Outcome(results=[ctx.check("fit", loss < 0.01, f"loss {loss:.3g}")], metrics={"train_loss": loss})

    def diagnose(self, params: Params, finished: Finished) -> str | None:
        if "diverged_at_step" in finished.metrics:
            return "lr-too-large"
        return "too-few-steps" if finished.metrics.get("train_loss", 0) > 0.01 else "not-declared"


def run(**raw) -> tuple[Finished, list]:
    lab, events = Toy(), []
    finished = lab.train(lab.validate_params(raw), 0, events.append)
    return finished, events


def test_defaults_diverge_and_the_diagnosis_is_set_on_the_diverged_finished():
    finished, events = run()
    assert finished.status == "failed" and finished.diagnosis == "lr-too-large"
    assert [e.step for e in events if isinstance(e, Progress)] == [0, 1, 2, 3]  # the curve up to the stop
    assert parse_event(dump_event(finished)).diagnosis == "lr-too-large"  # crosses the worker boundary


def test_good_settings_pass_without_a_diagnosis_and_a_failed_run_gets_its_mode():
    lab = Toy()
    assert lab.good_params() == Params(lr=0.5, steps=10) != lab.default_params()
    passed, _ = run(**lab.good_settings)
    assert passed.status == "passed" and passed.diagnosis is None
    short, _ = run(lr=0.5, steps=1)
    assert short.status == "failed" and short.diagnosis == "too-few-steps"
    assert lab.failure_mode("too-few-steps").label == "too few steps"


def test_an_undeclared_mode_is_dropped_and_the_default_diagnose_is_none():
    class Undeclared(Toy):
        failure_modes = Toy.failure_modes[:1]

        def diagnose(self, params, finished):
            return "too-few-steps"  # not among this lab's modes

    lab = Undeclared()
    assert lab.train(lab.validate_params({"lr": 0.5, "steps": 1}), 0, lambda e: None).diagnosis is None
    assert Lab.diagnose(lab, lab.default_params(), None) is None  # the base class names no mode
    assert Finished.model_fields["diagnosis"].default is None


def test_the_divergence_advice_uses_the_good_settings_rate():
    finished, _ = run(lr=3.0)
    assert "lr=0.5" in finished.feedback and "at step" in finished.feedback
