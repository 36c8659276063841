"""Deleting a learner (issue 19): every row of theirs goes, found through the schema's foreign keys, and no
row of anyone else's; the CLI asks first and offers an export, which imports back to the same history."""

from __future__ import annotations

import click.testing
import pytest

from planner.store import Store
from tests.test_plan import REAL_ROOT


def _count_rows(store: Store) -> dict[str, int]:
    return {t: store.db[t].count for t in store.db.table_names()}


@pytest.fixture
def two_learners(run_cli, db_path):
    for name in ("Ada", "Bob"):
        run_cli("learner", "add", name, data=REAL_ROOT)
        assert run_cli("lab", "run", "gd-linear", "--practice", "--learner", name, "--set", "steps=40",
                       data=REAL_ROOT).exit_code in (0, 1)
    store = Store.open(db_path)
    bob = store.get_learner("Bob")
    store.record_help_view(bob.id, "gd-linear", "hint", 1)
    yield store
    store.close()


def test_delete_removes_every_row_of_theirs_and_none_of_the_others(two_learners, run_cli):
    store = two_learners
    ada, bob = store.get_learner("Ada"), store.get_learner("Bob")
    owned = store._rows_owned_by_learner()
    assert {"attempts", "attempt_checks", "attempt_metrics", "help_views"} <= {t for t, _ in owned}

    def rows_of(learner_id: int) -> dict[str, int]:
        return {t: store.db.execute(f"SELECT count(*) FROM [{t}] WHERE {w}", [learner_id]).fetchone()[0]
                for t, w in owned}

    adas, bobs = rows_of(ada.id), rows_of(bob.id)
    assert bobs["attempt_metrics"] > 0 and bobs["help_views"] == 1
    result = run_cli("learner", "delete", "Bob", "--yes", data=REAL_ROOT)
    assert result.exit_code == 0 and f"Deleted Bob ({sum(bobs.values())} rows of history)" in result.stdout
    assert store.get_learner("Bob") is None and store.get_learner("Ada") == ada
    assert rows_of(bob.id) == dict.fromkeys(bobs, 0)
    assert rows_of(ada.id) == adas


def test_without_a_terminal_it_refuses_unless_told_yes(two_learners, run_cli):
    result = run_cli("learner", "delete", "Ada", data=REAL_ROOT)
    assert result.exit_code == 2 and "--yes" in result.stderr
    assert two_learners.get_learner("Ada") is not None
    assert run_cli("learner", "delete", "Nobody", "--yes", data=REAL_ROOT).exit_code == 2


def test_at_a_terminal_it_offers_an_export_then_asks(two_learners, run_cli, tmp_path, monkeypatch):
    monkeypatch.setattr(click.testing._NamedTextIOWrapper, "isatty", lambda self: True, raising=False)
    before = run_cli("export-progress", "-", "--learner", "Ada", data=REAL_ROOT).stdout
    kept = tmp_path / "ada.json"
    from click.testing import CliRunner

    from planner.cli import main

    base = ["--db", str(two_learners.path), "--data", str(REAL_ROOT)]
    no = CliRunner().invoke(main, base + ["learner", "delete", "Ada"], input="\nn\n")
    assert no.exit_code == 0 and "Nothing deleted" in no.output and two_learners.get_learner("Ada")
    yes = CliRunner().invoke(main, base + ["learner", "delete", "Ada"], input=f"{kept}\ny\n")
    assert yes.exit_code == 0 and f"Exported Ada to {kept}" in yes.output
    assert two_learners.get_learner("Ada") is None
    assert run_cli("import-progress", str(kept), data=REAL_ROOT).exit_code == 0
    again = run_cli("export-progress", "-", "--learner", "Ada", data=REAL_ROOT).stdout
    assert again.split('"learner"')[1] == before.split('"learner"')[1]  # the same history, back
