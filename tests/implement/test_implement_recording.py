"""Recording a grade goes through `planner.implement.grade_and_record`, the door the CLI and the app share:
a grade is never lost to a database another program keeps write-locked (retried, then kept in a recovery
file that the next start records), as a lab run's result is not."""

from __future__ import annotations

from pathlib import Path

from labs.implement import get_task, solution_source
from planner import implement, recovery, service
from planner.curriculum import load_curriculum
from planner.service import Service
from planner.store import Store
from tests.test_busy_database import LockHolder

LAB, NODE = "ffnn-digits", "ffnn"


def test_a_grade_outlasting_a_busy_database_is_kept_and_recorded_at_the_next_start(tmp_path: Path, monkeypatch):
    db, workspace = tmp_path / "pathlab.sqlite", tmp_path / "ws"
    workspace.mkdir()
    (workspace / get_task(LAB).filename).write_text(solution_source(LAB))
    curriculum = load_curriculum()
    monkeypatch.setattr(service, "RETRY_DELAYS_S", (0.1, 0.2))
    holders = []
    real_grade_file = implement.grade_file

    def grade_then_lock(*args, **kwargs):  # another program takes the write lock while the file is graded
        result = real_grade_file(*args, **kwargs)
        holders.append(LockHolder(db))
        return result

    monkeypatch.setattr(implement, "grade_file", grade_then_lock)
    with Store.open(db, busy_timeout_ms=200) as store:
        learner = store.add_learner("Ada", target_role=None, hours_per_week=None)
        try:
            graded = implement.grade_and_record(Service(store, curriculum), learner, LAB, NODE, workspace)
        finally:
            for holder in holders:
                holder.release()
    assert graded.status == "passed" and "recorded the next time PathLab starts" in graded.feedback
    assert len(recovery.pending_files(db)) == 1
    with Store.open(db) as again:  # the next start
        Service(again, curriculum).recover_interrupted(at_start=True)
        [attempt] = again.attempts(learner.id)
        assert (attempt.id, attempt.status, attempt.score, attempt.mode) == (graded.attempt_id, "passed", 100,
                                                                              "implement")
        assert "Sandbox:" in attempt.feedback and len(again.attempt_checks(attempt.id)) == len(graded.checks)
    assert recovery.pending_files(db) == []


def test_a_database_busy_while_the_network_trains_loses_no_point_of_its_curve(tmp_path: Path, monkeypatch):
    """Another program holds the write lock for a second from the first training point: the grading goes
    on, the points wait in memory (the lab runs' LabSession, retried with backoff), and every one is
    recorded once the lock is gone."""
    import threading

    from labs.events import Progress
    from planner.store import StoreBusy

    db, workspace = tmp_path / "pathlab.sqlite", tmp_path / "ws"
    workspace.mkdir()
    (workspace / get_task(LAB).filename).write_text(solution_source(LAB))
    holder, shown, refused, timers = [], [], [], []
    real_add = Store.add_metrics

    def add_metrics(self, *args, **kwargs):
        try:
            return real_add(self, *args, **kwargs)
        except StoreBusy:
            refused.append(1)
            raise

    def on_event(event):
        if isinstance(event, Progress):
            shown.append((event.step, event.metrics["train_loss"]))
            if len(shown) == 1:
                holder.append(LockHolder(db))
                timers.append(threading.Timer(1.0, holder[0].release))
                timers[0].start()

    monkeypatch.setattr(Store, "add_metrics", add_metrics)
    with Store.open(db, busy_timeout_ms=200) as store:
        learner = store.add_learner("Ada", target_role=None, hours_per_week=None)
        try:
            graded = implement.grade_and_record(Service(store, load_curriculum()), learner, LAB, NODE, workspace,
                                                on_event=on_event)
        finally:
            for timer in timers:
                timer.join()
            for h in holder:
                h.release()
        assert refused, "the lock was meant to refuse a write of the curve"
        assert graded.status == "passed" and store.attempt(graded.attempt_id).status == "passed"
        assert store.metric_series(graded.attempt_id)["train_loss"] == shown
