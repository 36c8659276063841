"""Workspaces and hint counts are per learner (issue 13 §5): two learners on one machine never share a
file or a hint count; the files live beside the database, `<db>.workspaces/<learner id>/`, and an old
shared workspace's file is copied (never moved) on a learner's first start. Every build task works
through the CLI (issue 13 §6)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from labs.implement import TASKS, get_task, scaffold_source
from labs.implement.hints import hints_for
from planner import implement
from planner.cli import main
from planner.store import Store

LAB = "ffnn-digits"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch):
    db = tmp_path / "pathlab.sqlite"
    legacy = tmp_path / "Documents" / "pathlab-workspace"
    monkeypatch.setattr(implement, "default_workspace", lambda: legacy)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, ["--db", str(db), *args], catch_exceptions=False)

    for name in ("Ada", "Bob"):
        assert invoke("learner", "add", name).exit_code == 0
    invoke.db, invoke.legacy = db, legacy
    return invoke


def _ids(db: Path) -> dict[str, int]:
    with Store.open(db) as store:
        return {l.name: l.id for l in store.list_learners()}


def test_each_learner_starts_in_a_folder_of_their_own_beside_the_database(cli):
    ids = _ids(cli.db)
    ada, bob = cli("lab", "start", LAB, "--learner", "Ada"), cli("lab", "start", LAB, "--learner", "Bob")
    ada_file = cli.db.parent / "pathlab.sqlite.workspaces" / str(ids["Ada"]) / get_task(LAB).filename
    bob_file = cli.db.parent / "pathlab.sqlite.workspaces" / str(ids["Bob"]) / get_task(LAB).filename
    assert ada.exit_code == 0 and str(ada_file) in ada.output
    assert bob.exit_code == 0 and str(bob_file) in bob.output
    ada_file.write_text("# Ada's own work\n")
    assert bob_file.read_text() == scaffold_source(LAB)  # never the same file
    graded = cli("lab", "grade", LAB, "--learner", "Bob", "--json")
    assert graded.exit_code == 1 and '"score": 0' in graded.output  # Bob's scaffold, not Ada's file


def test_hint_counts_are_per_learner_and_recorded(cli):
    ids = _ids(cli.db)
    first = cli("lab", "hint", LAB, "--learner", "Ada")
    second = cli("lab", "hint", LAB, "--learner", "Ada")
    bobs = cli("lab", "hint", LAB, "--learner", "Bob")
    total = len(hints_for(LAB))
    assert f"Hint 1 of {total}" in first.output and f"Hint 2 of {total}" in second.output
    assert f"Hint 1 of {total}" in bobs.output  # Ada's hints are not Bob's
    with Store.open(cli.db) as store:
        assert [v.number for v in store.help_views(ids["Ada"], LAB)] == [1, 2]
        assert [v.number for v in store.help_views(ids["Bob"], LAB)] == [1]


def test_a_shared_dir_still_counts_hints_per_learner(cli, tmp_path):
    shared = tmp_path / "shared"
    cli("lab", "hint", LAB, "--learner", "Ada", "--dir", str(shared))
    assert "Hint 2 of" in cli("lab", "hint", LAB, "--learner", "Ada", "--dir", str(shared)).output
    assert "Hint 1 of" in cli("lab", "hint", LAB, "--learner", "Bob", "--dir", str(shared)).output


def test_an_old_shared_workspace_file_is_copied_on_first_start_and_said_so(cli):
    old = cli.legacy / get_task(LAB).filename
    old.parent.mkdir(parents=True)
    old.write_text("# written before workspaces were per learner\n")
    done = cli("lab", "start", LAB, "--learner", "Ada")
    mine = cli.db.parent / "pathlab.sqlite.workspaces" / str(_ids(cli.db)["Ada"]) / old.name
    assert done.exit_code == 0 and "old shared workspace" in done.output and str(old) in done.output
    assert str(mine) in done.output
    assert mine.read_text() == old.read_text() and old.exists()  # a copy: the old file stays
    again = cli("lab", "start", LAB, "--learner", "Ada")
    assert again.exit_code == 1 and "already exists" in again.output  # a copy is made once


@pytest.mark.parametrize("lab_id", list(TASKS))
def test_start_and_hint_work_for_every_build_task(cli, lab_id):
    started = cli("lab", "start", lab_id, "--learner", "Ada")
    path = cli.db.parent / "pathlab.sqlite.workspaces" / str(_ids(cli.db)["Ada"]) / get_task(lab_id).filename
    assert started.exit_code == 0 and path.read_text() == scaffold_source(lab_id)
    hint = cli("lab", "hint", lab_id, "--learner", "Ada")
    assert hint.exit_code == 0 and f"Hint 1 of {len(hints_for(lab_id))}" in hint.output
    locked = cli("lab", "solution", lab_id, "--learner", "Ada")
    assert locked.exit_code == 1 and "opens after your own code passes" in locked.output
