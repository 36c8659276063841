"""The events a lab run emits, from the training process to whoever watches it (CLI, TUI, tests).

They are small, JSON-serialisable pydantic models: the runner writes one per line on the child's stdout
and the parent parses them back with `parse_event`. A run emits, in order:

    Started -> (Progress | Sample)* -> Finished        (the run ended and was graded)
                                    -> Failed          (an exception, a time-out, a killed worker)

`Finished.status` is `passed` or `failed` (a diverged run is `failed` with feedback saying so; a run
the clock cut short is graded on what it trained, with `stopped_at_limit`);
`Failed` is always recorded as status `error` (or `cancelled` when the caller asked for it).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, Field, TypeAdapter

from labs.grading import Grade


class Started(BaseModel):
    type: Literal["started"] = "started"
    lab_id: str
    total_steps: int = Field(description="steps (or epochs, see `unit`) the run expects to make")
    unit: Literal["step", "epoch"] = "step"
    dataset_hash: str = ""
    pid: int = 0


class Progress(BaseModel):
    type: Literal["progress"] = "progress"
    step: int
    epoch: int | None = None
    split: Literal["train", "val", "test"] = "train"
    metrics: dict[str, float] = Field(description="stable snake_case names, e.g. train_loss, val_accuracy")
    elapsed_s: float = 0.0


class Sample(BaseModel):
    type: Literal["sample"] = "sample"
    step: int
    text: str


class SavedModel(BaseModel):
    """A model the run stored (RunContext.save_model): the app records it as a checkpoint of the attempt."""

    file: str = Field(description="where the worker left it: <models folder>/<sha256>.npz")
    sha256: str
    bytes: int
    architecture: dict
    tokenizer: dict | None = None


class Finished(BaseModel):
    type: Literal["finished"] = "finished"
    status: Literal["passed", "failed"]
    grade: Grade
    metrics: dict[str, float] = Field(default_factory=dict, description="final metrics of the run")
    feedback: str = ""
    duration_s: float = 0.0
    stopped_at_limit: bool = Field(False, description="the clock stopped training before every planned step; "
                                   "the grade is on what was trained (the feedback says how far it got)")
    stopped_at_step: int | None = Field(None, description="steps (or epochs, Started.unit) trained when the "
                                        "clock stopped it; None when it trained every planned one")
    diagnosis: str | None = Field(None, description="the id of the lab's failure mode (Lab.failure_modes) that "
                                  "explains this failed run, from its evidence; None when it passed or none applies")
    model: SavedModel | None = Field(None, description="the trained model the run stored, if it stored one")


class Failed(BaseModel):
    type: Literal["failed"] = "failed"
    kind: Literal["error", "timeout", "killed", "cancelled"]
    message: str
    traceback: str = ""


Event = Annotated[Union[Started, Progress, Sample, Finished, Failed], Field(discriminator="type")]
_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(line: str | bytes) -> Event:
    """Parse one JSON line written by `dump_event` (raises pydantic.ValidationError on garbage)."""
    return _adapter.validate_json(line)


def dump_event(event: Event) -> str:
    """One line of JSON, without a trailing newline."""
    return event.model_dump_json()
