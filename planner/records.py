"""The rows `planner.store` hands back and takes in, as pydantic models (never raw tuples or dicts).

Times are timezone-aware UTC datetimes (stored as ISO-8601 text); JSON columns come back decoded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

AttemptStatus = Literal["running", "passed", "failed", "cancelled", "error", "interrupted"]
AttemptMode = Literal["explore", "practice", "implement"]
FINAL_STATUSES: frozenset[str] = frozenset({"passed", "failed", "cancelled", "error", "interrupted"})


class Learner(BaseModel):
    id: int
    name: str
    target_role: str | None = None
    hours_per_week: float | None = None
    created_at: datetime
    last_active_at: datetime | None = None


class Attempt(BaseModel):
    """One lab run. `score`/`passed`/`finished_at` stay None while it is running."""

    id: int
    learner_id: int
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
    started_at: datetime
    finished_at: datetime | None = None
    duration_s: float | None = None
    app_version: str = ""
    dataset_hash: str = ""
    code_hash: str | None = None
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
    started_at: datetime
    finished_at: datetime
    answers: list[QuizAnswer] = Field(default_factory=list)
