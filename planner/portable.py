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

A file holds finite numbers only (NaN or Infinity anywhere is refused, naming the field; a diverged
run's values are exported as null), times without a zone are UTC, and it is at most MAX_FILE_BYTES
(`read_progress_file`). It is written in batches of whole attempts (BATCH_ROWS), so a large import never
holds the write lock for long, and one that stopped half-way is completed by importing again.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_serializer

from labs.grading import CheckResult
from planner.records import (
    FINAL_STATUSES, AttemptFields, FinalStatus, Learner, MetricPoint, QuizAnswer, UtcDatetime,
)
from planner.records import Attempt as AttemptRecord
from planner.records import QuizAttempt as QuizRecord
from planner.store import Store, iso

FORMAT_VERSION = 1
MAX_FILE_BYTES = 256 * 1024 * 1024
"""The largest progress file imported (a learner's years of history are a few MiB); bigger is refused."""
BATCH_ROWS = 5_000
"""Rows (attempts, metric points, samples, checks) written per transaction during an import: a
4,000-attempt file would otherwise hold the write lock for many seconds, and a run finishing beside it
would wait past the busy timeout. Each batch is whole attempts, so a stopped import resumes cleanly."""


class PortableError(ValueError):
    """The file cannot be imported or the learner exported; the message says which and why."""


class _Model(BaseModel):
    # Only finite numbers: a NaN score imported once made every command for that learner fail.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Curve(_Model):
    steps: list[int]
    values: list[float | None] = Field(description="null where the value was not finite (NaN or inf)")


class PortableAttempt(AttemptFields, _Model):
    """A finished attempt in a transfer file: the stored columns (`records.AttemptFields`) without ids,
    plus the rows that hang off it."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    # Checked here, not only by the store, so a bad value is named with its file and attempt number.
    status: FinalStatus = Field(description="a final status (FINAL_STATUSES): running attempts are never exported")
    passed: bool = False
    checks: list[CheckResult] = Field(default_factory=list)
    curves: dict[str, Curve] = Field(default_factory=dict, description="metric name -> points by step")
    samples: list[tuple[int, str]] = Field(default_factory=list, description="(step, text) in order")

    @field_validator("checks")
    @classmethod
    def _finite_points(cls, checks: list[CheckResult]) -> list[CheckResult]:
        for c in checks:  # CheckResult is labs' model, which allows NaN; a file may not
            if not (math.isfinite(c.points) and math.isfinite(c.max_points)):
                raise ValueError(f"check {c.id!r} has a non-finite number of points")
        return checks


class PortableQuiz(_Model):
    node_id: str
    seed: int | None = None
    score: float
    passed: bool
    started_at: UtcDatetime
    finished_at: UtcDatetime
    answers: list[QuizAnswer] = Field(default_factory=list)
    kind: Literal["quiz", "review"] = "quiz"  # a review draw (planner.review); its FSRS card is not carried

    def key(self) -> tuple:
        return (self.node_id, self.started_at)


class PortableLearner(_Model):
    name: str
    target_role: str | None = None
    hours_per_week: float | None = None

    # The store's own rules, applied while parsing so a bad value is named with its file and field.
    _name = field_validator("name")(Store.clean_name)
    _hours = field_validator("hours_per_week")(Store._check_hours)


class PortableCheckpoint(_Model):
    """A stored model of one of the file's attempts (`export-progress --with-models`): the attempt by its
    key, the row's columns, and the file itself in `ProgressFile.model_files` under its sha256."""

    lab_id: str
    node_id: str
    mode: str
    seed: int | None = None
    started_at: UtcDatetime
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)
    architecture: dict[str, Any]
    tokenizer: str | None = None
    created_at: UtcDatetime

    def key(self) -> tuple:
        return (self.lab_id, self.node_id, self.mode, self.seed, self.started_at)


class PortableStudy(_Model):
    """A lesson visit's active time (`study_sessions`), by node and first touch."""

    node_id: str
    kind: Literal["lesson"] = "lesson"
    started_at: UtcDatetime
    ended_at: UtcDatetime
    active_s: float = Field(ge=0)

    def key(self) -> tuple:
        return (self.node_id, self.kind, self.started_at)


class PortableBuildSave(_Model):
    """A moment a build's file was written (`build_saves`): its scaffold or a save seen at grading."""

    lab_id: str
    node_id: str
    kind: Literal["scaffold", "save"]
    at: UtcDatetime


class ProgressFile(_Model):
    format_version: int
    learner: PortableLearner
    attempts: list[PortableAttempt] = Field(description="oldest first")
    quiz_attempts: list[PortableQuiz] = Field(description="oldest first")
    checkpoints: list[PortableCheckpoint] | None = Field(None, description="--with-models: the stored models")
    model_files: dict[str, str] | None = Field(None, description="--with-models: sha256 -> the file, base64")
    study_sessions: list[PortableStudy] | None = Field(None, description="lesson visits' active time")
    build_saves: list[PortableBuildSave] | None = Field(None, description="a build's scaffold and saves")

    @model_serializer(mode="wrap")
    def _without_absent_models(self, handler: Any) -> dict[str, Any]:
        """A file exported without models is byte for byte what it was before models were stored."""
        out = handler(self)
        for key in ("checkpoints", "model_files", "study_sessions", "build_saves"):
            if out.get(key) is None:
                out.pop(key, None)
        return out


class ImportSummary(BaseModel):
    learner: str
    created: bool
    attempts_added: int
    attempts_skipped: int
    quizzes_added: int
    quizzes_skipped: int
    models_added: int = 0
    models_refused: list[str] = Field(default_factory=list, description="a model whose bytes do not match its hash")


# -- export -------------------------------------------------------------------------------------------


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _portable_attempt(store: Store, a: AttemptRecord) -> PortableAttempt:
    """The attempt as the file holds it; a non-finite value (a diverged run) is written as null."""
    curves = {name: Curve(steps=[s for s, _ in pts], values=[_finite(v) for _, v in pts])
              for name, pts in sorted(store.metric_series(a.id).items())}
    columns = a.model_dump(include=set(AttemptFields.model_fields) - {"passed"})
    columns.update(score=_finite(a.score), duration_s=_finite(a.duration_s),
                   metrics={k: v for k, v in a.metrics.items() if math.isfinite(v)})
    return PortableAttempt(
        **columns, passed=bool(a.passed), checks=store.attempt_checks(a.id), curves=curves,
        samples=[(s.step, s.text) for s in store.samples(a.id)],
    )


def _portable_quiz(q: QuizRecord) -> PortableQuiz:
    return PortableQuiz(**q.model_dump(exclude={"id", "learner_id"}))


def _portable_models(store: Store, learner: Learner, attempts: list[AttemptRecord]
                     ) -> tuple[list[PortableCheckpoint], dict[str, str]]:
    """The learner's stored models (rows of exported attempts whose file is whole) and their files."""
    import base64

    from planner import checkpoints as ckpt

    files = ckpt.export_files(store, learner.id)
    by_id = {a.id: a for a in attempts}
    rows = sorted((r for r in ckpt.rows(store, learner.id) if r.attempt_id in by_id and r.sha256 in files),
                  key=lambda r: r.id)
    out = [PortableCheckpoint(lab_id=by_id[r.attempt_id].lab_id, node_id=by_id[r.attempt_id].node_id,
                              mode=by_id[r.attempt_id].mode, seed=by_id[r.attempt_id].seed,
                              started_at=by_id[r.attempt_id].started_at, sha256=r.sha256, bytes=r.bytes,
                              architecture=r.architecture, tokenizer=r.tokenizer, created_at=r.created_at)
           for r in rows]
    data = {sha: base64.b64encode(files[sha].read_bytes()).decode("ascii") for sha in sorted({r.sha256 for r in rows})}
    return out, data


def progress_file(store: Store, learner: Learner, *, with_models: bool = False) -> ProgressFile:
    """Everything the learner has recorded, oldest first; `with_models`: their stored models too."""
    attempts = [a for a in reversed(store.attempts(learner.id)) if a.status in FINAL_STATUSES]
    models, files = _portable_models(store, learner, attempts) if with_models else (None, None)
    study = [PortableStudy(node_id=s["node_id"], kind=s["kind"], started_at=s["started_at"],
                           ended_at=s["ended_at"], active_s=s["active_s"]) for s in store.study_sessions(learner.id)]
    saves = [PortableBuildSave(lab_id=s["lab_id"], node_id=s["node_id"], kind=s["kind"], at=s["at"])
             for s in store.build_saves(learner.id)]
    return ProgressFile(
        checkpoints=models, model_files=files,
        study_sessions=study or None, build_saves=saves or None,  # absent when empty: older files unchanged
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


class _NonFinite:
    """Where json.loads met NaN, Infinity or -Infinity (Python's json reads them; JSON has none)."""

    def __init__(self, token: str):
        self.token = token


def _non_finite_field(raw: Any) -> tuple[str, str] | None:
    """(dotted path, token) of the first non-finite number in the parsed file, if any (iterative:
    the file may be nested as deep as json.loads allows)."""
    stack: list[tuple[str, Any]] = [("", raw)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, _NonFinite):
            return where or "(top level)", value.token
        if isinstance(value, dict):
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((f"{where}.{i}" if where else str(i), v) for i, v in reversed(list(enumerate(value))))
    return None


def parse_progress(text: str, source: str = "the progress file") -> ProgressFile:
    """Validate a progress file; every problem names the field (e.g. attempts.3.score) and the file."""
    try:
        raw = json.loads(text, parse_constant=_NonFinite)
    except json.JSONDecodeError as exc:
        raise PortableError(f"{source} is not JSON: {exc.msg} at line {exc.lineno}") from None
    except RecursionError:
        raise PortableError(f"{source} is nested too deeply to be a PathLab progress export") from None
    bad = _non_finite_field(raw)
    if bad is not None:
        raise PortableError(f"{source} is not a valid progress export: {bad[0]} is {bad[1]}; a progress "
                            f"file holds only finite numbers (write null for a missing value)")
    if not isinstance(raw, dict) or "format_version" not in raw:
        raise PortableError(f"{source} is not a PathLab progress export (no format_version)")
    if raw["format_version"] != FORMAT_VERSION:
        raise PortableError(f"{source} has format_version {raw['format_version']!r}; this PathLab reads "
                            f"version {FORMAT_VERSION} (update PathLab to import it)")
    try:
        return ProgressFile.model_validate(raw)
    except RecursionError:
        raise PortableError(f"{source} is nested too deeply to be a PathLab progress export") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()[:5])
        raise PortableError(f"{source} is not a valid progress export: {problems}") from None


def read_progress_file(path: Path | str, database: Path | str | None = None) -> str:
    """The text of a progress file, refusing one over MAX_FILE_BYTES or the database itself.

    Only stat() is used before the size is known to be sane, and the database is recognised by its
    inode without opening it: this process may hold connections to it, and closing a descriptor of
    that file would drop their locks (see `planner.store._check_path`).
    """
    path = Path(path).expanduser()
    try:
        size = path.stat().st_size
        if database is not None and os.path.exists(database) and os.path.samefile(path, database):
            raise PortableError(f"{path} is the PathLab database itself, not a progress export "
                                f"(make one with: pathlab export-progress FILE)")
        if size > MAX_FILE_BYTES:
            raise PortableError(f"{path} is {size / 2**20:.0f} MiB; a progress export is at most "
                                f"{MAX_FILE_BYTES // 2**20} MiB")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PortableError(f"cannot read {path}: {exc}") from None


def _target_learner(store: Store, data: ProgressFile, rename: str | None) -> Learner | None:
    """The learner to import into (None: a new one, created with the first batch); a same-named
    learner with history the file does not contain is someone else, and refused."""
    name = rename or data.learner.name
    existing = store.get_learner(name)
    if existing is None:
        return None
    ours = {a.key() for a in data.attempts} | {q.key() for q in data.quiz_attempts}
    if not set().union(*_local_keys(store, existing)) <= ours:
        raise PortableError(
            f"a learner named {name!r} already exists here with a different history; "
            f"import under another name with --rename NEW_NAME"
        )
    return existing


def _local_keys(store: Store, learner: Learner) -> tuple[set[tuple], set[tuple]]:
    """The identities of the learner's finished attempts and quiz attempts already in this database."""
    return store.attempt_keys(learner.id), store.quiz_keys(learner.id)


def add_attempt(store: Store, learner_id: int, a: PortableAttempt) -> int:
    """Write one finished attempt with its curves, samples and checks (the caller's transaction)."""
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
    return attempt_id


_add_attempt = add_attempt  # what import_progress calls (a test stops an import half-way through it)


def _rows(a: PortableAttempt | PortableQuiz) -> int:
    """How many rows the attempt writes (for sizing batches)."""
    if isinstance(a, PortableQuiz):
        return 1 + len(a.answers)
    return 1 + sum(len(c.steps) for c in a.curves.values()) + len(a.samples) + len(a.checks)


def _batches(items: list, limit: int) -> list[list]:
    """Consecutive runs of whole items holding about `limit` rows each (at least one item each)."""
    out: list[list] = [[]]
    rows = 0
    for item in items:
        if out[-1] and rows + _rows(item) > limit:
            out.append([])
            rows = 0
        out[-1].append(item)
        rows += _rows(item)
    return [b for b in out if b]


def import_progress(store: Store, text: str, *, rename: str | None = None,
                    source: str = "the progress file") -> ImportSummary:
    """Add the file's history to this database; rows already here are skipped (see module docstring).

    Written in batches of whole attempts (BATCH_ROWS), each its own transaction: an attempt is never
    half there, and an import that stops (killed, disk full) leaves a prefix that a second import
    completes, since it skips what is present. The learner and the first batch land together.
    """
    data = parse_progress(text, source)
    learner = _target_learner(store, data, rename)
    created = learner is None
    have, have_quiz = _local_keys(store, learner) if learner else (set(), set())
    batches = _batches([*_unseen(data.attempts, have), *_unseen(data.quiz_attempts, have_quiz)], BATCH_ROWS)
    added = added_quiz = 0
    for batch in batches or [[]]:
        with store.transaction():  # a half-imported attempt would look like progress that never happened
            if learner is None:
                learner = store.add_learner(rename or data.learner.name, target_role=data.learner.target_role,
                                            hours_per_week=data.learner.hours_per_week)
            # Read again under the lock: another import of the same file may have added some meanwhile.
            have, have_quiz = _local_keys(store, learner)
            for item in batch:
                if isinstance(item, PortableQuiz) and item.key() not in have_quiz:
                    store.record_quiz(learner.id, item.node_id, seed=item.seed, score=item.score,
                                      passed=item.passed, answers=item.answers, started_at=item.started_at,
                                      finished_at=item.finished_at, kind=item.kind)
                    added_quiz += 1
                elif isinstance(item, PortableAttempt) and item.key() not in have:
                    _add_attempt(store, learner.id, item)
                    added += 1
    assert learner is not None
    _import_study(store, learner, data)
    models_added, refused = _import_models(store, learner, data)
    return ImportSummary(learner=learner.name, created=created, attempts_added=added,
                         attempts_skipped=len(data.attempts) - added, quizzes_added=added_quiz,
                         quizzes_skipped=len(data.quiz_attempts) - added_quiz, models_added=models_added,
                         models_refused=refused)


def _import_study(store: Store, learner: Learner, data: ProgressFile) -> None:
    """The file's lesson visits and build moments (study time), each once: a visit is known by its node
    and first touch, a build moment by its lab, kind and time (the table keeps one row per moment)."""
    with store.transaction():
        have = {(s["node_id"], s["kind"], s["started_at"]) for s in store.study_sessions(learner.id)}
        for s in data.study_sessions or []:
            if (s.node_id, s.kind, iso(s.started_at)) not in have:
                store.record_study_session(learner.id, s.node_id, started_at=s.started_at, ended_at=s.ended_at,
                                           active_s=s.active_s, kind=s.kind)
        for b in data.build_saves or []:
            store.record_build_save(learner.id, b.lab_id, b.node_id, b.at, kind=b.kind)


def _import_models(store: Store, learner: Learner, data: ProgressFile) -> tuple[int, list[str]]:
    """Each carried model: its file put in place, hash verified (a mismatch is refused and named), then
    its row, linked to the attempt with its key; a row already there is skipped (idempotent)."""
    import base64
    import binascii

    from planner import checkpoints as ckpt

    if not data.checkpoints:
        return 0, []
    ids = {(a.lab_id, a.node_id, a.mode, a.seed, a.started_at): a.id for a in store.attempts(learner.id)}
    present = {(r.attempt_id, r.sha256) for r in ckpt.rows(store, learner.id)}
    added, refused = 0, []
    for c in data.checkpoints:
        attempt_id = ids.get(c.key())
        if attempt_id is None or (attempt_id, c.sha256) in present:
            continue
        encoded = (data.model_files or {}).get(c.sha256)
        try:
            if encoded is None:
                raise ValueError(f"model {c.sha256[:12]} is listed but its file is not in the export")
            raw = base64.b64decode(encoded, validate=True)
            ckpt.import_file(store.path, c.sha256, raw)
        except (ValueError, binascii.Error) as exc:
            refused.append(f"{c.lab_id}: {exc}")
            continue
        store.add_checkpoint(attempt_id, lab_id=c.lab_id, sha256=c.sha256, bytes=len(raw),
                             architecture=c.architecture, tokenizer=c.tokenizer, created_at=c.created_at)
        present.add((attempt_id, c.sha256))
        added += 1
    return added, refused


def _unseen(rows: list, seen: set) -> list:
    """Rows whose key is not in `seen`, each key once: a file listing one attempt twice adds it once."""
    out = []
    for row in rows:
        if row.key() not in seen:
            seen.add(row.key())
            out.append(row)
    return out
