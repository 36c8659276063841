"""Labs that misbehave on purpose, for the runner tests. Loaded in the worker by file path
(`lab_ref="/.../fake_labs.py:RAISES"`), so they never enter the real catalogue."""

from __future__ import annotations

import os
import sys
import time

from pydantic import Field

from labs.catalog.base import Lab, LabParams, Outcome, RunContext
from labs.grading import CheckSpec


class Params(LabParams):
    steps: int = Field(3, ge=1, le=100, description="progress events to emit")
    passes: bool = Field(True, description="whether the single check passes")


class _Base(Lab):
    title = "fake"
    node_id = "none"
    dataset = "none"
    description = "a lab for tests"
    Params = Params
    checks = (CheckSpec(id="ok", title="ok", points=1, required=True),)
    time_limit_s = 30.0
    unit = "step"

    def run(self, params: Params, ctx: RunContext) -> Outcome:
        ctx.start(total_steps=params.steps)
        for step in range(1, params.steps + 1):
            ctx.progress(step, {"train_loss": 1.0 / step})
        self.misbehave()
        return Outcome(results=[ctx.check("ok", params.passes, "done")], metrics={"steps": params.steps})

    def misbehave(self) -> None:
        pass


class Chatty(_Base):
    """Prints to stdout (as careless lab code does): the events must still parse."""

    id = "fake-chatty"

    def misbehave(self) -> None:
        print("some noise on stdout", flush=True)
        os.write(1, b"raw noise on fd 1\n")


class Raises(_Base):
    id = "fake-raises"

    def misbehave(self) -> None:
        raise ValueError("boom in the lab")


class Sleeps(_Base):
    id = "fake-sleeps"

    def misbehave(self) -> None:
        sys.stderr.write("sleeping\n")
        time.sleep(60)


class Exits(_Base):
    id = "fake-exits"

    def misbehave(self) -> None:
        os._exit(3)


class Patient(_Base):
    """Trains slowly (0.05 s a step) but honours the run's deadline, as every catalogue loop does."""

    id = "fake-patient"

    def run(self, params: Params, ctx: RunContext) -> Outcome:
        ctx.start(total_steps=params.steps)
        step = 0
        for step in range(1, params.steps + 1):
            time.sleep(0.05)
            ctx.progress(step, {"train_loss": 1.0 / step})
            if ctx.deadline_reached(step, params.steps):
                break
        return Outcome(results=[ctx.check("ok", True, f"{step} steps")], metrics={"steps": step})


CHATTY, RAISES, SLEEPS, EXITS, PATIENT = Chatty(), Raises(), Sleeps(), Exits(), Patient()
