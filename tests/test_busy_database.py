"""Another process holds the database's write lock for longer than the busy timeout: a lab run goes on,
and its result is never lost (kept in memory and retried, then kept in a recovery file that the next
start records). The lock is held by a real second process, as a large import or a `sqlite3` shell would.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from labs.events import Failed, Finished, Progress, Sample, Started
from labs.grading import CheckSpec, evaluate, grade
from planner import recovery, service
from planner.portable import PortableAttempt
from planner.service import Service
from planner.store import Store

BUSY_MS = 200  # the tests' busy timeout (the app's is 5 s): a lock "longer than the timeout" stays short

HOLDER = textwrap.dedent("""
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE app_state SET value = value")  # a write, as an import's would be
    print("locked", flush=True)
    sys.stdin.readline()        # hold the lock until the test says so
    conn.execute("COMMIT")
    print("released", flush=True)
""")


class LockHolder:
    """A second process holding BEGIN IMMEDIATE on the database until `release()`."""

    def __init__(self, path):
        import threading

        self.proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "locked"
        self._released = False
        self._lock = threading.Lock()  # a timer thread and the test's cleanup may both release

    def release(self) -> None:
        with self._lock:
            if self._released or self.proc.poll() is not None:
                return
            self._released = True
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            assert self.proc.stdout.readline().strip() == "released"
            self.proc.wait(10)


class Scripted:
    """A LabRunner whose events come from a list; `hooks[i]` runs just before event i is given out."""

    def __init__(self, script: list[Any], hooks: dict[int, Any] | None = None):
        self.script, self.hooks, self.result = list(script), hooks or {}, None
        self._queue: queue.Queue = queue.Queue()
        for e in self.script:
            self._queue.put(e)
        self.given = 0

    def start(self) -> "Scripted":
        return self

    def events(self, timeout: float | None = None):
        while self.result is None:
            try:
                event = self._queue.get(timeout=timeout or 0.01)
            except queue.Empty:
                return
            if self.given in self.hooks:
                self.hooks[self.given]()
            self.given += 1
            if isinstance(event, (Finished, Failed)):
                self.result = event
            yield event

    def cancel(self):
        self.result = self.result or Failed(kind="cancelled", message="cancelled")
        return self.result


SPEC = CheckSpec(id="fit", title="Loss near the optimum", points=100, required=True)
DONE = Finished(status="passed", grade=grade([evaluate(SPEC, 1.0, "ok")], pass_mark=70),
                metrics={"train_loss": 0.1}, feedback="Converged.", duration_s=30.0)
RUN = ([Started(lab_id="gd-linear", total_steps=20, dataset_hash="h1")]
       + [Progress(step=i, metrics={"train_loss": 1.0 / (i + 1)}) for i in range(20)]
       + [Sample(step=19, text="y = 3x")])


@pytest.fixture
def db(db_path):
    with Store.open(db_path) as store:
        store.set_state("x", "1")  # app_state has a row for the holder to update
    return db_path


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(service, "RETRY_DELAYS_S", (0.1, 0.2, 0.4))
    monkeypatch.setattr(service, "_FLUSH_EVERY_S", 0.0)  # flush after every point: each meets the lock


def _run(db_path, curriculum, script, hooks):
    store = Store.open(db_path, busy_timeout_ms=BUSY_MS)
    svc = Service(store, curriculum, runner_factory=lambda *a: Scripted(script, hooks))
    learner = store.get_learner("Ada") or store.add_learner("Ada")
    session = svc.start_lab(learner, "gd-linear", {}, seed=0, practice=True)
    return store, svc, session, session.wait()


def test_a_lock_held_through_the_metric_batches_neither_aborts_the_run_nor_loses_a_point(db, curriculum):
    # The metric batches raised StoreError out of the event loop: the run was aborted and nothing recorded.
    holder: list[LockHolder] = []
    hooks = {2: lambda: holder.append(LockHolder(db)), 18: lambda: holder[0].release()}
    store, _, session, outcome = _run(db, curriculum, RUN + [DONE], hooks)
    try:
        assert outcome.status == "passed" and session.recovery_file is None
        row = store.attempt(outcome.attempt_id)
        assert (row.status, row.score, row.dataset_hash) == ("passed", 100.0, "h1")
        assert [v for _, v in store.metric_series(row.id)["train_loss"]] == [1.0 / (i + 1) for i in range(20)]
        assert [s.text for s in store.samples(row.id)] == ["y = 3x"]
    finally:
        for h in holder:
            h.release()
        store.close()


def test_a_lock_released_during_the_retries_still_records_the_result(db, curriculum):
    import threading

    holder: list[LockHolder] = []

    def lock_then_release_soon():  # just before Finished arrives; freed while the result is retried
        holder.append(LockHolder(db))
        threading.Timer(0.5, holder[0].release).start()

    hooks = {len(RUN): lock_then_release_soon}
    store, _, session, outcome = _run(db, curriculum, RUN + [DONE], hooks)
    try:
        assert session.recovery_file is None
        row = store.attempt(outcome.attempt_id)
        assert row.status == "passed" and [c.id for c in store.attempt_checks(row.id)] == ["fit"]
    finally:
        for h in holder:
            h.release()
        store.close()


@pytest.mark.parametrize("lock_from", [0, len(RUN)], ids=["before-started", "before-finished"])
def test_a_lock_outlasting_every_retry_keeps_the_result_in_a_file_the_next_start_records(
        db, curriculum, lock_from):
    holder: list[LockHolder] = []
    store, _, session, outcome = _run(db, curriculum, RUN + [DONE],
                                      {lock_from: lambda: holder.append(LockHolder(db))})
    try:
        assert outcome.status == "passed" and outcome.score == 100.0  # what the learner is shown
        assert session.recovery_file is not None and session.recovery_file.parent == recovery.recovery_dir(db)
        assert "kept in" in outcome.feedback and "next time PathLab starts" in outcome.feedback
        # the pass counts now, not only after recovery: the mastery it earns (an experiment completes
        # gradient-descent only while its lab has no build task, issue 13)
        build_task = Service(store, curriculum).progress(store.get_learner("Ada"))["gradient-descent"].has_build
        assert outcome.mastery_after == ("familiar" if build_task else "proficient")
        assert ("gradient-descent" in outcome.completed) == (not build_task)
    finally:
        holder[0].release()
        store.close()
    with Store.open(db) as again:  # the next start (a CLI command, the app)
        assert Service(again, curriculum).recover_interrupted(at_start=True) == 0
        [row] = again.attempts(again.get_learner("Ada").id)
        assert (row.status, row.score, row.passed, row.dataset_hash) == ("passed", 100.0, True, "h1")
        assert "Converged." in row.feedback
        assert [v for _, v in again.metric_series(row.id)["train_loss"]] == [1.0 / (i + 1) for i in range(20)]
        assert [s.text for s in again.samples(row.id)] == ["y = 3x"]
        assert [c.id for c in again.attempt_checks(row.id)] == ["fit"]
        assert recovery.pending_files(db) == []
        Service(again, curriculum).recover_interrupted(at_start=True)  # a second start adds nothing
        assert len(again.attempts(again.get_learner("Ada").id)) == 1


def test_a_recovery_file_waits_while_the_database_is_still_busy(db, curriculum):
    holder = []
    store, _, session, _ = _run(db, curriculum, RUN + [DONE], {0: lambda: holder.append(LockHolder(db))})
    store.close()
    try:
        with Store.open(db, busy_timeout_ms=BUSY_MS) as busy:
            assert recovery.record_pending(busy) == 0
        assert recovery.pending_files(db) == [session.recovery_file]  # kept, not deleted
    finally:
        holder[0].release()
    with Store.open(db) as free:
        assert recovery.record_pending(free) == 1


def test_a_damaged_or_foreign_recovery_file_is_left_alone_and_stops_nothing(db, curriculum):
    folder = recovery.recovery_dir(db)
    folder.mkdir()
    (folder / "run-garbled.json").write_text("{not json", encoding="utf-8")
    (folder / "run-stranger.json").write_text(recovery.PendingRun(
        learner_id=999, attempt=PortableAttempt(
            lab_id="gd-linear", node_id="gradient-descent", mode="explore", status="passed",
            started_at="2026-01-01T00:00:00Z")).model_dump_json(), encoding="utf-8")
    with Store.open(db) as store:
        assert Service(store, curriculum).recover_interrupted(at_start=True) == 0
        assert store.db.execute("SELECT count(*) FROM attempts").fetchone()[0] == 0
    assert sorted(p.name for p in recovery.pending_files(db)) == ["run-garbled.json", "run-stranger.json"]


def test_reading_commands_work_while_another_process_holds_the_write_lock(db, run_cli, monkeypatch):
    # Opening the database marks dead runs interrupted (a write): on a locked file that waits the busy
    # timeout and is skipped, and the command reads on (WAL lets it) instead of failing.
    with Store.open(db) as store:
        ada = store.add_learner("Ada")
        store.start_attempt(ada.id, "gd-linear", "gradient-descent", mode="explore", params={}, seed=0,
                            pid=None, app_version="t")  # a dead run: recovery will want to write
    monkeypatch.setenv("PATHLAB_BUSY_TIMEOUT_MS", str(BUSY_MS))
    holder = LockHolder(db)
    try:
        listed = run_cli("learner", "list", db=db)
        added = run_cli("learner", "add", "Grace", db=db)
    finally:
        holder.release()
    assert listed.exit_code == 0 and "Ada" in listed.output
    assert added.exit_code == 1 and "is busy" in added.output and "Traceback" not in added.output
    with Store.open(db) as store:
        assert Service(store, None).recover_interrupted(at_start=True) == 1  # done once the lock is gone
