"""Several processes on one database, as the README's workflow has it (the app open, `pathlab` commands in
a second terminal): nothing written is lost, -wal is never deleted under a process that has the file
open, migrations do not race, and the file passes integrity_check afterwards.

These start real processes (SQLite's locks are per process, so threads cannot show the faults).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from planner.store import Store

ROOT = Path(__file__).resolve().parent.parent

# The app's pattern: one connection for the UI thread, and a second Store opened for each run by the
# worker thread while the first is still open. Opening that second Store used to read the file with
# Python's open() and close it, which drops every POSIX lock this process holds on the file.
WRITER = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from planner.store import Store

    db, stop = Path(sys.argv[1]), Path(sys.argv[2])
    app = Store.open(db)
    learner = app.add_learner("Writer")
    print("ready", flush=True)
    written, wal_missing, errors = [], 0, []
    while not stop.exists():
        try:
            worker = Store.open(db)      # the worker thread's own connection, opened mid-session
            for store in (worker, worker, app):
                written.append(store.start_attempt(learner.id, "gd-linear", "gradient-descent",
                                                   mode="explore", params={}, seed=len(written), pid=None,
                                                   app_version="t"))
                if not Path(f"{db}-wal").exists():
                    wal_missing += 1
            worker.close()
        except Exception as exc:
            errors.append(repr(exc))
    app.close()
    print(json.dumps({"written": written, "wal_missing": wal_missing, "errors": errors[:3]}), flush=True)
""")


def _cli(db: Path, data: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "from planner.cli import main; main()", "--db", str(db),
                             "--data", str(data), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)


def _progress_file(tmp_path: Path) -> Path:
    """A learner's exported history with a few attempts, to import again and again under new names."""
    from planner.portable import export_progress

    with Store.open(tmp_path / "source.sqlite") as source:
        ada = source.add_learner("Ada")
        for seed in range(3):
            attempt = source.start_attempt(ada.id, "gd-linear", "gradient-descent", mode="explore",
                                           params={}, seed=seed, pid=None, app_version="t")
            source.finish_attempt(attempt, status="passed", score=90.0, passed=True, metrics={"loss": 0.1},
                                  feedback="", checks=[], duration_s=1.0)
        path = tmp_path / "ada.json"
        path.write_text(export_progress(source, ada), encoding="utf-8")
    return path


def test_cli_commands_beside_an_open_app_lose_nothing_and_never_delete_its_wal(tmp_path, fixture_root):
    db, stop = tmp_path / "shared.sqlite", tmp_path / "stop"
    exported = _progress_file(tmp_path)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(stop)], stdout=subprocess.PIPE,
                              text=True, cwd=ROOT)
    try:
        assert writer.stdout.readline().strip() == "ready"
        names, failures = [], []
        for i in range(3):  # each round: the commands the README suggests beside the app, all at once
            names.append(f"Carol {i}")
            procs = [_cli(db, fixture_root, *args) for args in (
                ("learner", "add", names[-1]), ("nodes", "--learner", "Writer"), ("lab", "list"),
                ("import-progress", str(exported), "--rename", f"Ada {i}"),
                ("report", "--learner", "Writer", "--format", "json"))]
            for proc in procs:
                _, err = proc.communicate(timeout=60)
                if proc.returncode != 0:
                    failures.append((proc.args[-3:], err.strip()[-300:]))
    finally:
        stop.touch()
        out, _ = writer.communicate(timeout=60)
    assert failures == []
    report = json.loads(out.strip().splitlines()[-1])
    assert report["errors"] == [] and report["wal_missing"] == 0  # -wal stayed while the writer had it open
    assert len(report["written"]) > 0
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ids = {r[0] for r in conn.execute("SELECT id FROM attempts")}
        assert set(report["written"]) <= ids  # every row the writer was told was written is there
        learners = {r[0] for r in conn.execute("SELECT name FROM learners")}
        assert set(names) | {f"Ada {i}" for i in range(3)} | {"Writer"} <= learners
        imported = conn.execute("SELECT count(*) FROM attempts a JOIN learners l ON l.id = a.learner_id "
                                "WHERE l.name LIKE 'Ada %'").fetchone()[0]
        assert imported == 3 * 3
    finally:
        conn.close()


def _open_and_add(db: str, name: str, start, errors) -> None:
    start.wait()
    try:
        with Store.open(db) as store:
            store.add_learner(name)
    except Exception as exc:  # reported to the parent: a child's traceback would be lost
        errors.put(f"{name}: {exc!r}")


def test_twenty_processes_opening_a_fresh_database_at_once_all_add_their_learner(tmp_path):
    # Each read user_version 0 before taking the write lock, so all but one then tried to create the
    # tables again: `table "learners" already exists` lost 1 to 3 adds in 2 of 5 rounds.
    import multiprocessing

    ctx = multiprocessing.get_context("fork")  # fast to start; still one process (and lock owner) each
    for round_ in range(5):
        db = tmp_path / f"fresh-{round_}.sqlite"
        start, errors = ctx.Barrier(20), ctx.Queue()
        procs = [ctx.Process(target=_open_and_add, args=(str(db), f"N{i}", start, errors)) for i in range(20)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        problems = [errors.get() for _ in range(errors.qsize())] if not errors.empty() else []
        assert problems == [] and all(p.exitcode == 0 for p in procs)
        with Store.open(db) as store:
            assert sorted(l.name for l in store.list_learners()) == sorted(f"N{i}" for i in range(20))
