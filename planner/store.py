"""Every SQL statement PathLab runs: the schema, its migrations and the queries, through sqlite-utils.

    store = Store.open(path)          # creates the file and its folders; migrates; StoreError if unusable
    store.close()                     # or `with Store.open(path) as store: ...`

Learners (names are stripped, NFC-normalised, 1..80 characters of any script; bad -> ValueError):
    add_learner(name, target_role=None, hours_per_week=None) -> Learner
    get_learner(name) -> Learner | None;  learner_by_id(id) -> Learner | None;  list_learners() -> list[Learner]
    update_learner(name, *, target_role=..., hours_per_week=..., new_name=...) -> Learner  (omitted = unchanged)
    touch_learner(id)                                       last_active_at = now
    delete_learner(id) -> {table: rows}                     the learner and every row of theirs (by foreign keys)
Lab attempts:
    start_attempt(learner_id, lab_id, node_id, *, mode, params, seed, pid, app_version, dataset_hash="",
                  code_hash=None, test_out=False, started_at=None) -> int    a `running` row
    add_metrics(attempt_id, rows: Iterable[MetricPoint])    batched insert
    add_sample(attempt_id, step, text)
    finish_attempt(attempt_id, *, status, score, passed, metrics, feedback, checks, duration_s,
                   finished_at=None)                        (times default to now; pass them to import)
    attempt_keys(learner_id), quiz_keys(learner_id) -> set of identities (what an import skips)
    add_checkpoint(attempt_id, *, lab_id, sha256, bytes, architecture, tokenizer) -> int;  checkpoints(
        learner_id=None, *, lab_id=None) -> rows with the attempt's score;  checkpoint_hashes();
        delete_checkpoints(ids)                             stored models (migration 8, planner.checkpoints)
    record_diagnosis(...), diagnosis_answers(learner_id, attempt_id=None)   "what went wrong?" (migration 5)
    record_study_session(learner_id, node_id, *, started_at, ended_at, active_s, session_id=None) -> int;
        study_sessions(learner_id, node_id=None);  lesson_seconds(learner_id) -> {node_id: s};
        record_build_save(learner_id, lab_id, node_id, at, kind) -> bool;  build_saves(learner_id);
        build_gradings(learner_id, lab_ids)                 study time (migration 6, planner.studytime)
    review_cards(learner_id), record_review(...), reviews(learner_id, node_id=None)   FSRS reviews (migration 7)
    attempt(id) -> Attempt (NotFoundError if absent);  attempts(learner_id, *, lab_id=None, node_id=None)
        -> list[Attempt], newest first;  attempt_page(learner_id, *, order, descending, limit, offset)
        -> one sorted page (the history screen);  attempt_count(learner_id);  node_summaries(learner_id)
        -> {node_id: aggregates} (what progress needs, in two GROUP BY queries);  attempt_checks(id) -> list[CheckResult] in grade order
    metric_series(attempt_id) -> {name: [(step, value), ...]} by step;  samples(attempt_id) -> list[SampleRow]
    mark_interrupted(is_alive=pid_alive) -> int             running rows whose process is gone
Help seen on build tasks:
    record_help_view(learner_id, lab_id, kind "hint" | "solution", number=None, viewed_at=None) -> int
    help_views(learner_id, lab_id=None) -> list[HelpView], oldest first
Quizzes and app state:
    record_quiz(learner_id, node_id, *, seed, score, passed, answers, started_at, finished_at) -> int
    quiz_attempts(learner_id, node_id=None) -> list[QuizAttempt], newest first, with their answers
    get_state(key) -> str | None;  set_state(key, value: str)

The schema version lives in `PRAGMA user_version`; MIGRATIONS[i] brings a database from version i to
i + 1; pending ones run together in one transaction under the write lock. A database newer than this
app, a file that is not a PathLab database, one whose tables do not match its version, a directory or
a read-only file raise StoreError naming the path, and the file is left untouched. A write that waited
the busy timeout (`Store.open(path, busy_timeout_ms=...)`, default 5 s) for another process's lock
raises StoreBusy (a StoreError). `owns(path)` says whether a path is this database or one of its files.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any


def _load_sqlite_utils() -> ModuleType:
    """sqlite-utils, without the NumPy import it makes only to map NumPy scalar types to column types
    when it creates a table from values (0.1-0.2 s of every `pathlab` command and of the app's first
    screen, issue 18). The Store creates its tables from Python types and converts every value it
    writes, so it never needs that mapping. NumPy is hidden only while sqlite-utils loads, at import
    time, and only if nothing loaded it already (a lab process keeps the full mapping)."""
    if "sqlite_utils" in sys.modules or "numpy" in sys.modules:
        import sqlite_utils as module
        return module
    sys.modules["numpy"] = None  # type: ignore[assignment]  # "import numpy" raises ImportError for now
    try:
        import sqlite_utils as module
    finally:
        if sys.modules.get("numpy", 0) is None:
            del sys.modules["numpy"]
    return module


sqlite_utils = _load_sqlite_utils()

from labs.grading import CheckResult
from planner.records import (
    FINAL_STATUSES, Attempt, HelpView, Learner, MetricPoint, QuizAnswer, QuizAttempt, SampleRow,
)

MAX_NAME = 80
_UNSET: Any = object()


BUSY_TIMEOUT_MS = 5000
"""How long a write waits for another process's write lock before giving up with a StoreError."""


class StoreError(Exception):
    """The database cannot be used (wrong file, newer schema, no permission); the message names it."""


class StoreBusy(StoreError):
    """Another process held the write lock for longer than the busy timeout; trying again may work."""


class NotFoundError(StoreError, LookupError):
    """A row asked for by id does not exist."""


def iso(moment: datetime | None = None) -> str:
    """A time as stored: ISO-8601 in UTC with microseconds, so text order is time order (naive = UTC)."""
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def now() -> str:
    return iso()


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this id exists (on this machine)."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _json(value: Any) -> str:
    """JSON text; numpy scalars and arrays become plain numbers and lists."""

    def plain(obj: Any) -> Any:
        if hasattr(obj, "tolist"):
            return obj.tolist()
        raise TypeError(f"cannot store {type(obj).__name__} as JSON")

    return json.dumps(value, default=plain, ensure_ascii=False)


def _finite_or_none(value: float | None) -> float | None:
    """A number as stored and read: NaN and infinities (a diverged run, an old import) become None."""
    return float(value) if value is not None and math.isfinite(value) else None


def _finite_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """Only the finite values: a metric that is NaN or infinite says the run diverged, which its status
    and feedback already say, and elsewhere it would break every reader that expects a number."""
    out = {}
    for name, value in metrics.items():
        try:
            number = float(value)  # numpy scalars too
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            out[name] = number
    return out



def _check_result(r: dict[str, Any]) -> CheckResult:
    # NULL is how SQLite keeps a NaN; a non-finite point earns nothing (as labs.grading scores it).
    return CheckResult(id=r["check_id"], title=r["title"], points=_finite_or_none(r["points"]) or 0.0,
                       max_points=_finite_or_none(r["max_points"]) or 0.0, status=r["status"],
                       message=r["message"], required=bool(r["required"]))

# -- schema ----------------------------------------------------------------------------------------


def _migration_1(db: sqlite_utils.Database) -> None:
    """The tables of ARCHITECTURE.md (learners without last_active_at, which came in version 2)."""
    db["learners"].create(
        {"id": int, "name": str, "target_role": str, "hours_per_week": float, "created_at": str},
        pk="id", not_null=["name", "created_at"],
    )
    db["learners"].create_index(["name"], unique=True)
    db["attempts"].create(
        {"id": int, "learner_id": int, "lab_id": str, "node_id": str, "mode": str, "test_out": int,
         "params": str, "seed": int, "status": str, "score": float, "passed": int, "metrics": str,
         "feedback": str, "started_at": str, "finished_at": str, "duration_s": float,
         "app_version": str, "dataset_hash": str, "code_hash": str, "pid": int},
        pk="id", foreign_keys=[("learner_id", "learners", "id")],
        not_null=["learner_id", "lab_id", "node_id", "mode", "status", "started_at"],
        defaults={"test_out": 0, "params": "{}", "metrics": "{}", "feedback": ""},
    )
    db["attempt_checks"].create(
        {"id": int, "attempt_id": int, "position": int, "check_id": str, "title": str,
         "points": float, "max_points": float, "status": str, "message": str, "required": int},
        pk="id", foreign_keys=[("attempt_id", "attempts", "id")], not_null=["attempt_id"],
    )
    db["attempt_metrics"].create(
        {"id": int, "attempt_id": int, "step": int, "epoch": int, "split": str, "name": str,
         "value": float},
        pk="id", foreign_keys=[("attempt_id", "attempts", "id")], not_null=["attempt_id", "name"],
    )
    db["attempt_metrics"].create_index(["attempt_id", "name", "step"])
    db["attempt_samples"].create(
        {"id": int, "attempt_id": int, "step": int, "text": str},
        pk="id", foreign_keys=[("attempt_id", "attempts", "id")], not_null=["attempt_id"],
    )
    db["quiz_attempts"].create(
        {"id": int, "learner_id": int, "node_id": str, "seed": int, "score": float, "passed": int,
         "started_at": str, "finished_at": str},
        pk="id", foreign_keys=[("learner_id", "learners", "id")], not_null=["learner_id", "node_id"],
    )
    db["quiz_answers"].create(
        {"id": int, "quiz_attempt_id": int, "question_id": str, "answer": str, "correct": int,
         "points": float, "max_points": float},
        pk="id", foreign_keys=[("quiz_attempt_id", "quiz_attempts", "id")],
        not_null=["quiz_attempt_id"],
    )
    db["app_state"].create({"key": str, "value": str}, pk="key")


def _migration_2(db: sqlite_utils.Database) -> None:
    """learners.last_active_at (to reopen on the last learner) and indexes for the app's queries."""
    db["learners"].add_column("last_active_at", str)
    db["attempts"].create_index(["learner_id", "node_id", "started_at"])
    db["attempts"].create_index(["learner_id", "lab_id", "started_at"])
    db["attempts"].create_index(["status"])
    db["attempt_checks"].create_index(["attempt_id", "position"])
    db["attempt_samples"].create_index(["attempt_id", "step"])
    db["quiz_attempts"].create_index(["learner_id", "node_id", "started_at"])
    db["quiz_answers"].create_index(["quiz_attempt_id"])


def _migration_3(db: sqlite_utils.Database) -> None:
    """help_views: when a learner saw a build task's hint or reference solution (issue 13 §4: the report
    says whether a build passed with help). A new table only, so every row of an older database stays."""
    db["help_views"].create(
        {"id": int, "learner_id": int, "lab_id": str, "kind": str, "number": int, "viewed_at": str},
        pk="id", foreign_keys=[("learner_id", "learners", "id")],
        not_null=["learner_id", "lab_id", "kind", "viewed_at"],
    )
    db["help_views"].create_index(["learner_id", "lab_id", "viewed_at"])


def _migration_4(db: sqlite_utils.Database) -> None:
    """Indexes for the learner's waits (issue 18), no new column: one covering what progress reads
    (`node_summaries` groups a learner's attempts by node without touching the table), one for the
    history's default order (newest first: a page is read off the index instead of sorting every row), one
    for a lab's newest build (`latest_attempt_id`: `next_action` on a lab without builds scanned its rows)."""
    db["attempts"].create_index(["learner_id", "node_id", "mode", "test_out", "passed", "status", "score",
                                 "duration_s", "finished_at", "started_at"], index_name="idx_attempts_progress")
    db["attempts"].create_index(["learner_id", "started_at"], index_name="idx_attempts_learner_started")
    db["attempts"].create_index(["learner_id", "lab_id", "mode", "started_at"], index_name="idx_attempts_lab_mode")


def _migration_5(db: sqlite_utils.Database) -> None:
    """diagnosis_answers: the learner's answer to "what went wrong?" after a failed experiment run (issue
    14 §1): the options shown (failure-mode ids, in the order shown, seeded by the attempt id), the one
    the lab's evidence names (`expected`), the one chosen and whether they agree. A new table only, so
    every row of an older database stays."""
    db["diagnosis_answers"].create(
        {"id": int, "attempt_id": int, "learner_id": int, "lab_id": str, "options": str, "expected": str,
         "answer": str, "correct": int, "answered_at": str},
        pk="id", foreign_keys=[("attempt_id", "attempts", "id"), ("learner_id", "learners", "id")],
        not_null=["attempt_id", "learner_id", "options", "expected", "answer", "answered_at"],
    )
    db["diagnosis_answers"].create_index(["attempt_id", "answered_at"])
    db["diagnosis_answers"].create_index(["learner_id", "answered_at"])


def _migration_6(db: sqlite_utils.Database) -> None:
    """Study time (issue 14 §4, the rules in planner.studytime). `study_sessions`: one row per visit to
    a lesson in the app (`kind` 'lesson'), its first touch, the end of its last credited stretch and the
    active seconds (idle cutoff, focus), rewritten as the app flushes, so a killed app loses at most a
    minute; `build_saves`: the moments a build's file was written, its scaffold (`kind` 'scaffold') and
    each save the app or CLI saw (`kind` 'save', the file's mtime, seen at grading); one row per
    moment. The build's estimated time is derived from these and its gradings, never stored. New
    tables only, so every row of an older database stays."""
    db["study_sessions"].create(
        {"id": int, "learner_id": int, "node_id": str, "kind": str, "started_at": str, "ended_at": str,
         "active_s": float},
        pk="id", foreign_keys=[("learner_id", "learners", "id")],
        not_null=["learner_id", "node_id", "kind", "started_at", "ended_at", "active_s"],
    )
    db["study_sessions"].create_index(["learner_id", "node_id"])
    db["build_saves"].create(
        {"id": int, "learner_id": int, "lab_id": str, "node_id": str, "kind": str, "at": str},
        pk="id", foreign_keys=[("learner_id", "learners", "id")],
        not_null=["learner_id", "lab_id", "node_id", "kind", "at"],
    )
    db["build_saves"].create_index(["learner_id", "lab_id", "kind", "at"], unique=True)


def _migration_7(db: sqlite_utils.Database) -> None:
    """The review queue (issue 14 §7). `quiz_attempts.kind` ('quiz', or 'review' for a short review draw;
    every older row is a quiz); `review_cards`: one FSRS card per learner and completed node that has
    been reviewed (`card` is fsrs.Card's JSON, `due` copied out for the query; a node never reviewed has
    no row, its card is derived from its completion); `reviews`: each review's grade (fsrs Rating 1-4)
    and the due times before and after, linked to its quiz attempt. Old rows all stay."""
    db["quiz_attempts"].add_column("kind", str, not_null_default="quiz")
    db["review_cards"].create(
        {"id": int, "learner_id": int, "node_id": str, "card": str, "due": str, "updated_at": str},
        pk="id", foreign_keys=[("learner_id", "learners", "id")],
        not_null=["learner_id", "node_id", "card", "due", "updated_at"],
    )
    db["review_cards"].create_index(["learner_id", "node_id"], unique=True)
    db["reviews"].create(
        {"id": int, "learner_id": int, "node_id": str, "quiz_attempt_id": int, "rating": int,
         "score": float, "due_before": str, "due_after": str, "reviewed_at": str},
        pk="id", foreign_keys=[("learner_id", "learners", "id"), ("quiz_attempt_id", "quiz_attempts", "id")],
        not_null=["learner_id", "node_id", "quiz_attempt_id", "rating", "due_after", "reviewed_at"],
    )
    db["reviews"].create_index(["learner_id", "node_id", "reviewed_at"])


def _migration_8(db: sqlite_utils.Database) -> None:
    """`checkpoints` (issue 15, models that last): the trained model an attempt stored, one row per
    attempt and file; the file is `<db>.models/<sha256>.npz` (planner.checkpoints), `bytes` its size,
    `architecture` the JSON that rebuilds the network, `tokenizer` a short label ("chars-65", "bpe-512")
    or null. Several attempts may share one file (equal weights hash equal). A new table only, so every
    row of an older database stays."""
    db["checkpoints"].create(
        {"id": int, "attempt_id": int, "lab_id": str, "sha256": str, "bytes": int, "architecture": str,
         "tokenizer": str, "created_at": str},
        pk="id", foreign_keys=[("attempt_id", "attempts", "id")],
        not_null=["attempt_id", "lab_id", "sha256", "bytes", "architecture", "created_at"],
    )
    db["checkpoints"].create_index(["attempt_id"])
    db["checkpoints"].create_index(["sha256"])


def _migration_9(db: sqlite_utils.Database) -> None:
    """`nodes` and `labs`: the curriculum's ids with their titles, so every `node_id` and `lab_id` slug in
    the other tables joins to a name (a stranger reading the file in Datasette; issue 19). Rows are
    written by `sync_catalog` when the curriculum changes and never deleted: an id that left the
    curriculum keeps its title, with `in_curriculum` 0, for the attempts that name it. No foreign keys
    point here (foreign keys are on, and a plugin lab or an imported history may name an id this
    curriculum lacks)."""
    db["nodes"].create({"id": str, "title": str, "kind": str, "track": str, "hours": float, "lab_id": str,
                        "in_curriculum": int}, pk="id", not_null=["title", "kind"])
    db["labs"].create({"id": str, "title": str, "node_id": str, "has_build": int, "in_curriculum": int},
                      pk="id", not_null=["title"])


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_migration_1, _migration_2, _migration_3,
                                                              _migration_4, _migration_5, _migration_6,
                                                              _migration_7, _migration_8, _migration_9]
SCHEMA_VERSION = len(MIGRATIONS)


def _check_path(path: Path) -> None:
    """Refuse, before SQLite touches anything, a path that cannot be PathLab's database.

    Only stat() and access() here, never open(): this process may already hold SQLite connections to
    the file (the app and its worker thread), and closing ANY descriptor of a file drops every POSIX
    lock the process holds on it. Another process then believes it is the last connection and deletes
    -wal and -shm under us (issue 11 §1; SQLite's "How To Corrupt" §2.2). A file that is not a database
    is SQLite's to say: `_connect` turns its "file is not a database" into a StoreError.
    """
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a database file")
    if not path.exists():
        return
    if not os.access(path, os.W_OK) or not (path.stat().st_mode & 0o222):
        raise StoreError(f"{path} is read-only; PathLab needs to write its database")
    if not os.access(path.parent, os.W_OK):
        raise StoreError(f"the folder {path.parent} is read-only; SQLite needs it for its journal")


def _expected_schema(version: int) -> dict[str, set[str]]:
    """The tables and columns a database at `version` has: the migrations, run on an empty database."""
    if version not in _SCHEMAS:
        db = sqlite_utils.Database(memory=True)
        for migrate in MIGRATIONS[:version]:
            migrate(db)
        _SCHEMAS[version] = _schema_of(db.conn)
        db.close()
    return _SCHEMAS[version]


_SCHEMAS: dict[int, dict[str, set[str]]] = {}


def _schema_of(conn: sqlite3.Connection) -> dict[str, set[str]]:
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name NOT LIKE 'sqlite_%'")]
    return {t: {r[1] for r in conn.execute("SELECT * FROM pragma_table_info(?)", [t])} for t in tables}


def _check_schema(path: Path, conn: sqlite3.Connection, version: int) -> None:
    """Refuse a database whose tables do not match its version, rather than let a write re-create a
    dropped table with guessed columns (sqlite-utils creates a missing table on insert)."""
    actual = _schema_of(conn)
    if version == 0:
        if actual:
            raise StoreError(f"{path} is a SQLite database but not PathLab's (it has tables: "
                             f"{', '.join(sorted(actual)[:5])})")
        return
    for table, columns in _expected_schema(version).items():
        if table not in actual:
            problem = f"table {table} is missing"
        elif columns - actual[table]:
            problem = f"table {table} lacks the column(s) {', '.join(sorted(columns - actual[table]))}"
        else:
            continue
        raise StoreError(f"{path} has schema version {version} but {problem}; restore it from a backup "
                         f"or use another --db (PathLab does not repair it, so nothing is lost)")


def _busy_timeout_ms(override: int | None) -> int:
    """The busy timeout: the argument, else $PATHLAB_BUSY_TIMEOUT_MS (tests, slow disks), else the default."""
    if override is not None:
        return int(override)
    raw = os.environ.get("PATHLAB_BUSY_TIMEOUT_MS", "")
    return int(raw) if raw.isdigit() else BUSY_TIMEOUT_MS


def _use_wal(conn: sqlite3.Connection, busy_timeout_ms: int) -> None:
    """Switch to WAL, waiting up to the busy timeout. A new file starts in rollback mode, where SQLite
    answers "locked" at once, without waiting, when two connections opening it together would
    deadlock; so this retries by itself (twenty first opens at once lost one add in ten rounds)."""
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _connect(path: Path, busy_timeout_ms: int) -> sqlite3.Connection:
    """Open, then read the version and schema without writing, so a newer, foreign or damaged database
    stays untouched (byte for byte: journal_mode is set only after these checks)."""
    try:
        conn = sqlite3.connect(str(path), timeout=busy_timeout_ms / 1000)
    except sqlite3.Error as exc:  # e.g. no permission to create the file
        raise StoreError(f"cannot open {path}: {exc}") from None
    try:
        conn.execute("BEGIN")  # one snapshot for the version and the tables: a first open beside us may
        try:                   # commit its migration between two separate reads
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version <= SCHEMA_VERSION:
                _check_schema(path, conn, version)
        finally:
            conn.execute("ROLLBACK")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{path} was written by a newer PathLab (schema version {version}; this version knows "
                f"up to {SCHEMA_VERSION}); upgrade pathlab or use another --db"
            )
    except StoreError:
        conn.close()
        raise
    except sqlite3.OperationalError as exc:
        conn.close()
        raise StoreError(f"cannot open {path}: {exc}") from None
    except sqlite3.DatabaseError as exc:  # "file is not a database": a text file, a foreign format
        conn.close()
        raise StoreError(f"{path} is not a SQLite database (SQLite says: {exc})") from None
    return conn


# -- the store -------------------------------------------------------------------------------------


class Store:
    """PathLab's database. Open with `Store.open(path)`; every write is one transaction."""

    def __init__(self, db: sqlite_utils.Database, path: Path):
        self.db = db
        self.path = path

    @classmethod
    def open(cls, path: Path | str, *, busy_timeout_ms: int | None = None) -> "Store":
        """Open (creating it and its folders if absent) and migrate; StoreError if it is unusable.

        `busy_timeout_ms` is how long a write waits for another process's lock (default
        BUSY_TIMEOUT_MS, or $PATHLAB_BUSY_TIMEOUT_MS).
        """
        path = Path(path).expanduser()
        _check_path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder for {path}: {exc.strerror}") from None
        timeout_ms = _busy_timeout_ms(busy_timeout_ms)
        conn = _connect(path, timeout_ms)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA busy_timeout = {timeout_ms}")
            _use_wal(conn, timeout_ms)
            store = cls(sqlite_utils.Database(conn), path)
            store._migrate()
        except StoreError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(f"cannot open {path}: {exc}") from None
        return store

    def close(self) -> None:
        self.db.close()

    @property
    def recovery_dir(self) -> Path:
        """Where runs the busy database could not take wait (`planner.recovery`): beside, never inside."""
        return Path(f"{self.path}.recovery")

    def owns(self, path: Path | str) -> bool:
        """Whether `path` is this database, one of SQLite's files beside it, or in its recovery folder,
        by name and by inode (stat() only: this process holds connections, so nothing is opened).

        A report or export written there would replace the learner's whole history (`-o pathlab.sqlite`
        did), so writers ask first (`Service.check_output_path`).
        """
        target = Path(path).expanduser()
        ours = [self.path, *(Path(f"{self.path}{s}") for s in ("-wal", "-shm", "-journal"))]
        for own in ours:
            with contextlib.suppress(OSError):
                if target.resolve() == own.resolve() or (target.exists() and own.exists()
                                                         and os.path.samefile(target, own)):
                    return True
        with contextlib.suppress(OSError):
            return target.resolve().parent == self.recovery_dir.resolve()
        return False

    def __enter__(self) -> "Store":
        return self

    @contextlib.contextmanager
    def transaction(self) -> Iterator["Store"]:
        """Group several writes into one transaction: all land, or none (nested calls are savepoints).

        Every write method below runs in one; callers use it for calls that must stand or fall together,
        such as importing a learner's whole history. The outer transaction takes the write lock up front
        (BEGIN IMMEDIATE): a deferred one that first reads and then writes fails at once when another
        process holds the lock, whereas this waits up to the busy timeout (5 s) and then says so.
        """
        conn = self.db.conn
        if conn.in_transaction:
            with self.db.atomic():  # a savepoint inside the caller's transaction
                yield self
            return
        self._begin_immediate()
        try:
            yield self
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _begin_immediate(self) -> None:
        """Take the write lock, waiting up to the busy timeout. SQLite's own wait covers most cases;
        a few (a file changing journal mode while others open it) answer "locked" at once, so those
        are retried here until the same deadline."""
        conn, timeout_s = self.db.conn, self._busy_timeout_s()
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):  # e.g. a read-only file or disk
                    raise StoreError(f"cannot write to {self.path}: {exc}") from None
                if time.monotonic() >= deadline:
                    raise StoreBusy(f"{self.path} is busy: another program (another PathLab?) is writing to "
                                    f"it and did not finish within the {timeout_s:g} s we waited ({exc}); "
                                    f"try again in a moment") from None
            time.sleep(0.02)

    def _busy_timeout_s(self) -> float:
        return self.db.execute("PRAGMA busy_timeout").fetchone()[0] / 1000

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        """Bring the schema up to SCHEMA_VERSION, all steps in one transaction under the write lock.

        The version is read again once the lock is held: twenty `pathlab` commands started together on
        a fresh file all see version 0 first, and only the first to get the lock may create the tables
        (the others used to fail with `table "learners" already exists`).
        """
        if self.schema_version == SCHEMA_VERSION:
            return  # the common case takes no lock, so a busy database can still be read
        with self.transaction():
            version = self.schema_version
            _check_schema(self.path, self.db.conn, version)
            for step in range(version, SCHEMA_VERSION):
                MIGRATIONS[step](self.db)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _one(self, sql: str, params: Iterable[Any] = ()) -> dict[str, Any] | None:
        return next(self.db.query(sql, list(params)), None)

    # -- learners ------------------------------------------------------------------------------
    @staticmethod
    def clean_name(name: str) -> str:
        """The stored form of a learner name, or ValueError saying what is wrong with it."""
        name = unicodedata.normalize("NFC", str(name)).strip()
        if not name:
            raise ValueError("a learner name cannot be empty")
        if len(name) > MAX_NAME:
            raise ValueError(f"a learner name has at most {MAX_NAME} characters (got {len(name)})")
        if any(unicodedata.category(ch) == "Cc" for ch in name):
            raise ValueError("a learner name cannot contain control characters such as newlines")
        return name

    @staticmethod
    def _check_hours(hours: float | None) -> float | None:
        if hours is None:
            return None
        hours = float(hours)
        if not 0 < hours <= 168:
            raise ValueError(f"hours per week must be between 0 and 168 (got {hours:g})")
        return hours

    def add_learner(self, name: str, target_role: str | None = None,
                    hours_per_week: float | None = None) -> Learner:
        name = self.clean_name(name)
        hours = self._check_hours(hours_per_week)
        if self.get_learner(name) is not None:
            raise ValueError(f"a learner named {name!r} already exists")
        try:
            with self.transaction():
                row_id = self.db["learners"].insert(
                    {"name": name, "target_role": target_role, "hours_per_week": hours,
                     "created_at": now(), "last_active_at": None}
                ).last_pk
        except sqlite3.IntegrityError:  # another process added the same name meanwhile
            raise ValueError(f"a learner named {name!r} already exists") from None
        return self.learner_by_id(row_id)  # type: ignore[return-value]

    def get_learner(self, name: str) -> Learner | None:
        name = unicodedata.normalize("NFC", str(name)).strip()
        row = self._one("SELECT * FROM learners WHERE name = ?", [name])
        return Learner.model_validate(row) if row else None

    def learner_by_id(self, learner_id: int) -> Learner | None:
        row = self._one("SELECT * FROM learners WHERE id = ?", [learner_id])
        return Learner.model_validate(row) if row else None

    def list_learners(self) -> list[Learner]:
        return [Learner.model_validate(r) for r in self.db.query("SELECT * FROM learners ORDER BY id")]

    def update_learner(self, name: str, *, target_role: str | None = _UNSET,
                       hours_per_week: float | None = _UNSET, new_name: str | None = None) -> Learner:
        learner = self.get_learner(name)
        if learner is None:
            from planner.errors import UnknownName  # the CLI's exit code 2: a name that is not there

            raise UnknownName(f"no learner named {name!r}")
        changes: dict[str, Any] = {}
        if target_role is not _UNSET:
            changes["target_role"] = target_role
        if hours_per_week is not _UNSET:
            changes["hours_per_week"] = self._check_hours(hours_per_week)
        if new_name is not None:
            new_name = self.clean_name(new_name)
            other = self.get_learner(new_name)
            if other is not None and other.id != learner.id:
                raise ValueError(f"a learner named {new_name!r} already exists")
            changes["name"] = new_name
        if changes:
            with self.transaction():
                self.db["learners"].update(learner.id, changes)
        return self.learner_by_id(learner.id)  # type: ignore[return-value]

    def touch_learner(self, learner_id: int) -> None:
        with self.transaction():
            self.db.execute("UPDATE learners SET last_active_at = ? WHERE id = ?", [now(), learner_id])

    def delete_learner(self, learner_id: int) -> dict[str, int]:
        """Remove a learner and every row of theirs, in one transaction; returns rows deleted per table
        (`pathlab learner delete`, the app's delete, the demo's --rebuild; a file another process may
        hold open is never unlinked, see `_check_path`).

        "Every row of theirs" is read from the schema's foreign keys, not listed here: each table whose
        column points at learners.id, then each table pointing at one of those, leaves first, so a table
        a later migration adds is covered as soon as it declares its foreign key."""
        owned = self._rows_owned_by_learner()
        deleted: dict[str, int] = {}
        with self.transaction():
            for table, where in owned:
                cursor = self.db.execute(f"DELETE FROM [{table}] WHERE {where}", [learner_id])
                deleted[table] = max(cursor.rowcount, 0)
            self.db.execute("DELETE FROM app_state WHERE key LIKE ?", [f"learner:{learner_id}:%"])
            deleted["learners"] = self.db.execute("DELETE FROM learners WHERE id = ?", [learner_id]).rowcount
        return deleted

    def _rows_owned_by_learner(self) -> list[tuple[str, str]]:
        """(table, SQL condition on `?` = the learner's id), children before their parents."""
        conditions: dict[str, str] = {}
        frontier = {"learners": "?"}  # table -> a subquery (or `?`) giving its owned ids
        while frontier:
            found: dict[str, str] = {}
            for table in self.db.table_names():
                for fk in self.db[table].foreign_keys:
                    if fk.other_table in frontier and fk.other_column == "id" and table not in conditions:
                        ids = frontier[fk.other_table]
                        found[table] = f"[{fk.column}] = ?" if ids == "?" else f"[{fk.column}] IN ({ids})"
            conditions.update(found)
            frontier = {t: f"SELECT id FROM [{t}] WHERE {c}" for t, c in found.items()}
        order = list(conditions)  # parents were found before their children: delete in reverse
        return [(t, conditions[t]) for t in reversed(order)]

    # -- lab attempts --------------------------------------------------------------------------
    def start_attempt(self, learner_id: int, lab_id: str, node_id: str, *, mode: str,
                      params: dict[str, Any], seed: int | None, pid: int | None, app_version: str,
                      dataset_hash: str = "", code_hash: str | None = None,
                      test_out: bool = False, started_at: datetime | None = None) -> int:
        """A `running` attempt; `started_at` defaults to now (pass it to import a past run)."""
        if mode not in ("explore", "practice", "implement"):
            raise ValueError(f"unknown attempt mode {mode!r} (explore, practice or implement)")
        if self.learner_by_id(learner_id) is None:
            raise NotFoundError(f"no learner with id {learner_id}")
        row = {"learner_id": learner_id, "lab_id": lab_id, "node_id": node_id, "mode": mode,
               "test_out": int(bool(test_out)), "params": _json(params),
               "seed": None if seed is None else int(seed), "status": "running",
               "started_at": iso(started_at), "app_version": app_version, "dataset_hash": dataset_hash,
               "code_hash": code_hash, "pid": pid}
        with self.transaction():
            return int(self.db["attempts"].insert(row).last_pk)

    def add_metrics(self, attempt_id: int, rows: Iterable[MetricPoint]) -> None:
        records = [{"attempt_id": attempt_id, "step": int(p.step), "epoch": p.epoch,
                    "split": p.split, "name": p.name, "value": float(p.value)} for p in rows]
        if records:
            with self.transaction():
                self.db["attempt_metrics"].insert_all(records, batch_size=500)

    def add_sample(self, attempt_id: int, step: int, text: str) -> None:
        with self.transaction():
            self.db["attempt_samples"].insert({"attempt_id": attempt_id, "step": int(step), "text": text})

    def finish_attempt(self, attempt_id: int, *, status: str, score: float | None, passed: bool,
                       metrics: dict[str, float], feedback: str, checks: list[CheckResult],
                       duration_s: float | None, finished_at: datetime | None = None) -> None:
        """Record the outcome and the checks (replacing any earlier ones); `finished_at` defaults to now."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"cannot finish an attempt as {status!r} (one of {sorted(FINAL_STATUSES)})")
        self.attempt(attempt_id)  # NotFoundError if absent
        changes = {"status": status, "score": _finite_or_none(score),
                   "passed": int(bool(passed)), "metrics": _json(_finite_metrics(metrics)),
                   "feedback": feedback, "finished_at": iso(finished_at),
                   "duration_s": _finite_or_none(duration_s)}
        check_rows = [{"attempt_id": attempt_id, "position": i, "check_id": c.id, "title": c.title,
                       "points": float(c.points), "max_points": float(c.max_points),
                       "status": c.status, "message": c.message, "required": int(c.required)}
                      for i, c in enumerate(checks)]
        with self.transaction():
            self.db["attempts"].update(attempt_id, changes)
            self.db.execute("DELETE FROM attempt_checks WHERE attempt_id = ?", [attempt_id])
            if check_rows:
                self.db["attempt_checks"].insert_all(check_rows)

    @staticmethod
    def _attempt(row: dict[str, Any]) -> Attempt:
        row = dict(row)
        row["params"] = json.loads(row["params"] or "{}")
        # A database written before non-finite values were refused may hold NaN/Infinity here.
        row["metrics"] = _finite_metrics(json.loads(row["metrics"] or "{}"))
        row["score"], row["duration_s"] = _finite_or_none(row["score"]), _finite_or_none(row["duration_s"])
        row["feedback"] = row["feedback"] or ""
        row["test_out"] = bool(row["test_out"])
        row["app_version"] = row["app_version"] or ""
        row["dataset_hash"] = row["dataset_hash"] or ""
        row["passed"] = None if row["passed"] is None else bool(row["passed"])
        return Attempt.model_validate(row)

    def attempt(self, attempt_id: int) -> Attempt:
        row = self._one("SELECT * FROM attempts WHERE id = ?", [attempt_id])
        if row is None:
            raise NotFoundError(f"no attempt with id {attempt_id}")
        return self._attempt(row)

    def attempts(self, learner_id: int, *, lab_id: str | None = None,
                 node_id: str | None = None) -> list[Attempt]:
        sql, params = "SELECT * FROM attempts WHERE learner_id = ?", [learner_id]
        if lab_id is not None:
            sql, params = sql + " AND lab_id = ?", params + [lab_id]
        if node_id is not None:
            sql, params = sql + " AND node_id = ?", params + [node_id]
        rows = self.db.query(sql + " ORDER BY started_at DESC, id DESC", params)
        return [self._attempt(r) for r in rows]

    def node_summaries(self, learner_id: int) -> dict[str, dict[str, Any]]:
        """Per node, the aggregates `planner.progress.NodeSummary` holds (its field names as keys), in
        two GROUP BY queries over the learner's attempts and quiz attempts instead of every full row.
        The same rules as reading rows: a stored NaN/infinity is no score or duration, a NaN quiz score
        is what its answers earned; stored times are UTC ISO text, so MIN is the earliest and the first
        ten characters are the UTC day."""
        finite = "abs({0}) < 9e999"  # NULL (a NaN) and infinities are not numbers here, as in `_attempt`
        labs = self.db.execute(f"""
            SELECT node_id, COUNT(*), SUM(fin), MAX(CASE WHEN fin THEN score END),
                   SUM(fin AND passed IS 1), TOTAL(CASE WHEN {finite.format('duration_s')} THEN duration_s END),
                   MIN(CASE WHEN passed THEN w END), MIN(CASE WHEN passed AND test_out THEN w END),
                   MIN(CASE WHEN passed AND build THEN w END), MIN(CASE WHEN fin AND passed AND build THEN w END),
                   MAX(fin AND passed IS 1 AND NOT build),
                   COUNT(DISTINCT CASE WHEN fin AND passed THEN substr(w, 1, 10) END)
            FROM (SELECT node_id, passed, test_out, score, duration_s, mode = 'implement' AS build,
                         COALESCE(finished_at, started_at) AS w,
                         (status != 'running' AND {finite.format('score')}) IS 1 AS fin
                  FROM attempts WHERE learner_id = ?)
            GROUP BY node_id""", [learner_id]).fetchall()
        out: dict[str, dict[str, Any]] = {}
        names = ("lab_attempts", "finished", "best_score", "passes", "lab_time_s", "first_pass",
                 "first_test_out_pass", "first_build_pass", "finished_build_pass", "finished_experiment_pass",
                 "pass_days")
        for node_id, *values in labs:
            out[node_id] = {"node_id": node_id, **dict(zip(names, values, strict=True))}
        # Seconds between two stored times, exactly as Python's timedelta: whole seconds from julianday
        # (millisecond precision, rounded) and the microseconds from the text.
        micros = ("(CAST(round((julianday(substr({1}, 1, 19)) - julianday(substr({0}, 1, 19))) * 86400) AS INTEGER)"
                  " * 1000000 + CAST(substr({1}, 21, 6) AS INTEGER) - CAST(substr({0}, 21, 6) AS INTEGER))")
        quizzes = self.db.execute(f"""
            SELECT node_id, COUNT(*), MAX(s), SUM(passed IS 1), MIN(CASE WHEN passed THEN finished_at END),
                   TOTAL(max(0.0, {micros.format('started_at', 'finished_at')} / 1e6))
            FROM (SELECT node_id, passed, started_at, finished_at,
                         CASE WHEN {finite.format('score')} THEN score ELSE
                             (SELECT CASE WHEN TOTAL(max_points) THEN TOTAL(points) / TOTAL(max_points) ELSE 0.0 END
                              FROM quiz_answers WHERE quiz_attempt_id = q.id) END AS s
                  FROM quiz_attempts AS q WHERE learner_id = ? AND kind = 'quiz')
            GROUP BY node_id""", [learner_id]).fetchall()
        for node_id, count, best, passes, first_pass, seconds in quizzes:
            out.setdefault(node_id, {"node_id": node_id}).update(
                quizzes=count, quiz_best=best, quiz_passes=passes, quiz_first_pass=first_pass, quiz_time_s=seconds)
        # A review's quiz attempt (migration 7) is no quiz: only whether the node's latest one lapsed.
        lapsed = self.db.execute("""
            SELECT node_id, passed FROM (
                SELECT node_id, passed, ROW_NUMBER() OVER (PARTITION BY node_id
                                                           ORDER BY finished_at DESC, id DESC) AS n
                FROM quiz_attempts WHERE learner_id = ? AND kind = 'review') WHERE n = 1""", [learner_id])
        for node_id, passed in lapsed:
            out.setdefault(node_id, {"node_id": node_id})["review_lapsed"] = not passed
        return out

    HISTORY_ORDER = {"#": "id", "Lab": "lab_id", "Status": "status", "When": "started_at",
                     "Score": "(abs(score) < 9e999 AND status != 'running') IS 1, score"}
    """The history's sort columns, as SQL: an attempt without a score (running, interrupted) sorts
    below every scored one; ties go by id, so pages never overlap."""

    def attempt_page(self, learner_id: int, *, order: str = "When", descending: bool = True,
                     limit: int = 200, offset: int = 0) -> list[Attempt]:
        """One page of the learner's attempts sorted in SQL by a `HISTORY_ORDER` column (ValueError for
        another), `limit` rows from `offset`."""
        if order not in self.HISTORY_ORDER:
            raise ValueError(f"cannot sort attempts by {order!r} (one of {', '.join(self.HISTORY_ORDER)})")
        direction = " DESC" if descending else ""
        keys = ", ".join(f"{key.strip()}{direction}" for key in f"{self.HISTORY_ORDER[order]}, id".split(","))
        # The ids first: the sort then carries only the keys, not every row's params and feedback
        # (a page deep in 100,000 attempts took 1.9 s sorting whole rows).
        ids = [r[0] for r in self.db.execute(f"SELECT id FROM attempts WHERE learner_id = ? ORDER BY {keys} "
                                             f"LIMIT ? OFFSET ?", [learner_id, int(limit), int(offset)])]
        if not ids:
            return []
        rows = {r["id"]: r for r in self.db.query(
            f"SELECT * FROM attempts WHERE id IN ({', '.join('?' * len(ids))})", ids)}
        return [self._attempt(rows[i]) for i in ids if i in rows]

    def attempt_count(self, learner_id: int) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM attempts WHERE learner_id = ?", [learner_id]).fetchone()[0])

    def latest_attempt_id(self, learner_id: int, lab_id: str, *, mode: str) -> int | None:
        """The id of the learner's newest finished attempt at `lab_id` in `mode` (the order of `attempts`)."""
        row = self.db.execute("SELECT id FROM attempts WHERE learner_id = ? AND lab_id = ? AND mode = ? "
                              "AND status != 'running' ORDER BY started_at DESC, id DESC LIMIT 1",
                              [learner_id, lab_id, mode]).fetchone()
        return None if row is None else int(row[0])

    def attempt_keys(self, learner_id: int) -> set[tuple]:
        """`AttemptFields.key()` of each of the learner's finished attempts, without loading the rows
        (an import asks once per batch, and a learner can have thousands)."""
        rows = self.db.execute("SELECT lab_id, node_id, mode, seed, started_at FROM attempts "
                               "WHERE learner_id = ? AND status != 'running'", [learner_id])
        return {(lab, node, mode, seed, datetime.fromisoformat(started)) for lab, node, mode, seed, started in rows}

    def quiz_keys(self, learner_id: int) -> set[tuple]:
        """(node_id, started_at) of each of the learner's quiz attempts (what an import skips)."""
        rows = self.db.execute("SELECT node_id, started_at FROM quiz_attempts WHERE learner_id = ?", [learner_id])
        return {(node, datetime.fromisoformat(started)) for node, started in rows}

    def attempt_checks(self, attempt_id: int) -> list[CheckResult]:
        rows = self.db.query("SELECT * FROM attempt_checks WHERE attempt_id = ? ORDER BY position",
                             [attempt_id])
        return [_check_result(r) for r in rows]

    def checks_by_attempt(self, learner_id: int) -> dict[int, list[CheckResult]]:
        """Every attempt's checks of one learner, in one query (a report over 10,000 attempts asked once
        per attempt before); attempts without checks are absent."""
        rows = self.db.query("SELECT c.* FROM attempt_checks c JOIN attempts a ON a.id = c.attempt_id "
                             "WHERE a.learner_id = ? ORDER BY c.attempt_id, c.position", [learner_id])
        out: dict[int, list[CheckResult]] = {}
        for r in rows:
            out.setdefault(r["attempt_id"], []).append(_check_result(r))
        return out

    def metric_series(self, attempt_id: int) -> dict[str, list[tuple[int, float]]]:
        series: dict[str, list[tuple[int, float]]] = {}
        rows = self.db.execute("SELECT name, step, value FROM attempt_metrics WHERE attempt_id = ? "
                               "ORDER BY name, step, id", [attempt_id])
        for name, step, value in rows:
            series.setdefault(name, []).append((step, value))
        return series

    def samples(self, attempt_id: int) -> list[SampleRow]:
        rows = self.db.query("SELECT step, text FROM attempt_samples WHERE attempt_id = ? "
                             "ORDER BY step, id", [attempt_id])
        return [SampleRow.model_validate(r) for r in rows]

    def mark_interrupted(self, is_alive: Callable[[int | None], bool] = pid_alive) -> int:
        """Running attempts whose process is gone become `interrupted`; returns how many."""
        running = self.db.execute("SELECT id, pid FROM attempts WHERE status = 'running'").fetchall()
        dead = [attempt_id for attempt_id, pid in running if not is_alive(pid)]
        if dead:
            stamp = now()
            with self.transaction():
                self.db.conn.executemany("UPDATE attempts SET status = 'interrupted', passed = 0, "
                                         "finished_at = ? WHERE id = ? AND status = 'running'",
                                         [(stamp, i) for i in dead])
        return len(dead)

    # -- quizzes -------------------------------------------------------------------------------
    def record_quiz(self, learner_id: int, node_id: str, *, seed: int | None, score: float,
                    passed: bool, answers: list[QuizAnswer], started_at: datetime,
                    finished_at: datetime, kind: str = "quiz") -> int:
        """A quiz attempt and its answers; `kind="review"` for a review draw (migration 7: progress
        counts only kind 'quiz' as the node's quiz)."""
        if kind not in ("quiz", "review"):
            raise ValueError(f"quiz attempt kind must be quiz or review, got {kind!r}")
        if self.learner_by_id(learner_id) is None:
            raise NotFoundError(f"no learner with id {learner_id}")
        with self.transaction():
            quiz_id = int(self.db["quiz_attempts"].insert(
                {"learner_id": learner_id, "node_id": node_id, "seed": seed, "score": float(score),
                 "passed": int(bool(passed)), "started_at": iso(started_at),
                 "finished_at": iso(finished_at), "kind": kind}).last_pk)
            self.db["quiz_answers"].insert_all(
                [{"quiz_attempt_id": quiz_id, "question_id": a.question_id, "answer": _json(a.answer),
                  "correct": int(a.correct), "points": float(a.points), "max_points": float(a.max_points)}
                 for a in answers])
        return quiz_id

    def quiz_attempts(self, learner_id: int, node_id: str | None = None) -> list[QuizAttempt]:
        sql, params = "SELECT * FROM quiz_attempts WHERE learner_id = ?", [learner_id]
        if node_id is not None:
            sql, params = sql + " AND node_id = ?", params + [node_id]
        out = []
        for row in self.db.query(sql + " ORDER BY started_at DESC, id DESC", params):
            answers = [QuizAnswer(question_id=a["question_id"], answer=json.loads(a["answer"]),
                                  correct=bool(a["correct"]), points=a["points"], max_points=a["max_points"])
                       for a in self.db.query("SELECT * FROM quiz_answers WHERE quiz_attempt_id = ? "
                                              "ORDER BY id", [row["id"]])]
            score = _finite_or_none(row["score"])
            if score is None:  # a NaN score (imported before files were checked): what its answers earned
                total = sum(a.max_points for a in answers)
                score = sum(a.points for a in answers) / total if total else 0.0
            out.append(QuizAttempt.model_validate({**row, "score": score, "passed": bool(row["passed"]),
                                                   "kind": row.get("kind") or "quiz", "answers": answers}))
        return out

    # -- diagnosis answers (migration 5) ---------------------------------------------------------
    def record_diagnosis(self, learner_id: int, attempt_id: int, *, lab_id: str, options: list[str],
                         expected: str, answer: str, answered_at: datetime | None = None) -> int:
        """The learner's answer to "what went wrong?" after failed attempt `attempt_id`."""
        attempt = self.attempt(attempt_id)  # NotFoundError if absent
        if attempt.learner_id != learner_id:
            raise ValueError(f"attempt {attempt_id} is not learner {learner_id}'s")
        with self.transaction():
            return int(self.db["diagnosis_answers"].insert(
                {"attempt_id": attempt_id, "learner_id": learner_id, "lab_id": lab_id, "options": _json(options),
                 "expected": expected, "answer": answer, "correct": int(answer == expected),
                 "answered_at": iso(answered_at)}).last_pk)

    def diagnosis_answers(self, learner_id: int, attempt_id: int | None = None) -> list[dict[str, Any]]:
        """The learner's diagnosis answers, oldest first (`options` decoded, `correct` a bool)."""
        sql, params = "SELECT * FROM diagnosis_answers WHERE learner_id = ?", [learner_id]
        if attempt_id is not None:
            sql, params = sql + " AND attempt_id = ?", params + [attempt_id]
        return [{**r, "options": json.loads(r["options"]), "correct": bool(r["correct"])}
                for r in self.db.query(sql + " ORDER BY answered_at, id", params)]

    # -- the review queue (migration 7) ----------------------------------------------------------
    def review_cards(self, learner_id: int) -> dict[str, dict[str, Any]]:
        """node id -> {card (fsrs.Card JSON), due, updated_at} for each node the learner has reviewed."""
        return {r["node_id"]: {"card": r["card"], "due": r["due"], "updated_at": r["updated_at"]}
                for r in self.db.query("SELECT node_id, card, due, updated_at FROM review_cards "
                                       "WHERE learner_id = ?", [learner_id])}

    def record_review(self, learner_id: int, node_id: str, *, seed: int | None, score: float, rating: int,
                      answers: list[QuizAnswer], started_at: datetime, finished_at: datetime, card: str,
                      due_before: datetime | None, due_after: datetime) -> int:
        """One review in one transaction: its quiz attempt (kind 'review', passed = not a lapse: rating
        above Again), its `reviews` row, and the node's card replaced by `card`. Returns the quiz attempt id."""
        if not 1 <= int(rating) <= 4:
            raise ValueError(f"a review's rating is 1 (Again) to 4 (Easy), got {rating!r}")
        with self.transaction():
            quiz_id = self.record_quiz(learner_id, node_id, seed=seed, score=score, passed=int(rating) > 1,
                                       answers=answers, started_at=started_at, finished_at=finished_at,
                                       kind="review")
            self.db["reviews"].insert(
                {"learner_id": learner_id, "node_id": node_id, "quiz_attempt_id": quiz_id, "rating": int(rating),
                 "score": float(score), "due_before": None if due_before is None else iso(due_before),
                 "due_after": iso(due_after), "reviewed_at": iso(finished_at)})
            self.db.execute("DELETE FROM review_cards WHERE learner_id = ? AND node_id = ?", [learner_id, node_id])
            self.db["review_cards"].insert({"learner_id": learner_id, "node_id": node_id, "card": card,
                                            "due": iso(due_after), "updated_at": iso(finished_at)})
        return quiz_id

    def reviews(self, learner_id: int, node_id: str | None = None) -> list[dict[str, Any]]:
        """The learner's reviews (rating, score, due times, quiz_attempt_id), oldest first."""
        sql, params = "SELECT * FROM reviews WHERE learner_id = ?", [learner_id]
        if node_id is not None:
            sql, params = sql + " AND node_id = ?", params + [node_id]
        return list(self.db.query(sql + " ORDER BY reviewed_at, id", params))

    # -- help seen on build tasks --------------------------------------------------------------
    # -- checkpoints (migration 8) ---------------------------------------------------------------
    def add_checkpoint(self, attempt_id: int, *, lab_id: str, sha256: str, bytes: int,
                       architecture: dict[str, Any], tokenizer: str | None,
                       created_at: datetime | None = None) -> int:
        """Link a stored model file to its attempt (call once the file is in place and the attempt row
        exists: never a row without its file)."""
        with self.transaction():
            return int(self.db["checkpoints"].insert(
                {"attempt_id": int(attempt_id), "lab_id": lab_id, "sha256": sha256, "bytes": int(bytes),
                 "architecture": _json(architecture), "tokenizer": tokenizer,
                 "created_at": iso(created_at) if created_at else now()}).last_pk)

    def checkpoints(self, learner_id: int | None = None, *, lab_id: str | None = None) -> list[dict[str, Any]]:
        """Stored models with their attempt's learner, status, score and start, best first per lab
        (score, then newest); `architecture` parsed."""
        sql = ("SELECT c.*, a.learner_id, a.status, a.score, a.passed, a.started_at FROM checkpoints c "
               "JOIN attempts a ON a.id = c.attempt_id WHERE 1 = 1")
        params: list[Any] = []
        if learner_id is not None:
            sql, params = sql + " AND a.learner_id = ?", params + [learner_id]
        if lab_id is not None:
            sql, params = sql + " AND c.lab_id = ?", params + [lab_id]
        rows = [dict(r) for r in self.db.query(
            sql + " ORDER BY c.lab_id, COALESCE(a.score, -1) DESC, a.started_at DESC, c.id DESC", params)]
        for row in rows:
            row["architecture"] = json.loads(row["architecture"] or "{}")
            row["score"] = _finite_or_none(row["score"])
            row["passed"] = None if row["passed"] is None else bool(row["passed"])
        return rows

    def checkpoint_hashes(self) -> set[str]:
        """Every file any learner's checkpoint row names (what a prune must keep on disk)."""
        return {r["sha256"] for r in self.db.query("SELECT DISTINCT sha256 FROM checkpoints")}

    def delete_checkpoints(self, ids: Iterable[int]) -> int:
        ids = [int(i) for i in ids]
        if not ids:
            return 0
        with self.transaction():
            marks = ", ".join("?" * len(ids))
            return max(self.db.execute(f"DELETE FROM checkpoints WHERE id IN ({marks})", ids).rowcount, 0)

    def record_help_view(self, learner_id: int, lab_id: str, kind: str, number: int | None = None,
                         viewed_at: datetime | None = None) -> int:
        """A hint (`kind="hint"`, its 1-based `number`) or the reference solution (`kind="solution"`)
        shown to the learner."""
        if kind not in ("hint", "solution"):
            raise ValueError(f"help view kind must be hint or solution, got {kind!r}")
        with self.transaction():
            return int(self.db["help_views"].insert(
                {"learner_id": learner_id, "lab_id": lab_id, "kind": kind, "number": number,
                 "viewed_at": iso(viewed_at)}).last_pk)

    def help_views(self, learner_id: int, lab_id: str | None = None) -> list[HelpView]:
        """The learner's hint and solution views, oldest first."""
        sql, params = "SELECT * FROM help_views WHERE learner_id = ?", [learner_id]
        if lab_id is not None:
            sql, params = sql + " AND lab_id = ?", params + [lab_id]
        return [HelpView.model_validate(r) for r in self.db.query(sql + " ORDER BY viewed_at, id", params)]

    # -- study time (migration 6, planner.studytime) ---------------------------------------------
    def record_study_session(self, learner_id: int, node_id: str, *, started_at: datetime, ended_at: datetime,
                             active_s: float, session_id: int | None = None, kind: str = "lesson") -> int:
        """Write a lesson visit's running total: a new row, or (`session_id`) the same row again with
        its later end and larger total. Returns the row's id."""
        active = _finite_or_none(active_s)
        if active is None or active < 0:
            raise ValueError(f"active seconds must be a finite number >= 0, got {active_s!r}")
        row = {"learner_id": learner_id, "node_id": node_id, "kind": kind, "started_at": iso(started_at),
               "ended_at": iso(ended_at), "active_s": active}
        with self.transaction():
            if session_id is not None and self._one("SELECT id FROM study_sessions WHERE id = ? AND learner_id = ?",
                                                    [session_id, learner_id]):
                self.db["study_sessions"].update(session_id, row)
                return session_id
            return int(self.db["study_sessions"].insert(row).last_pk)

    def study_sessions(self, learner_id: int, node_id: str | None = None) -> list[dict[str, Any]]:
        """The learner's lesson visits, oldest first (dicts with the table's columns)."""
        sql, params = "SELECT * FROM study_sessions WHERE learner_id = ?", [learner_id]
        if node_id is not None:
            sql, params = sql + " AND node_id = ?", params + [node_id]
        return list(self.db.query(sql + " ORDER BY started_at, id", params))

    def lesson_seconds(self, learner_id: int) -> dict[str, float]:
        """Per node, the active seconds of the learner's lesson visits."""
        return {node_id: float(total) for node_id, total in self.db.execute(
            "SELECT node_id, TOTAL(active_s) FROM study_sessions WHERE learner_id = ? AND kind = 'lesson' "
            "GROUP BY node_id", [learner_id])}

    def record_build_save(self, learner_id: int, lab_id: str, node_id: str, at: datetime,
                          kind: str = "save") -> bool:
        """A moment a build's file was written (`kind` 'scaffold' or 'save'); False if already known."""
        if kind not in ("scaffold", "save"):
            raise ValueError(f"build save kind must be scaffold or save, got {kind!r}")
        with self.transaction():
            return self.db.execute(
                "INSERT OR IGNORE INTO build_saves (learner_id, lab_id, node_id, kind, at) VALUES (?, ?, ?, ?, ?)",
                [learner_id, lab_id, node_id, kind, iso(at)]).rowcount > 0

    def build_saves(self, learner_id: int) -> list[dict[str, Any]]:
        """The learner's build file moments, by lab then time (dicts: lab_id, node_id, kind, at)."""
        return list(self.db.query("SELECT lab_id, node_id, kind, at FROM build_saves WHERE learner_id = ? "
                                  "ORDER BY lab_id, at", [learner_id]))

    def build_gradings(self, learner_id: int, lab_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The learner's implement-mode attempts of these labs: lab_id, node_id, started_at, finished_at,
        passed (what a build's estimated time reads), oldest first."""
        ids = list(lab_ids)
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        return list(self.db.query(
            f"SELECT lab_id, node_id, started_at, finished_at, passed FROM attempts WHERE learner_id = ? "
            f"AND mode = 'implement' AND lab_id IN ({marks}) ORDER BY started_at, id", [learner_id, *ids]))

    # -- app state -----------------------------------------------------------------------------
    # -- the curriculum's names (migration 9) -------------------------------------------------------
    CATALOG_KEY = "catalog:version"

    def sync_catalog(self, version: str, nodes: list[dict[str, Any]], labs: list[dict[str, Any]]) -> None:
        """Make the `nodes` and `labs` tables say what this curriculum says (ids that left it stay, with
        in_curriculum 0), and remember `version` so an unchanged curriculum costs one read."""
        with self.transaction():
            self.db.execute("UPDATE nodes SET in_curriculum = 0")
            self.db.execute("UPDATE labs SET in_curriculum = 0")
            self.db["nodes"].upsert_all([{**n, "in_curriculum": 1} for n in nodes], pk="id")
            self.db["labs"].upsert_all([{"in_curriculum": 1, **l} for l in labs], pk="id")
            self.db["app_state"].upsert({"key": self.CATALOG_KEY, "value": version}, pk="key")

    def get_state(self, key: str) -> str | None:
        row = self._one("SELECT value FROM app_state WHERE key = ?", [key])
        return None if row is None else row["value"]

    def set_state(self, key: str, value: str) -> None:
        with self.transaction():
            self.db["app_state"].upsert({"key": key, "value": str(value)}, pk="key")
