"""The demo learner is made of real, recorded runs (never invented figures), on its own database."""

from __future__ import annotations

from pathlib import Path

from planner.demo import DEMO_LEARNER, build_demo, demo_db_path


def test_demo_learner_has_real_recorded_attempts_part_way_along(ui_store, ui_curriculum):
    lines: list[str] = []
    learner = build_demo(ui_store, ui_curriculum, on_step=lines.append)
    assert learner.name == DEMO_LEARNER
    attempts = ui_store.attempts(learner.id)
    # The fixture curriculum has the large-models quiz and the gd-linear lab (tried twice), nothing else.
    assert [a.lab_id for a in attempts] == ["gd-linear", "gd-linear"]
    assert {a.params["lr"] for a in attempts} == {0.005, 0.05}
    for attempt in attempts:
        curve = ui_store.metric_series(attempt.id)["train_loss"]
        assert len(curve) > 2 and curve[-1][1] < curve[0][1], "a real run's loss falls"
        assert ui_store.attempt_checks(attempt.id)
    assert len(lines) == 3 and lines[0].startswith("[1/3] quiz large-models")
    assert ui_store.get_state("last_learner") == str(learner.id)


def test_demo_database_is_beside_but_not_the_learners(monkeypatch, tmp_path):
    monkeypatch.setenv("PATHLAB_DB", str(tmp_path / "mine.sqlite"))
    assert demo_db_path() == tmp_path / "demo.sqlite"


def test_demo_rebuild_redoes_the_runs_without_unlinking_a_database_the_app_may_hold(
        monkeypatch, tmp_path, ui_curriculum):
    """--rebuild once unlinked the demo file and its -wal/-shm: an app open on it in another terminal
    then wrote into a deleted file (and lost it). Now it removes the demo learner's rows."""
    from click.testing import CliRunner

    from planner.cli import main
    from planner.store import Store

    db = tmp_path / "demo.sqlite"
    with Store.open(db) as store:
        build_demo(store, ui_curriculum)
        store.add_learner("Someone else")
        inode = db.stat().st_ino
        first = max(a.started_at for a in store.attempts(store.get_learner(DEMO_LEARNER).id))
    data = Path(__file__).resolve().parent / "fixture"
    result = CliRunner().invoke(main, ["--data", str(data), "demo", "--db", str(db), "--rebuild",
                                       "--no-open"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert db.stat().st_ino == inode, "the file the app may hold is the same file"
    with Store.open(db) as store:
        again = store.attempts(store.get_learner(DEMO_LEARNER).id)
        assert len(again) == 2 and min(a.started_at for a in again) > first, "the runs were redone"
        assert store.get_learner("Someone else") is not None
