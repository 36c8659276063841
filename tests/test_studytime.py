"""Study time (issue 14 §4): the idle-cutoff rule, a build's estimate from its saves and gradings, the
store's migration 6 and queries, and recorded time reaching progress, the pace and `pathlab plan --json`."""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from planner import plan
from planner.studytime import (
    IDLE_CUTOFF_S, LessonClock, active_seconds, build_active_seconds, credited, node_study_seconds,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# -- the rule ------------------------------------------------------------------------------------------
def test_steady_activity_counts_in_full_and_a_long_gap_only_up_to_the_cutoff():
    every_minute = [at(60 * i) for i in range(11)]  # ten minutes of a key a minute, then nothing
    assert active_seconds(every_minute, until=at(600)) == 600
    # after the last key the reader is credited the cutoff, no more, however long the silence
    assert active_seconds(every_minute) == 600 + IDLE_CUTOFF_S
    assert active_seconds([at(0), at(3600)]) == 2 * IDLE_CUTOFF_S
    assert active_seconds([]) == 0


def test_a_pause_stops_the_clock_until_the_next_activity():
    # blur at 90 s, nothing until focus-and-key at 1000 s
    assert active_seconds([at(0), at(60), at(1000)], pauses=[at(90)], until=at(1060)) == 90 + 60
    assert credited([at(0), at(60), at(1000)], pauses=[at(90)], until=at(1060)) == [(at(0), at(90)),
                                                                                  (at(1000), at(1060))]


@pytest.mark.parametrize("seed", range(5))
def test_the_incremental_clock_agrees_with_the_rule(seed):
    rng = random.Random(seed)
    clock, events, pauses, t = LessonClock(), [], [], 0.0
    for _ in range(60):
        t += rng.choice([1, 20, 200, 299, 301, 900])
        if rng.random() < 0.2:
            clock.pause(at(t))
            pauses.append(at(t))
        else:
            clock.touch(at(t))
            events.append(at(t))
    end = t + rng.choice([10, 1000])
    assert clock.total(at(end)) == pytest.approx(active_seconds(events, pauses=pauses, until=at(end)))


def test_a_build_counts_from_the_scaffold_to_the_first_pass_without_the_gradings_compute():
    scaffold, save = at(0), at(200)
    gradings = [(at(300), at(400)), (at(500), at(600)), (at(2000), at(2100))]  # fail, pass, a later regrade
    # events 0, 200, 300 | 400 ... 500 | (600 = pass): 600 s credited, 200 s of it grading (lab time)
    assert build_active_seconds([scaffold, save], gradings, passed_at=at(600)) == 400
    # not passed yet: the later gradings' gaps count too, each stretch at most the cutoff
    assert build_active_seconds([scaffold, save], gradings[:1]) == 300 + IDLE_CUTOFF_S


def test_node_study_seconds_reads_stored_rows():
    saves = [{"lab_id": "gd-linear", "node_id": "gradient-descent", "at": at(0).isoformat()},
             {"lab_id": "gd-linear", "node_id": "gradient-descent", "at": at(120).isoformat()}]
    gradings = [{"lab_id": "gd-linear", "started_at": at(180).isoformat(), "finished_at": at(200).isoformat(),
                 "passed": 1}]
    study = node_study_seconds({"large-models": 600.0}, saves, gradings)
    assert study == {"large-models": (600.0, 0.0), "gradient-descent": (0.0, 180.0)}


# -- the store ------------------------------------------------------------------------------------------
def test_migration_6_keeps_an_older_databases_rows(tmp_path: Path):
    from planner.store import MIGRATIONS, Store, _load_sqlite_utils

    path = tmp_path / "v5.sqlite"
    db = _load_sqlite_utils().Database(path)
    for migrate in MIGRATIONS[:5]:
        migrate(db)
    db["learners"].insert({"name": "Ada", "created_at": T0.isoformat()})
    db["quiz_attempts"].insert({"learner_id": 1, "node_id": "large-models", "seed": 1, "score": 1.0, "passed": 1,
                                "started_at": at(0).isoformat(), "finished_at": at(90).isoformat()})
    db.execute("PRAGMA user_version = 5")
    db.conn.commit()
    db.close()
    with Store.open(path) as store:
        assert store.schema_version >= 6
        [ada] = store.list_learners()
        assert [q.node_id for q in store.quiz_attempts(ada.id)] == ["large-models"]
        assert store.lesson_seconds(ada.id) == {} and store.build_saves(ada.id) == []
    columns = {r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(study_sessions)")}
    assert {"learner_id", "node_id", "started_at", "ended_at", "active_s"} <= columns


def test_a_visit_is_one_row_rewritten_and_a_build_moment_is_kept_once(store):
    ada = store.add_learner("Ada")
    visit = store.record_study_session(ada.id, "large-models", started_at=at(0), ended_at=at(60), active_s=60)
    again = store.record_study_session(ada.id, "large-models", started_at=at(0), ended_at=at(600), active_s=540,
                                       session_id=visit)
    assert again == visit and store.lesson_seconds(ada.id) == {"large-models": 540.0}
    with pytest.raises(ValueError, match="finite"):
        store.record_study_session(ada.id, "large-models", started_at=at(0), ended_at=at(1), active_s=float("nan"))
    assert store.record_build_save(ada.id, "gd-linear", "gradient-descent", at(5), "scaffold")
    assert not store.record_build_save(ada.id, "gd-linear", "gradient-descent", at(5), "scaffold")
    assert [r["kind"] for r in store.build_saves(ada.id)] == ["scaffold"]
    assert store.delete_learner(ada.id)["study_sessions"] == 1  # a learner's rows go with them


# -- progress, pace and the plan -------------------------------------------------------------------------
def _read(service, learner, node_id: str, minutes: float, start: datetime = T0) -> None:
    service.record_lesson_time(learner, node_id, started_at=start, ended_at=start + timedelta(minutes=minutes),
                               active_s=minutes * 60)


def test_lesson_time_reaches_progress_and_the_plans_json(store, curriculum, run_cli, db_path):
    from planner.service import Service

    service = Service(store, curriculum)
    ada = service.add_learner("Ada", target_role="ml-engineer", hours_per_week=5)
    _read(service, ada, "large-models", 10)
    progress = service.progress(ada)["large-models"]
    assert progress.time_by_kind["lesson"] == 600 and progress.time_spent_s == 600
    data = json.loads(run_cli("plan", "--json").output)
    assert data["time_spent"]["lesson_s"] == 600
    assert data["time_spent"]["nodes"]["large-models"]["lesson_s"] == 600
    assert data["pace_basis"]["measured"] is False and "0 of 3" in data["pace_basis"]["reason"]
    assert "pace" in data and "projected_finish" in data  # the older keys stay


def test_the_pace_is_measured_once_three_completed_nodes_have_time():
    from planner.curriculum import Curriculum, Node
    from planner.progress import NodeProgress

    nodes = {n: Node(id=n, title=n, kind="concept", track="t", hours=1.0, lesson=f"{n}.md") for n in "abc"}
    cur = Curriculum(root=Path("."), nodes=nodes)
    done = {n: NodeProgress(node_id=n, state="completed", time_spent_s=5400.0,
                            time_by_kind={"lesson": 3600.0, "quiz": 1800.0}) for n in nodes}
    basis = plan.pace_basis(cur, done)
    assert basis.measured and basis.pace == pytest.approx(1.5) and basis.nodes == ["a", "b", "c"]
    assert basis.seconds_by_kind == {"lesson": 3 * 3600.0, "quiz": 3 * 1800.0}
    two = {n: p for n, p in done.items() if n != "c"}
    assert plan.pace_basis(cur, two).pace is None and plan.measured_pace(cur, done) == pytest.approx(1.5)


def test_the_scaffold_is_a_build_moment(run_cli, store, db_path, tmp_path):
    ada = store.add_learner("Ada")
    result = run_cli("lab", "start", "gd-linear", "--learner", "Ada")
    assert result.exit_code == 0, result.output
    [row] = store.build_saves(ada.id)
    assert (row["lab_id"], row["node_id"], row["kind"]) == ("gd-linear", "gradient-descent", "scaffold")


def test_a_builds_saves_and_gradings_become_its_nodes_build_time(store, curriculum, tmp_path):
    import os

    from planner.implement import record_build_moment
    from planner.service import Service

    service = Service(store, curriculum)
    ada = service.add_learner("Ada", target_role=None, hours_per_week=None)
    path = tmp_path / "gd_linear.py"
    path.write_text("# scaffold\n")
    os.utime(path, (at(0).timestamp(), at(0).timestamp()))
    record_build_moment(service, ada, "gd-linear", None, path, "scaffold")  # the node found from the lab
    os.utime(path, (at(240).timestamp(), at(240).timestamp()))
    record_build_moment(service, ada, "gd-linear", "gradient-descent", path)  # a save seen at grading
    record_build_moment(service, ada, "gd-linear", "gradient-descent", tmp_path / "gone.py")  # no file: no row
    attempt = store.start_attempt(ada.id, "gd-linear", "gradient-descent", mode="implement", params={}, seed=None,
                                  pid=None, app_version="t", started_at=at(300))
    store.finish_attempt(attempt, status="passed", score=100.0, passed=True, metrics={}, feedback="", checks=[],
                         duration_s=60.0, finished_at=at(360))
    progress = service.progress(ada)["gradient-descent"]
    # 0 -> 240 -> 300 credited (300 s), the grading 300 -> 360 is lab time, nothing after the pass
    assert progress.time_by_kind["build"] == 300 and progress.time_by_kind["lab"] == 60
    assert progress.time_spent_s == 360


def test_lesson_and_build_time_move_with_export_and_import_once(tmp_path):
    """A learner moved to another machine keeps their lesson visits and build moments (and so their
    measured pace); importing the same file again adds nothing."""
    from datetime import UTC, datetime, timedelta

    from planner import portable
    from planner.store import Store

    here = Store.open(tmp_path / "here.sqlite")
    ada = here.add_learner("Ada")
    t0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    here.record_study_session(ada.id, "gradient-descent", started_at=t0, ended_at=t0 + timedelta(minutes=10),
                              active_s=540.0)
    here.record_build_save(ada.id, "gd-linear", "gradient-descent", t0 + timedelta(minutes=12), kind="scaffold")
    here.record_build_save(ada.id, "gd-linear", "gradient-descent", t0 + timedelta(minutes=20))
    text = portable.export_progress(here, ada)
    there = Store.open(tmp_path / "there.sqlite")
    for _ in range(2):
        portable.import_progress(there, text)
    moved = there.get_learner("Ada")
    assert there.lesson_seconds(moved.id) == {"gradient-descent": 540.0}
    assert [(b["kind"], b["at"]) for b in there.build_saves(moved.id)] == \
        [(b["kind"], b["at"]) for b in here.build_saves(ada.id)]
    assert portable.export_progress(there, moved) == text  # the same history, byte for byte
    empty = here.add_learner("Bob")
    assert "study_sessions" not in portable.export_progress(here, empty)  # older files stay as they were
