"""The history's page query and migration 4 (issue 18): pages sorted by the database, indexes that
the progress and history queries read from, and an older database migrated with every row kept."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from planner.store import SCHEMA_VERSION, Store

T0 = datetime(2026, 2, 1, tzinfo=UTC)


def seed(store: Store) -> tuple[int, dict[int, tuple[str, float | None]]]:
    learner = store.add_learner("Ada")
    other = store.add_learner("Grace")
    made = {}
    for i, (lab, score) in enumerate([("gd-linear", 50.0), ("ffnn-digits", 90.0), ("gd-linear", None),
                                      ("model-size", 90.0), ("ffnn-digits", 10.0)]):
        aid = store.start_attempt(learner.id, lab, "n", mode="explore", params={}, seed=i, pid=0,
                                  app_version="t", started_at=T0 + timedelta(hours=i))
        if score is not None:
            store.finish_attempt(aid, status="failed", score=score, passed=False, metrics={}, feedback="",
                                 checks=[], duration_s=1.0)
        made[aid] = (lab, score)
    store.start_attempt(other.id, "gd-linear", "n", mode="explore", params={}, seed=0, pid=0, app_version="t")
    return learner.id, made


def test_pages_are_sorted_by_the_database_with_ties_by_id_and_no_score_last(store):
    learner_id, made = seed(store)
    ids = sorted(made)
    page = lambda **kw: [a.id for a in store.attempt_page(learner_id, **kw)]  # noqa: E731
    assert page() == ids[::-1]  # When, newest first; the other learner's attempt is not here
    assert page(order="When", descending=False, limit=2, offset=1) == ids[1:3]
    assert page(order="Score") == [ids[3], ids[1], ids[0], ids[4], ids[2]]  # 90 (tie: higher id first), ..., none
    assert page(order="Score", descending=False) == [ids[2], ids[4], ids[0], ids[1], ids[3]]
    assert page(order="Lab", descending=False) == [ids[1], ids[4], ids[0], ids[2], ids[3]]
    assert page(order="#", limit=2, offset=4) == [ids[0]] and page(offset=5) == []
    assert store.attempt_count(learner_id) == 5
    with pytest.raises(ValueError, match="cannot sort attempts by 'params'"):
        store.attempt_page(learner_id, order="params")


def test_progress_and_the_history_read_their_indexes(store):
    plan = lambda sql: " ".join(r[3] for r in store.db.execute("EXPLAIN QUERY PLAN " + sql, [1]))  # noqa: E731
    assert "COVERING INDEX idx_attempts_progress" in plan(
        "SELECT node_id, MIN(COALESCE(finished_at, started_at)), TOTAL(duration_s), MAX(score) FROM attempts "
        "WHERE learner_id = ? AND mode = mode AND test_out = test_out AND passed = passed GROUP BY node_id")
    newest = plan("SELECT id FROM attempts WHERE learner_id = ? ORDER BY started_at DESC, id DESC LIMIT 200")
    assert "idx_attempts_learner_started" in newest and "TEMP B-TREE" not in newest


def test_a_version_3_database_gains_the_indexes_and_keeps_its_rows(tmp_path):
    import sqlite_utils

    from planner.store import MIGRATIONS

    path = tmp_path / "v3.sqlite"
    conn = sqlite3.connect(path)
    db = sqlite_utils.Database(conn)
    for migrate in MIGRATIONS[:3]:
        migrate(db)
    db.execute("PRAGMA user_version = 3")
    db["learners"].insert({"name": "Ada", "created_at": "2026-01-01T00:00:00+00:00"})
    db["attempts"].insert({"learner_id": 1, "lab_id": "gd-linear", "node_id": "gradient-descent", "mode": "explore",
                           "status": "passed", "score": 100.0, "passed": 1, "duration_s": 5.0,
                           "started_at": "2026-01-02T00:00:00+00:00", "finished_at": "2026-01-02T00:00:05+00:00"})
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION >= 4
        names = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"idx_attempts_progress", "idx_attempts_learner_started", "idx_attempts_lab_mode"} <= names
        [attempt] = store.attempt_page(1)
        assert attempt.score == 100.0
        summary = store.node_summaries(1)["gradient-descent"]
        assert (summary["passes"], summary["first_pass"], summary["lab_time_s"]) == (1, "2026-01-02T00:00:05+00:00", 5.0)


def test_the_latest_finished_attempt_of_a_lab_and_mode(store):
    learner_id, made = seed(store)
    ids = sorted(made)
    assert store.latest_attempt_id(learner_id, "gd-linear", mode="explore") == ids[0]  # ids[2] still runs
    assert store.latest_attempt_id(learner_id, "ffnn-digits", mode="explore") == ids[4]
    assert store.latest_attempt_id(learner_id, "ffnn-digits", mode="implement") is None
