"""Another process writing to the same database: a write waits for it, and past the busy timeout says so."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from planner.store import Store, StoreError


def hold_write_lock(path, seconds: float, ready: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN EXCLUSIVE")
    ready.set()
    time.sleep(seconds)
    conn.execute("COMMIT")
    conn.close()


def test_a_write_waits_for_a_short_lock_instead_of_failing(db_path):
    store = Store.open(db_path)
    store.add_learner("Ada")  # the schema exists before the other writer starts
    ready = threading.Event()
    other = threading.Thread(target=hold_write_lock, args=(db_path, 0.5, ready))
    other.start()
    assert ready.wait(30), "the other writer never got the lock"
    started = time.monotonic()
    store.add_learner("Grace")  # used to fail at once: a deferred transaction cannot wait for the lock
    assert time.monotonic() - started >= 0.3
    other.join()
    assert [l.name for l in store.list_learners()] == ["Ada", "Grace"]
    store.close()


def test_a_lock_held_past_the_busy_timeout_is_a_clear_error_and_nothing_is_half_written(db_path):
    store = Store.open(db_path)
    store.add_learner("Ada")
    store.db.execute("PRAGMA busy_timeout = 200")
    ready = threading.Event()
    other = threading.Thread(target=hold_write_lock, args=(db_path, 1.5, ready))
    other.start()
    assert ready.wait(30), "the other writer never got the lock"
    with pytest.raises(StoreError, match=r"is busy: another program .* try again"):
        store.add_learner("Grace")
    other.join()
    assert [l.name for l in store.list_learners()] == ["Ada"]
    store.add_learner("Grace")  # and once the other writer is done, writing works again
    store.close()


def test_the_cli_reports_a_locked_database_in_one_line(run_cli, db_path, monkeypatch):
    run_cli("learner", "add", "Ada")
    monkeypatch.setattr("planner.store.BUSY_TIMEOUT_MS", 200)
    ready = threading.Event()
    other = threading.Thread(target=hold_write_lock, args=(db_path, 1.5, ready))
    other.start()
    assert ready.wait(30), "the other writer never got the lock"
    try:
        result = run_cli("learner", "add", "Grace")
    finally:
        other.join()
    assert result.exit_code == 1
    assert "is busy" in result.output and "Traceback" not in result.output
