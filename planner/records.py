"""The rows `planner.store` hands back and takes in, as pydantic models (never raw tuples or dicts).

Times are timezone-aware UTC datetimes (stored as ISO-8601 text); JSON columns come back decoded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

FinalStatus = Literal["passed", "failed", "cancelled", "error", "interrupted"]
AttemptStatus = Literal["running", "passed", "failed", "cancelled", "error", "interrupted"]
AttemptMode = Literal["explore", "practice", "implement"]
FINAL_STATUSES: frozenset[str] = frozenset({"passed", "failed", "cancelled", "error", "interrupted"})


def as_utc(moment: datetime) -> datetime:
    """A time in UTC; a naive one is taken to be UTC already (as the store has always stored it)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
"""A datetime that is always timezone-aware UTC, so equal moments compare (and hash) equal."""


class Learner(BaseModel):
    id: int
    name: str
    target_role: str | None = None
    hours_per_week: float | None = None
    created_at: UtcDatetime
    last_active_at: UtcDatetime | None = None


class AttemptFields(BaseModel):
    """The columns a lab attempt has wherever it lives: a stored row (`Attempt`) or a transfer file
    (`planner.portable.PortableAttempt`). One list, so a new column cannot reach one and miss the other."""

    lab_id: str
    node_id: str
    mode: AttemptMode
    test_out: bool = False
    params: dict[str, Any] = Field(default_factory=dict)
    seed: int | None = None
    status: AttemptStatus
    score: float | None = None
    passed: bool | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    feedback: str = ""
    started_at: UtcDatetime
    finished_at: UtcDatetime | None = None
    duration_s: float | None = None
    app_version: str = ""
    dataset_hash: str = ""
    code_hash: str | None = None

    def key(self) -> tuple:
        """What identifies an attempt across databases (ids differ): an import skips a key it has."""
        return (self.lab_id, self.node_id, self.mode, self.seed, self.started_at)


class Attempt(AttemptFields):
    """One lab run as stored. `score`/`passed`/`finished_at` stay None while it is running."""

    id: int
    learner_id: int
    pid: int | None = None


class MetricPoint(BaseModel):
    """One metric value at one step (what a `labs.events.Progress` expands into)."""

    step: int
    name: str
    value: float
    epoch: int | None = None
    split: str = "train"


class SampleRow(BaseModel):
    step: int
    text: str


class QuizAnswer(BaseModel):
    """The learner's answer to one question: option indices (single/multiple) or a number."""

    question_id: str
    answer: Any
    correct: bool
    points: float = Field(ge=0)
    max_points: float = Field(gt=0)


class QuizAttempt(BaseModel):
    id: int
    learner_id: int
    node_id: str
    seed: int | None = None
    score: float
    passed: bool
    started_at: UtcDatetime
    finished_at: UtcDatetime
    kind: Literal["quiz", "review"] = "quiz"  # a review draw of a completed node (planner.review)
    answers: list[QuizAnswer] = Field(default_factory=list)


class HelpView(BaseModel):
    """A build task's hint (with its 1-based number) or reference solution, shown to a learner."""

    id: int
    learner_id: int
    lab_id: str
    kind: Literal["hint", "solution"]
    number: int | None = None
    viewed_at: UtcDatetime
