"""The store: learners, attempts, metrics, quizzes and state round-trip; migrations keep every row;
unusable files are refused with the path in the message and left byte-identical."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from labs.grading import CheckResult
from planner.records import MetricPoint, QuizAnswer
from planner.store import SCHEMA_VERSION, NotFoundError, Store, StoreError, _migration_1


def _attempt(store: Store, learner_id: int, node_id: str = "gradient-descent", pid: int | None = 1) -> int:
    return store.start_attempt(learner_id, "gd-linear", node_id, mode="explore", params={"lr": 0.1},
                               seed=7, pid=pid, app_version="0.1.0")


# -- opening -------------------------------------------------------------------------------------


def test_open_creates_parents_and_sets_pragmas(tmp_path):
    path = tmp_path / "a" / "b" / "x.sqlite"
    with Store.open(path) as store:
        assert path.is_file()
        assert store.schema_version == SCHEMA_VERSION
        assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
        indexes = {i.name for i in store.db["attempts"].indexes}
        assert "idx_attempts_learner_id_node_id_started_at" in indexes
    with Store.open(path) as again:  # reopening migrates nothing and keeps the version
        assert again.schema_version == SCHEMA_VERSION


def test_migration_from_version_1_keeps_every_row(tmp_path):
    path = tmp_path / "v1.sqlite"
    conn = sqlite3.connect(path)
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    _migration_1(db)
    db.execute("PRAGMA user_version = 1")
    db["learners"].insert_all([{"name": f"learner {i}", "created_at": "2026-01-01T00:00:00+00:00"}
                               for i in range(3)])
    db["attempts"].insert({"learner_id": 2, "lab_id": "gd-linear", "node_id": "gradient-descent",
                           "mode": "explore", "status": "passed", "score": 88.5, "passed": 1,
                           "started_at": "2026-01-02T00:00:00+00:00"})
    conn.close()
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert [l.name for l in store.list_learners()] == ["learner 0", "learner 1", "learner 2"]
        assert store.list_learners()[0].last_active_at is None
        (only,) = store.attempts(2)
        assert only.score == 88.5 and only.passed is True


def _refused(path: Path, match: str) -> None:
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(StoreError, match=match) as info:
        Store.open(path)
    assert str(path) in str(info.value)
    if before is not None:
        assert path.read_bytes() == before


def test_directory_is_refused(tmp_path):
    _refused(tmp_path, "is a directory")


def test_text_file_is_refused_and_untouched(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("my shopping list\n")
    _refused(path, "not a SQLite database")


def test_newer_schema_is_refused_and_untouched(tmp_path):
    path = tmp_path / "future.sqlite"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    _refused(path, "newer PathLab")


def test_foreign_database_is_refused(tmp_path):
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER)")
    conn.commit()
    conn.close()
    _refused(path, "not PathLab's")


def test_read_only_file_is_refused_and_untouched(tmp_path):
    path = tmp_path / "ro.sqlite"
    Store.open(path).close()
    os.chmod(path, 0o444)
    try:
        _refused(path, "read-only")
    finally:
        os.chmod(path, 0o644)


def test_a_dropped_table_is_a_clear_error_never_a_silent_repair(tmp_path):
    # sqlite-utils creates a missing table on insert, so a database whose `attempts` table was dropped
    # got it back with columns guessed from the first row; now the version and the tables must agree.
    path = tmp_path / "damaged.sqlite"
    with Store.open(path) as store:
        store.add_learner("Ada")
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE attempt_checks")
    conn.execute("DROP TABLE attempt_metrics")
    conn.execute("DROP TABLE attempt_samples")
    conn.execute("DROP TABLE attempts")
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    _refused(path, rf"has schema version {SCHEMA_VERSION} but table attempts is missing; restore it from a backup "
                   r"or use another --db")
    assert not Path(f"{path}-wal").exists()


def test_a_missing_column_is_named(tmp_path):
    path = tmp_path / "old-column.sqlite"
    with Store.open(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE learners DROP COLUMN last_active_at")
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    _refused(path, "table learners lacks the column.s. last_active_at")


def test_a_version_1_database_missing_a_table_is_not_migrated(tmp_path):
    path = tmp_path / "v1-damaged.sqlite"
    conn = sqlite3.connect(path)
    import sqlite_utils

    _migration_1(sqlite_utils.Database(conn))
    conn.execute("DROP TABLE quiz_answers")
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    _refused(path, "schema version 1 but table quiz_answers is missing")


# -- learners ------------------------------------------------------------------------------------


def test_learner_names_are_cleaned_and_unique(store):
    zoe = store.add_learner("  Zoë 学习者  ", target_role="ml-engineer", hours_per_week=6)
    assert zoe.name == "Zoë 学习者" and zoe.hours_per_week == 6.0
    assert store.get_learner("Zoë 学习者").id == zoe.id
    assert store.get_learner("nobody") is None
    with pytest.raises(ValueError, match="'Zoë 学习者' already exists"):
        store.add_learner("Zoë 学习者")
    with pytest.raises(ValueError, match="cannot be empty"):
        store.add_learner("   ")
    with pytest.raises(ValueError, match="at most 80 characters"):
        store.add_learner("x" * 500)
    with pytest.raises(ValueError, match="control characters"):
        store.add_learner("two\nlines")
    with pytest.raises(ValueError, match="between 0 and 168"):
        store.add_learner("busy", hours_per_week=200)
    assert [l.name for l in store.list_learners()] == ["Zoë 学习者"]


def test_update_and_touch_learner(store):
    a = store.add_learner("Ada", target_role="ml-engineer", hours_per_week=5)
    store.add_learner("Bob")
    updated = store.update_learner("Ada", hours_per_week=8)
    assert updated.target_role == "ml-engineer" and updated.hours_per_week == 8  # omitted = unchanged
    assert store.update_learner("Ada", target_role=None, new_name="Ada L.").target_role is None
    assert store.get_learner("Ada") is None and store.learner_by_id(a.id).name == "Ada L."
    with pytest.raises(ValueError, match="'Bob' already exists"):
        store.update_learner("Ada L.", new_name="Bob")
    with pytest.raises(ValueError, match="no learner named 'Zed'"):
        store.update_learner("Zed", hours_per_week=1)
    store.touch_learner(a.id)
    assert store.learner_by_id(a.id).last_active_at is not None


# -- attempts ------------------------------------------------------------------------------------


def test_attempt_lifecycle_round_trips(store):
    learner = store.add_learner("Ada")
    attempt_id = _attempt(store, learner.id)
    running = store.attempt(attempt_id)
    assert running.status == "running" and running.score is None and running.params == {"lr": 0.1}
    store.add_metrics(attempt_id, [MetricPoint(step=s, name=n, value=np.float32(v))
                                   for s in (2, 1) for n, v in (("train_loss", 1 / s), ("val_accuracy", s / 4))])
    store.add_sample(attempt_id, 5, "to be or not")
    checks = [CheckResult(id="fit", title="Fits", points=3, max_points=4, status="partial", message="close"),
              CheckResult(id="lr", title="LR", points=1, max_points=1, status="passed", message="ok", required=True)]
    store.finish_attempt(attempt_id, status="passed", score=np.float64(80.0), passed=True,
                         metrics={"val_accuracy": np.float32(0.5)}, feedback="good", checks=checks, duration_s=2.5)
    done = store.attempt(attempt_id)
    assert (done.status, done.score, done.passed, done.duration_s) == ("passed", 80.0, True, 2.5)
    assert done.metrics == {"val_accuracy": 0.5} and done.finished_at >= done.started_at
    assert store.attempt_checks(attempt_id) == checks
    assert store.metric_series(attempt_id) == {"train_loss": [(1, 1.0), (2, 0.5)],
                                               "val_accuracy": [(1, 0.25), (2, 0.5)]}
    assert [(s.step, s.text) for s in store.samples(attempt_id)] == [(5, "to be or not")]
    raw = store.db.execute("SELECT typeof(score), typeof(value) FROM attempts, attempt_metrics").fetchone()
    assert raw == ("real", "real")  # numpy scalars stored as numbers, not blobs


def test_past_times_can_be_recorded_and_are_normalised_to_utc(store):
    learner = store.add_learner("Ada")
    paris = timezone(timedelta(hours=2))
    older = store.start_attempt(learner.id, "gd-linear", "gd", mode="explore", params={}, seed=1, pid=None,
                                app_version="0", started_at=datetime(2026, 1, 1, 12, 0, tzinfo=paris))
    newer = store.start_attempt(learner.id, "gd-linear", "gd", mode="explore", params={}, seed=1, pid=None,
                                app_version="0", started_at=datetime(2026, 1, 1, 11, 0, tzinfo=UTC))
    store.finish_attempt(older, status="failed", score=1, passed=False, metrics={}, feedback="", checks=[],
                         duration_s=1, finished_at=datetime(2026, 1, 1, 12, 5, tzinfo=paris))
    assert [a.id for a in store.attempts(learner.id)] == [newer, older]  # 10:00 UTC is before 11:00 UTC
    assert store.attempt(older).finished_at == datetime(2026, 1, 1, 10, 5, tzinfo=UTC)


def test_attempts_filter_and_order_newest_first(store):
    ada, bob = store.add_learner("Ada"), store.add_learner("Bob")
    first = _attempt(store, ada.id)
    other_node = _attempt(store, ada.id, node_id="ffnn")
    last = _attempt(store, ada.id)
    _attempt(store, bob.id)
    assert [a.id for a in store.attempts(ada.id)] == [last, other_node, first]
    assert [a.id for a in store.attempts(ada.id, node_id="gradient-descent")] == [last, first]
    assert store.attempts(ada.id, lab_id="other") == []


def test_bad_attempt_input_is_refused(store):
    learner = store.add_learner("Ada")
    with pytest.raises(NotFoundError, match="no attempt with id 99"):
        store.attempt(99)
    with pytest.raises(NotFoundError, match="no learner with id 42"):
        _attempt(store, 42)
    with pytest.raises(ValueError, match="unknown attempt mode"):
        store.start_attempt(learner.id, "gd-linear", "gd", mode="cheat", params={}, seed=1, pid=1,
                            app_version="0")
    attempt_id = _attempt(store, learner.id)
    with pytest.raises(ValueError, match="cannot finish an attempt as 'running'"):
        store.finish_attempt(attempt_id, status="running", score=0, passed=False, metrics={},
                             feedback="", checks=[], duration_s=0)


def test_mark_interrupted_only_touches_dead_running_rows(store):
    learner = store.add_learner("Ada")
    alive, dead, finished = (_attempt(store, learner.id, pid=p) for p in (100, 200, 300))
    store.finish_attempt(finished, status="failed", score=10, passed=False, metrics={}, feedback="",
                         checks=[], duration_s=1)
    assert store.mark_interrupted(is_alive=lambda pid: pid == 100) == 1
    assert [store.attempt(i).status for i in (alive, dead, finished)] == ["running", "interrupted", "failed"]
    assert store.mark_interrupted(is_alive=lambda pid: pid == 100) == 0


# -- quizzes and state ---------------------------------------------------------------------------


def test_quiz_attempts_round_trip_with_answers(store):
    learner = store.add_learner("Ada")
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    answers = [QuizAnswer(question_id="a", answer=[0, 2], correct=True, points=1, max_points=1),
               QuizAnswer(question_id="b", answer=3.5, correct=False, points=0, max_points=2)]
    first = store.record_quiz(learner.id, "gradient-descent", seed=1, score=1 / 3, passed=False,
                              answers=answers, started_at=t0, finished_at=t0 + timedelta(minutes=2))
    second = store.record_quiz(learner.id, "gradient-descent", seed=2, score=1.0, passed=True, answers=[],
                               started_at=t0 + timedelta(hours=1), finished_at=t0 + timedelta(hours=1, minutes=1))
    got = store.quiz_attempts(learner.id)
    assert [q.id for q in got] == [second, first]
    assert got[1].answers == answers and got[1].started_at == t0 and got[0].passed
    assert store.quiz_attempts(learner.id, node_id="ffnn") == []


def test_app_state_upserts(store):
    assert store.get_state("last_learner") is None
    store.set_state("last_learner", "Ada")
    store.set_state("last_learner", "Bob")
    assert store.get_state("last_learner") == "Bob"


def test_default_db_path_honours_the_env_var_else_the_user_data_folder(monkeypatch, tmp_path):
    from planner.paths import default_db_path

    monkeypatch.setenv("PATHLAB_DB", "~/elsewhere/my.sqlite")
    assert default_db_path() == Path.home() / "elsewhere" / "my.sqlite"
    monkeypatch.delenv("PATHLAB_DB")
    assert default_db_path() == tmp_path / "xdg-data" / "pathlab" / "pathlab.sqlite"  # conftest's XDG_DATA_HOME


def test_an_old_database_holding_nan_and_infinity_reads_without_crashing(store):
    # Before imports refused them, a progress file could put NaN into a quiz score (SQLite keeps it as
    # NULL, which QuizAttempt refused: every command for the learner failed) and Infinity into metrics.
    ada = store.add_learner("Ada")
    when = datetime(2026, 1, 1, tzinfo=UTC)
    quiz = store.record_quiz(ada.id, "gradient-descent", seed=1, score=0.5, passed=False, started_at=when,
                             finished_at=when, answers=[QuizAnswer(question_id="q", answer=1, correct=True,
                                                                   points=1, max_points=2)])
    attempt = _attempt(store, ada.id)
    store.finish_attempt(attempt, status="failed", score=1.0, passed=False, metrics={"loss": 1.0},
                         feedback="", checks=[CheckResult(id="c", title="c", points=1, max_points=1,
                                                          status="passed", message="")], duration_s=1.0)
    store.db.execute("UPDATE quiz_attempts SET score = ? WHERE id = ?", [float("nan"), quiz])
    store.db.execute("UPDATE attempts SET metrics = ?, score = ? WHERE id = ?",
                     ['{"loss": NaN, "val": Infinity, "ok": 0.5}', float("inf"), attempt])
    store.db.execute("UPDATE attempt_checks SET points = ? WHERE attempt_id = ?", [float("nan"), attempt])
    store.db.conn.commit()
    [read] = store.quiz_attempts(ada.id)
    assert read.score == 0.5  # recomputed from what its answers earned
    row = store.attempt(attempt)
    assert row.metrics == {"ok": 0.5} and row.score is None
    assert store.attempt_checks(attempt)[0].points == 0.0


def test_non_finite_metrics_and_scores_are_not_stored_as_numbers(store):
    ada = store.add_learner("Ada")
    attempt = _attempt(store, ada.id)
    store.finish_attempt(attempt, status="failed", score=float("nan"), passed=False,
                         metrics={"loss": float("inf"), "acc": 0.25}, feedback="diverged", checks=[],
                         duration_s=float("inf"))
    raw = store.db.execute("SELECT metrics, score, duration_s FROM attempts WHERE id = ?", [attempt]).fetchone()
    assert raw == ('{"acc": 0.25}', None, None)


def test_the_store_knows_its_own_files_by_name_and_by_link(store, tmp_path):
    assert store.owns(store.path) and store.owns(f"{store.path}-wal") and store.owns(f"{store.path}-shm")
    assert store.owns(store.recovery_dir / "run-x.json")
    link = tmp_path / "innocent.md"
    link.symlink_to(store.path)
    hard = tmp_path / "hard.md"
    os.link(store.path, hard)
    assert store.owns(link) and store.owns(hard)
    assert not store.owns(tmp_path / "report.md") and not store.owns("-")


@pytest.mark.parametrize("command", [["report", "-o"], ["export-progress"]])
def test_a_report_or_export_onto_the_database_is_refused_and_the_history_kept(run_cli, db_path, command):
    # `pathlab report -o pathlab.sqlite` replaced the learner's database with a Markdown file.
    assert run_cli("learner", "add", "Ada").exit_code == 0
    result = run_cli(*command, str(db_path))
    assert result.exit_code == 1 and "is PathLab's database" in result.output
    with Store.open(db_path) as store:
        assert [l.name for l in store.list_learners()] == ["Ada"]
