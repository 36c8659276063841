"""A finished run that the database could not take is kept in a file beside it, and recorded at the next start.

    save_pending(db_path, PendingRun(...)) -> Path     DB + ".recovery/<name>.json", written atomically
    record_pending(store) -> int                        how many kept runs were recorded (and their files removed)
    recover_at_start(store) -> int                      record_pending, then mark dead `running` rows interrupted

Why: another program can hold the write lock for longer than the busy timeout (a large import, a
`sqlite3` shell left in a transaction). A lab run keeps its result in memory and retries
(`planner.service.LabSession`); if the lock outlasts that too, losing twenty minutes of training to
someone else's lock would be wrong, so the result goes here, and the next `pathlab` command or app start
(`Service.recover_interrupted(at_start=True)`) records it before marking dead runs interrupted.

The folder sits next to the database and never inside it: nothing here opens the database file outside
SQLite (see `planner.store._check_path`). Recording is idempotent: a file whose attempt is already
finished in the database is simply removed, and one that names no row is matched by its identity
(lab, node, mode, seed, start time) before a row is added.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, ValidationError

from planner.portable import PortableAttempt, add_attempt
from planner.records import Attempt, MetricPoint
from planner.store import NotFoundError, Store, StoreBusy

RECOVERY_VERSION = 1


class PendingRun(BaseModel):
    """A run's result not yet in the database: the attempt (as a transfer file holds it, curves and
    samples only for the points not yet written) and, if its `running` row was created, that row's id."""

    version: int = RECOVERY_VERSION
    learner_id: int
    attempt_id: int | None = None
    attempt: PortableAttempt


def recovery_dir(db_path: Path | str) -> Path:
    """DB + ".recovery" (`Store.recovery_dir`)."""
    return Path(f"{Path(db_path).expanduser()}.recovery")


def save_pending(db_path: Path | str, run: PendingRun) -> Path:
    """Write `run` atomically (a temporary file, fsync, rename) and return its path."""
    folder = recovery_dir(db_path)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".run-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(run.model_dump_json(indent=1))
            out.flush()
            os.fsync(out.fileno())
        stamp = run.attempt.started_at.strftime("%Y%m%dT%H%M%S%f")
        final = folder / f"run-{stamp}-{os.getpid()}-{Path(tmp).stem.removeprefix('.run-')}.json"
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return final


def pending_files(db_path: Path | str) -> list[Path]:
    folder = recovery_dir(db_path)
    return sorted(folder.glob("run-*.json")) if folder.is_dir() else []


def record_pending(store: Store) -> int:
    """Record every kept run (each in one transaction) and remove its file; returns how many.

    A busy database leaves the files for the next start; a file that cannot be read or names a
    learner this database lacks is left in place for a person to look at, never deleted.
    """
    recorded = 0
    for path in pending_files(store.path):
        try:
            run = PendingRun.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, ValidationError):
            continue
        try:
            with store.transaction():
                _record(store, run)
        except StoreBusy:
            break  # the next start tries again
        except Exception:  # noqa: BLE001  a file this database cannot take must not stop every command
            continue
        path.unlink(missing_ok=True)
        recorded += 1
    return recorded


def _record(store: Store, run: PendingRun) -> None:
    a = run.attempt
    row = _existing_row(store, run)
    if row is None:
        add_attempt(store, run.learner_id, a)
        return
    if row.status not in ("running", "interrupted"):  # recorded already (by an earlier start)
        return
    store.add_metrics(row.id, [MetricPoint(step=s, name=name, value=float("nan") if v is None else v)
                               for name, curve in a.curves.items() for s, v in zip(curve.steps, curve.values)])
    for step, text in a.samples:
        store.add_sample(row.id, step, text)
    store.finish_attempt(row.id, status=a.status, score=a.score, passed=a.passed, metrics=a.metrics,
                         feedback=a.feedback, checks=a.checks, duration_s=a.duration_s,
                         finished_at=a.finished_at)


def _existing_row(store: Store, run: PendingRun) -> Attempt | None:
    if store.learner_by_id(run.learner_id) is None:
        raise NotFoundError(f"no learner with id {run.learner_id}")
    if run.attempt_id is not None:
        try:
            row = store.attempt(run.attempt_id)
        except NotFoundError:
            row = None
        if row is not None and row.learner_id == run.learner_id and row.key() == run.attempt.key():
            return row
    same = [r for r in store.attempts(run.learner_id, lab_id=run.attempt.lab_id) if r.key() == run.attempt.key()]
    return same[0] if same else None


def recover_at_start(store: Store) -> int:
    """What every command and the app do on opening the database, before any run of their own: record
    the runs a busy database could not take, then mark `running` attempts whose recorder is gone
    `interrupted`; returns how many were marked.

    This process's own pid counts as gone: a reused pid (in a container every `pathlab` can be PID 1)
    would otherwise keep a killed run `running` for ever. It needs no curriculum, so a command that
    does not (`learner list`) neither pays for loading one nor fails on a broken one.
    """
    from planner.store import pid_alive

    record_pending(store)
    me = os.getpid()
    return store.mark_interrupted(lambda pid: pid != me and pid_alive(pid))
