"""What a lab is: its parameters, its checks, and a `run` that trains and grades inside the worker.

Writing a lab (one module per lab under labs/catalog/, exporting `LAB = MyLab()`):

    class Params(LabParams):
        lr: float = Field(0.1, gt=0, le=10, description="learning rate: the size of each step")
        steps: int = Field(200, ge=1, le=5000, description="number of gradient-descent steps")

    class MyLab(Lab):
        id = "my-lab"; title = "..."; node_id = "gradient-descent"; dataset = "linear"
        description = "Markdown: what the learner does and what it teaches."
        Params = Params
        checks = (CheckSpec(id="fit", title="Loss near the optimum", points=70, required=True), ...)
        pass_mark = 70.0; time_limit_s = 60.0; unit = "step"

        def run(self, params: Params, ctx: RunContext) -> Outcome:
            ctx.start(total_steps=params.steps, dataset_hash=data.sha256)
            for step in ...:
                ctx.progress(step, {"train_loss": loss})      # raises Diverged on nan/inf
            return Outcome(results=[ctx.check("fit", fraction, "message")], metrics={...})

`Lab.train(params, seed, emit)` is the fixed entry point the worker calls: it runs `run`, turns a
`Diverged` into a failed `Finished` whose feedback says to lower the learning rate, grades the results
and returns the `Finished` event (the worker emits it). Metric names are stable snake_case:
train_loss, val_loss, val_accuracy, test_accuracy, ... Progress is emitted at most every few steps;
`ctx.guard(step, name, value)` checks the steps in between, `ctx.sample(step, text)` shows text (generated
samples, a report), `ctx.rng` is the run's seeded generator. Code shared by several labs lives in
`_`-prefixed modules of the package, which the catalogue does not scan for labs.

`Lab.validate_params(raw)` turns `--set key=value` strings (or JSON values) into `Params`, raising
`ParamError` with a message that names the key, the value and the allowed range.
"""

from __future__ import annotations

import math
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, get_args, get_origin

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from labs.events import Event, Finished, Progress, Sample, Started
from labs.grading import CheckResult, CheckSpec, evaluate, grade, skipped

Emit = Callable[[Event], None]
RawParams = Mapping[str, str | int | float | bool]


class LabParams(BaseModel):
    """Base of every lab's Params: unknown keys are an error, values are immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ParamError(ValueError):
    """A learner's parameter is unknown or out of range; the message is fit to show as is."""


class Diverged(Exception):
    """Training produced a non-finite value; `Lab.train` turns it into a failed, explained run."""

    def __init__(self, step: int, name: str, value: float):
        what = f"grew to {value:.3g}" if math.isfinite(value) else f"became {value}"
        super().__init__(f"{name} {what} at step {step}")
        self.step, self.name, self.value = step, name, value


class Outcome(BaseModel):
    """What `Lab.run` hands back: one result per declared check, the final metrics, optional feedback."""

    results: list[CheckResult]
    metrics: dict[str, float] = Field(default_factory=dict)
    feedback: str = ""


class ParamSpec(BaseModel):
    """One parameter described for a form or `--help`: the bounds are the Field's ge/gt/le/lt."""

    name: str
    type: str
    default: Any
    description: str
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: list[str] | None = None

    def bounds_text(self) -> str:
        if self.choices:
            return "one of " + ", ".join(self.choices)
        lo = f">= {self.ge:g}" if self.ge is not None else (f"> {self.gt:g}" if self.gt is not None else "")
        hi = f"<= {self.le:g}" if self.le is not None else (f"< {self.lt:g}" if self.lt is not None else "")
        return " and ".join(b for b in (lo, hi) if b) or "any " + self.type


class RunContext:
    """The lab's handle on a run: the seeded rng, the clock, and the events it may emit."""

    def __init__(self, lab: Lab, params: LabParams, seed: int, emit: Emit):
        self.lab, self.params, self.seed, self._emit = lab, params, seed, emit
        self.rng = np.random.default_rng(seed)
        self._t0 = time.perf_counter()
        self.started = False

    def elapsed(self) -> float:
        return time.perf_counter() - self._t0

    def start(self, total_steps: int, dataset_hash: str = "") -> None:
        """Emit `Started`; call once, before the first `progress`."""
        self.started = True
        self._emit(Started(lab_id=self.lab.id, total_steps=int(total_steps), unit=self.lab.unit,
                           dataset_hash=dataset_hash, pid=os.getpid()))

    def progress(self, step: int, metrics: Mapping[str, float], *, epoch: int | None = None,
                 split: Literal["train", "val", "test"] = "train") -> None:
        """Emit a metric point; a nan/inf value stops the run by raising `Diverged`."""
        values = {k: float(v) for k, v in metrics.items()}
        for name, value in values.items():
            if not math.isfinite(value):
                raise Diverged(step, name, value)
        self._emit(Progress(step=step, epoch=epoch, split=split, metrics=values, elapsed_s=self.elapsed()))

    def guard(self, step: int, name: str, value: float, *, blow_up: float = math.inf) -> None:
        """Raise `Diverged` if `value` is nan/inf or above `blow_up`; for steps that emit nothing."""
        if not math.isfinite(value) or value > blow_up:
            raise Diverged(step, name, float(value))

    def sample(self, step: int, text: str) -> None:
        self._emit(Sample(step=step, text=text))

    def check(self, check_id: str, fraction: float | bool, message: str) -> CheckResult:
        """Score the declared check `check_id`: fraction 1 (or True) passes, 0 fails, between is partial."""
        return evaluate(self.lab.check_spec(check_id), float(fraction), message)

    def finish(self, outcome: Outcome) -> Finished:
        """Grade the outcome; a declared check the lab never evaluated counts as skipped (no points)."""
        given = {r.id: r for r in outcome.results}
        results = [given.get(s.id) or skipped(s, "not evaluated") for s in self.lab.checks]
        g = grade(results, self.lab.pass_mark)
        feedback = outcome.feedback or _default_feedback(g.passed, results)
        metrics = {k: float(v) for k, v in outcome.metrics.items() if math.isfinite(float(v))}
        return Finished(status="passed" if g.passed else "failed", grade=g, metrics=metrics,
                        feedback=feedback, duration_s=round(self.elapsed(), 3))


def _default_feedback(passed: bool, results: list[CheckResult]) -> str:
    todo = [r.message for r in results if r.status in ("failed", "partial")]
    if passed and not todo:
        return "Passed every check."
    head = "Passed, with room to improve: " if passed else "Not passed yet: "
    return head + " ".join(todo)


class Lab(ABC):
    """A graded lab. Subclasses set the class attributes below and implement `run`."""

    id: ClassVar[str]
    title: ClassVar[str]
    node_id: ClassVar[str]
    description: ClassVar[str]
    dataset: ClassVar[str]  # one of labs.datasets.dataset_names()
    Params: ClassVar[type[LabParams]]
    checks: ClassVar[tuple[CheckSpec, ...]]
    pass_mark: ClassVar[float] = 70.0
    time_limit_s: ClassVar[float] = 120.0  # the runner kills a run that takes longer (wall clock)
    unit: ClassVar[Literal["step", "epoch"]] = "epoch"

    @abstractmethod
    def run(self, params: Any, ctx: RunContext) -> Outcome:
        """Build, train (emitting through ctx), evaluate every check; runs in the worker process."""

    # -- the fixed entry point ----------------------------------------------------------------------
    def train(self, params: LabParams, seed: int, emit: Emit) -> Finished:
        ctx = RunContext(self, params, seed, emit)
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                outcome = self.run(params, ctx)
        except Diverged as d:
            if not ctx.started:
                ctx.start(total_steps=0)
            return ctx.finish(self._diverged_outcome(params, d))
        return ctx.finish(outcome)

    def _diverged_outcome(self, params: LabParams, d: Diverged) -> Outcome:
        lr = getattr(params, "lr", None)
        hint = (f"the learning rate lr={lr:g} is too large: try a smaller one, e.g. lr={lr / 10:g}"
                if isinstance(lr, float) else "try a smaller learning rate")
        note = f"Training diverged: {d}, so the run stopped; {hint}."
        results = [evaluate(s, 0.0, "not reached: training diverged") for s in self.checks]
        return Outcome(results=results, metrics={"diverged_at_step": d.step}, feedback=note)

    # -- parameters ---------------------------------------------------------------------------------
    def default_params(self) -> LabParams:
        return self.Params()

    def param_specs(self) -> list[ParamSpec]:
        return [_param_spec(name, f) for name, f in self.Params.model_fields.items()]

    def validate_params(self, raw: RawParams | None = None) -> LabParams:
        """`--set` strings or JSON values -> Params; `ParamError` names the key, value and allowed range."""
        raw = dict(raw or {})
        specs = {s.name: s for s in self.param_specs()}
        unknown = sorted(set(raw) - set(specs))
        if unknown:
            raise ParamError(f"lab {self.id}: unknown parameter {', '.join(map(repr, unknown))}; "
                             f"valid keys: {', '.join(specs) or '(none)'}")
        raw = {key: _choice_value(self.Params.model_fields[key].annotation, value) for key, value in raw.items()}
        try:
            return self.Params.model_validate(raw)
        except ValidationError as exc:
            lines = []
            for err in exc.errors():
                key = str(err["loc"][0]) if err["loc"] else "?"
                spec = specs.get(key)
                allowed = f" (allowed: {spec.bounds_text()}; {spec.description})" if spec else ""
                lines.append(f"{key}={raw.get(key)!r}: {err['msg']}{allowed}")
            raise ParamError(f"lab {self.id}: " + "; ".join(lines)) from None

    def check_spec(self, check_id: str) -> CheckSpec:
        for spec in self.checks:
            if spec.id == check_id:
                return spec
        raise KeyError(f"lab {self.id} declares no check {check_id!r}; it has {[s.id for s in self.checks]}")

    def __repr__(self) -> str:
        return f"<Lab {self.id}>"


def _choice_value(annotation: Any, value: Any) -> Any:
    """`--set kernel_size=3` arrives as the text "3": match it to the choice it spells (Literal[1, 3, 5])."""
    if isinstance(value, str) and get_origin(annotation) is Literal:
        for choice in get_args(annotation):
            if not isinstance(choice, str) and str(choice) == value.strip():
                return choice
    return value


def _param_spec(name: str, field: Any) -> ParamSpec:
    bounds: dict[str, float] = {}
    for meta in field.metadata:
        for attr in ("ge", "gt", "le", "lt"):
            if getattr(meta, attr, None) is not None:
                bounds[attr] = float(getattr(meta, attr))
    ann = field.annotation
    choices = [str(c) for c in get_args(ann)] if get_origin(ann) is Literal else None
    type_name = "choice" if choices else getattr(ann, "__name__", str(ann))
    return ParamSpec(name=name, type=type_name, default=field.default, description=field.description or "",
                     choices=choices, **bounds)
