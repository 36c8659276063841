"""Move one learner's whole history between machines as a versioned JSON file.

    text = export_progress(store, learner)             # -> JSON text (format_version 1)
    summary = import_progress(store, text, rename=None)  # -> ImportSummary (what was added)

The file holds the learner's settings, every finished lab attempt (params, checks, metric curves,
samples) and every quiz attempt with its answers; no database ids and nothing that depends on when the
export ran, so exporting an imported learner gives back the same bytes.

Importing is idempotent: an attempt is identified by (lab, node, mode, seed, started_at) and a quiz
attempt by (node, started_at), and rows already present are skipped. When a learner of the same name
exists with history the file does not contain, that is someone else (or a diverged copy): the import
stops and suggests `--rename`. Running attempts are not exported: they have no result yet.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from labs.grading import CheckResult
from planner.records import FINAL_STATUSES, Learner, MetricPoint, QuizAnswer
from planner.records import Attempt as AttemptRecord
from planner.records import QuizAttempt as QuizRecord
from planner.store import Store

FORMAT_VERSION = 1


class PortableError(ValueError):
    """The file cannot be imported or the learner exported; the message says which and why."""


class _Model(BaseModel):
    # NaN and infinity (a diverged run) survive as JSON's NaN/Infinity, which Python's json reads back.
    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")


class Curve(_Model):
    steps: list[int]
    values: list[float | None] = Field(description="null where SQLite stored a NaN (it keeps NaN as NULL)")


class PortableAttempt(_Model):
    lab_id: str
    node_id: str
    # Checked here, not only by the store, so a bad value is named with its file and attempt number.
    mode: Literal["explore", "practice", "implement"]
    test_out: bool = False
    params: dict[str, Any] = Field(default_factory=dict)
    seed: int | None = None
    status: Literal["passed", "failed", "cancelled", "error", "interrupted"] = Field(
        description="a final status (FINAL_STATUSES): running attempts are never exported")
    score: float | None = None
    passed: bool = False
    metrics: dict[str, float] = Field(default_factory=dict)
    feedback: str = ""
    started_at: datetime
    finished_at: datetime | None = None
    duration_s: float | None = None
    app_version: str = ""
    dataset_hash: str = ""
    code_hash: str | None = None
    checks: list[CheckResult] = Field(default_factory=list)
    curves: dict[str, Curve] = Field(default_factory=dict, description="metric name -> points by step")
    samples: list[tuple[int, str]] = Field(default_factory=list, description="(step, text) in order")

    def key(self) -> tuple:
        return (self.lab_id, self.node_id, self.mode, self.seed, self.started_at)


class PortableQuiz(_Model):
    node_id: str
    seed: int | None = None
    score: float
    passed: bool
    started_at: datetime
    finished_at: datetime
    answers: list[QuizAnswer] = Field(default_factory=list)

    def key(self) -> tuple:
        return (self.node_id, self.started_at)


class PortableLearner(_Model):
    name: str
    target_role: str | None = None
    hours_per_week: float | None = None

    # The store's own rules, applied while parsing so a bad value is named with its file and field.
    _name = field_validator("name")(Store.clean_name)
    _hours = field_validator("hours_per_week")(Store._check_hours)


class ProgressFile(_Model):
    format_version: int
    learner: PortableLearner
    attempts: list[PortableAttempt] = Field(description="oldest first")
    quiz_attempts: list[PortableQuiz] = Field(description="oldest first")


class ImportSummary(BaseModel):
    learner: str
    created: bool
    attempts_added: int
    attempts_skipped: int
    quizzes_added: int
    quizzes_skipped: int


# -- export -------------------------------------------------------------------------------------------


def _portable_attempt(store: Store, a: AttemptRecord) -> PortableAttempt:
    curves = {name: Curve(steps=[s for s, _ in pts], values=[v for _, v in pts])
              for name, pts in sorted(store.metric_series(a.id).items())}
    return PortableAttempt(
        **a.model_dump(exclude={"id", "learner_id", "pid", "passed"}), passed=bool(a.passed),
        checks=store.attempt_checks(a.id), curves=curves,
        samples=[(s.step, s.text) for s in store.samples(a.id)],
    )


def _portable_quiz(q: QuizRecord) -> PortableQuiz:
    return PortableQuiz(**q.model_dump(exclude={"id", "learner_id"}))


def progress_file(store: Store, learner: Learner) -> ProgressFile:
    """Everything the learner has recorded, oldest first."""
    attempts = [a for a in reversed(store.attempts(learner.id)) if a.status in FINAL_STATUSES]
    return ProgressFile(
        format_version=FORMAT_VERSION,
        learner=PortableLearner(name=learner.name, target_role=learner.target_role,
                                hours_per_week=learner.hours_per_week),
        attempts=[_portable_attempt(store, a) for a in attempts],
        quiz_attempts=[_portable_quiz(q) for q in reversed(store.quiz_attempts(learner.id))],
    )


def export_progress(store: Store, learner: Learner) -> str:
    """The learner's history as JSON text (2-space indent, a trailing newline)."""
    return progress_file(store, learner).model_dump_json(indent=2) + "\n"


# -- import -------------------------------------------------------------------------------------------


def parse_progress(text: str, source: str = "the progress file") -> ProgressFile:
    """Validate a progress file; every problem names the field (e.g. attempts.3.score) and the file."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PortableError(f"{source} is not JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(raw, dict) or "format_version" not in raw:
        raise PortableError(f"{source} is not a PathLab progress export (no format_version)")
    if raw["format_version"] != FORMAT_VERSION:
        raise PortableError(f"{source} has format_version {raw['format_version']!r}; this PathLab reads "
                            f"version {FORMAT_VERSION} (update PathLab to import it)")
    try:
        return ProgressFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()[:5])
        raise PortableError(f"{source} is not a valid progress export: {problems}") from None


def _target_learner(store: Store, data: ProgressFile, rename: str | None) -> tuple[Learner, bool]:
    """The learner to import into, created if new; a same-named learner with other history is refused."""
    name = rename or data.learner.name
    existing = store.get_learner(name)
    if existing is None:
        return store.add_learner(name, target_role=data.learner.target_role,
                                 hours_per_week=data.learner.hours_per_week), True
    ours = {a.key() for a in data.attempts} | {q.key() for q in data.quiz_attempts}
    if not set().union(*_local_keys(store, existing)) <= ours:
        raise PortableError(
            f"a learner named {name!r} already exists here with a different history; "
            f"import under another name with --rename NEW_NAME"
        )
    return existing, False


def _local_keys(store: Store, learner: Learner) -> tuple[set[tuple], set[tuple]]:
    """The identities of the learner's finished attempts and quiz attempts already in this database."""
    attempts = {(a.lab_id, a.node_id, a.mode, a.seed, a.started_at)
                for a in store.attempts(learner.id) if a.status in FINAL_STATUSES}
    quizzes = {(q.node_id, q.started_at) for q in store.quiz_attempts(learner.id)}
    return attempts, quizzes


def _add_attempt(store: Store, learner_id: int, a: PortableAttempt) -> None:
    attempt_id = store.start_attempt(
        learner_id, a.lab_id, a.node_id, mode=a.mode, params=a.params, seed=a.seed, pid=None,
        app_version=a.app_version, dataset_hash=a.dataset_hash, code_hash=a.code_hash, test_out=a.test_out,
        started_at=a.started_at,
    )
    store.add_metrics(attempt_id, [MetricPoint(step=s, name=name, value=math.nan if v is None else v)
                                   for name, curve in a.curves.items() for s, v in zip(curve.steps, curve.values)])
    for step, text in a.samples:
        store.add_sample(attempt_id, step, text)
    store.finish_attempt(attempt_id, status=a.status, score=a.score, passed=a.passed, metrics=a.metrics,
                         feedback=a.feedback, checks=a.checks, duration_s=a.duration_s,
                         finished_at=a.finished_at)


def import_progress(store: Store, text: str, *, rename: str | None = None,
                    source: str = "the progress file") -> ImportSummary:
    """Add the file's history to this database; rows already here are skipped (see module docstring)."""
    data = parse_progress(text, source)
    with store.transaction():  # a half-imported history would look like progress that never happened
        learner, created = _target_learner(store, data, rename)
        have, have_quiz = _local_keys(store, learner)
        new = _unseen(data.attempts, have)
        new_quiz = _unseen(data.quiz_attempts, have_quiz)
        for a in new:
            _add_attempt(store, learner.id, a)
        for q in new_quiz:
            store.record_quiz(learner.id, q.node_id, seed=q.seed, score=q.score, passed=q.passed,
                              answers=q.answers, started_at=q.started_at, finished_at=q.finished_at)
    return ImportSummary(learner=learner.name, created=created, attempts_added=len(new),
                         attempts_skipped=len(data.attempts) - len(new), quizzes_added=len(new_quiz),
                         quizzes_skipped=len(data.quiz_attempts) - len(new_quiz))


def _unseen(rows: list, seen: set) -> list:
    """Rows whose key is not in `seen`, each key once: a file listing one attempt twice adds it once."""
    out = []
    for row in rows:
        if row.key() not in seen:
            seen.add(row.key())
            out.append(row)
    return out
