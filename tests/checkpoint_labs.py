"""A lab that builds on "your model", for tests/test_checkpoints.py: loaded in the worker by file path
(`lab_ref="/.../checkpoint_labs.py:YOURS"`), so it never enters the real catalogue. It loads the stored
ffnn-digits model it is given and reports that model's test accuracy, untrained further."""

from __future__ import annotations

from pydantic import Field

from labs.catalog._training import accuracy
from labs.catalog.base import Lab, LabParams, Outcome, RunContext
from labs.datasets import load_digits
from labs.grading import CheckSpec


class Params(LabParams):
    unused: int = Field(0, ge=0, le=1, description="no parameter matters here")


class YoursLab(Lab):
    id = "yours"
    title = "uses your model"
    node_id = "ffnn"
    dataset = "digits"
    description = "measures the model it was given"
    Params = Params
    checks = (CheckSpec(id="given", title="a model was given", points=1, required=True),)
    time_limit_s = 60.0
    unit = "step"
    uses_models = ("ffnn-digits",)

    def run(self, params: Params, ctx: RunContext) -> Outcome:
        ctx.start(total_steps=1)
        if ctx.your_model is None:
            return Outcome(results=[ctx.check("given", False, "no model")], metrics={})
        model = ctx.load_model()
        data = load_digits()
        acc = accuracy(model, data.test.x, data.test.y)
        return Outcome(results=[ctx.check("given", True, ctx.your_model.sha256)],
                       metrics={"test_accuracy": acc, "attempt": float(ctx.your_model.attempt_id or 0)})


YOURS = YoursLab()
