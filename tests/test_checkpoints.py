"""Models that last (issue 15): a real lab run stores its model beside the database and it loads back
into a later lab as "your model"; the file never appears half written and no row names a missing file;
a missing or corrupt model is one clear line; prune keeps every lab's best; export/import carry the files
(hash verified); the CLI's JSON; the migration keeps an older database's rows.

One real ffnn-digits run (one epoch) is shared by the module; each test that changes it works on a copy."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from labs.catalog import get_lab
from labs.catalog._models import ModelUnavailable, YourModel, read_model, write_model
from labs.catalog._training import accuracy
from labs.datasets import load_digits
from labs.events import SavedModel
from planner import checkpoints
from planner.store import SCHEMA_VERSION, MIGRATIONS, Store, StoreBusy

YOURS = f"{Path(__file__).with_name('checkpoint_labs.py')}:YOURS"
ONE_EPOCH = {"epochs": 1, "hidden_layers": 1, "width": 16}


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """A database with one learner and one real ffnn-digits run (a test-out), through the service and
    the real worker: (db path, outcome metrics, checkpoint sha256)."""
    from planner.curriculum import load_curriculum
    from planner.service import Service
    from tests.conftest import FIXTURE_CURRICULUM, FIXTURE_LAB_IDS

    db = tmp_path_factory.mktemp("ckpt") / "p.sqlite"
    with Store.open(db) as store, pytest.MonkeyPatch.context() as env:
        env.setenv("PATHLAB_WARM_WORKER", "0")  # no spare worker left running after the module's one run
        ann = store.add_learner("Ann")
        svc = Service(store, load_curriculum(FIXTURE_CURRICULUM, lab_ids=FIXTURE_LAB_IDS))
        session = svc.start_lab(ann, "ffnn-digits", ONE_EPOCH, seed=0, practice=True)
        outcome = session.wait()
        assert outcome.status in ("passed", "failed") and session.checkpoint_id is not None
        return db, outcome.metrics, session.checkpoint_sha256


def _copy(db: Path, to: Path) -> Path:
    to.mkdir(parents=True, exist_ok=True)
    shutil.copy(db, to / db.name)
    shutil.copytree(checkpoints.models_dir(db), checkpoints.models_dir(to / db.name))
    return to / db.name


def test_a_real_run_stores_its_model_and_a_later_lab_loads_it_back(real_run):
    db, metrics, sha = real_run
    path = checkpoints.model_file(db, sha)
    assert path.parent.name == "p.sqlite.models" and hashlib.sha256(path.read_bytes()).hexdigest() == sha
    assert not [f for f in path.parent.iterdir() if f.name.startswith(".incoming-")]
    with Store.open(db) as store:
        (row,) = checkpoints.rows(store)
        assert row.lab_id == "ffnn-digits" and row.bytes == path.stat().st_size and row.best
        assert row.architecture["kind"] == "mlp" and row.architecture["sizes"][0] == 64
        assert store.attempt(row.attempt_id).status in ("passed", "failed")  # written after the attempt's result
        from labs.catalog import load_lab_ref

        yours = load_lab_ref(YOURS)
        job = checkpoints.resolve(store, row.learner_id, yours, "best")
    assert job["sha256"] == sha and job["architecture"]["kind"] == "mlp"
    # The stored weights, rebuilt from the architecture, predict exactly as the trained network did.
    data = load_digits()
    model = read_model(YourModel(**job))
    assert accuracy(model, data.test.x, data.test.y) == pytest.approx(metrics["test_accuracy"], abs=0)
    # ... and reach a later lab as the worker hands it over (the job's `your_model`, worker.run_job).
    import io

    from labs.events import parse_event
    from labs.worker import run_job

    channel = io.StringIO()
    job = {"lab_ref": YOURS, "params": {}, "seed": 0, "your_model": job, "models_dir": None}
    assert run_job(io.StringIO(json.dumps(job)), channel) == 0
    finished = parse_event(channel.getvalue().splitlines()[-1])
    assert finished.status == "passed" and finished.model is None
    assert finished.metrics["test_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=0)


def test_a_write_stopped_half_way_leaves_no_file_and_an_unrecorded_file_no_row(tmp_path, monkeypatch, real_run):
    import labs.nn.checkpoint as ck
    from labs.nn.models import MLP

    folder = tmp_path / "db.sqlite.models"
    model = MLP([4, 3], rng=np.random.default_rng(0))

    def killed(f, *args, **kwargs):
        f.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt  # the run killed mid-write

    monkeypatch.setattr(ck, "save_checkpoint", killed)
    with pytest.raises(KeyboardInterrupt):
        write_model(folder, model, architecture={"kind": "mlp", "sizes": [4, 3]}, tokenizer=None, lab_id="x")
    assert list(folder.iterdir()) == []  # neither a half file under a real name nor a temporary one
    monkeypatch.undo()
    saved = write_model(folder, model, architecture={"kind": "mlp", "sizes": [4, 3]}, tokenizer=None, lab_id="x")
    assert [f.name for f in folder.iterdir()] == [f"{saved.sha256}.npz"]

    # The process killed after the file is in place but before its row: no row, and prune frees the file.
    db = _copy(real_run[0], tmp_path / "copy")
    with Store.open(db) as store:
        stray = shutil.copy(folder / f"{saved.sha256}.npz", checkpoints.models_dir(db))
        listing = checkpoints.listing(store)
        assert listing.unreferenced_bytes == Path(stray).stat().st_size and len(listing.checkpoints) == 1
        # A file that is not what the worker reported is never recorded (no row naming a wrong file).
        wrong = SavedModel(file=str(stray), sha256="0" * 64, bytes=1, architecture={"kind": "mlp"})
        assert checkpoints.record(store, listing.checkpoints[0].attempt_id, "x", wrong) is None
        freed = checkpoints.prune(store)
        assert freed.files_deleted == 1 and freed.rows_deleted == 0 and not Path(stray).exists()
        assert checkpoints.model_file(db, real_run[2]).is_file()


def test_a_busy_database_is_retried_when_the_row_is_written(tmp_path, real_run):
    db = _copy(real_run[0], tmp_path / "busy")
    with Store.open(db) as store:
        (row,) = checkpoints.rows(store)
        saved = SavedModel(file=str(checkpoints.model_file(db, row.sha256)), sha256=row.sha256, bytes=row.bytes,
                           architecture=row.architecture)
        real, calls = store.add_checkpoint, []

        def busy_once(*args, **kwargs):
            calls.append(1)
            if len(calls) == 1:
                raise StoreBusy("locked")
            return real(*args, **kwargs)

        store.add_checkpoint = busy_once
        assert checkpoints.record(store, row.attempt_id, row.lab_id, saved, delays=(0.0,), sleep=lambda s: None)
        assert len(calls) == 2 and len(checkpoints.rows(store)) == 2


def test_a_missing_or_corrupt_model_is_one_line_that_says_how_to_retrain(tmp_path, real_run, monkeypatch, fixture_root):
    from click.testing import CliRunner

    from planner.cli import main

    db = _copy(real_run[0], tmp_path / "corrupt")
    path = checkpoints.model_file(db, real_run[2])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    monkeypatch.setattr(type(get_lab("ffnn-digits")), "uses_models", ("ffnn-digits",))
    args = ["--db", str(db), "--data", str(fixture_root), "lab", "run", "ffnn-digits", "--practice", "--model", "best"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "Traceback" not in result.output
    (line,) = result.output.strip().splitlines()
    assert "corrupt" in line and "pathlab lab run ffnn-digits" in line and "--model none" in line
    path.unlink()
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "is missing" in result.output and len(result.output.strip().splitlines()) == 1
    result = CliRunner().invoke(main, args[:-1] + ["zz"])
    assert result.exit_code == 1 and "sha256" in result.output
    # A file that exists but does not fit the model the lab builds is one line too, from the lab's side.
    shutil.copy(checkpoints.model_file(real_run[0], real_run[2]), path)
    wrong = YourModel(path=str(path), sha256=real_run[2], lab_id="ffnn-digits", architecture={"kind": "mlp", "sizes": [64, 10]})
    with pytest.raises(ModelUnavailable, match="cannot be used: .*does not match.*pathlab lab run ffnn-digits"):
        read_model(wrong)


def _fake_checkpoint(store: Store, learner_id: int, lab_id: str, score: float, started: str, payload: bytes) -> str:
    attempt = store.start_attempt(learner_id, lab_id, "ffnn", mode="explore", params={}, seed=0, pid=None,
                                  app_version="t", started_at=__import__("datetime").datetime.fromisoformat(started))
    store.finish_attempt(attempt, status="passed", score=score, passed=True, metrics={}, feedback="", checks=[],
                         duration_s=1.0)
    sha = hashlib.sha256(payload).hexdigest()
    checkpoints.import_file(store.path, sha, payload)
    store.add_checkpoint(attempt, lab_id=lab_id, sha256=sha, bytes=len(payload), architecture={"kind": "mlp"},
                         tokenizer=None)
    return sha


def test_prune_keeps_every_learners_best_per_lab_and_says_what_it_freed(tmp_path, run_cli):
    db = tmp_path / "db" / "pathlab.sqlite"
    with Store.open(db) as store:
        ann, bob = store.add_learner("Ann"), store.add_learner("Bob")
        t = "2026-01-0{}T00:00:00+00:00"
        best_a = _fake_checkpoint(store, ann.id, "ffnn-digits", 90, t.format(1), b"a1" * 100)
        _fake_checkpoint(store, ann.id, "ffnn-digits", 70, t.format(2), b"a2" * 100)
        newest_tie = _fake_checkpoint(store, ann.id, "cnn-digits", 80, t.format(4), b"c2" * 100)
        _fake_checkpoint(store, ann.id, "cnn-digits", 80, t.format(3), b"c1" * 100)
        best_b = _fake_checkpoint(store, bob.id, "ffnn-digits", 50, t.format(5), b"b1" * 100)
        folder = checkpoints.models_dir(db)
        (folder / ".incoming-old.npz").write_bytes(b"x" * 10)
        os.utime(folder / ".incoming-old.npz", (time.time() - 7200,) * 2)
        (folder / ".incoming-now.npz").write_bytes(b"y" * 10)  # a run still writing it
    dry = run_cli("checkpoints", "prune", "--dry-run", "--json")
    assert json.loads(dry.output) == {"rows_deleted": 2, "files_deleted": 3, "bytes_freed": 410, "kept": 3,
                                      "dry_run": True}
    assert len(list(folder.iterdir())) == 7
    out = run_cli("checkpoints", "prune", "--keep-best")
    assert out.exit_code == 0 and "Freed 410 B: 2 checkpoint(s) and 3 file(s); kept 3" in out.output
    assert sorted(f.name for f in folder.iterdir()) == sorted(
        [f"{s}.npz" for s in (best_a, newest_tie, best_b)] + [".incoming-now.npz"])
    listing = json.loads(run_cli("checkpoints", "list", "--json").output)
    assert [(r["lab_id"], r["sha256"], r["best"]) for r in listing["checkpoints"]] == [
        ("cnn-digits", newest_tie, True), ("ffnn-digits", best_a, True), ("ffnn-digits", best_b, True)]
    assert listing["labs"] == [{"lab_id": "cnn-digits", "checkpoints": 1, "files": 1, "bytes": 200},
                               {"lab_id": "ffnn-digits", "checkpoints": 2, "files": 2, "bytes": 400}]
    assert listing["total_bytes"] == 610 and listing["unreferenced_bytes"] == 10
    text = run_cli("checkpoints", "list", "--learner", "Ann").output
    assert "ffnn-digits: 1 checkpoint(s), 1 file(s), 200 B" in text and "Total on disk: 610 B" in text


def test_export_with_models_carries_the_files_and_import_verifies_them(tmp_path, real_run, fixture_root):
    from click.testing import CliRunner

    from planner.cli import main

    def cli(db: Path, *args: str):
        return CliRunner().invoke(main, ["--db", str(db), "--data", str(fixture_root), *args], catch_exceptions=False)

    plain, carried = tmp_path / "plain.json", tmp_path / "with.json"
    assert cli(real_run[0], "export-progress", str(plain)).exit_code == 0
    out = cli(real_run[0], "export-progress", str(carried), "--with-models")
    assert "and 1 stored model(s)" in out.output
    assert "model_files" not in json.loads(plain.read_text())  # a plain export is as before
    data = json.loads(carried.read_text())
    assert list(data["model_files"]) == [real_run[2]] and data["checkpoints"][0]["lab_id"] == "ffnn-digits"

    fresh = tmp_path / "other" / "p.sqlite"
    out = cli(fresh, "import-progress", str(carried))
    assert "1 stored model(s) restored (hash verified)" in out.output
    restored = checkpoints.model_file(fresh, real_run[2])
    assert restored.read_bytes() == checkpoints.model_file(real_run[0], real_run[2]).read_bytes()
    assert "restored" not in cli(fresh, "import-progress", str(carried)).output  # idempotent
    with Store.open(fresh) as store:
        assert len(checkpoints.rows(store)) == 1
    again = tmp_path / "again.json"
    cli(fresh, "export-progress", str(again), "--with-models")
    assert again.read_bytes() == carried.read_bytes()

    # A file whose bytes were changed in transit is refused, named, and leaves no row.
    tampered = bytearray(base64.b64decode(data["model_files"][real_run[2]]))
    tampered[100] ^= 1
    data["model_files"][real_run[2]] = base64.b64encode(bytes(tampered)).decode()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    third = tmp_path / "third" / "p.sqlite"
    result = CliRunner().invoke(main, ["--db", str(third), "--data", str(fixture_root), "import-progress", str(bad)])
    assert result.exit_code == 0 and "Model not restored: ffnn-digits: model" in result.output and "corrupt" in result.output
    with Store.open(third) as store:
        assert checkpoints.rows(store) == [] and len(store.attempts(store.list_learners()[0].id)) == 1
    assert not checkpoints.model_file(third, real_run[2]).exists()


def test_the_migration_adds_the_table_and_keeps_every_row_of_an_older_database(tmp_path):
    import sqlite_utils

    path = tmp_path / "v7.sqlite"
    conn = sqlite3.connect(path)
    db = sqlite_utils.Database(conn)
    for migrate in MIGRATIONS[:7]:
        migrate(db)
    db.execute("PRAGMA user_version = 7")
    db["learners"].insert({"name": "old", "created_at": "2026-01-01T00:00:00+00:00"})
    db["attempts"].insert({"learner_id": 1, "lab_id": "ffnn-digits", "node_id": "ffnn", "mode": "explore",
                           "status": "passed", "score": 91.0, "passed": 1, "started_at": "2026-01-02T00:00:00+00:00"})
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert [l.name for l in store.list_learners()] == ["old"]
        (attempt,) = store.attempts(1)
        assert attempt.score == 91.0 and checkpoints.rows(store) == []
        store.add_checkpoint(attempt.id, lab_id="ffnn-digits", sha256="a" * 64, bytes=3,
                             architecture={"kind": "mlp"}, tokenizer="chars-65")
        assert checkpoints.rows(store)[0].tokenizer == "chars-65"
        assert store.delete_learner(1)["checkpoints"] == 1  # found through its foreign key
