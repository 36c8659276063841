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
                if ctx.deadline_reached(step, params.steps):   # the clock: grade what was trained
                    break
            return Outcome(results=[ctx.check("fit", fraction, "message")], metrics={...})

`Lab.train(params, seed, emit)` is the fixed entry point the worker calls: it runs `run`, turns a
`Diverged` into a failed `Finished` whose feedback says to lower the learning rate, grades the results
and returns the `Finished` event (the worker emits it). Metric names are stable snake_case:
train_loss, val_loss, val_accuracy, test_accuracy, ... Progress is emitted at most every few steps;
`ctx.guard(step, name, value)` checks the steps in between, `ctx.sample(step, text)` shows text (generated
samples, a report), `ctx.rng` is the run's seeded generator. Code shared by several labs lives in
`_`-prefixed modules of the package, which the catalogue does not scan for labs.

Judgement (issue 14): an experiment's DEFAULT Params are a named beginner's mistake (`naive`) that fails
one check; `good_settings` pass; `failure_modes` (`FailureMode`: id, label, explanation) are the options
of "what went wrong?", and `diagnose(params, finished)` names the one this failed run shows, from its
evidence (metrics, checks, `diverged_at_step`). `train` stores it in `Finished.diagnosis`.

Models that last (issue 15; labs/catalog/_models.py): a lab that trains a model hands it over with
`ctx.save_model(model, architecture={"kind": ..., **constructor kwargs}, tokenizer=...)` after training
(written into the run's models folder as `<sha256>.npz`, reported in `Finished.model`); a lab that builds
on one names the labs it takes in `uses_models` and reads the learner's choice with `ctx.your_model` /
`ctx.load_model()` (None / `ModelUnavailable` when none was given).

`Lab.validate_params(raw)` turns `--set key=value` strings (or JSON values) into `Params`, raising
`ParamError` with a message that names the key, the value and the allowed range. It is the one home of
that rule: `planner.service` calls it once for the app and hands the `Params` to the runner as they are;
the runner calls it only for a raw mapping (a direct caller); the worker calls it again at its process
boundary, because there the parameters arrive as JSON text. `validate_seed` is the same for the seed.

The clock: a run has a time limit (`Lab.time_limit_s`, or the runner's). Training stops at
`ctx.deadline_s`, a margin before the limit, so what was trained is still graded inside the limit:
a loop calls `ctx.deadline_reached(done, planned)` after each step (or epoch) and stops when it says
so; the `Finished` event then carries `stopped_at_limit=True` and feedback saying how far it got. The
runner's kill at the limit plus a grace is only the backstop for a lab that ignores the deadline.
"""

from __future__ import annotations

import math
import operator
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
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


class SeedError(ParamError):
    """The run's seed is not a whole number in [0, 2**32); the message is fit to show as is."""


MAX_SEED = 2**32 - 1  # NumPy's legacy seeding and most tools take 32-bit seeds; SQLite stores them exactly


def validate_seed(seed: object) -> int:
    """The seed as an int, or `SeedError` naming it: the one check, called wherever a run begins."""
    try:
        value = operator.index(seed)  # ints and NumPy ints; not 1.5, not "3"
    except TypeError:
        raise SeedError(f"seed {repr(seed)[:40]} is not a whole number; use one from 0 to {MAX_SEED}") from None
    if not 0 <= value <= MAX_SEED:
        # A huge number is named by its length: printing it would flood the line (or exceed str()'s limit).
        digits = int(value.bit_length() * 0.30103) + 1
        shown = str(value) if abs(value) < 10**30 else \
            f"({'a negative' if value < 0 else 'a'} number of about {digits} digits)"
        raise SeedError(f"seed {shown} is out of range; use a whole number from 0 to {MAX_SEED}")
    return int(value)


def grading_margin_s(time_limit_s: float) -> float:
    """How long before its time limit a run stops training, to grade what it trained: 10 %, at most 30 s
    (the slowest grading, cnn-digits' reference MLP, takes a few seconds on a busy machine)."""
    return min(0.1 * time_limit_s, 30.0)


class Diverged(Exception):
    """Training produced a non-finite value; `Lab.train` turns it into a failed, explained run."""

    def __init__(self, step: int, name: str, value: float):
        what = f"grew to {value:.3g}" if math.isfinite(value) else f"became {value}"
        super().__init__(f"{name} {what} at step {step}")
        self.step, self.name, self.value = step, name, value


class FailureMode(BaseModel):
    """A way an experiment can fail that its lesson teaches: the learner picks `label` when asked "what
    went wrong?" after a failed run, and sees `explanation` once answered."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description='a slug, e.g. "lr-too-large"')
    label: str = Field(description='the option the learner picks: "the rate is too large: each step overshoots"')
    explanation: str = Field(description="why, in the lesson's terms, and what to change")


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
    """The lab's handle on a run: the seeded rng, the clock and its deadline, and the events it may emit.

    `time_limit_s` is the run's limit (the lab's unless the runner gives one); training should stop at
    `deadline_s` seconds after the run began (see `deadline_reached`)."""

    def __init__(self, lab: Lab, params: LabParams, seed: int, emit: Emit, *,
                 time_limit_s: float | None = None, models_dir: str | None = None,
                 your_model: Any = None):
        self.lab, self.params, self.seed, self._emit = lab, params, validate_seed(seed), emit
        # Models that last (labs/catalog/_models.py): where save_model writes, and the model this run was given.
        from labs.catalog._models import YourModel

        self.models_dir = models_dir
        self.your_model: YourModel | None = (None if your_model is None else
                                             YourModel.model_validate(your_model))
        self.saved_model: Any = None  # labs.events.SavedModel once save_model wrote one
        self.rng = np.random.default_rng(self.seed)
        self._t0 = time.perf_counter()
        self.started = False
        self.time_limit_s = float(lab.time_limit_s if time_limit_s is None else time_limit_s)
        self.deadline_s = self.time_limit_s - grading_margin_s(self.time_limit_s)
        self.total_steps = 0
        self.skipped_steps = 0  # planned steps (or epochs) the clock left untrained
        self._stop_limit_s: float | None = None  # the limit named in the feedback once training was cut

    def elapsed(self) -> float:
        return time.perf_counter() - self._t0

    def remaining(self) -> float:
        """Seconds of training left before the deadline (negative once it has passed)."""
        return self.deadline_s - self.elapsed()

    def deadline_reached(self, done: int, planned: int) -> bool:
        """True when training must stop now to leave time for grading; it then records that
        `planned - done` steps (or epochs) were not trained, so the grade says it stopped at the limit.

        Call it after each step, so at least one is trained and there is always something to grade."""
        if done >= planned or self.elapsed() < self.deadline_s:
            return False
        self.cut_short(planned - done)
        return True

    def cut_short(self, skipped: int, limit_s: float | None = None) -> None:
        """Record that a clock stopped training with `skipped` planned steps untrained; `limit_s` is the
        limit to name in the feedback (default: the run's time limit; a lab's own budget otherwise)."""
        if skipped > 0:
            self.skipped_steps += int(skipped)
            self._stop_limit_s = self.time_limit_s if limit_s is None else float(limit_s)

    @contextmanager
    def time_share(self, share: float) -> Iterator[None]:
        """Within the block the deadline comes after `share` of the training time left, e.g. 0.5 for a
        model that will be trained a second time, as long again, after the block."""
        saved = self.deadline_s
        self.deadline_s = self.elapsed() + share * max(0.0, saved - self.elapsed())
        try:
            yield
        finally:
            self.deadline_s = saved

    def start(self, total_steps: int, dataset_hash: str = "") -> None:
        """Emit `Started`; call once, before the first `progress`."""
        self.started = True
        self.total_steps = int(total_steps)
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

    def save_model(self, model: Any, *, architecture: dict[str, Any],
                   tokenizer: dict[str, Any] | None = None) -> Any:
        """Hand the trained `model` over to the app as this attempt's checkpoint (call once, after
        training; a second call replaces the first): written as `<sha256>.npz` in the run's models
        folder, reported in `Finished.model`. `architecture` rebuilds it (`_models.build_model`: a
        "kind" and the constructor's keyword arguments), `tokenizer` turns text into its ids. Without a
        models folder (a run outside the app) nothing is written and None is returned."""
        if not self.models_dir:
            return None
        from labs.catalog._models import write_model

        self.saved_model = write_model(self.models_dir, model, architecture=architecture, tokenizer=tokenizer,
                                       lab_id=self.lab.id)
        return self.saved_model

    def load_model(self, into: Any = None) -> Any:
        """"Your model": the stored network the learner chose for this run, weights loaded, in eval mode;
        built from its architecture unless `into` (a Layer, or a function of the architecture dict) is
        given. `ModelUnavailable` (one line, fit to show) when none was given or it does not fit."""
        from labs.catalog._models import ModelUnavailable, read_model

        if self.your_model is None:
            raise ModelUnavailable(f"lab {self.lab.id} was given no model of yours; choose one in the lab form "
                                   f"or with --model")
        return read_model(self.your_model, into, rng=self.rng)

    def check(self, check_id: str, fraction: float | bool, message: str) -> CheckResult:
        """Score the declared check `check_id`: fraction 1 (or True) passes, 0 fails, between is partial."""
        return evaluate(self.lab.check_spec(check_id), float(fraction), message)

    def finish(self, outcome: Outcome) -> Finished:
        """Grade the outcome; a declared check the lab never evaluated counts as skipped (no points)."""
        given = {r.id: r for r in outcome.results}
        results = [given.get(s.id) or skipped(s, "not evaluated") for s in self.lab.checks]
        g = grade(results, self.lab.pass_mark)
        feedback = outcome.feedback or _default_feedback(g.passed, results)
        stopped = self.skipped_steps > 0
        trained = max(0, self.total_steps - self.skipped_steps) if stopped else None
        if stopped:
            feedback = f"{self._stop_line(trained)} {feedback}"
        metrics = {k: float(v) for k, v in outcome.metrics.items() if math.isfinite(float(v))}
        return Finished(status="passed" if g.passed else "failed", grade=g, metrics=metrics,
                        feedback=feedback, duration_s=round(self.elapsed(), 3),
                        stopped_at_limit=stopped, stopped_at_step=trained, model=self.saved_model)

    def _stop_line(self, trained: int | None) -> str:
        unit = self.lab.unit
        return (f"Stopped after {trained} of {self.total_steps} {unit}s at the {self._stop_limit_s:g} s time "
                f"limit and graded on what was trained; fewer {unit}s or a smaller model would finish.")


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
    time_limit_s: ClassVar[float] = 120.0  # wall clock: training stops before it and is graded (RunContext)
    unit: ClassVar[Literal["step", "epoch"]] = "epoch"
    # Judgement (issue 14): an experiment's DEFAULT Params are `naive`, a plausible beginner's mistake that
    # fails one check on every calibrated seed; `good_settings` (a point of the documented good region,
    # merged over the defaults) pass on >= 9 of 10; `failure_modes` are the answers to "what went wrong?".
    naive: ClassVar[str] = ""  # the defaults' name, shown in the lab form: "a rate too large for this data"
    failure_modes: ClassVar[tuple[FailureMode, ...]] = ()
    good_settings: ClassVar[dict[str, Any]] = {}
    # "Your model" (labs/catalog/_models.py): the labs whose stored models this one can take, preferred
    # first; the lab form offers the learner's checkpoints of them, `ctx.load_model()` reads the chosen one.
    uses_models: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def run(self, params: Any, ctx: RunContext) -> Outcome:
        """Build, train (emitting through ctx), evaluate every check; runs in the worker process."""

    # -- the fixed entry point ----------------------------------------------------------------------
    def train(self, params: LabParams, seed: int, emit: Emit, *, time_limit_s: float | None = None,
              models_dir: str | None = None, your_model: Any = None) -> Finished:
        """Run, grade and return `Finished`; `time_limit_s` replaces the lab's own limit (the runner's);
        `models_dir` is where `ctx.save_model` writes, `your_model` the stored model chosen for this run."""
        ctx = RunContext(self, params, seed, emit, time_limit_s=time_limit_s, models_dir=models_dir,
                         your_model=your_model)
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                outcome = self.run(params, ctx)
        except Diverged as d:
            if not ctx.started:
                ctx.start(total_steps=0)
            finished = ctx.finish(self._diverged_outcome(params, d))
        else:
            finished = ctx.finish(outcome)
        return self._with_diagnosis(params, finished)

    def diagnose(self, params: Any, finished: Finished) -> str | None:
        """The id of the failure mode (one of `failure_modes`) that explains this FAILED run, read from
        its evidence (metrics such as `diverged_at_step`, the checks' results) before its params; None
        when it passed or no mode applies. Default: None."""
        return None

    def failure_mode(self, mode_id: str) -> FailureMode:
        for mode in self.failure_modes:
            if mode.id == mode_id:
                return mode
        raise KeyError(f"lab {self.id} declares no failure mode {mode_id!r}; "
                       f"it has {[m.id for m in self.failure_modes]}")

    def _with_diagnosis(self, params: LabParams, finished: Finished) -> Finished:
        """`finished` with `diagnosis` set from `diagnose` when it failed (an id the lab declares, else None)."""
        if finished.status == "passed":
            return finished
        mode = self.diagnose(params, finished)
        known = {m.id for m in self.failure_modes}
        return finished.model_copy(update={"diagnosis": mode if mode in known else None})

    def good_params(self) -> LabParams:
        """The defaults with `good_settings` applied: a point of the region that passes."""
        return self.validate_params(self.good_settings)

    def stable_lr(self, params: LabParams) -> tuple[float, str] | None:
        """A learning rate known to train this lab stably, and why it is known, for the divergence advice.

        By default the rate of `good_settings` (else the default rate), which passes on at least 9 of 10
        seeds in benchmarks/CALIBRATION.md; a lab that can derive the bound from its data (gd-linear)
        overrides this. None when the lab has no `lr`."""
        field = self.Params.model_fields.get("lr")
        if field is None or not isinstance(field.default, float):
            return None
        if "lr" in self.good_settings:
            return float(self.good_settings["lr"]), "the lab's good settings, calibrated stable on every seed"
        return field.default, "the lab's default, which trains stably on every calibrated seed"

    def _diverged_outcome(self, params: LabParams, d: Diverged) -> Outcome:
        lr = getattr(params, "lr", None)
        stable = self.stable_lr(params)
        if isinstance(lr, float) and stable is not None and stable[0] < lr:
            hint = f"the learning rate lr={lr:g} is too large: try a smaller one, lr={stable[0]:g} ({stable[1]})"
        elif isinstance(lr, float):
            hint = f"the learning rate lr={lr:g} is too large: try a smaller one, e.g. lr={lr / 10:g}"
        else:
            hint = "try a smaller learning rate"
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
